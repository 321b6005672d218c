//! `handover reap`: every grant whose TTL has passed is torn down; live ones are left alone.

use crate::support::trusted_host;

#[test]
fn reap_removes_an_expired_grant_and_leaves_a_live_one() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let provision = |ttl: &str| ws.grant(&host, &["--ttl", ttl, "--no-baseline"]);
    let live = provision("1h");
    let expiring = provision("2s");
    std::thread::sleep(std::time::Duration::from_secs(3));

    // --dry-run only lists.
    let dry_run = ws
        .handover(&["reap", "--dry-run", "--json"])
        .run()
        .expect_code(0)
        .teardowns();
    assert_eq!(
        dry_run.expired,
        Some(vec![expiring.id.clone()]),
        "{dry_run}"
    );
    assert_eq!(ws.record(&expiring.id).state, "active");

    let reaped = ws
        .handover(&["reap", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .teardowns();
    assert!(reaped.ok, "{reaped}");
    let grants: Vec<&str> = reaped.grants().iter().map(|g| g.grant.as_str()).collect();
    assert_eq!(grants, [expiring.id.as_str()]);
    assert_eq!(reaped.live, Some(vec![live.id.clone()]));
    assert_eq!(ws.record(&expiring.id).state, "revoked");
    assert_eq!(ws.record(&live.id).state, "active");
    assert!(!host.has_account(expiring.account()));
    assert!(host.has_account(live.account()));

    // A second run finds nothing to do.
    let out = ws.handover(&["reap"]).run().expect_code(0);
    out.assert_stdout_contains("no expired grants (1 live)");
    let again = ws
        .handover(&["reap", "--json"])
        .run()
        .expect_code(0)
        .teardowns();
    assert!(again.grants().is_empty(), "{again}");
    assert_eq!(again.live, Some(vec![live.id.clone()]), "{again}");

    ws.revoke(&host, &live.id);
}

#[test]
fn reap_of_an_unreachable_host_exits_4_and_names_the_grant() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--ttl", "2s", "--no-baseline"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    host.stop_sshd();
    let reaped = ws
        .handover(&["reap", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(4)
        .teardowns();
    assert_eq!(reaped.grants()[0].grant, grant.id);
    assert_eq!(reaped.grants()[0].exit_code, 4);
    assert_eq!(ws.record(&grant.id).state, "active");
}
