//! `handover reap`: tear down every grant whose TTL has passed.

use super::open_store;
use crate::batch;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Progress};
use crate::request::Reap;
use std::path::PathBuf;

pub async fn run(
    request: Reap,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let found = batch::expired(&store, crate::record::now())?;
    for error in &found.unreadable {
        progress.say(format!("skipped: {error}"));
    }
    let mut extra = serde_json::Map::new();
    extra.insert(
        "live".into(),
        found
            .live
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
            .into(),
    );
    extra.insert("unreadable".into(), found.unreadable.clone().into());
    if request.dry_run || found.expired.is_empty() {
        let expired: Vec<String> = found.expired.iter().map(|r| r.id.to_string()).collect();
        if request.json {
            // A dry run lists what would be reaped; a real run with nothing to reap has the
            // same shape as one that reaped: an empty `grants`.
            if request.dry_run {
                extra.insert("expired".into(), expired.clone().into());
            } else {
                extra.insert("grants".into(), serde_json::Value::Array(Vec::new()));
            }
            extra.insert("ok".into(), true.into());
            extra.insert("exit_code".into(), 0.into());
            output::print_json(&serde_json::Value::Object(extra));
        } else if found.expired.is_empty() {
            println!("no expired grants ({} live)", found.live.len());
        } else {
            for r in &found.expired {
                println!(
                    "{} {} expired {} ({})",
                    r.id,
                    batch::host_label(r),
                    crate::text::rfc3339(r.expires_at),
                    r.state.as_str()
                );
            }
        }
        return Ok(ExitStatus::Success);
    }
    progress.say(format!(
        "reaping {} expired grants ({} live left alone)",
        found.expired.len(),
        found.live.len()
    ));
    let outcomes = batch::teardown(
        &store,
        &found.expired,
        &request.connect,
        request.parallel,
        progress,
    )
    .await;
    progress.clear();
    batch::print_teardowns("reap", &outcomes, request.json, extra).map_err(Error::Output)
}
