//! Provision and teardown: the flow of DESIGN.md, with the record written ahead of every change
//! and a rollback when a step fails.
//!
//! A provision is two remote executions (facts + preflight + baseline, then apply + verify), a
//! teardown one (cut off, undo, verify, drift check), an audit one; everything runs over one SSH
//! connection.

use crate::actions::{Action, CheckSpec, Checks, Context, DbAdmin, ExpiryGuard, SshdMatch, Step};
use crate::audit::{self, AuditError, Baseline, Collected, Drift, Footprint};
use crate::error::Error;
use crate::ids::{BatchId, GrantId};
use crate::input::{AccountName, AllowFrom, ScopeDir, Target, Ttl, forbidden_scope};
use crate::playbook::{PlanInput, Playbook};
use crate::progress::Progress;
use crate::record::JumpRecord;
use crate::record::{
    ActionRecord, ActionStatus, GrantRecord, GrantState, HostRecord, RECORD_VERSION, Store,
};
use crate::secret::{Secret, generate_password};
use crate::shell::{OnStepFailure, Script};
use crate::ssh::config::Hop;
use crate::ssh::{self, AuthOptions, HostKeyPolicy, Jump, Output, Session, SshError};
use crate::text::sanitize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How to reach and become root on a host.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub auth: AuthOptions,
    /// `--become`: use sudo.
    pub become_root: bool,
    /// `HANDOVER_BECOME_PASSWORD`.
    pub become_password: Option<Secret>,
    pub known_hosts: PathBuf,
    pub accept_new_host_key: bool,
    pub connect_timeout: Duration,
    /// Jump hosts from the ssh config (`ProxyJump`), first jump first; their keys are checked
    /// against their own `UserKnownHostsFile` or `known_hosts` above.
    pub jumps: Vec<Hop>,
    /// The ssh config alias the target came from, kept in the record.
    pub alias: Option<String>,
}

/// A validated provision request.
#[derive(Clone)]
pub struct ProvisionRequest {
    pub target: Target,
    pub playbook: Playbook,
    pub account: AccountName,
    pub scope: Option<ScopeDir>,
    pub ttl: Ttl,
    /// `--param NAME=VALUE` for the playbook's declared parameters.
    pub params: Vec<(String, String)>,
    /// `--allow-from`: where the account may log in from; empty: anywhere.
    pub allow_from: Vec<AllowFrom>,
    /// Actions the command line adds after the playbook's (`--rotate`, `--db`, …).
    pub extra_actions: Vec<Action>,
    /// How database actions reach their server as an administrator (`--db-admin-user`,
    /// `--db-admin-password-env`); given to the playbook's database actions too.
    pub db_admin: DbAdmin,
    /// The administrator's password, read from `db_admin.password_env`.
    pub db_admin_password: Option<Secret>,
    pub connect: ConnectOptions,
    /// Take a baseline of the persistence surface before the first change (`--no-baseline`
    /// turns it off; teardown then skips the drift report).
    pub baseline: bool,
    /// The batch this grant belongs to (several hosts at once), kept in the record.
    pub batch: Option<BatchId>,
    /// The temporary account's password, when it must be the same on several hosts; `None`
    /// makes a fresh one.
    pub password: Option<Secret>,
}

/// The companion file of a grant record holding its baseline.
const BASELINE_FILE: &str = "baseline.json";

/// A grant that was provisioned, with the passwords to hand over (shown once).
pub struct Provisioned {
    pub record: GrantRecord,
    /// The fresh password of each action that wanted one, by action index.
    pub passwords: Vec<Option<Secret>>,
    pub remote_executions: usize,
}

/// One verification result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckResult {
    pub check: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

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
    /// What teardown could not do and the customer must do by hand (it does not make the
    /// grant partial: nothing of the grant is left on the host).
    pub warnings: Vec<String>,
    /// The drift report against the baseline (`None` for a rollback or an already revoked
    /// grant).
    pub drift: Option<Drift>,
    #[serde(skip)]
    pub remote_executions: usize,
}

impl TeardownReport {
    /// Everything the grant applied is verified absent and nothing on the persistence surface
    /// drifted: exit 0.
    pub fn success(&self) -> bool {
        self.verified && !self.drift.as_ref().is_some_and(Drift::found)
    }
}

/// What `handover audit` found.
#[derive(Debug, serde::Serialize)]
pub struct AuditReport {
    pub grant: String,
    pub state: GrantState,
    pub drift: Drift,
    #[serde(skip)]
    pub remote_executions: usize,
}

/// What the teardown script does after verifying: compare with a baseline, or only hand the
/// removed account's leftovers to root.
enum Tail<'a> {
    /// Nothing (the rollback of a failed provision).
    None,
    /// Hand the removed account's files to root (a grant without a usable baseline): on every
    /// local filesystem, or only where any account can write.
    Sweep { everywhere: bool },
    /// The drift check against `baseline`, handing the account's files to root in the same pass.
    Collect { baseline: &'a Baseline },
}

/// Whether a sweep without a baseline walks every local filesystem for the removed account's
/// files: for an account that had root's rights; a user-level one can only have written where
/// any account can.
fn sweeps_everywhere(record: &GrantRecord) -> bool {
    !matches!(record.level.as_str(), "user" | "app")
}

