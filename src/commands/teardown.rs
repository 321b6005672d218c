//! `handover teardown GRANT|BATCH`.

use super::{open_store, sealing};
use crate::batch;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::ids::GrantOrBatch;
use crate::output::{self, Progress};
use crate::request::Teardown;
use std::path::PathBuf;

pub async fn run(
    request: Teardown,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    match request.target {
        GrantOrBatch::Batch(id) => {
            let store = open_store(state_dir)?;
            let grants = batch::grants_of(&store, &id)?;
            batch::announce(
                progress,
                &id,
                "tearing down",
                grants.len(),
                request.parallel,
            );
            let outcomes = batch::teardown(
                &store,
                &grants,
                &request.connect,
                request.parallel,
                progress,
            )
            .await;
            progress.clear();
            let mut extra = serde_json::Map::new();
            extra.insert("batch".into(), serde_json::json!(id.as_str()));
            batch::print_teardowns(&format!("batch {id}"), &outcomes, request.json, extra)
                .map_err(Error::Output)
        }
        GrantOrBatch::Grant(id) => {
            let sealing = sealing(request.seal_to.as_deref(), request.seal_out.as_deref())?;
            let store = open_store(state_dir)?;
            let report = engine::teardown(&store, &id, &request.connect, progress).await?;
            progress.clear();
            // The recordings' copy, sealed to the same key as any new password.
            if let Some(sealing) = &sealing {
                let mut record = store.load(&id)?;
                if record
                    .recordings
                    .as_ref()
                    .is_some_and(|c| c.sealed_to.is_none())
                {
                    engine::recordings::seal_copy(&store, &mut record, &sealing.key)?;
                }
            }
            tracing::info!(
                executions = report.remote_executions,
                "remote executions for teardown"
            );
            output::teardown(&report, request.json, sealing).map_err(|source| Error::Handover {
                grant: report.grant.clone(),
                source,
            })?;
            Ok(if report.success() {
                ExitStatus::Success
            } else {
                ExitStatus::NotVerified
            })
        }
    }
}
