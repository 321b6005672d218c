//! Teardown: end the window's sessions, undo every action in reverse, verify each absent, and
//! compare the host with the baseline. Also the rollback of a failed provision (no baseline).

use super::audit::{drift_report, footprint, load_baseline};
use super::connect::{ConnectOptions, connect_pinned, run};
use super::scripts::{Fresh, Tail, sweeps_everywhere, teardown_script};
use crate::actions::{Action, WindowProcess};
use crate::audit::{Collected, Drift};
use crate::error::Error;
use crate::ids::GrantId;
use crate::progress::Progress;
use crate::record::{ActionStatus, GrantRecord, GrantState, Store};
use crate::secret::Secret;
use crate::shell::protocol::{CheckResult, Parsed};
use crate::ssh::Session;
use crate::text::sanitize;
use std::time::Instant;

/// What a teardown found.
#[derive(Debug, serde::Serialize)]
pub struct TeardownReport {
    pub grant: String,
    pub state: GrantState,
    /// Already revoked before this run: nothing was done.
    pub already_revoked: bool,
    pub verified: bool,
    pub checks: Vec<CheckResult>,
    /// Files in the scope handed back to the scope's owner.
    pub reassigned: Vec<String>,
    /// New passwords set at teardown for lent accounts (`--after rotate`): (account, password).
    #[serde(skip)]
    pub new_passwords: Vec<(String, Secret)>,
    /// Files of the removed account elsewhere on the host's local filesystems, handed to root
    /// so that no later account with the same uid inherits them.
    pub reassigned_to_root: Vec<String>,
    /// Processes of the window's logins ended (whatever user they ran as).
    #[serde(rename = "processes_ended")]
    pub ended: Vec<WindowProcess>,
    /// Processes of the window's logins left running: system services restarted during the
    /// window, each with how to restart it cleanly.
    pub left_running: Vec<WindowProcess>,
    /// What teardown could not do and the customer must do by hand (it does not make the
    /// grant partial: nothing of the grant is left on the host).
    pub warnings: Vec<String>,
    /// How the site differs from its backup (`None` without a backup): `handover diff` shows
    /// the changes, `handover restore` takes them back.
    pub site: Option<super::restore::SiteChanges>,
    /// The drift report against the baseline (`None` for a rollback or an already revoked
    /// grant).
    pub drift: Option<Drift>,
    /// The window's sessions as recorded (`None` when the grant records none): each with the
    /// programs it ran and the files it transferred.
    pub sessions: Option<Vec<crate::recordings::Session>>,
    /// Who asked for the grant and why (`provision --request`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<crate::record::Requester>,
    #[serde(skip)]
    pub remote_executions: usize,
}

impl TeardownReport {
    /// Everything the grant applied is verified absent and nothing on the persistence surface
    /// drifted: exit 0.
    pub fn success(&self) -> bool {
        self.verified && !self.drift.as_ref().is_some_and(Drift::found)
    }

    /// The report of a grant revoked before: nothing to do.
    fn already_revoked(grant: &GrantId) -> TeardownReport {
        TeardownReport {
            grant: grant.to_string(),
            state: GrantState::Revoked,
            already_revoked: true,
            verified: true,
            checks: Vec::new(),
            reassigned: Vec::new(),
            new_passwords: Vec::new(),
            reassigned_to_root: Vec::new(),
            ended: Vec::new(),
            left_running: Vec::new(),
            warnings: Vec::new(),
            site: None,
            drift: None,
            sessions: None,
            requester: None,
            remote_executions: 0,
        }
    }
}

/// The database administrator's password for teardown, from the environment variable the
/// grant was provisioned with (its name is in the record; the value never is).
pub(super) fn db_admin_password(record: &GrantRecord) -> Result<Option<Secret>, Error> {
    let var = record.actions.iter().find_map(|a| match &a.action {
        Action::DbUser(db) => db.admin.password_env.clone(),
        Action::RotateDbUser(r) => r.admin.password_env.clone(),
        _ => None,
    });
    let Some(var) = var else { return Ok(None) };
    match Secret::from_env(&var) {
        Some(password) => Ok(Some(password)),
        None => Err(crate::input::InputError::new(
            "--db-admin-password-env",
            &var,
            format!("the grant reaches its database server with the password in ${var}: set it"),
        )
        .into()),
    }
}

