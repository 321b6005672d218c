//! Host keys are verified: unknown keys are refused unless accepted explicitly, changed keys
//! always, and teardown accepts only the key pinned in the record.

use crate::support::{TestHost, Workspace, host_tests_enabled};

#[test]
fn unknown_host_key_is_refused_without_the_flag() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    let before = host.snapshot();
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(4);
    let fingerprint = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .map(|mut s| s.write_all(host.host_key().as_bytes()));
            c.wait_with_output()
        })
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned()
        })
        .expect("ssh-keygen -l");
    assert!(fingerprint.starts_with("SHA256:"));
    assert!(
        out.stderr.contains(&fingerprint),
        "fingerprint {fingerprint} not shown:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--accept-new-host-key"),
        "{}",
        out.stderr
    );
    assert!(
        !ws.known_hosts().exists()
            || std::fs::read_to_string(ws.known_hosts())
                .unwrap_or_default()
                .is_empty()
    );
    assert_eq!(before, host.snapshot());
}

#[test]
fn changed_host_key_is_refused_at_provision_and_teardown() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    let target = format!("root@{}", host.addr);
    let out = ws
        .provision(
            &target,
            &["--scope", &host.scope, "--accept-new-host-key", "--json"],
        )
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let grant = out.json()["grant"].as_str().expect("grant").to_owned();
    let account = out.json()["account"].as_str().expect("account").to_owned();
    assert!(
        std::fs::read_to_string(ws.known_hosts())
            .expect("known_hosts learned")
            .contains(&host.addr)
    );

    // The host gets new keys (reinstalled, or someone in the middle).
    host.sh("cd /etc/ssh && mkdir -p /root/oldkeys && cp -a ssh_host_* /root/oldkeys/ && rm -f ssh_host_* && ssh-keygen -q -N '' -t ed25519 -f ssh_host_ed25519_key && ssh-keygen -q -N '' -t ecdsa -f ssh_host_ecdsa_key");

    let out = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(4);
    assert!(out.stderr.contains("changed"), "{}", out.stderr);
    assert!(
        out.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("host key"))
    );
    assert_eq!(
        ws.record(&grant)["state"],
        "active",
        "a refused teardown must leave the grant active"
    );
    assert!(host.ok(&format!("getent passwd {account}")));

    // Even --accept-new-host-key never accepts a changed key at provision.
    let out = ws
        .provision(&target, &["--scope", &host.scope, "--accept-new-host-key"])
        .with_root_password(&host)
        .run()
        .expect_code(4);
    assert!(
        out.stderr.contains("not the one recorded"),
        "{}",
        out.stderr
    );

    // With the old keys back, the same teardown succeeds.
    host.sh("cp -a /root/oldkeys/ssh_host_* /etc/ssh/ && rm -rf /root/oldkeys");
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(!host.ok(&format!("getent passwd {account}")));
}
