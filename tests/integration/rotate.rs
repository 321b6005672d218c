//! Lending an existing account: its password is rotated for the window, then restored or
//! rotated again, and the sessions opened meanwhile are ended.

use crate::support::{TestHost, Workspace, host_tests_enabled, keypair, trusted_host};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn logs_in(host: &TestHost, user: &str, password: &str) -> bool {
    host.ssh_as(user, password, "true").status.success()
}

/// An SSH login as `user` with `password` that stays open while `command` runs on the host,
/// as a vendor's session during the window; returns once `command` runs (`pattern` finds it
/// with `pgrep -f`). Killed on drop.
struct OpenSession(Child);

impl OpenSession {
    fn start(host: &TestHost, user: &str, password: &str, command: &str, pattern: &str) -> Self {
        let child = Command::new("sshpass")
            .arg("-e")
            .arg("ssh")
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no"])
            .args(["-o", "PreferredAuthentications=password"])
            .arg(format!("{user}@{}", host.addr))
            .arg(command)
            .env("SSHPASS", password)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sshpass ssh");
        let session = OpenSession(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !host.ok(&format!("pgrep -f '{pattern}'")) {
            assert!(
                Instant::now() < deadline,
                "the session never started `{command}`"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        session
    }

    /// Whether the session is still open (checked at once).
    fn open(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// Whether the client saw the connection end within a few seconds.
    fn ended(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
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

    let out = ws
        .provision_as_root(&host, &["--playbook", "lend", "--rotate", &admin, "--json"])
        .run()
        .expect_code(0);
    let json = out.json();
    assert!(
        json["account"].is_null() && json["password"].is_null(),
        "lend creates no account: {json}"
    );
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    assert!(
        !logs_in(&host, &admin, &original),
        "the original password still works during the window"
    );
    assert!(
        logs_in(&host, &admin, &lent),
        "the lent password does not work"
    );
    let record = std::fs::read_to_string(ws.state_dir().join(format!("grants/{grant}.json")))
        .expect("record");
    assert!(
        !record.contains(&lent),
        "the lent password is in the record"
    );

    // A session the vendor opened with the lent password left a process behind.
    assert!(
        host.ssh_as(&admin, &lent, "nohup sleep 602 >/dev/null 2>&1 &")
            .status
            .success()
    );
    let report = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    // Teardown verifies the ending too; the customer's session above must not count.
    let sessions = format!("no login session of `{admin}` opened during the window is left");
    assert!(
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["check"] == sessions.as_str() && c["ok"] == true),
        "no passing check that the window's sessions ended: {report}"
    );
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");

    assert!(
        logs_in(&host, &admin, &original),
        "the original password was not restored"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password still works"
    );
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
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--rotate",
                &admin,
                "--after",
                "rotate",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    assert!(
        json["password"].is_string(),
        "the temporary account still gets its own password"
    );

    let out = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let fresh = out.json()["new_passwords"][&admin]
        .as_str()
        .expect("new password")
        .to_owned();
    assert!(
        !logs_in(&host, &admin, &host.admin_password),
        "the old password works after rotate"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password works after rotate"
    );
    assert!(
        logs_in(&host, &admin, &fresh),
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
    assert!(
        out.stderr.contains("--allow-root-rotation"),
        "{}",
        out.stderr
    );
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--playbook", "lend", "--rotate", "bad;name"],
        )
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("--rotate"), "{}", out.stderr);
}

#[test]
fn at_the_ttl_the_host_itself_restores_a_lent_password() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("atd").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let admin = host.admin_user.clone();
    let shadow_before = host.sh(&format!("getent shadow {admin}"));
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "lend",
                "--rotate",
                &admin,
                "--ttl",
                "12s",
                // No baseline walk: on a loaded machine it could eat up the short window
                // before the lent password is tried.
                "--no-baseline",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    assert!(logs_in(&host, &admin, &lent));
    // Nobody runs teardown: the host's own job puts the original back (not a lock).
    let mut restored = false;
    for _ in 0..45 {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if host.sh(&format!("getent shadow {admin}")) == shadow_before {
            restored = true;
            break;
        }
    }
    assert!(
        restored,
        "the host did not restore the lent password by itself"
    );
    assert!(
        logs_in(&host, &admin, &host.admin_password),
        "the original password does not work"
    );
    assert!(
        !host.ok(&format!("test -e /var/lib/handover/{grant}-lent")),
        "the copy of the hash was left"
    );
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
}

/// Regression: teardown of a lent root password ended every root process started during the
/// window, handover's own session among them, so it failed with "connection lost" on every
/// retry and root's password stayed lent. Only the window's login sessions as root may end.
#[test]
fn lending_root_ends_only_the_window_sessions_of_root() {
    if !host_tests_enabled() {
        return;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "customer", "");
    let key = key.to_str().expect("utf-8 path").to_owned();
    let host = TestHost::builder().root_authorized_key(&public).up();
    ws.trust(&host);
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

    let out = ws
        .provision(
            &format!("root@{}", host.addr),
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
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let lent = json["lent"]["root"]
        .as_str()
        .expect("lent password")
        .to_owned();

    // The vendor logs in as root with the lent password: one session still open, one that
    // left a process behind.
    let mut session = OpenSession::start(&host, "root", &lent, "sleep 600", "slee[p] 600");
    assert!(
        host.ssh_as("root", &lent, "nohup sleep 603 >/dev/null 2>&1 &")
            .status
            .success()
    );
    // A daemon (re)started during the window, by init rather than a login.
    host.sh("nohup sleep 604 >/dev/null 2>&1 &");
    host.sh("touch /tmp/go; while ! pgrep -f 'slee[p] 605' >/dev/null; do sleep 0.1; done");

    ws.handover(&["teardown", &grant, "-i", &key])
        .run()
        .expect_code(0);

    assert!(session.ended(), "the vendor's open session survived");
    assert!(
        !host.ok("pgrep -f 'slee[p] 60[03]'"),
        "a process of the vendor's sessions survived"
    );
    assert!(
        logs_in(&host, "root", &host.root_password),
        "root's original password was not restored"
    );
    assert!(
        !logs_in(&host, "root", &lent),
        "the lent password still works"
    );
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
    let target = format!("{admin}@{}", host.addr);
    let out = ws
        .provision(
            &target,
            &[
                "--become",
                "--playbook",
                "lend",
                "--rotate",
                &admin,
                "--json",
            ],
        )
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let mut session = OpenSession::start(&host, &admin, &lent, "sleep 600", "slee[p] 600");

    // The account's password is the lent one until teardown puts the original back.
    ws.handover(&["teardown", &grant])
        .env("HANDOVER_SSH_PASSWORD", &lent)
        .run()
        .expect_code(0);

    assert!(session.ended(), "the vendor's open session survived");
    assert!(
        logs_in(&host, &admin, &host.admin_password),
        "the original password was not restored"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password still works"
    );
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
    let target = format!("{}@{}", host.nopasswd_user, host.addr);
    let out = ws
        .provision(
            &target,
            &[
                "--become",
                "--playbook",
                "lend",
                "--rotate",
                &admin,
                "--json",
            ],
        )
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let warning = json["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("no login uids") && warning.contains(&format!("`{admin}`")),
        "no warning for the customer: {json}"
    );
    assert!(
        json["warnings"].as_array().is_some_and(|w| w.len() == 1),
        "{json}"
    );
    let mut session = OpenSession::start(&host, &admin, &lent, "sleep 604", "slee[p] 604");
    let report = ws
        .handover(&["teardown", &grant, "--json"])
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .run()
        .expect_code(0)
        .json();
    let warning = report["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("were not ended") && warning.contains(&format!("`{admin}`")),
        "teardown does not say it ended nothing: {report}"
    );
    assert!(
        !report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["check"]
                .as_str()
                .unwrap_or_default()
                .contains("login session")),
        "a check claims the sessions ended: {report}"
    );
    let record = ws.record(&grant);
    assert!(
        record.to_string().contains("warning: the sessions of"),
        "the record does not keep the warning: {record}"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password still works"
    );
    // As the warning says: the session is the customer's to end.
    assert!(
        session.open(),
        "the session ended although nothing could tell it apart"
    );

    // Human output: on stderr, after the credentials, and not in them.
    let out = ws
        .provision(
            &target,
            &["--become", "--playbook", "lend", "--rotate", &admin],
        )
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .run();
    assert!(
        out.stderr
            .contains("warning: this host records no login uids"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("login uids"), "{}", out.stdout);
    let human_grant = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("When the work is done: handover teardown "))
        .expect("grant in the human output")
        .to_owned();

    let out = ws
        .handover(&["teardown", &human_grant])
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .run()
        .expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "warning: the sessions of `{admin}` opened during the window were not ended"
        )),
        "{}",
        out.stdout
    );
}
