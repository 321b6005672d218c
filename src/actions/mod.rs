//! Actions: typed operations a playbook composes. Each one knows how to check the host before
//! changing it (`preflight`), change it (`apply`), take the change back (`undo`, idempotent:
//! "already gone" is success), and verify both (`verify_present`, `verify_absent`).
//!
//! Actions do not talk to the host themselves: each contributes shell text to the one script
//! the engine sends per phase, so a whole provision is a couple of remote executions. The
//! record stores every applied action with its parameters, so teardown works from the record
//! alone even if the playbook changed since.
//!
//! An action kind is one file here, holding its whole story: its parameters ([`Step`]), its
//! playbook shape ([`Template`]), its scripts, its footprint (what the drift report leaves out)
//! and what it hands over ([`Credentials`]). The registry (`kinds!` below) lists every kind
//! once; `docs/architecture.md` says how to add one.
//!
//! The shell the actions send lives in `.sh` files next to them (`user.sh`, `sshd_dropin.sh`,
//! …), included whole. What those fragments share at run time — the variables and functions
//! one sets for another, across actions and across the phases of a script, and when — is one
//! contract: `src/actions/shared.sh`. `scripts/test` runs shellcheck over each file, and
//! `shellcheck_tests` over the scripts they make together.

mod credentials;
pub mod db_sql;
mod login;
pub mod sshd_dropin;
mod template;
mod window;

#[cfg(test)]
mod shellcheck_tests;

pub use credentials::{CmsLogin, Credentials, DbLogin};
pub use db::{cms_configs, read_cms_db_name};
pub use db_sql::{DbAdmin, DbEngine};
pub use recording::{DIR as RECORDINGS_ROOT, RecordMode};
pub use rotate::After;
pub use template::{PlanError, Planning, Template};
pub use user::expire_date;
pub use window::WindowProcess;
pub use wp_admin::valid_login as valid_wp_login;
pub use wp_admin::valid_site_url;

use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::secret::Secret;
use crate::shell::Script;
pub use crate::shell::protocol::{CheckSpec, Checks};
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
    pub password: Option<&'a Secret>,
    /// The grant's own teardown (cut off, undo in reverse, verify) without the expiry guard,
    /// for the guard to leave on the host; only while building the apply script.
    pub removal: Option<&'a Script>,
    /// The database administrator's password (`--db-admin-password-env`), if one is needed.
    pub db_admin_password: Option<&'a Secret>,
}

#[cfg(test)]
impl<'a> Context<'a> {
    /// A context for tests: no password, no removal script, the epoch as the expiry.
    pub(crate) fn for_test(
        grant: &'a GrantId,
        account: &'a crate::input::AccountName,
        facts: &'a BTreeMap<String, String>,
    ) -> Context<'a> {
        Context {
            grant,
            account,
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
            facts,
            password: None,
            removal: None,
            db_admin_password: None,
        }
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
    /// What the action creates on the host's persistence surface (`facts`: what it learned
    /// applying), left out of the drift report: the grant's own things are no back-door. An
    /// action that changes only the scope (reported in the CMS part), a database (not on the
    /// surface), or what it could not name (a `shell` action's changes are reported like
    /// anyone's) adds nothing.
    fn footprint(&self, _grant: &GrantId, _facts: &BTreeMap<String, String>, _own: &mut Footprint) {
    }
    /// Hand the fresh password this action asked for (`wants_password`) to the vendor's
    /// credentials, with what the vendor needs to use it.
    fn hand_over(&self, _password: Secret, _out: &mut Credentials) {}
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
    /// `handover extend`: shell text (under `set -e`) moving the action's part of the grant's
    /// expiry to `ctx.expires_at`, with checks that it moved; it may print facts replacing its
    /// recorded ones. Nothing for an action that holds no expiry.
    fn extend(&self, _ctx: &Context, _s: &mut Script, _checks: &mut Checks) {}
    /// `handover suspend`: shell text (under `set -e`) shutting the vendor out of what the
    /// action gives (the account locked, its sessions and processes ended, the firewall
    /// closed), removing nothing, with checks that it is shut. Nothing for an action that is
    /// no way in of its own (an ACL, a sudoers rule: the locked account cannot use them).
    fn suspend(&self, _ctx: &Context, _s: &mut Script, _checks: &mut Checks) {}
    /// `handover resume`: what [`Step::suspend`] shut, open again as it was, with checks.
    fn resume(&self, _ctx: &Context, _s: &mut Script, _checks: &mut Checks) {}
    /// Why the grant cannot be suspended because of this action, if so (asked before any
    /// change).
    fn unsuspendable(&self) -> Option<String> {
        None
    }
    /// The name `handover rotate --only` knows this action's password by, when it has one
    /// that rotate changes.
    fn rotation_name(&self) -> Option<String> {
        None
    }
    /// `handover rotate`: shell text (under `set -e`) giving the action's login the new
    /// password `ctx.password`, so the old one is refused, and ending its sessions, with
    /// checks; it may print facts replacing its recorded ones.
    fn rotate(&self, _ctx: &Context, _s: &mut Script, _checks: &mut Checks) {}
}

