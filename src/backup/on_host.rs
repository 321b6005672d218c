//! `--backup-on-host`: the scope's archive kept on the host, in a root-only directory, for a
//! site too big to copy to this machine. What that trades away: the vendor, with root on the
//! host, can delete or replace the archive (the SHA-256 recorded here makes restore and check
//! refuse a replaced one, but cannot bring a deleted one back), and the host's disk must hold
//! it. The manifest (every entry with its digest) stays on this machine; it is the scope's
//! listing taken right after the archive, so a file the site wrote in between shows up in
//! `restore --check`.

use super::listing::{self, HostEntry};
use super::{BackupError, BackupRecord, CheckReport, Entry, Manifest, Mismatch, RestoreError};
use crate::ids::GrantId;
use crate::progress::Progress;
use crate::shell::Script;
use crate::ssh::{Output, Session};
use crate::text::remote_stderr;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Where archives live on the host: one directory per grant.
pub const HOST_DIR: &str = "/var/backups/handover";

const LIB: &str = include_str!("on_host.sh");

/// The grant's directory on the host.
pub fn host_dir(id: &GrantId) -> String {
    format!("{HOST_DIR}/{id}")
}

/// Take the scope's archive into the grant's directory on the host, and its manifest into
/// `dir` here (from [`super::make_dir`]); on failure nothing of either is left.
pub async fn take(
    session: &Session,
    dir: &Path,
    id: &GrantId,
    scope: &str,
    progress: &Progress,
) -> Result<BackupRecord, BackupError> {
    let result = take_into(session, dir, id, scope, progress).await;
    if result.is_err() {
        let _ = fs::remove_dir_all(dir);
        let mut script = Script::new();
        script.cmd(
            "rm -rf -- {} && rmdir -- {} 2>/dev/null; true",
            &[&host_dir(id), HOST_DIR],
        );
        let _ = session.run(&script, |_| {}).await;
    }
    result
}

async fn take_into(
    session: &Session,
    dir: &Path,
    id: &GrantId,
    scope: &str,
    progress: &Progress,
) -> Result<BackupRecord, BackupError> {
    let host = session.target().host.clone();
    let host_dir = host_dir(id);
    progress.say(format!("backing up {scope} into {host_dir} on the host"));
    let mut script = Script::new();
    script.raw(LIB);
    script.cmd("hv_take_on_host {} {}", &[scope, &host_dir]);
    let output = session.run(&script, |_| {}).await?;
    let field = |name: &str| -> Option<(u64, String)> {
        let line = output.lines.iter().find(|l| l.starts_with(name))?;
        let mut words = line.split_whitespace().skip(1);
        Some((words.next()?.parse().ok()?, words.next()?.to_owned()))
    };
    let (Some((stream_bytes, stream_sha256)), Some((archive_bytes, archive_sha256)), true) =
        (field("stream "), field("archive "), output.success())
    else {
        return Err(BackupError::Tar {
            scope: scope.to_owned(),
            host,
            status: exit(&output),
            stderr: remote_stderr(&output.stderr),
        });
    };
    progress.say(format!("listing {scope} for the backup's manifest"));
    let listing = listing::list(session, scope)
        .await
        .map_err(|e| BackupError::Incomplete {
            scope: scope.to_owned(),
            host: host.clone(),
            why: e.to_string(),
        })?;
    let entries: Vec<Entry> = listing.entries.into_iter().map(entry).collect();
    let record = BackupRecord {
        dir: dir.to_owned(),
        scope: scope.to_owned(),
        entries: entries.len(),
        stream_bytes,
        stream_sha256,
        archive_bytes,
        database: None,
        database_skipped: None,
        on_host: Some(format!("{host_dir}/{}", super::FILES)),
        archive_sha256: Some(archive_sha256),
        verified: false,
    };
    super::write_manifest(&Manifest {
        grant: id.clone(),
        backup: record.clone(),
        entries,
        acls: true,
    })?;
    Ok(record)
}

/// A listed entry in the manifest's terms.
fn entry(e: HostEntry) -> Entry {
    Entry {
        path: e.name_lossy(),
        kind: e.kind.to_owned(),
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        sha256: e.sha256,
        link: e.link,
        acl: e.acl,
        xattrs: BTreeMap::new(),
    }
}

fn exit(output: &Output) -> String {
    output
        .exit_status
        .map_or_else(|| "none".to_owned(), |s| s.to_string())
}

