//! `handover extend`: a live grant's expiry moved, on the host (the account's expiry date, the
//! expiry guard's job) and in the record, verified from the host. The 30-day ceiling holds
//! from the grant's start.

use super::connect::ConnectOptions;
use super::live::{Phase, run_phase, who};
use crate::actions::{Action, Step};
use crate::error::Error;
use crate::ids::GrantId;
use crate::input::InputError;
use crate::progress::Progress;
use crate::record::{GrantState, Store};
use crate::shell::protocol::CheckResult;
use std::collections::BTreeMap;
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
        let why = if record.state == GrantState::Suspended {
            "this one is suspended: resume it first, then extend".to_owned()
        } else {
            format!(
                "this one is {}; only an active grant's expiry moves",
                record.state.as_str()
            )
        };
        return Err(InputError::new("GRANT", id.as_str(), format!("a live grant ({why})")).into());
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
    progress.say(format!(
        "moving the expiry from {} to {}",
        crate::text::rfc3339(previous),
        crate::text::rfc3339(until)
    ));
    let results = run_phase(
        store,
        &mut record,
        options,
        progress,
        Phase {
            what: "extend",
            expires_at: until,
            passwords: &BTreeMap::new(),
        },
        |action, ctx, s, checks| action.extend(ctx, s, checks),
    )
    .await?;
    let verified = results.iter().all(|r| r.ok);
    let who = who();
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
