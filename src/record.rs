//! Grant records: the on-disk journal of what a grant applied and how to undo it.
//!
//! One JSON file per grant in `STATE_DIR/grants/`, mode 0600 in 0700 directories, written
//! atomically (temporary file, fsync, rename, fsync of the directory) and before the host
//! changes, so a crash at any instant leaves a record `teardown` can work from. A lock file per
//! grant keeps two handover processes from working on the same grant at once.

use crate::actions::{Action, Step};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::{AccountName, Target};
use crate::ssh::config::Hop;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Create or truncate `path` with mode 0600, write `bytes` and fsync them.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = private_file(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Format version of the record file; bumped when a change is not backward compatible.
pub const RECORD_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("could not use state directory `{path}`")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state directory `{path}` is accessible to other users (mode {mode:o}): run `chmod 700` on it"
    )]
    StateDirMode { path: PathBuf, mode: u32 },
    #[error("no grant `{id}` in `{dir}` (see `handover list`)")]
    NotFound { id: String, dir: PathBuf },
    #[error("could not read grant record `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("grant record `{path}` is corrupt or was edited by hand")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "grant record `{path}` has format version {found}; this handover reads version {RECORD_VERSION}"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("could not write grant record `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("grant `{id}` is being worked on by another handover process (lock `{path}`)")]
    Busy { id: String, path: PathBuf },
}

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantState {
    /// Provision started; some actions may be applied.
    Provisioning,
    /// Everything applied and verified; the credentials were handed over.
    Active,
    /// Shut by `handover suspend` (accounts locked, firewall closed), nothing removed; back to
    /// `Active` with `handover resume`.
    Suspended,
    /// Something is applied that could not be undone or verified absent: run teardown.
    Partial,
    /// Everything the grant applied was removed and verified absent.
    Revoked,
}

impl GrantState {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Provisioning => "provisioning",
            GrantState::Active => "active",
            GrantState::Suspended => "suspended",
            GrantState::Partial => "partial",
            GrantState::Revoked => "revoked",
        }
    }
}

/// Who asked for the grant and why (`provision --request`), as the grant record keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub email: String,
    pub reason: String,
}

impl Requester {
    /// `NAME (ORGANISATION) <EMAIL>`, with what is given.
    pub fn who(&self) -> String {
        let mut who = self.name.clone();
        if !self.organisation.is_empty() {
            who.push_str(&format!(" ({})", self.organisation));
        }
        if !self.email.is_empty() {
            who.push_str(&format!(" <{}>", self.email));
        }
        who
    }
}

/// Where an action stands on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    /// Journaled; may or may not have started on the host. Undo treats it as applied.
    Pending,
    /// Applied (its step finished).
    Applied,
    /// Undone and verified absent.
    Undone,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRecord {
    pub action: Action,
    pub status: ActionStatus,
    /// Values this action learned on the host while applying (the account's UID, a backup's
    /// path, a scheduled job's id, …): whatever its undo needs beyond its parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
}

/// The host a grant lives on, with its pinned key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    pub host: String,
    pub port: u16,
    pub login: String,
    /// Whether the login used sudo (`--become`).
    pub become_root: bool,
    /// The host key, OpenSSH public key format; teardown refuses any other key.
    pub host_key: String,
    pub host_key_fingerprint: String,
    /// The ssh config alias the grant was provisioned with (`handover provision cms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// `IdentityFile`s of the host in the ssh config (paths only), tried again at teardown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<PathBuf>,
    /// `IdentitiesOnly yes` in the ssh config.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identities_only: bool,
    /// Jump hosts (`ProxyJump`) on the way to the host, first jump first, each with its
    /// pinned key: teardown goes the same way and refuses any other key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jumps: Vec<JumpRecord>,
}

/// A jump host on the way to a grant's host.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpRecord {
    pub host: String,
    pub port: u16,
    pub login: String,
    pub host_key: String,
    pub host_key_fingerprint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identities_only: bool,
}

