//! The site's backup, taken at provision before the first change on the host: the scope's files
//! as one tar stream (contents, owners, modes, ACLs, extended attributes, links, hard links)
//! over the grant's SSH connection, kept on this machine beside the record (the vendor, even
//! with root on the host, cannot alter it), compressed with zstd, with a manifest of every
//! entry. A stream cut short never passes for a backup: tar's exit status and its end-of-archive
//! blocks are required, every entry must parse, and the files get their names only when whole.

mod check;
pub mod database;
mod diff;
mod error;
mod listing;
pub mod on_host;
mod plan;
mod restore;

pub use check::{CheckReport, Mismatch, check};
pub use diff::{DiffReport, FileDiff, diff};
pub use listing::list as listing;
pub use plan::{Change, Keep, Plan, State, plan};
pub use restore::{RestoreError, Source, open, restore_files};

use crate::ids::GrantId;
use crate::progress::Progress;
use crate::shell::Script;
use crate::ssh::{Session, SshError};
use crate::text::remote_stderr;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The compressed archive of the scope, in the backup's directory.
pub const FILES: &str = "files.tar.zst";
/// The list of every entry of the archive, with its digest.
pub const MANIFEST: &str = "manifest.json";

/// What the record keeps of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRecord {
    /// The directory, beside the record: `STATE_DIR/grants/ID.backup`.
    pub dir: PathBuf,
    /// The scope as resolved on the host.
    pub scope: String,
    /// Entries in the archive (files, directories, links).
    pub entries: usize,
    /// The tar stream as it came, and its SHA-256.
    pub stream_bytes: u64,
    pub stream_sha256: String,
    /// The compressed archive's size.
    pub archive_bytes: u64,
    /// The site's database, dumped right after the files (`database.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<database::DbDump>,
    /// Why no database was dumped, when none was (for the output: how to name one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_skipped: Option<String>,
    /// Where the archive is kept on the host instead of `dir` (`--backup-on-host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_host: Option<String>,
    /// The SHA-256 of the archive on the host (`--backup-on-host`): restore and check refuse
    /// an archive that is not the one taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_sha256: Option<String>,
    /// Provision proved it restores (`--verify-backup`), before the first change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
}

/// One entry of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink`, or another tar type.
    pub kind: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The POSIX ACL beyond the mode, as `getfacl` writes it (names, not ids): access entries,
    /// then default entries prefixed `default:` (tar's `SCHILY.acl.*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
    /// Extended attributes (tar's `SCHILY.xattr.*`, without the ACLs'), values in hex.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub xattrs: std::collections::BTreeMap<String, String>,
}

/// The manifest file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub grant: GrantId,
    pub backup: BackupRecord,
    pub entries: Vec<Entry>,
    /// The entries carry their ACLs (manifests before ACLs were kept have none to compare).
    #[serde(default)]
    pub acls: bool,
}

/// Why a backup could not be taken: provision stops before any change.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the backup of {scope} on `{host}` failed: tar exited with {status}{stderr}; nothing was changed on the host (fix the cause, or provision with --no-backup)"
    )]
    Tar {
        scope: String,
        host: String,
        status: String,
        stderr: String,
    },
    #[error(
        "the backup of {scope} on `{host}` is incomplete ({why}); nothing was changed on the host"
    )]
    Incomplete {
        scope: String,
        host: String,
        why: String,
    },
    #[error(
        "writing the backup to {path} failed (free some space there, or set --state-dir elsewhere); nothing was changed on the host"
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the backup needs up to {} (the scope's size on the host) and {} has {} free: free some space there, set --state-dir elsewhere, or provision with --no-backup; nothing was changed on the host",
        indicatif::HumanBytes(*needed), path.display(), indicatif::HumanBytes(*free)
    )]
    NoSpace {
        path: PathBuf,
        needed: u64,
        free: u64,
    },
    #[error(
        "the backup of database `{database}` on `{host}` failed: {failure}; nothing was changed on the host (fix the cause, or provision with --backup-db none)"
    )]
    Dump {
        database: String,
        host: String,
        /// What failed, its exit status and the host's stderr.
        failure: String,
    },
    #[error(
        "the backup just taken does not restore as taken ({why}); nothing was changed on the host (provision again; if it persists, check this machine's disk)"
    )]
    Unverified { why: String },
    #[error(transparent)]
    Ssh(#[from] SshError),
}

/// The end of a tar archive: two blocks of zeros.
const END_BLOCKS: usize = 1024;

