//! Many hosts at once: one batch, one grant per host, each host on its own.

use crate::support::{TestHost, hosts_with_root_key};
use std::time::Instant;

#[test]
fn a_batch_of_twelve_hosts_with_an_unreachable_one_and_a_failing_one() {
    let started = Instant::now();
    let Some((hosts, ws, key)) = hosts_with_root_key(12) else {
        return;
    };
    eprintln!("12 hosts up in {:.1}s", started.elapsed().as_secs_f64());
    // Host 5 does not answer (its sshd is gone); on host 9 the scope is a ramfs, where
    // setfacl fails after the account was created: that host must be rolled back.
    let (unreachable, failing) = (&hosts[5], &hosts[9]);
    unreachable.stop_sshd();
    failing.sh("mount -t ramfs ramfs /var/www/cms");
    let before_failing = failing.snapshot();

    // Two on the command line, the rest from a file with comments.
    let mut file = String::from("# CMS front ends\n\n");
    for host in &hosts[2..] {
        file.push_str(&format!("root@{}   # front end\n", host.addr));
    }
    let hosts_file = ws.file("hosts", &file);
    let provision_started = Instant::now();
    let out = ws
        .provision(
            &hosts[0].target("root"),
            &[
                &hosts[1].target("root"),
                "--hosts",
                &hosts_file,
                "-i",
                &key,
                "--scope",
                "/var/www/cms",
                "--ttl",
                "2h",
                "--no-baseline",
                "--parallel",
                "6",
                "--json",
            ],
        )
        .run()
        .expect_code(4);
    eprintln!(
        "batch provision took {:.1}s",
        provision_started.elapsed().as_secs_f64()
    );
    let json = out.batch();
    let batch = &json.batch;
    assert!(batch.starts_with("b-"), "{batch}");
    assert!(!json.ok);
    assert_eq!(json.exit_code, 4);
    assert_eq!(json.succeeded, 10);
    assert_eq!(json.hosts.len(), 12);
    let mut password = None;
    let mut account = None;
    for (host, result) in hosts.iter().zip(&json.hosts) {
        assert_eq!(result.target, host.target("root"));
        assert_eq!(result.host, host.addr);
        if std::ptr::eq(host, unreachable) {
            assert!(!result.ok, "{result}");
            assert_eq!(result.exit_code, 4, "{result}");
            assert!(result.grant.is_none(), "{result}");
            assert!(result.state.is_none(), "{result}");
            assert!(result.error().contains("could not connect"), "{result}");
        } else if std::ptr::eq(host, failing) {
            assert!(!result.ok, "{result}");
            assert_eq!(result.exit_code, 1, "{result}");
            let error = result.error();
            assert!(error.contains("acl"), "{error}");
            assert!(error.contains("rolled back"), "{error}");
            assert_eq!(result.state.as_deref(), Some("revoked"), "{result}");
            let record = ws.record(result.grant());
            assert_eq!(record.state, "revoked");
            assert_eq!(record.batch.as_ref(), Some(batch));
        } else {
            assert!(result.ok, "{result}");
            assert_eq!(result.exit_code, 0);
            assert!(result.error.is_none());
            assert_eq!(ws.record(result.grant()).batch.as_ref(), Some(batch));
            // The same account and password on every host of the batch.
            assert_eq!(
                *password.get_or_insert(result.password()),
                result.password()
            );
            assert_eq!(*account.get_or_insert(result.account()), result.account());
        }
    }
    let (account, password) = (account.expect("account"), password.expect("password"));
    for host in [&hosts[0], &hosts[11]] {
        let login = host.ssh_as(account, password, "id -un");
        assert!(
            login.status.success(),
            "the vendor cannot log in to {}",
            host.name
        );
    }
    // The failing host is as it was.
    assert_eq!(failing.snapshot(), before_failing);
    assert!(!failing.has_account(account));

    // The whole batch goes with one command.
    let teardown_started = Instant::now();
    let out = ws
        .handover(&["teardown", batch, "-i", &key, "--json"])
        .run()
        .expect_code(0);
    eprintln!(
        "batch teardown took {:.1}s",
        teardown_started.elapsed().as_secs_f64()
    );
    let torn = out.teardowns();
    assert_eq!(torn.batch.as_ref(), Some(batch));
    assert!(torn.ok);
    // Ten grants and the rolled-back one; the unreachable host never got a grant.
    assert_eq!(torn.grants().len(), 11, "{torn}");
    for grant in torn.grants() {
        assert!(grant.ok, "{grant}");
        assert_eq!(grant.state.as_deref(), Some("revoked"), "{grant}");
        assert_eq!(ws.record(&grant.grant).state, "revoked");
    }
    for host in hosts.iter().filter(|h| !std::ptr::eq(*h, unreachable)) {
        assert!(!host.has_account(account), "account left on {}", host.name);
    }
    eprintln!("whole test took {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn distinct_credentials_give_each_host_its_own_account_and_password() {
    let Some((hosts, ws, key)) = hosts_with_root_key(2) else {
        return;
    };
    let out = ws
        .provision(
            &hosts[0].target("root"),
            &[
                &hosts[1].target("root"),
                "-i",
                &key,
                "--scope",
                "/var/www/cms",
                "--no-baseline",
                "--distinct-credentials",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.batch();
    let results = &json.hosts;
    assert_ne!(results[0].account(), results[1].account());
    assert_ne!(results[0].password(), results[1].password());
    for (host, result) in hosts.iter().zip(results) {
        assert!(host.logs_in(result.account(), result.password()));
    }
    // Human output of a batch teardown: each report, then a summary.
    let batch = &json.batch;
    let out = ws
        .handover(&["teardown", batch, "-i", &key])
        .run()
        .expect_code(0);
    out.assert_stdout_contains(&format!(
        "batch {batch}: 2 of 2 grants torn down and verified"
    ));
}

#[test]
fn parallel_bounds_how_many_hosts_work_at_once_and_a_failed_host_is_named() {
    let Some((hosts, ws, key)) = hosts_with_root_key(4) else {
        return;
    };
    // Each host notes when its step started and ended (the hosts share this machine's clock).
    let playbook = ws.file(
        "timed.toml",
        r#"name = "timed"
description = "note when the step runs"
level = "user"
requires-scope = false

[[actions]]
kind = "shell"
description = "a slow step"
apply = "date +%s.%N > /root/step-start; sleep 1; date +%s.%N > /root/step-end"
undo = "rm -f /root/step-start /root/step-end"
verify_absent = "test ! -e /root/step-start"
"#,
    );
    let mut args: Vec<String> = hosts[1..].iter().map(|h| h.target("root")).collect();
    // Nothing listens there: that host fails on its own and is named.
    args.push("root@127.0.0.1:1".to_owned());
    args.extend(
        [
            "-i",
            key.as_str(),
            "--playbook",
            playbook.as_str(),
            "--parallel",
            "2",
            "--no-baseline",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ws
        .provision(&hosts[0].target("root"), &args)
        .run()
        .expect_code(4);
    // Human output: the table names the host that failed and why, and stderr says it too.
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("127.0.0.1"))
        .unwrap_or_else(|| panic!("no row for the unreachable host:\n{}", out.stdout));
    assert!(row.contains("exit 4"), "{row}");
    out.assert_stderr_contains("handover: error: [root@127.0.0.1:1] could not connect");

    let interval = |host: &TestHost| {
        let read = |file: &str| -> f64 {
            host.sh(&format!("cat /root/{file}"))
                .trim()
                .parse()
                .expect("a time")
        };
        (read("step-start"), read("step-end"))
    };
    let intervals: Vec<(f64, f64)> = hosts.iter().map(interval).collect();
    // The most steps running at one moment: exactly the bound, so hosts do run concurrently
    // and never more than --parallel of them.
    let most = intervals
        .iter()
        .map(|(start, _)| {
            intervals
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max();
    assert_eq!(most, Some(2), "steps ran at {intervals:?}");

    let batch = out
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("b-"))
        .expect("batch id")
        .trim_end_matches(':')
        .to_owned();
    ws.handover(&["teardown", &batch, "-i", &key])
        .run()
        .expect_code(0);
    for host in &hosts {
        assert!(!host.ok("test -e /root/step-start"), "{}", host.name);
    }
}
