//! Comparing the surface now with the baseline: what changed on the persistence surface (each
//! change a possible back-door), and what changed in the CMS directory (what support touched).

use super::surface::{FileState, Surface, kind};
use crate::actions::Action;
use crate::record::GrantRecord;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the report says when nothing on the persistence surface changed. Never "clean": an
/// account with root can hide from the tools that look.
pub const NO_DRIFT: &str = "no drift detected";

/// Groups whose members are root, or close to it.
const PRIVILEGED_GROUPS: &[&str] = &[
    "root", "sudo", "wheel", "admin", "adm", "docker", "lxd", "disk", "shadow",
];

/// How an item changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
    /// Reported whenever it is there, baseline or not (the loader preload).
    Present,
}

/// One change on the persistence surface.
#[derive(Clone, Debug, Serialize)]
pub struct DriftItem {
    /// `accounts`, `sudoers`, `ssh`, `authorized_keys`, `cron`, `systemd`, `setuid`, …
    pub category: &'static str,
    /// The file or place that changed.
    pub path: String,
    pub change: Change,
    /// One line for humans, naming the path and what changed.
    pub text: String,
}

/// Files added, changed or removed under the scope during the window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CmsChanges {
    pub scope: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Added files a web server would run (PHP and the like, CGI scripts), and changed
    /// `.htaccess`, `.user.ini` and `php.ini` files: worth a look.
    pub review: Vec<String>,
}

/// The drift report.
#[derive(Clone, Debug, Serialize)]
pub struct Drift {
    /// Whether a comparison was made (no baseline: not checked).
    pub checked: bool,
    /// [`NO_DRIFT`], `drift detected`, or `not checked`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Changes on the persistence surface; any one makes teardown and audit exit 3.
    pub persistence: Vec<DriftItem>,
    /// Changes in the CMS directory: informational.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cms: Option<CmsChanges>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// When the baseline was taken (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_taken_at: Option<String>,
}

impl Drift {
    /// No comparison was made, on purpose (`--no-baseline`).
    pub fn not_checked(reason: impl Into<String>) -> Drift {
        Drift {
            checked: false,
            status: "not checked".to_owned(),
            reason: Some(reason.into()),
            persistence: Vec::new(),
            cms: None,
            warnings: Vec::new(),
            baseline_taken_at: None,
        }
    }

    /// A comparison was due but could not be made: that is reported as drift, since nothing
    /// can be said about the surface.
    pub fn failed(reason: impl Into<String>) -> Drift {
        let reason = reason.into();
        Drift {
            checked: true,
            status: "drift detected".to_owned(),
            persistence: vec![DriftItem {
                category: "audit",
                path: String::new(),
                change: Change::Present,
                text: format!("the drift check could not be made: {reason}"),
            }],
            reason: Some(reason),
            cms: None,
            warnings: Vec::new(),
            baseline_taken_at: None,
        }
    }

    /// Whether anything on the persistence surface changed (exit 3).
    pub fn found(&self) -> bool {
        !self.persistence.is_empty()
    }
}

/// What the grant itself created: excluded from the comparison, so an audit during the window
/// does not report the grant's own account and files (at teardown they are gone anyway, and a
/// leftover is reported by the action's own verification).
#[derive(Debug, Default)]
pub struct Footprint {
    accounts: BTreeSet<String>,
    paths: BTreeSet<String>,
    trees: Vec<String>,
}

impl Footprint {
    pub fn of(record: &GrantRecord) -> Footprint {
        let mut own = Footprint::default();
        for entry in &record.actions {
            // Every action kind names what it creates: a new kind must say it here.
            match &entry.action {
                Action::User(user) => {
                    own.accounts.insert(user.account.as_str().to_owned());
                    own.trees.push(user.home.clone());
                }
                Action::Sudo(sudo) => {
                    own.paths.insert(sudo.file.clone());
                    own.paths.insert(format!("{}.tmp", sudo.file));
                }
                Action::ConfigLine(_) => {
                    own.trees.push(format!("/var/lib/handover/{}", record.id));
                }
                // Changes only the scope (reported in the CMS part), or nothing on the surface
                // it could name: a shell action's changes are reported like anyone's.
                Action::Password(_) | Action::Acl(_) | Action::Shell(_) => {}
            }
        }
        own
    }

