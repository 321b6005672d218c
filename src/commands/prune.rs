//! `handover prune --older-than DURATION`: remove the backups of grants revoked long enough ago.

use super::open_store;
use crate::cli::PruneArgs;
use crate::engine;
use crate::error::{Error, ExitStatus};
use crate::output;
use std::path::PathBuf;

const EXPECTED: &str = "a whole number and one unit: s, m, h or d (for example 30d, 12h, 0s)";

pub fn run(args: &PruneArgs, state_dir: Option<PathBuf>) -> Result<ExitStatus, Error> {
    let older_than = crate::input::duration("--older-than", &args.older_than, EXPECTED)?;
    let store = open_store(state_dir)?;
    let report = engine::prune(&store, older_than, &args.older_than, args.dry_run)?;
    output::prune(&report, args.json).map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}
