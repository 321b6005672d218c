//! Faults: concurrent runs, a connection dropped mid-provision, an unreachable host, broken
//! records, a state directory that cannot be written. Nothing half-done, nothing lost.

use crate::support::{Workspace, trusted_host, wait_until};
use std::thread;
use std::time::Duration;

#[test]
fn two_provisions_on_one_host_at_once_both_succeed_with_distinct_accounts() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let run = ws.provision_as_root(
                &host,
                &[
                    "--scope",
                    &host.scope,
                    "--level",
                    "root",
                    "--allow-from",
                    &host.gateway,
                    "--json",
                ],
            );
            thread::spawn(move || run.run())
        })
        .collect();
    let grants: Vec<_> = runs
        .into_iter()
        .map(|t| t.join().expect("thread").expect_code(0).provisioned())
        .collect();
    assert_ne!(grants[0].account(), grants[1].account());
    for g in &grants {
        assert!(
            host.logs_in(g.account(), g.password()),
            "{} cannot log in",
            g.account()
        );
    }
    assert!(
        host.ok("visudo -c && sshd -t"),
        "shared configuration broken"
    );

    // Two teardowns of the same grant at once: one does the work, the other says it is busy
    // (or, if it comes second, that the grant is already revoked); the record stays readable.
    let id = &grants[0].id;
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let run = ws.teardown_as_root(&host, id, &["--json"]);
            thread::spawn(move || run.run())
        })
        .collect();
    let outs: Vec<_> = runs
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let codes: Vec<i32> = outs.iter().map(|o| o.code).collect();
    assert!(codes.contains(&0), "no teardown succeeded: {codes:?}");
    for o in &outs {
        assert!(
            o.code == 0
                || o.stderr
                    .contains("being worked on by another handover process"),
            "unexpected outcome {}: {}",
            o.code,
            o.stderr
        );
    }
    assert_eq!(ws.record(id).state, "revoked");
    ws.revoke(&host, &grants[1].id);
    assert_eq!(before, host.snapshot());
}

#[test]
fn an_unreachable_host_at_teardown_exits_4_and_a_retry_works() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let id = ws.grant(&host, &[]).id;

    host.sh("ip link set eth0 down");
    let out = ws
        .teardown_as_root(&host, &id, &["--connect-timeout", "2"])
        .run()
        .expect_code(4);
    out.assert_stderr_contains(&host.addr);
    assert_eq!(
        ws.record(&id).state,
        "active",
        "an unreachable host must leave the grant active"
    );

    host.sh("ip link set eth0 up");
    // The link is back; the neighbour entry of the test machine may still say unreachable for
    // a moment (a failed ARP lookup is remembered): wait until sshd answers again.
    let sshd: std::net::SocketAddr = format!("{}:22", host.addr).parse().expect("address");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
            std::net::TcpStream::connect_timeout(&sshd, Duration::from_secs(1)).is_ok()
        }),
        "the host did not come back"
    );
    ws.revoke(&host, &id);
    assert_eq!(ws.record(&id).state, "revoked");
}

#[test]
fn corrupt_truncated_and_edited_records_are_clear_errors() {
    let ws = Workspace::new();
    let grants = ws.state_dir().join("grants");
    std::fs::create_dir_all(&grants).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&grants, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let cases = [
        ("20261123-trunca", "{\"version\": 1, \"id\": \"2026"),
        ("20261123-garbag", "\u{0}\u{1}binary\u{1b}[2J"),
        (
            "20261123-edited",
            "{\"version\": 1, \"id\": \"20261123-edited\", \"state\": \"hacked\"}",
        ),
    ];
    for (id, text) in cases {
        std::fs::write(grants.join(format!("{id}.json")), text).expect("write");
        for args in [vec!["show", id], vec!["teardown", id]] {
            let out = ws.handover(&args).run();
            assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(&format!("{id}.json")),
                "{args:?}: the file is not named: {}",
                out.stderr
            );
            out.assert_stderr_is_clean(&format!("{args:?}"));
        }
    }
    // `list` names the broken files and goes on.
    let out = ws.handover(&["list"]).run().expect_code(0);
    out.assert_stderr_contains("20261123-edited.json");
}

