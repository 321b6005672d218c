//! Provision in four phases: preflight (facts, every action's checks and the baseline, one
//! remote execution, nothing changes), journal (the write-ahead record), apply (every action
//! as a step, journaled as it reports, then verified) and, when a step fails, rollback.

use super::BASELINE_FILE;
use super::connect::{ConnectOptions, Keys, connect, prove_login, run};
use super::scripts::{Fresh, Tail, apply_script};
use super::teardown::remove;
use crate::actions::{
    Action, Checks, Context, Credentials, DbAdmin, ExpiryGuard, RecordMode, Recording, SshdMatch,
    Step,
};
use crate::audit::{self, AuditError, Baseline, Collected};
use crate::backup::{self, BackupError, BackupRecord};
use crate::error::Error;
use crate::ids::{BatchId, GrantId};
use crate::input::{AccountName, AllowFrom, ScopeDir, Ttl, forbidden_scope};
use crate::playbook::{PlanInput, Playbook, PlaybookError};
use crate::progress::Progress;
use crate::record::{
    ActionRecord, ActionStatus, GrantRecord, GrantState, HostRecord, JumpRecord, RECORD_VERSION,
    Store,
};
use crate::secret::Secret;
use crate::shell::Script;
use crate::shell::protocol::{Event, Parsed, event};
use crate::ssh::config::Route;
use crate::ssh::{self, Output, Session, SshError};
use crate::text::remote_stderr;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use time::OffsetDateTime;

/// A validated provision request.
#[derive(Clone)]
pub struct ProvisionRequest {
    /// The host and the jump hosts before it.
    pub route: Route,
    pub playbook: Playbook,
    pub account: AccountName,
    pub scope: Option<ScopeDir>,
    pub ttl: Ttl,
    /// `--param NAME=VALUE` for the playbook's declared parameters.
    pub params: Vec<(String, String)>,
    /// `--allow-from`: where the account may log in from; empty: anywhere.
    pub allow_from: Vec<AllowFrom>,
    /// `--password-login`: the account alone may log in with its password where the host's
    /// SSH policy refuses it.
    pub password_login: bool,
    /// `--record`: whether every session of the account is recorded on the host.
    pub record: crate::actions::RecordMode,
    /// `--vendor-key` (or the `--seal-to` key): `TYPE BASE64` of the vendor's SSH public key.
    pub vendor_key: Option<String>,
    /// Actions the command line adds after the playbook's (`--rotate`, `--db`, …).
    pub extra_actions: Vec<Action>,
    /// What lent accounts get after the window (`--after`), for the playbook's lent
    /// WordPress users too.
    pub lend_after: crate::actions::After,
    /// How database actions reach their server as an administrator (`--db-admin-user`,
    /// `--db-admin-password-env`); given to the playbook's database actions too.
    pub db_admin: DbAdmin,
    /// The administrator's password, read from `db_admin.password_env`.
    pub db_admin_password: Option<Secret>,
    pub connect: ConnectOptions,
    /// Take a baseline of the persistence surface before the first change (`--no-baseline`
    /// turns it off; teardown then skips the drift report).
    pub baseline: bool,
    /// Back the scope up before the first change (not `--no-backup`).
    pub backup: bool,
    /// Prove the backup restores before the first change (`--verify-backup`).
    pub verify_backup: bool,
    /// Keep the scope's archive on the host (`--backup-on-host`).
    pub backup_on_host: bool,
    /// Which database the backup dumps with the scope's files (`--backup-db`).
    pub backup_db: backup::database::DbChoice,
    /// The batch this grant belongs to (several hosts at once), kept in the record.
    pub batch: Option<BatchId>,
    /// Who asked and why (`--request`), kept in the record.
    pub requester: Option<crate::record::Requester>,
    /// The temporary account's password, when it must be the same on several hosts; `None`
    /// makes a fresh one.
    pub password: Option<Secret>,
}

/// A grant that was provisioned, with the credentials to hand over (shown once).
pub struct Provisioned {
    pub record: GrantRecord,
    /// What each action that gives a login hands over, its secret with it.
    pub credentials: Credentials,
    pub remote_executions: usize,
}

/// The grant being made: its id and times, fixed before anything happens.
struct Grant {
    id: GrantId,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
    /// `YYYY-MM-DD`, the first day the host refuses the account.
    expire_day: String,
}

impl Grant {
    fn new(ttl: Ttl) -> Grant {
        let now = crate::record::now();
        let ttl = time::Duration::try_from(ttl.duration()).unwrap_or(time::Duration::DAY);
        let expires_at = now + ttl;
        Grant {
            id: GrantId::generate(now),
            now,
            expires_at,
            expire_day: crate::actions::expire_date(expires_at),
        }
    }

