//! `handover audit`, and the drift report teardown makes the same way: the host's persistence
//! surface now against the grant's baseline, leaving out what grants on that host made.

use super::BASELINE_FILE;
use super::connect::{ConnectOptions, connect_pinned, run};
use crate::audit::{self, AuditError, Baseline, Collected, Drift, Footprint};
use crate::error::Error;
use crate::ids::GrantId;
use crate::progress::Progress;
use crate::record::{GrantRecord, GrantState, Store};
use crate::shell::Script;
use std::time::Instant;

/// What `handover audit` found.
#[derive(Debug, serde::Serialize)]
pub struct AuditReport {
    pub grant: String,
    pub state: GrantState,
    pub drift: Drift,
    #[serde(skip)]
    pub remote_executions: usize,
}

/// The grant's baseline, if it has one.
pub(super) fn load_baseline(store: &Store, record: &GrantRecord) -> Result<Baseline, Error> {
    let path = store.companion_path(&record.id, BASELINE_FILE);
    let missing = || AuditError::NoBaseline {
        grant: record.id.to_string(),
        path: path.clone(),
    };
    if !record.baseline {
        return Err(missing().into());
    }
    let bytes = store
        .load_companion(&record.id, BASELINE_FILE)?
        .ok_or_else(missing)?;
    Ok(Baseline::from_json(&path, &bytes)?)
}

/// What this grant and the other grants in the store on the same host created: a live grant's
/// things are left out of the comparison (the customer made those grants; they are not a
/// back-door), a revoked grant's only count as gone (see [`Footprint::add`]).
pub(super) fn footprint(store: &Store, record: &GrantRecord) -> Footprint {
    let mut own = Footprint::default();
    let mut add = |grant: &GrantRecord| {
        own.add(grant.footprint(), grant.state == GrantState::Revoked);
    };
    add(record);
    if let Ok(records) = store.list() {
        for other in records.iter().flatten() {
            if other.id != record.id
                && other.host.host == record.host.host
                && other.host.port == record.host.port
            {
                add(other);
            }
        }
    }
    own
}

/// Compare what the collector printed with the baseline; record the outcome as an event.
pub(super) fn drift_report(
    record: &mut GrantRecord,
    baseline: &Baseline,
    collected: Option<&Collected>,
    own: &Footprint,
    what: &str,
) -> Drift {
    let started = Instant::now();
    let mut drift = match collected {
        Some(c) if c.complete => {
            tracing::info!(
                "{what}: {} items, collected in {} ms on the host",
                c.surface.len(),
                c.remote_ms.unwrap_or(0)
            );
            audit::compare(&baseline.surface, &c.surface, own)
        }
        _ => Drift::failed("the collector's output on the host ended early"),
    };
    drift.baseline_taken_at = Some(crate::text::rfc3339(baseline.taken_at));
    tracing::info!("{what}: compared in {} ms", started.elapsed().as_millis());
    if drift.found() {
        let first: Vec<&str> = drift
            .persistence
            .iter()
            .take(5)
            .map(|i| i.text.as_str())
            .collect();
        record.event(format!(
            "{what}: {} on the persistence surface since the baseline: {}{}",
            if drift.persistence.len() == 1 {
                "1 change".to_owned()
            } else {
                format!("{} changes", drift.persistence.len())
            },
            first.join("; "),
            if drift.persistence.len() > first.len() {
                "; …"
            } else {
                ""
            }
        ));
    } else {
        record.event(format!(
            "{what}: {} on the persistence surface",
            audit::NO_DRIFT
        ));
    }
    drift
}

/// `handover audit`: compare the host with the grant's baseline now, changing nothing.
pub async fn audit(
    store: &Store,
    id: &GrantId,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<AuditReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    let baseline = load_baseline(store, &record)?;
    let mut session = connect_pinned(store, &record, options, progress).await?;
    progress.say("comparing the host with the baseline");
    let mut script = Script::new();
    let tag = audit::collect(
        &mut script,
        &baseline.salt,
        baseline.surface.scope.as_deref(),
        false,
    );
    let result = run(&mut session, &script, options.auth.interactive, |_| {}).await;
    let remote_executions = session.executions();
    session.close().await;
    let output = result?;
    let collected = Collected::from_lines(&output.lines, &tag);
    let own = footprint(store, &record);
    let drift = drift_report(&mut record, &baseline, Some(&collected), &own, "audit");
    store.save(&record)?;
    Ok(AuditReport {
        grant: id.to_string(),
        state: record.state,
        drift,
        remote_executions,
    })
}
