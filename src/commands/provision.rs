//! `handover provision`: one host, or a batch of hosts with one grant each.

use super::{open_store, sealing};
use crate::access::AccessRequest;
use crate::batch;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::Provision;
use std::io::IsTerminal;
use std::path::PathBuf;

/// A vendor's access request, shown to the customer in plain words; provisioned only when
/// confirmed (or `--yes`). Without a terminal to ask on, refused.
fn confirm(access: &AccessRequest, request: &Provision) -> Result<(), Error> {
    let preview = engine::preview(&request.request)?;
    if request.yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::NoTerminal {
            what: "confirmation of the access request".to_owned(),
            hint: "read it, then run again with --yes".to_owned(),
        });
    }
    let hosts: Vec<&str> = request
        .hosts
        .iter()
        .map(|(target, _)| target.as_str())
        .collect();
    let confirmed = crate::progress::suspend(|| {
        output::confirm_request(access, &request.request, &hosts, &preview)
    })
    .map_err(Error::Output)?;
    if confirmed {
        Ok(())
    } else {
        Err(Error::Declined {
            what: "the access request".to_owned(),
        })
    }
}

pub async fn run(
    request: Provision,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let sealing = sealing(request.seal_to.as_deref(), request.seal_out.as_deref())?;
    if let Some(access) = &request.access {
        confirm(access, &request)?;
    }
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
