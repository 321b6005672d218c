//! Comparing the surface now with the baseline: what changed on the persistence surface (each
//! change a possible back-door), and what changed in the CMS directory (what support touched).

mod accounts;
mod files;
mod git;
mod packages;
mod payloads;
mod runtime;
mod web_roots;

use super::classify::ignored_rule;
use super::surface::{Surface, kind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the report says when nothing on the persistence surface changed. Never "clean": an
/// account with root can hide from the tools that look.
pub const NO_DRIFT: &str = "no drift detected";

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
    /// `accounts`, `sudoers`, `ssh`, `authorized_keys`, `cron`, `systemd`, `setuid`, `git`, …
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
    /// The CMS's own content added, edited or deleted (WordPress posts, pages, media), one line
    /// each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<String>,
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

#[cfg(test)]
impl Drift {
    /// (category, path, text) of each persistence item, for tests.
    pub(crate) fn triples(&self) -> Vec<(&str, &str, &str)> {
        self.persistence
            .iter()
            .map(|i| (i.category, i.path.as_str(), i.text.as_str()))
            .collect()
    }
}

/// Whether `rule` (as the baseline lists netfilter rules) is how the tables show a ufw or
/// firewalld rule letting `source` reach TCP ports, in the shape handover adds: ufw's
/// `ufw-user-input` chain (`ufw6-` for IPv6) as iptables-save and as nft print it, or a zone's
/// `filter_IN_ZONE_pre` chain of firewalld's table (rules of negative priority).
fn front_end_rule(rule: &str, source: &str) -> bool {
    let v6 = source.contains(':');
    let (family, six) = if v6 { ("ip6", "6") } else { ("ip", "") };
    // nft prints a single address without its prefix length; iptables-save always with it.
    let bare = source
        .strip_suffix(if v6 { "/128" } else { "/32" })
        .unwrap_or(source);
    let full = if source.contains('/') {
        source.to_owned()
    } else {
        format!("{source}{}", if v6 { "/128" } else { "/32" })
    };
    let ports = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | ' ' | '{' | '}'))
    };
    let iptables = format!("ip{six}tables-save filter -A ufw{six}-user-input -s {full} -p tcp -m ");
    if let Some(rest) = rule.strip_prefix(&iptables) {
        return rest
            .strip_prefix("tcp --dport ")
            .or_else(|| rest.strip_prefix("multiport --dports "))
            .and_then(|r| r.strip_suffix(" -j ACCEPT"))
            .is_some_and(ports);
    }
    let ufw_nft = format!(
        "nft table {family} filter / chain ufw{six}-user-input / {family} saddr {bare} tcp dport "
    );
    if let Some(rest) = rule.strip_prefix(&ufw_nft) {
        return rest.strip_suffix(" counter accept").is_some_and(ports);
    }
    rule.strip_prefix("nft table inet firewalld / chain filter_IN_")
        .and_then(|rest| rest.split_once("_pre / "))
        .and_then(|(zone, rest)| {
            (!zone.contains(' '))
                .then(|| rest.strip_prefix(&format!("{family} saddr {bare} tcp dport ")))
                .flatten()
        })
        .and_then(|rest| rest.strip_suffix(" accept"))
        .is_some_and(ports)
}

/// What the grant itself created: excluded from the comparison, so an audit during the window
/// does not report the grant's own account, files, expiry job and firewall rules (at teardown
/// they are gone anyway, and a leftover is reported by the action's own verification).
#[derive(Debug, Default)]
pub struct Footprint {
    accounts: BTreeSet<String>,
    /// Existing accounts whose password the grant sets (`--rotate`): a changed password or
    /// ageing of theirs is the grant's own doing, anything else still counts.
    rotated: BTreeSet<String>,
    paths: BTreeSet<String>,
    trees: Vec<String>,
    /// The expiry guard's at jobs, by number (5 hex digits, as in their spool file names).
    at_jobs: BTreeSet<String>,
    /// `handover-GRANT`: the firewall rules carrying it are the grant's.
    rule_tags: BTreeSet<String>,
    /// Sources of the grant's iptables rules: nft shows an iptables-nft rule without its tag.
    iptables_sources: BTreeSet<String>,
    /// Sources of the grant's ufw or firewalld rules: the netfilter tables show them without
    /// the ufw comment or the firewalld priority that mark them.
    front_end_sources: BTreeSet<String>,
    /// What revoked grants created, verified gone since: its absence is no drift, but anything
    /// of it there again is (a back-door where nobody would look).
    gone: Option<Box<Footprint>>,
    /// The grant's own WordPress administrators: they and their application passwords are
    /// the grant's while it lives.
    wp_users: BTreeSet<String>,
}