/// Script text that stops unless the archive on the host is the one taken.
fn require_archive(script: &mut Script, manifest: &Manifest) -> Result<String, RestoreError> {
    let (Some(archive), Some(sha)) = (&manifest.backup.on_host, &manifest.backup.archive_sha256)
    else {
        return Err(RestoreError::Incomplete {
            dir: manifest.backup.dir.clone(),
            why: "its manifest names no archive on the host".to_owned(),
        });
    };
    script.raw(LIB);
    script.cmd("hv_archive_is {} {}", &[sha, archive]);
    Ok(archive.clone())
}

/// A failed step on the host, as an error.
fn remote(session: &Session, step: String, output: &Output) -> RestoreError {
    RestoreError::Remote {
        host: session.target().host.clone(),
        step,
        status: exit(output),
        stderr: remote_stderr(&output.stderr),
    }
}

/// Before restoring from it: the archive on the host is the one taken.
pub async fn verify(session: &Session, manifest: &Manifest) -> Result<(), RestoreError> {
    let mut script = Script::new();
    let archive = require_archive(&mut script, manifest)?;
    let output = session.run(&script, |_| {}).await?;
    if !output.success() {
        return Err(remote(session, format!("checking {archive}"), &output));
    }
    Ok(())
}

/// `restore --check` of an archive on the host: unpacked there into a temporary directory
/// beside it (root's alone), listed, compared with the manifest, removed.
pub async fn check(
    session: &Session,
    manifest: &Manifest,
    progress: &Progress,
) -> Result<CheckReport, RestoreError> {
    let mut script = Script::new();
    let archive = require_archive(&mut script, manifest)?;
    let temp = temp_beside(&archive, "check");
    progress.say(format!("unpacking {archive} into {temp} on the host"));
    script.cmd("hv_unpack {} {}", &[&archive, &temp]);
    let unpacked = session.run(&script, |_| {}).await;
    let listed = match unpacked {
        Ok(output) if output.success() => listing::list(session, &temp).await.map(Some),
        Ok(output) => Err(remote(session, format!("unpacking {archive}"), &output)),
        Err(e) => Err(e.into()),
    };
    let mut cleanup = Script::new();
    cleanup.cmd("rm -rf -- {}", &[&temp]);
    let removed = session.run(&cleanup, |_| {}).await;
    let listing = listed?.unwrap_or_default();
    removed?;
    let plan = super::plan(manifest, &listing, &super::Keep::default());
    let mismatches: Vec<Mismatch> = plan
        .all()
        .map(|c| Mismatch {
            path: c.path.clone(),
            what: c.what.join(", "),
        })
        .collect();
    Ok(CheckReport {
        entries: manifest.entries.len(),
        matched: manifest.entries.len().saturating_sub(mismatches.len()),
        mismatches,
        // The archive's own SHA-256 was checked before it was unpacked.
        stream_sha256_ok: true,
        stream_bytes: manifest.backup.stream_bytes,
    })
}

/// A new temporary directory's path beside the archive on the host (root's alone, like it).
fn temp_beside(archive: &str, purpose: &str) -> String {
    format!(
        "{}/{purpose}-{}",
        archive.rsplit_once('/').map_or(HOST_DIR, |(d, _)| d),
        crate::secret::random_lower_alnum(12)
    )
}

/// The script that prints, as one tar stream, the entries at `paths` (manifest paths) of the
/// archive on the host, for `diff`: unpacked there into a temporary directory, removed after.
pub(super) fn contents_script(
    manifest: &Manifest,
    paths: &BTreeSet<String>,
) -> Result<Script, RestoreError> {
    let mut script = Script::new();
    let archive = require_archive(&mut script, manifest)?;
    let temp = temp_beside(&archive, "diff");
    script.raw("hv_list=$(mktemp) || exit 2");
    script.cmd("trap 'rm -rf -- \"$hv_list\" {}' EXIT", &[&temp]);
    for path in paths {
        let line = super::restore::printf_format(format!("./{path}\0").as_bytes());
        script.cmd("printf {} >>\"$hv_list\"", &[&line]);
    }
    script.cmd("hv_unpack {} {} \"$hv_list\" >&2", &[&archive, &temp]);
    script.cmd(
        "cd -- {} && tar --create --file=- --no-recursion --null --verbatim-files-from --files-from=\"$hv_list\"",
        &[&temp],
    );
    Ok(script)
}