    fn owns_path(&self, path: &str) -> bool {
        self.paths.contains(path)
            || self.trees.iter().any(|tree| {
                path == tree
                    || path
                        .strip_prefix(tree.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    fn owns_account(&self, name: &str) -> bool {
        self.accounts.contains(name)
    }
}

/// Paths that change in normal operation and say nothing about persistence.
fn ignored_path(path: &str) -> bool {
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
fn login_session_unit(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/run/systemd/transient/") else {
        return false;
    };
    let unit = rest.split('/').next().unwrap_or(rest);
    let unit = unit.strip_suffix(".d").unwrap_or(unit);
    (unit.starts_with("session-") && unit.ends_with(".scope"))
        || (unit.starts_with("user-") && unit.ends_with(".slice"))
}

/// fail2ban's own bans come and go; its rules that let traffic in are still reported.
fn ignored_rule(rule: &str) -> bool {
    let fail2ban_chain = rule.contains(" -A f2b-")
        && [" -j REJECT", " -j DROP", " -j RETURN"]
            .iter()
            .any(|t| rule.contains(t));
    let fail2ban_set = rule.starts_with("nft table ") && rule.contains(" f2b-table / set ");
    fail2ban_chain || fail2ban_set
}

/// The keys whose values differ between `before` and `after`, with both values.
fn delta<'a>(
    before: &'a BTreeMap<String, String>,
    after: &'a BTreeMap<String, String>,
) -> Vec<(&'a str, Option<&'a str>, Option<&'a str>)> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (b, a) = (before.get(key), after.get(key));
            (b != a).then_some((key.as_str(), b.map(String::as_str), a.map(String::as_str)))
        })
        .collect()
}

/// Compare the surface `now` with the `baseline`, leaving out what the grant itself created.
pub fn compare(baseline: &Surface, now: &Surface, own: &Footprint) -> Drift {
    let mut report = Report::default();
    report.preload(now);
    report.accounts(baseline, now, own);
    report.groups(baseline, now, own);
    report.sshd(baseline, now);
    let handled = report.authorized_keys(baseline, now, own);
    report.files(baseline, now, own, &handled);
    report.setuid(baseline, now, own);
    report.simple(baseline, now);
    let cms = report.cms(baseline, now);
    let found = !report.items.is_empty();
    Drift {
        checked: true,
        status: if found { "drift detected" } else { NO_DRIFT }.to_owned(),
        reason: None,
        persistence: report.items,
        cms,
        warnings: report.warnings,
        baseline_taken_at: None,
    }
}

#[derive(Default)]
struct Report {
    items: Vec<DriftItem>,
    warnings: Vec<String>,
}

/// `UID:GID:PASSWORD-FIELD:SHELL:HOME`.
struct Account<'a> {
    uid: &'a str,
    gid: &'a str,
    password: &'a str,
    shell: &'a str,
    home: &'a str,
}

impl<'a> Account<'a> {
    fn parse(text: &'a str) -> Account<'a> {
        let mut parts = text.splitn(5, ':');
        let mut next = || parts.next().unwrap_or("");
        Account {
            uid: next(),
            gid: next(),
            password: next(),
            shell: next(),
            home: next(),
        }
    }
}

/// `STATUS DIGEST AGEING` of a shadow line.
fn shadow_parts(text: &str) -> (&str, &str, &str) {
    let mut parts = text.splitn(3, ' ');
    (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    )
}

fn password_words(status: &str) -> &'static str {
    match status {
        "usable" => "a usable password",
        "empty" => "an EMPTY password (logs in without one)",
        "locked" => "a locked password",
        _ => "no password",
    }
}

/// `GID:MEMBERS` -> (gid, members without the grant's own accounts).
fn group_parts<'a>(text: &'a str, own: &Footprint) -> (&'a str, BTreeSet<&'a str>) {
    let (gid, members) = text.split_once(':').unwrap_or((text, ""));
    let members = members
        .split(',')
        .filter(|m| !m.is_empty() && !own.owns_account(m))
        .collect();
    (gid, members)
}

