//! Provision, use and tear down a `linux-user` grant, checking the host independently.

use crate::support::{Agent, TestHost, Workspace, host_tests_enabled, keypair, trusted_host};

/// The grant id, account and password from a `--json` provision.
struct Grant {
    id: String,
    account: String,
    password: String,
}

fn grant_from(json: &serde_json::Value) -> Grant {
    let field = |k: &str| {
        json[k]
            .as_str()
            .unwrap_or_else(|| panic!("no `{k}` in {json}"))
            .to_owned()
    };
    Grant {
        id: field("grant"),
        account: field("account"),
        password: field("password"),
    }
}

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
fn use_the_account(host: &TestHost, grant: &Grant) {
    let login = |cmd: &str| host.ssh_as(&grant.account, &grant.password, cmd);
    let out = login("id -un");
    assert!(
        out.status.success(),
        "login with the printed password failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), grant.account);

    // A login shell starts in the scope.
    let out = login("bash -l -c pwd");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), host.scope);

    // It can create and edit files in the scope, including in subdirectories.
    let out = login(&format!(
        "cd {s} && echo vendor-fix > fix.php && echo '// patched' >> index.php && mkdir -p uploads/new && echo x > uploads/new/a.txt",
        s = host.scope
    ));
    assert!(
        out.status.success(),
        "writing in the scope failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        host.sh(&format!("cat {}/index.php", host.scope))
            .contains("// patched")
    );

    // And nothing privileged.
    assert!(
        !login("cat /etc/shadow").status.success(),
        "the account can read /etc/shadow"
    );
    assert!(
        !login("ls /root").status.success(),
        "the account can list /root"
    );
    assert!(
        !login("touch /etc/handover-test").status.success(),
        "the account can write /etc"
    );
    assert!(
        !login("sudo -n true").status.success(),
        "the account has sudo"
    );
}

