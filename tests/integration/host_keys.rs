//! Host keys are verified: unknown keys are refused unless accepted explicitly, changed keys
//! always, and teardown accepts only the key pinned in the record.

use crate::support::{TestHost, Workspace, fingerprint, host_tests_enabled};

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
    let fingerprint = fingerprint(&host.host_key());
    assert!(fingerprint.starts_with("SHA256:"));
    assert!(
        out.stderr.contains(&fingerprint),
        "fingerprint {fingerprint} not shown:\n{}",
        out.stderr
    );
    out.assert_stderr_contains("--accept-new-host-key");
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
    let grant = ws.grant(&host, &["--accept-new-host-key"]);
    let account = grant.account();
    assert!(
        std::fs::read_to_string(ws.known_hosts())
            .expect("known_hosts learned")
            .contains(&host.addr)
    );

    // The host gets new keys (reinstalled, or someone in the middle).
    host.sh("cd /etc/ssh && mkdir -p /root/oldkeys && cp -a ssh_host_* /root/oldkeys/ && rm -f ssh_host_* && ssh-keygen -q -N '' -t ed25519 -f ssh_host_ed25519_key && ssh-keygen -q -N '' -t ecdsa -f ssh_host_ecdsa_key");
    reload_sshd(&host);

    let out = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(4);
    out.assert_stderr_contains("changed");
    assert!(out.error_report().error.contains("host key"));
    assert_eq!(
        ws.record(&grant.id).state,
        "active",
        "a refused teardown must leave the grant active"
    );
    assert!(host.has_account(account));

    // Even --accept-new-host-key never accepts a changed key at provision.
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--accept-new-host-key"])
        .run()
        .expect_code(4);
    out.assert_stderr_contains("not the one recorded");

    // With the old keys back, the same teardown succeeds.
    host.sh("cp -a /root/oldkeys/ssh_host_* /etc/ssh/ && rm -rf /root/oldkeys");
    reload_sshd(&host);
    ws.revoke(&host, &grant.id);
    assert!(!host.has_account(account));
}

/// Make sshd take the host keys on disk: OpenSSH 10 (Debian 13) hands the keys it loaded at
/// start to each connection's `sshd-session`, where older ones read them again for each
/// connection. sshd writes its pid file again once it listens after SIGHUP.
fn reload_sshd(host: &TestHost) {
    host.sh(
        "before=$(stat -c '%i %Z %z' /run/sshd.pid); kill -HUP \"$(cat /run/sshd.pid)\"; \
         for i in $(seq 200); do [ -f /run/sshd.pid ] && [ \"$(stat -c '%i %Z %z' /run/sshd.pid)\" != \"$before\" ] && exit 0; sleep 0.02; done; exit 1",
    );
}
