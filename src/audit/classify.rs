//! How the drift report names things: what a path on the persistence surface is, which
//! changes are normal operation, which files a web server would run.

/// Groups whose members are root, or close to it (`staff` may write /usr/local on Debian,
/// ahead of the system's programs on root's PATH; `adm` reads the logs).
pub(super) const PRIVILEGED_GROUPS: &[&str] = &[
    "root",
    "sudo",
    "wheel",
    "admin",
    "adm",
    "staff",
    "docker",
    "lxd",
    "incus-admin",
    "libvirt",
    "disk",
    "kmem",
    "shadow",
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
        (
            "/etc/ssh/shosts.equiv",
            "rhosts",
            "host-based trust file (logins without a password)",
        ),
        (
            "/etc/hosts.equiv",
            "rhosts",
            "host-based trust file (logins without a password)",
        ),
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
        ("/etc/tmpfiles.d", "tmpfiles", TMPFILES),
        ("/usr/lib/tmpfiles.d", "tmpfiles", TMPFILES),
        ("/usr/local/lib/tmpfiles.d", "tmpfiles", TMPFILES),
        ("/lib/tmpfiles.d", "tmpfiles", TMPFILES),
        ("/run/tmpfiles.d", "tmpfiles", TMPFILES),
        ("/etc/inetd", "inetd", "inetd service"),
        ("/etc/xinetd", "inetd", "xinetd service"),
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
        ("/usr/lib/environment.d", "login hooks", "login environment"),
        (
            "/usr/local/lib/environment.d",
            "login hooks",
            "login environment",
        ),
        ("/etc/zsh", "login hooks", "shell startup file"),
        ("/etc/csh", "login hooks", "shell startup file"),
        ("/etc/fish", "login hooks", "shell startup file"),
        ("/etc/skel", "login hooks", "skeleton file for new accounts"),
        ("/etc/update-motd.d", "login hooks", "login message script"),
        ("/etc/shells", "accounts", "login shell list"),
        ("/etc/login.defs", "accounts", "account defaults"),
        ("/etc/securetty", "accounts", "root terminal list"),
        ("/etc/default/useradd", "accounts", "account defaults"),
        ("/etc/aliases", "mail", "mail aliases (may run a program)"),
        ("/etc/gitconfig", "git", GITCONFIG),
        ("/usr/local/etc/gitconfig", "git", GITCONFIG),
        ("/etc/default/grub", "boot", "boot loader configuration"),
        ("/etc/grub.d", "boot", "boot loader script"),
        ("/boot/", "boot", "boot loader configuration"),
        (
            "/etc/initramfs-tools",
            "boot",
            "initramfs hook or configuration",
        ),
        ("/etc/dracut", "boot", "initramfs configuration"),
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
        ("/etc/binfmt.d", "binfmt", BINFMT),
        ("/usr/lib/binfmt.d", "binfmt", BINFMT),
        ("/usr/local/lib/binfmt.d", "binfmt", BINFMT),
        ("/lib/binfmt.d", "binfmt", BINFMT),
        ("/run/binfmt.d", "binfmt", BINFMT),
        (
            "/proc/sys/fs/binfmt_misc",
            "binfmt",
            "registered binfmt_misc interpreter",
        ),
        ("/etc/udev", "udev", "udev rule"),
        ("/run/udev", "udev", "udev rule"),
        ("/etc/dbus-1", "D-Bus", "D-Bus configuration"),
        ("/usr/share/dbus-1", "D-Bus", "D-Bus service or policy"),
        (
            "/usr/local/share/dbus-1",
            "D-Bus",
            "D-Bus service or policy",
        ),
        ("/usr/lib/udev", "udev", "udev rule"),
        ("/lib/udev", "udev", "udev rule"),
        ("/etc/apt", "apt", "APT configuration"),
        (
            "/etc/dpkg",
            "package manager",
            "dpkg configuration (may run commands)",
        ),
        (
            "/etc/yum",
            "package manager",
            "yum configuration (may run commands)",
        ),
        (
            "/etc/dnf",
            "package manager",
            "dnf configuration (may run commands)",
        ),
        ("/etc/logrotate", "logrotate", "logrotate configuration"),
        ("/etc/sysctl", "sysctl", "sysctl configuration"),
        ("/etc/hosts", "network", "host access file"),
        ("/etc/iptables", "firewall", SAVED_RULES),
        ("/etc/nftables", "firewall", SAVED_RULES),
        ("/etc/sysconfig/ip", "firewall", SAVED_RULES),
        ("/etc/sysconfig/nftables", "firewall", SAVED_RULES),
        ("/etc/ufw", "firewall", SAVED_RULES),
        ("/etc/firewalld", "firewall", SAVED_RULES),
        ("/usr/local/share/ca-certificates", "certificates", CA),
        ("/etc/ssl/certs", "certificates", CA),
        ("/etc/ca-certificates", "certificates", CA),
        ("/etc/pki/ca-trust", "certificates", CA),
        ("/etc/docker", "containers", "Docker daemon configuration"),
        ("/etc/containers", "containers", "container configuration"),
        ("/etc/ppp", "network", "PPP hook"),
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
        ("/usr/bin/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/sbin/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/bin/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/sbin/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/lib/openssh/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/libexec/openssh/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/lib/sudo/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/libexec/sudo/", SYSTEM_EXECUTABLES, EXECUTABLE),
        ("/usr/lib/", "PAM", "PAM module"),
        ("/usr/lib64/security", "PAM", "PAM module"),
        ("/lib/", "PAM", "PAM module"),
    ];
    // Anywhere python3 looks for them: the system's libraries, /etc/python3*, ~/.local.
    let name = path.rsplit('/').next().unwrap_or(path);
    if path.contains("/python3")
        && (name.ends_with(".pth") || name == "sitecustomize.py" || name == "usercustomize.py")
    {
        return (
            "python",
            "Python startup hook (runs at every python3 start)",
        );
    }
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
        return ("mail", "mail forward (may run a program)");
    }
    if matches!(name, ".rhosts" | ".shosts") {
        return (
            "rhosts",
            "~/.rhosts or ~/.shosts (logins without a password)",
        );
    }
    if matches!(name, ".k5login" | ".k5users") {
        return (
            "kerberos",
            "~/.k5login (Kerberos principals that may log in)",
        );
    }
    if path.contains("/.local/bin/") {
        return (
            "PATH",
            "program in ~/.local/bin (ahead on the account's PATH)",
        );
    }
    if name == ".gitconfig" || path.contains("/.config/git/") {
        return ("git", GITCONFIG);
    }
    if name == ".vimrc" {
        return ("login hooks", "vim startup file (may run commands)");
    }
    ("login hooks", "shell startup file")
}

