//! The scripts as the host receives them, checked by `shellcheck` and `sh -n`, and the
//! contract between their fragments (`shared.sh`) held to them.
//!
//! The shell libraries (`src/actions/*.sh`) are checked one by one by `scripts/test`; this
//! checks what they become once glued together with the actions' templates: for every action
//! kind (the built-in playbooks, plus what the command line adds: `--rotate`, `--db`,
//! `--rotate-db-user`, `--open-firewall`, the sshd restrictions and the expiry guard), every
//! phase of the [`Step`] trait, assembled into the scripts the engine sends — preflight; apply
//! then verify present; teardown (prepare, cut off, undo in reverse, verify absent); the expiry
//! guard's removal script, and the job that runs it — once with the facts a finished apply
//! records and once with none (a crash before they were recorded). Then each phase of each
//! action on its own, in the scope the host runs it in: what it calls must be defined there, and
//! what it reads without setting must be in the contract.
//!
//! Needs `shellcheck` (Debian package `shellcheck`, installed by `scripts/install-deps`):
//! without it the test fails, it does not pass silently. `HANDOVER_SCRIPTS_OUT=DIR` keeps a copy
//! of every assembled script in DIR, for reading.

use super::{
    Action, After, Checks, Context, DbAdmin, DbEngine, DbUser, ExpiryGuard, Firewall, RotateDbUser,
    RotatePassword, Shell, SshdMatch, Step,
};
use crate::ids::GrantId;
use crate::input::{AccountName, AllowFrom, ScopeDir};
use crate::playbook::{PlanInput, Playbook};
use crate::secret::Secret;
use crate::shell::{OnStepFailure, Script};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Findings that come from gluing fragments at run time, not from mistakes in them. Each is
/// excluded for every assembled script, so keep the list short and say why.
const EXCLUDED: &[&str] = &[
    // "This function is only defined later": every action that needs a library defines it
    // (again: a definition inside a step ends with the step), and shellcheck takes a call
    // between two definitions for a call before the first one.
    // `every_function_is_defined_before_it_is_called` checks this instead, phase by phase.
    "SC2218",
];

/// The grant every script is built for; values hold quotes and `$` where they may, so the
/// quoting is exercised too.
struct Grant {
    id: GrantId,
    account: AccountName,
    scope: ScopeDir,
    expires_at: time::OffsetDateTime,
    password: Secret,
    admin_password: Secret,
}

impl Grant {
    fn new() -> Self {
        Grant {
            id: GrantId::parse("20261123-abcdef").expect("grant id"),
            account: AccountName::parse("--account", "support-abc123").expect("account"),
            scope: ScopeDir::parse("/var/www/it's a $(cms)").expect("scope"),
            expires_at: time::macros::datetime!(2026-11-23 16:00 UTC),
            password: Secret::new("Pw4ssw0rdThatMustStayOut".to_owned()),
            admin_password: Secret::new("admin 'pw' $HOME".to_owned()),
        }
    }

    /// The plan of built-in playbook `name` as the engine makes it: the playbook's actions, the
    /// sshd restrictions for a new account, what `extra` adds, then the expiry guard.
    fn plan(&self, name: &str, extra: Vec<Action>) -> Vec<Action> {
        let playbook = Playbook::load(name).expect("built-in playbook");
        let params: Vec<(String, String)> = playbook
            .params
            .keys()
            .filter(|p| p.as_str() != "database" && p.as_str() != "config")
            .map(|p| {
                let value = match p.as_str() {
                    "site" => "http://192.0.2.7/shop/",
                    "super_admin" => "yes",
                    _ => "192.0.2.7",
                };
                (p.clone(), value.to_owned())
            })
            .collect();
        let input = PlanInput {
            grant: &self.id,
            account: &self.account,
            scope: Some(&self.scope),
            expire_date: "2026-11-24",
            params: &params,
        };
        let mut plan = playbook.plan(&input).expect("plan");
        if playbook.creates_account() {
            plan.push(Action::SshdMatch(SshdMatch::new(&self.account, &[])));
        }
        plan.extend(extra);
        plan.push(Action::ExpiryGuard(ExpiryGuard::new(
            &self.id,
            &self.account,
        )));
        plan
    }

