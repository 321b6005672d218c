//! `handover restore GRANT`: put the scope back as the grant's backup has it (after asking),
//! list what would change (`--dry-run`), or prove the backup restores (`--check`).

use super::open_store;
use crate::engine::{self, Confirm};
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::{Restore, RestoreMode};
use std::path::PathBuf;

pub async fn run(
    request: Restore,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    if request.mode == RestoreMode::Check {
        let check = engine::restore_check(
            &store,
            &request.grant,
            request.parts,
            &request.connect,
            progress,
        )
        .await?;
        progress.clear();
        output::restore_check(&check, request.json).map_err(Error::Output)?;
        return Ok(if check.ok() {
            ExitStatus::Success
        } else {
            ExitStatus::Failed
        });
    }
    let dry_run = request.mode == RestoreMode::DryRun;
    let yes = matches!(request.mode, RestoreMode::Apply { yes: true });
    let report = engine::restore(
        &store,
        &request.grant,
        request.parts,
        dry_run,
        &request.connect,
        progress,
        |confirm: &Confirm<'_>| {
            if yes {
                Ok(true)
            } else {
                output::confirm_restore(confirm).map_err(Error::Output)
            }
        },
    )
    .await?;
    progress.clear();
    output::restore(&report, request.json).map_err(Error::Output)?;
    Ok(ExitStatus::verified(report.verified()))
}