    fn plan_input<'a>(
        &'a self,
        request: &'a ProvisionRequest,
        scope: Option<&'a ScopeDir>,
    ) -> PlanInput<'a> {
        PlanInput {
            grant: &self.id,
            account: &request.account,
            scope,
            expire_date: &self.expire_day,
            params: &request.params,
        }
    }
}

/// What preflight established: the plan for the resolved scope, the facts each action keeps
/// for its undo, and the baseline.
struct Checked {
    plan: Vec<Action>,
    /// The scope as resolved on the host.
    scope: Option<String>,
    /// The scope's size in bytes, as `du` gave it.
    backup_bytes: Option<u64>,
    kept: BTreeMap<usize, BTreeMap<String, String>>,
    baseline: Option<Baseline>,
    /// The database the backup dumps, or why none (for the output).
    backup_db: Result<backup::database::DbTarget, String>,
}

/// What `request` will give, one line an action, as provision would plan it (for the customer
/// to read before anything happens; the host may still refine it at preflight).
pub fn preview(request: &ProvisionRequest) -> Result<Vec<String>, Error> {
    let grant = Grant::new(request.ttl);
    let plan = plan(request, &grant.plan_input(request, request.scope.as_ref()))?;
    Ok(plan.iter().map(Step::describe).collect())
}

pub async fn provision(
    store: &Store,
    request: ProvisionRequest,
    progress: &Progress,
) -> Result<Provisioned, Error> {
    store.check_writable()?;
    let grant = Grant::new(request.ttl);
    let plan = plan(
        &request,
        &grant.plan_input(&request, request.scope.as_ref()),
    )?;
    progress.say(format!("connecting to {}", request.route.host.target));
    let mut session = connect(
        &request.route,
        Keys::KnownHosts,
        &request.connect,
        request.connect.become_root,
    )
    .await?;
    let checked = preflight(&mut session, &request, &grant, plan, progress).await?;
    // Held from the record's first write to the end of apply or rollback.
    let _lock = store.lock(&grant.id)?;
    // Before the first change: a backup that fails stops here, with nothing to undo.
    let backup = match (&checked.scope, request.backup) {
        (Some(scope), true) => {
            let dir = store.companion_path(&grant.id, super::BACKUP_DIR);
            let taken = take_backup(
                &mut session,
                &dir,
                &grant,
                scope,
                &checked,
                &request,
                progress,
            )
            .await;
            if taken.is_err() {
                // Nothing of the backup is left: the files go with the dump.
                let _ = std::fs::remove_dir_all(&dir);
            }
            Some(taken?)
        }
        _ => None,
    };
    let mut record = journal(store, &request, &grant, &session, checked)?;
    if backup.is_some() {
        record.backup = backup;
        record.event(if record.backup.as_ref().is_some_and(|b| b.verified) {
            "backup of the scope taken before the first change, and proved to restore"
        } else {
            "backup of the scope taken before the first change"
        });
        store.save(&record)?;
    }
    let result = apply(store, &mut session, &mut record, &request, progress).await;
    session.close().await;
    result
}

/// The site's backup into `dir`: the scope's files, its database, and with `--verify-backup`
/// the proof that both restore (as `handover restore --check`).
async fn take_backup(
    session: &mut Session,
    dir: &Path,
    grant: &Grant,
    scope: &str,
    checked: &Checked,
    request: &ProvisionRequest,
    progress: &Progress,
) -> Result<BackupRecord, Error> {
    let estimate = checked.backup_bytes;
    let password = request.db_admin_password.as_ref();
    backup::make_dir(dir)?;
    // The files and the database at once, each on its own channel: neither waits for the
    // other's stream or for the other's file to reach the disk.
    let session = &*session;
    let files = async {
        Ok::<_, Error>(if request.backup_on_host {
            backup::on_host::take(session, dir, &grant.id, scope, progress).await?
        } else {
            backup::take(session, dir, &grant.id, scope, estimate, progress).await?
        })
    };
    let database = async {
        Ok::<_, Error>(match &checked.backup_db {
            Ok(target) => {
                Some(backup::database::take(session, dir, target, password, progress).await?)
            }
            Err(_) => None,
        })
    };
    let (mut taken, database) = futures::try_join!(files, database)?;
    taken.database = database;
    if let Err(why) = &checked.backup_db {
        taken.database_skipped = Some(why.clone());
    }
    if !request.verify_backup {
        return Ok(taken);
    }
    let unverified = |why: String| BackupError::Unverified { why };
    let (manifest, source) = backup::open(dir)?;
    let files = match source {
        backup::Source::Local(archive) => backup::check(dir, &archive, &manifest, progress)?,
        backup::Source::OnHost(_) => backup::on_host::check(session, &manifest, progress).await?,
    };
    if !files.ok() {
        let mut why: Vec<String> = files
            .mismatches
            .iter()
            .map(|m| format!("{}: {}", m.path, m.what))
            .collect();
        if !files.stream_sha256_ok {
            why.push("the archive's stream is not the one taken".to_owned());
        }
        return Err(unverified(why.join("; ")).into());
    }
    if let Some(dump) = &taken.database {
        let tables = backup::database::check(session, dir, dump, password, progress).await?;
        if !tables.is_empty() {
            return Err(unverified(tables.lines().join("; ")).into());
        }
    }
    taken.verified = true;
    Ok(taken)
}