pub async fn teardown(
    store: &Store,
    id: &GrantId,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<TeardownReport, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    if record.state == GrantState::Revoked {
        return Ok(TeardownReport::already_revoked(id));
    }
    // A baseline that cannot be read must not keep the access from being removed: teardown
    // goes on, and the drift report says why it could not be made.
    let baseline = record.baseline.then(|| load_baseline(store, &record));
    let db_admin = db_admin_password(&record)?;
    let mut session = connect_pinned(store, &record, options, progress).await?;
    progress.say(format!(
        "{}removing {} actions, verifying{}",
        if record.has_account() {
            format!("ending sessions of `{}`, ", record.account)
        } else {
            String::new()
        },
        record.actions.len(),
        if record.baseline {
            ", comparing with the baseline"
        } else {
            ""
        }
    ));
    record.event("teardown started");
    store.save(&record)?;
    // Without a baseline (`--no-baseline`), a user-level account's leftovers are looked for
    // only where any account can write; one that had root's rights, or a grant whose baseline
    // is lost, gets the walk of every local filesystem.
    let tail = match &baseline {
        Some(Ok(baseline)) => Tail::Collect { baseline },
        Some(Err(_)) => Tail::Sweep { everywhere: true },
        None => Tail::Sweep {
            everywhere: sweeps_everywhere(&record),
        },
    };
    // Lent accounts with `--after rotate` get a fresh password, shown once to the customer.
    let mut fresh = Fresh::Rotate(Vec::new());
    let mut result = remove(
        &mut session,
        &mut record,
        options.auth.interactive,
        &mut fresh,
        db_admin.as_ref(),
        tail,
    )
    .await;
    // The sessions have ended: their recordings are complete, and come here before they go.
    if let Ok((report, _)) = &mut result
        && super::recordings::records(&record)
    {
        let check = super::recordings::take_home(&session, store, &mut record).await;
        if !check.ok {
            report.verified = false;
            report.state = GrantState::Partial;
            record.state = GrantState::Partial;
            record.event(format!("teardown incomplete: {}", check.check));
        }
        report.checks.push(check);
    }
    // What changed in the site since its backup, in counts (`handover diff` has the detail).
    let site = match &result {
        Ok(_) => Some(super::restore::site_changes(&mut session, &record).await),
        Err(_) => None,
    };
    let executions = session.executions();
    session.close().await;
    let (mut report, collected) = result?;
    report.remote_executions = executions;
    if record.recordings.is_some() {
        let dir = super::recordings::local_dir(store, &record.id);
        match crate::recordings::load(&dir) {
            Ok(sessions) => report.sessions = Some(sessions),
            Err(e) => report.warnings.push(format!(
                "the recordings were copied to {} but could not be read: {e}",
                dir.display()
            )),
        }
    }
    match site {
        Some(Ok(Some(changes))) => {
            record.event(format!(
                "site compared with its backup: {}",
                changes.summary()
            ));
            report.site = Some(changes);
        }
        Some(Err(e)) => report.warnings.push(format!(
            "the site could not be compared with its backup: {}",
            crate::error::chain(&e)
        )),
        _ => {}
    }
    report.drift = Some(match &baseline {
        None => Drift::not_checked("the grant was provisioned with --no-baseline"),
        Some(Err(e)) => {
            let drift = Drift::failed(e.report());
            record.event(format!("drift check: not made: {}", e.report()));
            drift
        }
        Some(Ok(baseline)) => {
            let own = footprint(store, &record);
            drift_report(
                &mut record,
                baseline,
                collected.as_ref(),
                &own,
                "drift check",
            )
        }
    });
    store.save(&record)?;
    if let Fresh::Rotate(made) = fresh {
        report.new_passwords = made;
    }
    // Kept for `handover export`: the report as shown (no passwords: they are not serialized).
    if let Ok(json) = serde_json::to_vec_pretty(&report) {
        store.save_companion(&record.id, super::recordings::TEARDOWN_FILE, &json)?;
    }
    Ok(report)
}

