//! The expiry guard: the host itself removes the grant at the expiry, to the second, even if
//! nobody ever runs `handover teardown` and the customer's laptop is gone. (The account's
//! expiry date works in whole days only.)
//!
//! The engine appends it last to every plan. Applying it leaves a root-only script,
//! `/var/lib/handover/GRANT/remove`, holding the grant's own teardown (cut off, undo in
//! reverse, verify: everything but this guard; then, as teardown does, the account's leftover
//! files handed to root, so no later account given its uid inherits them), and schedules it
//! with what the host has, in this order: a transient systemd timer (`systemd-run
//! --on-calendar`, when systemd is PID 1), an `at` job (when atd runs), a file in
//! `/etc/cron.d` (when cron runs). at and cron work in whole minutes: the job starts at the
//! minute at or before the expiry and sleeps the remaining seconds. When it has run, nothing
//! of it is left: it removes its cron file and its directory, atd and systemd drop their own
//! job.
//!
//! Teardown cancels it. The two never both remove: the script only goes on if it can rename
//! the directory's `armed` file, and teardown removes that file first (waiting for a job that
//! got it first to finish).

use super::{Checks, Context, Step};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::AccountName;
use crate::shell::{Script, quote};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where guards keep their scripts: root's only, one directory per grant.
const BASE: &str = super::HOST_STATE;

/// The guard's shell functions (`expiry.sh`): finding a scheduler, scheduling, the removal
/// script's own start and end, and cancelling.
const LIB: &str = include_str!("expiry.sh");

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryGuard {
    pub account: AccountName,
    /// `/var/lib/handover/GRANT`: the removal script and the guard's state.
    pub dir: String,
    /// The cron file it writes when cron is the scheduler.
    pub cron_file: String,
    /// The transient systemd units' name (`.timer` and `.service`) when systemd is.
    pub unit: String,
}

impl ExpiryGuard {
    pub fn new(grant: &GrantId, account: &AccountName) -> ExpiryGuard {
        ExpiryGuard {
            account: account.clone(),
            dir: format!("{BASE}/{grant}"),
            cron_file: format!("/etc/cron.d/handover-{grant}"),
            unit: format!("handover-expiry-{grant}"),
        }
    }

    fn script_path(&self) -> String {
        format!("{}/remove", self.dir)
    }

    /// Script text: schedule the removal script at `ctx.expires_at` with the host's scheduler
    /// (`expiry.sh` says how, for each); `$hv_t` is when the job starts.
    fn schedule(&self, ctx: &Context, s: &mut Script) {
        let command = format!("/bin/sh {} >/dev/null 2>&1", quote(&self.script_path()));
        let when = ctx.expires_at.unix_timestamp().to_string();
        s.raw("hv_now=$(date +%s); hv_backend=$(hv_guard_scheduler || true)");
        s.raw("case $hv_backend in");
        s.cmd(
            "systemd) hv_guard_systemd {} \"$hv_now\" {} {} {} ;;",
            &[
                &when,
                &self.unit,
                &format!("handover: remove grant {} at its expiry", ctx.grant),
                &self.script_path(),
            ],
        );
        s.cmd("at) hv_guard_at {} \"$hv_now\" {} ;;", &[&when, &command]);
        s.cmd(
            "cron) hv_guard_cron {} \"$hv_now\" {} {} {} {} ;;",
            &[
                &when,
                &command,
                &self.cron_tmp(),
                &self.cron_file,
                &cron_dir(&self.cron_file),
            ],
        );
        s.raw("*) echo 'no scheduler runs on the host (systemd, atd or cron)' >&2; exit 1 ;;");
        s.raw("esac");
        s.raw("hv_fact backend \"$hv_backend\"; hv_fact starts_at \"$hv_t\"");
    }

