//! Lending an existing account: its password is rotated for the window, then restored or
//! rotated again, and the sessions opened meanwhile are ended.

use crate::support::{Run, TestHost, Workspace, host_with_root_key, trusted_host, wait_until};
use std::process::Child;
use std::time::Duration;

/// An SSH login as `user` with `password` that stays open while `command` runs on the host,
/// as a vendor's session during the window; returns once `command` runs (`pattern` finds it
/// with `pgrep -f`). Killed on drop.
struct OpenSession(Child);

impl OpenSession {
    fn start(host: &TestHost, user: &str, password: &str, command: &str, pattern: &str) -> Self {
        let session = OpenSession(host.spawn_ssh(user, password, command));
        assert!(
            wait_until(Duration::from_secs(15), Duration::from_millis(100), || {
                host.ok(&format!("pgrep -f '{pattern}'"))
            }),
            "the session never started `{command}`"
        );
        session
    }

    /// Whether the session is still open (checked at once).
    fn open(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// Whether the client saw the connection end within a few seconds.
    fn ended(&mut self) -> bool {
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            matches!(self.0.try_wait(), Ok(Some(_)))
        })
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pid of the host's process `pgrep ARGS` finds (one, or the test is wrong).
fn pid_of(host: &TestHost, args: &str) -> String {
    let pid = host.sh(&format!("pgrep {args}")).trim().to_owned();
    assert!(
        !pid.is_empty() && !pid.contains('\n'),
        "`pgrep {args}`: {pid:?}"
    );
    pid
}

#[test]
fn a_lent_password_is_rotated_for_the_window_and_restored() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let admin = host.admin_user.clone();
    let original = host.admin_password.clone();
    // The customer's own session, from before the window, must survive teardown.
    assert!(
        host.ssh_as(&admin, &original, "nohup sleep 601 >/dev/null 2>&1 &")
            .status
            .success()
    );
    let shadow_before = host.sh(&format!("getent shadow {admin}"));

    let grant = ws.lend(&host, &admin, &[]);
    assert!(
        grant.account.is_none() && grant.password.is_none(),
        "lend creates no account: {grant}"
    );
    let lent = grant.lent(&admin);
    assert!(
        !host.logs_in(&admin, &original),
        "the original password still works during the window"
    );
    assert!(
        host.logs_in(&admin, lent),
        "the lent password does not work"
    );
    assert!(
        !ws.record_text(&grant.id).contains(lent),
        "the lent password is in the record"
    );

    // A session the vendor opened with the lent password left a process behind.
    assert!(
        host.ssh_as(&admin, lent, "nohup sleep 602 >/dev/null 2>&1 &")
            .status
            .success()
    );
    let report = ws.revoke_report(&host, &grant.id);
    // Teardown verifies the ending too; the customer's session above must not count.
    let sessions = format!("no login session of `{admin}` opened during the window is left");
    assert!(
        report.checks.iter().any(|c| c.check == sessions && c.ok),
        "no passing check that the window's sessions ended: {report}"
    );
    assert!(report.warnings.is_empty(), "{report}");

    assert!(
        host.logs_in(&admin, &original),
        "the original password was not restored"
    );
    assert!(!host.logs_in(&admin, lent), "the lent password still works");
    assert_eq!(
        shadow_before,
        host.sh(&format!("getent shadow {admin}")),
        "the shadow entry is not as before"
    );
    assert!(
        !host.ok("pgrep -f 'slee[p] 602'"),
        "the vendor's session survived"
    );
    assert!(
        host.ok("pgrep -f 'slee[p] 601'"),
        "the customer's own session was killed"
    );
}

#[test]
fn after_rotate_neither_old_nor_lent_password_works() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let admin = host.admin_user.clone();
    let grant = ws.grant(&host, &["--rotate", &admin, "--after", "rotate"]);
    let lent = grant.lent(&admin);
    assert!(
        grant.password.is_some(),
        "the temporary account still gets its own password"
    );

    let report = ws.revoke_report(&host, &grant.id);
    let fresh = report.new_password(&admin);
    assert!(
        !host.logs_in(&admin, &host.admin_password),
        "the old password works after rotate"
    );
    assert!(
        !host.logs_in(&admin, lent),
        "the lent password works after rotate"
    );
    assert!(
        host.logs_in(&admin, fresh),
        "the new password from teardown does not work"
    );
}

