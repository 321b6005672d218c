//! The files part of the comparison: authorized keys, files on the persistence surface,
//! setuid and setgid files, and the CMS directory.

use super::payloads::runs;
use super::{Change, CmsChanges, Footprint, Report, delta};
use crate::audit::classify::{
    SYSTEM_EXECUTABLES, classify, config_hook, ignored_path, server_executes,
};
use crate::audit::surface::{FileState, Surface, kind};
use std::collections::{BTreeMap, BTreeSet};

fn owner_words(owner: &str) -> String {
    if owner == "0:0" {
        "root".to_owned()
    } else {
        format!("uid:gid {owner}")
    }
}

pub(super) fn describe_new(state: &FileState) -> String {
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
pub(super) fn state_changes(
    before: &FileState,
    after: &FileState,
    ignore_group: bool,
) -> Vec<String> {
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
                // Files recorded by inode and change time (no digest): replaced or written to,
                // or only their metadata changed.
                let what = if c1.starts_with("inode:") || c2.starts_with("inode:") {
                    "replaced or modified: new inode or change time"
                } else {
                    "content changed"
                };
                out.push(if s1 == s2 {
                    what.to_owned()
                } else {
                    format!("{what}, {s1} → {s2} bytes")
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

impl Report {
    /// Authorized-keys files, with the keys added and removed; returns the paths handled, so
    /// the generic file comparison leaves them alone.
    pub(super) fn authorized_keys(
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

    pub(super) fn files(
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
                    // A file that runs something names what it runs.
                    let what = match runs(now, path) {
                        Some(runs) => format!("{}; {runs}", describe_new(&state)),
                        None => describe_new(&state),
                    };
                    let text = if category == "sudoers" {
                        format!("sudoers: {path} added ({what})")
                    } else {
                        format!("new {noun} {path} ({what})")
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
                    let changes = match runs(now, path) {
                        Some(runs) => format!("{}; {runs}", changes.join(", ")),
                        None => changes.join(", "),
                    };
                    let text = if category == "sudoers" {
                        format!("sudoers: {path} changed ({changes})")
                    } else {
                        format!("{noun} {path} changed ({changes})")
                    };
                    self.push(category, path, Change::Changed, text);
                }
                (None, None) => {}
            }
        }
        if self.items.iter().any(|i| i.category == SYSTEM_EXECUTABLES) {
            self.warnings.push(
                "system executables changed: a package upgrade during the window changes them too (check the package manager's log, /var/log/dpkg.log or `dnf history`)".to_owned(),
            );
        }
    }

    pub(super) fn setuid(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
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

    pub(super) fn cms(&mut self, before: &Surface, now: &Surface) -> Option<CmsChanges> {
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
    use crate::audit::drift::compare;

    fn surface(items: &[(&str, &str)]) -> Surface {
        let items: Vec<_> = items
            .iter()
            .map(|(path, state)| (kind::FILE, *path, *state))
            .collect();
        Surface::of(&items)
    }

    #[test]
    fn a_replaced_system_executable_is_named_with_a_word_on_upgrades() {
        let before = surface(&[
            ("/usr/sbin/nologin", "f 755 0:0 14568 inode:10 ctime:1.5"),
            ("/usr/bin/ls", "f 755 0:0 100 inode:11 ctime:1.5"),
        ]);
        let after = surface(&[
            ("/usr/sbin/nologin", "f 755 0:0 14480 inode:12 ctime:9.5"),
            ("/usr/bin/ls", "f 755 0:0 100 inode:11 ctime:1.5"),
            ("/usr/bin/sshd-helper", "f 4755 0:0 100 inode:13 ctime:9.5"),
        ]);
        let drift = compare(&before, &after, &Footprint::default());
        let texts: Vec<&str> = drift.persistence.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "new system executable /usr/bin/sshd-helper (mode 4755, owner root)",
                "system executable /usr/sbin/nologin changed (replaced or modified: new inode or change time, 14568 → 14480 bytes)",
            ]
        );
        assert!(
            drift.warnings.iter().any(|w| w.contains("package upgrade")),
            "{:?}",
            drift.warnings
        );
        assert!(
            compare(&before, &before, &Footprint::default())
                .warnings
                .is_empty()
        );
    }
}