#[test]
fn a_full_state_directory_refuses_before_touching_the_host() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    // A 32 KiB tmpfs as the state directory, in a private mount namespace of this run only.
    let state = ws.dir.path().join("tiny");
    std::fs::create_dir_all(&state).expect("mkdir");
    let script = format!(
        "mount -t tmpfs -o size=32k tmpfs {s} && mkdir -m 700 {s}/grants && (dd if=/dev/zero of={s}/fill bs=4k 2>/dev/null || true) && exec {bin} provision root@{addr} --scope {scope} --known-hosts {kh} --state-dir {s}",
        s = state.display(),
        bin = env!("CARGO_BIN_EXE_handover"),
        addr = host.addr,
        scope = host.scope,
        kh = ws.known_hosts().display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("HANDOVER_SSH_PASSWORD", &host.root_password)
        .output()
        .expect("unshare");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not write"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        before,
        host.snapshot(),
        "the host changed although the record could not be written"
    );
}

#[test]
fn detached_and_term_ignoring_processes_of_the_account_are_ended_at_teardown() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let account = grant.account();
    let uid = host.uid_of(account);
    // As the vendor would leave them: nohup'd, in a new session, ignoring SIGTERM and SIGHUP.
    host.sh(&format!(
        "runuser -u {account} -- sh -c 'nohup sleep 700 >/dev/null 2>&1 & setsid sh -c \"trap \\\"\\\" TERM HUP; sleep 701\" >/dev/null 2>&1 < /dev/null &'"
    ));
    assert!(
        host.ok(&format!("test $(pgrep -u {uid} | wc -l) -ge 2")),
        "the processes did not start"
    );
    ws.revoke(&host, &grant.id);
    assert!(
        !host.ok(&format!("pgrep -u {uid}")),
        "a process of the account survived teardown"
    );
    assert!(!host.has_account(account));
}

/// A playbook whose third step waits, so the test can cut the connection in the middle.
const PAUSING_PLAYBOOK: &str = r#"
name = "pausing-user"
description = "linux-user with a pause in the middle"
level = "user"
requires-scope = true

[[actions]]
kind = "user"
[[actions]]
kind = "password"
[[actions]]
kind = "shell"
description = "pause"
apply = "touch /run/handover-paused; sleep 3"
undo = "rm -f /run/handover-paused"
verify_absent = "test ! -e /run/handover-paused"
[[actions]]
kind = "acl"
"#;

#[test]
fn a_connection_dropped_mid_provision_leaves_a_partial_grant_that_teardown_finishes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let playbook = ws.file("pausing.toml", PAUSING_PLAYBOOK);
    let before = host.snapshot();

    let run = ws.provision_as_root(
        &host,
        &[
            "--playbook",
            &playbook,
            "--scope",
            "/var/www/cms",
            "--account",
            "vendor-cut",
        ],
    );
    let provision = std::thread::spawn(move || run.run());
    // Wait until the account exists and the pause has begun, then kill the session's sshd
    // processes on the host (the listener stays, so the host is reachable again at once).
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            host.ok("test -e /run/handover-paused")
        }),
        "the provision never reached the pause"
    );
    assert!(host.has_account("vendor-cut"));
    // (`sshd-session: root…` from OpenSSH 9.8 on: Debian 13.)
    host.sh("pkill -KILL -f '^sshd(-session)?: root' || true");
    let out = provision.join().expect("provision thread");
    assert_eq!(out.code, 4, "{}", out.stderr);
    let grant = out
        .stderr
        .split("handover teardown ")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
        })
        .unwrap_or_else(|| panic!("the error does not say how to finish:\n{}", out.stderr))
        .to_owned();
    let record = ws.record(&grant);
    assert_eq!(record.state, "partial", "{record}");
    assert_eq!(record.actions[0].status, "applied", "{record}");

    let out = ws.revoke(&host, &grant);
    out.assert_stdout_contains("vendor-cut");
    assert_eq!(ws.record(&grant).state, "revoked");
    assert_eq!(before, host.snapshot(), "the host was not restored");
}
