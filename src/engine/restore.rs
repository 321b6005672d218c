//! `handover restore`, `restore --check` and `diff`: the grant's backup against its host. Each
//! works before and after teardown (a revoked grant's host is reached the same way, with the
//! pinned keys) and holds the grant's lock. The files part comes first; the database part
//! plugs in after it (`// database:`).

use super::connect::{ConnectOptions, connect_pinned};
use crate::actions::Action;
use crate::backup::database::{DbDiff, DbDump, TablesDiff};
use crate::backup::{self, CheckReport, DiffReport, Keep, Manifest, Plan, RestoreError, Source};
use crate::error::Error;
use crate::ids::GrantId;
use crate::input::InputError;
use crate::progress::Progress;
use crate::record::{GrantRecord, GrantState, Store};
use crate::secret::Secret;
use crate::ssh::Session;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DbRestore>,
}

/// The database part of a restore.
#[derive(Debug, Serialize)]
pub struct DbRestore {
    pub database: String,
    /// How its tables differed before the restore (what a dry run would change).
    pub plan: TablesDiff,
    pub restored: bool,
    /// After restoring: how its tables still differ from the backup (empty when verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<TablesDiff>,
}

/// The database part of `restore --check`.
#[derive(Debug, Serialize)]
pub struct DbCheck {
    pub database: String,
    /// Tables of the backup compared.
    pub tables: usize,
    /// How the dump, loaded into a temporary database, differs from the recorded tables.
    pub differences: TablesDiff,
}

impl RestoreReport {
    /// Whether everything restored was verified equal to the backup.
    pub fn verified(&self) -> bool {
        self.files
            .as_ref()
            .is_none_or(|f| f.remaining.as_ref().is_none_or(Plan::is_empty))
            && self
                .database
                .as_ref()
                .is_none_or(|d| d.remaining.as_ref().is_none_or(TablesDiff::is_empty))
    }
}

/// What `restore --check` found.
#[derive(Debug, Serialize)]
pub struct RestoreCheck {
    pub grant: String,
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<CheckReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DbCheck>,
}

impl RestoreCheck {
    pub fn ok(&self) -> bool {
        self.files.as_ref().is_none_or(CheckReport::ok)
            && self
                .database
                .as_ref()
                .is_none_or(|d| d.differences.is_empty())
    }
}

/// What `handover diff` found.
#[derive(Debug, Serialize)]
pub struct DiffDocument {
    pub grant: String,
    pub host: String,
    pub scope: String,
    pub files: DiffReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DbDiff>,
}

/// What the user is asked before the host changes.
pub struct Confirm<'a> {
    pub grant: &'a GrantId,
    pub host: &'a str,
    pub scope: &'a str,
    /// The files' plan (empty when the files are not restored).
    pub plan: &'a Plan,
    /// The database and how its tables differ, when it is restored.
    pub database: Option<(&'a str, &'a TablesDiff)>,
}

/// The grant's database dump, when `parts.db` asks for it: an error when it was named
/// (`--db`) and the backup has none.
fn database_of(record: &GrantRecord, parts: RestoreParts) -> Result<Option<DbDump>, Error> {
    if !parts.db {
        return Ok(None);
    }
    let dump = record.backup.as_ref().and_then(|b| b.database.clone());
    if dump.is_none() && parts.explicit {
        let why = record
            .backup
            .as_ref()
            .and_then(|b| b.database_skipped.clone())
            .unwrap_or_else(|| "its backup has no database".to_owned());
        return Err(RestoreError::NoBackup {
            grant: record.id.to_string(),
            why,
        }
        .into());
    }
    Ok(dump)
}

/// The database administrator's password, from the variable provision read it from.
fn db_password(dump: &DbDump) -> Result<Option<Secret>, Error> {
    let Some(var) = &dump.admin.password_env else {
        return Ok(None);
    };
    Secret::from_env(var).map(Some).ok_or_else(|| {
        InputError::new(
            "--db-admin-password-env",
            var,
            format!("a variable that is set: export {var} with the database administrator's password, as at provision"),
        )
        .into()
    })
}

