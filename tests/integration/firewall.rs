//! Firewall allowlist: the vendor's address gets through the host's own firewall for the
//! grant, by a rule tagged with the grant id that teardown removes; through ufw or firewalld
//! when one of them manages the firewall, so that its reload neither drops the vendor's rule
//! nor brings it back after teardown.

use crate::docs::Provisioned;
use crate::support::{IPTABLES_FIREWALL, NFT_FIREWALL, TestHost, Workspace, trusted_host};
use std::time::{Duration, Instant};

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

/// A front-end managing the host's firewall (`scripts/testhost up --service NAME`, which lets
/// only the customer's admin address, the gateway, reach sshd): how the customer reloads it,
/// and what it shows of its rules, running and saved.
struct FrontEnd {
    service: &'static str,
    reload: &'static str,
    listing: &'static str,
}

const UFW: FrontEnd = FrontEnd {
    service: "ufw",
    reload: "ufw reload",
    listing: "ufw status verbose; ufw show added; cat /etc/ufw/user.rules /etc/ufw/user6.rules",
};

const FIREWALLD: FrontEnd = FrontEnd {
    service: "firewalld",
    reload: "firewall-cmd --reload",
    listing: "firewall-cmd --list-all-zones; firewall-cmd --permanent --list-all-zones; \
              ls -l /etc/firewalld/zones; cat /etc/firewalld/zones/*",
};

/// Whether anyone gets through to sshd from the vendor's address (`client_addr2`): root,
/// whose password logins the host allows, tries.
fn vendor_address_reaches_sshd(host: &TestHost) -> bool {
    host.ssh_as_from(&host.client_addr2, "root", &host.root_password, "true")
        .status
        .success()
}

fn vendor_logs_in(host: &TestHost, grant: &Provisioned) -> bool {
    host.ssh_as_from(
        &host.client_addr2,
        grant.account(),
        grant.password(),
        "id -un",
    )
    .status
    .success()
}

/// `--open-firewall` through the front-end: the vendor's address, refused before, gets in for
/// the grant, also after the customer reloads the front-end; teardown closes it again, leaves
/// the front-end's rules and files as they were, and a reload after teardown does not bring the
/// rule back.
fn grant_through_front_end(front_end: &FrontEnd) {
    let Some((host, ws)) = TestHost::builder()
        .service(front_end.service)
        .service("cron")
        .trusted()
    else {
        return;
    };
    let before = host.sh(front_end.listing);
    assert!(
        !vendor_address_reaches_sshd(&host),
        "the customer's {} lets the vendor's address in before the grant",
        front_end.service
    );
    let vendor = format!("{}/32", host.client_addr2);

    // Provision says which front-end the grant goes through, before any change and in the
    // credentials.
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
    out.assert_stderr_contains(&format!(
        "the grant's rules go through {}",
        front_end.service
    ));
    let grant = out.provisioned();
    let through = format!("through {}", front_end.service);
    assert!(grant.notes.iter().any(|n| n.contains(&through)), "{grant}");
    assert_eq!(
        ws.record(&grant.id)
            .action("firewall")
            .expect("a firewall action")
            .fact("backend"),
        front_end.service
    );
    assert!(
        vendor_logs_in(&host, &grant),
        "the vendor cannot get through {}",
        front_end.service
    );
    // The customer reloads the front-end during the window: the vendor's access stays.
    host.sh(front_end.reload);
    assert!(
        vendor_logs_in(&host, &grant),
        "`{}` dropped the vendor's rule",
        front_end.reload
    );

    // An audit during the window does not take the grant's own running rules for a
    // back-door; it lists the front-end's saved rules as changed (they hold the grant's rule
    // until teardown), and nothing else.
    let audit = ws.audit(&host, &grant.id, 3);
    let items: Vec<String> = audit
        .drift
        .persistence
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|i| {
            i.contains("saved firewall rules /etc/ufw/user")
                || i.contains("saved firewall rules /etc/firewalld/zones/")
        }),
        "{items:#?}"
    );

    // Teardown verifies the rules gone and finds no drift, the saved rules included.
    ws.revoke(&host, &grant.id);
    assert_eq!(
        before,
        host.sh(front_end.listing),
        "{} is not as before",
        front_end.service
    );
    assert!(
        !vendor_address_reaches_sshd(&host),
        "the vendor's address still gets through"
    );
    // A reload after teardown does not bring the rule back.
    host.sh(front_end.reload);
    assert!(
        !vendor_address_reaches_sshd(&host),
        "`{}` after teardown let the vendor's address in again",
        front_end.reload
    );
    assert_eq!(before, host.sh(front_end.listing));
    assert!(
        host.logs_in("root", &host.root_password),
        "the customer is locked out"
    );
}

