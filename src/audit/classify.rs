//! How the drift report names things: what a path on the persistence surface is, which
//! changes are normal operation, which files a web server would run.

/// Groups whose members are root, or close to it.
pub(super) const PRIVILEGED_GROUPS: &[&str] = &[
    "root", "sudo", "wheel", "admin", "adm", "docker", "lxd", "disk", "shadow",
];

/// Paths that change in normal operation and say nothing about persistence.
pub(super) fn ignored_path(path: &str) -> bool {
    path.ends_with("/.ssh/known_hosts")
        || path.ends_with("/.ssh/known_hosts.old")
        || path == "/var/spool/cron/atjobs/.SEQ"
        || path == "/var/spool/at/.SEQ"
        || path.starts_with("/var/spool/cron/atspool/")
        || path.starts_with("/var/spool/at/spool/")
        || login_session_unit(path)
}

/// logind's transient units for each login (`session-N.scope`, `user-UID.slice`, with their
/// drop-in directories): they come and go with every SSH login, handover's own included.
pub(super) fn login_session_unit(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/run/systemd/transient/") else {
        return false;
    };
    let unit = rest.split('/').next().unwrap_or(rest);
    let unit = unit.strip_suffix(".d").unwrap_or(unit);
    (unit.starts_with("session-") && unit.ends_with(".scope"))
        || (unit.starts_with("user-") && unit.ends_with(".slice"))
}

/// fail2ban's own bans come and go; its rules that let traffic in are still reported.
pub(super) fn ignored_rule(rule: &str) -> bool {
    let fail2ban_chain = rule.contains(" -A f2b-")
        && [" -j REJECT", " -j DROP", " -j RETURN"]
            .iter()
            .any(|t| rule.contains(t));
    let fail2ban_set = rule.starts_with("nft table ") && rule.contains(" f2b-table / set ");
    fail2ban_chain || fail2ban_set
}

/// (category, what such a file is called) for a path on the persistence surface.
pub(super) fn classify(path: &str) -> (&'static str, &'static str) {
    const RULES: &[(&str, &str, &str)] = &[
        ("/etc/sudoers", "sudoers", "sudoers file"),
        ("/etc/sudo.conf", "sudoers", "sudo configuration"),
        ("/etc/doas.conf", "sudoers", "doas configuration"),
        ("/etc/polkit-1", "polkit", "polkit rule"),
        ("/usr/share/polkit-1", "polkit", "polkit rule"),
        ("/var/lib/polkit-1", "polkit", "polkit rule"),
        ("/etc/ssh", "ssh", "SSH configuration file"),
        ("/var/spool/cron/crontabs", "cron", "crontab"),
        ("/var/spool/cron/atjobs", "at", "at job"),
        ("/var/spool/at", "at", "at job"),
        ("/etc/at.", "at", "at access list"),
        ("/var/spool/cron", "cron", "cron file"),
        ("/etc/cron", "cron", "cron file"),
        ("/etc/anacrontab", "cron", "cron file"),
        (
            "/var/lib/systemd/linger",
            "systemd",
            "lingering user (services start at boot)",
        ),
        ("/etc/systemd", "systemd", "systemd file"),
        ("/usr/lib/systemd", "systemd", "systemd file"),
        ("/lib/systemd", "systemd", "systemd file"),
        ("/usr/local/lib/systemd", "systemd", "systemd file"),
        ("/run/systemd", "systemd", "systemd file"),
        ("/etc/xdg/systemd", "systemd", "systemd file"),
        ("/etc/xdg/autostart", "autostart", "autostart entry"),
        ("/etc/init.d", "init", "init script"),
        ("/etc/rc", "init", "init script"),
        ("/etc/inittab", "init", "init configuration"),
        ("/etc/ld.so", "loader", "dynamic loader configuration"),
        ("/etc/pam", "PAM", "PAM configuration"),
        ("/etc/security", "PAM", "PAM security configuration"),
        ("/etc/nsswitch.conf", "NSS", "NSS configuration"),
        ("/etc/profile", "login hooks", "login script"),
        ("/etc/bash", "login hooks", "shell startup file"),
        ("/etc/environment", "login hooks", "login environment"),
        ("/etc/zsh", "login hooks", "shell startup file"),
        ("/etc/csh", "login hooks", "shell startup file"),
        ("/etc/fish", "login hooks", "shell startup file"),
        ("/etc/skel", "login hooks", "skeleton file for new accounts"),
        ("/etc/update-motd.d", "login hooks", "login message script"),
        ("/etc/shells", "accounts", "login shell list"),
        ("/etc/login.defs", "accounts", "account defaults"),
        ("/etc/securetty", "accounts", "root terminal list"),
        ("/etc/default/useradd", "accounts", "account defaults"),
        ("/etc/modules", "kernel modules", "module list"),
        (
            "/etc/modprobe.d",
            "kernel modules",
            "modprobe configuration",
        ),
        (
            "/usr/lib/modprobe.d",
            "kernel modules",
            "modprobe configuration",
        ),
        (
            "/lib/modprobe.d",
            "kernel modules",
            "modprobe configuration",
        ),
        ("/usr/lib/modules-load.d", "kernel modules", "module list"),
        ("/lib/modules-load.d", "kernel modules", "module list"),
        ("/lib/modules", "kernel modules", "kernel module"),
        ("/usr/lib/modules", "kernel modules", "kernel module"),
        ("/etc/udev", "udev", "udev rule"),
        ("/usr/lib/udev", "udev", "udev rule"),
        ("/lib/udev", "udev", "udev rule"),
        ("/etc/apt", "apt", "APT configuration"),
        ("/etc/logrotate", "logrotate", "logrotate configuration"),
        ("/etc/sysctl", "sysctl", "sysctl configuration"),
        ("/etc/hosts", "network", "host access file"),
        ("/etc/network", "network", "network hook"),
        ("/etc/NetworkManager", "network", "network hook"),
        ("/etc/dhcp", "network", "DHCP hook"),
        ("/etc/rsyslog", "syslog", "syslog configuration"),
        ("/etc/apache2", "web server", "web server configuration"),
        ("/etc/httpd", "web server", "web server configuration"),
        ("/etc/nginx", "web server", "web server configuration"),
        ("/etc/lighttpd", "web server", "web server configuration"),
        ("/etc/php", "web server", "PHP configuration"),
        ("/usr/local/bin", "PATH", "program in /usr/local/bin"),
        ("/usr/local/sbin", "PATH", "program in /usr/local/sbin"),
        ("/usr/lib/", "PAM", "PAM module"),
        ("/usr/lib64/security", "PAM", "PAM module"),
        ("/lib/", "PAM", "PAM module"),
    ];
    if let Some((_, category, noun)) = RULES.iter().find(|(prefix, ..)| path.starts_with(prefix)) {
        if *noun == "systemd file" {
            return ("systemd", systemd_noun(path));
        }
        return (category, noun);
    }
    if path.ends_with("/.ssh/rc") {
        return ("ssh", "~/.ssh/rc (runs at every SSH login)");
    }
    if path.contains("/.ssh/") || path.ends_with("/.ssh") {
        return ("ssh", "file in ~/.ssh");
    }
    if path.contains("/.config/systemd/") || path.contains("/.local/share/systemd/") {
        return ("systemd", "user systemd unit");
    }
    if path.contains("/.config/autostart/") {
        return ("autostart", "autostart entry");
    }
    if path.ends_with("/.forward") {
        return ("login hooks", "mail forward (may run a program)");
    }
    ("login hooks", "shell startup file")
}

