//! `handover provision`: one host, or a batch of hosts with one grant each.

use super::{open_store, sealing};
use crate::batch;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::Provision;
use std::path::PathBuf;

pub async fn run(
    request: Provision,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let sealing = sealing(request.seal_to.as_deref(), request.seal_out.as_deref())?;
    if let Some(options) = &request.batch {
        let (id, outcomes) =
            batch::provision(&store, request.request, request.hosts, options, progress).await;
        progress.clear();
        return batch::print_provisioned(
            &store,
            &id,
            &outcomes,
            request.json,
            sealing,
            options.distinct,
        )
        .map_err(|source| Error::Handover {
            grant: id.to_string(),
            source,
        });
    }
    let provisioned = engine::provision(&store, request.request, progress).await?;
    progress.clear();
    tracing::info!(
        executions = provisioned.remote_executions,
        "remote executions for provision"
    );
    let grant = provisioned.record.id.to_string();
    output::provisioned(&provisioned, request.json, sealing)
        .map_err(|source| Error::Handover { grant, source })?;
    Ok(ExitStatus::Success)
}
