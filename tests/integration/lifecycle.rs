//! Provision, use and tear down a `linux-user` grant, checking the host independently.

use crate::docs::{Provisioned, Shown};
use crate::support::{
    Agent, TestHost, Workspace, host_tests_enabled, keypair, stable_snapshots, text, trusted_host,
};

/// The `executions=N` that `-v` logs for `operation` (`provision`, `teardown`).
fn executions(stderr: &str, operation: &str) -> Option<usize> {
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("remote executions for {operation}")))?;
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("executions="))?
        .parse()
        .ok()
}

/// Where each whitespace-separated column of `line` starts.
fn column_starts(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut after_space = true;
    for (i, c) in line.char_indices() {
        if !c.is_whitespace() && after_space {
            starts.push(i);
        }
        after_space = c.is_whitespace();
    }
    starts
}

/// What the vendor does with the printed credentials, and what they must not be able to do.
fn use_the_account(host: &TestHost, grant: &Provisioned) {
    let login = |cmd: &str| host.ssh_as(grant.account(), grant.password(), cmd);
    let out = login("id -un");
    assert!(
        out.status.success(),
        "login with the printed password failed: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), grant.account());

    // A login shell starts in the scope.
    let out = login("bash -l -c pwd");
    assert_eq!(text(&out.stdout).trim(), host.scope);

    // It can create and edit files in the scope, including in subdirectories.
    let out = login(&format!(
        "cd {s} && echo vendor-fix > fix.php && echo '// patched' >> index.php && mkdir -p uploads/new && echo x > uploads/new/a.txt",
        s = host.scope
    ));
    assert!(
        out.status.success(),
        "writing in the scope failed: {}",
        text(&out.stderr)
    );
    assert!(
        host.sh(&format!("cat {}/index.php", host.scope))
            .contains("// patched")
    );

    // And nothing privileged.
    for (command, what) in [
        ("cat /etc/shadow", "read /etc/shadow"),
        ("ls /root", "list /root"),
        ("touch /etc/handover-test", "write /etc"),
        ("sudo -n true", "use sudo"),
    ] {
        assert!(!login(command).status.success(), "the account can {what}");
    }
}

/// Nothing of the grant is left, checked on the host without handover.
fn assert_nothing_left(host: &TestHost, grant: &Provisioned, uid: &str) {
    let a = grant.account();
    assert!(!host.has_account(a), "passwd entry left");
    assert!(!host.ok(&format!("getent shadow {a}")), "shadow entry left");
    assert!(!host.ok(&format!("getent group {a}")), "group left");
    assert!(!host.has_account(uid), "uid {uid} still has an account");
    assert!(!host.ok(&format!("test -e /home/{a}")), "home left");
    assert!(!host.ok(&format!("pgrep -u {uid}")), "processes left");
    let acl = host.sh(&format!("getfacl -R -p -n {} 2>/dev/null", host.scope));
    assert!(
        !acl.contains(&format!("user:{uid}:")),
        "ACL entries left:\n{acl}"
    );
    assert!(
        !host.sh(&format!("ls -la {}", host.scope)).contains('+'),
        "extended ACLs left on the scope"
    );
    let owned = host.sh(&format!("find {} -uid {uid} -o -gid {uid}", host.scope));
    assert!(
        owned.is_empty(),
        "files still owned by the grant's uid:\n{owned}"
    );
    assert!(
        !host.logs_in(a, grant.password()),
        "the password still logs in"
    );
}

#[test]
fn provision_use_and_teardown_as_root_with_a_password() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    let before = host.snapshot();

    let provisioned = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--ttl",
                "48h",
                "--accept-new-host-key",
                "--json",
                "-v",
            ],
        )
        .run()
        .expect_code(0);
    let json = provisioned.json();
    for key in [
        "grant",
        "host",
        "port",
        "account",
        "password",
        "expires_at",
        "level",
        "scope",
        "playbook",
    ] {
        assert!(!json[key].is_null(), "`{key}` missing from {json}");
    }
    let grant = provisioned.provisioned();
    assert_eq!(grant.level, "user");
    assert_eq!(grant.playbook, "linux-user");
    assert_eq!(grant.scope.as_deref(), Some(host.scope.as_str()));
    assert_eq!(grant.port, 22);
    assert!(grant.account().starts_with("support-"));
    assert_eq!(grant.password().len(), 22);
    assert_eq!(
        executions(&provisioned.stderr, "provision"),
        Some(3),
        "provision should take 3 remote executions (preflight, the scope's backup, apply):\n{}",
        provisioned.stderr
    );

    // The secret is nowhere but stdout: not in the record, not in logs.
    let record_text = ws.record_text(&grant.id);
    assert!(
        !record_text.contains(grant.password()),
        "password in the record"
    );
    assert!(
        !provisioned.stderr.contains(grant.password()),
        "password in the log"
    );
    assert!(
        !record_text.contains(&host.root_password),
        "login password in the record"
    );
    assert_eq!(ws.record(&grant.id).state, "active");

    // The account as the host sees it: expiry set, in no group but its own, own new home.
    let account = grant.account();
    let uid = host.uid_of(account);
    assert_eq!(host.sh(&format!("id -Gn {account}")).trim(), account);
    assert!(
        !host
            .sh(&format!("getent shadow {account} | cut -d: -f8"))
            .trim()
            .is_empty(),
        "no account expiry"
    );
    assert_eq!(
        host.sh(&format!("stat -c %U /home/{account}")).trim(),
        account
    );

    use_the_account(&host, &grant);

    // A session the vendor left running is ended by teardown.
    host.leave_running(account, "sleep 600");
    assert!(host.process_starts(&uid, "sleep"));

    assert_eq!(ws.list().grants[0].grant, grant.id);
    let show = ws.handover(&["show", &grant.id]).run().expect_code(0);
    assert!(show.stdout.contains(account) && show.stdout.contains("active"));
    assert!(!show.stdout.contains(grant.password()), "password in show");
    let mut snapshots = stable_snapshots();
    if !grant.recorded() {
        // A host whose sudo cannot record (Debian 11, HANDOVER_TEST_RELEASE=11) shows so.
        snapshots.set_snapshot_suffix("unrecorded");
    }
    snapshots.bind(|| insta::assert_snapshot!("show_an_active_grant", show.stdout));
    let shown_json = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0);
    let shown: Shown = shown_json.doc();
    let summary = &shown.summary;
    assert_eq!(summary.grant, grant.id);
    assert_eq!(summary.state, "active");
    assert_eq!(summary.account, account);
    assert_eq!(summary.host, host.addr);
    assert_eq!(summary.port, 22);
    assert_eq!(shown.login, "root");
    assert_eq!(summary.playbook, "linux-user");
    assert_eq!(summary.level, "user");
    assert_eq!(summary.scope.as_deref(), Some(host.scope.as_str()));
    assert_eq!(summary.expires_at, grant.expires_at);
    assert!(shown.host_key_fingerprint.starts_with("SHA256:"), "{shown}");
    for kind in ["user", "password", "acl"] {
        assert!(
            shown.actions.iter().any(|a| a.kind == kind),
            "no `{kind}` action in {shown}"
        );
    }
    assert!(
        shown
            .actions
            .iter()
            .all(|a| a.status == "applied" && !a.what.is_empty()),
        "{shown}"
    );
    assert!(!shown.events.is_empty(), "{shown}");
    assert!(
        !shown_json.stdout.contains(grant.password()),
        "password in show"
    );

    let teardown = ws
        .teardown_as_root(&host, &grant.id, &["--json", "-v"])
        .run()
        .expect_code(0);
    let report = teardown.teardown_report();
    assert!(report.verified);
    assert_eq!(report.state, "revoked");
    assert!(report.checks.len() >= 8, "{report}");
    assert!(
        report.reassigned.iter().any(|p| p.ends_with("/fix.php")),
        "fix.php not listed as reassigned: {:?}",
        report.reassigned
    );
    // The teardown script, the recordings' copy, their removal once the copy is here (none
    // where the host could not record), the site's comparison with its backup.
    let expected = if grant.recorded() { 4 } else { 2 };
    assert_eq!(
        executions(&teardown.stderr, "teardown"),
        Some(expected),
        "teardown should take {expected} remote executions:\n{}",
        teardown.stderr
    );
    assert_nothing_left(&host, &grant, &uid);
    // The vendor's files stay, now owned by the scope's owner.
    assert_eq!(
        host.sh(&format!("stat -c %U:%G {}/fix.php", host.scope))
            .trim(),
        "www-data:www-data"
    );
    assert_eq!(ws.record(&grant.id).state, "revoked");

    // Teardown again: already revoked, exit 0, nothing done.
    let again = ws.handover(&["teardown", &grant.id]).run().expect_code(0);
    again.assert_stdout_contains("already revoked");

    // The vendor's new files have the permissions a plain creation would give (no ACL
    // artefacts such as group execute); without them the host is exactly as before.
    assert_eq!(
        host.sh(&format!("stat -c %a {}/fix.php", host.scope))
            .trim(),
        "644"
    );
    host.sh(&format!(
        "rm -rf {s}/fix.php {s}/uploads/new && truncate -s -11 {s}/index.php",
        s = host.scope
    ));
    assert_eq!(
        before,
        host.snapshot(),
        "host changed beyond the vendor's files"
    );
}