/// The backup's directory, new, beside the record: 0700, and refused when it exists already.
pub fn make_dir(dir: &Path) -> Result<(), BackupError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|source| BackupError::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Take the backup of `scope` (resolved on the host, about `estimate` bytes) for grant `id`
/// into `dir` (from [`make_dir`]); on any failure nothing of it is left.
pub async fn take(
    session: &Session,
    dir: &Path,
    id: &GrantId,
    scope: &str,
    estimate: Option<u64>,
    progress: &Progress,
) -> Result<BackupRecord, BackupError> {
    let result = take_into(session, dir, id, scope, estimate, progress).await;
    if result.is_err() {
        let _ = fs::remove_dir_all(dir);
    }
    result
}

/// Room the backup needs beyond the scope's size: the manifest, and slack for the
/// filesystem's own use.
const SPACE_MARGIN: u64 = 64 << 20;

/// The space free for an unprivileged writer on the filesystem of `dir`.
fn free_space(dir: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Refuse a backup of about `estimate` bytes (uncompressed: the worst case, for media that
/// does not compress) that the filesystem of `parent` has no room for.
fn check_space(parent: &Path, estimate: Option<u64>) -> Result<(), BackupError> {
    let (Some(needed), Ok(free)) = (estimate, free_space(parent)) else {
        return Ok(());
    };
    let needed = needed.saturating_add(SPACE_MARGIN);
    if free < needed {
        return Err(BackupError::NoSpace {
            path: parent.to_owned(),
            needed,
            free,
        });
    }
    Ok(())
}

async fn take_into(
    session: &Session,
    dir: &Path,
    id: &GrantId,
    scope: &str,
    estimate: Option<u64>,
    progress: &Progress,
) -> Result<BackupRecord, BackupError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Write { path, source }
    };
    if let Some(parent) = dir.parent() {
        check_space(parent, estimate)?;
    }
    let archive = dir.join(FILES);
    let part = dir.join(format!("{FILES}.part"));
    let file = BufWriter::new(private_file(&part).map_err(write_error(&part))?);
    let mut zstd = zstd::stream::write::Encoder::new(file, 3).map_err(write_error(&part))?;
    // The manifest is read from the stream as it passes, in a thread of its own, so the
    // archive is read once and never held whole (a bounded channel: the SSH window waits
    // for the slower of the two).
    let manifest = ManifestReader::start();
    let mut hash = Context::new(&SHA256);
    let (mut bytes, mut tail) = (0u64, Vec::with_capacity(2 * END_BLOCKS));
    let mut script = Script::new();
    // GNU tar writes the stream on stdout, nothing else does: its exit status is the script's.
    script.cmd(
        "cd -- {} && exec tar --create --file=- --numeric-owner --acls --xattrs --sparse --one-file-system .",
        &[scope],
    );
    let transfer = progress.transfer(&format!("backing up {scope}"), estimate);
    let host = session.target().host.clone();
    let (output, failed) = session
        .run_stream(&script, |data| {
            hash.update(data);
            bytes += data.len() as u64;
            transfer.add(data.len() as u64);
            tail.extend_from_slice(data);
            if tail.len() > 2 * END_BLOCKS {
                tail.drain(..tail.len() - END_BLOCKS);
            }
            manifest.send(data);
            zstd.write_all(data)
        })
        .await?;
    transfer.finish();
    if let Some(source) = failed {
        return Err(BackupError::Write { path: part, source });
    }
    zstd.finish()
        .and_then(|mut file| {
            file.flush()?;
            file.get_ref().sync_all()
        })
        .map_err(write_error(&part))?;
    let parsed = manifest.finish();
    // 0: done; 1: a file changed while it was read (the archive is whole, that file as read).
    match output.exit_status {
        Some(0 | 1) => {}
        status => {
            return Err(BackupError::Tar {
                scope: scope.to_owned(),
                host,
                status: status.map_or_else(|| "no status (killed)".to_owned(), |s| s.to_string()),
                stderr: remote_stderr(&output.stderr),
            });
        }
    }
    let incomplete = |why: String| BackupError::Incomplete {
        scope: scope.to_owned(),
        host: host.clone(),
        why,
    };
    let ended = tail.len() >= END_BLOCKS && tail[tail.len() - END_BLOCKS..].iter().all(|b| *b == 0);
    if bytes % 512 != 0 || !ended {
        return Err(incomplete(format!(
            "{bytes} bytes without tar's end-of-archive blocks"
        )));
    }
    let entries = parsed.map_err(|e| incomplete(e.to_string()))?;
    fs::rename(&part, &archive).map_err(write_error(&archive))?;
    let record = BackupRecord {
        dir: dir.to_owned(),
        scope: scope.to_owned(),
        entries: entries.len(),
        stream_bytes: bytes,
        stream_sha256: hex(hash.finish().as_ref()),
        archive_bytes: fs::metadata(&archive).map_err(write_error(&archive))?.len(),
        database: None,
        database_skipped: None,
        on_host: None,
        archive_sha256: None,
        verified: false,
    };
    write_manifest(&Manifest {
        grant: id.clone(),
        backup: record.clone(),
        entries,
        acls: true,
    })?;
    tracing::info!(bytes, entries = record.entries, "backup taken");
    Ok(record)
}