#[test]
fn rotating_root_needs_the_explicit_flag() {
    let ws = Workspace::new();
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--playbook", "lend", "--rotate", "root"],
        )
        .run()
        .expect_code(2);
    out.assert_stderr_contains("--allow-root-rotation");
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--playbook", "lend", "--rotate", "bad;name"],
        )
        .run()
        .expect_code(2);
    out.assert_stderr_contains("--rotate");
}

#[test]
fn at_the_ttl_the_host_itself_restores_a_lent_password() {
    let Some((host, ws)) = TestHost::builder().service("atd").trusted() else {
        return;
    };
    let admin = host.admin_user.clone();
    let shadow_before = host.sh(&format!("getent shadow {admin}"));
    let grant = ws.lend(
        &host,
        &admin,
        &[
            "--ttl",
            "12s",
            // No baseline walk: on a loaded machine it could eat up the short window
            // before the lent password is tried.
            "--no-baseline",
        ],
    );
    assert!(host.logs_in(&admin, grant.lent(&admin)));
    // A session the vendor leaves open, and a root process it starts from it through sudo.
    let mut session =
        OpenSession::start(&host, &admin, grant.lent(&admin), "sleep 600", "^sleep 600");
    host.sudo_as(
        &admin,
        grant.lent(&admin),
        "setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &",
    );
    // Nobody runs teardown: the host's own job puts the original back (not a lock).
    assert!(
        wait_until(Duration::from_secs(45), Duration::from_secs(1), || {
            host.sh(&format!("getent shadow {admin}")) == shadow_before
        }),
        "the host did not restore the lent password by itself"
    );
    assert!(
        host.logs_in(&admin, &host.admin_password),
        "the original password does not work"
    );
    // The guard goes on after restoring: the copy goes last.
    assert!(
        wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
            !host.ok(&format!("test -e /var/lib/handover/{}-lent", grant.id))
        }),
        "the copy of the hash was left"
    );
    // The window's sessions ended with it, the root process too.
    assert!(session.ended(), "the vendor's session outlived the window");
    assert!(
        !host.ok("pgrep -f '[w]hile :'"),
        "a process started through sudo outlived the window"
    );
    ws.revoke(&host, &grant.id);
}

/// Regression: teardown of a lent root password ended every root process started during the
/// window, handover's own session among them, so it failed with "connection lost" on every
/// retry and root's password stayed lent. Only the window's login sessions as root may end.
#[test]
fn lending_root_ends_only_the_window_sessions_of_root() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    let sshd = pid_of(&host, "-f 'ssh[d]: /usr/sbin/sshd'");
    let cron = pid_of(&host, "-x cron");
    // The customer's root session from before the window, which starts a command during it.
    let mut customer = OpenSession::start(
        &host,
        "root",
        &host.root_password,
        "while [ ! -e /tmp/go ]; do sleep 0.1; done; sleep 605; true",
        "/tmp/g[o]",
    );

    let grant = ws
        .provision(
            &host.target("root"),
            &[
                "-i",
                &key,
                "--playbook",
                "lend",
                "--rotate",
                "root",
                "--allow-root-rotation",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent("root");

    // The vendor logs in as root with the lent password: one session still open, one that
    // left a process behind.
    let mut session = OpenSession::start(&host, "root", lent, "sleep 600", "slee[p] 600");
    assert!(
        host.ssh_as("root", lent, "nohup sleep 603 >/dev/null 2>&1 &")
            .status
            .success()
    );
    // A daemon (re)started during the window, by init rather than a login.
    host.sh("nohup sleep 604 >/dev/null 2>&1 &");
    host.sh("touch /tmp/go; while ! pgrep -f 'slee[p] 605' >/dev/null; do sleep 0.1; done");

    ws.handover(&["teardown", &grant.id, "-i", &key])
        .run()
        .expect_code(0);

    assert!(session.ended(), "the vendor's open session survived");
    assert!(
        !host.ok("pgrep -f 'slee[p] 60[03]'"),
        "a process of the vendor's sessions survived"
    );
    assert!(
        host.logs_in("root", &host.root_password),
        "root's original password was not restored"
    );
    assert!(!host.logs_in("root", lent), "the lent password still works");
    assert_eq!(
        sshd,
        pid_of(&host, "-f 'ssh[d]: /usr/sbin/sshd'"),
        "sshd was killed"
    );
    assert_eq!(cron, pid_of(&host, "-x cron"), "cron was killed");
    assert!(
        host.ok("pgrep -f 'slee[p] 604'"),
        "a daemon started during the window was killed"
    );
    assert!(
        customer.open() && host.ok("pgrep -f 'slee[p] 605'"),
        "the customer's own session from before the window was ended"
    );
}

/// Regression: lending the very account handover logs in as (`--become`) killed handover's own
/// session at teardown, which then failed with "connection lost".
#[test]
fn lending_the_login_account_itself_tears_down() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let admin = host.admin_user.clone();
    let grant = lend_with_become(&ws, &host, &admin, &host.admin_password, &admin)
        .arg("--json")
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent(&admin);
    let mut session = OpenSession::start(&host, &admin, lent, "sleep 600", "slee[p] 600");

    // The account's password is the lent one until teardown puts the original back.
    ws.handover(&["teardown", &grant.id])
        .with_password(lent)
        .run()
        .expect_code(0);

    assert!(session.ended(), "the vendor's open session survived");
    assert!(
        host.logs_in(&admin, &host.admin_password),
        "the original password was not restored"
    );
    assert!(!host.logs_in(&admin, lent), "the lent password still works");
}

