//! Auditing during the window: the grant's own footprint (expiry job, firewall rules) is not
//! drift, while anything else is, even at the paths of a grant already revoked; and programs
//! the lent account plants in `/usr/local` fool neither teardown nor sudo.

use crate::support::{IPTABLES_FIREWALL, NFT_FIREWALL, TestHost, Workspace, host_tests_enabled};

struct Grant {
    id: String,
    account: String,
}

fn provision(ws: &Workspace, host: &TestHost, extra: &[&str]) -> Grant {
    let mut args = vec!["--scope", host.scope.as_str(), "--json"];
    args.extend_from_slice(extra);
    let json = ws
        .provision_as_root(host, &args)
        .run()
        .expect_code(0)
        .json();
    let field = |k: &str| json[k].as_str().expect("field").to_owned();
    Grant {
        id: field("grant"),
        account: field("account"),
    }
}

/// `handover audit GRANT --json`, expecting `code`; returns the drift part.
fn audit(ws: &Workspace, host: &TestHost, grant: &str, code: i32) -> serde_json::Value {
    ws.handover(&["audit", grant, "--json"])
        .with_root_password(host)
        .run()
        .expect_code(code)
        .json()["drift"]
        .clone()
}

/// The paths of a drift report's persistence items.
fn paths(drift: &serde_json::Value) -> Vec<String> {
    drift["persistence"]
        .as_array()
        .unwrap_or_else(|| panic!("no persistence list in {drift}"))
        .iter()
        .map(|i| i["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// With a scheduled expiry job (at, cron) and firewall rules tagged with the grant (iptables,
/// nftables), an audit during the window finds nothing; a cron file planted then is the one
/// item it names.
#[test]
fn the_grants_own_job_and_firewall_rules_are_not_drift() {
    if !host_tests_enabled() {
        return;
    }
    for (service, backend, firewall, tool) in [
        ("atd", "at", IPTABLES_FIREWALL, "iptables-save"),
        ("cron", "cron", NFT_FIREWALL, "nft list ruleset"),
    ] {
        let host = TestHost::builder().service(service).up();
        let ws = Workspace::new();
        ws.trust(&host);
        host.sh(&firewall.replace("GATEWAY", &host.gateway));
        let grant = provision(
            &ws,
            &host,
            &["--allow-from", "10.200.0.0/16", "--open-firewall"],
        );
        let record = ws.record(&grant.id);
        let guard = record["actions"]
            .as_array()
            .and_then(|a| a.last())
            .expect("the guard");
        assert_eq!(guard["facts"]["backend"], backend, "{record}");
        let tag = format!("handover-{}", grant.id);
        assert!(host.sh(tool).contains(&tag), "{service}: no tagged rule");
        if backend == "at" {
            assert!(
                !host
                    .sh("find /var/spool/cron/atjobs -type f ! -name .SEQ")
                    .is_empty(),
                "no at job in the spool"
            );
        }

        let drift = audit(&ws, &host, &grant.id, 0);
        assert_eq!(
            drift["status"], "no drift detected",
            "{service}/{tool}: {drift:#}"
        );

        host.sh("echo '* * * * * root /bin/true' > /etc/cron.d/planted");
        let drift = audit(&ws, &host, &grant.id, 3);
        assert_eq!(
            paths(&drift),
            ["/etc/cron.d/planted"],
            "{service}/{tool}: {drift:#}"
        );
    }
}

/// Another grant on the same host is left out of the comparison only while it is live: once
/// it is revoked, its removal is no drift, but its account made again is.
#[test]
fn a_revoked_grants_account_made_again_is_drift() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    let first = provision(&ws, &host, &["--level", "root"]);
    let second = provision(&ws, &host, &[]);
    // The first grant, live, is the customer's doing too.
    let drift = audit(&ws, &host, &second.id, 0);
    assert_eq!(drift["status"], "no drift detected", "{drift:#}");

    ws.handover(&["teardown", &first.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    // Its removal during the second's window is the customer's doing as well.
    let drift = audit(&ws, &host, &second.id, 0);
    assert_eq!(drift["status"], "no drift detected", "{drift:#}");

    // The revoked grant's account, made again (with root's group), is a back-door.
    host.sh(&format!("useradd -M -g 0 -s /bin/bash {}", first.account));
    let drift = audit(&ws, &host, &second.id, 3);
    assert!(
        drift["persistence"].to_string().contains(&first.account),
        "{drift:#}"
    );
}

/// Programs that lie, planted in `/usr/local` (ahead of the system's on root's usual PATH):
/// teardown's scripts use the system's own, so the account is really removed and verified.
#[test]
fn programs_planted_in_usr_local_do_not_fool_teardown() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    let grant = provision(&ws, &host, &["--level", "root"]);
    let a = &grant.account;
    // What a root-level vendor could leave: a `userdel` that removes nothing, and a `getent`,
    // `find`, `pgrep` that find nothing.
    host.sh("printf '#!/bin/sh\\nexit 0\\n' > /usr/local/sbin/userdel
printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/find
printf '#!/bin/sh\\nexit 2\\n' > /usr/local/bin/getent
printf '#!/bin/sh\\nexit 1\\n' > /usr/local/bin/pgrep
chmod 755 /usr/local/sbin/userdel /usr/local/bin/find /usr/local/bin/getent /usr/local/bin/pgrep");
    // The account leaves a file where teardown hands its files to root.
    host.sh(&format!(
        "/usr/sbin/runuser -u {a} -- /bin/sh -c 'echo x > /tmp/left'"
    ));

    let out = ws
        .handover(&["teardown", &grant.id, "--json"])
        .with_root_password(&host)
        .run();
    let report = out.json();
    // (From here on the host's own commands by their full paths: the planted ones lie.)
    assert!(
        !host.ok(&format!("/usr/bin/getent passwd {a}")),
        "the account is still there: {report:#}"
    );
    assert_eq!(report["verified"], true, "{report:#}");
    assert_eq!(
        host.sh("/usr/bin/stat -c %u /tmp/left").trim(),
        "0",
        "the account's file was not handed to root"
    );
    // The drift report names the planted programs once the collector covers /usr/local.
    if out.code == 3 {
        let reported = paths(&report["drift"]);
        assert!(
            reported.iter().any(|p| p == "/usr/local/bin/find"),
            "{reported:?}"
        );
    } else {
        assert_eq!(out.code, 0, "{report:#}");
    }
}

/// sudo is run by its full path: a `sudo` planted in `/usr/local/bin`, first on the login's
/// PATH, never sees the password; and a host without sudo says where it looked.
#[test]
fn sudo_is_run_by_its_full_path() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    let target = format!("{}@{}", host.admin_user, host.addr);
    let out = ws
        .provision(&target, &["--scope", &host.scope, "--become", "--json"])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    let grant = out.json()["grant"].as_str().expect("grant").to_owned();

    host.sh(
        "printf '#!/bin/sh\\ncat > /var/tmp/captured\\nexit 1\\n' > /usr/local/bin/sudo
chmod 755 /usr/local/bin/sudo",
    );
    let out = ws
        .handover(&["audit", &grant])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run();
    // (3 once the collector reports the planted program.)
    assert!(
        [0, 3].contains(&out.code),
        "exit {}: {}",
        out.code,
        out.stderr
    );
    assert!(
        !host.ok("test -e /var/tmp/captured"),
        "the planted sudo ran and read: {}",
        host.sh("cat /var/tmp/captured")
    );

    // No sudo where it belongs (on this host /bin is /usr/bin): a clear error, exit 4.
    host.sh("mv /usr/bin/sudo /usr/bin/sudo.away");
    let out = ws
        .handover(&["audit", &grant])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(4);
    assert!(out.stderr.contains("/usr/bin/sudo"), "{}", out.stderr);
    assert!(!host.ok("test -e /var/tmp/captured"));
}

/// A loader preload written during the window: reported first, with its warning.
#[test]
fn a_loader_preload_is_reported_first_with_a_warning() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    let grant = provision(&ws, &host, &["--level", "root"]);
    host.sh(
        "echo /usr/lib/x86_64-linux-gnu/libhandover-test-missing.so > /etc/ld.so.preload \
         && echo '* * * * * root /bin/true' > /etc/cron.d/planted",
    );
    let drift = audit(&ws, &host, &grant.id, 3);
    let first = &drift["persistence"][0];
    assert_eq!(first["category"], "loader", "{drift:#}");
    assert!(
        first["text"]
            .as_str()
            .is_some_and(|t| t.contains("libhandover-test-missing.so")),
        "{drift:#}"
    );
    assert!(
        drift["warnings"]
            .to_string()
            .contains("the dynamic loader preloads a library"),
        "{drift:#}"
    );
    assert!(paths(&drift).iter().any(|p| p == "/etc/cron.d/planted"));
}