/// The manifest into its backup's directory, under a temporary name until whole.
fn write_manifest(manifest: &Manifest) -> Result<(), BackupError> {
    let dir = &manifest.backup.dir;
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Write { path, source }
    };
    let manifest_path = dir.join(MANIFEST);
    let part = dir.join(format!("{MANIFEST}.part"));
    // Buffered: serde_json writes token by token (a write per token would cost a second
    // for 20,000 entries).
    let mut file = BufWriter::new(private_file(&part).map_err(write_error(&part))?);
    serde_json::to_writer(&mut file, manifest)
        .map_err(std::io::Error::other)
        .and_then(|()| file.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all())
        .map_err(write_error(&part))?;
    fs::rename(&part, &manifest_path).map_err(write_error(&manifest_path))
}

/// The manifest, read from the stream as it passes: the entries with their digests in one
/// thread, their ACLs and extended attributes (from the raw pax headers) in another.
struct ManifestReader {
    senders: Vec<std::sync::mpsc::SyncSender<std::sync::Arc<Vec<u8>>>>,
    entries: std::thread::JoinHandle<std::io::Result<Vec<Entry>>>,
    extras: std::thread::JoinHandle<std::io::Result<Vec<Extras>>>,
}

impl ManifestReader {
    fn start() -> Self {
        let mut senders = Vec::new();
        let mut reader = || {
            let (sender, receiver) = std::sync::mpsc::sync_channel(64);
            senders.push(sender);
            ChunkReader {
                chunks: receiver,
                current: std::sync::Arc::new(Vec::new()),
                at: 0,
            }
        };
        let (a, b) = (reader(), reader());
        ManifestReader {
            entries: std::thread::spawn(move || manifest_entries(a)),
            extras: std::thread::spawn(move || pax_extras(b)),
            senders,
        }
    }

    /// More of the stream. A reader that stopped (a broken entry) says so at the end.
    fn send(&self, data: &[u8]) {
        let chunk = std::sync::Arc::new(data.to_vec());
        for sender in &self.senders {
            let _ = sender.send(chunk.clone());
        }
    }

    /// The stream ended: every entry, with its ACL and extended attributes.
    fn finish(self) -> std::io::Result<Vec<Entry>> {
        drop(self.senders);
        let panicked = || std::io::Error::other("the manifest reader panicked");
        let mut entries = self.entries.join().map_err(|_| panicked())??;
        let extras = self.extras.join().map_err(|_| panicked())??;
        if entries.len() != extras.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the archive's extended headers do not match its entries",
            ));
        }
        for (entry, (acl, xattrs)) in entries.iter_mut().zip(extras) {
            (entry.acl, entry.xattrs) = (acl, xattrs);
        }
        Ok(entries)
    }
}

/// The chunks of a channel as one stream.
struct ChunkReader {
    chunks: std::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
    current: std::sync::Arc<Vec<u8>>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => (self.current, self.at) = (chunk, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The bytes of the files in `dir` (a backup's directory), 0 when it is gone.
pub fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => dirs.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// A new file only its owner may read.
fn private_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Every entry of the tar archive `reader` gives, with the digest of each file's content; an error
/// when any entry cannot be read whole.
fn manifest_entries(reader: impl Read) -> std::io::Result<Vec<Entry>> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hardlink",
            other => {
                if other.is_pax_global_extensions() || other.is_pax_local_extensions() {
                    continue;
                }
                "other"
            }
        }
        .to_owned();
        let (mode, uid, gid, size) = (
            header.mode()?,
            header.uid()?,
            header.gid()?,
            header.entry_size()?,
        );
        let link = entry.link_name()?.map(|l| l.to_string_lossy().into_owned());
        let path = entry.path()?.to_string_lossy().into_owned();
        let sha256 = if kind == "file" {
            let mut hash = Context::new(&SHA256);
            let mut buf = vec![0u8; 64 * 1024];
            let mut read = 0u64;
            loop {
                let n = entry.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                read += n as u64;
                hash.update(&buf[..n]);
            }
            if read != size {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{path}: {read} of {size} bytes"),
                ));
            }
            Some(Digest::of(hash))
        } else {
            None
        };
        entries.push(Entry {
            path,
            kind,
            mode,
            uid,
            gid,
            size,
            sha256,
            link,
            acl: Vec::new(),
            xattrs: std::collections::BTreeMap::new(),
        });
    }
    Ok(entries)
}

