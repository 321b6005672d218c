//! The temporary account: created with its own new home, marked as the grant's own in its
//! comment field, expiring on the host at the TTL (whole days), its login starting in the scope.

use super::window::{self, Since};
use super::{Action, PlanError, Planning};
use super::{Checks, Context, Step, require_tools};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::AccountName;
use crate::shell::{Script, quote};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What teardown runs (`user.sh`): the ids it works with, ending the account's processes, its
/// group. Defined at teardown's top level, so every step after it has them.
pub(super) const LIB: &str = include_str!("user.sh");

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub account: AccountName,
    /// Always a new directory under /home that did not exist before.
    pub home: String,
    pub shell: String,
    /// `YYYY-MM-DD`: the first day the host refuses the account (`useradd --expiredate`).
    pub expire_date: String,
    /// Where an interactive login starts (the scope), if any.
    pub login_dir: Option<String>,
}

impl User {
    /// The comment (GECOS) that marks the account as this grant's: teardown deletes an
    /// account only when it carries this mark, never an account it did not create.
    fn mark(ctx: &Context) -> String {
        format!("handover grant {}", ctx.grant)
    }

    /// Which of the account's logins are the window's: those after the provisioning login
    /// (a process left from an earlier account that had the same uid is not), or, before
    /// apply recorded that (the expiry guard's script), all of them: the account is new.
    fn since<'a>(ctx: &Context<'a>) -> Since<'a> {
        match Since::recorded(ctx.facts) {
            Some(Since::Session { session: "", .. }) | None => Since::Always,
            Some(since) => since,
        }
    }

    /// Set `hv_wb` and `hv_ws` for the `window.sh` functions.
    fn window_args(ctx: &Context, s: &mut Script) {
        Self::since(ctx).set_args(s);
    }
}

