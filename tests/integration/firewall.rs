//! Firewall allowlist: the vendor's address gets through the host's own firewall for the
//! grant, by a rule tagged with the grant id that teardown removes.

use crate::support::{IPTABLES_FIREWALL, NFT_FIREWALL, Workspace, trusted_host};

/// Let the vendor's address through the customer's firewall (`setup`, listed by `listing`) and
/// take it back.
fn grant_through_firewall(setup: &str, listing: &str) {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh(&setup.replace("GATEWAY", &host.gateway));
    let rules_before = host.sh(listing);
    let vendor = format!("{}/32", host.client_addr2);

    let grant = ws.grant(&host, &["--allow-from", &vendor, "--open-firewall"]);
    let rules = host.sh(listing);
    assert!(
        rules.contains(&format!("handover-{}", grant.id)),
        "no tagged rule:\n{rules}"
    );
    // The vendor, from their address, gets through the customer's firewall.
    let login = host.ssh_as_from(
        &host.client_addr2,
        grant.account(),
        grant.password(),
        "id -un",
    );
    assert!(
        login.status.success(),
        "the vendor cannot get through: {}",
        String::from_utf8_lossy(&login.stderr)
    );

    ws.revoke(&host, &grant.id);
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
        host.logs_in("root", &host.root_password),
        "the customer is locked out"
    );
}

#[test]
fn nftables_rule_is_inserted_and_removed_by_its_tag() {
    grant_through_firewall(NFT_FIREWALL, "nft list ruleset");
}

#[test]
fn iptables_rule_is_inserted_and_removed_by_its_tag() {
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
    let out = provision(false);
    out.assert_stdout_contains("no firewall on the host");
    assert!(host.sh("nft list ruleset").trim().is_empty());
    assert!(!host.sh("iptables -S INPUT").contains("handover"));
    ws.revoke(&host, out.labelled("grant"));
    assert_eq!(host.snapshot(), before, "the host changed");

    // A runbook learns it from the JSON.
    let grant = provision(true).provisioned();
    assert!(
        grant
            .notes
            .iter()
            .any(|n| n.contains("no firewall on the host")),
        "{grant}"
    );
    ws.revoke(&host, &grant.id);
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
    out.assert_stderr_contains("--allow-from");
}
