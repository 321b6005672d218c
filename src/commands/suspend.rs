//! `handover suspend GRANT|BATCH` and `handover resume GRANT|BATCH`.

use super::open_store;
use crate::batch;
use crate::cli::SuspendArgs;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::ids::GrantOrBatch;
use crate::output::{self, Progress};
use crate::request::connect_options;
use std::path::PathBuf;

pub async fn run(
    args: SuspendArgs,
    resume: bool,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let options = connect_options(&args.connect, None, false)?;
    let store = open_store(state_dir)?;
    match GrantOrBatch::parse(&args.grant)? {
        GrantOrBatch::Grant(id) => {
            let report = engine::suspend(&store, &id, resume, &options, progress).await?;
            progress.clear();
            output::suspended(&report, resume, args.json).map_err(Error::Output)?;
            Ok(ExitStatus::verified(report.verified))
        }
        GrantOrBatch::Batch(id) => {
            let parallel = batch::parallel(args.parallel)?;
            let grants = batch::grants_of(&store, &id)?;
            let verb = if resume { "resuming" } else { "suspending" };
            batch::announce(progress, &id, verb, grants.len(), parallel);
            let outcomes =
                batch::suspend(&store, &grants, resume, &options, parallel, progress).await;
            progress.clear();
            let status = batch::combined_status(outcomes.iter().map(|o| o.status()));
            let done = if resume { "resumed" } else { "suspended" };
            batch::print_changed(&id, &outcomes, status, args.json, done).map_err(Error::Output)?;
            Ok(status)
        }
    }
}