    /// What the command line adds to a playbook: every kind that no built-in playbook has, in
    /// each of its variants (how the database is reached, what happens after the window).
    fn command_line_kinds(&self) -> Vec<Action> {
        let root = DbAdmin::default();
        let with_password = DbAdmin {
            user: Some("dbadmin".to_owned()),
            password_env: Some("DB_ADMIN_PASSWORD".to_owned()),
        };
        let allow =
            AllowFrom::parse_all(&["203.0.113.0/24".to_owned(), "2001:db8::/32".to_owned()])
                .expect("allow-from");
        let db_user = |engine, admin: &DbAdmin| {
            Action::DbUser(DbUser {
                engine,
                database: None,
                database_from: None,
                config_dir: Some(self.scope.as_str().to_owned()),
                user: self.account.to_string(),
                admin: admin.clone(),
            })
        };
        let rotate_db = |host: &str, after, admin: &DbAdmin| {
            Action::RotateDbUser(RotateDbUser {
                user: "app".to_owned(),
                host: host.to_owned(),
                after,
                admin: admin.clone(),
            })
        };
        let mut values = BTreeMap::new();
        values.insert("scope".to_owned(), self.scope.as_str().to_owned());
        vec![
            Action::SshdMatch(SshdMatch::new(&self.account, &allow)),
            Action::RotatePassword(RotatePassword {
                account: "admin".to_owned(),
                after: After::Restore,
            }),
            Action::RotatePassword(RotatePassword {
                account: "staff".to_owned(),
                after: After::Rotate,
            }),
            db_user(DbEngine::Mysql, &root),
            db_user(DbEngine::Postgres, &with_password),
            rotate_db("localhost", After::Restore, &root),
            rotate_db("10.0.%", After::Rotate, &with_password),
            rotate_db("%", After::Restore, &with_password),
            Action::Firewall(Firewall {
                sources: vec!["203.0.113.0/24".to_owned(), "2001:db8::/32".to_owned()],
            }),
            Action::Shell(Shell {
                description: "the author's own commands".to_owned(),
                preflight: Some("test -d {scope}".to_owned()),
                apply: "touch {scope}/.handover-test".to_owned(),
                undo: "rm -f {scope}/.handover-test".to_owned(),
                verify_present: Some("test -e {scope}/.handover-test".to_owned()),
                verify_absent: Some("test ! -e {scope}/.handover-test".to_owned()),
                values,
            }),
        ]
    }

    fn context<'a>(
        &'a self,
        facts: &'a BTreeMap<String, String>,
        password: Option<&'a Secret>,
        removal: Option<&'a Script>,
        admin: bool,
    ) -> Context<'a> {
        Context {
            grant: &self.id,
            account: &self.account,
            expires_at: self.expires_at,
            facts,
            password,
            removal,
            db_admin_password: admin.then_some(&self.admin_password),
        }
    }
}