/// Run the teardown script on an open session and update the record from what it verified;
/// with a tail, also what the collector printed.
pub(super) async fn remove(
    session: &mut Session,
    record: &mut GrantRecord,
    interactive: bool,
    fresh: &mut Fresh,
    admin: Option<&Secret>,
    tail: Tail<'_>,
) -> Result<(TeardownReport, Option<Collected>), Error> {
    let (script, checks, tag) = teardown_script(record, fresh, admin, &tail);
    let started = Instant::now();
    let output = run(session, &script, interactive, |_| {}).await?;
    tracing::info!("teardown script took {} ms", started.elapsed().as_millis());
    crate::failpoint::hit("teardown-after-exec", 0);
    let parsed = Parsed::from_lines(&output.lines, script.tag());
    let mut results = Vec::new();
    for (index, entry) in record.actions.iter_mut().enumerate() {
        let action_results = parsed.results(&checks.of_action(index));
        if action_results.iter().all(|r| r.ok) {
            entry.status = ActionStatus::Undone;
        }
        results.extend(action_results);
    }
    let mut verified = results.iter().all(|r| r.ok) && !results.is_empty();
    if !output.success() {
        verified = false;
        results.push(CheckResult {
            check: "the teardown script ran to its end".to_owned(),
            ok: false,
            details: output.stderr.lines().take(20).map(sanitize).collect(),
        });
    }
    if let Some(failed) = parsed.failed {
        tracing::debug!(
            "teardown step {failed} failed: {}",
            sanitize(output.stderr.trim())
        );
    }
    let reassigned = parsed.notes("reassigned");
    if verified {
        record.state = GrantState::Revoked;
        record.event("revoked: everything verified absent");
    } else {
        record.state = GrantState::Partial;
        let left: Vec<&str> = results
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.check.as_str())
            .collect();
        record.event(format!("teardown incomplete: {}", left.join("; ")));
    }
    for path in &reassigned {
        record.event(format!("reassigned to the scope's owner: {path}"));
    }
    let processes = |kind: &str| -> Vec<WindowProcess> {
        parsed
            .notes(kind)
            .iter()
            .filter_map(|n| WindowProcess::parse(n))
            .collect()
    };
    let (ended, left_running) = (processes("ended"), processes("left-running"));
    for p in &ended {
        record.event(format!("process of the window ended: {}", p.text()));
    }
    for p in &left_running {
        record.event(format!(
            "process of the window left running (a system service): {}",
            p.text()
        ));
    }
    let warnings = parsed.notes("warning");
    for warning in &warnings {
        record.event(format!("warning: {warning}"));
    }
    let collected = match tail {
        Tail::None => None,
        Tail::Sweep { .. } | Tail::Collect { .. } => {
            Some(Collected::from_lines(&output.lines, &tag))
        }
    };
    let reassigned_to_root = collected
        .as_ref()
        .map(|c| c.reassigned.clone())
        .unwrap_or_default();
    for path in &reassigned_to_root {
        record.event(format!(
            "file of the removed account reassigned to root: {path}"
        ));
    }
    Ok((
        TeardownReport {
            grant: record.id.to_string(),
            state: record.state,
            already_revoked: false,
            verified,
            checks: results,
            reassigned,
            new_passwords: Vec::new(),
            reassigned_to_root,
            ended,
            left_running,
            warnings,
            site: None,
            drift: None,
            sessions: None,
            requester: record.requester.clone(),
            remote_executions: session.executions(),
        },
        collected,
    ))
}
