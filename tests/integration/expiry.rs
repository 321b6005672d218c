//! The expiry guard: the host removes the grant at the TTL by itself, to the second with atd
//! and within the next minute with cron, leaving nothing behind (the account's files handed to
//! root); teardown cancels it.

use crate::docs::Provisioned;
use crate::support::{TestHost, host_tests_enabled, keypair};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Poll (bounded) until `done` holds on the host; returns when it was first seen. On timeout
/// the panic shows what the guard left on the host.
fn wait_for(host: &TestHost, what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    loop {
        if done() {
            return unix_now();
        }
        if start.elapsed() > limit {
            let state = host.exec(
                "date +%s; atq; stat -c '%n %.3Y' /etc/crontab /etc/cron.d /etc/cron.d/* /var/lib/handover/*/*; \
                 cat /etc/cron.d/handover-*; cat /var/lib/handover/*/log; ps -ef; \
                 p=$(pgrep -x cron) && echo cron started $(( $(awk '/^btime/{print $2}' /proc/stat) + $(awk '{print $22}' /proc/$p/stat) / 100 ))",
            );
            panic!(
                "{what}: not after {}s; on the host:\n{}{}",
                limit.as_secs(),
                String::from_utf8_lossy(&state.stdout),
                String::from_utf8_lossy(&state.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn guard_dir(grant: &Provisioned) -> String {
    format!("/var/lib/handover/{}", grant.id)
}

/// The guard as provision left it: a root-only script without the password, and its job.
fn assert_guard_armed(host: &TestHost, grant: &Provisioned) {
    let dir = guard_dir(grant);
    assert_eq!(
        host.sh(&format!("stat -c %U:%a {dir} {dir}/remove")),
        "root:700\nroot:700\n"
    );
    // The password is nowhere on the host's disk: not in the script, the at spool or cron.
    let hits = host.sh(&format!(
        "grep -rlF -- '{}' /var/lib/handover /var/spool/cron /etc/cron.d 2>/dev/null || true",
        grant.password()
    ));
    assert!(
        hits.is_empty(),
        "the password is on the host's disk: {hits}"
    );
}

/// Nothing of the guard is left: no job, no cron file, no directory, no spool file.
fn guard_gone(host: &TestHost, grant: &Provisioned) -> bool {
    host.ok(&format!(
        "test -z \"$(atq)\" && ! test -e /etc/cron.d/handover-{id} && ! test -e /var/lib/handover \
         && test -z \"$(find /var/spool/cron/atjobs /var/spool/cron/atspool -type f ! -name .SEQ)\"",
        id = grant.id
    ))
}

/// Provision with a short TTL, never run teardown, and watch the host remove it all; then
/// teardown finds nothing to do and revokes. `late` is how long after the expiry the removal
/// may come.
/// `root`: a root-level grant limited to the test machine's address, so the host must also
/// remove its sudoers and sshd drop-ins.
fn removed_at_the_ttl_without_teardown(
    service: &str,
    ttl: &str,
    backend: &str,
    late: u64,
    root: bool,
) {
    let Some((host, ws)) = TestHost::builder().service(service).trusted() else {
        return;
    };
    // A root-level grant also lets the vendor in with a key, which the host must remove too.
    let (_, vendor_key) = keypair(ws.dir.path(), "id_vendor", "");
    let extra = if root {
        vec![
            "--level",
            "root",
            "--allow-from",
            &host.gateway,
            "--vendor-key",
            &vendor_key,
        ]
    } else {
        Vec::new()
    };
    let grant = ws.grant(&host, &[&["--ttl", ttl], &extra[..]].concat());
    let expires_at = grant.expires_at().unix_timestamp();
    let a = grant.account();
    assert_eq!(
        host.ok(&format!("test -s /etc/ssh/handover-keys/{a}")),
        root,
        "the vendor's key file"
    );
    let drop_ins = "ls /etc/ssh/sshd_config.d /etc/sudoers.d | grep handover || true";
    // The sshd drop-in and the recording's sudoers drop-in (unless the host's sudo cannot
    // record: Debian 11); with root, the sudo one.
    let expected = 1 + usize::from(grant.recorded()) + usize::from(root);
    assert_eq!(
        host.sh(drop_ins).lines().count(),
        expected,
        "drop-ins of the grant: {}",
        host.sh(drop_ins)
    );
    let uid = host.uid_of(a);
    // A session the vendor left running, which the expiry must end.
    host.leave_running(a, "sleep 600");
    assert!(
        host.process_starts(&uid, "sleep"),
        "the vendor's session did not start"
    );
    if root {
        // And one it started as root through sudo, which must end too.
        host.sudo_as(
            a,
            grant.password(),
            "setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &",
        );
    }
    // Files it left where any account can write, one of them setuid.
    host.sh(&format!(
        "runuser -u {a} -- sh -c 'echo notes > /tmp/left && cp /bin/true /var/tmp/suid && chmod 4755 /var/tmp/suid'"
    ));
    assert_guard_armed(&host, &grant);
    let record = ws.record(&grant.id);
    let guard = record.guard();
    assert_eq!(guard.kind(), "expiry-guard");
    assert_eq!(guard.fact("backend"), backend, "{record}");
    match backend {
        "at" => assert_eq!(host.sh("atq | cut -f1").trim(), guard.fact("at_job")),
        _ => assert_eq!(
            host.sh(&format!("stat -c %U:%a /etc/cron.d/handover-{}", grant.id)),
            "root:600\n"
        ),
    }

    // Everything above must happen before the expiry.
    let margin = expires_at as f64 - unix_now();
    eprintln!("{service}: {margin:.1}s of the TTL left after setting up");
    assert!(
        margin > 0.0,
        "the TTL passed while setting up: {margin:.1}s"
    );
    let limit = Duration::from_secs((expires_at - unix_now() as i64).max(0) as u64 + late);
    let gone = wait_for(&host, "the account removed by the host", limit, || {
        !host.has_account(a)
    });
    assert!(
        gone >= expires_at as f64,
        "removed {:.1}s before the expiry",
        expires_at as f64 - gone
    );
    wait_for(
        &host,
        "the guard removing itself",
        Duration::from_secs(20),
        || guard_gone(&host, &grant),
    );
    assert!(!host.ok(&format!("pgrep -u {uid}")), "processes survived");
    assert!(
        !host.ok("pgrep -f '[w]hile :'"),
        "a process the vendor started as root survived"
    );
    // Its leftovers are root's before the uid can go to a new account; no setuid bit survived.
    assert_eq!(
        host.sh("stat -c %u:%g /tmp/left /var/tmp/suid"),
        "0:0\n0:0\n",
        "the account's files were not handed to root"
    );
    assert_eq!(host.sh("stat -c %a /var/tmp/suid").trim(), "755");
    assert!(!host.ok(&format!("test -e /home/{a}")), "home left");
    assert_eq!(host.sh(drop_ins), "", "sshd or sudoers drop-ins left");
    assert!(
        !host.ok(&format!("test -e /etc/ssh/handover-keys/{a}")),
        "the vendor's key was left"
    );
    assert!(host.ok("sshd -t && visudo -c >/dev/null"));
    let acl = host.sh(&format!("getfacl -R -p -n {} 2>/dev/null", host.scope));
    assert!(!acl.contains(&format!("user:{uid}:")), "ACL left:\n{acl}");
    assert!(!host.logs_in(a, grant.password()));

    // The uid is free again and the next account gets it: teardown of the expired grant must
    // leave that account, its processes and its ACL entries alone.
    host.sh(&format!(
        "useradd -M -u {uid} reuser && runuser -u reuser -- sh -c 'nohup sleep 600 >/dev/null 2>&1 &' \
         && setfacl -m u:reuser:r {}/index.php",
        host.scope
    ));
    // The new account is itself a change on the persistence surface since the baseline:
    // teardown verifies the grant gone and reports that account (exit 3).
    let report = ws.teardown_exit_3(&host, &grant.id);
    assert!(report.verified, "{report}");
    assert!(
        report
            .drift()
            .persistence
            .iter()
            .any(|i| i.to_string().contains("reuser")),
        "{report}"
    );
    assert_eq!(ws.record(&grant.id).state, "revoked");
    assert!(host.ok("getent passwd reuser && pgrep -u reuser sleep"));
    assert!(
        host.sh(&format!("getfacl -p {}/index.php", host.scope))
            .contains("user:reuser:r--")
    );
}

#[test]
fn atd_removes_the_grant_at_the_ttl_to_the_second() {
    if !host_tests_enabled() {
        return;
    }
    // A root-level grant with a baseline takes longest to provision on a loaded machine: the
    // TTL must not pass while the test sets up.
    removed_at_the_ttl_without_teardown("atd", "20s", "at", 15, true);
}

#[test]
fn cron_removes_the_grant_within_the_minute_after_the_ttl() {
    if !host_tests_enabled() {
        return;
    }
    // cron starts jobs at whole minutes and reads new files only at the next one. 15 s: with
    // 8 s the TTL passed while setting up on a loaded machine (four tests at once on two cores,
    // as the release matrix of scripts/test runs them).
    removed_at_the_ttl_without_teardown("cron", "15s", "cron", 75, false);
}

#[test]
fn teardown_before_the_ttl_cancels_the_job() {
    if !host_tests_enabled() {
        return;
    }
    for (service, backend) in [("atd", "at"), ("cron", "cron")] {
        let Some((host, ws)) = TestHost::builder().service(service).trusted() else {
            return;
        };
        let before = host.snapshot();
        let grant = ws.grant(&host, &["--ttl", "1h"]);
        assert_guard_armed(&host, &grant);
        assert_eq!(ws.record(&grant.id).guard().fact("backend"), backend);
        match backend {
            "at" => assert_eq!(host.sh("atq").lines().count(), 1),
            _ => assert!(host.ok(&format!("test -f /etc/cron.d/handover-{}", grant.id))),
        }
        ws.revoke(&host, &grant.id);
        assert!(guard_gone(&host, &grant), "{backend}: the guard is left");
        assert_eq!(host.sh("atq"), "");
        assert_eq!(before, host.snapshot(), "{backend}: host changed");
    }
}

#[test]
fn a_host_without_a_scheduler_is_refused_at_preflight() {
    let Some((host, ws)) = TestHost::builder().service("none").trusted() else {
        return;
    };
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &["`at`", "atd", "`cron`"],
    );
}
