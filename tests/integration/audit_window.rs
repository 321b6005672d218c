//! Auditing during the window: the grant's own footprint (expiry job, firewall rules) is not
//! drift, while anything else is, even at the paths of a grant already revoked; and programs
//! the lent account plants in `/usr/local` fool neither teardown nor sudo.

use crate::support::{IPTABLES_FIREWALL, NFT_FIREWALL, TestHost, host_tests_enabled, trusted_host};

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
        let Some((host, ws)) = TestHost::builder().service(service).trusted() else {
            return;
        };
        host.sh(&firewall.replace("GATEWAY", &host.gateway));
        let grant = ws.grant(&host, &["--allow-from", "10.200.0.0/16", "--open-firewall"]);
        let record = ws.record(&grant.id);
        assert_eq!(record.guard().fact("backend"), backend, "{record}");
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

        let drift = ws.audit(&host, &grant.id, 0).drift;
        assert_eq!(
            drift.status, "no drift detected",
            "{service}/{tool}: {drift:#}"
        );

        host.sh("echo '* * * * * root /bin/true' > /etc/cron.d/planted");
        let drift = ws.audit(&host, &grant.id, 3).drift;
        assert_eq!(
            drift.paths(),
            ["/etc/cron.d/planted"],
            "{service}/{tool}: {drift:#}"
        );
    }
}

/// Another grant on the same host is left out of the comparison only while it is live: once
/// it is revoked, its removal is no drift, but its account made again is.
#[test]
fn a_revoked_grants_account_made_again_is_drift() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let first = ws.grant(&host, &["--level", "root"]);
    let second = ws.grant(&host, &[]);
    // The first grant, live, is the customer's doing too.
    let drift = ws.audit(&host, &second.id, 0).drift;
    assert_eq!(drift.status, "no drift detected", "{drift:#}");

    ws.revoke(&host, &first.id);
    // Its removal during the second's window is the customer's doing as well.
    let drift = ws.audit(&host, &second.id, 0).drift;
    assert_eq!(drift.status, "no drift detected", "{drift:#}");

    // The revoked grant's account, made again (with root's group), is a back-door.
    host.sh(&format!("useradd -M -g 0 -s /bin/bash {}", first.account()));
    let drift = ws.audit(&host, &second.id, 3).drift;
    assert!(
        drift
            .persistence
            .iter()
            .any(|i| i.to_string().contains(first.account())),
        "{drift:#}"
    );
}

/// Programs that lie, planted in `/usr/local` (ahead of the system's on root's usual PATH):
/// teardown's scripts use the system's own, so the account is really removed and verified.
#[test]
fn programs_planted_in_usr_local_do_not_fool_teardown() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--level", "root"]);
    let a = grant.account();
    // What a root-level vendor could leave: a `userdel` that removes nothing, and a `getent`,
    // `find`, `pgrep` that find nothing.
    host.sh("printf '#!/bin/sh\\nexit 0\\n' > /usr/local/sbin/userdel
printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/find
printf '#!/bin/sh\\nexit 2\\n' > /usr/local/bin/getent
printf '#!/bin/sh\\nexit 1\\n' > /usr/local/bin/pgrep
chmod 755 /usr/local/sbin/userdel /usr/local/bin/find /usr/local/bin/getent /usr/local/bin/pgrep");
    // The account leaves a file where teardown hands its files to root (/sbin: runuser is not
    // in /usr/sbin before merged /usr, Debian 11).
    host.sh(&format!(
        "/sbin/runuser -u {a} -- /bin/sh -c 'echo x > /tmp/left'"
    ));

    let out = ws.teardown_as_root(&host, &grant.id, &["--json"]).run();
    let report = out.teardown_report();
    // (From here on the host's own commands by their full paths: the planted ones lie.)
    assert!(
        !host.ok(&format!("/usr/bin/getent passwd {a}")),
        "the account is still there: {report:#}"
    );
    assert!(report.verified, "{report:#}");
    assert_eq!(
        host.sh("/usr/bin/stat -c %u /tmp/left").trim(),
        "0",
        "the account's file was not handed to root"
    );
    // The drift report names the planted programs once the collector covers /usr/local.
    if out.code == 3 {
        let reported = report.drift().paths();
        assert!(reported.contains(&"/usr/local/bin/find"), "{reported:?}");
    } else {
        assert_eq!(out.code, 0, "{report:#}");
    }
}

/// sudo is run by its full path: a `sudo` planted in `/usr/local/bin`, first on the login's
/// PATH, never sees the password; and a host without sudo says where it looked.
#[test]
fn sudo_is_run_by_its_full_path() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws
        .provision_as_admin(&host, &["--scope", &host.scope, "--become", "--json"])
        .run()
        .expect_code(0)
        .provisioned()
        .id;

    host.sh(
        "printf '#!/bin/sh\\ncat > /var/tmp/captured\\nexit 1\\n' > /usr/local/bin/sudo
chmod 755 /usr/local/bin/sudo",
    );
    let out = ws
        .handover(&["audit", &grant])
        .with_password(&host.admin_password)
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
        .with_password(&host.admin_password)
        .run()
        .expect_code(4);
    out.assert_stderr_contains("/usr/bin/sudo");
    assert!(!host.ok("test -e /var/tmp/captured"));
}

/// A loader preload written during the window: reported first, with its warning.
#[test]
fn a_loader_preload_is_reported_first_with_a_warning() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--level", "root"]);
    host.sh(
        "echo /usr/lib/x86_64-linux-gnu/libhandover-test-missing.so > /etc/ld.so.preload \
         && echo '* * * * * root /bin/true' > /etc/cron.d/planted",
    );
    let drift = ws.audit(&host, &grant.id, 3).drift;
    let first = drift.persistence.first().expect("a persistence item");
    assert_eq!(first.category, "loader", "{drift:#}");
    assert!(
        first.text.contains("libhandover-test-missing.so"),
        "{drift:#}"
    );
    assert!(
        drift
            .warnings
            .iter()
            .any(|w| w.contains("the dynamic loader preloads a library")),
        "{drift:#}"
    );
    assert!(drift.paths().contains(&"/etc/cron.d/planted"));
}
