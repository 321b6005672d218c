//! Lending an existing WordPress account (its administrator, say): a fresh random password for
//! the window, its logins ended at the start; at teardown its original password hash back
//! (`restore`) or another fresh password handed to the customer (`rotate`), and the logins
//! opened during the window ended. Like `--rotate` for a Linux account.
//!
//! The original hash is in the grant record before anything changes (preflight's fact), and a
//! copy on the host, root-only, for the expiry guard's removal (built before the original is
//! known, holding no secret). It reaches WordPress's PHP on fd 3, never argv. All through
//! WordPress's own PHP as the owner of the site's files (`crate::site`).

use super::{Checks, Context, Credentials, PlanError, Planning, Step, After};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::secret::Secret;
use crate::shell::Script;
use crate::site;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WpLend {
    /// The site's directory (the scope).
    pub site: String,
    /// The existing WordPress user's login.
    pub login: String,
    pub after: After,
}

impl WpLend {
    /// The name it is lent by in the credentials and teardown's new passwords.
    fn label(&self) -> String {
        format!("wordpress:{}", self.login)
    }

    /// Where its PHP runs: a lent user (and its password) is the whole network's.
    fn wp(&self) -> site::Site<'_> {
        site::Site::main(&self.site)
    }

    /// The host's root-only copy of the original hash, for the expiry guard.
    fn host_copy(&self, ctx: &Context) -> (String, String) {
        let dir = super::lent_dir(ctx);
        let file = format!("{dir}/wordpress-{}", self.login);
        (dir, file)
    }
}

impl Step for WpLend {
    fn footprint(&self, grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.tree(&format!("{}/{grant}-lent", super::HOST_STATE));
    }

