//! Playbook files: parse arbitrary text, and when it parses, plan it for a grant and build every
//! script the engine would send (preflight, apply, teardown, the expiry guard's removal).
//!
//! Input: the playbook's TOML, then optionally a NUL byte and `--param` lines (`NAME=VALUE`,
//! one a line). Each parsed playbook is planned twice, without and with a scope.
//!
//! Checks: nothing panics (debug assertions included: the script builder asserts its
//! templates and here-documents); and for every plan
//! - each `shell` action's commands substitute with the values the plan gave it (else the
//!   plan was accepted but its apply script would only fail on the host);
//! - `acl` paths are valid scopes, `sudo` commands carry no tag or line break, a `config-line`
//!   is one line (teardown removes the line by exact match);
//! - the plan survives the grant record's JSON round trip unchanged (teardown works from the
//!   record alone);
//! - without `shell` actions (whose program text is the author's), every script is valid `sh`
//!   syntax (`/bin/sh -n`): no value, whatever it holds, breaks the quoting.

#![no_main]

use handover::actions::{Action, Checks, Context, ExpiryGuard, SshdMatch, Step};
use handover::input::{AccountName, ScopeDir};
use handover::playbook::{PlanInput, Playbook, substitute};
use handover::ids::GrantId;
use handover::secret::Secret;
use handover::shell::{OnStepFailure, Script};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

fuzz_target!(|data: &[u8]| {
    let (toml, params) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(toml) else {
        return;
    };
    // Substitution on its own, with the whole text as the template.
    let values: BTreeMap<String, String> = ["account", "home", "scope", "grant"]
        .into_iter()
        .map(|n| (n.to_owned(), format!("it's {n} $(id)")))
        .collect();
    let plain = substitute(text, &values, false);
    let quoted = substitute(text, &values, true);
    assert_eq!(plain.is_ok(), quoted.is_ok(), "{text:?}");

    let Ok(playbook) = Playbook::parse("fuzz", text) else {
        return;
    };
    let params: Vec<(String, String)> = String::from_utf8_lossy(params)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let grant = GrantId::parse("20261123-abcdef").expect("grant");
    let account = AccountName::parse("--account", "support-abc123").expect("account");
    let scope = ScopeDir::parse("/var/www/it's a $(cms)").expect("scope");
    for scope in [None, Some(&scope)] {
        let input = PlanInput {
            grant: &grant,
            account: &account,
            scope,
            expire_date: "2026-11-25",
            params: &params,
        };
        let Ok(mut plan) = playbook.plan(&input) else {
            continue;
        };
        check_plan(&plan);
        // What the engine adds around a playbook's plan.
        if playbook.creates_account() {
            plan.push(Action::SshdMatch(SshdMatch::new(&account, &[])));
        }
        plan.push(Action::ExpiryGuard(ExpiryGuard::new(&grant, &account)));
        for action in &mut plan {
            if let Action::DbUser(db) = action
                && db.database.is_none()
            {
                // Read from the CMS config at preflight.
                db.database = Some("cms".to_owned());
            }
        }
        let scripts = scripts(&plan, &grant, &account);
        if !plan.iter().any(|a| matches!(a, Action::Shell(_))) {
            for script in &scripts {
                check_syntax(script);
            }
        }
    }
});

fn check_plan(plan: &[Action]) {
    for action in plan {
        match action {
            Action::Shell(shell) => {
                let templates = [
                    Some(&shell.apply),
                    Some(&shell.undo),
                    shell.preflight.as_ref(),
                    shell.verify_present.as_ref(),
                    shell.verify_absent.as_ref(),
                ];
                for template in templates.into_iter().flatten() {
                    if let Err(e) = substitute(template, &shell.values, true) {
                        panic!("planned shell action cannot be built: {e}");
                    }
                }
            }
            Action::Acl(acl) => {
                let scope = ScopeDir::parse(&acl.scope).expect("acl path is a scope");
                assert_eq!(scope.as_str(), acl.scope);
            }
            Action::Sudo(sudo) => {
                assert!(!sudo.commands.is_empty());
                assert!(
                    !sudo
                        .commands
                        .chars()
                        .any(|c| c.is_control() || matches!(c, ':' | '#' | '\\' | '!')),
                    "sudo commands {:?}",
                    sudo.commands
                );
            }
            Action::ConfigLine(line) => {
                assert!(
                    !line.line.is_empty() && !line.line.contains('\n'),
                    "config-line {:?} is not one line",
                    line.line
                );
            }
            _ => {}
        }
    }
    let json = serde_json::to_string(plan).expect("serialize plan");
    let back: Vec<Action> = serde_json::from_str(&json).expect("record round trip");
    assert_eq!(serde_json::to_string(&back).expect("serialize"), json);
}

