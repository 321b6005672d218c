//! The scripts a grant sends: apply (with the removal the expiry guard leaves on the host) and
//! teardown. Each action contributes its shell text; the engine orders it into steps.

use crate::actions::{Action, Checks, Context, Credentials, Step};
use crate::audit::{self, Baseline};
use crate::record::{ActionRecord, ActionStatus, GrantRecord};
use crate::secret::{Secret, generate_password};
use crate::shell::{OnStepFailure, Script};

/// What the teardown script does after verifying: compare with a baseline, or only hand the
/// removed account's leftovers to root.
pub enum Tail<'a> {
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
pub fn sweeps_everywhere(record: &GrantRecord) -> bool {
    !matches!(record.level.as_str(), "user" | "app")
}

/// What `entry` sees of its grant when it builds script text.
pub fn context<'a>(
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

/// The apply script: every action applied as a step, then verified present. Each action that
/// wants a password gets a fresh one here (`shared` for the temporary account's, in a batch
/// with one password for every host), and hands it straight to the credentials: the secret
/// goes with its action and nowhere else.
pub fn apply_script(
    record: &GrantRecord,
    shared: Option<&Secret>,
    admin: Option<&Secret>,
) -> (Script, Checks, Credentials) {
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
        &mut Fresh::None,
        None,
        |action| !matches!(action, Action::ExpiryGuard(_)),
        &Tail::Sweep {
            everywhere: sweeps_everywhere(record),
        },
    );
    let mut script = Script::new();
    let mut credentials = Credentials::default();
    script.lock_host();
    for (index, entry) in record.actions.iter().enumerate() {
        let password = entry
            .action
            .wants_password()
            .then(|| match (&entry.action, shared) {
                (Action::Password(_), Some(shared)) => shared.clone(),
                _ => generate_password(),
            });
        let ctx = Context {
            removal: Some(&removal),
            ..context(record, entry, password.as_ref(), admin)
        };
        script.step(index, OnStepFailure::Stop, |s| entry.action.apply(&ctx, s));
        if let Some(password) = password {
            entry.action.hand_over(password, &mut credentials);
        }
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
    (script, checks, credentials)
}

/// Fresh passwords at teardown: for lent accounts that get a new random one (`--after
/// rotate`), each collected with the account's name as it is made.
pub enum Fresh {
    /// None: lent accounts get their originals back (a rollback, the expiry guard's removal).
    None,
    /// `(lent account, new password)`, in the record's order.
    Rotate(Vec<(String, Secret)>),
}

/// The teardown script: cut off entry and end sessions, undo every action not yet undone in
/// reverse, then verify every action absent.
pub fn teardown_script(
    record: &GrantRecord,
    fresh: &mut Fresh,
    admin: Option<&Secret>,
    tail: &Tail,
) -> (Script, Checks, String) {
    teardown_script_of(record, fresh, admin, |_| true, tail)
}

/// The teardown script of the actions `include` accepts (step and check ids stay those of
/// the whole record), then the `tail` (with the tag of its lines).
fn teardown_script_of(
    record: &GrantRecord,
    fresh: &mut Fresh,
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
        if entry.status == ActionStatus::Undone {
            continue;
        }
        let password = match fresh {
            Fresh::Rotate(made) if entry.action.rotates_at_teardown() => {
                entry.action.lent().map(|lent| {
                    let password = generate_password();
                    made.push((lent, password.clone()));
                    password
                })
            }
            _ => None,
        };
        let ctx = context(record, entry, password.as_ref(), admin);
        script.step(index, OnStepFailure::Continue, |s| {
            entry.action.undo(&ctx, s)
        });
    }
    if let Fresh::Rotate(made) = fresh {
        // Made in reverse (undo order); shown in the record's order.
        made.reverse();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ExpiryGuard;
    use crate::ids::GrantId;
    use crate::input::{AccountName, ScopeDir};
    use crate::playbook::{PlanInput, Playbook};
    use crate::record::{GrantState, HostRecord, RECORD_VERSION};
    use std::collections::BTreeMap;

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
            backup: None,
            batch: None,
            recordings: None,
            requester: None,
        };
        let (script, checks, credentials) = apply_script(&record, Some(password), None);
        assert_eq!(
            credentials.password.as_ref().map(Secret::expose),
            Some(password.expose()),
            "the temporary account's password goes to the credentials"
        );
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
            &mut Fresh::None,
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
            teardown_script(&record, &mut Fresh::None, None, &Tail::None)
                .0
                .text(),
        ] {
            assert!(sh_syntax_ok(text), "not valid sh:\n{text}");
        }
    }
}
