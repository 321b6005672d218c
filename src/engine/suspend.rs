//! `handover suspend` / `handover resume`: every way in of a live grant shut (accounts locked,
//! their sessions and processes ended, the firewall closed) without removing anything, or opened
//! again; verified from the host either way. A suspended grant is `suspended` in the record;
//! teardown and the expiry guard work on it as on an active one.

use super::connect::ConnectOptions;
use super::live::{Phase, run_phase, who};
use crate::actions::Step;
use crate::error::Error;
use crate::ids::GrantId;
use crate::input::InputError;
use crate::progress::Progress;
use crate::record::{GrantState, Store};
use crate::shell::protocol::CheckResult;
use std::collections::BTreeMap;

/// What `suspend` or `resume` did.
#[derive(Debug, serde::Serialize)]
pub struct SuspendReport {
    pub grant: String,
    /// `suspended` or `active`: where the grant now stands in the record.
    pub state: &'static str,
    pub verified: bool,
    pub checks: Vec<CheckResult>,
}

/// Suspend the grant (`resume` false) or resume it. A suspend that could not be verified
/// leaves the grant `suspended` (some of it may be shut): run suspend again, or resume.
pub async fn suspend(
    store: &Store,
    id: &GrantId,
    resume: bool,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<SuspendReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    let verb = if resume { "resume" } else { "suspend" };
    // Suspending again is allowed: it shuts what an unverified suspend left open.
    let allowed = if resume {
        record.state == GrantState::Suspended
    } else {
        matches!(record.state, GrantState::Active | GrantState::Suspended)
    };
    if !allowed {
        let wanted = if resume {
            "a suspended grant"
        } else {
            "an active grant"
        };
        return Err(InputError::new(
            "GRANT",
            id.as_str(),
            format!("{wanted} (this one is {})", record.state.as_str()),
        )
        .into());
    }
    if !resume
        && let Some(why) = record
            .actions
            .iter()
            .find_map(|entry| entry.action.unsuspendable())
    {
        return Err(InputError::new(
            "GRANT",
            id.as_str(),
            format!("a grant that can be suspended: {why}"),
        )
        .into());
    }
    progress.say(if resume {
        "opening the grant's accounts and firewall rules again"
    } else {
        "locking the grant's accounts, ending their sessions, closing its firewall rules"
    });
    if !resume {
        // Written ahead: a suspend cut short has shut some of the grant.
        record.state = GrantState::Suspended;
        store.save(&record)?;
    }
    let expires_at = record.expires_at;
    let checks = run_phase(
        store,
        &mut record,
        options,
        progress,
        Phase {
            what: verb,
            expires_at,
            passwords: &BTreeMap::new(),
        },
        |action, ctx, s, checks| {
            if resume {
                action.resume(ctx, s, checks);
            } else {
                action.suspend(ctx, s, checks);
            }
        },
    )
    .await?;
    let verified = checks.iter().all(|c| c.ok);
    let who = who();
    match (resume, verified) {
        (false, true) => record.event(format!("suspended by {who}")),
        (false, false) => record.event(format!(
            "suspend by {who} not verified: some of the grant may still be open; run suspend again"
        )),
        (true, true) => {
            record.state = GrantState::Active;
            record.event(format!("resumed by {who}"));
        }
        (true, false) => record.event(format!(
            "resume by {who} not verified: some of the grant may still be shut; run resume again"
        )),
    }
    store.save(&record)?;
    Ok(SuspendReport {
        grant: record.id.to_string(),
        state: record.state.as_str(),
        verified,
        checks,
    })
}