/// The playbook's actions; then, for a new account, its sshd restrictions (no tunnels, and
/// `--allow-from`); then what the command line adds (`--rotate`, …); then the expiry guard.
fn plan(request: &ProvisionRequest, input: &PlanInput) -> Result<Vec<Action>, Error> {
    let invalid = |message: String| PlaybookError::Invalid {
        name: request.playbook.name.clone(),
        message,
    };
    let mut plan = request.playbook.plan(input)?;
    if request.playbook.creates_account() {
        let mut sshd = SshdMatch::new(input.account, &request.allow_from);
        sshd.password_login = request.password_login;
        sshd.vendor_key = request.vendor_key.clone();
        if let Some(recording) = recording(request, input) {
            if recording.active() && !recording.jailed {
                sshd.force_command = Some(Recording::wrapper(input.grant));
            }
            // Before the sshd drop-in: its wrapper exists before sshd runs it.
            plan.push(Action::Recording(recording));
        }
        plan.push(Action::SshdMatch(sshd));
    }
    plan.extend(request.extra_actions.iter().cloned());
    let mut seen = Vec::new();
    for action in &mut plan {
        if let Action::WpLend(lend) = action {
            lend.after = request.lend_after;
        }
        if let Action::DbUser(db) = action {
            // Playbooks name the database; how to reach the server comes from the command line.
            db.admin = request.db_admin.clone();
            if seen.contains(&db.engine) {
                return Err(invalid(format!(
                    "more than one {} account for the grant (the playbook has one: leave out --db)",
                    db.engine.label()
                ))
                .into());
            }
            seen.push(db.engine);
        }
    }
    if plan.is_empty() {
        return Err(invalid(
            "nothing to do: it has no actions and none were asked for (--rotate)".to_owned(),
        )
        .into());
    }
    // Last, so it is undone first: the host removes everything itself at the TTL.
    plan.push(Action::ExpiryGuard(ExpiryGuard::new(
        input.grant,
        input.account,
    )));
    Ok(plan)
}

/// `--record`: the recording of the account's sessions, or `None` with `off`. An sftp-only
/// account's sessions run jailed inside sshd itself, out of sudo's reach: their file
/// operations are read back from the system log instead.
fn recording(request: &ProvisionRequest, input: &PlanInput) -> Option<Recording> {
    let mut recording = match request.record {
        RecordMode::Off => return None,
        mode => Recording::new(input.account, mode == RecordMode::Require),
    };
    recording.jailed = request.playbook.has_sftp_jail();
    Some(recording)
}

/// The preflight script: facts, every action's checks, and the collector when a baseline is
/// asked for (its salt and the tag of its lines).
struct PreflightScript {
    script: Script,
    checks: Checks,
    salt: String,
    collector_tag: Option<String>,
}

