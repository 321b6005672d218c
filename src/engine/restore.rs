//! `handover restore`, `restore --check` and `diff`: the grant's backup against its host. Each
//! works before and after teardown (a revoked grant's host is reached the same way, with the
//! pinned keys) and holds the grant's lock. The files part comes first; the database part
//! plugs in after it (`// database:`).

use super::connect::{ConnectOptions, connect_pinned};
use crate::actions::Action;
use crate::backup::{self, CheckReport, DiffReport, Keep, Manifest, Plan, RestoreError, Source};
use crate::error::Error;
use crate::ids::GrantId;
use crate::progress::Progress;
use crate::record::{GrantRecord, GrantState, Store};
use serde::Serialize;
use std::path::PathBuf;

/// Which parts of the backup to restore (`--files`, `--db`; neither: all it has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreParts {
    pub files: bool,
    pub db: bool,
    /// Named on the command line: a part the backup lacks is then an error, not skipped.
    pub explicit: bool,
}

/// The files part of a restore.
#[derive(Debug, Serialize)]
pub struct FilesRestore {
    pub scope: String,
    /// What differed before the restore (what a dry run would change).
    pub plan: Plan,
    /// Whether the host was changed (not a dry run, and confirmed).
    pub restored: bool,
    /// After restoring: what still differs from the backup (empty when verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Plan>,
}

/// What `handover restore` did.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub grant: String,
    pub host: String,
    pub state: GrantState,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FilesRestore>,
    // database: the database part's report goes here (`pub database: Option<…>`).
}

impl RestoreReport {
    /// Whether everything restored was verified equal to the backup.
    pub fn verified(&self) -> bool {
        self.files
            .as_ref()
            .is_none_or(|f| f.remaining.as_ref().is_none_or(Plan::is_empty))
    }
}

/// What `restore --check` found.
#[derive(Debug, Serialize)]
pub struct RestoreCheck {
    pub grant: String,
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<CheckReport>,
    // database: the database part's check goes here.
}

impl RestoreCheck {
    pub fn ok(&self) -> bool {
        self.files.as_ref().is_none_or(CheckReport::ok)
    }
}

/// What `handover diff` found.
#[derive(Debug, Serialize)]
pub struct DiffDocument {
    pub grant: String,
    pub host: String,
    pub scope: String,
    pub files: DiffReport,
    // database: the database part's diff goes here.
}

/// What the user is asked before the host changes.
pub struct Confirm<'a> {
    pub grant: &'a GrantId,
    pub host: &'a str,
    pub scope: &'a str,
    pub plan: &'a Plan,
}

/// The grant's backup, or why it has none.
fn backup_of(record: &GrantRecord) -> Result<(Manifest, Source), Error> {
    let Some(backup) = &record.backup else {
        let why = if record.scope.is_none() {
            "it was provisioned without --scope, so nothing was backed up".to_owned()
        } else {
            "it was provisioned with --no-backup".to_owned()
        };
        return Err(RestoreError::NoBackup {
            grant: record.id.to_string(),
            why,
        }
        .into());
    };
    Ok(backup::open(&backup.dir)?)
}

/// The grant's own ACL entries on the scope while it is live: left alone by restore.
fn keep(record: &GrantRecord) -> Keep {
    if record.state == GrantState::Revoked {
        return Keep::default();
    }
    record
        .actions
        .iter()
        .find_map(|a| match &a.action {
            Action::Acl(acl) => Some(Keep {
                account: Some(acl.account.as_str().to_owned()),
                permissions: acl.permissions.clone(),
            }),
            _ => None,
        })
        .unwrap_or_default()
}

