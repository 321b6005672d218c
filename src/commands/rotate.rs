//! `handover rotate GRANT [--only NAME]`.

use super::{open_store, sealing};
use crate::cli::RotateArgs;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::ids::GrantId;
use crate::output::{self, Progress};
use crate::request::connect_options;
use std::path::PathBuf;

pub async fn run(
    args: RotateArgs,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    // The key and the output file are checked before the host is touched.
    let sealing = sealing(args.seal_to.as_deref(), args.seal_out.as_deref())?;
    let options = connect_options(&args.connect, None, false)?;
    let store = open_store(state_dir)?;
    let id = GrantId::parse(&args.grant)?;
    let report = engine::rotate(&store, &id, args.only.as_deref(), &options, progress).await?;
    progress.clear();
    output::rotated(&report, args.json, sealing).map_err(Error::Output)?;
    Ok(ExitStatus::verified(report.verified))
}
