//! What differs between the scope on the host now (its listing) and the backup (its manifest):
//! entries added on the host, changed (content, kind, link, mode, owner, ACL), and removed.
//! Restore works from it, verifies against it, and `diff` shows it.

use super::listing::{HostEntry, Listing};
use super::{Entry, Manifest};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What belongs to a live grant and is left alone: its account's ACL entries on the scope
/// (the grant's ACL action; teardown takes them out).
#[derive(Clone, Debug, Default)]
pub struct Keep {
    /// The account whose `user:NAME:` entries are the grant's.
    pub account: Option<String>,
    /// The permissions they grant (`rwX`), put back on what restore rewrites.
    pub permissions: String,
}

/// One entry as either side has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct State {
    /// `file`, `dir`, `symlink`, `hardlink` or `other`.
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<super::Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

/// One path that differs.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// Relative to the scope, `./` left out (`.` is the scope itself).
    pub path: String,
    /// What differs: `content`, `kind`, `link`, `mode`, `owner`, `acl`; empty for an added or
    /// removed path.
    pub what: Vec<&'static str>,
    /// In the backup (none: added on the host).
    pub before: Option<State>,
    /// On the host now (none: removed).
    pub after: Option<State>,
    /// The host's own name for it, bytes as they are (what restore removes).
    #[serde(skip)]
    pub(crate) host_name: Option<Vec<u8>>,
}

/// Everything that differs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub added: Vec<Change>,
    pub changed: Vec<Change>,
    pub removed: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    pub fn len(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }

    /// Every change, added first, then changed, then removed.
    pub fn all(&self) -> impl Iterator<Item = &Change> {
        self.added.iter().chain(&self.changed).chain(&self.removed)
    }

    /// The paths restore takes from the archive: removed and changed ones.
    pub(crate) fn to_extract(&self) -> BTreeSet<String> {
        self.changed
            .iter()
            .chain(&self.removed)
            .map(|c| c.path.clone())
            .collect()
    }
}

/// A manifest's kind of entry as a static name: a plan of 20,000 entries holds no copies.
pub(crate) fn kind(name: &str) -> &'static str {
    match name {
        "file" => "file",
        "dir" => "dir",
        "symlink" => "symlink",
        "hardlink" => "hardlink",
        _ => "other",
    }
}

/// A path as the key both sides are compared by: `./` and a trailing `/` left out.
pub(crate) fn key(path: &str) -> String {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("./").unwrap_or(path);
    let path = path.trim_start_matches('/');
    if path.is_empty() || path == "." {
        ".".to_owned()
    } else {
        path.to_owned()
    }
}

/// The manifest's entries by key, hard links given their target's content.
pub(crate) fn backup_states(manifest: &Manifest) -> BTreeMap<String, (State, &Entry)> {
    let files: BTreeMap<String, &Entry> =
        manifest.entries.iter().map(|e| (key(&e.path), e)).collect();
    let mut states = BTreeMap::new();
    for (path, entry) in &files {
        let mut state = State {
            kind: kind(&entry.kind),
            mode: entry.mode & 0o7777,
            uid: entry.uid,
            gid: entry.gid,
            size: entry.size,
            sha256: entry.sha256,
            link: entry.link.clone(),
            acl: if manifest.acls {
                entry.acl.clone()
            } else {
                Vec::new()
            },
        };
        if entry.kind == "hardlink"
            && let Some(target) = entry.link.as_deref().and_then(|l| files.get(&key(l)))
        {
            state.kind = "file";
            state.size = target.size;
            state.sha256 = target.sha256;
            state.link = None;
        }
        if state.kind == "symlink" {
            state.mode = 0;
        }
        states.insert(path.clone(), (state, *entry));
    }
    states
}

/// The host's entry as a [`State`], the grant's own ACL entries left out (see [`Keep`]).
fn host_state(entry: &HostEntry, keep: &Keep, acls: bool) -> State {
    let mut state = State {
        kind: entry.kind,
        mode: if entry.kind == "symlink" {
            0
        } else {
            entry.mode & 0o7777
        },
        uid: entry.uid,
        gid: entry.gid,
        size: if entry.kind == "file" { entry.size } else { 0 },
        sha256: entry.sha256,
        link: entry.link.clone(),
        acl: if acls { entry.acl.clone() } else { Vec::new() },
    };
    if let Some(account) = &keep.account {
        without_own_acl(&mut state, account);
    }
    state
}