/// What a finished apply records, for every kind at once (each action reads its own keys).
fn recorded_facts() -> BTreeMap<String, String> {
    [
        // user
        ("uid", "1001"),
        ("gid", "1001"),
        // rotate-password
        ("hash", "$y$j9T$it's$Hash"),
        ("lastchg", "20000"),
        ("session", "4"),
        ("boot", "0d6b1c0e-1d2f-4f43-9a51-0c0d1e2f3a4b"),
        (
            "window",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
        // sshd-match, sftp-jail
        ("sshd_before_0", "x11forwarding yes;permittty yes;"),
        ("sshd_before_1", "denyusers none;"),
        ("sshd_loaded", "1"),
        ("jail_created", "1"),
        ("mounted", "1"),
        // expiry-guard
        ("backend", "at"),
        ("at_job", "7"),
        ("unit", "handover-expiry-20261123-abcdef"),
        ("cron_file", "/etc/cron.d/handover-20261123-abcdef"),
        // db-user, rotate-db-user
        ("created", "1"),
        ("plugin", "mysql_native_password"),
        ("auth", "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"),
        ("since_id", "42"),
        ("server_start", "1795440000"),
        // config-line
        ("backup", "/var/lib/handover/20261123-abcdef-config/x.orig"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The scripts of one plan, built as the engine builds them.
struct Scripts {
    /// Every preflight; no facts are known yet.
    preflight: Script,
    /// Every apply step, then every verify_present.
    apply: Script,
    /// prepare_teardown, cut_off, undo in reverse, verify_absent, then the audit's sweep.
    teardown: Script,
    /// The same without the expiry guard, facts or secrets: what the guard leaves on the host.
    removal: Script,
    /// `handover extend`, `suspend`, `resume`: each action's step of that phase, in order.
    extend: Script,
    suspend: Script,
    resume: Script,
    rotate: Script,
}

/// The scripts of `plan`, with `facts` recorded for every action (apply, teardown).
fn scripts(grant: &Grant, plan: &[Action], facts: &BTreeMap<String, String>) -> Scripts {
    let none = BTreeMap::new();
    let mut preflight = Script::new();
    let mut checks = Checks::default();
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        action.preflight(
            &grant.context(&none, None, None, true),
            &mut preflight,
            &mut checks,
        );
    }
    // Teardown in the engine's order; with `secrets`, the administrator's password and the
    // passwords teardown makes for `--after rotate`.
    let teardown = |facts: &BTreeMap<String, String>, secrets: bool, guard: bool| {
        let mut s = Script::new();
        s.lock_host();
        let entries = || {
            plan.iter()
                .enumerate()
                .filter(|(_, a)| guard || !matches!(a, Action::ExpiryGuard(_)))
        };
        for (_, action) in entries() {
            action.prepare_teardown(&grant.context(facts, None, None, secrets), &mut s);
        }
        s.step(plan.len(), OnStepFailure::Continue, |s| {
            for (_, action) in entries() {
                action.cut_off(&grant.context(facts, None, None, secrets), s);
            }
        });
        for (index, action) in entries().rev() {
            let password = (secrets && action.rotates_at_teardown()).then_some(&grant.password);
            let ctx = grant.context(facts, password, None, secrets);
            s.step(index, OnStepFailure::Continue, |s| action.undo(&ctx, s));
        }
        let mut checks = Checks::default();
        for (index, action) in entries() {
            checks.for_action(index);
            action.verify_absent(
                &grant.context(facts, None, None, secrets),
                &mut s,
                &mut checks,
            );
        }
        crate::audit::sweep(&mut s, false);
        s
    };
    let removal = teardown(&none, false, false);
    let mut apply = Script::new();
    apply.lock_host();
    for (index, action) in plan.iter().enumerate() {
        let password = action.wants_password().then_some(&grant.password);
        let ctx = grant.context(facts, password, Some(&removal), true);
        apply.step(index, OnStepFailure::Stop, |s| action.apply(&ctx, s));
    }
    let mut checks = Checks::default();
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        action.verify_present(
            &grant.context(facts, None, None, true),
            &mut apply,
            &mut checks,
        );
    }
    let live = |phase: fn(&Action, &Context, &mut Script, &mut Checks)| {
        let mut script = Script::new();
        script.lock_host();
        let mut checks = Checks::default();
        for (index, action) in plan.iter().enumerate() {
            checks.for_action(index);
            // `rotate` gives each action a new password.
            let ctx = grant.context(facts, Some(&grant.password), None, true);
            script.step(index, OnStepFailure::Stop, |s| {
                phase(action, &ctx, s, &mut checks);
            });
        }
        script
    };
    let extend = live(|a, ctx, s, checks| a.extend(ctx, s, checks));
    let suspend = live(|a, ctx, s, checks| a.suspend(ctx, s, checks));
    let resume = live(|a, ctx, s, checks| a.resume(ctx, s, checks));
    let rotate = live(|a, ctx, s, checks| a.rotate(ctx, s, checks));
    Scripts {
        preflight,
        apply,
        teardown: teardown(facts, true, true),
        removal,
        extend,
        suspend,
        resume,
        rotate,
    }
}

/// Every plan to build scripts for, named: each built-in playbook (`lend` with a lent account,
/// as it is used), then `linux-user` with every kind the command line adds.
fn plans(grant: &Grant) -> Vec<(String, Vec<Action>)> {
    let mut plans: Vec<(String, Vec<Action>)> = Playbook::built_in_names()
        .map(|name| {
            let extra = if name == "lend" {
                vec![Action::RotatePassword(RotatePassword {
                    account: "admin".to_owned(),
                    after: After::Restore,
                })]
            } else {
                Vec::new()
            };
            (name.to_owned(), grant.plan(name, extra))
        })
        .collect();
    plans.push((
        "command-line".to_owned(),
        grant.plan("linux-user", grant.command_line_kinds()),
    ));
    // A recorded sftp-only account: the jail logs, the recording reads the system log.
    let mut recording = super::Recording::new(&grant.account, false);
    recording.jailed = true;
    recording.system_log = "/var/log/auth.log".to_owned();
    let mut jailed = grant.plan("sftp-only", vec![Action::Recording(recording)]);
    for action in &mut jailed {
        if let Action::SftpJail(jail) = action {
            jail.log = true;
        }
    }
    plans.push(("sftp-only-recorded".to_owned(), jailed));
    plans
}

/// Preflight reads a database's name from the CMS config; the engine then fills it in.
fn fill_database_names(plan: &mut [Action]) {
    for action in plan {
        if let Action::DbUser(db) = action
            && db.database.is_none()
        {
            db.database = Some("cms".to_owned());
        }
    }
}

/// Every script to check, named `PLAN[.FACTS].SCRIPT`.
fn every_script() -> Vec<(String, String)> {
    let grant = Grant::new();
    let recorded = recorded_facts();
    let none = BTreeMap::new();
    let mut out = Vec::new();
    for (name, mut plan) in plans(&grant) {
        let preflight = scripts(&grant, &plan, &none).preflight;
        out.push((format!("{name}.preflight"), preflight.text().to_owned()));
        fill_database_names(&mut plan);
        for (facts_name, facts) in [("recorded", &recorded), ("no-facts", &none)] {
            let built = scripts(&grant, &plan, facts);
            out.push((
                format!("{name}.{facts_name}.apply"),
                built.apply.text().to_owned(),
            ));
            out.push((
                format!("{name}.{facts_name}.teardown"),
                built.teardown.text().to_owned(),
            ));
            if facts_name == "recorded" {
                out.push((format!("{name}.extend"), built.extend.text().to_owned()));
                out.push((format!("{name}.suspend"), built.suspend.text().to_owned()));
                out.push((format!("{name}.resume"), built.resume.text().to_owned()));
                out.push((format!("{name}.rotate"), built.rotate.text().to_owned()));
                // Built without facts either way.
                out.push((format!("{name}.removal"), built.removal.text().to_owned()));
                if let Some(job) = guard_job(built.apply.text()) {
                    out.push((format!("{name}.guard-job"), job));
                }
            }
        }
    }
    // The backup's remote function libraries (src/backup/*.sh).
    for (name, text) in [
        ("backup.listing", include_str!("../backup/listing.sh")),
        ("backup.restore", include_str!("../backup/restore.sh")),
        ("backup.on_host", include_str!("../backup/on_host.sh")),
        ("site", include_str!("../site/site.sh")),
        ("watch", include_str!("../engine/watch.sh")),
    ] {
        out.push((name.to_owned(), text.to_owned()));
    }
    // Collecting a jailed account's lines from the system log, before a copy.
    for (name, system_log) in [("journal", "journal"), ("file", "/var/log/auth.log")] {
        let mut recording = super::Recording::new(&grant.account, false);
        recording.jailed = true;
        recording.system_log = system_log.to_owned();
        let mut s = Script::new();
        recording.collect_jail_log(&mut s, &grant.id, 1_796_000_000);
        out.push((format!("jail-log.{name}"), s.text().to_owned()));
    }
    out
}

/// Each phase of each action on its own, named `PLAN.INDEX.KIND.FACTS.PHASE`, in the scope the
/// host runs it in: preflight and the checks at the top level, apply, cut_off and undo in a
/// step; the teardown phases after the action's prepare_teardown (the top level of every
/// teardown script), and nothing else: what a phase calls must be defined there.
fn isolated_phases() -> Vec<(String, String)> {
    let grant = Grant::new();
    let recorded = recorded_facts();
    let none = BTreeMap::new();
    let mut out = Vec::new();
    for (name, mut plan) in plans(&grant) {
        fill_database_names(&mut plan);
        let removal = scripts(&grant, &plan, &none).removal;
        for (index, action) in plan.iter().enumerate() {
            let label = format!("{name}.{index}.{}", action.kind());
            let mut preflight = Script::new();
            action.preflight(
                &grant.context(&none, None, None, true),
                &mut preflight,
                &mut Checks::default(),
            );
            out.push((format!("{label}.preflight"), preflight.text().to_owned()));
            for (facts_name, facts) in [("recorded", &recorded), ("no-facts", &none)] {
                let ctx = grant.context(facts, None, None, true);
                let mut phases: Vec<(&str, Script)> = Vec::new();
                let mut apply = Script::new();
                let password = action.wants_password().then_some(&grant.password);
                let apply_ctx = grant.context(facts, password, Some(&removal), true);
                apply.step(0, OnStepFailure::Stop, |s| action.apply(&apply_ctx, s));
                phases.push(("apply", apply));
                let mut present = Script::new();
                action.verify_present(&ctx, &mut present, &mut Checks::default());
                phases.push(("verify_present", present));
                let prepared = || {
                    let mut s = Script::new();
                    action.prepare_teardown(&ctx, &mut s);
                    s
                };
                let mut cut_off = prepared();
                cut_off.step(0, OnStepFailure::Continue, |s| action.cut_off(&ctx, s));
                phases.push(("cut_off", cut_off));
                let password = action.rotates_at_teardown().then_some(&grant.password);
                let undo_ctx = grant.context(facts, password, None, true);
                let mut undo = prepared();
                undo.step(0, OnStepFailure::Continue, |s| action.undo(&undo_ctx, s));
                phases.push(("undo", undo));
                let mut absent = prepared();
                action.verify_absent(&ctx, &mut absent, &mut Checks::default());
                phases.push(("verify_absent", absent));
                for (phase, script) in phases {
                    out.push((
                        format!("{label}.{facts_name}.{phase}"),
                        script.text().to_owned(),
                    ));
                }
            }
        }
    }
    out
}

/// The expiry guard's removal job, as its apply step writes it to the host: the quoted value
/// of `printf '%s' VALUE > "$hv_dir/remove"`.
fn guard_job(apply: &str) -> Option<String> {
    const START: &str = "printf '%s' '";
    let mut rest = &apply[apply.find(START)? + START.len()..];
    let mut job = String::new();
    loop {
        let end = rest.find('\'')?;
        job.push_str(&rest[..end]);
        rest = &rest[end..];
        match rest.strip_prefix("'\\''") {
            Some(after) => {
                job.push('\'');
                rest = after;
            }
            None => break,
        }
    }
    rest.starts_with("' > \"$hv_dir/remove\"").then_some(job)
}

fn write_scripts(dir: &Path, scripts: &[(String, String)]) -> Vec<PathBuf> {
    scripts
        .iter()
        .map(|(name, text)| {
            let path = dir.join(format!("{name}.sh"));
            std::fs::write(&path, text).expect("write script");
            path
        })
        .collect()
}

// Reading the scripts: just enough of the shell's words to hold them to the contract.

/// The contract between the fragments (`shared.sh`).
const CONTRACT: &str = include_str!("shared.sh");

/// Whether `b` can be part of a shell variable's name.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The handover names (`hv_…`, `HV_…`) in `text`, each with the byte offset where it ends.
fn names(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if (rest.starts_with(b"hv_") || rest.starts_with(b"HV_"))
            && (at == 0 || !name_byte(bytes[at - 1]))
        {
            let mut end = at + 3;
            while end < bytes.len() && name_byte(bytes[end]) {
                end += 1;
            }
            out.push((end, &text[at..end]));
            at = end;
        } else {
            at += 1;
        }
    }
    out
}

/// The variables `text` reads (`$hv_x`, `${hv_x…}`) and those it sets (`hv_x=`, `read … hv_x`,
/// `for hv_x in`).
fn variables(text: &str) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let mut read = BTreeSet::new();
    let mut set = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for (end, name) in names(line) {
            let before = &line[..end - name.len()];
            if before.ends_with('$') || before.ends_with("${") {
                read.insert(name);
            } else if line[end..].starts_with('=') {
                set.insert(name);
            }
        }
        // `read [-r] NAME…` and `for NAME in`: the names after the word.
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|w| !w.is_empty())
            .collect();
        for (index, word) in words.iter().enumerate() {
            if *word == "read" || *word == "for" {
                words[index + 1..]
                    .iter()
                    .skip_while(|w| w.starts_with('-'))
                    .take_while(|w| w.bytes().all(name_byte))
                    .filter(|w| w.starts_with("hv_"))
                    .for_each(|w| {
                        set.insert(w);
                    });
            }
        }
    }
    (read, set)
}