impl Footprint {
    /// An account the grant created.
    pub fn account(&mut self, name: &str) {
        self.accounts.insert(name.to_owned());
    }

    /// An existing account whose password the grant sets.
    pub fn rotated(&mut self, name: &str) {
        self.rotated.insert(name.to_owned());
    }

    /// A WordPress user the grant created.
    pub fn wp_user(&mut self, login: &str) {
        self.wp_users.insert(login.to_owned());
    }

    /// Whether a WordPress item (`admin LOGIN`, `admin@SITE LOGIN`, `super-admin LOGIN`,
    /// `app-password LOGIN UUID`) is of the grant's own user.
    fn owns_wp_item(&self, key: &str) -> bool {
        let Some((what, rest)) = key.split_once(' ') else {
            return false;
        };
        let login = match what.split('@').next() {
            Some("admin" | "super-admin") => rest,
            Some("app-password") => rest.rsplit_once(' ').map_or(rest, |(l, _)| l),
            _ => return false,
        };
        self.wp_users.contains(login)
    }

    /// A file the grant created.
    pub fn path(&mut self, path: &str) {
        self.paths.insert(path.to_owned());
    }

    /// A directory the grant created, with everything under it.
    pub fn tree(&mut self, path: &str) {
        self.trees.push(path.to_owned());
    }

    /// An at job of the grant's, by number.
    pub fn at_job(&mut self, number: u32) {
        self.at_jobs.insert(format!("{number:05x}"));
    }

    /// The tag (a word) the grant's firewall rules carry.
    pub fn rule_tag(&mut self, tag: &str) {
        self.rule_tags.insert(tag.to_owned());
    }

    /// The source of an iptables rule of the grant's.
    pub fn iptables_source(&mut self, source: &str) {
        self.iptables_sources.insert(source.to_owned());
    }

    /// The source of a ufw or firewalld rule of the grant's.
    pub fn front_end_source(&mut self, source: &str) {
        self.front_end_sources.insert(source.to_owned());
    }

    /// Add what another grant created: the grant being checked, or another grant of the
    /// customer's on the same host (two vendors at once), whose changes are not a back-door
    /// either. A revoked grant's things only count as gone; a password it rotated stays its
    /// doing.
    pub fn add(&mut self, other: Footprint, revoked: bool) {
        if revoked {
            let mut other = other;
            self.rotated.append(&mut other.rotated);
            self.gone.get_or_insert_default().merge(other);
        } else {
            self.merge(other);
        }
    }

    fn merge(&mut self, mut other: Footprint) {
        self.accounts.append(&mut other.accounts);
        self.rotated.append(&mut other.rotated);
        self.paths.append(&mut other.paths);
        self.trees.append(&mut other.trees);
        self.at_jobs.append(&mut other.at_jobs);
        self.rule_tags.append(&mut other.rule_tags);
        self.iptables_sources.append(&mut other.iptables_sources);
        self.front_end_sources.append(&mut other.front_end_sources);
        self.wp_users.append(&mut other.wp_users);
        if let Some(gone) = other.gone {
            self.gone.get_or_insert_default().merge(*gone);
        }
    }

