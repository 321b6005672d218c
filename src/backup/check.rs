//! `restore --check`: proof that the backup restores, on this machine, touching nothing of the
//! host. The archive is unpacked into a private temporary directory (removed afterwards, also
//! on error) and every entry compared with the manifest: kind, size, SHA-256, link target,
//! mode; the tar stream's SHA-256 must be the manifest's.

use super::plan::key;
use super::restore::{RestoreError, tar_stream};
use super::{Manifest, hex};
use crate::progress::Progress;
use ring::digest::{Context, SHA256};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What the check found.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Entries in the manifest.
    pub entries: usize,
    /// Entries unpacked and equal to the manifest's.
    pub matched: usize,
    /// Every entry that differs, with what differs.
    pub mismatches: Vec<Mismatch>,
    /// The tar stream's SHA-256 is the manifest's.
    pub stream_sha256_ok: bool,
    pub stream_bytes: u64,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty() && self.stream_sha256_ok
    }
}

#[derive(Debug, Serialize)]
pub struct Mismatch {
    pub path: String,
    pub what: String,
}

/// A directory only this user can enter, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, RestoreError> {
        let path = std::env::temp_dir().join(format!(
            "handover-check-{}",
            crate::secret::random_lower_alnum(12)
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|source| RestoreError::Temp {
                path: path.clone(),
                source,
            })?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Unpacked directories may be read-only.
        let _ = make_writable(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn make_writable(dir: &Path) -> std::io::Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// A reader that hashes what goes through.
struct Hashing<R> {
    inner: R,
    hash: Context,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Check the local archive `archive` against `manifest`.
pub fn check(
    dir: &Path,
    archive: &Path,
    manifest: &Manifest,
    progress: &Progress,
) -> Result<CheckReport, RestoreError> {
    let temp = TempDir::new()?;
    // The scope unpacks into a directory of its own inside the private one.
    let root = temp.0.join("scope");
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&root)
        .map_err(|source| RestoreError::Temp {
            path: root.clone(),
            source,
        })?;
    progress.say(format!(
        "unpacking {} into {} to compare it with the manifest",
        archive.display(),
        temp.0.display()
    ));
    let incomplete = |why: String| RestoreError::Incomplete {
        dir: dir.to_owned(),
        why,
    };
    let transfer = progress.transfer("unpacking", Some(manifest.backup.stream_bytes));
    let reader = Hashing {
        inner: tar_stream(archive)?,
        hash: Context::new(&SHA256),
        bytes: 0,
    };
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.set_unpack_xattrs(false);
    tar.set_preserve_ownerships(false);
    let mut unpacked = Vec::new();
    let entries = tar
        .entries()
        .map_err(|e| incomplete(format!("its archive cannot be read: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            let after = unpacked
                .last()
                .map_or_else(String::new, |(name, _): &(String, _)| {
                    format!(" after `{name}`")
                });
            incomplete(format!("its archive is damaged{after}: {e}"))
        })?;
        let name = key(&String::from_utf8_lossy(&entry.path_bytes()));
        let unpacked_entry = if name == "." {
            // tar leaves the destination itself alone: the scope's own mode is set here.
            entry.header().mode().and_then(|mode| {
                fs::set_permissions(&root, fs::Permissions::from_mode(mode & 0o7777))
            })
        } else {
            entry.unpack_in(&root).map(|_| ())
        };
        unpacked_entry.map_err(|e| incomplete(format!("`{name}` cannot be unpacked: {e}")))?;
        unpacked.push((name, entry.header().entry_type()));
    }
    let mut reader = tar.into_inner();
    // The stream goes on past the end-of-archive blocks (tar pads to its record size).
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| incomplete(format!("its archive is damaged: {e}")))?;
    transfer.add(reader.bytes);
    transfer.finish();
    let stream_sha256 = hex(reader.hash.finish().as_ref());
    let stream_sha256_ok = stream_sha256 == manifest.backup.stream_sha256
        && reader.bytes == manifest.backup.stream_bytes;

    let expected = super::plan::backup_states(manifest);
    let mut mismatches = Vec::new();
    let in_archive: BTreeMap<&str, tar::EntryType> =
        unpacked.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    for path in in_archive.keys() {
        if !expected.contains_key(*path) {
            mismatches.push(Mismatch {
                path: (*path).to_owned(),
                what: "in the archive, not in the manifest".to_owned(),
            });
        }
    }
    let mut matched = 0;
    for (path, (state, _)) in &expected {
        if !in_archive.contains_key(path.as_str()) {
            mismatches.push(Mismatch {
                path: path.clone(),
                what: "in the manifest, not in the archive".to_owned(),
            });
            continue;
        }
        let on_disk = if path == "." {
            root.clone()
        } else {
            root.join(path)
        };
        match compare(&on_disk, state) {
            Ok(()) => matched += 1,
            Err(what) => mismatches.push(Mismatch {
                path: path.clone(),
                what,
            }),
        }
    }
    if !stream_sha256_ok {
        mismatches.push(Mismatch {
            path: ".".to_owned(),
            what: format!(
                "the archive's tar stream is {} bytes with SHA-256 {stream_sha256}, the manifest says {} bytes with {}",
                reader.bytes, manifest.backup.stream_bytes, manifest.backup.stream_sha256
            ),
        });
    }
    Ok(CheckReport {
        entries: manifest.entries.len(),
        matched,
        mismatches,
        stream_sha256_ok,
        stream_bytes: reader.bytes,
    })
}

/// The unpacked entry at `path` against the manifest's `state`.
fn compare(path: &Path, state: &super::plan::State) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("not unpacked: {e}"))?;
    let kind = if meta.is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "dir"
    } else if meta.is_file() {
        "file"
    } else {
        "other"
    };
    if kind != state.kind {
        return Err(format!("kind {kind}, the manifest says {}", state.kind));
    }
    let mut what = Vec::new();
    if kind != "symlink" && meta.mode() & 0o7777 != state.mode {
        what.push(format!(
            "mode {:o}, the manifest says {:o}",
            meta.mode() & 0o7777,
            state.mode
        ));
    }
    if kind == "file" {
        if meta.len() != state.size {
            what.push(format!(
                "size {}, the manifest says {}",
                meta.len(),
                state.size
            ));
        }
        let sha = sha256_file(path).map_err(|e| format!("unreadable: {e}"))?;
        if Some(sha) != state.sha256 {
            what.push(format!(
                "SHA-256 {sha}, the manifest says {}",
                state
                    .sha256
                    .map_or_else(|| "none".to_owned(), |d| d.to_string())
            ));
        }
    }
    if kind == "symlink" {
        let link = fs::read_link(path)
            .map(|l| l.to_string_lossy().into_owned())
            .map_err(|e| e.to_string())?;
        if Some(&link) != state.link.as_ref() {
            what.push(format!(
                "link to {link}, the manifest says {}",
                state.link.as_deref().unwrap_or("none")
            ));
        }
    }
    if what.is_empty() {
        Ok(())
    } else {
        Err(what.join("; "))
    }
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<super::Digest> {
    let mut file = fs::File::open(path)?;
    let mut hash = Context::new(&SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(super::Digest::of(hash))
}
