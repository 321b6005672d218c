//! Many hosts at once: one batch, one grant per host, each host on its own.

use crate::support::{TestHost, Workspace, host_tests_enabled, keypair};
use std::time::Instant;

#[test]
fn a_batch_of_twelve_hosts_with_an_unreachable_one_and_a_failing_one() {
    if !host_tests_enabled() {
        return;
    }
    let started = Instant::now();
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "id_batch", "");
    let hosts = TestHost::builder().root_authorized_key(&public).up_many(12);
    eprintln!("12 hosts up in {:.1}s", started.elapsed().as_secs_f64());
    for host in &hosts {
        ws.trust(host);
    }
    // Host 5 does not answer (its sshd is gone); on host 9 the scope is a ramfs, where
    // setfacl fails after the account was created: that host must be rolled back.
    let (unreachable, failing) = (&hosts[5], &hosts[9]);
    unreachable.sh("pkill -x sshd; while pgrep -x sshd >/dev/null; do sleep 0.05; done");
    failing.sh("mount -t ramfs ramfs /var/www/cms");
    let before_failing = failing.snapshot();

    // Two on the command line, the rest from a file with comments.
    let mut file = String::from("# CMS front ends\n\n");
    for host in &hosts[2..] {
        file.push_str(&format!("root@{}   # front end\n", host.addr));
    }
    let hosts_file = ws.dir.path().join("hosts");
    std::fs::write(&hosts_file, file).expect("write hosts file");
    let provision_started = Instant::now();
    let out = ws
        .provision(
            &format!("root@{}", hosts[0].addr),
            &[
                &format!("root@{}", hosts[1].addr),
                "--hosts",
                hosts_file.to_str().expect("path"),
                "-i",
                key.to_str().expect("path"),
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
    let json = out.json();
    let batch = json["batch"].as_str().expect("batch").to_owned();
    assert!(batch.starts_with("b-"), "{batch}");
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 4);
    assert_eq!(json["succeeded"], 10);
    let results = json["hosts"].as_array().expect("hosts");
    assert_eq!(results.len(), 12);
    let mut password = None;
    let mut account = None;
    for (host, result) in hosts.iter().zip(results) {
        assert_eq!(result["target"], format!("root@{}", host.addr));
        assert_eq!(result["host"], host.addr.as_str());
        if std::ptr::eq(host, unreachable) {
            assert_eq!(result["ok"], false, "{result}");
            assert_eq!(result["exit_code"], 4, "{result}");
            assert!(result["grant"].is_null(), "{result}");
            assert!(result["state"].is_null(), "{result}");
            assert!(
                result["error"]
                    .as_str()
                    .expect("error")
                    .contains("could not connect"),
                "{result}"
            );
        } else if std::ptr::eq(host, failing) {
            assert_eq!(result["ok"], false, "{result}");
            assert_eq!(result["exit_code"], 1, "{result}");
            let error = result["error"].as_str().expect("error");
            assert!(error.contains("acl"), "{error}");
            assert!(error.contains("rolled back"), "{error}");
            assert_eq!(result["state"], "revoked", "{result}");
            let grant = result["grant"].as_str().expect("grant of the failed host");
            let record = ws.record(grant);
            assert_eq!(record["state"], "revoked");
            assert_eq!(record["batch"], batch.as_str());
        } else {
            assert_eq!(result["ok"], true, "{result}");
            assert_eq!(result["exit_code"], 0);
            assert!(result["error"].is_null());
            let grant = result["grant"].as_str().expect("grant");
            assert_eq!(ws.record(grant)["batch"], batch.as_str());
            // The same account and password on every host of the batch.
            let this_password = result["password"].as_str().expect("password").to_owned();
            let this_account = result["account"].as_str().expect("account").to_owned();
            assert_eq!(
                password.get_or_insert(this_password.clone()),
                &this_password
            );
            assert_eq!(account.get_or_insert(this_account.clone()), &this_account);
        }
    }
    let (account, password) = (account.expect("account"), password.expect("password"));
    for host in [&hosts[0], &hosts[11]] {
        let login = host.ssh_as(&account, &password, "id -un");
        assert!(
            login.status.success(),
            "the vendor cannot log in to {}",
            host.name
        );
    }
    // The failing host is as it was.
    assert_eq!(failing.snapshot(), before_failing);
    assert!(!failing.ok(&format!("getent passwd {account}")));

    // The whole batch goes with one command.
    let teardown_started = Instant::now();
    let out = ws
        .handover(&[
            "teardown",
            &batch,
            "-i",
            key.to_str().expect("path"),
            "--json",
        ])
        .run()
        .expect_code(0);
    eprintln!(
        "batch teardown took {:.1}s",
        teardown_started.elapsed().as_secs_f64()
    );
    let json = out.json();
    assert_eq!(json["batch"], batch.as_str());
    assert_eq!(json["ok"], true);
    let grants = json["grants"].as_array().expect("grants");
    // Ten grants and the rolled-back one; the unreachable host never got a grant.
    assert_eq!(grants.len(), 11, "{json}");
    for grant in grants {
        assert_eq!(grant["ok"], true, "{grant}");
        assert_eq!(grant["state"], "revoked", "{grant}");
        let id = grant["grant"].as_str().expect("grant");
        assert_eq!(ws.record(id)["state"], "revoked");
    }
    for host in hosts.iter().filter(|h| !std::ptr::eq(*h, unreachable)) {
        assert!(
            !host.ok(&format!("getent passwd {account}")),
            "account left on {}",
            host.name
        );
    }
    eprintln!("whole test took {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn distinct_credentials_give_each_host_its_own_account_and_password() {
    if !host_tests_enabled() {
        return;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "id_batch", "");
    let hosts = TestHost::builder().root_authorized_key(&public).up_many(2);
    for host in &hosts {
        ws.trust(host);
    }
    let out = ws
        .provision(
            &format!("root@{}", hosts[0].addr),
            &[
                &format!("root@{}", hosts[1].addr),
                "-i",
                key.to_str().expect("path"),
                "--scope",
                "/var/www/cms",
                "--no-baseline",
                "--distinct-credentials",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let results = json["hosts"].as_array().expect("hosts");
    assert_ne!(results[0]["account"], results[1]["account"]);
    assert_ne!(results[0]["password"], results[1]["password"]);
    for (host, result) in hosts.iter().zip(results) {
        let login = host.ssh_as(
            result["account"].as_str().expect("account"),
            result["password"].as_str().expect("password"),
            "true",
        );
        assert!(login.status.success());
    }
    // Human output of a batch teardown: each report, then a summary.
    let batch = json["batch"].as_str().expect("batch");
    let out = ws
        .handover(&["teardown", batch, "-i", key.to_str().expect("path")])
        .run()
        .expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "batch {batch}: 2 of 2 grants torn down and verified"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn parallel_bounds_how_many_hosts_work_at_once_and_a_failed_host_is_named() {
    if !host_tests_enabled() {
        return;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "id_batch", "");
    let hosts = TestHost::builder().root_authorized_key(&public).up_many(4);
    for host in &hosts {
        ws.trust(host);
    }
    // Each host notes when its step started and ended (the hosts share this machine's clock).
    let playbook = ws.dir.path().join("timed.toml");
    std::fs::write(
        &playbook,
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
    )
    .expect("write playbook");
    let mut args: Vec<String> = hosts[1..]
        .iter()
        .map(|h| format!("root@{}", h.addr))
        .collect();
    // Nothing listens there: that host fails on its own and is named.
    args.push("root@127.0.0.1:1".to_owned());
    args.extend(
        [
            "-i",
            key.to_str().expect("path"),
            "--playbook",
            playbook.to_str().expect("path"),
            "--parallel",
            "2",
            "--no-baseline",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ws
        .provision(&format!("root@{}", hosts[0].addr), &args)
        .run()
        .expect_code(4);
    // Human output: the table names the host that failed and why, and stderr says it too.
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("127.0.0.1"))
        .unwrap_or_else(|| panic!("no row for the unreachable host:\n{}", out.stdout));
    assert!(row.contains("exit 4"), "{row}");
    assert!(
        out.stderr
            .contains("handover: error: [root@127.0.0.1:1] could not connect"),
        "{}",
        out.stderr
    );

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
    ws.handover(&["teardown", &batch, "-i", key.to_str().expect("path")])
        .run()
        .expect_code(0);
    for host in &hosts {
        assert!(!host.ok("test -e /root/step-start"), "{}", host.name);
    }
}