/// The line protocol printed by scripts (see [`crate::shell`]).
#[derive(Debug, Default)]
struct Parsed {
    facts: BTreeMap<String, String>,
    checks: BTreeMap<String, bool>,
    details: BTreeMap<String, Vec<String>>,
    notes: Vec<(String, String)>,
    done: Vec<usize>,
    failed: Option<usize>,
    begun: Vec<usize>,
}

impl Parsed {
    fn from_lines<'a>(lines: impl IntoIterator<Item = &'a String>) -> Parsed {
        let mut parsed = Parsed::default();
        for line in lines {
            parsed.absorb(line);
        }
        parsed
    }

    fn absorb(&mut self, line: &str) {
        let mut words = line.splitn(3, ' ');
        let (Some(kind), Some(a)) = (words.next(), words.next()) else {
            return;
        };
        let rest = words.next().unwrap_or("");
        match kind {
            "fact" => {
                self.facts.insert(a.to_owned(), sanitize(rest));
            }
            "check" => {
                self.checks.insert(rest.to_owned(), a == "ok");
            }
            "detail" => self
                .details
                .entry(a.to_owned())
                .or_default()
                .push(sanitize(rest)),
            "note" => self.notes.push((a.to_owned(), sanitize(rest))),
            "step" => {
                let index = rest.split(' ').next().and_then(|i| i.parse().ok());
                match (a, index) {
                    ("begin", Some(i)) => self.begun.push(i),
                    ("done", Some(i)) => self.done.push(i),
                    ("failed", Some(i)) => self.failed = Some(i),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Results for `specs`, in order; a check the host never answered counts as failed.
    fn results(&self, specs: &[CheckSpec]) -> Vec<CheckResult> {
        specs
            .iter()
            .map(|spec| CheckResult {
                check: spec.description.clone(),
                ok: self.checks.get(&spec.id).copied().unwrap_or(false),
                details: self.details.get(&spec.id).cloned().unwrap_or_default(),
            })
            .collect()
    }
}

/// What each action's preflight learned that its undo needs (facts named `keep.KEY`), by
/// action index, stored as `KEY` in the write-ahead record: an action interrupted before its
/// own step reported still knows what to put back.
fn kept_facts(lines: &[String]) -> BTreeMap<usize, BTreeMap<String, String>> {
    let mut kept: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = None;
    for line in lines {
        if let Some(index) = line.strip_prefix("preflight ") {
            current = index.parse().ok();
        } else if let (Some(index), Some(fact)) = (current, line.strip_prefix("fact keep.")) {
            let (key, value) = fact.split_once(' ').unwrap_or((fact, ""));
            kept.entry(index)
                .or_default()
                .insert(key.to_owned(), sanitize(value));
        }
    }
    kept
}

/// Run a script, asking for sudo's password on the terminal once if sudo wants one.
async fn run(
    session: &mut Session,
    script: &Script,
    interactive: bool,
    on_line: impl FnMut(&str),
) -> Result<Output, Error> {
    let mut on_line = on_line;
    match session.run(script, &mut on_line).await {
        Err(SshError::SudoPasswordRequired { .. })
            if interactive && session.needs_become_password() =>
        {
            let target = session.target();
            let prompt = format!("[sudo] password for {}@{}: ", target.login, target.host);
            let password = ssh_prompt(&prompt)?;
            session.set_become_password(password);
            Ok(session.run(script, &mut on_line).await?)
        }
        other => Ok(other?),
    }
}

fn ssh_prompt(text: &str) -> Result<Secret, Error> {
    crate::progress::suspend(|| rpassword::prompt_password(text))
        .map(Secret::new)
        .map_err(|e| Error::Ssh(SshError::Prompt(e)))
}

async fn connect(
    jumps: &[Jump],
    target: &Target,
    policy: HostKeyPolicy,
    options: &ConnectOptions,
    become_root: bool,
) -> Result<Session, Error> {
    Ok(Session::connect_via(
        jumps,
        target,
        policy,
        &options.auth,
        become_root,
        options.become_password.clone(),
        options.connect_timeout,
    )
    .await?)
}

/// The credentials for one hop: the command line's (`-i`, agent, passwords), with the hop's
/// own `IdentityFile`s from the ssh config.
fn hop_auth(auth: &AuthOptions, identities: &[PathBuf], identities_only: bool) -> AuthOptions {
    AuthOptions {
        identities: identities.to_vec(),
        identities_only,
        ..auth.clone()
    }
}

/// The first day (UTC) on which the host refuses the account: the day after the expiry, since
/// account expiry works in whole days (exact-time removal is a separate action).
fn expire_date(expires_at: OffsetDateTime) -> String {
    let day = expires_at.date().next_day().unwrap_or(expires_at.date());
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The playbook's actions; then, for a new account, its sshd restrictions (no tunnels, and
/// `--allow-from`); then what the command line adds (`--rotate`, …); then the expiry guard.
fn plan(request: &ProvisionRequest, input: &PlanInput) -> Result<Vec<Action>, Error> {
    let mut plan = request.playbook.plan(input)?;
    if request.playbook.creates_account() {
        plan.push(Action::SshdMatch(SshdMatch::new(
            input.account,
            &request.allow_from,
        )));
    }
    plan.extend(request.extra_actions.iter().cloned());
    let mut seen = Vec::new();
    for action in &mut plan {
        if let Action::DbUser(db) = action {
            // Playbooks name the database; how to reach the server comes from the command line.
            db.admin = request.db_admin.clone();
            if seen.contains(&db.engine) {
                return Err(Error::Playbook(crate::playbook::PlaybookError::Invalid {
                    name: request.playbook.name.clone(),
                    message: format!(
                        "more than one {} account for the grant (the playbook has one: leave out --db)",
                        db.engine.label()
                    ),
                }));
            }
            seen.push(db.engine);
        }
    }
    if plan.is_empty() {
        return Err(Error::Playbook(crate::playbook::PlaybookError::Invalid {
            name: request.playbook.name.clone(),
            message: "nothing to do: it has no actions and none were asked for (--rotate)"
                .to_owned(),
        }));
    }
    // Last, so it is undone first: the host removes everything itself at the TTL.
    plan.push(Action::ExpiryGuard(ExpiryGuard::new(
        input.grant,
        input.account,
    )));
    Ok(plan)
}

/// Fill in database names read from a CMS config at preflight (`fact db_name`), checked
/// against the strict pattern again here.
fn fill_database_names(
    plan: &mut [Action],
    facts: &BTreeMap<String, String>,
    host: &str,
) -> Result<(), Error> {
    for action in plan {
        if let Action::DbUser(db) = action
            && db.database.is_none()
        {
            match facts.get("db_name") {
                Some(name) if crate::actions::db_sql::valid_db_name(name) => {
                    db.database = Some(name.clone());
                    db.database_from = facts.get("db_name_from").cloned();
                }
                _ => {
                    return Err(Error::Preflight {
                        host: host.to_owned(),
                        failures: "  ✗ no valid database name was read from the CMS config; pass --db-name".to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The database administrator's password for teardown, from the environment variable the
/// grant was provisioned with (its name is in the record; the value never is).
fn db_admin_password(record: &GrantRecord) -> Result<Option<Secret>, Error> {
    let var = record.actions.iter().find_map(|a| match &a.action {
        Action::DbUser(db) => db.admin.password_env.clone(),
        Action::RotateDbUser(r) => r.admin.password_env.clone(),
        _ => None,
    });
    let Some(var) = var else { return Ok(None) };
    match std::env::var(&var) {
        Ok(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
        _ => Err(crate::input::InputError::new(
            "--db-admin-password-env",
            &var,
            format!("the grant reaches its database server with the password in ${var}: set it"),
        )
        .into()),
    }
}

pub async fn provision(
    store: &Store,
    request: ProvisionRequest,
    progress: &Progress,
) -> Result<Provisioned, Error> {
    store.check_writable()?;
    let now = crate::record::now();
    let ttl = time::Duration::try_from(request.ttl.duration()).unwrap_or(time::Duration::DAY);
    let expires_at = now + ttl;
    let expire_day = expire_date(expires_at);
    let id = GrantId::generate(now);
    let plan_input = PlanInput {
        grant: &id,
        account: &request.account,
        scope: request.scope.as_ref(),
        expire_date: &expire_day,
        params: &request.params,
    };
    let mut plan = plan(&request, &plan_input)?;
    let interactive = request.connect.auth.interactive;

    progress.say(format!("connecting to {}", request.target));
    let policy = HostKeyPolicy::KnownHosts {
        path: request.connect.known_hosts.clone(),
        accept_new: request.connect.accept_new_host_key,
    };
    let jumps: Vec<Jump> = request
        .connect
        .jumps
        .iter()
        .map(|hop| Jump {
            target: hop.target.clone(),
            policy: HostKeyPolicy::KnownHosts {
                path: hop
                    .known_hosts
                    .clone()
                    .unwrap_or_else(|| request.connect.known_hosts.clone()),
                accept_new: request.connect.accept_new_host_key,
            },
            auth: hop_auth(&request.connect.auth, &hop.identities, hop.identities_only),
        })
        .collect();
    let mut session = connect(
        &jumps,
        &request.target,
        policy,
        &request.connect,
        request.connect.become_root,
    )
    .await?;
    let host = request.target.host.clone();

    // Facts and preflight: nothing on the host changes.
    let no_facts = BTreeMap::new();
    let ctx = Context {
        grant: &id,
        account: &request.account,
        expires_at,
        facts: &no_facts,
        password: None,
        removal: None,
        db_admin_password: request.db_admin_password.as_ref(),
    };
    let mut script = Script::new();
    script.raw("hv_fact uid0 \"$(id -u)\"");
    script.raw("hv_fact os \"$( . /etc/os-release 2>/dev/null; printf '%s %s' \"${ID:-unknown}\" \"${VERSION_ID:-}\")\"");
    let mut checks = Checks::default();
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        script.cmd("printf 'preflight %s\\n' {}", &[&index.to_string()]);
        action.preflight(&ctx, &mut script, &mut checks);
    }
    // What the engine itself needs on the host: the lock that serializes handover runs.
    checks.for_action(plan.len());
    crate::actions::require_tools(&mut script, &mut checks, &[("flock", "util-linux")]);
    // The baseline, in the same remote execution: nothing has changed yet.
    let salt = crate::secret::random_lower_alnum(24);
    let mut tag = String::new();
    if request.baseline {
        tag = audit::collect(
            &mut script,
            &salt,
            request.scope.as_ref().map(ScopeDir::as_str),
            false,
        );
        progress.say(format!(
            "preflight: {} checks; baseline of the persistence surface",
            checks.specs().len()
        ));
    } else {
        progress.say(format!("preflight: {} checks", checks.specs().len()));
    }
    let started = Instant::now();
    let output = run(&mut session, &script, interactive, |_| {}).await?;
    let elapsed = started.elapsed();
    let parsed = Parsed::from_lines(&output.lines);
    let mut kept = kept_facts(&output.lines);
    if parsed.facts.get("uid0").map(String::as_str) != Some("0") {
        return Err(Error::NotRoot {
            login: request.target.login.clone(),
            host,
        });
    }
    // Each failed check with what the host said about it; a check two actions share (sshd
    // checked for both of them) is listed once.
    let mut failures: Vec<String> = Vec::new();
    for r in parsed.results(checks.specs()).into_iter().filter(|r| !r.ok) {
        let mut line = format!("  ✗ {}", r.check);
        for detail in &r.details {
            line.push_str(&format!("\n      {detail}"));
        }
        if !failures.contains(&line) {
            failures.push(line);
        }
    }
    if !failures.is_empty() || !output.success() {
        let mut failures = failures.join("\n");
        if !output.success() && !output.stderr.trim().is_empty() {
            failures.push_str(&crate::text::remote_stderr(&output.stderr));
        }
        return Err(Error::Preflight { host, failures });
    }
    let baseline = if request.baseline {
        let parse_started = Instant::now();
        let collected = Collected::from_lines(&output.lines, &tag);
        if !collected.complete {
            return Err(AuditError::Incomplete {
                host,
                stderr: crate::text::remote_stderr(&output.stderr),
            }
            .into());
        }
        tracing::info!(
            "baseline: {} items ({} in the CMS directory), collected in {} ms on the host; preflight and baseline took {} ms, parsing {} ms",
            collected.surface.len(),
            collected.surface.cms.len(),
            collected.remote_ms.unwrap_or(0),
            elapsed.as_millis(),
            parse_started.elapsed().as_millis()
        );
        if !collected.surface.kind(audit::kind::PRELOAD).is_empty() {
            progress.say(
                "warning: the dynamic loader preloads a library on this host (see /etc/ld.so.preload): tools on it may lie, and every drift report will say so",
            );
        }
        Some(Baseline {
            version: audit::BASELINE_VERSION,
            grant: id.clone(),
            taken_at: now,
            salt,
            surface: collected.surface,
        })
    } else {
        None
    };
    // Work on the resolved scope from here on, so a symlink cannot redirect it later.
    if let (Some(scope), Some(resolved)) = (&request.scope, parsed.facts.get("scope_resolved")) {
        if forbidden_scope(resolved) || !resolved.starts_with('/') {
            return Err(Error::ScopeForbidden {
                scope: scope.as_str().to_owned(),
                resolved: resolved.clone(),
            });
        }
        let resolved = ScopeDir::parse(resolved)?;
        plan = self::plan(
            &request,
            &PlanInput {
                scope: Some(&resolved),
                ..plan_input
            },
        )?;
    }
    fill_database_names(&mut plan, &parsed.facts, &host)?;
    let scope = plan.iter().find_map(|a| match a {
        Action::Acl(acl) => Some(acl.scope.clone()),
        _ => None,
    });

    // Write-ahead: the record exists, every action pending, before the first change.
    let _lock = store.lock(&id)?;
    let mut record = GrantRecord {
        version: RECORD_VERSION,
        id: id.clone(),
        state: GrantState::Provisioning,
        created_at: now,
        expires_at,
        host: HostRecord {
            host: request.target.host.clone(),
            port: request.target.port,
            login: request.target.login.clone(),
            become_root: request.connect.become_root,
            host_key: session.host_key().to_openssh().map_err(|e| {
                Error::Ssh(SshError::ConnectionLost {
                    host: format!("{host} ({e})"),
                })
            })?,
            host_key_fingerprint: ssh::fingerprint(session.host_key()),
            alias: request.connect.alias.clone(),
            identities: request.connect.auth.identities.clone(),
            identities_only: request.connect.auth.identities_only,
            jumps: jumps
                .iter()
                .zip(&request.connect.jumps)
                .zip(session.jump_keys())
                .map(|((jump, hop), key)| {
                    Ok(JumpRecord {
                        host: jump.target.host.clone(),
                        port: jump.target.port,
                        login: jump.target.login.clone(),
                        host_key: key.to_openssh().map_err(|e| {
                            Error::Ssh(SshError::ConnectionLost {
                                host: format!("{} ({e})", jump.target.host),
                            })
                        })?,
                        host_key_fingerprint: ssh::fingerprint(key),
                        identities: hop.identities.clone(),
                        identities_only: hop.identities_only,
                    })
                })
                .collect::<Result<_, Error>>()?,
        },
        playbook: request.playbook.name.clone(),
        level: request.playbook.level.as_str().to_owned(),
        account: request.account.clone(),
        scope,
        actions: plan
            .into_iter()
            .enumerate()
            .map(|(index, action)| ActionRecord {
                action,
                status: ActionStatus::Pending,
                facts: kept.remove(&index).unwrap_or_default(),
            })
            .collect(),
        events: Vec::new(),
        baseline: baseline.is_some(),
        batch: request.batch.clone(),
    };
    // The baseline is stored before the record that points to it, and both before any change.
    if let Some(baseline) = &baseline {
        store.save_companion(&id, BASELINE_FILE, &baseline.to_json())?;
    }
    record.event(if record.baseline {
        "provision started; baseline of the persistence surface stored"
    } else {
        "provision started (no baseline)"
    });
    store.save(&record)?;
    crate::failpoint::hit("after-record", 0);

    // Apply every action, then verify it is present; progress is journaled as it arrives.
    let passwords: Vec<Option<Secret>> = record
        .actions
        .iter()
        .map(|a| {
            a.action
                .wants_password()
                .then(|| match (&a.action, &request.password) {
                    (Action::Password(_), Some(shared)) => shared.clone(),
                    _ => generate_password(),
                })
        })
        .collect();
    let admin = request.db_admin_password.as_ref();
    let (script, checks) = apply_script(&record, &passwords, admin);
    progress.say(format!(
        "applying {} actions as grant {id}",
        record.actions.len()
    ));
    let mut save_error = None;
    let result = {
        let record = &mut record;
        let save_error = &mut save_error;
        let mut current = None;
        run(&mut session, &script, interactive, |line| {
            let mut parsed = Parsed::default();
            parsed.absorb(line);
            if let Some(&index) = parsed.begun.first() {
                current = Some(index);
            }
            // A fact belongs to the step that printed it.
            if let Some(action) = current.and_then(|i| record.actions.get_mut(i)) {
                action.facts.extend(parsed.facts);
            }
            if let Some(&index) = parsed.done.first()
                && let Some(action) = record.actions.get_mut(index)
            {
                action.status = ActionStatus::Applied;
                if let Err(e) = store.save(record) {
                    save_error.get_or_insert(e);
                }
                crate::failpoint::hit("after-step", index);
            }
        })
        .await
    };
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            // Lost connection: whatever was applied stays recorded for teardown.
            record.state = GrantState::Partial;
            record.event(format!("provision interrupted: {}", e.report()));
            store.save(&record)?;
            return Err(match e {
                Error::Ssh(SshError::ConnectionLost { .. } | SshError::Protocol { .. }) => {
                    Error::ProvisionInterrupted {
                        grant: id.to_string(),
                        host,
                    }
                }
                other => other,
            });
        }
    };
    if let Some(e) = save_error {
        return Err(e.into());
    }
    let parsed = Parsed::from_lines(&output.lines);
    let verified = parsed.results(checks.specs());
    let all_applied = record
        .actions
        .iter()
        .all(|a| a.status == ActionStatus::Applied);
    if output.success() && all_applied && verified.iter().all(|c| c.ok) {
        record.state = GrantState::Active;
        record.event("provisioned and verified");
        store.save(&record)?;
        let remote_executions = session.executions();
        session.close().await;
        return Ok(Provisioned {
            record,
            passwords,
            remote_executions,
        });
    }

    // A step failed: undo everything applied, in reverse, and verify.
    let step = match parsed.failed {
        Some(i) => record.actions.get(i).map_or_else(
            || format!("step {i}"),
            |a| format!("step {} ({})", i + 1, a.action.kind()),
        ),
        None => {
            let failed: Vec<&str> = verified
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.check.as_str())
                .collect();
            format!("verification ({})", failed.join("; "))
        }
    };
    record.event(format!("provision failed at {step}; rolling back"));
    store.save(&record)?;
    progress.say(format!("{step} failed; rolling back"));
    // No fresh passwords for a rollback: lent passwords get their originals back.
    let outcome = match remove(
        &mut session,
        &mut record,
        interactive,
        &[],
        admin,
        Tail::None,
    )
    .await
    {
        Ok((report, _)) if report.verified => {
            store.save(&record)?;
            "rolled back: everything applied was removed and verified absent".to_owned()
        }
        Ok((report, _)) => {
            store.save(&record)?;
            let left: Vec<String> = report
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("  ✗ {}", c.check))
                .collect();
            format!(
                "rollback incomplete; still present:\n{}\nrun `handover teardown {id}` to retry",
                left.join("\n")
            )
        }
        Err(e) => {
            record.state = GrantState::Partial;
            store.save(&record)?;
            format!(
                "rollback failed ({}); run `handover teardown {id}`",
                e.report()
            )
        }
    };
    session.close().await;
    Err(Error::ApplyFailed {
        grant: id.to_string(),
        host,
        step,
        stderr: crate::text::remote_stderr(&output.stderr),
        outcome,
    })
}

/// The playbook's actions for this grant, then the expiry guard. The guard comes last: its
/// removal script covers every action before it, and teardown (in reverse) cancels it first.
/// What `entry` sees of its grant when it builds script text.
fn context<'a>(
    record: &'a GrantRecord,
    entry: &'a ActionRecord,
    password: Option<&'a Secret>,
    db_admin_password: Option<&'a Secret>,
) -> Context<'a> {
    Context {
        grant: &record.id,
        account: &record.account,
        expires_at: record.expires_at,
        facts: &entry.facts,
        password,
        removal: None,
        db_admin_password,
    }
}

fn apply_script(
    record: &GrantRecord,
    passwords: &[Option<Secret>],
    admin: Option<&Secret>,
) -> (Script, Checks) {
    // What the expiry guard leaves on the host: built without the facts of the record (what
    // preflight kept holds original password hashes), so it finds what it removes on the host
    // itself (the account by its mark, lent passwords' originals in the host's own copy). No
    // fresh passwords: lent passwords get their originals back.
    // Nor the database administrator's password: the removal script stays on the host, and
    // must hold no secret (database accounts of a password-administered server are then left
    // for teardown).
    // Then, like teardown, it hands the removed account's leftover files to root, before
    // useradd can give its uid to the next account.
    let mut factless = record.clone();
    for entry in &mut factless.actions {
        entry.facts.clear();
    }
    let (removal, _, _) = teardown_script_of(
        &factless,
        &[],
        None,
        |action| !matches!(action, Action::ExpiryGuard(_)),
        &Tail::Sweep {
            everywhere: sweeps_everywhere(record),
        },
    );
    let mut script = Script::new();
    script.lock_host();
    for (index, entry) in record.actions.iter().enumerate() {
        let password = passwords.get(index).and_then(Option::as_ref);
        let ctx = Context {
            removal: Some(&removal),
            ..context(record, entry, password, admin)
        };
        script.step(index, OnStepFailure::Stop, |s| entry.action.apply(&ctx, s));
    }
    let mut checks = Checks::default();
    for (index, entry) in record.actions.iter().enumerate() {
        checks.for_action(index);
        entry.action.verify_present(
            &context(record, entry, None, admin),
            &mut script,
            &mut checks,
        );
    }
    (script, checks)
}

/// The teardown script: cut off entry and end sessions, undo every action not yet undone in
/// reverse, then verify every action absent.
fn teardown_script(
    record: &GrantRecord,
    passwords: &[Option<Secret>],
    admin: Option<&Secret>,
    tail: &Tail,
) -> (Script, Checks, String) {
    teardown_script_of(record, passwords, admin, |_| true, tail)
}

/// The teardown script of the actions `include` accepts (step and check ids stay those of
/// the whole record), then the `tail` (with the tag of its lines).
fn teardown_script_of(
    record: &GrantRecord,
    passwords: &[Option<Secret>],
    admin: Option<&Secret>,
    include: impl Fn(&Action) -> bool,
    tail: &Tail,
) -> (Script, Checks, String) {
    let entries = || {
        record
            .actions
            .iter()
            .enumerate()
            .filter(|(_, entry)| include(&entry.action))
    };
    let mut script = Script::new();
    script.lock_host();
    for (_, entry) in entries() {
        entry
            .action
            .prepare_teardown(&context(record, entry, None, admin), &mut script);
    }
    let cut_off_step = record.actions.len();
    script.step(cut_off_step, OnStepFailure::Continue, |s| {
        for (_, entry) in entries() {
            entry
                .action
                .cut_off(&context(record, entry, None, admin), s);
        }
    });
    for (index, entry) in entries().rev() {
        if entry.status != ActionStatus::Undone {
            let ctx = context(
                record,
                entry,
                passwords.get(index).and_then(Option::as_ref),
                admin,
            );
            script.step(index, OnStepFailure::Continue, |s| {
                entry.action.undo(&ctx, s)
            });
        }
    }
    let mut checks = Checks::default();
    for (index, entry) in entries() {
        checks.for_action(index);
        entry.action.verify_absent(
            &context(record, entry, None, admin),
            &mut script,
            &mut checks,
        );
    }
    let tag = match tail {
        Tail::None => String::new(),
        Tail::Sweep { everywhere } => audit::sweep(&mut script, *everywhere),
        Tail::Collect { baseline } => audit::collect(
            &mut script,
            &baseline.salt,
            baseline.surface.scope.as_deref(),
            true,
        ),
    };
    (script, checks, tag)
}

/// Run the teardown script on an open session and update the record from what it verified;
/// with a tail, also what the collector printed.
async fn remove(
    session: &mut Session,
    record: &mut GrantRecord,
    interactive: bool,
    passwords: &[Option<Secret>],
    admin: Option<&Secret>,
    tail: Tail<'_>,
) -> Result<(TeardownReport, Option<Collected>), Error> {
    let (script, checks, tag) = teardown_script(record, passwords, admin, &tail);
    let started = Instant::now();
    let output = run(session, &script, interactive, |_| {}).await?;
    tracing::info!("teardown script took {} ms", started.elapsed().as_millis());
    crate::failpoint::hit("teardown-after-exec", 0);
    let parsed = Parsed::from_lines(&output.lines);
    let mut results = Vec::new();
    for (index, entry) in record.actions.iter_mut().enumerate() {
        let prefix = format!("{index}.");
        let mine: Vec<CheckSpec> = checks
            .specs()
            .iter()
            .filter(|c| c.id.starts_with(&prefix))
            .cloned()
            .collect();
        let action_results = parsed.results(&mine);
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
    let reassigned: Vec<String> = parsed
        .notes
        .iter()
        .filter(|(k, _)| k == "reassigned")
        .map(|(_, v)| v.clone())
        .collect();
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
    let warnings: Vec<String> = parsed
        .notes
        .iter()
        .filter(|(kind, _)| kind == "warning")
        .map(|(_, text)| text.clone())
        .collect();
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
            warnings,
            drift: None,
            remote_executions: session.executions(),
        },
        collected,
    ))
}

/// The grant's baseline, if it has one.
fn load_baseline(store: &Store, record: &GrantRecord) -> Result<Baseline, Error> {
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
fn footprint(store: &Store, record: &GrantRecord) -> Footprint {
    let mut own = Footprint::of(record);
    if let Ok(records) = store.list() {
        for other in records.iter().flatten() {
            if other.id != record.id
                && other.host.host == record.host.host
                && other.host.port == record.host.port
            {
                own.add(other);
            }
        }
    }
    own
}

/// Compare what the collector printed with the baseline; record the outcome as an event.
fn drift_report(
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
    drift.baseline_taken_at = baseline
        .taken_at
        .format(&time::format_description::well_known::Rfc3339)
        .ok();
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

/// Connect to a grant's host with its pinned key.
async fn connect_pinned(
    store: &Store,
    record: &GrantRecord,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<Session, Error> {
    let pinned = ssh::parse_openssh_public_key(&record.host.host_key).ok_or_else(|| {
        crate::record::RecordError::Corrupt {
            path: store.dir().join(format!("{}.json", record.id)),
            source: serde::de::Error::custom("host_key is not an OpenSSH public key"),
        }
    })?;
    let target = Target {
        login: record.host.login.clone(),
        host: record.host.host.clone(),
        port: record.host.port,
    };
    let mut jumps = Vec::new();
    for jump in &record.host.jumps {
        let key = ssh::parse_openssh_public_key(&jump.host_key).ok_or_else(|| {
            crate::record::RecordError::Corrupt {
                path: store.dir().join(format!("{}.json", record.id)),
                source: serde::de::Error::custom("a jump host's key is not an OpenSSH public key"),
            }
        })?;
        jumps.push(Jump {
            target: Target {
                login: jump.login.clone(),
                host: jump.host.clone(),
                port: jump.port,
            },
            policy: HostKeyPolicy::Pinned(key),
            auth: hop_auth(&options.auth, &jump.identities, jump.identities_only),
        });
    }
    if jumps.is_empty() {
        progress.say(format!(
            "connecting to {target} (pinned key {})",
            record.host.host_key_fingerprint
        ));
    } else {
        let via: Vec<String> = jumps.iter().map(|j| j.target.to_string()).collect();
        progress.say(format!(
            "connecting to {target} through {} (pinned keys)",
            via.join(", ")
        ));
    }
    let become_root = options.become_root || record.host.become_root;
    let options = ConnectOptions {
        auth: hop_auth(
            &options.auth,
            &record.host.identities,
            record.host.identities_only,
        ),
        ..options.clone()
    };
    connect(
        &jumps,
        &target,
        HostKeyPolicy::Pinned(pinned),
        &options,
        become_root,
    )
    .await
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
        return Ok(TeardownReport {
            grant: id.to_string(),
            state: record.state,
            already_revoked: true,
            verified: true,
            checks: Vec::new(),
            reassigned: Vec::new(),
            new_passwords: Vec::new(),
            reassigned_to_root: Vec::new(),
            warnings: Vec::new(),
            drift: None,
            remote_executions: 0,
        });
    }
    // A baseline that cannot be read must not keep the access from being removed: teardown
    // goes on, and the drift report says why it could not be made.
    let baseline = record.baseline.then(|| load_baseline(store, &record));
    let db_admin = db_admin_password(&record)?;
    let mut session = connect_pinned(store, &record, options, progress).await?;
    let makes_account = record
        .actions
        .iter()
        .any(|a| matches!(a.action, Action::User(_)));
    progress.say(format!(
        "{}removing {} actions, verifying{}",
        if makes_account {
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
    // Lent accounts with `--after rotate` get a fresh password, shown once to the customer.
    let passwords: Vec<Option<Secret>> = record
        .actions
        .iter()
        .map(|a| {
            (a.action.rotates_at_teardown() && a.status != ActionStatus::Undone)
                .then(generate_password)
        })
        .collect();
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
    let result = remove(
        &mut session,
        &mut record,
        options.auth.interactive,
        &passwords,
        db_admin.as_ref(),
        tail,
    )
    .await;
    session.close().await;
    let (mut report, collected) = result?;
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
    report.new_passwords = record
        .actions
        .iter()
        .zip(passwords)
        .filter_map(|(a, p)| Some((a.action.lent()?, p?)))
        .collect();
    Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_facts_named_keep_belong_to_their_action() {
        let lines: Vec<String> = [
            "fact uid0 0",
            "preflight 0",
            "fact keep.hash x",
            "preflight 1",
            "fact scope_resolved /srv",
            "fact keep.hash $y$j9T$abc",
            "fact keep.lastchg 20000",
            "preflight 2",
        ]
        .map(str::to_owned)
        .to_vec();
        let kept = kept_facts(&lines);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[&0]["hash"], "x");
        assert_eq!(kept[&1]["hash"], "$y$j9T$abc");
        assert_eq!(kept[&1]["lastchg"], "20000");
        assert!(!kept[&1].contains_key("scope_resolved"));
    }

    #[test]
    fn protocol_lines() {
        let lines: Vec<String> = [
            "fact uid 1001",
            "check ok 0.present",
            "check fail 1.acl",
            "detail 1.acl /var/www/cms/x \u{1b}[31mred",
            "step begin 0",
            "step done 0",
            "step failed 1 2",
            "note reassigned /var/www/cms/new.php",
            "noise from an rc file",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = Parsed::from_lines(&lines);
        assert_eq!(p.facts.get("uid").map(String::as_str), Some("1001"));
        assert_eq!(p.checks.get("0.present"), Some(&true));
        assert_eq!(p.checks.get("1.acl"), Some(&false));
        assert_eq!(p.details["1.acl"], vec!["/var/www/cms/x red".to_owned()]);
        assert_eq!((p.done.clone(), p.failed), (vec![0], Some(1)));
        assert_eq!(p.notes.len(), 1);
        let specs = vec![CheckSpec {
            id: "9.never".into(),
            description: "never answered".into(),
        }];
        assert!(
            !p.results(&specs)[0].ok,
            "an unanswered check must count as failed"
        );
    }

    /// A linux-user grant as provision journals it, before anything ran on the host.
    fn pending_record(password: &Secret) -> (GrantRecord, Script, Checks) {
        let now = time::macros::datetime!(2026-11-23 14:00 UTC);
        let id = GrantId::parse("20261123-abcdef").expect("id");
        let account = AccountName::parse("--account", "support-abc123").expect("account");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let playbook = Playbook::load("linux-user").expect("playbook");
        let input = PlanInput {
            grant: &id,
            account: &account,
            scope: Some(&scope),
            expire_date: "2026-11-24",
            params: &[],
        };
        let mut plan = playbook.plan(&input).expect("plan");
        plan.push(Action::ExpiryGuard(ExpiryGuard::new(&id, &account)));
        let record = GrantRecord {
            version: RECORD_VERSION,
            id,
            state: GrantState::Provisioning,
            created_at: now,
            expires_at: now + time::Duration::hours(2),
            host: HostRecord {
                host: "10.0.0.1".into(),
                port: 22,
                login: "root".into(),
                become_root: false,
                host_key: String::new(),
                host_key_fingerprint: String::new(),
                alias: None,
                identities: Vec::new(),
                identities_only: false,
                jumps: Vec::new(),
            },
            playbook: playbook.name.clone(),
            level: "user".into(),
            account,
            scope: Some("/var/www/cms".into()),
            actions: plan
                .into_iter()
                .map(|action| ActionRecord {
                    action,
                    status: ActionStatus::Pending,
                    facts: BTreeMap::new(),
                })
                .collect(),
            events: Vec::new(),
            baseline: false,
            batch: None,
        };
        let passwords: Vec<Option<Secret>> = record
            .actions
            .iter()
            .map(|a| a.action.wants_password().then(|| password.clone()))
            .collect();
        let (script, checks) = apply_script(&record, &passwords, None);
        (record, script, checks)
    }

    fn sh_syntax_ok(text: &str) -> bool {
        std::process::Command::new("/bin/sh")
            .args(["-n", "-c", text])
            .status()
            .expect("run /bin/sh")
            .success()
    }

    #[test]
    fn the_expiry_guard_comes_last_and_leaves_no_secret_on_the_host() {
        let password = Secret::new("Pw4ssw0rdThatMustStayOut".into());
        let (record, apply, _) = pending_record(&password);
        let kinds: Vec<_> = record.actions.iter().map(|a| a.action.kind()).collect();
        assert_eq!(kinds, ["user", "password", "acl", "expiry-guard"]);

        // The password is only in chpasswd's here-document, once; the guard's script (a
        // quoted value in the apply script) holds the teardown of the three others only.
        assert_eq!(apply.text().matches(password.expose()).count(), 1);
        let (removal, checks, _) = teardown_script_of(
            &record,
            &[],
            None,
            |a| !matches!(a, Action::ExpiryGuard(_)),
            &Tail::None,
        );
        assert!(!removal.holds_secret());
        assert!(!removal.text().contains(password.expose()));
        assert!(!removal.text().contains("atrm"), "the guard removes itself");
        assert!(checks.specs().iter().all(|c| !c.id.starts_with("3.")));
        assert!(
            apply.text().contains("userdel"),
            "the removal script is in apply"
        );

        for text in [
            apply.text(),
            removal.text(),
            teardown_script(&record, &[], None, &Tail::None).0.text(),
        ] {
            assert!(sh_syntax_ok(text), "not valid sh:\n{text}");
        }
    }

    #[test]
    fn expiry_day_is_the_day_after() {
        let t = time::macros::datetime!(2026-11-23 23:30 UTC);
        assert_eq!(expire_date(t), "2026-11-24");
    }
}
