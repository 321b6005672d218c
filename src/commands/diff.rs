//! `handover diff GRANT`: what changed in the scope since the grant's backup.

use super::open_store;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::Diff;
use std::path::PathBuf;

pub async fn run(
    request: Diff,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let document = engine::diff(&store, &request.grant, &request.connect, progress).await?;
    progress.clear();
    output::diff(&document, request.json).map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}