#[test]
fn provision_with_a_key_file_and_named_account() {
    if !host_tests_enabled() {
        return;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "id_ed25519", "correct horse");
    let host = TestHost::builder().root_authorized_key(&public).up();
    ws.trust(&host);

    let key_path = key.to_str().expect("utf-8 path");
    let target = host.target("root");
    let with_key = [
        "--scope",
        &host.scope,
        "-i",
        key_path,
        "--account",
        "vendor_anna",
    ];
    // Without the passphrase and without a terminal: a clear error, no prompt, exit 4.
    let out = ws.provision(&target, &with_key).run().expect_code(4);
    out.assert_stderr_contains("HANDOVER_KEY_PASSPHRASE");
    assert!(!host.has_account("vendor_anna"));

    let out = ws
        .provision(&target, &[&with_key[..], &["--ttl", "30m"]].concat())
        .env("HANDOVER_KEY_PASSPHRASE", "correct horse")
        .run()
        .expect_code(0);
    // Human output names everything the vendor needs.
    for needle in [
        "grant",
        "vendor_anna",
        "password",
        "expires",
        "SHA256:",
        &host.scope,
        "handover teardown",
    ] {
        assert!(
            out.stdout.contains(needle),
            "`{needle}` missing from:\n{}",
            out.stdout
        );
    }
    assert!(host.logs_in("vendor_anna", out.labelled("password")));

    ws.handover(&["teardown", out.labelled("grant"), "-i", key_path])
        .env("HANDOVER_KEY_PASSPHRASE", "correct horse")
        .run()
        .expect_code(0);
    assert!(!host.has_account("vendor_anna"));

    // No key, no agent, no password and no terminal: a clear error, never a prompt.
    let out = ws
        .provision(&target, &["--scope", &host.scope])
        .run()
        .expect_code(4);
    out.assert_stderr_contains("HANDOVER_SSH_PASSWORD");

    // The same through an ssh-agent holding another key of the customer's.
    let (agent_key, agent_public) = keypair(ws.dir.path(), "agent_key", "");
    host.sh(&format!(
        "echo '{agent_public}' >> /root/.ssh/authorized_keys"
    ));
    let agent = Agent::start(ws.dir.path(), &[&agent_key]);
    let socket = agent.socket.to_str().expect("utf-8 path");
    let grant = ws
        .provision(&target, &["--scope", &host.scope, "--json"])
        .env("SSH_AUTH_SOCK", socket)
        .run()
        .expect_code(0)
        .provisioned();

    // `list` lines its columns up under the header, whatever the lengths of the account
    // names (vendor_anna, support-xxxxxx) and states (revoked, active).
    let list = ws.handover(&["list"]).run().expect_code(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(lines[0].starts_with("GRANT"), "{}", list.stdout);
    let header = column_starts(lines[0]);
    assert_eq!(header.len(), 6, "{}", list.stdout);
    for row in &lines[1..] {
        assert_eq!(
            column_starts(row),
            header,
            "columns not aligned:\n{}",
            list.stdout
        );
    }

    ws.handover(&["teardown", &grant.id])
        .env("SSH_AUTH_SOCK", socket)
        .run()
        .expect_code(0);
}

#[test]
fn provision_as_a_sudo_user_with_become() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();

    // Without --become a non-root login is a clear usage error, and nothing changes.
    let out = ws
        .provision_as_admin(&host, &["--scope", &host.scope])
        .run()
        .expect_code(2);
    out.assert_stderr_contains("--become");

    // A wrong sudo password is refused before anything changes.
    let out = ws
        .provision_as_admin(&host, &["--scope", &host.scope, "--become"])
        .env("HANDOVER_BECOME_PASSWORD", "wrong-password")
        .run()
        .expect_code(4);
    out.assert_stderr_contains("sudo");
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );

    // sudo reuses the SSH password.
    let out = ws
        .provision_as_admin(&host, &["--scope", &host.scope, "--become", "--json"])
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    assert!(!out.stderr.contains(&host.admin_password));
    assert!(
        host.ssh_as(
            grant.account(),
            grant.password(),
            &format!("touch {}/by-vendor", host.scope)
        )
        .status
        .success()
    );
    let uid = host.uid_of(grant.account());
    // The record remembers --become, so teardown needs only the password.
    ws.handover(&["teardown", &grant.id])
        .with_password(&host.admin_password)
        .run()
        .expect_code(0);
    assert_nothing_left(&host, &grant, &uid);

    // A NOPASSWD sudoer works without any sudo password.
    let grant = ws
        .provision_as(
            &host,
            &host.nopasswd_user,
            &host.nopasswd_password,
            &["--scope", &host.scope, "--become", "--json"],
        )
        .env(
            "HANDOVER_BECOME_PASSWORD",
            "not-needed-and-must-not-reach-the-script",
        )
        .run()
        .expect_code(0)
        .provisioned();
    ws.handover(&["teardown", &grant.id, "--become"])
        .with_password(&host.nopasswd_password)
        .run()
        .expect_code(0);
    assert!(!host.has_account(grant.account()));
}