fn preflight_script(request: &ProvisionRequest, grant: &Grant, plan: &[Action]) -> PreflightScript {
    let no_facts = BTreeMap::new();
    let ctx = Context {
        grant: &grant.id,
        account: &request.account,
        expires_at: grant.expires_at,
        facts: &no_facts,
        password: None,
        removal: None,
        db_admin_password: request.db_admin_password.as_ref(),
    };
    let mut script = Script::new();
    script.raw("hv_fact uid0 \"$(id -u)\"");
    script.raw("hv_fact os \"$( . /etc/os-release 2>/dev/null; printf '%s %s' \"${ID:-unknown}\" \"${VERSION_ID:-}\")\"");
    let mut checks = Checks::default();
    busybox_check(&mut script, &mut checks, plan.len());
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        script.cmd("hv_action {}", &[&index.to_string()]);
        action.preflight(&ctx, &mut script, &mut checks);
    }
    // What the engine itself needs on the host: the lock that serializes handover runs.
    checks.for_action(plan.len());
    script.cmd("hv_action {}", &[&plan.len().to_string()]);
    crate::actions::require_tools(&mut script, &mut checks, &[("flock", "util-linux")]);
    // The scope's backup, next: GNU tar with ACL and xattr support (busybox's has neither).
    if request.backup && request.scope.is_some() {
        crate::actions::require_tools(&mut script, &mut checks, &[("tar", "tar")]);
        let id = checks.add(
            "backup-tar",
            "tar on the host is GNU tar, which keeps ACLs and extended attributes (for the scope's backup; or provision with --no-backup)",
        );
        script.cmd(
            "if tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar' && tar --help 2>/dev/null | grep -q -- '--acls'; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
        // Its size as tar will read it: files' sizes on the scope's file system (`find -xdev`
        // like tar's --one-file-system; `du -x` counts almost nothing on an overlayfs host).
        // What root cannot read there (a directory another user mounted over FUSE, NFS with
        // root_squash) would fail tar halfway: named now, before anything changes.
        if let Some(scope) = &request.scope {
            let id = checks.add(
                "backup-readable",
                "root can read every entry of the scope (for its backup: unmount or make readable what is not, or provision with --no-backup)",
            );
            script.cmd(
                "hv_e=$(mktemp) || exit 2; hv_scope_bytes=$(find {} -xdev -printf '%s\\n' 2>\"$hv_e\" | awk '{ s += $1 } END { print s + 0 }'); hv_report {} <\"$hv_e\"; rm -f \"$hv_e\"",
                &[scope.as_str(), &id],
            );
        }
        if request.backup_on_host {
            crate::actions::require_tools(
                &mut script,
                &mut checks,
                &[("zstd", "zstd"), ("mkfifo", "coreutils")],
            );
            if request.scope.is_some() {
                let id = checks.add(
                    "backup-on-host-space",
                    "the host has room for the scope's archive in /var/backups (its size uncompressed, plus 64 MiB; or back up to this machine without --backup-on-host)",
                );
                script.cmd(
                    "hv_need=$(( ${hv_scope_bytes:-0} + 67108864 )); hv_room=$(df -P -B1 /var/backups 2>/dev/null || df -P -B1 /var); hv_room=$(printf '%s\n' \"$hv_room\" | awk 'NR == 2 { print $4 }'); if [ \"${hv_room:-0}\" -ge \"$hv_need\" ]; then hv_ok {}; else hv_fail {}; echo \"$hv_need bytes needed, ${hv_room:-?} free\" | hv_detail {}; fi",
                    &[&id, &id, &id],
                );
            }
        }
        if let Some(scope) = &request.scope {
            // The backup's size, for its progress bar and the free-space check on this machine.
            script.raw("hv_fact backup_bytes \"$hv_scope_bytes\"");
            backup::database::preflight(
                &mut script,
                &mut checks,
                &request.backup_db,
                scope.as_str(),
                &request.db_admin,
                request.db_admin_password.as_ref(),
            );
        }
    }
    // The baseline, in the same remote execution: nothing has changed yet.
    let salt = crate::secret::random_lower_alnum(24);
    let collector_tag = request.baseline.then(|| {
        audit::collect(
            &mut script,
            &salt,
            request.scope.as_ref().map(ScopeDir::as_str),
            false,
        )
    });
    PreflightScript {
        script,
        checks,
        salt,
        collector_tag,
    }
}

/// The system tools handover's scripts run, each with the Debian package that has the full
/// tool: BusyBox's applets of the same names lack options the scripts use.
const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("awk", "mawk"),
    ("base64", "coreutils"),
    ("cat", "coreutils"),
    ("chgrp", "coreutils"),
    ("chmod", "coreutils"),
    ("chown", "coreutils"),
    ("chroot", "coreutils"),
    ("cmp", "diffutils"),
    ("cp", "coreutils"),
    ("cut", "coreutils"),
    ("date", "coreutils"),
    ("dd", "coreutils"),
    ("df", "coreutils"),
    ("diff", "diffutils"),
    ("du", "coreutils"),
    ("env", "coreutils"),
    ("find", "findutils"),
    ("flock", "util-linux"),
    ("grep", "grep"),
    ("head", "coreutils"),
    ("id", "coreutils"),
    ("ln", "coreutils"),
    ("logger", "bsdutils"),
    ("ls", "coreutils"),
    ("mkdir", "coreutils"),
    ("mkfifo", "coreutils"),
    ("mktemp", "coreutils"),
    ("mount", "mount"),
    ("mv", "coreutils"),
    ("od", "coreutils"),
    ("paste", "coreutils"),
    ("pgrep", "procps"),
    ("pkill", "procps"),
    ("ps", "procps"),
    ("readlink", "coreutils"),
    ("rm", "coreutils"),
    ("rmdir", "coreutils"),
    ("sed", "sed"),
    ("sha256sum", "coreutils"),
    ("sleep", "coreutils"),
    ("sort", "coreutils"),
    ("stat", "coreutils"),
    ("tail", "coreutils"),
    ("tar", "tar"),
    ("tee", "coreutils"),
    ("touch", "coreutils"),
    ("tr", "coreutils"),
    ("truncate", "coreutils"),
    ("umount", "mount"),
    ("uname", "coreutils"),
    ("wc", "coreutils"),
    ("xargs", "findutils"),
];

