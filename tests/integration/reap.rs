//! `handover reap`: every grant whose TTL has passed is torn down; live ones are left alone.

use crate::support::trusted_host;

#[test]
fn reap_removes_an_expired_grant_and_leaves_a_live_one() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let target = format!("root@{}", host.addr);
    let provision = |ttl: &str| {
        let out = ws
            .provision(
                &target,
                &[
                    "--scope",
                    &host.scope,
                    "--ttl",
                    ttl,
                    "--no-baseline",
                    "--json",
                ],
            )
            .with_root_password(&host)
            .run()
            .expect_code(0);
        let json = out.json();
        (
            json["grant"].as_str().expect("grant").to_owned(),
            json["account"].as_str().expect("account").to_owned(),
        )
    };
    let (live, live_account) = provision("1h");
    let (expiring, expiring_account) = provision("2s");
    std::thread::sleep(std::time::Duration::from_secs(3));

    // --dry-run only lists.
    let out = ws
        .handover(&["reap", "--dry-run", "--json"])
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(json["expired"], serde_json::json!([expiring]), "{json}");
    assert_eq!(ws.record(&expiring)["state"], "active");

    let out = ws
        .handover(&["reap", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(json["ok"], true, "{json}");
    let reaped: Vec<&str> = json["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| g["grant"].as_str().expect("grant"))
        .collect();
    assert_eq!(reaped, [expiring.as_str()]);
    assert_eq!(json["live"], serde_json::json!([live]));
    assert_eq!(ws.record(&expiring)["state"], "revoked");
    assert_eq!(ws.record(&live)["state"], "active");
    assert!(!host.ok(&format!("getent passwd {expiring_account}")));
    assert!(host.ok(&format!("getent passwd {live_account}")));

    // A second run finds nothing to do.
    let out = ws.handover(&["reap"]).run().expect_code(0);
    assert!(
        out.stdout.contains("no expired grants (1 live)"),
        "{}",
        out.stdout
    );
    let json = ws.handover(&["reap", "--json"]).run().expect_code(0).json();
    assert_eq!(json["grants"], serde_json::json!([]), "{json}");
    assert_eq!(json["live"], serde_json::json!([live]), "{json}");

    ws.handover(&["teardown", &live])
        .with_root_password(&host)
        .run()
        .expect_code(0);
}

#[test]
fn reap_of_an_unreachable_host_exits_4_and_names_the_grant() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--ttl",
                "2s",
                "--no-baseline",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let grant = out.json()["grant"].as_str().expect("grant").to_owned();
    std::thread::sleep(std::time::Duration::from_secs(3));
    host.sh("pkill -x sshd; while pgrep -x sshd >/dev/null; do sleep 0.05; done");
    let out = ws
        .handover(&["reap", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(4);
    let json = out.json();
    assert_eq!(json["grants"][0]["grant"], grant.as_str());
    assert_eq!(json["grants"][0]["exit_code"], 4);
    assert_eq!(ws.record(&grant)["state"], "active");
}
