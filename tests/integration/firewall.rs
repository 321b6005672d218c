//! Firewall allowlist: the vendor's address gets through the host's own firewall for the
//! grant, by a rule tagged with the grant id that teardown removes.

use crate::support::{
    IPTABLES_FIREWALL, NFT_FIREWALL, TestHost, Workspace, host_tests_enabled, trusted_host,
};

fn grant_through_firewall(setup: &str, listing: &str) {
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    host.sh(&setup.replace("GATEWAY", &host.gateway));
    let rules_before = host.sh(listing);
    let vendor = format!("{}/32", host.client_addr2);

    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--allow-from",
                &vendor,
                "--open-firewall",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let (account, password) = (
        json["account"].as_str().expect("account").to_owned(),
        json["password"].as_str().expect("password").to_owned(),
    );
    let rules = host.sh(listing);
    assert!(
        rules.contains(&format!("handover-{grant}")),
        "no tagged rule:\n{rules}"
    );
    // The vendor, from their address, gets through the customer's firewall.
    let login = host.ssh_as_from(&host.client_addr2, &account, &password, "id -un");
    assert!(
        login.status.success(),
        "the vendor cannot get through: {}",
        String::from_utf8_lossy(&login.stderr)
    );

    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert_eq!(
        rules_before,
        host.sh(listing),
        "the firewall is not as before"
    );
    // And the firewall blocks that address again (as root, who could log in otherwise).
    let blocked = host.ssh_as_from(&host.client_addr2, "root", &host.root_password, "true");
    assert!(
        !blocked.status.success(),
        "the vendor's address still gets through"
    );
    assert!(
        host.ssh_as("root", &host.root_password, "true")
            .status
            .success(),
        "the customer is locked out"
    );
}

#[test]
fn nftables_rule_is_inserted_and_removed_by_its_tag() {
    if !host_tests_enabled() {
        return;
    }
    grant_through_firewall(NFT_FIREWALL, "nft list ruleset");
}

#[test]
fn iptables_rule_is_inserted_and_removed_by_its_tag() {
    if !host_tests_enabled() {
        return;
    }
    grant_through_firewall(IPTABLES_FIREWALL, "iptables -S INPUT");
}

#[test]
fn a_host_without_a_firewall_is_left_alone_and_says_so() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    let provision = |json: bool| {
        let mut args = vec![
            "--scope",
            &host.scope,
            "--allow-from",
            &host.gateway,
            "--open-firewall",
            "--no-baseline",
        ];
        if json {
            args.push("--json");
        }
        ws.provision_as_root(&host, &args).run().expect_code(0)
    };
    let teardown = |grant: &str| {
        ws.handover(&["teardown", grant])
            .with_root_password(&host)
            .run()
            .expect_code(0);
    };
    let out = provision(false);
    assert!(
        out.stdout.contains("no firewall on the host"),
        "{}",
        out.stdout
    );
    assert!(host.sh("nft list ruleset").trim().is_empty());
    assert!(!host.sh("iptables -S INPUT").contains("handover"));
    let grant = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("grant"))
        .expect("grant line")
        .trim()
        .to_owned();
    teardown(&grant);
    assert_eq!(host.snapshot(), before, "the host changed");

    // A runbook learns it from the JSON.
    let json = provision(true).json();
    let notes = json["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.contains("no firewall on the host"))),
        "{json}"
    );
    teardown(json["grant"].as_str().expect("grant"));
    assert_eq!(host.snapshot(), before, "the host changed");
}

#[test]
fn open_firewall_needs_allow_from() {
    let ws = Workspace::new();
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--scope", "/var/www/cms", "--open-firewall"],
        )
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("--allow-from"), "{}", out.stderr);
}