/// The fact preflight's script prints when it stopped after its first check.
const STOPPED: &str = "preflight_stopped";

/// Preflight's first check: no system tool is a BusyBox applet (`busybox.sh`). When one is,
/// the script stops there: the other checks would fail on the applets' missing options with
/// errors that hide the cause.
fn busybox_check(script: &mut Script, checks: &mut Checks, index: usize) {
    checks.for_action(index);
    let id = checks.add(
        "system-tools",
        "the system tools handover runs are the full ones, not BusyBox applets (which lack options handover's scripts use)",
    );
    script.raw(include_str!("busybox.sh"));
    let tools: Vec<String> = SYSTEM_TOOLS
        .iter()
        .map(|(tool, package)| format!("{tool}:{package}"))
        .collect();
    script.cmd("hv_bbout=$(hv_busybox_tools {})", &[&tools.join(" ")]);
    script.cmd("printf '%s' \"$hv_bbout\" | hv_report {}", &[&id]);
    script.cmd(
        "if [ -n \"$hv_bbout\" ]; then hv_fact {} 1; exit 0; fi",
        &[STOPPED],
    );
}

/// Each failed check with what the host said about it (a check two actions share, sshd
/// checked for both of them, is listed once), and the host's stderr if the script failed.
fn preflight_failures(parsed: &Parsed, checks: &Checks, output: &Output) -> Option<String> {
    let mut failures: Vec<String> = Vec::new();
    // A script that stopped early ran only some checks: those are the ones to name.
    let specs: Vec<_> = checks
        .specs()
        .iter()
        .filter(|spec| !parsed.facts.contains_key(STOPPED) || parsed.checks.contains_key(&spec.id))
        .cloned()
        .collect();
    for r in parsed.results(&specs).into_iter().filter(|r| !r.ok) {
        let mut line = format!("  ✗ {}", r.check);
        for detail in &r.details {
            line.push_str(&format!("\n      {detail}"));
        }
        if !failures.contains(&line) {
            failures.push(line);
        }
    }
    if failures.is_empty() && output.success() {
        return None;
    }
    let mut failures = failures.join("\n");
    if !output.success() && !output.stderr.trim().is_empty() {
        failures.push_str(&remote_stderr(&output.stderr));
    }
    Some(failures)
}

