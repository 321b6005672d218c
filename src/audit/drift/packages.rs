//! The package database: packages installed, removed, upgraded or downgraded since the
//! baseline, named with their dpkg maintainer scripts (they run as root), and maintainer
//! scripts added or changed without any package change (an edited postinst runs at the next
//! upgrade or removal of its package).

use super::files::{describe_new, state_changes};
use super::{Change, Report, delta};
use crate::audit::surface::{FileState, Surface, kind};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Where dpkg keeps the maintainer scripts.
const DPKG_INFO: &str = "/var/lib/dpkg/info/";

/// `NAME:ARCH` (dpkg) or `NAME.ARCH` (rpm) as the report names it: dpkg's `NAME:all` as
/// `NAME`.
fn display(key: &str) -> &str {
    key.strip_suffix(":all").unwrap_or(key)
}

/// The package database a key comes from: dpkg's keys always hold an architecture after `:`.
fn database(key: &str) -> &'static str {
    if key.contains(':') {
        "/var/lib/dpkg/status"
    } else {
        "rpm database"
    }
}

/// Whether the maintainer script at `path` (`/var/lib/dpkg/info/NAME[:ARCH].EXT`) belongs to
/// the dpkg package `key` (`NAME:ARCH`).
fn script_of(path: &str, key: &str) -> bool {
    let Some(stem) = path
        .strip_prefix(DPKG_INFO)
        .and_then(|file| file.rsplit_once('.'))
        .map(|(stem, _)| stem)
    else {
        return false;
    };
    stem == key || key.split_once(':').is_some_and(|(name, _)| stem == name)
}

/// `VERSION STATUS` -> (version, what the status adds to the text: nothing for `installed`).
fn version_status(value: &str) -> (&str, String) {
    let (version, status) = value.split_once(' ').unwrap_or((value, "installed"));
    let note = if status == "installed" {
        String::new()
    } else {
        format!(" (dpkg status `{status}`: not completely installed)")
    };
    (version, note)
}

impl Report {
    pub(super) fn packages(&mut self, before: &Surface, now: &Surface) {
        let (scripts_b, scripts_a) = (
            before.kind(kind::MAINTAINER_SCRIPT),
            now.kind(kind::MAINTAINER_SCRIPT),
        );
        let script_delta = delta(scripts_b, scripts_a);
        // Scripts named with their package's change are not named again on their own.
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for (key, b, a) in delta(before.kind(kind::PACKAGE), now.kind(kind::PACKAGE)) {
            let name = display(key);
            let path = database(key);
            for (script, ..) in &script_delta {
                if script_of(script, key) {
                    named.insert(script);
                }
            }
            let scripts: Vec<&str> = scripts_a
                .keys()
                .map(String::as_str)
                .filter(|script| script_of(script, key))
                .collect();
            let with_scripts = if scripts.is_empty() {
                String::new()
            } else {
                format!(" (maintainer scripts: {})", scripts.join(", "))
            };
            match (b, a) {
                (None, Some(a)) => {
                    let (version, note) = version_status(a);
                    self.push(
                        "packages",
                        path,
                        Change::Added,
                        format!("package `{name}` {version} installed{note}{with_scripts}"),
                    );
                }
                (Some(b), None) => {
                    let (version, _) = version_status(b);
                    self.push(
                        "packages",
                        path,
                        Change::Removed,
                        format!("package `{name}` {version} removed"),
                    );
                }
                (Some(b), Some(a)) => {
                    let ((v1, _), (v2, note)) = (version_status(b), version_status(a));
                    let text = match compare_versions(v1, v2) {
                        Ordering::Less => {
                            format!("package `{name}` upgraded {v1} → {v2}{note}{with_scripts}")
                        }
                        Ordering::Greater => {
                            format!("package `{name}` downgraded {v1} → {v2}{note}{with_scripts}")
                        }
                        Ordering::Equal if v1 != v2 => {
                            format!("package `{name}` version {v1} → {v2}{note}{with_scripts}")
                        }
                        Ordering::Equal => {
                            let status = |v: &str| {
                                v.split_once(' ').map_or("installed", |(_, s)| s).to_owned()
                            };
                            format!(
                                "package `{name}` {v2}: dpkg status {} → {}{with_scripts}",
                                status(b),
                                status(a)
                            )
                        }
                    };
                    self.push("packages", path, Change::Changed, text);
                }
                (None, None) => {}
            }
        }
        for (script, b, a) in script_delta {
            if named.contains(script) {
                continue;
            }
            match (b.and_then(FileState::parse), a.and_then(FileState::parse)) {
                (None, Some(state)) => self.push(
                    "packages",
                    script,
                    Change::Added,
                    format!(
                        "new maintainer script {script} ({}), its package unchanged",
                        describe_new(&state)
                    ),
                ),
                (Some(b), Some(a)) => {
                    let changes = state_changes(&b, &a, false);
                    if !changes.is_empty() {
                        self.push(
                            "packages",
                            script,
                            Change::Changed,
                            format!(
                                "maintainer script {script} changed ({}), its package unchanged",
                                changes.join(", ")
                            ),
                        );
                    }
                }
                // A script gone without its package's removal runs nothing.
                _ => {}
            }
        }
    }
}

/// Debian's version order (dpkg's `verrevcmp` on the epoch, the upstream version and the
/// revision); rpm's differs only in corner cases.
pub(super) fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(version: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) if epoch.bytes().all(|c| c.is_ascii_digit()) => {
                (epoch.parse().unwrap_or(0), rest)
            }
            _ => (0, version),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        (epoch, upstream, revision)
    }
    let ((e1, u1, r1), (e2, u2, r2)) = (split(a), split(b));
    e1.cmp(&e2)
        .then_with(|| verrevcmp(u1.as_bytes(), u2.as_bytes()))
        .then_with(|| verrevcmp(r1.as_bytes(), r2.as_bytes()))
}