    fn owns_path(&self, path: &str) -> bool {
        self.paths.contains(path)
            || self.trees.iter().any(|tree| {
                path == tree
                    || path
                        .strip_prefix(tree.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            || self.owns_at_job(path)
    }

    /// An at spool file is named QUEUE, the job number in 5 hex digits, then the minute it
    /// runs in 8 (`a0000101c8a18d`; the queue becomes `=` while it runs).
    fn owns_at_job(&self, path: &str) -> bool {
        let name = ["/var/spool/cron/atjobs/", "/var/spool/at/"]
            .iter()
            .find_map(|dir| path.strip_prefix(dir));
        name.is_some_and(|name| {
            name.len() == 14
                && name.is_ascii()
                && name[6..].bytes().all(|b| b.is_ascii_hexdigit())
                && self.at_jobs.contains(&name[1..6])
        })
    }

    /// A firewall rule the grant inserted: it carries the grant's tag as a word, or it is the
    /// nft view of the grant's iptables-nft rule (`… ip saddr SOURCE tcp dport PORTS counter
    /// accept` in the INPUT chain of iptables' own table), which nft prints without the tag.
    /// nft prints iptables' `-p tcp` in a way of its own for each version: `meta l4proto tcp`
    /// before the source (0.9 and 1.0: Debian 11, 12), `ip protocol tcp` or `meta l4proto tcp`
    /// after it (1.1: Debian 13, where the grant's own rule was reported as drift).
    fn owns_rule(&self, rule: &str) -> bool {
        let tagged = self.rule_tags.iter().any(|tag| {
            rule.match_indices(tag.as_str()).any(|(at, _)| {
                let before = rule[..at].chars().next_back();
                let after = rule[at + tag.len()..].chars().next();
                matches!(before, Some(' ' | '"')) && matches!(after, None | Some(' ' | '"'))
            })
        });
        tagged
            || self
                .front_end_sources
                .iter()
                .any(|source| front_end_rule(rule, source))
            || self.iptables_sources.iter().any(|source| {
                let family = if source.contains(':') { "ip6" } else { "ip" };
                // nft prints a single address without its prefix length.
                let source = source
                    .strip_suffix(if family == "ip" { "/32" } else { "/128" })
                    .unwrap_or(source);
                let Some(body) = rule
                    .strip_prefix(&format!("nft table {family} filter / chain INPUT / "))
                    .and_then(|rest| rest.strip_suffix(" counter accept"))
                else {
                    return false;
                };
                let saddr = format!("{family} saddr {source}");
                let tcp = ["meta l4proto tcp", "ip protocol tcp"];
                tcp.iter()
                    .flat_map(|tcp| [format!("{tcp} {saddr} "), format!("{saddr} {tcp} ")])
                    .filter_map(|lead| body.strip_prefix(&lead)?.strip_prefix("tcp dport "))
                    .any(|ports| {
                        ports
                            .chars()
                            .all(|c| c.is_ascii_digit() || matches!(c, ',' | ' ' | '{' | '}'))
                    })
            })
    }

    fn owns_account(&self, name: &str) -> bool {
        self.accounts.contains(name)
    }

    fn rotates_password(&self, name: &str) -> bool {
        self.rotated.contains(name)
    }

    /// `baseline` without what this footprint names: what a revoked grant created is then
    /// compared as if it never was. (A new kind of item keyed by account or path must say
    /// so here.)
    fn prune(&self, baseline: &Surface) -> Surface {
        let mut pruned = baseline.clone();
        for (item_kind, items) in &mut pruned.items {
            items.retain(|key, _| match item_kind.as_str() {
                kind::ACCOUNT | kind::PASSWD_HASH | kind::SHADOW | kind::GROUP | kind::GSHADOW => {
                    !self.owns_account(key)
                }
                kind::SUBID => !key
                    .split_once(':')
                    .is_some_and(|(_, name)| self.owns_account(name)),
                kind::FILE | kind::SETUID | kind::MAINTAINER_SCRIPT | kind::WEB_FILE => {
                    !self.owns_path(key)
                }
                kind::AUTHORIZED_KEY => {
                    !self.owns_path(key.split_once('\t').map_or(key.as_str(), |(file, _)| file))
                }
                kind::FIREWALL => !self.owns_rule(key),
                kind::WORDPRESS => !self.owns_wp_item(key),
                kind::GIT_HOOK | kind::PAYLOAD => !key
                    .split_once('\t')
                    .is_some_and(|(a, b)| self.owns_path(a) || self.owns_path(b)),
                kind::GIT_CONFIG => !self.owns_path(
                    key.split_once('\t')
                        .map_or(key.as_str(), |(config, _)| config),
                ),
                _ => true,
            });
        }
        pruned
    }
}

/// A WordPress post, page or attachment (`ID`, `TYPE STATUS MODIFIED TITLE`) added, edited or
/// deleted, in words; `None` when it did not change.
fn content_change(id: &str, before: Option<&str>, after: Option<&str>) -> Option<String> {
    let fields = |value: &str| {
        let mut f = value.splitn(4, ' ');
        let mut next = || f.next().unwrap_or("").to_owned();
        (next(), next(), next(), next())
    };
    match (before.map(fields), after.map(fields)) {
        (None, Some((kind, status, _, title))) => {
            Some(format!("new WordPress {kind} {id} “{title}” ({status})"))
        }
        (Some((kind, _, _, title)), None) => {
            Some(format!("WordPress {kind} {id} “{title}” deleted"))
        }
        (Some((_, old_status, old_modified, old_title)), Some((kind, status, modified, title))) => {
            let mut what = Vec::new();
            if old_title != title {
                what.push(format!("retitled from “{old_title}”"));
            }
            if old_status != status {
                what.push(format!("{old_status} → {status}"));
            }
            if old_modified != modified && what.is_empty() {
                what.push("edited".to_owned());
            }
            (!what.is_empty())
                .then(|| format!("WordPress {kind} {id} “{title}” {}", what.join(", ")))
        }
        (None, None) => None,
    }
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
    let pruned;
    let baseline = match &own.gone {
        Some(gone) => {
            pruned = gone.prune(baseline);
            &pruned
        }
        None => baseline,
    };
    let mut report = Report::default();
    report.preload(now);
    report.accounts(baseline, now, own);
    report.groups(baseline, now, own);
    report.subids(baseline, now, own);
    report.sshd(baseline, now);
    let handled = report.authorized_keys(baseline, now, own);
    report.files(baseline, now, own, &handled);
    report.setuid(baseline, now, own);
    report.git(baseline, now, own);
    report.payloads(baseline, now, own);
    report.simple(baseline, now, own);
    report.connections(baseline, now);
    report.packages(baseline, now);
    report.web_roots(baseline, now, own);
    let mut content = Vec::new();
    report.wordpress(baseline, now, own, &mut content);
    let mut cms = report.cms(baseline, now);
    if let Some(cms) = &mut cms {
        cms.content = content;
    }
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

    /// Capabilities, modules, listening sockets, firewall rules (but the grant's own),
    /// suspicious processes.
    /// The WordPress site's own back-door surface: a new administrator (or a user made one),
    /// an application password, a plugin, must-use plugin, drop-in or theme added, a plugin
    /// activated, a scheduled event added, an option that opens or redirects the site changed.
    /// The grant's own administrator is left out.
    /// On a multisite network, an item of a site other than the main one names it
    /// (`admin@HOST/PATH/ LOGIN`). Content changes go to `content`, listed and never counted.
    fn wordpress(
        &mut self,
        before_surface: &Surface,
        now_surface: &Surface,
        own: &Footprint,
        content: &mut Vec<String>,
    ) {
        let before = before_surface.kind(kind::WORDPRESS);
        let now = now_surface.kind(kind::WORDPRESS);
        if before.is_empty() && now.is_empty() {
            return;
        }
        if let Some(error) = now.get("error").or_else(|| before.get("error")) {
            if !before.is_empty() || !now.is_empty() {
                self.warnings.push(format!(
                    "WordPress did not answer, so its administrators, plugins and settings were not compared: {error}"
                ));
            }
            return;
        }
        for (key, b, a) in delta(before, now) {
            if own.owns_wp_item(key) {
                continue;
            }
            let (what, name) = key.split_once(' ').unwrap_or((key, ""));
            let (what, of_site) = match what.split_once('@') {
                Some((what, site)) => (what, format!(" (site {site})")),
                None => (what, String::new()),
            };
            if what == "content" {
                content.extend(content_change(name, b, a).map(|text| text + &of_site));
                continue;
            }
            let (change, text) = match (what, b, a) {
                ("super-admin", None, Some(_)) => (
                    Change::Added,
                    format!("new WordPress super admin `{name}` (every site of the network)"),
                ),
                ("admin", None, Some(roles)) => (
                    Change::Added,
                    format!("new WordPress administrator `{name}` (roles: {roles})"),
                ),
                ("admin", Some(_), None) => (
                    Change::Removed,
                    format!("WordPress administrator `{name}` is one no more"),
                ),
                ("app-password", None, Some(app)) => (
                    Change::Added,
                    format!(
                        "new WordPress application password `{app}` for `{}`",
                        name.rsplit_once(' ').map_or(name, |(l, _)| l)
                    ),
                ),
                ("plugin", None, Some(state)) => (
                    Change::Added,
                    format!("new WordPress plugin {name} ({state})"),
                ),
                ("plugin", Some(b), Some(a)) => (
                    Change::Changed,
                    format!("WordPress plugin {name}: {b} → {a}"),
                ),
                ("mu-plugin" | "drop-in", None, Some(_)) => (
                    Change::Added,
                    format!("new WordPress {what} {name} (runs on every request)"),
                ),
                ("theme", None, Some(_)) => (Change::Added, format!("new WordPress theme {name}")),
                ("cron", None, Some(schedule)) => (
                    Change::Added,
                    format!("new scheduled WordPress event `{name}` ({schedule})"),
                ),
                ("option", Some(b), Some(a)) => (
                    Change::Changed,
                    format!("WordPress option {name}: `{b}` → `{a}`"),
                ),
                ("network-option", Some(b), Some(a)) => (
                    Change::Changed,
                    format!("WordPress network option {name}: `{b}` → `{a}`"),
                ),
                // What went away (a plugin, an event, an application password) opens nothing.
                _ => continue,
            };
            self.push("wordpress", key, change, text + &of_site);
        }
        self.wordpress_core(before_surface, now_surface);
    }

    /// WordPress's own code (wp-admin/, wp-includes/, the `wp-*.php`, `index.php` and
    /// `xmlrpc.php` beside them) added to or changed since the baseline: WordPress never
    /// changes it but by an update, so it counts like a persistence change.
    fn wordpress_core(&mut self, before: &Surface, now: &Surface) {
        let Some(scope) = before.scope.as_deref() else {
            return;
        };
        let core = |path: &str| {
            let Some(rest) = path.strip_prefix(scope).and_then(|r| r.strip_prefix('/')) else {
                return false;
            };
            rest.starts_with("wp-admin/")
                || rest.starts_with("wp-includes/")
                || (!rest.contains('/')
                    && rest.ends_with(".php")
                    && (rest.starts_with("wp-") || rest == "index.php" || rest == "xmlrpc.php")
                    && rest != "wp-config.php")
        };
        // What a file holds (mode and owner changes are the CMS report's).
        let content = |state: &str| match super::surface::FileState::parse(state) {
            Some(super::surface::FileState::File { content, .. }) => Some(content),
            other => other.map(|_| String::new()),
        };
        for (path, b, a) in delta(&before.cms, &now.cms) {
            if !core(path) {
                continue;
            }
            let (change, text) = match (b, a) {
                (None, Some(_)) => (
                    Change::Added,
                    format!("new file in WordPress's core: {path}"),
                ),
                (Some(b), Some(a)) if content(b) != content(a) => (
                    Change::Changed,
                    format!("WordPress core file changed: {path}"),
                ),
                _ => continue,
            };
            self.push("wordpress", path, change, text);
        }
    }

    fn simple(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
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
            if ignored_rule(rule) || own.owns_rule(rule) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surface(items: &[(&str, &str, &str)]) -> Surface {
        Surface::of(items)
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
            rotated: Default::default(),
            paths: ["/etc/sudoers.d/handover-20261123-abcdef".to_owned()].into(),
            trees: vec!["/home/support-ab12cd".to_owned()],
            ..Footprint::default()
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
    fn the_grants_own_at_job_and_firewall_rules_are_left_out() {
        let own = Footprint {
            at_jobs: ["00001".to_owned()].into(),
            rule_tags: ["handover-20261123-abcdef".to_owned()].into(),
            iptables_sources: ["10.200.0.0/16".to_owned(), "192.0.2.7/32".to_owned()].into(),
            ..Footprint::default()
        };
        let job = |name: &'static str| (kind::FILE, name, "f 700 0:1 10 sha256:aa");
        let rule = |text| (kind::FIREWALL, text, "");
        let before = surface(&[ROOT]);
        let after = surface(&[
            ROOT,
            job("/var/spool/cron/atjobs/a0000101c8a18d"),
            job("/var/spool/cron/atjobs/=0000101c8a18d"),
            job("/var/spool/cron/atjobs/a0000201c8a18d"),
            rule(
                "iptables-save filter -A INPUT -s 10.200.0.0/16 -p tcp -m multiport --dports 22 -m comment --comment handover-20261123-abcdef -j ACCEPT",
            ),
            rule(
                "nft table ip filter / chain INPUT / meta l4proto tcp ip saddr 10.200.0.0/16 tcp dport 22  counter accept",
            ),
            rule(
                "nft table ip filter / chain INPUT / meta l4proto tcp ip saddr 192.0.2.7 tcp dport { 22,2222 }  counter accept",
            ),
            rule(
                r#"nft table inet filter / chain input / ip saddr { 10.200.0.0/16 } tcp dport { 22 } accept comment "handover-20261123-abcdef""#,
            ),
            // nft 1.1 (Debian 13) prints the same iptables-nft rules with the protocol after
            // the source.
            rule(
                "nft table ip filter / chain INPUT / ip saddr 10.200.0.0/16 ip protocol tcp tcp dport 22  counter accept",
            ),
            rule(
                "nft table ip filter / chain INPUT / ip saddr 192.0.2.7 ip protocol tcp tcp dport { 22, 2222 }  counter accept",
            ),
            // Not the grant's: another tag, another source, another verdict.
            rule(
                "iptables-save filter -A INPUT -m comment --comment handover-20261123-abcdefg -j ACCEPT",
            ),
            rule(
                "nft table ip filter / chain INPUT / meta l4proto tcp ip saddr 10.9.0.0/16 tcp dport 22  counter accept",
            ),
            rule(
                "nft table ip filter / chain INPUT / meta l4proto tcp ip saddr 10.200.0.0/16 tcp dport 22  counter accept meta mark set 1",
            ),
            rule(
                "nft table ip filter / chain INPUT / ip saddr 10.8.0.0/16 ip protocol tcp tcp dport 22  counter accept",
            ),
            rule(
                "nft table ip filter / chain INPUT / ip saddr 10.200.0.0/16 ip protocol udp udp dport 22  counter accept",
            ),
        ]);
        let t = texts(&compare(&before, &after, &own));
        assert_eq!(t.len(), 6, "{t:#?}");
        for needle in [
            "a0000201c8a18d",
            "abcdefg",
            "10.9.0.0/16",
            "mark set",
            "10.8.0.0/16",
            "udp dport",
        ] {
            assert!(t.iter().any(|t| t.contains(needle)), "{needle}: {t:#?}");
        }
    }

    #[test]
    fn the_grants_ufw_and_firewalld_rules_are_left_out() {
        let own = Footprint {
            front_end_sources: ["10.200.7.3".to_owned(), "2001:db8::/32".to_owned()].into(),
            ..Footprint::default()
        };
        let rule = |text| (kind::FIREWALL, text, "");
        let before = surface(&[ROOT]);
        let after = surface(&[
            ROOT,
            rule(
                "iptables-save filter -A ufw-user-input -s 10.200.7.3/32 -p tcp -m tcp --dport 22 -j ACCEPT",
            ),
            rule(
                "ip6tables-save filter -A ufw6-user-input -s 2001:db8::/32 -p tcp -m multiport --dports 22,2222 -j ACCEPT",
            ),
            rule(
                "nft table ip filter / chain ufw-user-input / ip saddr 10.200.7.3 tcp dport 22 counter accept",
            ),
            rule(
                "nft table inet firewalld / chain filter_IN_public_pre / ip saddr 10.200.7.3 tcp dport 22 accept",
            ),
            rule(
                "nft table inet firewalld / chain filter_IN_internal_pre / ip6 saddr 2001:db8::/32 tcp dport 2222 accept",
            ),
            // Not the grant's: another source, another chain, another port or verdict.
            rule(
                "iptables-save filter -A ufw-user-input -s 10.200.7.30/32 -p tcp -m tcp --dport 22 -j ACCEPT",
            ),
            rule(
                "iptables-save filter -A ufw-user-input -s 10.200.7.3/32 -p tcp -m tcp --dport 80:90 -j ACCEPT",
            ),
            rule(
                "nft table inet firewalld / chain filter_IN_public_allow / ip saddr 10.200.7.3 tcp dport 22 accept",
            ),
            rule(
                "nft table inet firewalld / chain filter_IN_public_pre / ip saddr 10.200.7.3 tcp dport 22 accept meta mark set 1",
            ),
        ]);
        let t = texts(&compare(&before, &after, &own));
        assert_eq!(t.len(), 4, "{t:#?}");
        for needle in [
            "10.200.7.30/32",
            "80:90",
            "filter_IN_public_allow",
            "mark set",
        ] {
            assert!(t.iter().any(|t| t.contains(needle)), "{needle}: {t:#?}");
        }
    }

    #[test]
    fn a_revoked_grants_things_count_as_gone() {
        let revoked = Footprint {
            accounts: ["support-ab12cd".to_owned()].into(),
            paths: ["/etc/sudoers.d/handover-20261123-abcdef".to_owned()].into(),
            rule_tags: ["handover-20261123-abcdef".to_owned()].into(),
            ..Footprint::default()
        };
        let own = Footprint {
            gone: Some(Box::new(revoked)),
            ..Footprint::default()
        };
        let account = (
            kind::ACCOUNT,
            "support-ab12cd",
            "1003:1003:x:/bin/bash:/home/support-ab12cd",
        );
        let sudoers = (
            kind::FILE,
            "/etc/sudoers.d/handover-20261123-abcdef",
            "f 440 0:0 1 sha256:aa",
        );
        let rule = (
            kind::FIREWALL,
            "iptables-save filter -A INPUT -m comment --comment handover-20261123-abcdef -j ACCEPT",
            "",
        );
        // There at the baseline, gone since: no drift.
        let with = surface(&[ROOT, account, sudoers, rule]);
        let without = surface(&[ROOT]);
        assert!(!compare(&with, &without, &own).found());
        // There again (or still): reported like anything else.
        let t = texts(&compare(&with, &with, &own));
        assert_eq!(t.len(), 3, "{t:#?}");
        assert!(t[0].contains("new account `support-ab12cd`"), "{t:#?}");
        assert_eq!(texts(&compare(&without, &with, &own)), t);
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
    fn wordpress_back_doors_count_and_the_grants_own_administrator_does_not() {
        let wp = kind::WORDPRESS;
        let mut before = Surface::of(&[
            (wp, "admin wpadmin", "administrator"),
            (wp, "plugin akismet/akismet.php", "inactive"),
            (wp, "option users_can_register", "0"),
        ]);
        before.scope = Some("/var/www/wp".to_owned());
        before.cms.insert(
            "/var/www/wp/wp-includes/functions.php".to_owned(),
            "f 644 33:33 10 sha256:aa".to_owned(),
        );
        let mut after = Surface::of(&[
            (wp, "admin wpadmin", "administrator"),
            (wp, "admin support-ab12cd", "administrator"),
            (wp, "app-password support-ab12cd 1234", "own"),
            (wp, "admin helper", "administrator"),
            (wp, "app-password wpadmin 5678", "sync"),
            (wp, "plugin akismet/akismet.php", "active"),
            (wp, "option users_can_register", "1"),
        ]);
        after.scope = before.scope.clone();
        // A mode change of a core file is the CMS part's; its content's is a back-door.
        after.cms = before.cms.clone();
        after.cms.insert(
            "/var/www/wp/wp-includes/functions.php".to_owned(),
            "f 664 33:33 12 sha256:bb".to_owned(),
        );
        after.cms.insert(
            "/var/www/wp/wp-content/uploads/a.jpg".to_owned(),
            "f 644 33:33 12 sha256:cc".to_owned(),
        );
        let mut own = Footprint::default();
        own.wp_user("support-ab12cd");
        let t = texts(&compare(&before, &after, &own));
        assert_eq!(
            t,
            [
                "new WordPress administrator `helper` (roles: administrator)",
                "new WordPress application password `sync` for `wpadmin`",
                "WordPress option users_can_register: `0` → `1`",
                "WordPress plugin akismet/akismet.php: inactive → active",
                "WordPress core file changed: /var/www/wp/wp-includes/functions.php",
            ]
        );
        // WordPress that does not answer is a warning, not everything removed.
        let mut silent = after.clone();
        silent.items.insert(
            wp.to_owned(),
            [("error".to_owned(), "PHP Fatal error".to_owned())].into(),
        );
        let drift = compare(&before, &silent, &own);
        assert!(texts(&drift).iter().all(|t| !t.contains("administrator")));
        assert!(drift.warnings.iter().any(|w| w.contains("PHP Fatal error")));
    }

    #[test]
    fn a_networks_sites_are_named_and_content_is_listed_never_counted() {
        let wp = kind::WORDPRESS;
        let mut before = Surface::of(&[
            (wp, "admin@10.0.0.2/shop/ shopkeeper", "administrator"),
            (wp, "option@10.0.0.2/shop/ home", "http://10.0.0.2/shop"),
            (
                wp,
                "content 1",
                "post publish 2026-01-01T00:00:00 Hello world!",
            ),
            (wp, "content 2", "page publish 2026-01-01T00:00:00 About"),
            (wp, "content 3", "page draft 2026-01-01T00:00:00 Old"),
            (
                wp,
                "content@10.0.0.2/shop/ 4",
                "post publish 2026-01-01T00:00:00 Sale",
            ),
        ]);
        before.scope = Some("/var/www/wp".to_owned());
        let mut after = Surface::of(&[
            (wp, "admin@10.0.0.2/shop/ shopkeeper", "administrator"),
            (wp, "admin@10.0.0.2/shop/ helper", "administrator"),
            (wp, "admin@10.0.0.2/shop/ support-ab12cd", "administrator"),
            (wp, "super-admin support-ab12cd", ""),
            (wp, "super-admin helper", ""),
            (wp, "option@10.0.0.2/shop/ home", "http://evil.example/"),
            (
                wp,
                "content 1",
                "post publish 2026-12-04T10:00:00 Hello world!",
            ),
            (wp, "content 2", "page trash 2026-12-04T10:00:00 About"),
            (
                wp,
                "content 5",
                "attachment inherit 2026-12-04T10:00:00 logo",
            ),
            (
                wp,
                "content@10.0.0.2/shop/ 4",
                "post publish 2026-01-01T00:00:00 Big sale",
            ),
        ]);
        after.scope = before.scope.clone();
        // Another live grant's administrator, as teardown adds it.
        let mut other = Footprint::default();
        other.wp_user("support-ab12cd");
        let mut own = Footprint::default();
        own.add(other, false);
        let drift = compare(&before, &after, &own);
        assert_eq!(
            texts(&drift),
            [
                "new WordPress administrator `helper` (roles: administrator) (site 10.0.0.2/shop/)",
                "WordPress option home: `http://10.0.0.2/shop` → `http://evil.example/` (site 10.0.0.2/shop/)",
                "new WordPress super admin `helper` (every site of the network)",
            ]
        );
        assert_eq!(
            drift.cms.expect("a CMS part").content,
            [
                "WordPress post 1 “Hello world!” edited",
                "WordPress page 2 “About” publish → trash",
                "WordPress page 3 “Old” deleted",
                "new WordPress attachment 5 “logo” (inherit)",
                "WordPress post 4 “Big sale” retitled from “Sale” (site 10.0.0.2/shop/)",
            ]
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
