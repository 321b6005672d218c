//! A crash anywhere in provision: whatever was recorded, `teardown` leaves the host exactly as
//! it was before provision (compared with a snapshot taken on the host). The crash points need
//! the `failpoints` feature (src/failpoint.rs; `scripts/test` turns it on).

use crate::support::{Finished, TestHost, Workspace, host_tests_enabled};

/// The exit code of a failpoint (src/failpoint.rs).
const CRASHED: i32 = 86;

/// Tear down every grant of `ws` that is not revoked yet; each teardown must succeed.
fn teardown_all(ws: &Workspace, host: &TestHost, after: &str) {
    for grant in ws.list().grants {
        if grant.state == "revoked" {
            continue;
        }
        let id = &grant.grant;
        let out = ws.teardown_as_root(host, id, &[]).run();
        assert_eq!(
            out.code, 0,
            "after {after}: teardown of {id} ({}) failed:\n{}{}",
            grant.state, out.stdout, out.stderr
        );
    }
}

/// Stop `handover provision` at one crash point after another; after each, tear down what was
/// recorded and compare the host with the snapshot from before.
fn crash_everywhere(host: &TestHost, extra: &[&str]) {
    let ws = Workspace::new();
    ws.trust(host);
    let before = host.snapshot();
    let provision = |point: &str| -> Finished {
        ws.provision_as_root(host, extra)
            .env("HANDOVER_FAILPOINT", point)
            .run()
    };

    // Around the first remote execution (preflight, facts, baseline), the second (the scope's
    // backup: `extra` gives a scope) and the write-ahead record.
    for point in [
        "before-exec:1",
        "after-exec:1",
        "before-exec:2",
        "after-exec:2",
        "after-record:0",
        "before-exec:3",
    ] {
        let out = provision(point);
        assert_eq!(out.code, CRASHED, "{point}: {}", out.stderr);
        teardown_all(&ws, host, point);
        assert_eq!(
            before,
            host.snapshot(),
            "{point}: the host was not restored"
        );
    }
    // After each step the host reported applied, until the provision runs to its end.
    let mut step = 0;
    loop {
        let point = format!("after-step:{step}");
        let out = provision(&point);
        teardown_all(&ws, host, &point);
        assert_eq!(
            before,
            host.snapshot(),
            "{point}: the host was not restored"
        );
        if out.code == 0 {
            break;
        }
        assert_eq!(out.code, CRASHED, "{point}: {}", out.stderr);
        step += 1;
        assert!(step < 30, "a provision with more than 30 steps?");
    }
    assert!(step >= 3, "only {step} steps reported");
    // After the last remote execution, before the record says `active`.
    let out = provision("after-exec:3");
    assert_eq!(out.code, CRASHED, "after-exec:3: {}", out.stderr);
    teardown_all(&ws, host, "after-exec:3");
    assert_eq!(
        before,
        host.snapshot(),
        "after-exec:3: the host was not restored"
    );

    // A teardown that crashes after its script ran, before the record learned the outcome:
    // a second teardown finishes the job.
    let out = ws.provision_as_root(host, extra).run().expect_code(0);
    out.assert_stdout_contains("grant");
    let list = ws.list();
    let active = list.in_state("active");
    assert_eq!(active.len(), 1, "{list}");
    let out = ws
        .teardown_as_root(host, active[0], &[])
        .env("HANDOVER_FAILPOINT", "teardown-after-exec:0")
        .run();
    assert_eq!(out.code, CRASHED, "{}", out.stderr);
    assert_eq!(ws.record(active[0]).state, "active");
    teardown_all(&ws, host, "teardown-after-exec:0");
    assert_eq!(ws.record(active[0]).state, "revoked");
    assert_eq!(before, host.snapshot(), "the host was not restored");
}

#[test]
fn a_crash_anywhere_in_a_user_level_provision_is_undone_exactly() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    crash_everywhere(&host, &["--scope", "/var/www/cms", "--ttl", "2h"]);
}

#[test]
fn a_crash_anywhere_in_a_root_level_provision_with_a_lent_password_is_undone_exactly() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    crash_everywhere(
        &host,
        &[
            "--playbook",
            "linux-root",
            "--scope",
            "/var/www/cms",
            "--rotate",
            "admin",
            "--allow-from",
            "10.200.0.0/16",
        ],
    );
}