#[test]
fn an_existing_home_without_an_account_is_refused_before_anything_changes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // A home left behind by a deleted account: useradd would hand it (and whatever is in it)
    // to the new account.
    host.sh("mkdir /home/stale-home && echo secret > /home/stale-home/notes");
    let before = host.snapshot();
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--account", "stale-home"])
        .run()
        .expect_code(1);
    // Refused by the preflight, not later by a step that would then be rolled back.
    assert!(
        out.stderr.contains("nothing was changed")
            && out
                .stderr
                .lines()
                .any(|l| l.contains("✗") && l.contains("/home/stale-home")),
        "{}",
        out.stderr
    );
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );
    assert!(!host.has_account("stale-home"));
    let list = ws.list();
    assert!(
        list.in_state("active").is_empty(),
        "a refused provision left an active grant: {list}"
    );
}

#[test]
fn defaults_ttl_account_name_state_dir_and_known_hosts() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let home = ws.dir.path();
    std::fs::create_dir(home.join(".ssh")).expect("mkdir ~/.ssh");
    std::fs::write(home.join(".ssh/known_hosts"), host.known_hosts_line()).expect("known_hosts");
    let target = host.target("root");
    // No --ttl, --account, --state-dir or --known-hosts, and only HOME in the environment.
    let provision = |extra_env: Option<(&str, &str)>| {
        let mut run = ws
            .handover(&["provision", &target, "--scope", &host.scope, "--json"])
            .env_remove("HANDOVER_STATE_DIR")
            .with_root_password(&host);
        if let Some((k, v)) = extra_env {
            run = run.env(k, v);
        }
        let started = time::OffsetDateTime::now_utc();
        let grant = run.run().expect_code(0).provisioned();
        (started, grant)
    };

    let (started, grant) = provision(None);
    let expires = grant.expires_at();
    let lag = expires - (started + time::Duration::hours(24));
    assert!(
        lag.abs() < time::Duration::minutes(1),
        "expires_at {expires} is not 24h after {started}"
    );
    let account = grant.account();
    let suffix = account.strip_prefix("support-").unwrap_or("");
    assert!(
        suffix.len() == 6
            && suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "generated account name {account:?}"
    );
    let record = home.join(format!(".local/state/handover/grants/{}.json", grant.id));
    assert!(record.is_file(), "no record at {}", record.display());
    assert!(!ws.state_dir().exists());
    ws.handover(&["teardown", &grant.id])
        .env_remove("HANDOVER_STATE_DIR")
        .with_root_password(&host)
        .run()
        .expect_code(0);

    // XDG_STATE_HOME wins over ~/.local/state.
    let xdg = home.join("xdg");
    let xdg_str = xdg.to_str().expect("utf-8 path");
    let (_, grant) = provision(Some(("XDG_STATE_HOME", xdg_str)));
    let id = &grant.id;
    assert!(
        xdg.join(format!("handover/grants/{id}.json")).is_file(),
        "no record under $XDG_STATE_HOME/handover"
    );
    assert!(
        !home
            .join(format!(".local/state/handover/grants/{id}.json"))
            .exists()
    );
    ws.handover(&["teardown", id])
        .env_remove("HANDOVER_STATE_DIR")
        .env("XDG_STATE_HOME", xdg_str)
        .with_root_password(&host)
        .run()
        .expect_code(0);
}