/// The `hv_…` words of a line of shell (not variables: `$hv_x`, `${hv_x}`), each with the
/// byte offset where it ends and whether it is in a command's place: first in the line, or after
/// `;`, `|`, `&&`, `(`, `{`, `then`, `do`, ….
fn hv_words(line: &str) -> Vec<(usize, &str, bool)> {
    const AFTER_OPERATOR: &[&str] = &[";", "&", "|", "(", ")", "{", "`"];
    const AFTER_WORD: &[&str] = &["!", "then", "do", "else", "elif", "if", "while", "until"];
    names(line)
        .into_iter()
        .filter(|(_, name)| name.starts_with("hv_"))
        .filter_map(|(end, name)| {
            let before = &line[..end - name.len()];
            if before.ends_with('$') || before.ends_with("${") {
                return None;
            }
            let before = before.trim_end();
            let last_word = before.rsplit(char::is_whitespace).next().unwrap_or("");
            let command = before.is_empty()
                || AFTER_WORD.contains(&last_word)
                || (AFTER_OPERATOR.iter().any(|o| before.ends_with(o)) && !before.ends_with("(("));
            Some((end, name, command))
        })
        .collect()
}

/// Where `text` calls an `hv_` function (one of `functions`, or any word in a command's place)
/// that is not defined above the call. Function bodies are left out: they run when they are
/// called, and may name functions defined after them. (The libraries' functions start at the
/// start of a line, and end on that line or at a line of only `}` or `)`.)
fn calls_before_definitions(text: &str, functions: &BTreeSet<String>) -> Vec<String> {
    let mut defined = BTreeSet::new();
    let mut problems = Vec::new();
    let mut in_body = false;
    for (number, line) in text.lines().enumerate() {
        if in_body {
            in_body = line != "}" && line != ")";
            continue;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        for (end, word, command) in hv_words(line) {
            let after = &line[end..];
            if after.starts_with("()") {
                defined.insert(word.to_owned());
                let one_line = line.ends_with('}') || line.ends_with(')');
                in_body = line.starts_with(word) && !one_line;
                break;
            }
            let assigned = after.starts_with('=');
            if !assigned && !defined.contains(word) && (functions.contains(word) || command) {
                problems.push(format!(
                    "line {}: `{word}` is not defined yet: {line}",
                    number + 1
                ));
            }
        }
    }
    problems
}

/// `shellcheck`, or a failure that says how to get it (in CI as well as locally: a check that
/// cannot run must not pass).
fn shellcheck() -> Command {
    let found = Command::new("shellcheck")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("shellcheck is not installed on this CI machine: run scripts/install-deps");
        }
        panic!(
            "shellcheck is not installed: run scripts/install-deps (Debian package `shellcheck`)"
        );
    }
    Command::new("shellcheck")
}

