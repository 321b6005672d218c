//! `handover audit GRANT`: compare the host with the grant's baseline now.

use super::open_store;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::Audit;
use std::path::PathBuf;

pub async fn run(
    request: Audit,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let report = engine::audit(&store, &request.grant, &request.connect, progress).await?;
    progress.clear();
    tracing::info!(
        executions = report.remote_executions,
        "remote executions for audit"
    );
    output::audit(&report, request.json).map_err(Error::Output)?;
    Ok(if report.drift.found() {
        ExitStatus::NotVerified
    } else {
        ExitStatus::Success
    })
}