pub(super) fn systemd_noun(path: &str) -> &'static str {
    const UNITS: &[&str] = &[
        ".service",
        ".timer",
        ".socket",
        ".path",
        ".mount",
        ".automount",
        ".target",
        ".slice",
        ".scope",
        ".swap",
        ".device",
    ];
    if path.contains("-generators/") {
        "systemd generator"
    } else if path.contains(".wants/") || path.contains(".requires/") {
        "systemd unit link (enables a unit)"
    } else if path.contains(".d/") && path.ends_with(".conf") {
        "systemd drop-in"
    } else if UNITS.iter().any(|u| path.ends_with(u)) {
        "systemd unit"
    } else {
        "systemd file"
    }
}

/// Files a web server would run, or whose change changes what it runs.
pub(super) fn server_executes(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "php", "php3", "php4", "php5", "php7", "php8", "phtml", "pht", "phar", "phps", "shtml",
        "cgi", "fcgi", "pl", "py", "sh", "asp", "aspx", "jsp",
    ];
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    config_hook(&name) || name.split('.').skip(1).any(|ext| EXTENSIONS.contains(&ext))
}

/// Per-directory configuration that changes what the web server or PHP runs.
pub(super) fn config_hook(name: &str) -> bool {
    matches!(name, ".htaccess" | ".user.ini" | "php.ini")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_named() {
        for (path, expected) in [
            ("/etc/sudoers.d/x", ("sudoers", "sudoers file")),
            (
                "/var/lib/systemd/linger/alice",
                ("systemd", "lingering user (services start at boot)"),
            ),
            ("/etc/systemd/system/x.service", ("systemd", "systemd unit")),
            (
                "/usr/lib/systemd/system-generators/x",
                ("systemd", "systemd generator"),
            ),
            ("/var/spool/cron/crontabs/root", ("cron", "crontab")),
            ("/var/spool/cron/atjobs/a0001", ("at", "at job")),
            (
                "/usr/lib/x86_64-linux-gnu/security/pam_unix.so",
                ("PAM", "PAM module"),
            ),
            (
                "/root/.ssh/rc",
                ("ssh", "~/.ssh/rc (runs at every SSH login)"),
            ),
            (
                "/home/a/.config/systemd/user/x.service",
                ("systemd", "user systemd unit"),
            ),
            ("/home/a/.bashrc", ("login hooks", "shell startup file")),
        ] {
            assert_eq!(classify(path), expected, "{path}");
        }
    }

    #[test]
    fn fail2ban_bans_are_ignored_but_its_accepts_are_not() {
        assert!(ignored_rule(
            "iptables-save filter -A f2b-sshd -s 192.0.2.1/32 -j REJECT --reject-with icmp-port-unreachable"
        ));
        assert!(!ignored_rule(
            "iptables-save filter -A f2b-sshd -p tcp --dport 4444 -j ACCEPT"
        ));
        assert!(!ignored_rule(
            "iptables-save filter -A INPUT -p tcp --dport 4444 -j ACCEPT"
        ));
    }
}