/// Nothing of the grant is left, checked on the host without handover.
fn assert_nothing_left(host: &TestHost, grant: &Grant, uid: &str) {
    let a = &grant.account;
    assert!(!host.ok(&format!("getent passwd {a}")), "passwd entry left");
    assert!(!host.ok(&format!("getent shadow {a}")), "shadow entry left");
    assert!(!host.ok(&format!("getent group {a}")), "group left");
    assert!(
        !host.ok(&format!("getent passwd {uid}")),
        "uid {uid} still has an account"
    );
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
        !host.ssh_as(a, &grant.password, "true").status.success(),
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
    assert_eq!(json["level"], "user");
    assert_eq!(json["playbook"], "linux-user");
    assert_eq!(json["scope"], host.scope.as_str());
    assert_eq!(json["port"], 22);
    let grant = grant_from(&json);
    assert!(grant.account.starts_with("support-"));
    assert_eq!(grant.password.len(), 22);
    assert_eq!(
        executions(&provisioned.stderr, "provision"),
        Some(2),
        "provision should take 2 remote executions:\n{}",
        provisioned.stderr
    );

    // The secret is nowhere but stdout: not in the record, not in logs.
    let record_text = std::fs::read_to_string(
        ws.state_dir()
            .join("grants")
            .join(format!("{}.json", grant.id)),
    )
    .expect("record");
    assert!(
        !record_text.contains(&grant.password),
        "password in the record"
    );
    assert!(
        !provisioned.stderr.contains(&grant.password),
        "password in the log"
    );
    assert!(
        !record_text.contains(&host.root_password),
        "login password in the record"
    );
    assert_eq!(ws.record(&grant.id)["state"], "active");

    // The account as the host sees it: expiry set, in no group but its own, own new home.
    let uid = host
        .sh(&format!("id -u {}", grant.account))
        .trim()
        .to_owned();
    assert_eq!(
        host.sh(&format!("id -Gn {}", grant.account)).trim(),
        grant.account
    );
    assert!(
        !host
            .sh(&format!("getent shadow {} | cut -d: -f8", grant.account))
            .trim()
            .is_empty(),
        "no account expiry"
    );
    assert_eq!(
        host.sh(&format!("stat -c %U /home/{}", grant.account))
            .trim(),
        grant.account
    );

    use_the_account(&host, &grant);

    // A session the vendor left running is ended by teardown.
    host.sh(&format!(
        "runuser -u {} -- sh -c 'nohup sleep 600 >/dev/null 2>&1 &'",
        grant.account
    ));
    assert!(host.process_starts(&uid, "sleep"));

    let list = ws.handover(&["list", "--json"]).run().expect_code(0).json();
    assert_eq!(list["grants"][0]["grant"], grant.id.as_str());
    let show = ws.handover(&["show", &grant.id]).run().expect_code(0);
    assert!(show.stdout.contains(&grant.account) && show.stdout.contains("active"));
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["grant"], grant.id.as_str());
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["account"], grant.account.as_str());
    assert_eq!(shown["host"], host.addr.as_str());
    assert_eq!(shown["port"], 22);
    assert_eq!(shown["login"], "root");
    assert_eq!(shown["playbook"], "linux-user");
    assert_eq!(shown["level"], "user");
    assert_eq!(shown["scope"], host.scope.as_str());
    assert_eq!(shown["expires_at"], json["expires_at"]);
    assert!(
        shown["host_key_fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("SHA256:")),
        "{shown}"
    );
    let actions = shown["actions"].as_array().expect("actions");
    for kind in ["user", "password", "acl"] {
        assert!(
            actions.iter().any(|a| a["kind"] == kind),
            "no `{kind}` action in {shown}"
        );
    }
    assert!(
        actions
            .iter()
            .all(|a| a["status"] == "applied" && a["what"].as_str().is_some_and(|w| !w.is_empty())),
        "{shown}"
    );
    assert!(
        shown["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{shown}"
    );
    assert!(
        !shown.to_string().contains(&grant.password),
        "password in show"
    );

    let teardown = ws
        .handover(&["teardown", &grant.id, "--json", "-v"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let report = teardown.json();
    assert_eq!(report["verified"], true);
    assert_eq!(report["state"], "revoked");
    assert!(
        report["checks"].as_array().is_some_and(|c| c.len() >= 8),
        "{report}"
    );
    let reassigned: Vec<&str> = report["reassigned"]
        .as_array()
        .expect("reassigned")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        reassigned.iter().any(|p| p.ends_with("/fix.php")),
        "fix.php not listed as reassigned: {reassigned:?}"
    );
    assert_eq!(
        executions(&teardown.stderr, "teardown"),
        Some(1),
        "teardown should take 1 remote execution:\n{}",
        teardown.stderr
    );
    assert_nothing_left(&host, &grant, &uid);
    // The vendor's files stay, now owned by the scope's owner.
    assert_eq!(
        host.sh(&format!("stat -c %U:%G {}/fix.php", host.scope))
            .trim(),
        "www-data:www-data"
    );
    assert_eq!(ws.record(&grant.id)["state"], "revoked");

    // Teardown again: already revoked, exit 0, nothing done.
    let again = ws.handover(&["teardown", &grant.id]).run().expect_code(0);
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);

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
    // Without the passphrase and without a terminal: a clear error, no prompt, exit 4.
    let out = ws
        .provision(
            &format!("root@{}", host.addr),
            &[
                "--scope",
                &host.scope,
                "-i",
                key_path,
                "--account",
                "vendor_anna",
            ],
        )
        .run()
        .expect_code(4);
    assert!(
        out.stderr.contains("HANDOVER_KEY_PASSPHRASE"),
        "{}",
        out.stderr
    );
    assert!(!host.ok("getent passwd vendor_anna"));

    let out = ws
        .provision(
            &format!("root@{}", host.addr),
            &[
                "--scope",
                &host.scope,
                "-i",
                key_path,
                "--account",
                "vendor_anna",
                "--ttl",
                "30m",
            ],
        )
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
    let password = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("password"))
        .map(str::trim)
        .expect("password line")
        .to_owned();
    let id = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("grant"))
        .map(str::trim)
        .expect("grant line")
        .to_owned();
    assert!(
        host.ssh_as("vendor_anna", &password, "true")
            .status
            .success()
    );

    ws.handover(&["teardown", &id, "-i", key_path])
        .env("HANDOVER_KEY_PASSPHRASE", "correct horse")
        .run()
        .expect_code(0);
    assert!(!host.ok("getent passwd vendor_anna"));

    // No key, no agent, no password and no terminal: a clear error, never a prompt.
    let out = ws
        .provision(&format!("root@{}", host.addr), &["--scope", &host.scope])
        .run()
        .expect_code(4);
    assert!(
        out.stderr.contains("HANDOVER_SSH_PASSWORD"),
        "{}",
        out.stderr
    );

    // The same through an ssh-agent holding another key of the customer's.
    let (agent_key, agent_public) = keypair(ws.dir.path(), "agent_key", "");
    host.sh(&format!(
        "echo '{agent_public}' >> /root/.ssh/authorized_keys"
    ));
    let agent = Agent::start(ws.dir.path(), &[&agent_key]);
    let socket = agent.socket.to_str().expect("utf-8 path");
    let out = ws
        .provision(
            &format!("root@{}", host.addr),
            &["--scope", &host.scope, "--json"],
        )
        .env("SSH_AUTH_SOCK", socket)
        .run()
        .expect_code(0);
    let id = out.json()["grant"].as_str().expect("grant").to_owned();

    // `list` lines its columns up under the header, whatever the lengths of the account
    // names (vendor_anna, support-xxxxxx) and states (revoked, active).
    let list = ws.handover(&["list"]).run().expect_code(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(lines[0].starts_with("GRANT"), "{}", list.stdout);
    let header = column_starts(lines[0]);
    assert_eq!(header.len(), 5, "{}", list.stdout);
    for row in &lines[1..] {
        assert_eq!(
            column_starts(row),
            header,
            "columns not aligned:\n{}",
            list.stdout
        );
    }

    ws.handover(&["teardown", &id])
        .env("SSH_AUTH_SOCK", socket)
        .run()
        .expect_code(0);
}