/// The backup's directory.
fn backup_dir(store: &Store, record: &GrantRecord) -> PathBuf {
    record.backup.as_ref().map_or_else(
        || store.companion_path(&record.id, "backup"),
        |b| b.dir.clone(),
    )
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
    let db_dump = database_of(&record, parts)?;
    let db_password = db_dump.as_ref().map(db_password).transpose()?.flatten();
    let dir = backup_dir(store, &record);
    let session = connect_pinned(store, &record, options, progress).await?;
    let host = session.target().host.clone();
    let keep = keep(&record);
    let mut report = RestoreReport {
        grant: id.to_string(),
        host: host.clone(),
        state: record.state,
        dry_run,
        files: None,
        database: None,
    };
    let result = async {
        let mut confirm = Some(confirm);
        if let Some((manifest, _)) = &files_backup {
            let scope = manifest.backup.scope.clone();
            progress.say(format!("listing {scope} on {host}"));
            let listing = backup::listing(&session, &scope).await?;
            let plan = backup::plan(manifest, &listing, &keep);
            let files = FilesRestore {
                scope: scope.clone(),
                plan,
                restored: false,
                remaining: None,
            };
            // The database's plan too, so the user confirms both at once.
            if let Some(dump) = &db_dump {
                progress.say(format!(
                    "comparing database `{}` with the backup",
                    dump.name
                ));
                let plan = backup::database::plan(&session, dump, db_password.as_ref()).await?;
                report.database = Some(DbRestore {
                    database: dump.name.clone(),
                    plan,
                    restored: false,
                    remaining: None,
                });
            }
            let db_plan = report
                .database
                .as_ref()
                .map(|d| (d.database.as_str(), &d.plan));
            let anything = !files.plan.is_empty() || db_plan.is_some_and(|(_, p)| !p.is_empty());
            if !dry_run && anything {
                let go = confirm.take().map_or(Ok(true), |c| {
                    c(&Confirm {
                        grant: id,
                        host: &host,
                        scope: &scope,
                        plan: &files.plan,
                        database: db_plan.filter(|(_, p)| !p.is_empty()),
                    })
                })?;
                if !go {
                    return Err(RestoreError::NotConfirmed.into());
                }
            }
            report.files = Some(files);
        }
        if let Some(dump) = &db_dump
            && report.database.is_none()
        {
            progress.say(format!(
                "comparing database `{}` with the backup",
                dump.name
            ));
            let plan = backup::database::plan(&session, dump, db_password.as_ref()).await?;
            if !dry_run && !plan.is_empty() {
                let go = confirm.take().map_or(Ok(true), |c| {
                    c(&Confirm {
                        grant: id,
                        host: &host,
                        scope: "",
                        plan: &Plan::default(),
                        database: Some((&dump.name, &plan)),
                    })
                })?;
                if !go {
                    return Err(RestoreError::NotConfirmed.into());
                }
            }
            report.database = Some(DbRestore {
                database: dump.name.clone(),
                plan,
                restored: false,
                remaining: None,
            });
        }
        if dry_run {
            return Ok(());
        }
        // The files and the database at once, each on its own channel: neither needs the
        // other, and a restore takes as long as the longer of the two.
        let files_plan = report
            .files
            .as_ref()
            .map(|f| &f.plan)
            .filter(|p| !p.is_empty());
        let db_differs = report.database.as_ref().is_some_and(|d| !d.plan.is_empty());
        let files_work = async {
            let (Some(plan), Some((manifest, source))) = (files_plan, &files_backup) else {
                return Ok::<_, Error>(None);
            };
            if matches!(source, Source::OnHost(_)) {
                backup::on_host::verify(&session, manifest).await?;
            }
            let remaining =
                backup::restore_files(&session, manifest, plan, source, &keep, progress).await?;
            Ok(Some(remaining))
        };
        let db_work = async {
            let (Some(dump), true) = (&db_dump, db_differs) else {
                return Ok::<_, Error>(None);
            };
            let password = db_password.as_ref();
            Ok(Some(
                backup::database::restore(&session, &dir, dump, password, progress).await?,
            ))
        };
        let (files_left, db_left) = futures::try_join!(files_work, db_work)?;
        if let Some(files) = report.files.as_mut() {
            files.restored = files_left.is_some();
            files.remaining = Some(files_left.unwrap_or_default());
        }
        if let Some(db) = report.database.as_mut() {
            db.restored = db_left.is_some();
            db.remaining = Some(db_left.unwrap_or_default());
        }
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
        if let Some(db) = report.database.as_ref().filter(|d| d.restored) {
            record.event(if db.remaining.as_ref().is_some_and(TablesDiff::is_empty) {
                format!(
                    "restore: database `{}` put back as the backup has it, verified",
                    db.database
                )
            } else {
                format!(
                    "restore: database `{}` still differs from the backup after restoring",
                    db.database
                )
            });
        }
        store.save(&record)?;
    }
    Ok(report)
}

