//! The temporary account's random password, set through `chpasswd` on stdin.

use super::{Action, PlanError, Planning};
use super::{Checks, Context, Credentials, Step, require_tools};
use crate::input::AccountName;
use crate::secret::Secret;
use crate::shell::Script;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Password {
    pub account: AccountName,
}

impl Step for Password {
    fn describe(&self) -> String {
        format!(
            "a random password for `{}` (shown once, never stored)",
            self.account
        )
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        out.line("account", self.account.as_str());
        out.line("password", password.expose());
        out.password = Some(password);
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(s, checks, &[("chpasswd", "passwd"), ("passwd", "passwd")]);
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        match ctx.password {
            Some(password) => {
                // `chpasswd` reads `name:password`; the here-document keeps it out of argv.
                let line = Secret::new(format!("{}:{}", self.account, password.expose()));
                s.with_secret_stdin("chpasswd", &[], &line);
            }
            None => {
                s.raw("echo 'no password to set (internal error)' >&2; exit 1");
            }
        }
    }

    fn undo(&self, _ctx: &Context, s: &mut Script) {
        // Lock the password if the account is still there; the user action deletes it.
        s.cmd(
            "if [ -n \"$hv_ours\" ] && getent passwd {} >/dev/null; then usermod --lock -- {} >/dev/null; fi",
            &[self.account.as_str(), self.account.as_str()],
        );
    }

    fn rotation_name(&self) -> Option<String> {
        Some("account".to_owned())
    }

    /// A new password, then every process of the account ended (its logins with the old one).
    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        super::shadow_rotate(s, checks, name, ctx.password);
        s.cmd("hv_uid=$(id -u -- {})", &[name]);
        s.raw(super::user::LIB);
        s.raw("hv_end_sessions \"$hv_uid\"");
        let id = checks.add("stopped", format!("no process of `{name}` is left"));
        s.cmd("hv_refute {} pgrep -u \"$hv_uid\"", &[&id]);
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let id = checks.add("usable", format!("`{name}` has a usable password"));
        s.cmd(
            "hv_expect {} test \"$(passwd -S -- {} | cut -d' ' -f2)\" = P",
            &[&id, name],
        );
    }

    fn verify_absent(&self, _ctx: &Context, _s: &mut Script, _checks: &mut Checks) {
        // The password lives in the account's shadow entry, verified absent by the user action.
    }
}

/// `kind = "password"`: the temporary account's random password.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {}

impl super::Template for Template {
    fn needs_account(&self) -> bool {
        true
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        Ok(Action::Password(Password {
            account: p.account.clone(),
        }))
    }
}
