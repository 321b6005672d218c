//! Rotating a lent password: an existing account (the admin's own, a staff account) that the
//! vendor is lent gets a fresh random password for the window; at teardown its original hash is
//! restored (`restore`) or another fresh password is set and handed to the customer (`rotate`),
//! and the sessions opened during the window are ended.
//!
//! The original hash is kept in the grant record (mode 0600) as the apply step's fact; it
//! travels to the host on the script's stdin (`chpasswd -e`), never in argv.

use super::login::{self, Login};
use super::window::{self, Since};
use super::{Checks, Context, Credentials, Step, require_tools};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::secret::Secret;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happens to a lent password after the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum After {
    /// Put the original password back.
    Restore,
    /// Set a new random password, shown (or sealed) to the customer at teardown.
    Rotate,
}

impl After {
    /// What a lent account's description says happens afterwards.
    pub(super) fn describe(self) -> &'static str {
        match self {
            After::Restore => "the original restored",
            After::Rotate => "a new one set",
        }
    }
}

/// A lent account's part of the credentials: `label NAME` and the window's password, and the
/// name in `--json`'s `lent`.
pub(super) fn hand_over_lent(out: &mut Credentials, label: &'static str, name: String, password: Secret) {
    out.line(label, name.as_str());
    out.line("password", password.expose());
    out.lent.push((name, password));
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatePassword {
    /// An existing account (validated as a name; may be a system account the customer lends).
    pub account: String,
    pub after: After,
}

impl RotatePassword {
    /// Where the original hash and last-change date are also kept ON THE HOST, root-only, for
    /// the expiry guard's removal script: it is built before the original is known and holds
    /// no secret, and it restores from here (`HASH:LASTCHG:BOOT:SESSION`: with the window's
    /// start, so the guard ends the window's sessions too). (The hash came from /etc/shadow on
    /// that host.)
    fn host_copy(&self, ctx: &Context) -> (String, String) {
        let dir = super::lent_dir(ctx);
        let file = format!("{dir}/{}", self.account);
        (dir, file)
    }

    /// Set `hv_wu`, `hv_wb`, `hv_ws`: the arguments of the `window.sh` functions for this
    /// account.
    fn window_args(&self, s: &mut Script, since: &Since) {
        s.cmd("  hv_wu=$(id -u {} 2>/dev/null || true)", &[&self.account]);
        since.set_args(s);
    }
}


impl Step for RotatePassword {
    fn footprint(&self, grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.rotated(&self.account);
        own.tree(&format!("{}/{grant}-lent", super::HOST_STATE));
    }

    fn describe(&self) -> String {
        let after = self.after.describe();
        format!(
            "a random password for the existing account `{}` for the window; afterwards {after} and its sessions ended",
            self.account
        )
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn rotates_at_teardown(&self) -> bool {
        self.after == After::Rotate
    }

    fn lent(&self) -> Option<String> {
        Some(self.account.clone())
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        hand_over_lent(out, "lent", self.account.clone(), password);
    }

    fn prepare_teardown(&self, _ctx: &Context, s: &mut Script) {
        s.raw(window::LIB);
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(s, checks, &[("chpasswd", "passwd"), ("chage", "passwd")]);
        // The lent password must work where the vendor uses it: an SSH login.
        login::functions(s);
        let login = Login {
            account: &self.account,
            existing: true,
            addr: login::TYPICAL_ADDR.to_owned(),
            password_login: false,
            key: false,
        };
        login::preflight(
            s,
            checks,
            &login,
            " (the lent password would not work: lend another account, or change the host's policy)",
        );
        let name = self.account.as_str();
        let id = checks.add(
            "exists",
            format!("account `{name}` exists with a local password (--rotate)"),
        );
        s.cmd("hv_expect {} getent shadow {}", &[&id, name]);
        // The original, in the write-ahead record: a crash before the apply step reported
        // must not leave teardown without it.
        s.cmd("hv_entry=$(getent shadow {} || true)", &[name]);
        s.raw("hv_fact keep.hash \"$(printf '%s' \"$hv_entry\" | cut -d: -f2)\"");
        s.raw("hv_fact keep.lastchg \"$(printf '%s' \"$hv_entry\" | cut -d: -f3)\"");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        s.cmd("hv_entry=$(getent shadow {})", &[name]);
        s.raw("hv_fact hash \"$(printf '%s' \"$hv_entry\" | cut -d: -f2)\"");
        s.raw("hv_fact lastchg \"$(printf '%s' \"$hv_entry\" | cut -d: -f3)\"");
        let (dir, file) = self.host_copy(ctx);
        super::make_state_dir(s, &dir);
        s.cmd(
            "printf '%s:%s:%s\\n' \"$(printf '%s' \"$hv_entry\" | cut -d: -f2,3)\" \"$(cat /proc/sys/kernel/random/boot_id)\" \"$(cat /proc/self/sessionid 2>/dev/null || true)\" > {}",
            &[&file],
        );
        window::record_start(
            s,
            &format!(
                "this host records no login uids (no pam_loginuid in its sshd PAM stack): teardown cannot tell the window's sessions of `{name}` from others and will not end them; log them out by hand afterwards"
            ),
        );
        match ctx.password {
            Some(password) => {
                let line = Secret::new(format!("{name}:{}", password.expose()));
                s.with_secret_stdin("chpasswd", &[], &line);
            }
            None => {
                s.raw("echo 'no password to set (internal error)' >&2; exit 1");
            }
        }
        s.cmd(
            "hv_fact window \"$(getent shadow {} | cut -d: -f2 | sha256sum | cut -c1-64)\"",
            &[name],
        );
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        s.cmd("if getent shadow {} >/dev/null; then", &[name]);
        // The expiry guard's script: neither a password nor the original hash, both come from
        // the host's own copy.
        let from_copy = ctx.password.is_none() && !ctx.facts.contains_key("hash");
        match (ctx.password, ctx.facts.get("hash")) {
            (Some(password), _) => {
                let line = Secret::new(format!("{name}:{}", password.expose()));
                s.with_secret_stdin("  chpasswd", &[], &line);
            }
            (None, Some(hash)) => {
                let line = Secret::new(format!("{name}:{hash}"));
                s.with_secret_stdin("  chpasswd -e", &[], &line);
                if let Some(lastchg) = ctx.facts.get("lastchg").filter(|d| !d.is_empty()) {
                    s.cmd("  chage -d {} -- {}", &[lastchg, name]);
                }
            }
            (None, None) => {
                // Not in the record (the expiry guard's script): from the host's own copy. The
                // apply step writes it before it changes the password, so without a copy the
                // password was never changed, or was restored already: nothing to put back.
                let (_, file) = self.host_copy(ctx);
                s.cmd("  if [ -f {} ]; then", &[&file]);
                // With the window's start (boot, session; none in a copy an older handover
                // wrote), so that the guard ends the window's sessions too.
                s.cmd("    IFS=: read -r hv_h hv_d hv_wb hv_ws < {}", &[&file]);
                s.cmd("    printf '%s:%s\\n' {} \"$hv_h\" | chpasswd -e", &[name]);
                s.cmd(
                    "    if [ -n \"$hv_d\" ]; then chage -d \"$hv_d\" -- {}; fi",
                    &[name],
                );
                s.raw("  fi");
            }
        }
        // Then end the window's sessions: with the lent password gone, none can be reopened.
        if let Some(since) = Since::recorded(ctx.facts) {
            self.window_args(s, &since);
            s.raw("  hv_window_close \"$hv_wu\" \"$hv_wb\" \"$hv_ws\"");
        } else if from_copy {
            // The expiry guard's script: the window's start is in the host's copy.
            s.cmd(
                "  if [ -n \"${{hv_wb:-}}\" ]; then hv_wu=$(id -u {} 2>/dev/null || true); hv_window_close \"$hv_wu\" \"$hv_wb\" \"$hv_ws\"; fi",
                &[name],
            );
        } else if window::logins_unrecorded(ctx.facts) {
            s.cmd(
                "  hv_note warning {}",
                &[&format!(
                    "the sessions of `{name}` opened during the window were not ended: the host records no login uids (pam_loginuid), so they cannot be told from others; log them out by hand"
                )],
            );
        }
        s.raw("fi");
        let (dir, file) = self.host_copy(ctx);
        s.cmd("rm -f -- {}", &[&file]);
        super::remove_state_dir(s, &dir);
    }

    /// The lent password locked (the account's owner keeps any key logins), the window's
    /// sessions ended.
    fn suspend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        s.raw(window::LIB);
        s.cmd(
            "case $(getent shadow {} | cut -d: -f2) in '!'*) ;; *) usermod --lock -- {} >/dev/null ;; esac",
            &[name, name],
        );
        if let Some(since) = Since::recorded(ctx.facts) {
            self.window_args(s, &since);
            s.raw("hv_window_close \"$hv_wu\" \"$hv_wb\" \"$hv_ws\"");
            let id = checks.add(
                "sessions-ended",
                format!("no login session of `{name}` opened during the window is left"),
            );
            s.cmd(
                "hv_window_left \"$hv_wu\" \"$hv_wb\" \"$hv_ws\" | hv_report {}",
                &[&id],
            );
        }
        let id = checks.add("locked", format!("the lent password of `{name}` is locked"));
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | cut -d: -f2 | cut -c1)\" = '!'",
            &[&id, name],
        );
    }

    fn rotation_name(&self) -> Option<String> {
        Some(self.account.clone())
    }

    /// A new window's password, then the window's sessions ended; the original (kept for
    /// teardown) is untouched.
    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        super::shadow_rotate(s, checks, name, ctx.password);
        s.cmd(
            "hv_fact window \"$(getent shadow {} | cut -d: -f2 | sha256sum | cut -c1-64)\"",
            &[name],
        );
        if let Some(since) = Since::recorded(ctx.facts) {
            s.raw(window::LIB);
            self.window_args(s, &since);
            s.raw("hv_window_close \"$hv_wu\" \"$hv_wb\" \"$hv_ws\"");
        }
    }

    fn resume(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        s.cmd(
            "case $(getent shadow {} | cut -d: -f2) in '!'?*) usermod --unlock -- {} >/dev/null ;; esac",
            &[name, name],
        );
        let id = checks.add("unlocked", format!("the lent password of `{name}` works again"));
        s.cmd(
            "hv_refute {} test \"$(getent shadow {} | cut -d: -f2 | cut -c1)\" = '!'",
            &[&id, name],
        );
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let id = checks.add(
            "changed",
            format!("`{name}` has the window's password, not its original"),
        );
        let original = crate::secret::line_digest(ctx.facts.get("hash").map_or("", String::as_str));
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | cut -d: -f2 | sha256sum | cut -c1-64)\" != {}",
            &[&id, name, &original],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        if let Some(since) = Since::recorded(ctx.facts) {
            let id = checks.add(
                "sessions",
                format!("no login session of `{name}` opened during the window is left"),
            );
            self.window_args(s, &since);
            s.cmd(
                "hv_window_left \"$hv_wu\" \"$hv_wb\" \"$hv_ws\" | hv_report {}",
                &[&id],
            );
        }
        let (_, file) = self.host_copy(ctx);
        let id = checks.add(
            "copy",
            format!("no copy of `{name}`'s original password hash is left in {file}"),
        );
        s.cmd("hv_refute {} test -e {}", &[&id, &file]);
        let window = ctx.facts.get("window").map_or("", String::as_str);
        let id = checks.add(
            "window",
            format!("the password lent for `{name}` no longer works"),
        );
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | cut -d: -f2 | sha256sum | cut -c1-64)\" != {}",
            &[&id, name, window],
        );
        if self.after == After::Restore {
            let original =
                crate::secret::line_digest(ctx.facts.get("hash").map_or("", String::as_str));
            let id = checks.add(
                "restored",
                format!("`{name}` has its original password again"),
            );
            s.cmd(
                "hv_expect {} test \"$(getent shadow {} | cut -d: -f2 | sha256sum | cut -c1-64)\" = {}",
                &[&id, name, &original],
            );
        }
    }
}
