//! `handover prune --older-than DURATION`: the retention of backups. A backup goes when its
//! grant was revoked at least DURATION ago; a live grant's backup always stays (the window is
//! open: it is what the site goes back to). Backups whose provision stopped before it wrote a
//! record are removed as well: nothing can restore from them.

use crate::backup;
use crate::error::Error;
use crate::record::{GrantRecord, GrantState, RecordError, Store};
use serde::Serialize;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The companion directory of a grant record holding its backup (`ID.backup`).
pub const BACKUP_DIR: &str = "backup";

/// One backup prune looked at.
#[derive(Debug, Serialize)]
pub struct PrunedBackup {
    /// The grant id, `None` for a backup without a record.
    pub grant: String,
    pub dir: PathBuf,
    pub bytes: u64,
    /// Why it was removed or kept.
    pub why: String,
}

/// What prune removed (or, with `--dry-run`, would remove) and what it kept.
#[derive(Debug, Default, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub removed: Vec<PrunedBackup>,
    pub kept: Vec<PrunedBackup>,
    /// Bytes freed (or that would be).
    pub freed_bytes: u64,
}

/// Remove (unless `dry_run`) the backups of grants revoked at least `older_than` ago, and
/// those without a record as old; `older_than_text` is how the user wrote it.
pub fn prune(
    store: &Store,
    older_than: std::time::Duration,
    older_than_text: &str,
    dry_run: bool,
) -> Result<PruneReport, Error> {
    let now = crate::record::now();
    let cutoff = now - older_than;
    let mut report = PruneReport {
        dry_run,
        ..PruneReport::default()
    };
    for record in store.list()?.into_iter().flatten() {
        let Some(dir) = record.backup.as_ref().map(|b| b.dir.clone()) else {
            continue;
        };
        let entry = |why: String| PrunedBackup {
            grant: record.id.to_string(),
            bytes: backup::disk_bytes(&dir),
            dir: dir.clone(),
            why,
        };
        if record.state != GrantState::Revoked {
            report.kept.push(entry(format!(
                "the grant is {}: its backup stays while the window is open",
                record.state.as_str()
            )));
            continue;
        }
        let revoked_at = revoked_at(&record);
        let age = format!("revoked {}", crate::text::rfc3339(revoked_at));
        if revoked_at > cutoff {
            report
                .kept
                .push(entry(format!("{age}, less than {} ago", older_than_text)));
            continue;
        }
        let pruned = entry(
            match record.backup.as_ref().and_then(|b| b.on_host.as_deref()) {
                // This machine holds only the manifest; prune does not log in to the host.
                Some(archive) => format!(
                    "{age}; its archive on the host stays: remove {} there as root",
                    archive.rsplit_once('/').map_or(archive, |(d, _)| d)
                ),
                None => age,
            },
        );
        if !dry_run {
            remove(store, &record, &pruned)?;
        }
        report.freed_bytes += pruned.bytes;
        report.removed.push(pruned);
    }
    for (id, dir) in store.orphan_companions(BACKUP_DIR) {
        let modified = std::fs::metadata(&dir)
            .and_then(|m| m.modified())
            .map(|t| {
                // Whole seconds, as the records' times are.
                let t = OffsetDateTime::from(t);
                t.replace_nanosecond(0).unwrap_or(t)
            })
            .unwrap_or(now);
        if modified > cutoff {
            continue;
        }
        let pruned = PrunedBackup {
            grant: id.to_string(),
            bytes: backup::disk_bytes(&dir),
            why: "no grant record: left by a provision stopped before it wrote one".to_owned(),
            dir,
        };
        if !dry_run {
            std::fs::remove_dir_all(&pruned.dir).map_err(|source| RecordError::Write {
                path: pruned.dir.clone(),
                source,
            })?;
        }
        report.freed_bytes += pruned.bytes;
        report.removed.push(pruned);
    }
    Ok(report)
}

/// When the grant was revoked: its last `revoked` event (the record's creation if none).
fn revoked_at(record: &GrantRecord) -> OffsetDateTime {
    record
        .events
        .iter()
        .rev()
        .find(|e| e.what.starts_with("revoked"))
        .map_or(record.created_at, |e| e.at)
}

/// Remove a revoked grant's backup, under its lock, and say so in its record.
fn remove(store: &Store, record: &GrantRecord, pruned: &PrunedBackup) -> Result<(), Error> {
    let _lock = store.lock(&record.id)?;
    let mut record = store.load(&record.id)?;
    std::fs::remove_dir_all(&pruned.dir)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|source| RecordError::Write {
            path: pruned.dir.clone(),
            source,
        })?;
    record.backup = None;
    record.event(format!(
        "backup pruned: {} ({} bytes)",
        pruned.dir.display(),
        pruned.bytes
    ));
    store.save(&record)?;
    Ok(())
}