    fn describe(&self) -> String {
        let after = self.after.describe();
        format!(
            "a random password for the existing WordPress user `{}` of the site in {} for the window, its logins ended; afterwards {after} and the window's logins ended",
            self.login, self.site
        )
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn rotates_at_teardown(&self) -> bool {
        self.after == After::Rotate
    }

    fn lent(&self) -> Option<String> {
        Some(self.label())
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        super::rotate::hand_over_lent(out, "lent", self.label(), password);
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(site::LIB);
        let id = checks.add(
            "wp-lent-exists",
            format!(
                "WordPress user `{}` exists in the site in {} (--param user / --rotate-wp-user)",
                self.login, self.site
            ),
        );
        site::wordpress_if_present(s, self.wp(), "lent-facts", [&self.login, "", "", ""]);
        site::value(s, "exists");
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = 1 ]; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_o\" | grep -v '^hv ' | hv_detail {}; fi",
            &[&id, &id, &id],
        );
        // The original, in the write-ahead record: a crash before the apply step reported
        // must not leave teardown without it.
        site::value(s, "hash");
        s.raw("if [ -n \"$hv_v\" ]; then hv_fact keep.hash \"$hv_v\"; fi");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let Some(password) = ctx.password else {
            s.raw("echo 'no password to set (internal error)' >&2; exit 1");
            return;
        };
        s.raw(site::LIB);
        // The host's copy first: the guard restores from it, so it must exist before the
        // password changes.
        site::wordpress(s, self.wp(), "lent-facts", [&self.login, "", "", ""], None);
        site::fail_unless_answered(s);
        site::value(s, "hash");
        s.raw("if [ -z \"$hv_v\" ]; then echo 'no password hash to keep' >&2; exit 1; fi");
        let (state_dir, file) = self.host_copy(ctx);
        super::make_state_dir(s, &state_dir);
        s.cmd("(umask 077; printf '%s\\n' \"$hv_v\" > {})", &[&file]);
        s.raw("hv_fact hash \"$hv_v\"");
        site::wordpress(s, self.wp(), "lend", [&self.login, "", "", ""], Some(password));
        site::fail_unless_answered(s);
        site::value(s, "digest");
        s.raw("hv_fact window \"$hv_v\"");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        s.raw(site::LIB);
        let (state_dir, file) = self.host_copy(ctx);
        match (ctx.password, ctx.facts.get("hash")) {
            // `--after rotate`: a new password, handed to the customer.
            (Some(password), _) => {
                site::wordpress(s, self.wp(), "lend", [&self.login, "", "", ""], Some(password));
                site::fail_unless_answered(s);
            }
            (None, Some(hash)) => {
                let hash = Secret::new(hash.clone());
                site::wordpress(s, self.wp(), "restore-hash", [&self.login, "", "", ""], Some(&hash));
                site::fail_unless_answered(s);
            }
            // The expiry guard's script: the original from the host's own copy; without a copy
            // the password was never changed, or was restored already.
            (None, None) => {
                s.cmd("if [ -f {} ]; then", &[&file]);
                site::wordpress_from_file(s, self.wp(), "restore-hash", &self.login, &file);
                site::fail_unless_answered(s);
                s.raw("fi");
            }
        }
        s.cmd("rm -f -- {}", &[&file]);
        super::remove_state_dir(s, &state_dir);
    }

    /// The lent user locked like a temporary administrator (its owner too cannot log in with
    /// the window's password until resume, teardown or the expiry guard).
    fn suspend(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        super::wp_admin::lock(s, checks, self.wp(), &self.login, true);
    }

    fn resume(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        super::wp_admin::lock(s, checks, self.wp(), &self.login, false);
    }

    fn rotation_name(&self) -> Option<String> {
        Some(self.label())
    }

    /// A new window's password; the original, kept for teardown, is untouched.
    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        super::wp_admin::wp_rotate(s, checks, self.wp(), &self.login, ctx.password);
        s.raw("hv_fact window \"$hv_v\"");
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(site::LIB);
        site::wordpress(s, self.wp(), "digest", [&self.login, "", "", ""], None);
        site::value(s, "digest");
        let original = crate::secret::line_digest(ctx.facts.get("hash").map_or("", String::as_str));
        let id = checks.add(
            "wp-lent-changed",
            format!(
                "WordPress user `{}` has the window's password, not its original",
                self.login
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ -n \"$hv_v\" ] && [ \"$hv_v\" != {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[&original, &id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.login.as_str();
        s.raw(site::LIB);
        site::wordpress(s, self.wp(), "digest", [name, "", "", ""], None);
        let id = checks.add(
            "wp-lent-window",
            format!("the password lent for WordPress user `{name}` no longer works"),
        );
        let window = ctx.facts.get("window").map_or("", String::as_str);
        site::value(s, "digest");
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ -n \"$hv_v\" ] && [ \"$hv_v\" != {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[window, &id, &id],
        );
        if self.after == After::Restore && ctx.facts.contains_key("hash") {
            let original =
                crate::secret::line_digest(ctx.facts.get("hash").map_or("", String::as_str));
            let id = checks.add(
                "wp-lent-restored",
                format!("WordPress user `{name}` has its original password again"),
            );
            s.cmd(
                "if [ \"$hv_v\" = {} ]; then hv_ok {}; else hv_fail {}; fi",
                &[&original, &id, &id],
            );
        }
        let id = checks.add(
            "wp-lent-logins",
            format!("no login of WordPress user `{name}` opened during the window is left"),
        );
        site::value(s, "sessions");
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = 0 ]; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
        let (_, file) = self.host_copy(ctx);
        let id = checks.add(
            "wp-lent-copy",
            format!("no copy of `{name}`'s original password hash is left in {file}"),
        );
        s.cmd("hv_refute {} test -e {}", &[&id, &file]);
    }
}

/// `kind = "wp-lend"`: lend the existing WordPress user `user` of the site in the scope.
/// `after`: `restore` (default) or `rotate`, unless the command line's `--after` says.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    user: String,
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![("user", &self.user)]
    }

    fn plan(&self, p: &Planning) -> Result<super::Action, PlanError> {
        let scope = p.scope()?;
        let login = p.fill(&self.user)?;
        if !super::wp_admin::valid_login(&login) {
            return Err(PlanError::Invalid(format!(
                "user `{}` must be a WordPress login: up to 60 letters, digits, spaces, `_`, `.`, `-` and `@`",
                login.escape_debug()
            )));
        }
        Ok(super::Action::WpLend(WpLend {
            site: scope.as_str().to_owned(),
            login,
            // The command line's --after, set by the engine.
            after: After::Restore,
        }))
    }
}