#[test]
fn assembled_scripts_pass_shellcheck_and_sh_n() {
    let scripts = every_script();
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(keep) = std::env::var_os("HANDOVER_SCRIPTS_OUT") {
        std::fs::create_dir_all(&keep).expect("mkdir");
        write_scripts(Path::new(&keep), &scripts);
    }
    let paths = write_scripts(dir.path(), &scripts);
    for (path, (name, _)) in paths.iter().zip(&scripts) {
        let out = Command::new("/bin/sh")
            .arg("-n")
            .arg(path)
            .output()
            .expect("run /bin/sh -n");
        assert!(
            out.status.success(),
            "{name}: not valid sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut check = shellcheck();
    check.args(["--shell=sh", "--severity=warning", "--format=gcc"]);
    if !EXCLUDED.is_empty() {
        check.arg(format!("--exclude={}", EXCLUDED.join(",")));
    }
    let out = check.args(&paths).output().expect("run shellcheck");
    let report = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // Keep the scripts for reading the findings against.
        let kept = dir.keep();
        panic!(
            "shellcheck finds problems in the assembled scripts (kept in {}):\n{report}{}",
            kept.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn what_a_phase_reads_and_does_not_set_is_in_the_contract() {
    let listed: BTreeSet<&str> = names(CONTRACT).into_iter().map(|(_, n)| n).collect();
    let mut problems = Vec::new();
    for (name, text) in isolated_phases() {
        let (read, set) = variables(&text);
        for variable in read.difference(&set) {
            if !listed.contains(variable) {
                problems.push(format!(
                    "{name}: reads ${variable}, which neither it nor its prepare_teardown sets: list it in shared.sh"
                ));
            }
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_contract_names_only_what_the_scripts_use() {
    let mut used = BTreeSet::new();
    let texts = isolated_phases().into_iter().chain(every_script());
    for (_, text) in texts {
        used.extend(names(&text).into_iter().map(|(_, n)| n.to_owned()));
    }
    let stale: Vec<&str> = names(CONTRACT)
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| !n.ends_with('_') && !used.contains(*n))
        .collect();
    assert!(
        stale.is_empty(),
        "shared.sh lists names no script uses: {stale:?}"
    );
}

#[test]
fn variables_read_and_set_are_found() {
    let (read, set) = variables(
        "hv_a=1; echo \"$hv_b ${hv_c:-} ${HV_D:-x}\"\n# $hv_e\nIFS=: read -r hv_f hv_g < x; for hv_h in 1; do :; done\nHV_LINE=$1 awk",
    );
    assert_eq!(read, ["HV_D", "hv_b", "hv_c"].into());
    assert_eq!(set, ["HV_LINE", "hv_a", "hv_f", "hv_g", "hv_h"].into());
}

#[test]
fn every_function_is_defined_before_it_is_called() {
    let phases = isolated_phases();
    let functions: BTreeSet<String> = phases
        .iter()
        .flat_map(|(_, text)| text.lines())
        .flat_map(|line| {
            hv_words(line)
                .into_iter()
                .filter(|(end, _, _)| line[*end..].starts_with("()"))
                .map(|(_, word, _)| word.to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(functions.contains("hv_fact") && functions.contains("hv_sshd_reload"));
    let mut problems = Vec::new();
    for (name, text) in &phases {
        for problem in calls_before_definitions(text, &functions) {
            problems.push(format!("{name}: {problem}"));
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn calls_before_definitions_are_found() {
    let functions: BTreeSet<String> = ["hv_a".to_owned()].into();
    let text = "hv_x=1; echo \"$hv_x ${hv_y} $((hv_z + 1))\"\nhv_a\nhv_a() { :; }\nhv_a; hv_b\n# hv_c\nhv_expect id hv_a\nhv_d() {\n  hv_e\n}\nhv_d";
    assert_eq!(
        calls_before_definitions(text, &functions),
        [
            "line 2: `hv_a` is not defined yet: hv_a",
            "line 4: `hv_b` is not defined yet: hv_a; hv_b",
            "line 6: `hv_expect` is not defined yet: hv_expect id hv_a",
        ]
    );
}