/// The baseline from what the collector printed at preflight.
fn baseline_of(
    output: &Output,
    tag: &str,
    grant: &Grant,
    salt: String,
    host: &str,
    elapsed: std::time::Duration,
    progress: &Progress,
) -> Result<Baseline, Error> {
    let parse_started = Instant::now();
    let collected = Collected::from_lines(&output.lines, tag);
    if !collected.complete {
        return Err(AuditError::Incomplete {
            host: host.to_owned(),
            stderr: remote_stderr(&output.stderr),
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
    Ok(Baseline {
        version: audit::BASELINE_VERSION,
        grant: grant.id.clone(),
        taken_at: grant.now,
        salt,
        surface: collected.surface,
    })
}

/// Facts, every action's preflight and the baseline, in one remote execution: nothing on the
/// host changes. Any failed check is an error naming it, with what the host said.
async fn preflight(
    session: &mut Session,
    request: &ProvisionRequest,
    grant: &Grant,
    mut plan: Vec<Action>,
    progress: &Progress,
) -> Result<Checked, Error> {
    let host = request.route.host.target.host.clone();
    let PreflightScript {
        script,
        checks,
        salt,
        collector_tag,
    } = preflight_script(request, grant, &plan);
    progress.say(if collector_tag.is_some() {
        format!(
            "preflight: {} checks; baseline of the persistence surface",
            checks.specs().len()
        )
    } else {
        format!("preflight: {} checks", checks.specs().len())
    });
    let started = Instant::now();
    let output = run(session, &script, request.connect.auth.interactive, |_| {}).await?;
    let elapsed = started.elapsed();
    let parsed = Parsed::from_lines(&output.lines, script.tag());
    if parsed.facts.get("uid0").map(String::as_str) != Some("0") {
        return Err(Error::NotRoot {
            login: request.route.host.target.login.clone(),
            host,
        });
    }
    if let Some(failures) = preflight_failures(&parsed, &checks, &output) {
        return Err(Error::Preflight { host, failures });
    }
    if let Some(firewall) = parsed.facts.get("firewall") {
        progress.say(format!(
            "firewall: {}",
            crate::actions::Firewall::plan_line(firewall)
        ));
    }
    let baseline = collector_tag
        .map(|tag| baseline_of(&output, &tag, grant, salt, &host, elapsed, progress))
        .transpose()?;
    // Work on the resolved scope from here on, so a symlink cannot redirect it later.
    if let (Some(scope), Some(resolved)) = (&request.scope, parsed.facts.get("scope_resolved")) {
        if forbidden_scope(resolved) || !resolved.starts_with('/') {
            return Err(Error::ScopeForbidden {
                scope: scope.as_str().to_owned(),
                resolved: resolved.clone(),
            });
        }
        let resolved = ScopeDir::parse(resolved)?;
        plan = self::plan(request, &grant.plan_input(request, Some(&resolved)))?;
    }
    fill_database_names(&mut plan, &parsed.facts, &host)?;
    let backup_db = backup::database::resolve(&request.backup_db, &parsed, &request.db_admin);
    if let Ok(target) = &backup_db
        && let Some(warning) =
            backup::database::non_transactional_warning(&target.name, &target.non_transactional)
    {
        progress.say(format!("warning: {warning}"));
    }
    Ok(Checked {
        plan,
        scope: parsed.facts.get("scope_resolved").cloned(),
        backup_bytes: parsed
            .facts
            .get("backup_bytes")
            .and_then(|b| b.parse().ok()),
        kept: parsed.kept(),
        baseline,
        backup_db,
    })
}

/// Fill in database names read from a CMS config at preflight (`fact db_name`), checked
/// against the strict pattern again here, and the WordPress login page (`fact wp_login_url`).
fn fill_database_names(
    plan: &mut [Action],
    facts: &BTreeMap<String, String>,
    host: &str,
) -> Result<(), Error> {
    for action in plan.iter_mut() {
        if let Action::WpAdmin(wp) = action {
            wp.login_url = facts.get("wp_login_url").cloned();
        }
    }
    // What the host can record; with `auto`, a host that cannot records nothing, and says so.
    let mut recorded = false;
    for action in plan.iter_mut() {
        if let Action::Recording(r) = action
            && r.active()
        {
            match r.fill(facts) {
                Ok(()) => recorded = true,
                Err(why) => r.not_recorded = Some(why),
            }
        }
    }
    for action in plan.iter_mut() {
        match action {
            Action::SshdMatch(sshd) if !recorded => sshd.force_command = None,
            Action::SftpJail(jail) => jail.log = recorded,
            _ => {}
        }
    }
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

/// The record of the host as connected: its key and the jump hosts' keys, pinned.
fn host_record(request: &ProvisionRequest, session: &Session) -> Result<HostRecord, Error> {
    let openssh = |key: &russh::keys::PublicKey, host: &str| {
        key.to_openssh().map_err(|e| {
            Error::Ssh(SshError::ConnectionLost {
                host: format!("{host} ({e})"),
            })
        })
    };
    let route = &request.route;
    let target = &route.host.target;
    Ok(HostRecord {
        host: target.host.clone(),
        port: target.port,
        login: target.login.clone(),
        become_root: request.connect.become_root,
        host_key: openssh(session.host_key(), &target.host)?,
        host_key_fingerprint: ssh::fingerprint(session.host_key()),
        alias: route.host.alias.clone(),
        identities: route.host.identities.clone(),
        identities_only: route.host.identities_only,
        jumps: route
            .jumps
            .iter()
            .zip(session.jump_keys())
            .map(|(hop, key)| {
                Ok(JumpRecord {
                    host: hop.target.host.clone(),
                    port: hop.target.port,
                    login: hop.target.login.clone(),
                    host_key: openssh(key, &hop.target.host)?,
                    host_key_fingerprint: ssh::fingerprint(key),
                    identities: hop.identities.clone(),
                    identities_only: hop.identities_only,
                })
            })
            .collect::<Result<_, Error>>()?,
    })
}

/// Write-ahead: the baseline, then the record with every action pending, before the first
/// change. A crash from here on leaves a record teardown works from.
fn journal(
    store: &Store,
    request: &ProvisionRequest,
    grant: &Grant,
    session: &Session,
    checked: Checked,
) -> Result<GrantRecord, Error> {
    let Checked {
        plan,
        mut kept,
        baseline,
        ..
    } = checked;
    let scope = plan.iter().find_map(|a| match a {
        Action::Acl(acl) => Some(acl.scope.clone()),
        _ => None,
    });
    let mut record = GrantRecord {
        version: RECORD_VERSION,
        id: grant.id.clone(),
        state: GrantState::Provisioning,
        created_at: grant.now,
        expires_at: grant.expires_at,
        host: host_record(request, session)?,
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
        backup: None,
        batch: request.batch.clone(),
        recordings: None,
        requester: request.requester.clone(),
    };
    // The baseline is stored before the record that points to it, and both before any change.
    if let Some(baseline) = &baseline {
        store.save_companion(&grant.id, BASELINE_FILE, &baseline.to_json())?;
    }
    record.event(if record.baseline {
        "provision started; baseline of the persistence surface stored"
    } else {
        "provision started (no baseline)"
    });
    store.save(&record)?;
    crate::failpoint::hit("after-record", 0);
    Ok(record)
}

/// Apply every action, then verify it is present; progress is journaled as it arrives. A
/// failed step or check rolls back what was applied.
async fn apply(
    store: &Store,
    session: &mut Session,
    record: &mut GrantRecord,
    request: &ProvisionRequest,
    progress: &Progress,
) -> Result<Provisioned, Error> {
    let id = record.id.clone();
    let host = record.host.host.clone();
    let admin = request.db_admin_password.as_ref();
    let (script, checks, credentials) = apply_script(record, request.password.as_ref(), admin);
    progress.say(format!(
        "applying {} actions as grant {id}",
        record.actions.len()
    ));
    let mut save_error = None;
    // The login as the vendor starts as soon as the sshd step is done (the account, its
    // password and sshd's settings are in place), beside the rest of the script.
    let sshd_step = record
        .actions
        .iter()
        .position(|a| matches!(a.action, Action::SshdMatch(_)));
    let keys = (session.jump_keys().to_vec(), session.host_key().clone());
    let mut proof: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
    let result = {
        let record = &mut *record;
        let save_error = &mut save_error;
        let proof = &mut proof;
        let credentials = &credentials;
        let tag = script.tag().clone();
        let mut current = None;
        run(session, &script, request.connect.auth.interactive, |line| {
            match event(line, &tag) {
                Event::Begun(index) => current = Some(index),
                // A fact belongs to the step that printed it.
                Event::Fact(key, value) => {
                    if let Some(action) = current.and_then(|i| record.actions.get_mut(i)) {
                        action.facts.insert(key, value);
                    }
                }
                Event::Done(index) => {
                    if let Some(action) = record.actions.get_mut(index) {
                        action.status = ActionStatus::Applied;
                        if let Err(e) = store.save(record) {
                            save_error.get_or_insert(e);
                        }
                        crate::failpoint::hit("after-step", index);
                    }
                    if Some(index) == sshd_step
                        && let Some(password) = proof_wanted(record, request, credentials)
                    {
                        let account = request.account.as_str().to_owned();
                        progress.say(format!(
                            "logging in as `{account}` with its password, as the vendor will"
                        ));
                        let (route, options) = (request.route.clone(), request.connect.clone());
                        let (jumps, host) = keys.clone();
                        *proof = Some(tokio::spawn(async move {
                            prove_login(&route, &jumps, &host, &options, &account, &password)
                                .await
                                .map_err(|e| e.report())
                        }));
                    }
                }
                Event::Failed(_) | Event::Other => {}
            }
        })
        .await
    };
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            if let Some(handle) = proof.take() {
                handle.abort();
            }
            // Lost connection: whatever was applied stays recorded for teardown.
            record.state = GrantState::Partial;
            record.event(format!("provision interrupted: {}", e.report()));
            store.save(record)?;
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
    let parsed = Parsed::from_lines(&output.lines, script.tag());
    let verified = parsed.results(checks.specs());
    let all_applied = record
        .actions
        .iter()
        .all(|a| a.status == ActionStatus::Applied);
    if output.success() && all_applied && verified.iter().all(|c| c.ok) {
        let proven = match proof.take() {
            None => Ok(()),
            Some(handle) => handle.await.unwrap_or_else(|e| Err(e.to_string())),
        };
        if let Err(reason) = proven {
            let step = format!("the login as the vendor ({reason})");
            let outcome = rollback(store, session, record, request, &step, progress).await?;
            return Err(Error::ApplyFailed {
                grant: id.to_string(),
                host,
                step,
                stderr: String::new(),
                outcome,
            });
        }
        record.state = GrantState::Active;
        record.event("provisioned and verified");
        store.save(record)?;
        return Ok(Provisioned {
            remote_executions: session.executions(),
            record: record.clone(),
            credentials,
        });
    }
    if let Some(handle) = proof.take() {
        handle.abort();
    }
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
    let outcome = rollback(store, session, record, request, &step, progress).await?;
    Err(Error::ApplyFailed {
        grant: id.to_string(),
        host,
        step,
        stderr: remote_stderr(&output.stderr),
        outcome,
    })
}

/// Whether to log in once as the vendor will, the new account with its password, before the
/// credentials go out (what preflight read of the host's settings is only what it could see):
/// the password to log in with. Not when the plan creates no account; not with a vendor key on
/// a host that takes no password alone (the key's file and sshd's settings for it are verified
/// on the host); not when `--allow-from` leaves out the address the host sees this machine at
/// (sshd's own `--allow-from` rules would refuse it): the customer is told.
fn proof_wanted(
    record: &mut GrantRecord,
    request: &ProvisionRequest,
    credentials: &Credentials,
) -> Option<Secret> {
    let password = credentials
        .password
        .clone()
        .filter(|_| record.has_account())?;
    let account = request.account.as_str();
    let sshd = record
        .actions
        .iter_mut()
        .find(|a| matches!(a.action, Action::SshdMatch(_)))?;
    if sshd.facts.get("password").is_some_and(|p| p == "refused") {
        return None;
    }
    if !request.allow_from.is_empty() {
        let client = sshd.facts.get("client").cloned().unwrap_or_default();
        let seen = client.parse::<std::net::IpAddr>().ok();
        if !seen.is_some_and(|ip| request.allow_from.iter().any(|a| a.contains(ip))) {
            let at = if client.is_empty() {
                "unknown".to_owned()
            } else {
                client
            };
            sshd.facts.insert(
                "warning".to_owned(),
                format!("the login as `{account}` was not tried from here: --allow-from leaves out this machine's address as the host sees it ({at}), so only the host's settings were checked"),
            );
            return None;
        }
    }
    Some(password)
}

/// A step failed: undo everything applied, in reverse, and verify; say how that went.
async fn rollback(
    store: &Store,
    session: &mut Session,
    record: &mut GrantRecord,
    request: &ProvisionRequest,
    step: &str,
    progress: &Progress,
) -> Result<String, Error> {
    let id = record.id.clone();
    record.event(format!("provision failed at {step}; rolling back"));
    store.save(record)?;
    progress.say(format!("{step} failed; rolling back"));
    // No fresh passwords for a rollback: lent passwords get their originals back.
    let result = remove(
        session,
        record,
        request.connect.auth.interactive,
        &mut Fresh::None,
        request.db_admin_password.as_ref(),
        Tail::None,
    )
    .await;
    Ok(match result {
        Ok((report, _)) if report.verified => {
            store.save(record)?;
            "rolled back: everything applied was removed and verified absent".to_owned()
        }
        Ok((report, _)) => {
            store.save(record)?;
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
            store.save(record)?;
            format!(
                "rollback failed ({}); run `handover teardown {id}`",
                e.report()
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::protocol::Checks;

    /// A preflight script run by `/bin/sh`: its output and the checks it registered.
    fn failures_of(busybox_tools: &str, rest: &str) -> Option<String> {
        let mut script = Script::new();
        let mut checks = Checks::default();
        // The BusyBox check's own text, with what it finds given (the real search looks at
        // this machine's system directories), then one more check.
        busybox_check(&mut script, &mut checks, 1);
        checks.for_action(0);
        let id = checks.add("other", "the other check");
        let text = format!(
            "hv_fake_tools() {{ printf '%s' {busybox_tools}; }}\n{}\n{rest} {id}\n",
            script
                .text()
                .replace("$(hv_busybox_tools ", "$(hv_fake_tools ")
        );
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &text])
            .output()
            .expect("run /bin/sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        let output = Output {
            lines,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            exit_status: out.status.code().and_then(|c| u32::try_from(c).ok()),
        };
        let parsed = Parsed::from_lines(&output.lines, script.tag());
        preflight_failures(&parsed, &checks, &output)
    }

    #[test]
    fn busybox_tools_stop_preflight_and_only_their_check_is_named() {
        let failures = failures_of("'`find` (/usr/bin/find) is a BusyBox applet'", "hv_fail")
            .expect("a failure");
        assert!(failures.contains("not BusyBox applets"), "{failures}");
        assert!(failures.contains("`find` (/usr/bin/find)"), "{failures}");
        // The check after it never ran, and is not named as failed.
        assert!(!failures.contains("the other check"), "{failures}");
        assert_eq!(failures.matches('✗').count(), 1, "{failures}");
    }

    #[test]
    fn without_busybox_tools_every_check_runs() {
        assert_eq!(failures_of("''", "hv_ok"), None);
        let failures = failures_of("''", "hv_fail").expect("a failure");
        assert!(failures.contains("the other check"), "{failures}");
        assert!(!failures.contains("BusyBox"), "{failures}");
    }
}