#[test]
fn become_with_a_key_login_takes_the_sudo_password_from_the_environment() {
    if !host_tests_enabled() {
        return;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "admin_key", "");
    let host = TestHost::builder().admin_authorized_key(&public).up();
    ws.trust(&host);
    let key_path = key.to_str().expect("utf-8 path");
    let target = host.target(&host.admin_user);
    let args = ["--scope", &host.scope, "--become", "-i", key_path, "--json"];
    let before = host.snapshot();

    // No sudo password anywhere (no SSH password to reuse) and no terminal: a clear error
    // at once, never a prompt, and nothing changes.
    let run = ws.provision(&target, &args);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(run.run()));
    let out = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("provision hung instead of failing without a sudo password")
        .expect_code(4);
    out.assert_stderr_contains("HANDOVER_BECOME_PASSWORD");
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );

    let out = ws
        .provision(&target, &args)
        .env("HANDOVER_BECOME_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    assert!(!out.stderr.contains(&host.admin_password));
    assert!(host.has_account(grant.account()));

    // Teardown needs the sudo password too: without it, the same clear error, grant untouched.
    let out = ws
        .handover(&["teardown", &grant.id, "-i", key_path])
        .run()
        .expect_code(4);
    out.assert_stderr_contains("HANDOVER_BECOME_PASSWORD");
    assert_eq!(ws.record(&grant.id).state, "active");
    assert!(host.has_account(grant.account()));

    ws.handover(&["teardown", &grant.id, "-i", key_path])
        .env("HANDOVER_BECOME_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    assert!(!host.has_account(grant.account()));
    assert_eq!(ws.record(&grant.id).state, "revoked");
}

#[test]
fn a_teardown_that_cannot_verify_leaves_the_grant_partial() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let account = grant.account();
    let uid = host.uid_of(account);
    // A file of the vendor's that nobody, root included, can change: its ACL entry and owner
    // stay, so teardown cannot verify the scope clean.
    let stuck = format!("{}/stuck.php", host.scope);
    host.sh(&format!(
        "runuser -u {account} -- sh -c 'echo x > {stuck}' && chattr +i {stuck}"
    ));

    let report = ws.teardown_exit_3(&host, &grant.id);
    assert_eq!(report.state, "partial", "{report}");
    assert!(!report.verified, "{report}");
    assert!(
        report
            .failed_checks()
            .iter()
            .any(|c| c.to_string().contains(&stuck)),
        "no failed check names {stuck}: {report}"
    );
    let record = ws.record(&grant.id);
    assert_eq!(record.state, "partial");
    // The record says what is left; the ACL action stays to be undone by the next teardown,
    // the account's is done.
    assert!(
        record.has_event(|w| {
            w.starts_with("teardown incomplete") && w.contains("owned by the grant's uid")
        }),
        "{record}"
    );
    let status = |kind: &str| record.action(kind).map(|a| a.status.as_str());
    assert_eq!(status("acl"), Some("applied"), "{record}");
    assert_eq!(status("user"), Some("undone"), "{record}");
    // The account itself is gone; only the file is left.
    assert!(!host.has_account(account));

    // With the obstacle gone, teardown again finishes the job.
    host.sh(&format!("chattr -i {stuck}"));
    let report = ws.revoke_report(&host, &grant.id);
    assert_eq!(report.state, "revoked", "{report}");
    assert_eq!(ws.record(&grant.id).state, "revoked");
    assert_eq!(host.sh(&format!("stat -c %U {stuck}")).trim(), "www-data");
    assert_nothing_left(&host, &grant, &uid);
}