/// `handover restore` (not `--check`): the plan, the user's confirmation (`confirm` returns
/// whether to go on; never called on a dry run), the restore, and its verification.
pub async fn restore(
    store: &Store,
    id: &GrantId,
    parts: RestoreParts,
    dry_run: bool,
    options: &ConnectOptions,
    progress: &Progress,
    confirm: impl FnOnce(&Confirm<'_>) -> Result<bool, Error>,
) -> Result<RestoreReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    let files_backup = if parts.files {
        Some(backup_of(&record)?)
    } else {
        None
    };
    // database: when parts.db, find the database backup here (an error when parts.explicit
    // and there is none).
    let mut session = connect_pinned(store, &record, options, progress).await?;
    let host = session.target().host.clone();
    let keep = keep(&record);
    let mut report = RestoreReport {
        grant: id.to_string(),
        host: host.clone(),
        state: record.state,
        dry_run,
        files: None,
    };
    let result = async {
        if let Some((manifest, source)) = &files_backup {
            let scope = manifest.backup.scope.clone();
            progress.say(format!("listing {scope} on {host}"));
            let listing = backup::listing(&mut session, &scope).await?;
            let plan = backup::plan(manifest, &listing, &keep);
            let mut files = FilesRestore {
                scope: scope.clone(),
                plan,
                restored: false,
                remaining: None,
            };
            if !dry_run && !files.plan.is_empty() {
                let go = confirm(&Confirm {
                    grant: id,
                    host: &host,
                    scope: &scope,
                    plan: &files.plan,
                })?;
                if !go {
                    return Err(RestoreError::NotConfirmed.into());
                }
                backup::restore_files(&mut session, manifest, &files.plan, source, &keep, progress)
                    .await?;
                files.restored = true;
                progress.say(format!("verifying {scope} against the backup"));
                let listing = backup::listing(&mut session, &scope).await?;
                files.remaining = Some(backup::plan(manifest, &listing, &keep));
            } else if !dry_run {
                files.remaining = Some(Plan::default());
            }
            report.files = Some(files);
        }
        // database: restore the database here, after the files (the site's config is back).
        Ok::<(), Error>(())
    }
    .await;
    session.close().await;
    result?;
    if !dry_run {
        let what = match &report.files {
            Some(files) if files.restored && report.verified() => format!(
                "restore: {} entries of {} put back as the backup has them, verified",
                files.plan.len(),
                files.scope
            ),
            Some(files) if files.restored => format!(
                "restore: {} still differ from the backup after restoring",
                files.remaining.as_ref().map_or(0, Plan::len)
            ),
            _ => "restore: nothing differed from the backup".to_owned(),
        };
        record.event(what);
        store.save(&record)?;
    }
    Ok(report)
}

/// `handover restore --check`: touches nothing of the host.
pub fn restore_check(
    store: &Store,
    id: &GrantId,
    parts: RestoreParts,
    progress: &Progress,
) -> Result<RestoreCheck, Error> {
    let _lock = store.lock(id)?;
    let record = store.load(id)?;
    let dir = record
        .backup
        .as_ref()
        .map_or_else(|| store.companion_path(id, "backup"), |b| b.dir.clone());
    let mut check = RestoreCheck {
        grant: id.to_string(),
        dir: dir.clone(),
        files: None,
    };
    if parts.files {
        let (manifest, source) = backup_of(&record)?;
        match source {
            Source::Local(archive) => {
                check.files = Some(backup::check(&dir, &archive, &manifest, progress)?);
            }
            Source::OnHost(path) => {
                return Err(RestoreError::Incomplete {
                    dir,
                    why: format!(
                        "its archive is on the host ({path}); --check reads local archives only"
                    ),
                }
                .into());
            }
        }
    }
    // database: check the database dump here.
    Ok(check)
}

/// `handover diff`.
pub async fn diff(
    store: &Store,
    id: &GrantId,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<DiffDocument, Error> {
    let _lock = store.lock(id)?;
    let record = store.load(id)?;
    let (manifest, source) = backup_of(&record)?;
    let mut session = connect_pinned(store, &record, options, progress).await?;
    let host = session.target().host.clone();
    let scope = manifest.backup.scope.clone();
    let result = async {
        progress.say(format!("listing {scope} on {host}"));
        let listing = backup::listing(&mut session, &scope).await?;
        let plan = backup::plan(&manifest, &listing, &keep(&record));
        Ok::<_, Error>(backup::diff(&mut session, &manifest, &source, &plan, progress).await?)
    }
    .await;
    session.close().await;
    Ok(DiffDocument {
        grant: id.to_string(),
        host,
        scope,
        files: result?,
    })
}
