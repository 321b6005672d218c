//! `handover extend`: a live grant's expiry moved, on the host (the account's expiry date, the
//! expiry guard's job) and in the record, verified from the host. The 30-day ceiling holds
//! from the grant's start.

use super::connect::{ConnectOptions, connect_pinned, run};
use crate::actions::{Action, Checks, Context, Step};
use crate::error::Error;
use crate::ids::GrantId;
use crate::input::InputError;
use crate::progress::Progress;
use crate::record::{GrantState, Store};
use crate::shell::protocol::{CheckResult, Parsed};
use crate::shell::{OnStepFailure, Script};
use time::OffsetDateTime;

/// The longest a grant lasts, from its start.
const CEILING: time::Duration = time::Duration::days(30);

/// What `extend` did.
#[derive(Debug, serde::Serialize)]
pub struct ExtendReport {
    pub grant: String,
    #[serde(with = "time::serde::rfc3339")]
    pub previous_expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub verified: bool,
    pub checks: Vec<CheckResult>,
}

pub async fn extend(
    store: &Store,
    id: &GrantId,
    until: OffsetDateTime,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<ExtendReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    if record.state != GrantState::Active {
        return Err(InputError::new(
            "GRANT",
            id.as_str(),
            format!(
                "a live grant (this one is {}; only an active grant's expiry moves)",
                record.state.as_str()
            ),
        )
        .into());
    }
    let now = crate::record::now();
    let ceiling = record.created_at + CEILING;
    if until <= now {
        return Err(InputError::new(
            "--ttl/--until",
            &crate::text::rfc3339(until),
            "a time still to come",
        )
        .into());
    }
    if until > ceiling {
        return Err(InputError::new(
            "--ttl/--until",
            &crate::text::rfc3339(until),
            format!(
                "at most 30 days from the grant's start: {} at the latest",
                crate::text::rfc3339(ceiling)
            ),
        )
        .into());
    }
    let previous = record.expires_at;
    let db_admin = super::teardown::db_admin_password(&record)?;
    let mut session = connect_pinned(store, &record, options, progress).await?;
    progress.say(format!(
        "moving the expiry from {} to {}",
        crate::text::rfc3339(previous),
        crate::text::rfc3339(until)
    ));
    let mut script = Script::new();
    script.lock_host();
    let mut checks = Checks::default();
    for (index, entry) in record.actions.iter().enumerate() {
        checks.for_action(index);
        let ctx = Context {
            grant: &record.id,
            account: &record.account,
            expires_at: until,
            facts: &entry.facts,
            password: None,
            removal: None,
            db_admin_password: db_admin.as_ref(),
        };
        script.step(index, OnStepFailure::Stop, |s| {
            entry.action.extend(&ctx, s, &mut checks);
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
            check: "the extend script ran to its end".to_owned(),
            ok: false,
            details: output
                .stderr
                .lines()
                .take(20)
                .map(crate::text::sanitize)
                .collect(),
        });
    }
    let verified = results.iter().all(|r| r.ok);
    // What the host now holds, whatever happened: the guard's new job, the new expiry day.
    for (index, facts) in &parsed.action_facts {
        if let Some(entry) = record.actions.get_mut(*index) {
            entry.facts.extend(facts.clone());
        }
    }
    let who = std::env::var("USER").unwrap_or_else(|_| "?".to_owned());
    if verified {
        record.expires_at = until;
        for entry in &mut record.actions {
            if let Action::User(user) = &mut entry.action {
                user.expire_date = crate::actions::expire_date(until);
            }
        }
        record.event(format!(
            "extended by {who}: expires at {} (was {})",
            crate::text::rfc3339(until),
            crate::text::rfc3339(previous)
        ));
    } else {
        record.event(format!(
            "extend by {who} to {} not verified: the host may hold either expiry; run extend again",
            crate::text::rfc3339(until)
        ));
    }
    store.save(&record)?;
    Ok(ExtendReport {
        grant: record.id.to_string(),
        previous_expires_at: previous,
        expires_at: if verified { until } else { previous },
        verified,
        checks: results,
    })
}