/// The first day (UTC) on which the host refuses the account: the day after the expiry, since
/// account expiry works in whole days (exact-time removal is a separate action).
pub fn expire_date(expires_at: time::OffsetDateTime) -> String {
    let day = expires_at.date().next_day().unwrap_or(expires_at.date());
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

impl Step for User {
    fn footprint(&self, _grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.account(self.account.as_str());
        own.tree(&self.home);
    }

    fn describe(&self) -> String {
        format!(
            "account `{}` with home {} and shell {}, disabled by the host from {}",
            self.account, self.home, self.shell, self.expire_date
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(
            s,
            checks,
            &[
                ("useradd", "passwd"),
                ("usermod", "passwd"),
                ("userdel", "passwd"),
                ("getent", "libc-bin"),
                ("pkill", "procps"),
                ("pgrep", "procps"),
                ("runuser", "util-linux"),
            ],
        );
        let name = self.account.as_str();
        let id = checks.add(
            "absent",
            format!("no account named `{name}` exists yet (choose another --account)"),
        );
        s.cmd("hv_refute {} getent passwd {}", &[&id, name]);
        let id = checks.add(
            "group-absent",
            format!("no group named `{name}` exists yet (choose another --account)"),
        );
        s.cmd("hv_refute {} getent group {}", &[&id, name]);
        let id = checks.add(
            "home-absent",
            format!(
                "`{}` does not exist yet (the account gets a new home of its own)",
                self.home
            ),
        );
        s.cmd("hv_refute {} test -e {}", &[&id, &self.home]);
        // useradd would fail at apply on a read-only /home; said here, before anything
        // changes. `test -w` is access(2), which answers EROFS even to root.
        let parent = self.home.rsplit_once('/').map_or("/", |(p, _)| p);
        let parent = if parent.is_empty() { "/" } else { parent };
        let id = checks.add(
            "home-writable",
            format!(
                "root can write in {parent}, for the account's new home (a read-only {parent}: remount it read-write for the window, `mount -o remount,rw {parent}`)"
            ),
        );
        s.cmd(
            "if [ ! -e {} ] || {{ [ -d {} ] && [ -w {} ]; }}; then hv_ok {}; else hv_fail {}; fi",
            &[parent, parent, parent, &id, &id],
        );
        let id = checks.add("shell", format!("shell `{}` is installed", self.shell));
        s.cmd("hv_expect {} test -x {}", &[&id, &self.shell]);
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        // useradd -m reuses an existing directory without a word: never hand one over.
        s.cmd(
            "if [ -e {} ]; then echo {} >&2; exit 1; fi",
            &[&self.home, &format!("home {} exists already", self.home)],
        );
        s.cmd(
            "useradd --create-home --home-dir {} --shell {} --comment {} --expiredate {} --user-group -- {}",
            &[&self.home, &self.shell, &Self::mark(ctx), &self.expire_date, name],
        );
        s.cmd("hv_fact uid \"$(id -u -- {})\"", &[name]);
        s.cmd("hv_fact gid \"$(id -g -- {})\"", &[name]);
        window::record_start(
            s,
            &format!(
                "this host records no login uids (no pam_loginuid in its sshd PAM stack): teardown cannot tell the processes `{name}` starts as another user (through sudo or su) from others; it ends only those running as `{name}`"
            ),
        );
        if let Some(dir) = &self.login_dir {
            // Nobody can log in yet (no password), so writing into the new home is race-free.
            let line = format!("cd -- {} 2>/dev/null || true", quote(dir));
            s.cmd(
                "printf '\\n# handover: start in the directory you may work in\\n%s\\n' {} >> {}/.profile",
                &[&line, &self.home],
            );
        }
    }

    fn prepare_teardown(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        let uid = ctx.facts.get("uid").map_or("", String::as_str);
        let gid = ctx.facts.get("gid").map_or("", String::as_str);
        // The ids to work with, and whether the account is the grant's (`user.sh`); the
        // functions stay defined for the steps after this (shared.sh), with those that end
        // the window's processes (`window.sh`).
        s.raw(LIB);
        s.raw(window::LIB);
        s.cmd(
            "hv_user_ids {} {} {} {}",
            &[name, &Self::mark(ctx), uid, gid],
        );
    }

    fn cut_off(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        // Lock first so nothing new starts, then end every process until none is left.
        s.cmd(
            "if [ -n \"$hv_ours\" ]; then usermod --lock --expiredate 1 --shell /usr/sbin/nologin -- {} >/dev/null; fi",
            &[name],
        );
        // Its crontab and at jobs go first, so none starts while its processes end.
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then hv_user_jobs {} \"$hv_uid\"; fi",
            &[name],
        );
        // Every process of its logins, whatever user it runs as (a root shell through sudo),
        // each named, system services left running; then whatever still runs as the account.
        Self::window_args(ctx, s);
        s.raw("if [ -n \"$hv_uid\" ]; then hv_window_close \"$hv_uid\" \"$hv_wb\" \"$hv_ws\"; hv_end_sessions \"$hv_uid\"; fi");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        s.cmd("if getent passwd {} >/dev/null; then", &[name]);
        let foreign = format!(
            "account {name} exists but was not created by grant {}: left alone",
            ctx.grant
        );
        s.cmd(
            "  if [ -z \"$hv_ours\" ]; then echo {} >&2; exit 1; fi",
            &[&foreign],
        );
        s.raw("  hv_end_sessions \"$hv_uid\"");
        // Remove the home only when it is the new directory the grant created.
        s.cmd(
            "  if [ \"$(getent passwd {} | cut -d: -f6)\" = {} ]; then userdel --remove -- {} || [ $? -eq 12 ]; else userdel -- {}; fi",
            &[name, &self.home, name, name],
        );
        s.raw("fi");
        let gid = ctx.facts.get("gid").map_or("", String::as_str);
        s.cmd("hv_user_groupdel {} {}", &[name, gid]);
        // A home left behind (userdel exit 12, or an account deleted by hand) is removed
        // only if it is still owned by the grant's uid.
        s.cmd(
            "if [ -n \"$hv_uid\" ] && [ -d {} ] && [ \"$(stat -c %u -- {})\" = \"$hv_uid\" ]; then rm -rf --one-file-system -- {}; fi",
            &[&self.home, &self.home, &self.home],
        );
        s.cmd(
            "rm -f -- /var/mail/{} /var/spool/mail/{} 2>/dev/null || true",
            &[name, name],
        );
    }

    fn extend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let day = expire_date(ctx.expires_at);
        s.cmd("usermod --expiredate {} -- {}", &[&day, name]);
        // shadow keeps the day as days since the epoch.
        let days = (ctx.expires_at.date().next_day().unwrap_or(ctx.expires_at.date())
            - time::Date::from_ordinal_date(1970, 1).unwrap_or(time::Date::MIN))
        .whole_days();
        let id = checks.add(
            "expiry-moved",
            format!("the host disables `{name}` from {day}"),
        );
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | cut -d: -f8)\" = {}",
            &[&id, name, &days.to_string()],
        );
    }

    /// Locked (its password, and its expiry set to the past, which refuses key logins too),
    /// then every process of its logins ended; its files, crontab and at jobs stay (the host
    /// runs no job of an expired account).
    fn suspend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        self.prepare_teardown(ctx, s);
        let foreign = format!(
            "account {name} is not the one grant {} created: left alone",
            ctx.grant
        );
        s.cmd("if [ -z \"$hv_ours\" ]; then echo {} >&2; exit 1; fi", &[&foreign]);
        s.cmd("usermod --lock --expiredate 1 -- {} >/dev/null", &[name]);
        Self::window_args(ctx, s);
        s.raw("hv_window_close \"$hv_uid\" \"$hv_wb\" \"$hv_ws\"; hv_end_sessions \"$hv_uid\"");
        let id = checks.add(
            "locked",
            format!("`{name}` is locked: its password refused and the account expired"),
        );
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | awk -F: '$2 ~ /^!/ && $8 == 1 {{ print \"locked\" }}')\" = locked",
            &[&id, name],
        );
        let id = checks.add("stopped", format!("no process runs as `{name}`"));
        s.cmd("hv_refute {} pgrep -u \"$hv_uid\"", &[&id]);
    }

    /// Unlocked, with the grant's expiry day back.
    fn resume(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        // Only a password that suspend locked: `!` alone is an account without one.
        s.cmd(
            "case $(getent shadow {} | cut -d: -f2) in '!'?*) usermod --unlock -- {} >/dev/null ;; esac",
            &[name, name],
        );
        self.extend(ctx, s, checks);
        let id = checks.add("unlocked", format!("`{name}`'s password is not locked"));
        s.cmd(
            "hv_expect {} test \"$(getent shadow {} | awk -F: '$2 == \"!\" || $2 !~ /^!/ {{ print \"open\" }}')\" = open",
            &[&id, name],
        );
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let id = checks.add("present", format!("account `{name}` exists"));
        s.cmd("hv_expect {} getent passwd {}", &[&id, name]);
        let id = checks.add("home", format!("home {} belongs to `{name}`", self.home));
        s.cmd(
            "hv_expect {} test \"$(stat -c %U -- {} 2>/dev/null)\" = {}",
            &[&id, &self.home, name],
        );
        let id = checks.add(
            "expiry",
            format!("the host disables `{name}` from {}", self.expire_date),
        );
        s.cmd(
            "hv_expect {} test -n \"$(getent shadow {} | cut -d: -f8)\"",
            &[&id, name],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let id = checks.add("passwd", format!("no passwd entry named `{name}`"));
        s.cmd("hv_refute {} getent passwd {}", &[&id, name]);
        let id = checks.add("shadow", format!("no shadow entry named `{name}`"));
        s.cmd("hv_refute {} getent shadow {}", &[&id, name]);
        let id = checks.add("group", format!("no group named `{name}`"));
        s.cmd("hv_refute {} getent group {}", &[&id, name]);
        let id = checks.add("uid", "no account with the grant's uid");
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then hv_refute {} getent passwd \"$hv_uid\"; else hv_ok {}; fi",
            &[&id, &id],
        );
        let id = checks.add("home", format!("home {} is gone", self.home));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.home]);
        let id = checks.add(
            "jobs",
            format!("no crontab of `{name}` and no at job of the grant's uid"),
        );
        s.cmd(
            "hv_user_jobs_left {} \"${{hv_uid:-}}\" | hv_report {}",
            &[name, &id],
        );
        let id = checks.add(
            "window",
            format!("no process of `{name}`'s logins is left, whatever user it runs as (but the system services named as left running)"),
        );
        Self::window_args(ctx, s);
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then hv_window_left \"$hv_uid\" \"$hv_wb\" \"$hv_ws\" | hv_report {}; else hv_ok {}; fi",
            &[&id, &id],
        );
        let id = checks.add("processes", "no process runs with the grant's uid");
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then pgrep -l -u \"$hv_uid\" | hv_report {}; else hv_ok {}; fi",
            &[&id, &id],
        );
    }
}

/// `kind = "user"`: the temporary account.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(default = "default_shell")]
    shell: String,
}

fn default_shell() -> String {
    "/bin/bash".to_owned()
}

impl super::Template for Template {
    fn check(&self) -> Result<(), (&'static str, String)> {
        let shell = &self.shell;
        let ok = shell.starts_with('/')
            && shell
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
        if ok {
            Ok(())
        } else {
            Err((
                "shell",
                format!(
                    "user shell `{}` is not an absolute path",
                    shell.escape_debug()
                ),
            ))
        }
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        Ok(Action::User(User {
            account: p.account.clone(),
            home: format!("/home/{}", p.account),
            shell: self.shell.clone(),
            expire_date: p.expire_date.to_owned(),
            login_dir: p.scope.map(|s| s.as_str().to_owned()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_day_is_the_day_after() {
        let t = time::macros::datetime!(2026-11-23 23:30 UTC);
        assert_eq!(expire_date(t), "2026-11-24");
    }
}
