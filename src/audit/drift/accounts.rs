//! The accounts part of the comparison: passwd, shadow, group and gshadow entries.

use super::{Change, Footprint, Report, delta};
use crate::audit::classify::PRIVILEGED_GROUPS;
use crate::audit::surface::{Surface, kind};
use std::collections::BTreeSet;

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

impl Report {
    pub(super) fn accounts(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
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
                // A lent account (`--rotate`) gets new passwords from the grant itself.
                (Some(sb), Some(sa))
                    if own.rotates_password(name) && shadow_parts(sb).0 == shadow_parts(sa).0 => {}
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

    /// Subordinate ids (/etc/subuid, /etc/subgid): whom a user namespace may map, per account.
    pub(super) fn subids(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        for (key, b, a) in delta(before.kind(kind::SUBID), now.kind(kind::SUBID)) {
            let (file, name) = key.split_once(':').unwrap_or((key, ""));
            if own.owns_account(name) {
                continue;
            }
            let (change, text) = match (b, a) {
                (None, Some(a)) => (
                    Change::Added,
                    format!("{file}: `{name}` given subordinate ids {a}"),
                ),
                (Some(b), None) => (
                    Change::Removed,
                    format!("{file}: subordinate ids of `{name}` removed (were {b})"),
                ),
                (Some(b), Some(a)) => (
                    Change::Changed,
                    format!("{file}: subordinate ids of `{name}` changed: {b} → {a}"),
                ),
                (None, None) => continue,
            };
            self.push("accounts", file, change, text);
        }
    }

    pub(super) fn groups(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subids(items: &[(&str, &str)]) -> Surface {
        let mut s = Surface::default();
        for (key, ranges) in items {
            s.items
                .entry(kind::SUBID.to_owned())
                .or_default()
                .insert((*key).to_owned(), (*ranges).to_owned());
        }
        s
    }

    /// useradd gives every new account a range in /etc/subuid and /etc/subgid: the grant's own
    /// is no drift, another account's new range is.
    #[test]
    fn subordinate_ids_are_compared_per_account() {
        let before = subids(&[("/etc/subuid:admin", "100000:65536")]);
        let after = subids(&[
            ("/etc/subuid:admin", "100000:65536"),
            ("/etc/subuid:support-ab12cd", "165536:65536"),
            ("/etc/subgid:support-ab12cd", "165536:65536"),
            ("/etc/subgid:mallory", "0:1"),
        ]);
        let mut own = Footprint::default();
        own.accounts.insert("support-ab12cd".to_owned());
        let mut report = Report::default();
        report.subids(&before, &after, &own);
        let texts: Vec<&str> = report.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["/etc/subgid: `mallory` given subordinate ids 0:1"]);
        assert_eq!(report.items[0].path, "/etc/subgid");
    }
}