struct GrantCtx<'a> {
    grant: &'a GrantId,
    account: &'a AccountName,
    expires_at: time::OffsetDateTime,
    facts: &'a BTreeMap<String, String>,
    password: &'a Secret,
}

impl<'a> GrantCtx<'a> {
    /// What `action` sees of the grant; a password only when building a script that sets one.
    fn of(&self, action: &Action, removal: Option<&'a Script>, with_password: bool) -> Context<'a> {
        Context {
            grant: self.grant,
            account: self.account,
            expires_at: self.expires_at,
            facts: self.facts,
            password: (with_password && action.wants_password()).then_some(self.password),
            removal,
            db_admin_password: None,
        }
    }
}

/// The preflight, apply and teardown scripts, built as the engine builds them.
fn scripts(plan: &[Action], grant: &GrantId, account: &AccountName) -> Vec<String> {
    let facts = BTreeMap::new();
    let password = Secret::new("Fuzz'Pass $(id)".to_owned());
    let expires_at = time::OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");
    let grant_ctx = GrantCtx {
        grant,
        account,
        expires_at,
        facts: &facts,
        password: &password,
    };
    let ctx =
        |action: &Action, removal, with_password| grant_ctx.of(action, removal, with_password);
    for action in plan {
        let _ = action.describe();
        let _ = action.lent();
        let _ = action.rotates_at_teardown();
    }

    let mut preflight = Script::new();
    let mut checks = Checks::default();
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        action.preflight(&ctx(action, None, false), &mut preflight, &mut checks);
    }

    let teardown = |include: &dyn Fn(&Action) -> bool| {
        let mut s = Script::new();
        s.lock_host();
        let entries = || plan.iter().enumerate().filter(|(_, a)| include(a));
        for (_, action) in entries() {
            action.prepare_teardown(&ctx(action, None, false), &mut s);
        }
        s.step(plan.len(), OnStepFailure::Continue, |s| {
            for (_, action) in entries() {
                action.cut_off(&ctx(action, None, false), s);
            }
        });
        for (index, action) in entries().rev() {
            s.step(index, OnStepFailure::Continue, |s| {
                action.undo(&ctx(action, None, true), s)
            });
        }
        let mut checks = Checks::default();
        for (index, action) in entries() {
            checks.for_action(index);
            action.verify_absent(&ctx(action, None, false), &mut s, &mut checks);
        }
        s
    };
    let removal = teardown(&|a| !matches!(a, Action::ExpiryGuard(_)));
    let mut apply = Script::new();
    apply.lock_host();
    for (index, action) in plan.iter().enumerate() {
        let ctx = ctx(action, Some(&removal), true);
        apply.step(index, OnStepFailure::Stop, |s| action.apply(&ctx, s));
    }
    let mut checks = Checks::default();
    for (index, action) in plan.iter().enumerate() {
        checks.for_action(index);
        action.verify_present(&ctx(action, None, false), &mut apply, &mut checks);
    }
    let full = teardown(&|_| true);
    [preflight, apply, full]
        .iter()
        .map(|s| s.text().to_owned())
        .collect()
}

/// `/bin/sh -n`: the script parses.
fn check_syntax(script: &str) {
    let mut child = Command::new("/bin/sh")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /bin/sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("sh -n");
    assert!(
        out.status.success(),
        "script does not parse: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}