/// `handover restore --check`: touches nothing of the host.
pub async fn restore_check(
    store: &Store,
    id: &GrantId,
    parts: RestoreParts,
    options: &ConnectOptions,
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
        database: None,
    };
    let files = if parts.files {
        Some(backup_of(&record)?)
    } else {
        None
    };
    if let Some((manifest, Source::Local(archive))) = &files {
        check.files = Some(backup::check(&dir, archive, manifest, progress)?);
    }
    // On the host: an archive kept there (unpacked beside it, compared, removed), and the
    // database (loaded into a temporary database on the same server, compared, dropped).
    let on_host = files
        .as_ref()
        .filter(|(_, source)| matches!(source, Source::OnHost(_)));
    let dump = database_of(&record, parts)?;
    if on_host.is_none() && dump.is_none() {
        return Ok(check);
    }
    let password = dump.as_ref().map(db_password).transpose()?.flatten();
    let session = connect_pinned(store, &record, options, progress).await?;
    let result = async {
        if let Some((manifest, _)) = on_host {
            check.files = Some(backup::on_host::check(&session, manifest, progress).await?);
        }
        if let Some(dump) = &dump {
            let differences =
                backup::database::check(&session, &dir, dump, password.as_ref(), progress).await?;
            check.database = Some(DbCheck {
                database: dump.name.clone(),
                tables: dump.tables.len(),
                differences,
            });
        }
        Ok::<_, Error>(())
    }
    .await;
    session.close().await;
    result?;
    Ok(check)
}

/// How the site differs from its backup, in counts: teardown's pointer to `handover diff`.
#[derive(Debug, Default, serde::Serialize)]
pub struct SiteChanges {
    pub files_added: usize,
    pub files_changed: usize,
    pub files_removed: usize,
    /// The database's tables, when the backup has the database.
    pub tables_added: Option<usize>,
    pub tables_changed: Option<usize>,
    pub tables_removed: Option<usize>,
}

impl SiteChanges {
    /// `3 files added, 1 changed, 0 removed; tables: 1 added, 2 changed, 0 removed`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "files: {} added, {} changed, {} removed",
            self.files_added, self.files_changed, self.files_removed
        );
        if let (Some(a), Some(c), Some(r)) =
            (self.tables_added, self.tables_changed, self.tables_removed)
        {
            text.push_str(&format!("; tables: {a} added, {c} changed, {r} removed"));
        }
        text
    }

    pub fn is_empty(&self) -> bool {
        self.files_added + self.files_changed + self.files_removed == 0
            && [self.tables_added, self.tables_changed, self.tables_removed]
                .iter()
                .all(|n| n.unwrap_or(0) == 0)
    }
}

/// Compare the site with the grant's backup on an open session (teardown's, after its
/// script): `None` when the grant has no backup, or its archive is on the host.
pub(super) async fn site_changes(
    session: &mut Session,
    record: &GrantRecord,
) -> Result<Option<SiteChanges>, Error> {
    let Some(backup) = &record.backup else {
        return Ok(None);
    };
    let (manifest, _) = backup::open(&backup.dir)?;
    let listing = backup::listing(session, &manifest.backup.scope).await?;
    let plan = backup::plan(&manifest, &listing, &keep(record));
    let mut changes = SiteChanges {
        files_added: plan.added.len(),
        files_changed: plan.changed.len(),
        files_removed: plan.removed.len(),
        ..SiteChanges::default()
    };
    if let Some(dump) = &backup.database {
        let password = db_password(dump)?;
        let tables = backup::database::plan(session, dump, password.as_ref()).await?;
        changes.tables_added = Some(tables.added.len());
        changes.tables_changed = Some(tables.changed.len());
        changes.tables_removed = Some(tables.removed.len());
    }
    Ok(Some(changes))
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
    let db_dump = database_of(
        &record,
        RestoreParts {
            files: true,
            db: true,
            explicit: false,
        },
    )?;
    let db_password = db_dump.as_ref().map(db_password).transpose()?.flatten();
    let dir = backup_dir(store, &record);
    let session = connect_pinned(store, &record, options, progress).await?;
    let host = session.target().host.clone();
    let scope = manifest.backup.scope.clone();
    let result = async {
        progress.say(format!("listing {scope} on {host}"));
        let listing = backup::listing(&session, &scope).await?;
        let plan = backup::plan(&manifest, &listing, &keep(&record));
        let files = backup::diff(&session, &manifest, &source, &plan, progress).await?;
        let database = match &db_dump {
            Some(dump) => {
                progress.say(format!(
                    "comparing database `{}` with the backup",
                    dump.name
                ));
                Some(backup::database::diff(&session, &dir, dump, db_password.as_ref()).await?)
            }
            None => None,
        };
        Ok::<_, Error>((files, database))
    }
    .await;
    session.close().await;
    let (files, database) = result?;
    Ok(DiffDocument {
        grant: id.to_string(),
        host,
        scope,
        files,
        database,
    })
}