    /// Script text: cancel the scheduled job (the recorded one and any other that runs the
    /// script), leaving the script and `armed` in place.
    fn cancel(&self, ctx: &Context, s: &mut Script) {
        // The recorded at job and any other that runs the script (a crash may have lost the
        // fact); atrm on a running job only drops its spool file, and the job then stops at
        // `armed`.
        let job = ctx.facts.get("at_job").map_or("", String::as_str);
        s.cmd(
            "for hv_j in {} $(hv_guard_at_jobs {}); do if at -c \"$hv_j\" 2>/dev/null | grep -qF -- {}; then atrm -- \"$hv_j\" 2>/dev/null || true; fi; done",
            &[job, &self.script_path(), &self.script_path()],
        );
        let unit = ctx.facts.get("unit").unwrap_or(&self.unit);
        let timer = format!("{unit}.timer");
        let service = format!("{unit}.service");
        s.cmd(
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl stop -- {} {} >/dev/null 2>&1 || true; systemctl reset-failed -- {} {} >/dev/null 2>&1 || true; fi",
            &[&timer, &service, &timer, &service],
        );
        let cron_file = ctx.facts.get("cron_file").unwrap_or(&self.cron_file);
        s.cmd(
            "rm -f -- {} {} {}",
            &[cron_file, &self.cron_file, &self.cron_tmp()],
        );
    }

    /// Where the cron file is written before it is renamed into place; cron ignores names
    /// with a dot.
    fn cron_tmp(&self) -> String {
        match self.cron_file.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.{name}.tmp"),
            None => format!("{}.tmp", self.cron_file),
        }
    }

    /// The file the scheduler runs: wait for the exact second, take `armed`, remove the grant,
    /// log one line, remove every trace of itself.
    fn job(&self, ctx: &Context, removal: &Script) -> Script {
        let when = ctx.expires_at.unix_timestamp().to_string();
        let mut s = Script::new();
        let about = format!(
            "handover expiry guard: removes account {} and everything grant {} gave at {} (unix time), unless `handover teardown {}` cancels it first",
            self.account, ctx.grant, when, ctx.grant
        );
        // Values never go into comments: a quoted value is one word, not one line (`:` does
        // nothing with it).
        s.cmd(": {}", &[&about]);
        s.raw(LIB);
        s.cmd("hv_dir={}", &[&self.dir]);
        s.cmd("hv_guard_take \"$hv_dir\" {}", &[&when]);
        s.cmd("rm -f -- {} {}", &[&self.cron_file, &self.cron_tmp()]);
        s.raw("(");
        s.append(removal);
        s.raw(") > \"$hv_dir/log\" 2>&1");
        s.raw(r#"hv_failed=$(sed -n 's/^[^ ]* check fail //p' "$hv_dir/log" | tr '\n' ' ')"#);
        let done = format!(
            "grant {} expired: account {} and everything the grant gave were removed and verified absent",
            ctx.grant, self.account
        );
        let incomplete = format!(
            "grant {} expired: removing account {} is incomplete (run `handover teardown {}`); failed checks: ",
            ctx.grant, self.account, ctx.grant
        );
        s.cmd(
            "if [ -z \"$hv_failed\" ]; then hv_msg={}; else hv_msg={}\"$hv_failed\"; fi",
            &[&done, &incomplete],
        );
        s.raw("hv_guard_end \"$hv_dir\" \"$hv_msg\"");
        s.cmd("rmdir -- {} 2>/dev/null || true", &[BASE]);
        s
    }
}

/// The directory of a cron file (`/etc/cron.d`).
fn cron_dir(cron_file: &str) -> String {
    match cron_file.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_owned(),
        _ => "/".to_owned(),
    }
}

impl Step for ExpiryGuard {
    fn footprint(&self, _grant: &GrantId, facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.tree(&self.dir);
        own.path(&self.cron_file);
        // Written first as `/etc/cron.d/.NAME.tmp`, then renamed.
        own.path(&self.cron_tmp());
        // A transient timer and its service, with any drop-ins.
        for suffix in ["timer", "service"] {
            own.tree(&format!("/run/systemd/transient/{}.{suffix}", self.unit));
            own.tree(&format!("/run/systemd/transient/{}.{suffix}.d", self.unit));
        }
        if let Some(job) = facts.get("at_job").and_then(|j| j.parse::<u32>().ok()) {
            own.at_job(job);
        }
    }