impl HostRecord {
    /// Where to log in, as provisioned.
    pub fn target(&self) -> Target {
        Target {
            login: self.login.clone(),
            host: self.host.clone(),
            port: self.port,
        }
    }
}

impl JumpRecord {
    /// The jump host as a hop of a route (its key is pinned, so no known_hosts file).
    pub fn hop(&self) -> Hop {
        Hop {
            target: Target {
                login: self.login.clone(),
                host: self.host.clone(),
                port: self.port,
            },
            identities: self.identities.clone(),
            identities_only: self.identities_only,
            known_hosts: None,
            alias: None,
        }
    }
}

/// Something that happened to the grant, for `show`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub what: String,
}

/// One grant: everything teardown needs, and nothing secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecord {
    pub version: u32,
    pub id: GrantId,
    pub state: GrantState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub host: HostRecord,
    pub playbook: String,
    pub level: String,
    pub account: AccountName,
    pub scope: Option<String>,
    pub actions: Vec<ActionRecord>,
    pub events: Vec<Event>,
    /// A baseline of the host's persistence surface was stored with the grant
    /// (`ID.baseline.json`): teardown reports the drift against it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
    /// The backup of the scope taken before the first change (`ID.backup/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::backup::BackupRecord>,
    /// The batch the grant was provisioned in (`handover provision HOST1 HOST2 …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<crate::ids::BatchId>,
    /// The window's recordings as last copied from the host (`ID.recordings/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recordings: Option<RecordingsCopy>,
    /// Who asked for the grant and why (`provision --request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
}

/// Create (or truncate) a file only its owner can read: `mode` only applies to a new file, so
/// an existing one is narrowed to 0600 as well.
pub fn private_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// A copy of the window's recordings in the state directory: when it was taken, and each
/// file's SHA-256 (hex), by its path in the copy, so that the copy can be proved unchanged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordingsCopy {
    #[serde(with = "time::serde::rfc3339")]
    pub copied_at: OffsetDateTime,
    /// Whether the host's recordings were removed after this copy (at teardown).
    #[serde(default)]
    pub removed_from_host: bool,
    /// The fingerprint of the key the copy is sealed to (teardown's `--seal-to`): it is then
    /// `ID.recordings.age`, an age file of its tar, and no plain copy is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_to: Option<String>,
    pub sha256: BTreeMap<String, String>,
}

impl GrantRecord {
    /// Whether the grant created a Linux account (some playbooks only change an application).
    pub fn has_account(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a.action, Action::User(_)))
    }

    /// What the grant's actions create on the host's persistence surface.
    pub fn footprint(&self) -> Footprint {
        let mut own = Footprint::default();
        for entry in &self.actions {
            entry.action.footprint(&self.id, &entry.facts, &mut own);
        }
        own
    }

    pub fn event(&mut self, what: impl Into<String>) {
        self.events.push(Event {
            at: now(),
            what: what.into(),
        });
    }
}

/// The state directory holding grant records.
pub struct Store {
    grants: PathBuf,
}

/// An exclusive lock on one grant, released on drop.
#[derive(Debug)]
pub struct GrantLock {
    _file: File,
}

