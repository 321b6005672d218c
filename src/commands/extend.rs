//! `handover extend GRANT --ttl DURATION | --until TIME`.

use super::open_store;
use crate::batch;
use crate::cli::ExtendArgs;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::ids::GrantOrBatch;
use crate::input::{InputError, Ttl};
use crate::output::{self, Progress};
use crate::request::connect_options;
use std::path::PathBuf;

pub async fn run(
    args: ExtendArgs,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let until = match (&args.ttl, &args.until) {
        (Some(ttl), _) => {
            let ttl = time::Duration::try_from(Ttl::parse(ttl)?.duration())
                .unwrap_or(time::Duration::DAY);
            crate::record::now() + ttl
        }
        (None, Some(until)) => {
            time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    InputError::new(
                        "--until",
                        until,
                        "a time in RFC 3339 form, like 2026-12-05T18:00:00Z",
                    )
                })?
        }
        (None, None) => {
            return Err(InputError::new("--ttl", "", "--ttl DURATION or --until TIME").into());
        }
    };
    let options = connect_options(&args.connect, None, false)?;
    let store = open_store(state_dir)?;
    match GrantOrBatch::parse(&args.grant)? {
        GrantOrBatch::Grant(id) => {
            let report = engine::extend(&store, &id, until, &options, progress).await?;
            progress.clear();
            output::extended(&report, args.json).map_err(Error::Output)?;
            Ok(ExitStatus::verified(report.verified))
        }
        GrantOrBatch::Batch(id) => {
            let parallel = batch::parallel(args.parallel)?;
            let grants = batch::grants_of(&store, &id)?;
            batch::announce(progress, &id, "extending", grants.len(), parallel);
            let outcomes =
                batch::extend(&store, &grants, until, &options, parallel, progress).await;
            progress.clear();
            let status = batch::combined_status(outcomes.iter().map(|o| o.status()));
            batch::print_changed(&id, &outcomes, status, args.json, "extended")
                .map_err(Error::Output)?;
            Ok(status)
        }
    }
}