    fn describe(&self) -> String {
        format!(
            "removal of `{}` and everything above by the host itself at the expiry, even if teardown never runs (script {}/remove, run by systemd, at or cron)",
            self.account, self.dir
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(LIB);
        let id = checks.add(
            "scheduler",
            "a scheduler runs on the host to remove the grant at the expiry by itself: \
             systemd as PID 1, or atd (install the Debian package `at` and start atd), \
             or cron (install the Debian package `cron` and start it)",
        );
        s.cmd("hv_expect {} hv_guard_scheduler", &[&id]);
        let id = checks.add(
            "base",
            format!("{BASE} is absent, or a directory of root's that no one else can write"),
        );
        s.cmd("hv_expect {} hv_guard_base_ok", &[&id]);
        let id = checks.add("dir-absent", format!("{} does not exist yet", self.dir));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.dir]);
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let Some(removal) = ctx.removal else {
            s.raw("echo 'no removal script for the expiry guard (internal error)' >&2; exit 1");
            return;
        };
        let job = self.job(ctx, removal);
        if job.holds_secret() {
            // Never write a secret to the host's disk.
            s.raw("echo 'the removal script would hold a secret (internal error)' >&2; exit 1");
            return;
        }
        s.raw(LIB);
        s.cmd("hv_dir={}", &[&self.dir]);
        s.cmd(
            "if [ ! -e {} ] && [ ! -L {} ]; then mkdir -m 0700 -- {}; fi",
            &[BASE, BASE, BASE],
        );
        s.cmd(
            "hv_guard_base_ok || { echo {} >&2; exit 1; }",
            &[&format!(
                "{BASE} is not a directory of root's that only root can write"
            )],
        );
        // mkdir fails if it exists: the directory is new, and ours.
        s.raw("mkdir -m 0700 -- \"$hv_dir\"");
        s.cmd("printf '%s' {} > \"$hv_dir/remove\"", &[job.text()]);
        s.raw("chmod 0700 -- \"$hv_dir/remove\"");
        s.raw(": > \"$hv_dir/armed\"");
        s.cmd(
            "printf '%s\\n' {} > \"$hv_dir/expires\"",
            &[&ctx.expires_at.unix_timestamp().to_string()],
        );
        self.schedule(ctx, s);
    }

    fn prepare_teardown(&self, _ctx: &Context, s: &mut Script) {
        s.raw(LIB);
        // A job that is removing the grant right now finishes first.
        s.cmd("hv_guard_wait {}", &[&self.dir]);
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        s.cmd("hv_dir={}", &[&self.dir]);
        // Disarm; if the job took `armed` first, let it finish.
        s.raw("if ! rm -- \"$hv_dir/armed\" 2>/dev/null; then hv_guard_wait \"$hv_dir\"; fi");
        self.cancel(ctx, s);
        s.raw("rm -rf -- \"$hv_dir\"");
        s.cmd("rmdir -- {} 2>/dev/null || true", &[BASE]);
    }

    /// `handover extend`: the same script, scheduled again for the new expiry (the old job
    /// cancelled first; while `armed` is there, a job that fires meanwhile removes the grant,
    /// as it should at the old time).
    fn extend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(LIB);
        let id = checks.add(
            "guard-armed",
            format!("the removal script {} is still armed", self.script_path()),
        );
        let expires = format!("{}/expires", self.dir);
        s.cmd(
            "if [ -f {} ] && [ -f {} ] && [ -f {} ]; then hv_ok {}; else hv_fail {}; echo 'the removal script is gone, or older than `handover extend` (no expires file): tear the grant down and provision again' >&2; exit 1; fi",
            &[&self.script_path(), &format!("{}/armed", self.dir), &expires, &id, &id],
        );
        // The time first: a job already waiting reads it when it wakes.
        let when = ctx.expires_at.unix_timestamp().to_string();
        s.cmd(
            "printf '%s\\n' {} > {} && mv -- {} {}",
            &[&when, &format!("{expires}.tmp"), &format!("{expires}.tmp"), &expires],
        );
        self.cancel(ctx, s);
        self.schedule(ctx, s);
        let id = checks.add(
            "guard-rescheduled",
            "the host removes the grant itself at the new expiry (its scheduler took the new time)",
        );
        s.cmd(
            "if [ -n \"$hv_t\" ] && [ \"$hv_t\" -le {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[&ctx.expires_at.unix_timestamp().to_string(), &id, &id],
        );
    }


    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(LIB);
        let script = self.script_path();
        let id = checks.add(
            "script",
            format!("the removal script {script} is root's, and only root can change or read it"),
        );
        s.cmd(
            "hv_expect {} test \"$(stat -c %u:%a -- {} 2>/dev/null)\" = 0:700 -a \"$(stat -c %u:%a -- {} 2>/dev/null)\" = 0:700 -a -f {}",
            &[&id, &self.dir, &script, &format!("{}/armed", self.dir)],
        );
        let id = checks.add(
            "scheduled",
            "the host will run the removal script at the expiry (systemd timer, at job or cron file)",
        );
        s.cmd(
            "if [ -d /run/systemd/system ] && systemctl is-active --quiet -- {}; then hv_ok {}; elif [ -n \"$(hv_guard_at_jobs {})\" ]; then hv_ok {}; elif grep -qF -- {} {} 2>/dev/null; then hv_ok {}; else hv_fail {}; fi",
            &[
                &format!("{}.timer", self.unit),
                &id,
                &script,
                &id,
                &script,
                &self.cron_file,
                &id,
                &id,
            ],
        );
    }

    fn verify_absent(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let script = self.script_path();
        let id = checks.add("at", "no at job runs the removal script");
        s.cmd("hv_guard_at_jobs {} | hv_report {}", &[&script, &id]);
        let id = checks.add("cron", format!("no cron file {}", self.cron_file));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.cron_file]);
        let id = checks.add(
            "systemd",
            format!("no systemd timer or service {}", self.unit),
        );
        s.cmd(
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl is-active -- {} {} 2>/dev/null | grep -vx -e inactive -e failed -e unknown | hv_report {}; else hv_ok {}; fi",
            &[
                &format!("{}.timer", self.unit),
                &format!("{}.service", self.unit),
                &id,
                &id,
            ],
        );
        let id = checks.add("dir", format!("{} is gone", self.dir));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.dir]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn guard() -> (GrantId, AccountName, ExpiryGuard) {
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        let account = AccountName::parse("--account", "support-abc123").expect("account");
        let guard = ExpiryGuard::new(&grant, &account);
        (grant, account, guard)
    }

    #[test]
    fn names_derive_from_the_grant() {
        let (_, _, g) = guard();
        assert_eq!(g.dir, "/var/lib/handover/20261123-abcdef");
        assert_eq!(g.script_path(), "/var/lib/handover/20261123-abcdef/remove");
        // cron skips names with a dot: the temporary file is never run.
        assert_eq!(g.cron_tmp(), "/etc/cron.d/.handover-20261123-abcdef.tmp");
        assert_eq!(cron_dir(&g.cron_file), "/etc/cron.d");
        assert_eq!(g.unit, "handover-expiry-20261123-abcdef");
        // The library names the base directory itself: it must be BASE.
        assert!(
            LIB.match_indices("/var/lib/")
                .all(|(at, _)| LIB[at..].starts_with(BASE))
        );
    }

    #[test]
    fn the_job_refuses_to_carry_a_secret_and_parses() {
        let (grant, account, g) = guard();
        let facts = BTreeMap::new();
        let password = crate::secret::Secret::new("SecretThatMustNotLand".into());
        let mut removal = Script::new();
        removal.raw("true");
        let ctx = |removal| Context {
            grant: &grant,
            account: &account,
            expires_at: time::macros::datetime!(2026-11-23 16:00 UTC),
            facts: &facts,
            password: None,
            removal,
            db_admin_password: None,
        };
        let mut apply = Script::new();
        g.apply(&ctx(Some(&removal)), &mut apply);
        let ok = std::process::Command::new("/bin/sh")
            .args(["-n", "-c", apply.text()])
            .status()
            .expect("sh");
        assert!(ok.success(), "{}", apply.text());
        assert!(
            apply.text().contains("1795449600"),
            "the expiry, in unix time"
        );

        let mut secret = Script::new();
        secret.with_secret_stdin("chpasswd", &[], &password);
        let mut apply = Script::new();
        g.apply(&ctx(Some(&secret)), &mut apply);
        assert!(!apply.text().contains(password.expose()));
        assert!(apply.text().contains("internal error"));
        let mut apply = Script::new();
        g.apply(&ctx(None), &mut apply);
        assert!(apply.text().contains("internal error"));
    }
}