/// `provision LOGIN@HOST --become --playbook lend --rotate ACCOUNT`, logged in with `password`.
fn lend_with_become(
    ws: &Workspace,
    host: &TestHost,
    login: &str,
    password: &str,
    account: &str,
) -> Run {
    ws.provision_as(
        host,
        login,
        password,
        &["--become", "--playbook", "lend", "--rotate", account],
    )
}

/// A host whose logins get no login uid (no pam_loginuid, as in many containers): the window's
/// sessions cannot be told apart, so provision warns the customer (never in the credentials the
/// vendor gets) and teardown says it ended none, rather than claiming to have.
#[test]
fn a_host_without_login_uids_is_warned_about_not_silently_skipped() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("sed -i '/pam_loginuid/d' /etc/pam.d/sshd && ! grep -q pam_loginuid /etc/pam.d/sshd");
    let admin = host.admin_user.clone();
    // Logged in as the sudo user `helper`: its logins now keep sshd's login uid, which is
    // never helper's.
    let (helper, helper_password) = (&host.nopasswd_user, &host.nopasswd_password);
    let lend = || lend_with_become(&ws, &host, helper, helper_password, &admin);
    let grant = lend().arg("--json").run().expect_code(0).provisioned();
    let lent = grant.lent(&admin);
    let warning = grant
        .warnings
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        warning.contains("no login uids") && warning.contains(&format!("`{admin}`")),
        "no warning for the customer: {grant}"
    );
    assert_eq!(grant.warnings.len(), 1, "{grant}");
    let mut session = OpenSession::start(&host, &admin, lent, "sleep 604", "slee[p] 604");
    let report = ws
        .handover(&["teardown", &grant.id, "--json"])
        .with_password(helper_password)
        .run()
        .expect_code(0)
        .teardown_report();
    let warning = report
        .warnings
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        warning.contains("were not ended") && warning.contains(&format!("`{admin}`")),
        "teardown does not say it ended nothing: {report}"
    );
    assert!(
        !report
            .checks
            .iter()
            .any(|c| c.check.contains("login session")),
        "a check claims the sessions ended: {report}"
    );
    let record = ws.record_text(&grant.id);
    assert!(
        record.contains("warning: the sessions of"),
        "the record does not keep the warning: {record}"
    );
    assert!(!host.logs_in(&admin, lent), "the lent password still works");
    // As the warning says: the session is the customer's to end.
    assert!(
        session.open(),
        "the session ended although nothing could tell it apart"
    );

    // Human output: on stderr, after the credentials, and not in them.
    let out = lend().run();
    out.assert_stderr_contains("warning: this host records no login uids");
    assert!(!out.stdout.contains("login uids"), "{}", out.stdout);
    let human_grant = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("When the work is done: handover teardown "))
        .expect("grant in the human output")
        .to_owned();

    let out = ws
        .handover(&["teardown", &human_grant])
        .with_password(helper_password)
        .run()
        .expect_code(0);
    out.assert_stdout_contains(&format!(
        "warning: the sessions of `{admin}` opened during the window were not ended"
    ));
}