/// (category, what such a file is called) for a path on the persistence surface.
fn classify(path: &str) -> (&'static str, &'static str) {
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
        if *category == "systemd" {
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

fn systemd_noun(path: &str) -> &'static str {
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

fn owner_words(owner: &str) -> String {
    if owner == "0:0" {
        "root".to_owned()
    } else {
        format!("uid:gid {owner}")
    }
}

fn describe_new(state: &FileState) -> String {
    match state {
        FileState::File { mode, owner, .. } => {
            format!("mode {mode:o}, owner {}", owner_words(owner))
        }
        FileState::Link { target } => format!("→ {target}"),
        FileState::Dir { mode, owner } => format!("directory, mode {mode:o}, owner {owner}"),
    }
}

/// What differs between two states of one path; with `ignore_group`, the group permission bits
/// (the ACL mask while the grant's ACL entries are in place) are not compared.
fn state_changes(before: &FileState, after: &FileState, ignore_group: bool) -> Vec<String> {
    let mask = if ignore_group { !0o070 } else { !0 };
    let mut out = Vec::new();
    match (before, after) {
        (
            FileState::File {
                mode: m1,
                owner: o1,
                size: s1,
                content: c1,
            },
            FileState::File {
                mode: m2,
                owner: o2,
                size: s2,
                content: c2,
            },
        ) => {
            if c1 != c2 {
                out.push(if s1 == s2 {
                    "content changed".to_owned()
                } else {
                    format!("content changed, {s1} → {s2} bytes")
                });
            }
            if m1 & mask != m2 & mask {
                out.push(format!("mode {m1:o} → {m2:o}"));
            }
            if o1 != o2 {
                out.push(format!("owner {o1} → {o2}"));
            }
        }
        (FileState::Link { target: t1 }, FileState::Link { target: t2 }) => {
            out.push(format!("link {t1} → {t2}"));
        }
        (
            FileState::Dir {
                mode: m1,
                owner: o1,
            },
            FileState::Dir {
                mode: m2,
                owner: o2,
            },
        ) => {
            if m1 & mask != m2 & mask {
                out.push(format!("mode {m1:o} → {m2:o}"));
            }
            if o1 != o2 {
                out.push(format!("owner {o1} → {o2}"));
            }
        }
        _ => out.push(format!(
            "now a {} (was a {})",
            type_word(after),
            type_word(before)
        )),
    }
    out
}

fn type_word(state: &FileState) -> &'static str {
    match state {
        FileState::File { .. } => "file",
        FileState::Link { .. } => "symbolic link",
        FileState::Dir { .. } => "directory",
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Files a web server would run, or whose change changes what it runs.
fn server_executes(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "php", "php3", "php4", "php5", "php7", "php8", "phtml", "pht", "phar", "phps", "shtml",
        "cgi", "fcgi", "pl", "py", "sh", "asp", "aspx", "jsp",
    ];
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    config_hook(&name) || name.split('.').skip(1).any(|ext| EXTENSIONS.contains(&ext))
}

/// Per-directory configuration that changes what the web server or PHP runs.
fn config_hook(name: &str) -> bool {
    matches!(name, ".htaccess" | ".user.ini" | "php.ini")
}

impl Report {
    fn push(&mut self, category: &'static str, path: &str, change: Change, text: String) {
        self.items.push(DriftItem {
            category,
            path: path.to_owned(),
            change,
            text,
        });
    }

    /// A non-empty loader preload is reported every time: whatever the baseline said, the tools
    /// that collected this report may have been lying.
    fn preload(&mut self, now: &Surface) {
        for key in now.kind(kind::PRELOAD).keys() {
            let (source, entry) = key.split_once('\t').unwrap_or((key.as_str(), ""));
            self.push(
                "loader",
                source,
                Change::Present,
                format!("the dynamic loader preloads `{entry}` ({source})"),
            );
        }
        if !now.kind(kind::PRELOAD).is_empty() {
            self.warnings.push(
                "the dynamic loader preloads a library on this host: every tool that collected this report may have been lying, so nothing below can be trusted".to_owned(),
            );
        }
    }

    fn accounts(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        let groups_now = now.kind(kind::GROUP);
        let privileged_gid = |gid: &str| {
            groups_now.iter().find_map(|(name, value)| {
                (PRIVILEGED_GROUPS.contains(&name.as_str()) && value.split(':').next() == Some(gid))
                    .then_some(name.clone())
            })
        };
        let (acct_b, acct_a) = (before.kind(kind::ACCOUNT), now.kind(kind::ACCOUNT));
        let (sh_b, sh_a) = (before.kind(kind::SHADOW), now.kind(kind::SHADOW));
        let names: BTreeSet<&String> = acct_b
            .keys()
            .chain(acct_a.keys())
            .chain(sh_b.keys())
            .chain(sh_a.keys())
            .filter(|n| !own.owns_account(n))
            .collect();
        for name in names {
            let (b, a) = (acct_b.get(name), acct_a.get(name));
            let (sb, sa) = (sh_b.get(name), sh_a.get(name));
            match (b, a) {
                (None, Some(a)) => {
                    let acc = Account::parse(a);
                    let mut text = format!("new account `{name}` uid {}", acc.uid);
                    if acc.uid == "0" {
                        text.push_str(" (a second root)");
                    }
                    text.push_str(&format!(", login shell {}", acc.shell));
                    match acc.password {
                        "empty" => text.push_str(", EMPTY password field in /etc/passwd"),
                        "hash" => text.push_str(", password hash in /etc/passwd"),
                        _ => {}
                    }
                    if let Some(s) = sa {
                        text.push_str(&format!(", {}", password_words(shadow_parts(s).0)));
                    }
                    if let Some(group) = privileged_gid(acc.gid) {
                        text.push_str(&format!(", primary group `{group}`"));
                    }
                    self.push("accounts", "/etc/passwd", Change::Added, text);
                    continue;
                }
                (Some(_), None) => {
                    self.push(
                        "accounts",
                        "/etc/passwd",
                        Change::Removed,
                        format!("account `{name}` removed"),
                    );
                    continue;
                }
                (Some(b), Some(a)) if b != a => {
                    let (ob, oa) = (Account::parse(b), Account::parse(a));
                    let mut parts = Vec::new();
                    if ob.uid != oa.uid {
                        let root = if oa.uid == "0" { " (now root)" } else { "" };
                        parts.push(format!("uid {} → {}{root}", ob.uid, oa.uid));
                    }
                    if ob.gid != oa.gid {
                        let group = privileged_gid(oa.gid)
                            .map(|g| format!(" (`{g}`)"))
                            .unwrap_or_default();
                        parts.push(format!("group {} → {}{group}", ob.gid, oa.gid));
                    }
                    if ob.shell != oa.shell {
                        parts.push(format!("login shell {} → {}", ob.shell, oa.shell));
                    }
                    if ob.home != oa.home {
                        parts.push(format!("home {} → {}", ob.home, oa.home));
                    }
                    if ob.password != oa.password {
                        parts.push(format!(
                            "password field in /etc/passwd {} → {}",
                            ob.password, oa.password
                        ));
                    }
                    self.push(
                        "accounts",
                        "/etc/passwd",
                        Change::Changed,
                        format!("account `{name}` changed: {}", parts.join(", ")),
                    );
                }
                _ => {}
            }
            // The account existed before and after (or in neither): its shadow entry alone.
            match (sb, sa) {
                (None, Some(s)) => self.push(
                    "accounts",
                    "/etc/shadow",
                    Change::Added,
                    format!(
                        "new shadow entry for `{name}` with {}",
                        password_words(shadow_parts(s).0)
                    ),
                ),
                (Some(_), None) if a.is_some() => self.push(
                    "accounts",
                    "/etc/shadow",
                    Change::Removed,
                    format!("shadow entry for `{name}` removed"),
                ),
                (Some(sb), Some(sa)) if sb != sa => {
                    let ((s1, d1, r1), (s2, d2, r2)) = (shadow_parts(sb), shadow_parts(sa));
                    let mut parts = Vec::new();
                    if s1 != s2 {
                        parts.push(format!(
                            "now has {} (had {})",
                            password_words(s2),
                            password_words(s1)
                        ));
                    } else if d1 != d2 {
                        parts.push("password changed".to_owned());
                    }
                    if r1 != r2 {
                        parts.push("password ageing or expiry changed".to_owned());
                    }
                    self.push(
                        "accounts",
                        "/etc/shadow",
                        Change::Changed,
                        format!("account `{name}`: {}", parts.join(", ")),
                    );
                }
                _ => {}
            }
        }
        for (name, b, a) in delta(before.kind(kind::PASSWD_HASH), now.kind(kind::PASSWD_HASH)) {
            if own.owns_account(name) {
                continue;
            }
            let text = match (b, a) {
                (_, Some(_)) => format!("`{name}` has a password in /etc/passwd itself (changed)"),
                (Some(_), None) => format!("`{name}` no longer has a password in /etc/passwd"),
                (None, None) => continue,
            };
            self.push("accounts", "/etc/passwd", Change::Changed, text);
        }
    }

    fn groups(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        let (gb, ga) = (before.kind(kind::GROUP), now.kind(kind::GROUP));
        for (name, b, a) in delta(gb, ga) {
            if own.owns_account(name) {
                continue;
            }
            let privileged = if PRIVILEGED_GROUPS.contains(&name) {
                " (a privileged group)"
            } else {
                ""
            };
            match (
                b.map(|b| group_parts(b, own)),
                a.map(|a| group_parts(a, own)),
            ) {
                (None, Some((gid, members))) => {
                    let members = if members.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", members {}",
                            members.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    };
                    self.push(
                        "accounts",
                        "/etc/group",
                        Change::Added,
                        format!("new group `{name}` gid {gid}{members}{privileged}"),
                    );
                }
                (Some(_), None) => self.push(
                    "accounts",
                    "/etc/group",
                    Change::Removed,
                    format!("group `{name}` removed{privileged}"),
                ),
                (Some((g1, m1)), Some((g2, m2))) => {
                    let mut parts = Vec::new();
                    if g1 != g2 {
                        parts.push(format!("gid {g1} → {g2}"));
                    }
                    for m in m2.difference(&m1) {
                        parts.push(format!("`{m}` added"));
                    }
                    for m in m1.difference(&m2) {
                        parts.push(format!("`{m}` removed"));
                    }
                    if !parts.is_empty() {
                        self.push(
                            "accounts",
                            "/etc/group",
                            Change::Changed,
                            format!("group `{name}`{privileged}: {}", parts.join(", ")),
                        );
                    }
                }
                (None, None) => {}
            }
        }
        // Group passwords and administrators, for groups that exist before and after.
        for (name, b, a) in delta(before.kind(kind::GSHADOW), now.kind(kind::GSHADOW)) {
            if own.owns_account(name) || !gb.contains_key(name) || !ga.contains_key(name) {
                continue;
            }
            if let (Some(b), Some(a)) = (b, a) {
                let (s1, d1, r1) = shadow_parts(b);
                let (s2, d2, r2) = shadow_parts(a);
                let names = |rest: &str| -> BTreeSet<String> {
                    rest.split([':', ','])
                        .filter(|m| !m.is_empty() && !own.owns_account(m))
                        .map(str::to_owned)
                        .collect()
                };
                let (m1, m2) = (names(r1), names(r2));
                if s1 == s2 && d1 == d2 && m1 == m2 {
                    continue;
                }
                self.push(
                    "accounts",
                    "/etc/gshadow",
                    Change::Changed,
                    format!("gshadow entry of group `{name}` changed (password or administrators)"),
                );
            }
        }
    }

    fn sshd(&mut self, before: &Surface, now: &Surface) {
        let mut by_keyword: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
        for (line, b, a) in delta(before.kind(kind::SSHD), now.kind(kind::SSHD)) {
            let keyword = line.split(' ').next().unwrap_or(line);
            let entry = by_keyword.entry(keyword).or_default();
            match (b, a) {
                (Some(_), None) => entry.0.push(line),
                (None, Some(_)) => entry.1.push(line),
                _ => {}
            }
        }
        for (keyword, (removed, added)) in by_keyword {
            let path = "sshd -T (effective SSH server configuration)";
            if let ([old], [new]) = (removed.as_slice(), added.as_slice()) {
                let value = |line: &str| line.split_once(' ').map_or("", |(_, v)| v).to_owned();
                self.push(
                    "ssh",
                    path,
                    Change::Changed,
                    format!(
                        "sshd setting `{keyword}` changed: {} → {}",
                        value(old),
                        value(new)
                    ),
                );
                continue;
            }
            for line in added {
                self.push(
                    "ssh",
                    path,
                    Change::Added,
                    format!("sshd setting added: `{line}`"),
                );
            }
            for line in removed {
                self.push(
                    "ssh",
                    path,
                    Change::Removed,
                    format!("sshd setting removed: `{line}`"),
                );
            }
        }
    }

    /// Authorized-keys files, with the keys added and removed; returns the paths handled, so
    /// the generic file comparison leaves them alone.
    fn authorized_keys(
        &mut self,
        before: &Surface,
        now: &Surface,
        own: &Footprint,
    ) -> BTreeSet<String> {
        fn by_file(map: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeMap<&str, &str>> {
            let mut out: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
            for (key, value) in map {
                if let Some((file, fingerprint)) = key.split_once('\t') {
                    out.entry(file)
                        .or_default()
                        .insert(fingerprint, value.as_str());
                }
            }
            out
        }
        let describe = |fingerprint: &str, value: &str| {
            let (key_type, comment) = value.split_once(' ').unwrap_or((value, ""));
            format!("{key_type} {fingerprint} {comment}")
                .trim_end()
                .to_owned()
        };
        let (kb, ka) = (
            by_file(before.kind(kind::AUTHORIZED_KEY)),
            by_file(now.kind(kind::AUTHORIZED_KEY)),
        );
        let (fb, fa) = (before.kind(kind::FILE), now.kind(kind::FILE));
        let is_keys_file = |path: &str| {
            path.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("authorized_keys"))
        };
        let files: BTreeSet<&str> = kb
            .keys()
            .chain(ka.keys())
            .copied()
            .chain(
                fb.keys()
                    .chain(fa.keys())
                    .map(String::as_str)
                    .filter(|p| is_keys_file(p)),
            )
            .filter(|p| !own.owns_path(p))
            .collect();
        let empty = BTreeMap::new();
        let mut handled = BTreeSet::new();
        for file in files {
            handled.insert(file.to_owned());
            let (keys_b, keys_a) = (
                kb.get(file).unwrap_or(&empty),
                ka.get(file).unwrap_or(&empty),
            );
            let added: Vec<String> = keys_a
                .iter()
                .filter(|(fp, _)| !keys_b.contains_key(*fp))
                .map(|(fp, v)| describe(fp, v))
                .collect();
            let removed: Vec<String> = keys_b
                .iter()
                .filter(|(fp, _)| !keys_a.contains_key(*fp))
                .map(|(fp, v)| describe(fp, v))
                .collect();
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!(
                    "{} added: {}",
                    plural(added.len(), "key"),
                    added.join("; ")
                ));
            }
            if !removed.is_empty() {
                parts.push(format!(
                    "{} removed: {}",
                    plural(removed.len(), "key"),
                    removed.join("; ")
                ));
            }
            let (sb, sa) = (
                fb.get(file).and_then(|v| FileState::parse(v)),
                fa.get(file).and_then(|v| FileState::parse(v)),
            );
            match (sb, sa) {
                (None, Some(state)) => {
                    let keys: Vec<String> = keys_a.iter().map(|(fp, v)| describe(fp, v)).collect();
                    self.push(
                        "authorized_keys",
                        file,
                        Change::Added,
                        format!(
                            "new authorized_keys file {file} ({}, {}: {})",
                            describe_new(&state),
                            plural(keys.len(), "key"),
                            keys.join("; ")
                        ),
                    );
                }
                (Some(_), None) => self.push(
                    "authorized_keys",
                    file,
                    Change::Removed,
                    format!(
                        "authorized_keys file {file} removed ({})",
                        plural(keys_b.len(), "key")
                    ),
                ),
                (b, a) => {
                    if let (Some(b), Some(a)) = (&b, &a)
                        && b != a
                    {
                        let changes = state_changes(b, a, false);
                        if parts.is_empty() {
                            parts.extend(changes.into_iter().map(|c| {
                                if c.starts_with("content") {
                                    format!("{c}; same keys (options or comments)")
                                } else {
                                    c
                                }
                            }));
                        } else {
                            parts.extend(changes.into_iter().filter(|c| !c.starts_with("content")));
                        }
                    }
                    if !parts.is_empty() {
                        self.push(
                            "authorized_keys",
                            file,
                            Change::Changed,
                            format!("{file} changed ({})", parts.join("; ")),
                        );
                    }
                }
            }
        }
        handled
    }

    fn files(
        &mut self,
        before: &Surface,
        now: &Surface,
        own: &Footprint,
        handled: &BTreeSet<String>,
    ) {
        for (path, b, a) in delta(before.kind(kind::FILE), now.kind(kind::FILE)) {
            if own.owns_path(path) || ignored_path(path) || handled.contains(path) {
                continue;
            }
            let (category, noun) = classify(path);
            let (b, a) = (b.and_then(FileState::parse), a.and_then(FileState::parse));
            match (b, a) {
                (None, Some(FileState::Dir { .. })) | (Some(FileState::Dir { .. }), None) => {}
                (None, Some(state)) => {
                    let text = if category == "sudoers" {
                        format!("sudoers: {path} added ({})", describe_new(&state))
                    } else {
                        format!("new {noun} {path} ({})", describe_new(&state))
                    };
                    self.push(category, path, Change::Added, text);
                }
                (Some(_), None) => {
                    let text = if category == "sudoers" {
                        format!("sudoers: {path} removed")
                    } else {
                        format!("{noun} {path} removed")
                    };
                    self.push(category, path, Change::Removed, text);
                }
                (Some(b), Some(a)) => {
                    let changes = state_changes(&b, &a, false);
                    if changes.is_empty() {
                        continue;
                    }
                    let text = if category == "sudoers" {
                        format!("sudoers: {path} changed ({})", changes.join(", "))
                    } else {
                        format!("{noun} {path} changed ({})", changes.join(", "))
                    };
                    self.push(category, path, Change::Changed, text);
                }
                (None, None) => {}
            }
        }
    }

    fn setuid(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        let word = |mode: &str| {
            let mode = u32::from_str_radix(mode, 8).unwrap_or(0);
            match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
                (true, true) => "setuid+setgid",
                (true, false) => "setuid",
                _ => "setgid",
            }
        };
        for (path, b, a) in delta(before.kind(kind::SETUID), now.kind(kind::SETUID)) {
            if own.owns_path(path) {
                continue;
            }
            let split = |v: &str| {
                let mut p = v.splitn(4, ' ');
                (
                    p.next().unwrap_or("").to_owned(),
                    p.next().unwrap_or("").to_owned(),
                    p.next().unwrap_or("").to_owned(),
                    p.next().unwrap_or("").to_owned(),
                )
            };
            match (b.map(split), a.map(split)) {
                (None, Some((mode, owner, size, _))) => self.push(
                    "setuid",
                    path,
                    Change::Added,
                    format!(
                        "new {} file {path} (owner {}, mode {mode}, {size} bytes)",
                        word(&mode),
                        owner_words(&owner)
                    ),
                ),
                (Some((mode, ..)), None) => self.push(
                    "setuid",
                    path,
                    Change::Removed,
                    format!(
                        "{} file {path} is gone or no longer {}",
                        word(&mode),
                        word(&mode)
                    ),
                ),
                (Some((m1, o1, _, d1)), Some((m2, o2, _, d2))) => {
                    let mut parts = Vec::new();
                    if d1 != d2 {
                        parts.push("content changed".to_owned());
                    }
                    if m1 != m2 {
                        parts.push(format!("mode {m1} → {m2}"));
                    }
                    if o1 != o2 {
                        parts.push(format!("owner {o1} → {o2}"));
                    }
                    self.push(
                        "setuid",
                        path,
                        Change::Changed,
                        format!("{} file {path} changed ({})", word(&m2), parts.join(", ")),
                    );
                }
                (None, None) => {}
            }
        }
    }

    /// Capabilities, modules, listening sockets, firewall rules, suspicious processes.
    fn simple(&mut self, before: &Surface, now: &Surface) {
        for (line, b, a) in delta(before.kind(kind::CAPABILITY), now.kind(kind::CAPABILITY)) {
            let path = line.split(' ').next().unwrap_or(line);
            match (b, a) {
                (None, Some(_)) => self.push(
                    "capabilities",
                    path,
                    Change::Added,
                    format!("new file capability: {line}"),
                ),
                (Some(_), None) => self.push(
                    "capabilities",
                    path,
                    Change::Removed,
                    format!("file capability removed: {line}"),
                ),
                _ => {}
            }
        }
        for (name, b, a) in delta(before.kind(kind::MODULE), now.kind(kind::MODULE)) {
            match (b, a) {
                (None, Some(_)) => self.push(
                    "kernel modules",
                    "/proc/modules",
                    Change::Added,
                    format!("new kernel module loaded: {name}"),
                ),
                (Some(_), None) => self.push(
                    "kernel modules",
                    "/proc/modules",
                    Change::Removed,
                    format!("kernel module unloaded: {name}"),
                ),
                _ => {}
            }
        }
        for (socket, b, a) in delta(before.kind(kind::LISTENING), now.kind(kind::LISTENING)) {
            let progs = |p: &str| {
                if p.is_empty() {
                    "unknown program".to_owned()
                } else {
                    p.to_owned()
                }
            };
            let (change, text) = match (b, a) {
                (None, Some(a)) => (
                    Change::Added,
                    format!("new listening socket {socket} ({})", progs(a)),
                ),
                (Some(b), None) => (
                    Change::Removed,
                    format!("listening socket {socket} closed (was {})", progs(b)),
                ),
                (Some(b), Some(a)) => (
                    Change::Changed,
                    format!(
                        "listening socket {socket} now served by {} (was {})",
                        progs(a),
                        progs(b)
                    ),
                ),
                (None, None) => continue,
            };
            self.push("listening", socket, change, text);
        }
        for (rule, b, a) in delta(before.kind(kind::FIREWALL), now.kind(kind::FIREWALL)) {
            if ignored_rule(rule) {
                continue;
            }
            match (b, a) {
                (None, Some(_)) => self.push(
                    "firewall",
                    "firewall",
                    Change::Added,
                    format!("firewall rule added: {rule}"),
                ),
                (Some(_), None) => self.push(
                    "firewall",
                    "firewall",
                    Change::Removed,
                    format!("firewall rule removed: {rule}"),
                ),
                _ => {}
            }
        }
        for (exe, b, a) in delta(before.kind(kind::PROCESS), now.kind(kind::PROCESS)) {
            if b.is_none() && a.is_some() {
                self.push(
                    "processes",
                    exe,
                    Change::Added,
                    format!("process running from {exe}"),
                );
            }
        }
    }

    fn cms(&mut self, before: &Surface, now: &Surface) -> Option<CmsChanges> {
        let scope = before.scope.clone()?;
        match &now.scope {
            None => {
                self.warnings.push(format!(
                    "the CMS directory {scope} could not be hashed now (gone, or no longer a directory)"
                ));
                return None;
            }
            Some(now_scope) if *now_scope != scope => self.warnings.push(format!(
                "the CMS directory {scope} now resolves to {now_scope}"
            )),
            Some(_) => {}
        }
        let mut cms = CmsChanges {
            scope,
            ..CmsChanges::default()
        };
        for (path, b, a) in delta(&before.cms, &now.cms) {
            let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
            match (b.and_then(FileState::parse), a.and_then(FileState::parse)) {
                (None, Some(FileState::Dir { .. })) | (Some(FileState::Dir { .. }), None) => {}
                (None, Some(_)) => {
                    cms.added.push(path.to_owned());
                    if server_executes(path) {
                        cms.review.push(path.to_owned());
                    }
                }
                (Some(_), None) => cms.removed.push(path.to_owned()),
                (Some(b), Some(a)) => {
                    // Group bits are the ACL mask while the grant's entries are in place.
                    if !state_changes(&b, &a, true).is_empty() {
                        cms.changed.push(path.to_owned());
                        if config_hook(&name) {
                            cms.review.push(path.to_owned());
                        }
                    }
                }
                (None, None) => {}
            }
        }
        Some(cms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surface(items: &[(&str, &str, &str)]) -> Surface {
        let mut s = Surface::default();
        for (kind, key, value) in items {
            s.items
                .entry((*kind).to_owned())
                .or_default()
                .insert((*key).to_owned(), (*value).to_owned());
        }
        s
    }

    fn texts(drift: &Drift) -> Vec<String> {
        drift.persistence.iter().map(|i| i.text.clone()).collect()
    }

    const ROOT: (&str, &str, &str) = (kind::ACCOUNT, "root", "0:0:x:/bin/bash:/root");

    #[test]
    fn identical_surfaces_have_no_drift() {
        let s = surface(&[ROOT, (kind::FILE, "/etc/crontab", "f 644 0:0 10 sha256:aa")]);
        let drift = compare(&s, &s, &Footprint::default());
        assert!(!drift.found());
        assert_eq!(drift.status, NO_DRIFT);
        assert!(drift.cms.is_none());
    }

    #[test]
    fn a_second_root_account_and_a_privileged_member_are_named() {
        let before = surface(&[
            ROOT,
            (kind::GROUP, "sudo", "27:admin"),
            (kind::GROUP, "root", "0:"),
        ]);
        let after = surface(&[
            ROOT,
            (kind::ACCOUNT, "toor", "0:0:x:/bin/bash:/root"),
            (kind::SHADOW, "toor", "usable abc 20000:0:99999:7:::"),
            (kind::GROUP, "sudo", "27:admin,mallory"),
            (kind::GROUP, "root", "0:"),
        ]);
        let t = texts(&compare(&before, &after, &Footprint::default()));
        assert!(
            t.iter().any(
                |t| t.starts_with("new account `toor` uid 0 (a second root)")
                    && t.contains("usable password")
                    && t.contains("primary group `root`")
            ),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t == "group `sudo` (a privileged group): `mallory` added"),
            "{t:?}"
        );
    }

    #[test]
    fn a_changed_password_and_an_emptied_one_are_told_apart() {
        let before = surface(&[
            (kind::SHADOW, "root", "usable d1 20000:0:99999:7:::"),
            (kind::SHADOW, "admin", "usable d2 20000:0:99999:7:::"),
            (kind::ACCOUNT, "admin", "1000:1000:x:/bin/bash:/home/admin"),
            ROOT,
        ]);
        let after = surface(&[
            (kind::SHADOW, "root", "usable d3 20000:0:99999:7:::"),
            (kind::SHADOW, "admin", "empty - 20000:0:99999:7:::"),
            (kind::ACCOUNT, "admin", "1000:1000:x:/bin/bash:/home/admin"),
            ROOT,
        ]);
        let t = texts(&compare(&before, &after, &Footprint::default()));
        assert!(
            t.contains(&"account `root`: password changed".to_owned()),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.starts_with("account `admin`: now has an EMPTY password")),
            "{t:?}"
        );
    }

    #[test]
    fn authorized_keys_changes_name_the_key() {
        let file = "/root/.ssh/authorized_keys";
        let before = surface(&[
            (kind::FILE, file, "f 600 0:0 100 sha256:aa"),
            (
                kind::AUTHORIZED_KEY,
                "/root/.ssh/authorized_keys\tSHA256:old",
                "ED25519 admin@office",
            ),
        ]);
        let after = surface(&[
            (kind::FILE, file, "f 600 0:0 200 sha256:bb"),
            (
                kind::AUTHORIZED_KEY,
                "/root/.ssh/authorized_keys\tSHA256:old",
                "ED25519 admin@office",
            ),
            (
                kind::AUTHORIZED_KEY,
                "/root/.ssh/authorized_keys\tSHA256:new",
                "RSA evil@host",
            ),
        ]);
        let drift = compare(&before, &after, &Footprint::default());
        assert_eq!(
            texts(&drift),
            vec![
                "/root/.ssh/authorized_keys changed (1 key added: RSA SHA256:new evil@host)"
                    .to_owned()
            ]
        );
        assert_eq!(drift.persistence[0].category, "authorized_keys");
        assert_eq!(drift.persistence[0].path, file);
    }

    #[test]
    fn files_are_named_by_what_they_are() {
        let before = surface(&[(kind::FILE, "/etc/sudoers", "f 440 0:0 10 sha256:aa")]);
        let after = surface(&[
            (kind::FILE, "/etc/sudoers", "f 440 0:0 12 sha256:bb"),
            (kind::FILE, "/etc/cron.d/job", "f 644 0:0 10 sha256:cc"),
            (
                kind::FILE,
                "/etc/systemd/system/x.timer",
                "f 644 0:0 10 sha256:dd",
            ),
            (
                kind::FILE,
                "/etc/systemd/system/timers.target.wants/x.timer",
                "l /etc/systemd/system/x.timer",
            ),
            (kind::FILE, "/etc/cron.d", "d 755 0:0"),
            (
                kind::FILE,
                "/home/alice/.ssh/known_hosts",
                "f 644 1000:1000 1 sha256:ee",
            ),
            (
                kind::FILE,
                "/run/systemd/transient/session-7.scope",
                "f 644 0:0 1 sha256:ee",
            ),
            (
                kind::FILE,
                "/run/systemd/transient/user-1003.slice.d/50-x.conf",
                "f 644 0:0 1 sha256:ee",
            ),
            (
                kind::FILE,
                "/run/systemd/transient/run-u9.timer",
                "f 644 0:0 1 sha256:ee",
            ),
            (kind::SETUID, "/tmp/.x", "4755 0:0 100 sha256:ff"),
        ]);
        let t = texts(&compare(&before, &after, &Footprint::default()));
        for expected in [
            "sudoers: /etc/sudoers changed (content changed, 10 → 12 bytes)",
            "new cron file /etc/cron.d/job (mode 644, owner root)",
            "new systemd unit /etc/systemd/system/x.timer (mode 644, owner root)",
            "new systemd unit link (enables a unit) /etc/systemd/system/timers.target.wants/x.timer (→ /etc/systemd/system/x.timer)",
            "new setuid file /tmp/.x (owner root, mode 4755, 100 bytes)",
            "new systemd unit /run/systemd/transient/run-u9.timer (mode 644, owner root)",
        ] {
            assert!(
                t.contains(&expected.to_owned()),
                "`{expected}` not in {t:?}"
            );
        }
        // A new directory alone, known_hosts and login sessions are not persistence.
        assert_eq!(t.len(), 6, "{t:?}");
    }

    #[test]
    fn the_grants_own_account_and_files_are_left_out() {
        let own = Footprint {
            accounts: ["support-ab12cd".to_owned()].into(),
            paths: ["/etc/sudoers.d/handover-20261123-abcdef".to_owned()].into(),
            trees: vec!["/home/support-ab12cd".to_owned()],
        };
        let before = surface(&[ROOT, (kind::GROUP, "users", "100:")]);
        let after = surface(&[
            ROOT,
            (
                kind::ACCOUNT,
                "support-ab12cd",
                "1003:1003:x:/bin/bash:/home/support-ab12cd",
            ),
            (kind::SHADOW, "support-ab12cd", "usable x 1:0:99999:7:::"),
            (kind::GROUP, "support-ab12cd", "1003:"),
            (kind::GROUP, "users", "100:support-ab12cd"),
            (
                kind::FILE,
                "/etc/sudoers.d/handover-20261123-abcdef",
                "f 440 0:0 1 sha256:aa",
            ),
            (
                kind::FILE,
                "/home/support-ab12cd/.bashrc",
                "f 644 1003:1003 1 sha256:bb",
            ),
            // Not the grant's: its crontab is a leftover the report must name.
            (
                kind::FILE,
                "/var/spool/cron/crontabs/support-ab12cd",
                "f 600 1003:105 1 sha256:cc",
            ),
        ]);
        let t = texts(&compare(&before, &after, &own));
        assert_eq!(
            t,
            vec![
                "new crontab /var/spool/cron/crontabs/support-ab12cd (mode 600, owner uid:gid 1003:105)"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn the_loader_preload_is_reported_even_when_it_was_there_before() {
        let s = surface(&[(kind::PRELOAD, "/etc/ld.so.preload\t/lib/libx.so", "")]);
        let drift = compare(&s, &s, &Footprint::default());
        assert!(drift.found());
        assert_eq!(drift.persistence[0].change, Change::Present);
        assert!(drift.persistence[0].text.contains("/lib/libx.so"));
        assert!(!drift.warnings.is_empty());
    }

    #[test]
    fn sshd_setting_changes_read_as_one_line() {
        let before = surface(&[(kind::SSHD, "permitrootlogin without-password", "")]);
        let after = surface(&[(kind::SSHD, "permitrootlogin yes", "")]);
        assert_eq!(
            texts(&compare(&before, &after, &Footprint::default())),
            vec!["sshd setting `permitrootlogin` changed: without-password → yes".to_owned()]
        );
    }

    #[test]
    fn cms_changes_mark_what_a_web_server_would_run() {
        let mut before = Surface {
            scope: Some("/var/www/cms".to_owned()),
            ..Surface::default()
        };
        before.cms.extend([
            ("/var/www/cms".to_owned(), "d 755 33:33".to_owned()),
            (
                "/var/www/cms/index.php".to_owned(),
                "f 644 33:33 10 sha256:aa".to_owned(),
            ),
            (
                "/var/www/cms/old.txt".to_owned(),
                "f 644 33:33 10 sha256:bb".to_owned(),
            ),
            (
                "/var/www/cms/.user.ini".to_owned(),
                "f 644 33:33 10 sha256:cc".to_owned(),
            ),
        ]);
        let mut after = before.clone();
        // The grant's ACL mask shows in the group bits: not a change.
        after
            .cms
            .insert("/var/www/cms".to_owned(), "d 775 33:33".to_owned());
        after.cms.insert(
            "/var/www/cms/index.php".to_owned(),
            "f 664 33:33 12 sha256:dd".to_owned(),
        );
        after.cms.remove("/var/www/cms/old.txt");
        after.cms.insert(
            "/var/www/cms/.user.ini".to_owned(),
            "f 644 33:33 40 sha256:ee".to_owned(),
        );
        for new in [
            "fix.php",
            "img/shell.php.jpg",
            "notes.txt",
            ".htaccess",
            "x.PHTML",
        ] {
            after.cms.insert(
                format!("/var/www/cms/{new}"),
                "f 644 33:33 1 sha256:ff".to_owned(),
            );
        }
        let drift = compare(&before, &after, &Footprint::default());
        assert!(!drift.found());
        let cms = drift.cms.expect("cms part");
        assert_eq!(
            cms.changed,
            ["/var/www/cms/.user.ini", "/var/www/cms/index.php"]
        );
        assert_eq!(cms.removed, ["/var/www/cms/old.txt"]);
        assert_eq!(cms.added.len(), 5);
        assert_eq!(
            cms.review,
            [
                "/var/www/cms/.htaccess",
                "/var/www/cms/.user.ini",
                "/var/www/cms/fix.php",
                "/var/www/cms/img/shell.php.jpg",
                "/var/www/cms/x.PHTML",
            ]
        );
    }
}