/// `state` as it would be without `account`'s ACL entries, the way teardown leaves it: a mask
/// left alone by named entries goes, the group keeping what the mask let it do, and a default
/// ACL without named entries goes.
fn without_own_acl(state: &mut State, account: &str) {
    let own = format!("user:{account}:");
    let own_default = format!("default:user:{account}:");
    let before = state.acl.len();
    state
        .acl
        .retain(|l| !l.starts_with(&own) && !l.starts_with(&own_default));
    if state.acl.len() == before {
        return;
    }
    let named = |l: &&String, prefix: &str| {
        l.strip_prefix(prefix).is_some_and(|rest| {
            (rest.starts_with("user:") && !rest.starts_with("user::"))
                || (rest.starts_with("group:") && !rest.starts_with("group::"))
        })
    };
    let access_named = state
        .acl
        .iter()
        .any(|l| !l.starts_with("default:") && named(&l, ""));
    let default_named = state.acl.iter().any(|l| named(&l, "default:"));
    if !access_named {
        let perms = |prefix: &str| {
            state
                .acl
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
                .map(perm_bits)
        };
        if let (Some(group), Some(mask)) = (perms("group::"), perms("mask::")) {
            state.mode = (state.mode & !0o070) | ((group & mask) << 3);
        }
        state
            .acl
            .retain(|l| l.starts_with("default:") || !l.starts_with("mask::"));
    }
    if !default_named {
        state.acl.retain(|l| !l.starts_with("default:"));
    }
    // What is left is the mode's alone: no ACL.
    if !state
        .acl
        .iter()
        .any(|l| l.starts_with("default:") || named(&l, "") || l.starts_with("mask::"))
    {
        state.acl.clear();
    }
}

/// `rwx` as bits.
fn perm_bits(text: &str) -> u32 {
    let b = text.as_bytes();
    let bit = |i: usize, c: u8, v: u32| if b.get(i) == Some(&c) { v } else { 0 };
    bit(0, b'r', 4) | bit(1, b'w', 2) | bit(2, b'x', 1)
}

/// What differs in `before` → `after`.
fn differences(before: &State, after: &State) -> Vec<&'static str> {
    let mut what = Vec::new();
    if before.kind != after.kind {
        what.push("kind");
    } else if before.kind == "file" && (before.sha256 != after.sha256 || before.size != after.size)
    {
        what.push("content");
    } else if before.kind == "symlink" && before.link != after.link {
        what.push("link");
    }
    if before.kind == after.kind && before.mode != after.mode {
        what.push("mode");
    }
    if (before.uid, before.gid) != (after.uid, after.gid) {
        what.push("owner");
    }
    if before.kind == after.kind && before.acl != after.acl {
        what.push("acl");
    }
    what
}

/// The listing against the manifest.
pub fn plan(manifest: &Manifest, listing: &Listing, keep: &Keep) -> Plan {
    let backup = backup_states(manifest);
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    for entry in &listing.entries {
        let path = key(&entry.name_lossy());
        let after = host_state(entry, keep, manifest.acls);
        seen.insert(path.clone());
        match backup.get(&path) {
            None => plan.added.push(Change {
                path,
                what: Vec::new(),
                before: None,
                after: Some(after),
                host_name: Some(entry.name.clone()),
            }),
            Some((before, _)) => {
                let what = differences(before, &after);
                if !what.is_empty() {
                    plan.changed.push(Change {
                        path,
                        what,
                        before: Some(before.clone()),
                        after: Some(after),
                        host_name: Some(entry.name.clone()),
                    });
                }
            }
        }
    }
    // Reserved whole: an emptied scope's plan holds every entry, and doubling would hold
    // half as much again.
    plan.removed
        .reserve_exact(backup.len().saturating_sub(seen.len() - plan.added.len()));
    for (path, (before, _)) in backup {
        if !seen.contains(&path) {
            plan.removed.push(Change {
                path,
                what: Vec::new(),
                before: Some(before),
                after: None,
                host_name: None,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_leave_out_dot_slash() {
        assert_eq!(key("./"), ".");
        assert_eq!(key("."), ".");
        assert_eq!(key("./a b/c"), "a b/c");
        assert_eq!(key("./d/"), "d");
    }

    #[test]
    fn the_grants_own_acl_is_left_out_as_teardown_would() {
        let mut state = State {
            kind: "file",
            mode: 0o664,
            uid: 33,
            gid: 33,
            size: 1,
            sha256: None,
            link: None,
            acl: vec![
                "user::rw-".into(),
                "user:support-ab:rw-".into(),
                "group::r--".into(),
                "mask::rw-".into(),
                "other::r--".into(),
            ],
        };
        without_own_acl(&mut state, "support-ab");
        assert_eq!(state.mode, 0o644);
        assert!(state.acl.is_empty());
    }
}