impl Store {
    /// Open (creating if needed) the state directory, and prove it is writable, so a full or
    /// read-only disk is found before the host changes.
    pub fn open(dir: &Path) -> Result<Store, RecordError> {
        let state_err = |source| RecordError::StateDir {
            path: dir.to_owned(),
            source,
        };
        let grants = dir.join("grants");
        for d in [dir, grants.as_path()] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(state_err)?;
        }
        // The records' own directory must be private; the state directory around it may be
        // one the user chose and shares.
        let mode = fs::metadata(&grants)
            .map_err(state_err)?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(RecordError::StateDirMode {
                path: grants.clone(),
                mode,
            });
        }
        Ok(Store { grants })
    }

    /// Write and remove a probe file the size of a large record: fails on a full or
    /// read-only disk.
    pub fn check_writable(&self) -> Result<(), RecordError> {
        let probe = self.grants.join(format!(".probe-{}", std::process::id()));
        let result = write_private(&probe, &[b' '; 64 * 1024]);
        let _ = fs::remove_file(&probe);
        result.map_err(|source| RecordError::Write {
            path: self.grants.clone(),
            source,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.grants
    }

    /// The record's file.
    pub fn path(&self, id: &GrantId) -> PathBuf {
        self.grants.join(format!("{id}.json"))
    }

    /// Take the grant's lock without waiting; `Busy` if another process holds it.
    pub fn lock(&self, id: &GrantId) -> Result<GrantLock, RecordError> {
        let path = self.grants.join(format!("{id}.lock"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| RecordError::Write {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(GrantLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(RecordError::Busy {
                id: id.to_string(),
                path,
            }),
            Err(fs::TryLockError::Error(source)) => Err(RecordError::Write { path, source }),
        }
    }

    /// Write `record` atomically: a temporary file in the same directory, fsync, rename over
    /// the old record, fsync the directory.
    pub fn save(&self, record: &GrantRecord) -> Result<(), RecordError> {
        let path = self.path(&record.id);
        let mut text = serde_json::to_vec_pretty(record).map_err(|e| RecordError::Write {
            path: path.clone(),
            source: e.into(),
        })?;
        text.push(b'\n');
        self.write_atomic(&path, &text)
    }

    /// A file kept with grant `id` besides its record: `ID.SUFFIX` (e.g. `baseline.json`).
    pub fn companion_path(&self, id: &GrantId, suffix: &str) -> PathBuf {
        self.grants.join(format!("{id}.{suffix}"))
    }

    /// The companions `ID.SUFFIX` in the store whose grant has no record (left by a
    /// provision stopped before it wrote one), with their paths.
    pub fn orphan_companions(&self, suffix: &str) -> Vec<(GrantId, PathBuf)> {
        let Ok(entries) = fs::read_dir(&self.grants) else {
            return Vec::new();
        };
        let tail = format!(".{suffix}");
        let mut found: Vec<(GrantId, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = GrantId::parse(name.strip_suffix(&tail)?).ok()?;
                (!self.path(&id).exists()).then(|| (id, entry.path()))
            })
            .collect();
        found.sort();
        found
    }

    /// Write a companion file of grant `id` atomically, mode 0600, like the record.
    pub fn save_companion(
        &self,
        id: &GrantId,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<(), RecordError> {
        self.write_atomic(&self.companion_path(id, suffix), bytes)
    }

    /// Read a companion file of grant `id`; `None` if there is none.
    pub fn load_companion(
        &self,
        id: &GrantId,
        suffix: &str,
    ) -> Result<Option<Vec<u8>>, RecordError> {
        let path = self.companion_path(id, suffix);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RecordError::Read { path, source }),
        }
    }

    /// Write `bytes` to `path` (in the grants directory) atomically: a temporary file in the
    /// same directory, mode 0600, fsync, rename over the old file, fsync the directory.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
        let write_err = |source| RecordError::Write {
            path: path.to_owned(),
            source,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .grants
            .join(format!(".{name}.tmp-{}", std::process::id()));
        let result = (|| {
            write_private(&tmp, bytes)?;
            fs::rename(&tmp, path)?;
            File::open(&self.grants)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(write_err)
    }

    pub fn load(&self, id: &GrantId) -> Result<GrantRecord, RecordError> {
        let path = self.path(id);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordError::NotFound {
                    id: id.to_string(),
                    dir: self.grants.clone(),
                });
            }
            Err(source) => return Err(RecordError::Read { path, source }),
        };
        parse(&path, &text)
    }

    /// Every record in the store, oldest first; unreadable ones as errors naming their file.
    pub fn list(&self) -> Result<Vec<Result<GrantRecord, RecordError>>, RecordError> {
        let entries = fs::read_dir(&self.grants).map_err(|source| RecordError::Read {
            path: self.grants.clone(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            // Records only: `ID.json`, not companion files such as `ID.baseline.json`.
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_stem()
                        .is_some_and(|n| GrantId::parse(&n.to_string_lossy()).is_ok())
            })
            .collect();
        paths.sort();
        Ok(paths
            .into_iter()
            .map(|path| match fs::read(&path) {
                Ok(text) => parse(&path, &text),
                Err(source) => Err(RecordError::Read { path, source }),
            })
            .collect())
    }
}

fn parse(path: &Path, text: &[u8]) -> Result<GrantRecord, RecordError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    if let Ok(v) = serde_json::from_slice::<VersionOnly>(text)
        && v.version != RECORD_VERSION
    {
        return Err(RecordError::Version {
            path: path.to_owned(),
            found: v.version,
        });
    }
    serde_json::from_slice(text).map_err(|source| RecordError::Corrupt {
        path: path.to_owned(),
        source,
    })
}

/// The current time in whole seconds: records and output need no nanoseconds.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The default state directory: `$XDG_STATE_HOME/handover`, else `~/.local/state/handover`.
pub fn default_state_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("handover"));
    }
    std::env::home_dir().map(|home| home.join(".local/state/handover"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_ids() {
        let id = GrantId::generate(OffsetDateTime::now_utc());
        assert!(GrantId::parse(id.as_str()).is_ok(), "{id}");
        for bad in [
            "",
            "20261123",
            "20261123-ABCDEF",
            "2026112-abcdefg",
            "../../etc/pa",
            "20261123_abcdef",
        ] {
            assert!(GrantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grant_id_display_honours_width() {
        let id = GrantId::parse("20261123-k3m9qz").expect("id");
        assert_eq!(format!("{id:<18}|"), "20261123-k3m9qz   |");
        assert_eq!(format!("{id:>18}|"), "   20261123-k3m9qz|");
        assert_eq!(format!("{id}|"), "20261123-k3m9qz|");
    }

    #[test]
    fn state_dir_is_private_and_writable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("state");
        let store = Store::open(&dir).expect("open");
        store.check_writable().expect("writable");
        for d in [dir.clone(), dir.join("grants")] {
            let mode = fs::metadata(&d).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        fs::set_permissions(dir.join("grants"), fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(matches!(
            Store::open(&dir),
            Err(RecordError::StateDirMode { .. })
        ));
    }

    #[test]
    fn corrupt_and_truncated_records_are_named_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path()).expect("open");
        let id = GrantId::parse("20261123-abcdef").expect("id");
        fs::write(store.path(&id), b"{\"version\": 1, \"id\": \"2026").expect("write");
        match store.load(&id) {
            Err(e @ RecordError::Corrupt { .. }) => {
                assert!(e.to_string().contains("20261123-abcdef.json"))
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        fs::write(store.path(&id), b"{\"version\": 9}").expect("write");
        assert!(matches!(
            store.load(&id),
            Err(RecordError::Version { found: 9, .. })
        ));
    }

    #[test]
    fn companion_files_are_private_and_not_listed_as_records() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path()).expect("open");
        let id = GrantId::parse("20261123-abcdef").expect("id");
        store
            .save_companion(&id, "baseline.json", b"{}")
            .expect("save");
        let path = store.companion_path(&id, "baseline.json");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            store.load_companion(&id, "baseline.json").expect("load"),
            Some(b"{}".to_vec())
        );
        assert_eq!(store.load_companion(&id, "other").expect("load"), None);
        assert!(store.list().expect("list").is_empty());
    }

    #[test]
    fn second_lock_is_busy() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path()).expect("open");
        let id = GrantId::parse("20261123-abcdef").expect("id");
        let first = store.lock(&id).expect("first lock");
        assert!(matches!(store.lock(&id), Err(RecordError::Busy { .. })));
        drop(first);
        assert!(store.lock(&id).is_ok());
    }
}