#[test]
fn ufw_rule_survives_its_reload_and_teardown_removes_it_for_good() {
    grant_through_front_end(&UFW);
}

#[test]
fn firewalld_rule_survives_its_reload_and_teardown_removes_it_for_good() {
    grant_through_front_end(&FIREWALLD);
}

/// The expiry guard (atd) removes the front-end's rule at the TTL, nobody running teardown:
/// the vendor's address is refused again, also after a reload, and the front-end's rules and
/// files are as before.
fn expiry_guard_closes_front_end(front_end: &FrontEnd, ttl: &str) {
    let Some((host, ws)) = TestHost::builder()
        .service(front_end.service)
        .service("atd")
        .trusted()
    else {
        return;
    };
    let before = host.sh(front_end.listing);
    let vendor = format!("{}/32", host.client_addr2);
    let grant = ws.grant(
        &host,
        &["--allow-from", &vendor, "--open-firewall", "--ttl", ttl],
    );
    assert!(
        vendor_logs_in(&host, &grant),
        "the vendor cannot get through {}",
        front_end.service
    );
    let expires_at = grant.expires_at();
    let left = expires_at - time::OffsetDateTime::now_utc();
    assert!(
        left.is_positive(),
        "the TTL passed while setting up ({left})"
    );
    let limit = Duration::try_from(left).unwrap_or_default() + Duration::from_secs(30);
    let start = Instant::now();
    while host.sh(front_end.listing) != before {
        assert!(
            start.elapsed() < limit,
            "{} still holds the grant's rule {}s after the TTL:\n{}",
            front_end.service,
            30,
            host.sh(front_end.listing)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        time::OffsetDateTime::now_utc() >= expires_at,
        "the rule went before the expiry"
    );
    assert!(
        !vendor_address_reaches_sshd(&host),
        "the vendor's address still gets through after the expiry"
    );
    host.sh(front_end.reload);
    assert!(
        !vendor_address_reaches_sshd(&host),
        "`{}` after the expiry let the vendor's address in again",
        front_end.reload
    );
    // Teardown afterwards finds nothing left.
    ws.revoke(&host, &grant.id);
    assert_eq!(before, host.sh(front_end.listing));
}

#[test]
fn expiry_guard_removes_the_ufw_rule_at_the_ttl() {
    expiry_guard_closes_front_end(&UFW, "20s");
}

#[test]
fn expiry_guard_removes_the_firewalld_rule_at_the_ttl() {
    expiry_guard_closes_front_end(&FIREWALLD, "30s");
}

/// firewalld stopped during the window (its rules flushed as it exits) and started again after
/// teardown: teardown removed the grant's rule from its files without it (firewall-offline-cmd),
/// so the start does not bring it back, and the zone files are as they were.
#[test]
fn firewalld_started_after_teardown_does_not_bring_the_rule_back() {
    let Some((host, ws)) = TestHost::builder()
        .service("firewalld")
        .service("cron")
        .trusted()
    else {
        return;
    };
    let zone_files = "ls -l /etc/firewalld/zones; cat /etc/firewalld/zones/*";
    let before = host.sh(zone_files);
    let vendor = format!("{}/32", host.client_addr2);
    let grant = ws.grant(&host, &["--allow-from", &vendor, "--open-firewall"]);
    assert!(vendor_logs_in(&host, &grant));
    assert_ne!(before, host.sh(zone_files), "the rule is not saved");

    host.sh("pkill -TERM -f '^/usr/bin/python3 /usr/sbin/firewalld' && while pgrep -f '^/usr/bin/python3 /usr/sbin/firewalld' >/dev/null; do sleep 0.1; done");
    // Stopping the firewall is the customer's change (drift, exit 3); the grant's rules are
    // verified gone all the same.
    let report = ws.teardown_exit_3(&host, &grant.id);
    assert!(report.verified, "{report:?}");
    assert_eq!(
        before,
        host.sh(zone_files),
        "the zone files are not as before"
    );

    host.sh(
        "/usr/sbin/firewalld --nopid >/dev/null 2>&1 && \
         for i in $(seq 100); do [ \"$(firewall-cmd --state 2>/dev/null)\" = running ] && break; sleep 0.1; done; \
         firewall-cmd --state",
    );
    assert!(
        !vendor_address_reaches_sshd(&host),
        "firewalld started after teardown let the vendor's address in again"
    );
    assert!(host.logs_in("root", &host.root_password));
}

/// The customer's ufw already lets the vendor's address reach sshd: ufw takes no second rule
/// alike, so the grant adds none, says so, and teardown leaves the customer's rule alone.
#[test]
fn ufw_rule_the_customer_already_had_is_left_alone() {
    let Some((host, ws)) = TestHost::builder().service("ufw").service("cron").trusted() else {
        return;
    };
    host.sh(&format!(
        "ufw allow proto tcp from {} to any port 22 >/dev/null",
        host.client_addr2
    ));
    let before = host.sh(UFW.listing);
    assert!(vendor_address_reaches_sshd(&host));
    let vendor = format!("{}/32", host.client_addr2);
    let grant = ws.grant(&host, &["--allow-from", &vendor, "--open-firewall"]);
    assert!(
        grant
            .warnings
            .iter()
            .any(|w| w.contains("ufw already lets") && w.contains("stays after teardown")),
        "{grant}"
    );
    assert_eq!(before, host.sh(UFW.listing), "ufw changed");
    assert!(vendor_logs_in(&host, &grant));
    ws.revoke(&host, &grant.id);
    assert_eq!(before, host.sh(UFW.listing), "the customer's rule went");
    assert!(vendor_address_reaches_sshd(&host));
}

/// `suspend` closes the grant's rule through the front-end (the vendor's address is refused,
/// also after the front-end's reload) and `resume` opens it again; teardown still leaves the
/// front-end as it was.
fn suspend_and_resume_through(front_end: &FrontEnd) {
    let Some((host, ws)) = TestHost::builder()
        .service(front_end.service)
        .service("cron")
        .trusted()
    else {
        return;
    };
    let before = host.sh(front_end.listing);
    let vendor = format!("{}/32", host.client_addr2);
    let grant = ws.grant(&host, &["--allow-from", &vendor, "--open-firewall"]);
    assert!(vendor_logs_in(&host, &grant));
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    host.sh(front_end.reload);
    assert!(
        !vendor_address_reaches_sshd(&host),
        "the vendor's address gets through {} while suspended",
        front_end.service
    );
    ws.handover(&["resume", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    host.sh(front_end.reload);
    assert!(
        vendor_logs_in(&host, &grant),
        "resume did not reopen {}",
        front_end.service
    );
    ws.revoke(&host, &grant.id);
    assert_eq!(
        host.sh(front_end.listing),
        before,
        "{} is not as before",
        front_end.service
    );
}

#[test]
fn suspend_closes_the_ufw_rule_and_resume_opens_it() {
    suspend_and_resume_through(&UFW);
}

#[test]
fn suspend_closes_the_firewalld_rule_and_resume_opens_it() {
    suspend_and_resume_through(&FIREWALLD);
}
