//! Host aliases from an ssh client configuration (`-F FILE`), directly and through a jump host,
//! with every host key verified and pinned.

use crate::support::{Agent, TestHost, host_with_root_key, hosts_with_root_key, keypair};
use std::path::Path;

/// A known_hosts file holding the keys of `hosts`.
fn known_hosts(path: &Path, hosts: &[&TestHost]) {
    let text: String = hosts.iter().map(|h| h.known_hosts_line()).collect();
    std::fs::write(path, text).expect("write known_hosts");
}

#[test]
fn an_alias_resolves_host_name_user_port_identity_and_known_hosts() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    let kh = ws.dir.path().join("kh_from_config");
    known_hosts(&kh, &[&host]);
    let cfg = &ws.file(
        "ssh_config",
        &format!(
            "# handover test\nHost cms cms-*\n    HostName {addr}\n    User root\n    Port 22\n    IdentityFile {key}\n    IdentitiesOnly yes\n    UserKnownHostsFile {kh}\n\nHost legacy\n    HostName {addr}\n    ProxyCommand nc %h %p\n\nMatch user nobody\n    Port 2\n",
            addr = host.addr,
            kh = kh.display()
        ),
    );

    // No --known-hosts and no -i: both come from the alias.
    let out = ws
        .handover(&[
            "provision",
            "cms",
            "-F",
            cfg,
            "--scope",
            &host.scope,
            "--no-baseline",
            "--json",
        ])
        .run()
        .expect_code(0);
    out.assert_stderr_contains("Match blocks are not supported");
    let grant = out.provisioned();
    assert_eq!(grant.host, host.addr);
    assert_eq!(grant.port, 22);
    let record = ws.record(&grant.id);
    assert_eq!(record.host.alias.as_deref(), Some("cms"));
    assert_eq!(record.host.login, "root");
    assert_eq!(
        record.host.identities.first().map(String::as_str),
        Some(key.as_str())
    );
    assert!(record.host.jumps.is_none(), "{record}");
    assert!(
        host.sh("grep 'Accepted publickey for root' /var/log/sshd.log")
            .contains("ED25519"),
        "handover did not log in with the IdentityFile"
    );

    // ProxyCommand is refused before anything runs; nothing is executed locally.
    let out = ws
        .handover(&["provision", "legacy", "-F", cfg, "--scope", &host.scope])
        .run()
        .expect_code(2);
    out.assert_stderr_contains("ProxyCommand");

    // Teardown finds the host, key and IdentityFile in the record alone.
    ws.handover(&["teardown", &grant.id]).run().expect_code(0);
    assert_eq!(ws.record(&grant.id).state, "revoked");
}

#[test]
fn a_jump_host_is_verified_pinned_and_used_again_at_teardown() {
    let Some((hosts, ws, key)) = hosts_with_root_key(2) else {
        return;
    };
    let (jump, target) = (&hosts[0], &hosts[1]);
    // The target is reachable from the jump host over a link of their own.
    let jump_source = jump.link(target);
    let kh = ws.dir.path().join("known_hosts");
    let cfg = &ws.file(
        "ssh_config",
        &format!(
            "Host web\n    HostName {target}\n    User root\n    ProxyJump bastion\nHost bastion\n    HostName {jump}\n    User root\nHost *\n    IdentityFile {key}\n    UserKnownHostsFile {kh}\n",
            target = target.addr,
            jump = jump.addr,
            kh = kh.display()
        ),
    );
    let provision = || {
        ws.handover(&[
            "provision",
            "web",
            "-F",
            cfg,
            "--scope",
            &target.scope,
            "--no-baseline",
            "--json",
        ])
    };

    // The jump host's key is checked too: only the target's is known, so it is refused.
    known_hosts(&kh, &[target]);
    let out = provision().run().expect_code(4);
    out.assert_stderr_contains(&format!("host key of `{}` is not known", jump.addr));
    assert!(!target.ok("grep -q 'Accepted publickey' /var/log/sshd.log"));

    known_hosts(&kh, &[jump, target]);
    let out = provision().run().expect_code(0);
    let grant = out.provisioned();
    assert_eq!(grant.host, target.addr);
    let (account, password) = (grant.account(), grant.password());
    // The target saw the connection come from the jump host, not from this machine.
    let log = target.sh("grep 'Accepted publickey for root' /var/log/sshd.log");
    assert!(log.contains(&format!("from {jump_source} ")), "{log}");
    assert!(!log.contains(&format!("from {} ", target.gateway)), "{log}");
    // The record pins the chain.
    let record = ws.record(&grant.id);
    let jumps = record.host.jumps.as_deref().unwrap_or_default();
    assert_eq!(jumps.len(), 1, "{record}");
    assert_eq!(jumps[0].host, jump.addr);
    let jump_key_line = jump.host_key();
    let jump_key: Vec<&str> = jump_key_line.split_whitespace().take(2).collect();
    assert!(
        jumps[0].host_key.starts_with(&jump_key.join(" ")),
        "{record}"
    );
    assert!(
        target.logs_in(account, password),
        "the vendor cannot log in"
    );

    // A jump host offering another key than the pinned one is refused at teardown.
    let path = ws.record_path(&grant.id);
    let original = ws.record_text(&grant.id);
    let mut tampered: serde_json::Value = serde_json::from_str(&original).expect("json");
    tampered["host"]["jumps"][0]["host_key"] = target.host_key().into();
    std::fs::write(&path, tampered.to_string()).expect("write record");
    let out = ws.handover(&["teardown", &grant.id]).run().expect_code(4);
    out.assert_stderr_contains(&format!("host key of `{}` changed", jump.addr));
    std::fs::write(&path, original).expect("restore record");

    // Teardown goes through the same jump host, with nothing but the record.
    ws.handover(&["teardown", &grant.id]).run().expect_code(0);
    assert_eq!(ws.record(&grant.id).state, "revoked");
    assert!(!target.has_account(account));
}