/// Each entry's ACL (access, then default entries) and extended attributes, in archive order,
/// from its pax header. Read raw: an ACL's value holds newlines, which the tar crate's own pax
/// parser takes for record ends.
type Extras = (Vec<String>, std::collections::BTreeMap<String, String>);

fn pax_extras(reader: impl Read) -> std::io::Result<Vec<Extras>> {
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    let mut pending: Option<Vec<u8>> = None;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_pax_local_extensions() {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            pending = Some(data);
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_gnu_longname() || kind.is_gnu_longlink() {
            continue;
        }
        out.push(extras(pending.take().as_deref().unwrap_or_default()));
    }
    Ok(out)
}

/// A pax header's records (`LEN KEY=VALUE\n`, LEN counting the whole record): the ACLs and
/// extended attributes.
fn extras(mut data: &[u8]) -> Extras {
    let (mut acl, mut default, mut xattrs) =
        (Vec::new(), Vec::new(), std::collections::BTreeMap::new());
    while let Some(space) = data.iter().position(|b| *b == b' ') {
        let Some(len) = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|len| *len > space + 1 && *len <= data.len())
        else {
            break;
        };
        let record = &data[space + 1..len - 1];
        data = &data[len..];
        let Some(equals) = record.iter().position(|b| *b == b'=') else {
            continue;
        };
        let (key, value) = (
            String::from_utf8_lossy(&record[..equals]),
            &record[equals + 1..],
        );
        if key == "SCHILY.acl.access" {
            acl = acl_lines(value, "");
        } else if key == "SCHILY.acl.default" {
            default = acl_lines(value, "default:");
        } else if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
            // The ACLs come as SCHILY.acl.* already.
            if !name.starts_with("system.posix_acl_") {
                xattrs.insert(name.to_owned(), hex(value));
            }
        }
    }
    acl.extend(default);
    (acl, xattrs)
}

/// An ACL's text (`user::rwx` lines or `,`-separated; `#` comments) as entries with `prefix`.
pub(crate) fn acl_lines(text: &[u8], prefix: &str) -> Vec<String> {
    String::from_utf8_lossy(text)
        .split(['\n', ','])
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| format!("{prefix}{l}"))
        .collect()
}

use crate::text::hex;

/// A file's SHA-256, kept as its 32 bytes (a manifest, a listing and two plans of 20,000
/// files each hold one per file) and written as hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// 64 hex digits.
    pub fn parse(text: &[u8]) -> Option<Digest> {
        let text = std::str::from_utf8(text).ok()?;
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Digest(bytes))
    }

    pub(crate) fn of(hash: ring::digest::Context) -> Digest {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(hash.finish().as_ref());
        Digest(bytes)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::parse(text.as_bytes())
            .ok_or_else(|| serde::de::Error::custom("a SHA-256 is 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_and_write_as_64_hex_digits() {
        let text = "00ff7e".repeat(10) + "a1b2";
        let digest = Digest::parse(text.as_bytes()).expect("64 hex digits");
        assert_eq!(digest.to_string(), text);
        let json = serde_json::to_string(&digest).expect("serializes");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).ok(), Some(digest));
        for bad in [
            "",
            "00",
            &text[1..],
            &format!("{}g", &text[1..]),
            &format!("{text}0"),
        ] {
            assert!(Digest::parse(bad.as_bytes()).is_none(), "{bad}");
            assert!(serde_json::from_str::<Digest>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn pax_records_keep_acls_whose_values_hold_newlines() {
        let record = |kv: &str| {
            let mut len = kv.len() + 3;
            if format!("{len} {kv}\n").len() != len {
                len += 1;
            }
            format!("{len} {kv}\n")
        };
        let data = [
            record("SCHILY.acl.access=user::rwx\nuser:www-data:rwx\ngroup::r-x\nmask::rwx\nother::r-x\n"),
            record("SCHILY.acl.default=user::rwx\ngroup::r-x\nother::r-x\n"),
            record("SCHILY.xattr.user.note=kept"),
            record("SCHILY.xattr.system.posix_acl_access=x"),
        ]
        .concat();
        let (acl, xattrs) = extras(data.as_bytes());
        assert_eq!(acl.len(), 8, "{acl:?}");
        assert_eq!(acl[1], "user:www-data:rwx");
        assert_eq!(acl[5], "default:user::rwx");
        assert_eq!(xattrs.len(), 1);
        assert_eq!(xattrs["user.note"], "6b657074");
    }
}