/// dpkg's order of a character in the non-digit parts: `~` before everything, even the end,
/// then letters, then the rest.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let digit = |s: &[u8], i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::drift::{Footprint, compare};

    fn surface(packages: &[(&str, &str)], scripts: &[(&str, &str)]) -> Surface {
        let mut s = Surface::default();
        for (item_kind, items) in [
            (kind::PACKAGE, packages),
            (kind::MAINTAINER_SCRIPT, scripts),
        ] {
            for (key, value) in items {
                s.items
                    .entry(item_kind.to_owned())
                    .or_default()
                    .insert((*key).to_owned(), (*value).to_owned());
            }
        }
        s
    }

    #[test]
    fn versions_are_ordered_as_dpkg_does() {
        for (a, b, expected) in [
            ("1.0", "1.1", Ordering::Less),
            ("1.10", "1.9", Ordering::Greater),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0", "1.0+deb12u1", Ordering::Less),
            ("1:0.9", "2.0", Ordering::Greater),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Ordering::Less),
            ("1.0a", "1.0", Ordering::Greater),
            ("1.01", "1.1", Ordering::Equal),
            ("9.2p1-2+deb12u3", "9.2p1-2+deb12u3", Ordering::Equal),
        ] {
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn packages_are_named_with_their_version_change_and_maintainer_scripts() {
        let script = |name: &str| format!("{DPKG_INFO}{name}");
        let (old_postinst, ssh_postinst, probe_postinst, probe_prerm, new_prerm) = (
            script("hv-old.postinst"),
            script("openssh-server.postinst"),
            script("hv-probe.postinst"),
            script("hv-probe.prerm"),
            script("libc6:amd64.prerm"),
        );
        let before = surface(
            &[
                ("hv-old:all", "1.0 installed"),
                ("hv-gone:amd64", "2.0 installed"),
                ("openssh-server:amd64", "1:9.2p1-2 installed"),
                ("libc6:amd64", "2.36-9 installed"),
                ("tzdata:all", "2024a-0 installed"),
            ],
            &[
                (&old_postinst, "f 755 0:0 10 inode:1 ctime:1.5"),
                (&ssh_postinst, "f 755 0:0 100 inode:2 ctime:1.5"),
                (&script("hv-gone.postrm"), "f 755 0:0 10 inode:3 ctime:1.5"),
            ],
        );
        let after = surface(
            &[
                ("hv-old:all", "1.1 installed"),
                ("hv-probe:all", "1.0 installed"),
                ("openssh-server:amd64", "1:9.2p1-2 installed"),
                ("libc6:amd64", "2.36-9 installed"),
                ("tzdata:all", "2024a-0 half-configured"),
            ],
            &[
                (&old_postinst, "f 755 0:0 12 inode:9 ctime:9.5"),
                (&ssh_postinst, "f 755 0:0 130 inode:8 ctime:9.5"),
                (&probe_postinst, "f 755 0:0 20 inode:7 ctime:9.5"),
                (&probe_prerm, "f 755 0:0 20 inode:6 ctime:9.5"),
                (&new_prerm, "f 755 0:0 20 inode:5 ctime:9.5"),
            ],
        );
        let drift = compare(&before, &after, &Footprint::default());
        let items: Vec<(&str, &str)> = drift
            .persistence
            .iter()
            .map(|i| (i.path.as_str(), i.text.as_str()))
            .collect();
        let status = "/var/lib/dpkg/status";
        assert_eq!(
            items,
            [
                (status, "package `hv-gone:amd64` 2.0 removed"),
                (
                    status,
                    "package `hv-old` upgraded 1.0 → 1.1 (maintainer scripts: /var/lib/dpkg/info/hv-old.postinst)"
                ),
                (
                    status,
                    "package `hv-probe` 1.0 installed (maintainer scripts: /var/lib/dpkg/info/hv-probe.postinst, /var/lib/dpkg/info/hv-probe.prerm)"
                ),
                (
                    status,
                    "package `tzdata` 2024a-0: dpkg status installed → half-configured"
                ),
                (
                    "/var/lib/dpkg/info/libc6:amd64.prerm",
                    "new maintainer script /var/lib/dpkg/info/libc6:amd64.prerm (mode 755, owner root), its package unchanged"
                ),
                (
                    "/var/lib/dpkg/info/openssh-server.postinst",
                    "maintainer script /var/lib/dpkg/info/openssh-server.postinst changed (replaced or modified: new inode or change time, 100 → 130 bytes), its package unchanged"
                ),
            ]
        );
        assert!(drift.persistence.iter().all(|i| i.category == "packages"));
    }

    #[test]
    fn a_downgrade_and_an_rpm_package_read_as_such() {
        let before = surface(&[("openssl.x86_64", "1:3.0.7-27.el9 installed")], &[]);
        let after = surface(&[("openssl.x86_64", "1:3.0.7-25.el9 installed")], &[]);
        let drift = compare(&before, &after, &Footprint::default());
        assert_eq!(drift.persistence.len(), 1);
        assert_eq!(drift.persistence[0].path, "rpm database");
        assert_eq!(
            drift.persistence[0].text,
            "package `openssl.x86_64` downgraded 1:3.0.7-27.el9 → 1:3.0.7-25.el9"
        );
    }
}