#[test]
fn provision_as_a_sudo_user_with_become() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let target = format!("{}@{}", host.admin_user, host.addr);
    let before = host.snapshot();

    // Without --become a non-root login is a clear usage error, and nothing changes.
    let out = ws
        .provision(&target, &["--scope", &host.scope])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("--become"), "{}", out.stderr);

    // A wrong sudo password is refused before anything changes.
    let out = ws
        .provision(&target, &["--scope", &host.scope, "--become"])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .env("HANDOVER_BECOME_PASSWORD", "wrong-password")
        .run()
        .expect_code(4);
    assert!(out.stderr.contains("sudo"), "{}", out.stderr);
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );

    // sudo reuses the SSH password.
    let out = ws
        .provision(&target, &["--scope", &host.scope, "--become", "--json"])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    let grant = grant_from(&out.json());
    assert!(!out.stderr.contains(&host.admin_password));
    assert!(
        host.ssh_as(
            &grant.account,
            &grant.password,
            &format!("touch {}/by-vendor", host.scope)
        )
        .status
        .success()
    );
    let uid = host
        .sh(&format!("id -u {}", grant.account))
        .trim()
        .to_owned();
    // The record remembers --become, so teardown needs only the password.
    ws.handover(&["teardown", &grant.id])
        .env("HANDOVER_SSH_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    assert_nothing_left(&host, &grant, &uid);

    // A NOPASSWD sudoer works without any sudo password.
    let out = ws
        .provision(
            &format!("{}@{}", host.nopasswd_user, host.addr),
            &["--scope", &host.scope, "--become", "--json"],
        )
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .env(
            "HANDOVER_BECOME_PASSWORD",
            "not-needed-and-must-not-reach-the-script",
        )
        .run()
        .expect_code(0);
    let grant = grant_from(&out.json());
    ws.handover(&["teardown", &grant.id, "--become"])
        .env("HANDOVER_SSH_PASSWORD", &host.nopasswd_password)
        .run()
        .expect_code(0);
    assert!(!host.ok(&format!("getent passwd {}", grant.account)));
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
    assert!(!host.ok("getent passwd stale-home"));
    let list = ws.handover(&["list", "--json"]).run().expect_code(0).json();
    let grants = list["grants"].as_array().expect("grants");
    assert!(
        grants.iter().all(|g| g["state"] != "active"),
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
    let target = format!("root@{}", host.addr);
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
        let json = run.run().expect_code(0).json();
        (started, json)
    };

    let (started, json) = provision(None);
    let expires = time::OffsetDateTime::parse(
        json["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("expires_at is RFC 3339");
    let lag = expires - (started + time::Duration::hours(24));
    assert!(
        lag.abs() < time::Duration::minutes(1),
        "expires_at {expires} is not 24h after {started}"
    );
    let account = json["account"].as_str().expect("account");
    let suffix = account.strip_prefix("support-").unwrap_or("");
    assert!(
        suffix.len() == 6
            && suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "generated account name {account:?}"
    );
    let grant = json["grant"].as_str().expect("grant");
    let record = home.join(format!(".local/state/handover/grants/{grant}.json"));
    assert!(record.is_file(), "no record at {}", record.display());
    assert!(!ws.state_dir().exists());
    ws.handover(&["teardown", grant])
        .env_remove("HANDOVER_STATE_DIR")
        .with_root_password(&host)
        .run()
        .expect_code(0);

    // XDG_STATE_HOME wins over ~/.local/state.
    let xdg = home.join("xdg");
    let xdg_str = xdg.to_str().expect("utf-8 path");
    let (_, json) = provision(Some(("XDG_STATE_HOME", xdg_str)));
    let grant = json["grant"].as_str().expect("grant");
    assert!(
        xdg.join(format!("handover/grants/{grant}.json")).is_file(),
        "no record under $XDG_STATE_HOME/handover"
    );
    assert!(
        !home
            .join(format!(".local/state/handover/grants/{grant}.json"))
            .exists()
    );
    ws.handover(&["teardown", grant])
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
    let target = format!("{}@{}", host.admin_user, host.addr);
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
    assert!(
        out.stderr.contains("HANDOVER_BECOME_PASSWORD"),
        "{}",
        out.stderr
    );
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
    let grant = grant_from(&out.json());
    assert!(!out.stderr.contains(&host.admin_password));
    assert!(host.ok(&format!("getent passwd {}", grant.account)));

    // Teardown needs the sudo password too: without it, the same clear error, grant untouched.
    let out = ws
        .handover(&["teardown", &grant.id, "-i", key_path])
        .run()
        .expect_code(4);
    assert!(
        out.stderr.contains("HANDOVER_BECOME_PASSWORD"),
        "{}",
        out.stderr
    );
    assert_eq!(ws.record(&grant.id)["state"], "active");
    assert!(host.ok(&format!("getent passwd {}", grant.account)));

    ws.handover(&["teardown", &grant.id, "-i", key_path])
        .env("HANDOVER_BECOME_PASSWORD", &host.admin_password)
        .run()
        .expect_code(0);
    assert!(!host.ok(&format!("getent passwd {}", grant.account)));
    assert_eq!(ws.record(&grant.id)["state"], "revoked");
}

#[test]
fn a_teardown_that_cannot_verify_leaves_the_grant_partial() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--json"])
        .run()
        .expect_code(0);
    let grant = grant_from(&out.json());
    let uid = host
        .sh(&format!("id -u {}", grant.account))
        .trim()
        .to_owned();
    // A file of the vendor's that nobody, root included, can change: its ACL entry and owner
    // stay, so teardown cannot verify the scope clean.
    let stuck = format!("{}/stuck.php", host.scope);
    host.sh(&format!(
        "runuser -u {} -- sh -c 'echo x > {stuck}' && chattr +i {stuck}",
        grant.account
    ));

    let out = ws
        .handover(&["teardown", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(3);
    let report = out.json();
    assert_eq!(report["state"], "partial", "{report}");
    assert_eq!(report["verified"], false, "{report}");
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(
        failed.iter().any(|c| c.to_string().contains(&stuck)),
        "no failed check names {stuck}: {report}"
    );
    let record = ws.record(&grant.id);
    assert_eq!(record["state"], "partial");
    // The record says what is left; the ACL action stays to be undone by the next teardown,
    // the account's is done.
    assert!(
        record["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| {
                e["what"].as_str().is_some_and(|w| {
                    w.starts_with("teardown incomplete") && w.contains("owned by the grant's uid")
                })
            })),
        "{record}"
    );
    let status = |kind: &str| {
        record["actions"]
            .as_array()
            .and_then(|actions| actions.iter().find(|a| a["action"]["kind"] == kind))
            .map(|a| a["status"].clone())
    };
    assert_eq!(status("acl"), Some("applied".into()), "{record}");
    assert_eq!(status("user"), Some("undone".into()), "{record}");
    // The account itself is gone; only the file is left.
    assert!(!host.ok(&format!("getent passwd {}", grant.account)));

    // With the obstacle gone, teardown again finishes the job.
    host.sh(&format!("chattr -i {stuck}"));
    let report = ws
        .handover(&["teardown", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    assert_eq!(report["state"], "revoked", "{report}");
    assert_eq!(ws.record(&grant.id)["state"], "revoked");
    assert_eq!(host.sh(&format!("stat -c %U {stuck}")).trim(), "www-data");
    assert_nothing_left(&host, &grant, &uid);
}
