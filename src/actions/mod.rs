//! Actions: typed operations a playbook composes. Each one knows how to check the host before
//! changing it (`preflight`), change it (`apply`), take the change back (`undo`, idempotent:
//! "already gone" is success), and verify both (`verify_present`, `verify_absent`).
//!
//! Actions do not talk to the host themselves: each contributes shell text to the one script
//! the engine sends per phase, so a whole provision is a couple of remote executions. The
//! record stores every applied action with its parameters, so teardown works from the record
//! alone even if the playbook changed since.
//!
//! The shell the actions send lives in `.sh` files next to them (`user.sh`, `sshd_dropin.sh`,
//! …), included whole. What those fragments share at run time — the variables and functions
//! one sets for another, across actions and across the phases of a script, and when — is one
//! contract: `src/actions/shared.sh`. `scripts/test` runs shellcheck over each file, and
//! `shellcheck_tests` over the scripts they make together.

mod acl;
mod config_line;
mod db;
mod db_rotate;
pub mod db_sql;
mod expiry;
mod firewall;
mod password;
mod rotate;
mod sftp;
mod shell;
mod sshd;
pub mod sshd_dropin;
mod sudo;
mod user;

#[cfg(test)]
mod shellcheck_tests;

pub use acl::Acl;
pub use config_line::ConfigLine;
pub use db::DbUser;
pub use db_rotate::RotateDbUser;
pub use db_sql::{DbAdmin, DbEngine};
pub use expiry::ExpiryGuard;
pub use firewall::Firewall;
pub use password::Password;
pub use rotate::{After, RotatePassword};
pub use sftp::SftpJail;
pub use shell::Shell;
pub use sshd::SshdMatch;
pub use sudo::Sudo;
pub use user::User;

use crate::record::GrantId;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What every action knows about the grant it belongs to when it builds script text.
pub struct Context<'a> {
    pub grant: &'a GrantId,
    pub account: &'a crate::input::AccountName,
    pub expires_at: time::OffsetDateTime,
    /// Values this action learned on the host while applying, as recorded.
    pub facts: &'a BTreeMap<String, String>,
    /// The fresh password this action asked for (`wants_password`), or the one teardown made
    /// for it (`rotates_at_teardown`); never recorded.
    pub password: Option<&'a crate::secret::Secret>,
    /// The grant's own teardown (cut off, undo in reverse, verify) without the expiry guard,
    /// for the guard to leave on the host; only while building the apply script.
    pub removal: Option<&'a Script>,
    /// The database administrator's password (`--db-admin-password-env`), if one is needed.
    pub db_admin_password: Option<&'a crate::secret::Secret>,
}

/// A check the host answers with `check ok|fail ID`; the description says what passing means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    pub id: String,
    pub description: String,
}

/// Collects the checks of one script, giving each a unique id.
#[derive(Debug, Default)]
pub struct Checks {
    specs: Vec<CheckSpec>,
    action: usize,
}

impl Checks {
    /// Following checks belong to action `index` (used in their ids).
    pub fn for_action(&mut self, index: usize) {
        self.action = index;
    }

    /// Register a check and return its id for the script.
    pub fn add(&mut self, key: &str, description: impl Into<String>) -> String {
        let id = format!("{}.{}", self.action, key);
        self.specs.push(CheckSpec {
            id: id.clone(),
            description: description.into(),
        });
        id
    }

    pub fn specs(&self) -> &[CheckSpec] {
        &self.specs
    }
}

/// The operations every action kind implements.
pub trait Step {
    /// One line for humans: what this action gives or changes.
    fn describe(&self) -> String;
    /// Whether apply needs a fresh random password (`Context::password`).
    fn wants_password(&self) -> bool {
        false
    }
    /// Whether teardown sets a new random password (shown to the customer) rather than
    /// putting the original back (`--after rotate`).
    fn rotates_at_teardown(&self) -> bool {
        false
    }
    /// The lent account's name as the customer knows it, for actions that lend one.
    fn lent(&self) -> Option<String> {
        None
    }
    /// Checks that change nothing; a failing check stops provision before any change.
    fn preflight(&self, ctx: &Context, s: &mut Script, checks: &mut Checks);
    /// Shell text run under `set -e`; may print `fact KEY VALUE` lines for the record.
    fn apply(&self, ctx: &Context, s: &mut Script);
    /// Top-level shell text run first at teardown (defines variables later steps use).
    fn prepare_teardown(&self, _ctx: &Context, _s: &mut Script) {}
    /// Shell text run under `set -e` at teardown before any undo: cut off entry, end sessions.
    fn cut_off(&self, _ctx: &Context, _s: &mut Script) {}
    /// Shell text run under `set -e`; must succeed when the change is already gone.
    fn undo(&self, ctx: &Context, s: &mut Script);
    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks);
    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks);
}

