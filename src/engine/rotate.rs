//! `handover rotate`: new random passwords for a live grant's logins (the temporary account,
//! its database and WordPress accounts, lent accounts), or only the one named, so the old ones
//! are refused from then on and their sessions end; verified from the host. The new passwords
//! are handed over as at provision (printed once, or sealed), and never stored.

use super::connect::ConnectOptions;
use super::live::{Phase, run_phase, who};
use super::provision::Provisioned;
use crate::actions::{Credentials, Step};
use crate::error::Error;
use crate::ids::GrantId;
use crate::input::InputError;
use crate::progress::Progress;
use crate::record::{GrantState, Store};
use crate::secret::generate_password;
use crate::shell::protocol::CheckResult;
use std::collections::BTreeMap;

/// What `rotate` did: the new credentials (of the rotated logins only), and the checks.
pub struct RotateReport {
    pub provisioned: Provisioned,
    /// The names of the rotated logins (`account`, `db`, `wordpress`, a lent account's name).
    pub rotated: Vec<String>,
    pub verified: bool,
    pub checks: Vec<CheckResult>,
}

pub async fn rotate(
    store: &Store,
    id: &GrantId,
    only: Option<&str>,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<RotateReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    if record.state != GrantState::Active {
        let why = if record.state == GrantState::Suspended {
            "this one is suspended: resume it first (a new password would unlock it)".to_owned()
        } else {
            format!("this one is {}", record.state.as_str())
        };
        return Err(
            InputError::new("GRANT", id.as_str(), format!("an active grant ({why})")).into(),
        );
    }
    let names: Vec<(usize, String)> = record
        .actions
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| entry.action.rotation_name().map(|name| (index, name)))
        .collect();
    let chosen: Vec<(usize, String)> = match only {
        None => names.clone(),
        Some(only) => names
            .iter()
            .filter(|(_, name)| name == only)
            .cloned()
            .collect(),
    };
    if chosen.is_empty() {
        let known: Vec<&str> = names.iter().map(|(_, name)| name.as_str()).collect();
        let expected = if known.is_empty() {
            "a grant with a password to rotate (this one has none)".to_owned()
        } else {
            format!("one of the grant's logins: {}", known.join(", "))
        };
        return Err(InputError::new("--only", only.unwrap_or(""), expected).into());
    }
    let passwords: BTreeMap<usize, _> = chosen
        .iter()
        .map(|(index, _)| (*index, generate_password()))
        .collect();
    let rotated: Vec<String> = chosen.into_iter().map(|(_, name)| name).collect();
    progress.say(format!("new passwords for: {}", rotated.join(", ")));
    let expires_at = record.expires_at;
    let checks = run_phase(
        store,
        &mut record,
        options,
        progress,
        Phase {
            what: "rotate",
            expires_at,
            passwords: &passwords,
        },
        |action, ctx, s, checks| {
            if ctx.password.is_some() {
                action.rotate(ctx, s, checks);
            }
        },
    )
    .await?;
    let verified = checks.iter().all(|c| c.ok);
    let who = who();
    record.event(if verified {
        format!("new passwords by {who} for: {}", rotated.join(", "))
    } else {
        format!(
            "new passwords by {who} for {} not verified: some may have changed; run rotate again",
            rotated.join(", ")
        )
    });
    store.save(&record)?;
    // Handed over whatever happened: a password that did change must reach someone.
    let mut credentials = Credentials::default();
    for (index, password) in passwords {
        record.actions[index]
            .action
            .hand_over(password, &mut credentials);
    }
    Ok(RotateReport {
        provisioned: Provisioned {
            record,
            credentials,
            remote_executions: 1,
        },
        rotated,
        verified,
        checks,
    })
}