const GITCONFIG: &str = "git configuration (may run commands)";
const TMPFILES: &str = "tmpfiles.d entry (creates files and links at boot)";
const BINFMT: &str = "binfmt_misc registration (an interpreter for a file format)";
const SAVED_RULES: &str = "saved firewall rules";
const CA: &str = "trusted certificate authority";
const EXECUTABLE: &str = "system executable";
/// The category of the programs in /usr/bin, /usr/sbin and the like, recorded by inode and
/// change time only.
pub(super) const SYSTEM_EXECUTABLES: &str = "system executables";

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
            ("/etc/tmpfiles.d/x.conf", ("tmpfiles", TMPFILES)),
            (
                "/etc/dpkg/dpkg.cfg.d/x",
                ("package manager", "dpkg configuration (may run commands)"),
            ),
            (
                "/usr/lib/python3/dist-packages/x.pth",
                (
                    "python",
                    "Python startup hook (runs at every python3 start)",
                ),
            ),
            (
                "/root/.local/lib/python3.11/site-packages/usercustomize.py",
                (
                    "python",
                    "Python startup hook (runs at every python3 start)",
                ),
            ),
            (
                "/etc/hosts.equiv",
                (
                    "rhosts",
                    "host-based trust file (logins without a password)",
                ),
            ),
            ("/etc/hosts", ("network", "host access file")),
            ("/etc/gitconfig", ("git", GITCONFIG)),
            (
                "/root/.rhosts",
                (
                    "rhosts",
                    "~/.rhosts or ~/.shosts (logins without a password)",
                ),
            ),
            ("/usr/sbin/nologin", (SYSTEM_EXECUTABLES, EXECUTABLE)),
            (
                "/usr/lib/openssh/sftp-server",
                (SYSTEM_EXECUTABLES, EXECUTABLE),
            ),
            ("/usr/lib/tmpfiles.d/x.conf", ("tmpfiles", TMPFILES)),
            (
                "/usr/share/dbus-1/system-services/x.service",
                ("D-Bus", "D-Bus service or policy"),
            ),
            ("/etc/ssl/certs/x.pem", ("certificates", CA)),
            (
                "/home/a/.local/bin/ls",
                (
                    "PATH",
                    "program in ~/.local/bin (ahead on the account's PATH)",
                ),
            ),
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
