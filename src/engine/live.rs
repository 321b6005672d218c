//! A change to a live grant on its host (`extend`, `suspend`, `resume`): one remote execution
//! running one phase of every action in order, its checks read back, and what the host now
//! holds (an action's new facts) kept in the record. The caller decides what the outcome means
//! and saves the record.

use super::connect::{ConnectOptions, connect_pinned, run};
use crate::actions::{Action, Checks, Context};
use crate::error::Error;
use crate::progress::Progress;
use crate::record::{GrantRecord, Store};
use crate::secret::Secret;
use crate::shell::protocol::{CheckResult, Parsed};
use crate::shell::{OnStepFailure, Script};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a live change runs: its name (`extend`), the grant's expiry as the actions see it,
/// and the new passwords of the actions that get one, by index.
pub(super) struct Phase<'a> {
    pub what: &'a str,
    pub expires_at: OffsetDateTime,
    pub passwords: &'a BTreeMap<usize, Secret>,
}

/// Run `step` of every action of `record` on its host, as `phase` says; the checks, with one
/// more when the script did not run to its end. Whether all passed is the caller's to read.
pub(super) async fn run_phase(
    store: &Store,
    record: &mut GrantRecord,
    options: &ConnectOptions,
    progress: &Progress,
    phase: Phase<'_>,
    step: impl Fn(&Action, &Context, &mut Script, &mut Checks),
) -> Result<Vec<CheckResult>, Error> {
    let db_admin = super::teardown::db_admin_password(record)?;
    let mut session = connect_pinned(store, record, options, progress).await?;
    let mut script = Script::new();
    script.lock_host();
    let mut checks = Checks::default();
    for (index, entry) in record.actions.iter().enumerate() {
        checks.for_action(index);
        let ctx = Context {
            grant: &record.id,
            account: &record.account,
            expires_at: phase.expires_at,
            facts: &entry.facts,
            password: phase.passwords.get(&index),
            removal: None,
            db_admin_password: db_admin.as_ref(),
        };
        script.step(index, OnStepFailure::Stop, |s| {
            step(&entry.action, &ctx, s, &mut checks);
        });
    }
    let output = run(&mut session, &script, options.auth.interactive, |_| {}).await;
    session.close().await;
    let output = output?;
    let parsed = Parsed::from_lines(&output.lines, script.tag());
    let mut results: Vec<CheckResult> = (0..record.actions.len())
        .flat_map(|index| parsed.results(&checks.of_action(index)))
        .collect();
    if !output.success() {
        results.push(CheckResult {
            check: format!("the {} script ran to its end", phase.what),
            ok: false,
            details: output
                .stderr
                .lines()
                .take(20)
                .map(crate::text::sanitize)
                .collect(),
        });
    }
    // What the host now holds, whatever happened (the guard's new job, a new expiry day).
    for (index, facts) in &parsed.action_facts {
        if let Some(entry) = record.actions.get_mut(*index) {
            entry.facts.extend(facts.clone());
        }
    }
    Ok(results)
}

/// Who runs the change, for the record's history.
pub(super) fn who() -> String {
    std::env::var("USER").unwrap_or_else(|_| "?".to_owned())
}