#[test]
fn a_chain_of_two_jump_hosts_is_followed_hop_by_hop() {
    let Some((hosts, ws, key)) = hosts_with_root_key(3) else {
        return;
    };
    let (outer, inner, target) = (&hosts[0], &hosts[1], &hosts[2]);
    // outer reaches inner, inner reaches target; this machine only needs outer.
    outer.link(inner);
    let inner_source = inner.link(target);
    let kh = ws.dir.path().join("known_hosts");
    known_hosts(&kh, &[outer, inner, target]);
    let config = ws.file(
        "ssh_config",
        &format!(
            "Host db\n    HostName {target}\n    ProxyJump root@{outer},inner\nHost inner\n    HostName {inner}\n    User root\nHost *\n    IdentityFile {key}\n",
            target = target.addr,
            outer = outer.addr,
            inner = inner.addr,
        ),
    );
    let out = ws
        .handover(&[
            "provision",
            "root@db",
            "-F",
            &config,
            "--known-hosts",
            kh.to_str().expect("path"),
            "--scope",
            &target.scope,
            "--no-baseline",
            "--json",
        ])
        .run()
        .expect_code(0);
    let grant = out.provisioned().id;
    let log = target.sh("grep 'Accepted publickey for root' /var/log/sshd.log");
    assert!(log.contains(&format!("from {inner_source} ")), "{log}");
    let record = ws.record(&grant);
    let jumps: Vec<&str> = record
        .host
        .jumps
        .iter()
        .flatten()
        .map(|j| j.host.as_str())
        .collect();
    assert_eq!(jumps, [outer.addr.as_str(), inner.addr.as_str()]);
    ws.handover(&["teardown", &grant]).run().expect_code(0);
}

#[test]
fn identities_only_keeps_the_agent_out() {
    // The agent holds the only key root accepts; the alias names another key.
    let Some((host, ws, agent_key)) = host_with_root_key() else {
        return;
    };
    let (other_key, _) = keypair(ws.dir.path(), "id_other", "");
    let kh = ws.dir.path().join("known_hosts_cfg");
    known_hosts(&kh, &[&host]);
    let agent = Agent::start(ws.dir.path(), &[Path::new(&agent_key)]);
    let socket = agent.socket.to_str().expect("utf-8 path");
    let config = |only: &str| {
        ws.file(
            &format!("config_{only}"),
            &format!(
                "Host cms\n    HostName {}\n    User root\n    IdentityFile {}\n    IdentitiesOnly {only}\n    UserKnownHostsFile {}\n",
                host.addr,
                other_key.display(),
                kh.display()
            ),
        )
    };
    let provision = |config: &str| {
        ws.handover(&[
            "provision",
            "cms",
            "-F",
            config,
            "--scope",
            &host.scope,
            "--no-baseline",
            "--json",
        ])
        .env("SSH_AUTH_SOCK", socket)
        .run()
    };

    // `IdentitiesOnly yes`: only the named key is offered, and root refuses it.
    let before = host.snapshot();
    let out = provision(&config("yes")).expect_code(4);
    out.assert_stderr_contains("authenticat");
    assert_eq!(host.snapshot(), before);

    // `IdentitiesOnly no`: the agent's key is offered as well, and works.
    let grant = provision(&config("no")).expect_code(0).provisioned().id;
    ws.handover(&["teardown", &grant])
        .env("SSH_AUTH_SOCK", socket)
        .run()
        .expect_code(0);
}

/// Regression: in a batch, the connect options were built from the first host's route and
/// reused as the template for every host, so a host whose ssh config sets no
/// `UserKnownHostsFile` was checked against the first host's file, and its key was refused as
/// unknown (exit 4). Each host's key is checked against its own file, or ~/.ssh/known_hosts.
#[test]
fn in_a_batch_each_host_key_is_checked_against_its_own_known_hosts_file() {
    let Some((hosts, ws, key)) = hosts_with_root_key(2) else {
        return;
    };
    let (first, second) = (&hosts[0], &hosts[1]);
    // The first alias names a file with only its own key; the second names none, so its key
    // is looked up in ~/.ssh/known_hosts (HOME is the workspace), which has only the second's.
    let kh_first = ws.dir.path().join("kh_first");
    known_hosts(&kh_first, &[first]);
    let dot_ssh = ws.dir.path().join(".ssh");
    std::fs::create_dir_all(&dot_ssh).expect("mkdir ~/.ssh");
    known_hosts(&dot_ssh.join("known_hosts"), &[second]);
    let config = ws.dir.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host first\n    HostName {}\n    User root\n    IdentityFile {key}\n    UserKnownHostsFile {}\nHost second\n    HostName {}\n    User root\n    IdentityFile {key}\n",
            first.addr,
            kh_first.display(),
            second.addr,
        ),
    )
    .expect("write config");
    let batch = ws
        .handover(&[
            "provision",
            "first",
            "second",
            "-F",
            config.to_str().expect("utf-8 path"),
            "--scope",
            &first.scope,
            "--no-baseline",
            "--json",
        ])
        .run()
        .expect_code(0)
        .batch();
    assert_eq!(batch.succeeded, 2, "{batch:?}");
    ws.handover(&["teardown", &batch.batch])
        .run()
        .expect_code(0);
}