/// The registry of action kinds. Each line is a module of `src/actions/` with its type and
/// the kind's name in playbooks and records; the kinds a playbook may name also have a
/// `Template` in their module (their `[[actions]]` fields). Adding a kind is one new file and
/// one line here.
macro_rules! kinds {
    (
        playbook { $($pm:ident :: $pt:ident = $pn:literal,)* }
        command_line { $($cm:ident :: $ct:ident = $cn:literal,)* }
    ) => {
        $(mod $pm; pub use $pm::$pt;)*
        $(mod $cm; pub use $cm::$ct;)*

        /// Every action kind, as stored in records (with its parameters).
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum Action {
            $(#[serde(rename = $pn)] $pt($pt),)*
            $(#[serde(rename = $cn)] $ct($ct),)*
        }

        impl Action {
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Action::$pt(_) => $pn,)*
                    $(Action::$ct(_) => $cn,)*
                }
            }

            fn step(&self) -> &dyn Step {
                match self {
                    $(Action::$pt(a) => a,)*
                    $(Action::$ct(a) => a,)*
                }
            }
        }

        /// An action as a playbook states it: its kind and fields, with `{NAME}`
        /// placeholders; grant-specific values are filled in when it is planned.
        ///
        /// In the file the kind is a field (`kind = "acl"`), but playbooks deserialize this
        /// as an externally tagged enum: serde's internally tagged enums buffer the fields,
        /// and toml's errors then lose the line they are about.
        #[derive(Clone, Debug, Deserialize)]
        pub enum ActionTemplate {
            $(#[serde(rename = $pn)] $pt($pm::Template),)*
        }

        impl ActionTemplate {
            fn template(&self) -> &dyn Template {
                match self {
                    $(ActionTemplate::$pt(t) => t,)*
                }
            }
        }
    };
}

kinds! {
    playbook {
        user::User = "user",
        password::Password = "password",
        acl::Acl = "acl",
        sudo::Sudo = "sudo",
        config_line::ConfigLine = "config-line",
        shell::Shell = "shell",
        sftp::SftpJail = "sftp-jail",
        db::DbUser = "db-user",
        wp_admin::WpAdmin = "wp-admin",
        wp_lend::WpLend = "wp-lend",
    }
    command_line {
        firewall::Firewall = "firewall",
        rotate::RotatePassword = "rotate-password",
        sshd::SshdMatch = "sshd-match",
        expiry::ExpiryGuard = "expiry-guard",
        db_rotate::RotateDbUser = "rotate-db-user",
        recording::Recording = "recording",
    }
}

impl Template for ActionTemplate {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        self.template().strings()
    }
    fn needs_account(&self) -> bool {
        self.template().needs_account()
    }
    fn check(&self) -> Result<(), (&'static str, String)> {
        self.template().check()
    }
    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        self.template().plan(p)
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
    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        self.step().hand_over(password, out);
    }
    fn footprint(&self, grant: &GrantId, facts: &BTreeMap<String, String>, own: &mut Footprint) {
        self.step().footprint(grant, facts, own);
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
    fn extend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().extend(ctx, s, checks);
    }
    fn suspend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().suspend(ctx, s, checks);
    }
    fn resume(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().resume(ctx, s, checks);
    }
    fn unsuspendable(&self) -> Option<String> {
        self.step().unsuspendable()
    }
    fn rotation_name(&self) -> Option<String> {
        self.step().rotation_name()
    }
    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.step().rotate(ctx, s, checks);
    }
}

/// Where actions keep state on the host, each grant in its own entry: `GRANT` (the expiry
/// guard), `GRANT-lent`, `GRANT-config`, `GRANT-firewalld`.
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

/// `rotate` of a system account: `password` set through `chpasswd` (on stdin), checked by its
/// shadow hash no longer being the one before.
pub(crate) fn shadow_rotate(
    s: &mut Script,
    checks: &mut Checks,
    name: &str,
    password: Option<&Secret>,
) {
    let Some(password) = password else {
        s.raw("echo 'no password to set (internal error)' >&2; exit 1");
        return;
    };
    s.cmd("hv_before=$(getent shadow {} | cut -d: -f2)", &[name]);
    let line = Secret::new(format!("{name}:{}", password.expose()));
    s.with_secret_stdin("chpasswd", &[], &line);
    let id = checks.add(
        "new-password",
        format!("`{name}` has its new password: the old one is refused"),
    );
    s.cmd(
        "hv_after=$(getent shadow {} | cut -d: -f2); if [ -n \"$hv_after\" ] && [ \"$hv_after\" != \"$hv_before\" ]; then hv_ok {}; else hv_fail {}; fi",
        &[name, &id, &id],
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