/// Every action kind, as stored in playbooks (kind only) and records (with parameters).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    User(User),
    Password(Password),
    Acl(Acl),
    Sudo(Sudo),
    ConfigLine(ConfigLine),
    Shell(Shell),
    Firewall(Firewall),
    RotatePassword(RotatePassword),
    SftpJail(SftpJail),
    SshdMatch(SshdMatch),
    ExpiryGuard(ExpiryGuard),
    DbUser(DbUser),
    RotateDbUser(RotateDbUser),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::User(_) => "user",
            Action::Password(_) => "password",
            Action::Acl(_) => "acl",
            Action::Sudo(_) => "sudo",
            Action::ConfigLine(_) => "config-line",
            Action::Shell(_) => "shell",
            Action::Firewall(_) => "firewall",
            Action::RotatePassword(_) => "rotate-password",
            Action::SftpJail(_) => "sftp-jail",
            Action::SshdMatch(_) => "sshd-match",
            Action::ExpiryGuard(_) => "expiry-guard",
            Action::DbUser(_) => "db-user",
            Action::RotateDbUser(_) => "rotate-db-user",
        }
    }

    fn step(&self) -> &dyn Step {
        match self {
            Action::User(a) => a,
            Action::Password(a) => a,
            Action::Acl(a) => a,
            Action::Sudo(a) => a,
            Action::ConfigLine(a) => a,
            Action::Shell(a) => a,
            Action::Firewall(a) => a,
            Action::RotatePassword(a) => a,
            Action::SftpJail(a) => a,
            Action::SshdMatch(a) => a,
            Action::ExpiryGuard(a) => a,
            Action::DbUser(a) => a,
            Action::RotateDbUser(a) => a,
        }
    }
}

impl Step for Action {
    fn describe(&self) -> String {
        self.step().describe()
    }
    fn wants_password(&self) -> bool {
        self.step().wants_password()
    }
    fn rotates_at_teardown(&self) -> bool {
        self.step().rotates_at_teardown()
    }
    fn lent(&self) -> Option<String> {
        self.step().lent()
    }
    fn preflight(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().preflight(ctx, s, checks);
    }
    fn apply(&self, ctx: &Context, s: &mut Script) {
        self.step().apply(ctx, s);
    }
    fn prepare_teardown(&self, ctx: &Context, s: &mut Script) {
        self.step().prepare_teardown(ctx, s);
    }
    fn cut_off(&self, ctx: &Context, s: &mut Script) {
        self.step().cut_off(ctx, s);
    }
    fn undo(&self, ctx: &Context, s: &mut Script) {
        self.step().undo(ctx, s);
    }
    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().verify_present(ctx, s, checks);
    }
    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().verify_absent(ctx, s, checks);
    }
}

/// Where actions keep state on the host, each grant in its own entry: `GRANT` (the expiry
/// guard), `GRANT-lent`, `GRANT-config`.
pub const HOST_STATE: &str = "/var/lib/handover";

/// The grant's root-only copies of what lent accounts had before the window (system and
/// database accounts alike), for the expiry guard to restore from.
pub(crate) fn lent_dir(ctx: &Context) -> String {
    format!("{HOST_STATE}/{}-lent", ctx.grant)
}

/// Make `dir` (one of the grant's entries under [`HOST_STATE`]), and `HOST_STATE` itself if it
/// is missing, root-only.
pub(crate) fn make_state_dir(s: &mut Script, dir: &str) {
    s.cmd("(umask 077 && mkdir -p -- {})", &[dir]);
}

/// Remove `dir` (one of the grant's entries under [`HOST_STATE`]) if it is empty, then
/// `HOST_STATE` itself if nothing else is left in it: whichever action is undone last leaves
/// no trace, in whatever order a crash left them.
pub(crate) fn remove_state_dir(s: &mut Script, dir: &str) {
    s.cmd(
        "rmdir -- {} 2>/dev/null || true; rmdir -- {} 2>/dev/null || true",
        &[dir, HOST_STATE],
    );
}

/// Preflight check that each tool is on the host, naming the Debian package that has it.
pub(crate) fn require_tools(
    s: &mut Script,
    checks: &mut Checks,
    tools: &[(&'static str, &'static str)],
) {
    for (tool, package) in tools {
        let id = checks.add(
            &format!("tool-{tool}"),
            format!("`{tool}` is installed (Debian package `{package}`)"),
        );
        s.cmd("hv_expect {} command -v {}", &[&id, tool]);
    }
}
