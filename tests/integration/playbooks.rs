//! Built-in and user playbooks: linux-root, composr-backdoor, the shell action, parameters.

use crate::support::{Workspace, trusted_host};

fn field(json: &serde_json::Value, key: &str) -> String {
    json[key]
        .as_str()
        .unwrap_or_else(|| panic!("no `{key}` in {json}"))
        .to_owned()
}

#[test]
fn linux_root_gives_sudo_with_the_accounts_password_and_user_level_does_not() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let target = format!("root@{}", host.addr);
    let before = host.snapshot();

    let out = ws
        .provision(
            &target,
            &["--scope", &host.scope, "--level", "root", "--json"],
        )
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(json["level"], "root");
    assert_eq!(json["playbook"], "linux-root");
    let (grant, account, password) = (
        field(&json, "grant"),
        field(&json, "account"),
        field(&json, "password"),
    );

    // sudo works with the account's own password, and only with it.
    let out = host.ssh_as_with_stdin(
        &account,
        &password,
        "sudo -S -p '' id -u",
        format!("{password}\n").as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "sudo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !host
            .ssh_as(&account, &password, "sudo -n true")
            .status
            .success(),
        "sudo without a password"
    );
    let file = format!("/etc/sudoers.d/handover-{grant}");
    assert_eq!(host.sh(&format!("stat -c %U:%a {file}")).trim(), "root:440");
    assert!(host.ok("visudo -c"));

    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(!host.ok(&format!("test -e {file}")));
    assert!(host.ok("visudo -c"));
    assert_eq!(before, host.snapshot());

    // A user-level account has no sudo, even with its password.
    let out = ws
        .provision(&target, &["--scope", &host.scope, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let json = out.json();
    let (account, password) = (field(&json, "account"), field(&json, "password"));
    let out = host.ssh_as_with_stdin(
        &account,
        &password,
        "sudo -S -p '' id -u",
        format!("{password}\n").as_bytes(),
    );
    assert!(!out.status.success(), "a user-level account got root");
}

#[test]
fn a_broken_sudoers_fragment_is_caught_and_rolled_back() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // `ALL,,` passes handover's own checks but not visudo.
    let playbook = ws.dir.path().join("bad-sudo.toml");
    std::fs::write(
        &playbook,
        "name = \"bad-sudo\"\ndescription = \"d\"\nlevel = \"root\"\nrequires-scope = true\n\
         [[actions]]\nkind = \"user\"\n[[actions]]\nkind = \"password\"\n[[actions]]\nkind = \"sudo\"\ncommands = \"ALL,,\"\n",
    )
    .expect("write playbook");
    let before = host.snapshot();
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--playbook",
                playbook.to_str().expect("utf-8"),
            ],
        )
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("sudo") && out.stderr.contains("rolled back"),
        "{}",
        out.stderr
    );
    assert_eq!(
        before,
        host.snapshot(),
        "the failed grant left something behind"
    );
    assert!(host.ok("visudo -c"), "sudo configuration broken");
    assert!(
        host.ssh_as("root", &host.root_password, "true")
            .status
            .success(),
        "the customer is locked out"
    );
}

#[test]
fn composr_backdoor_adds_one_line_and_teardown_restores_the_file_exactly() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let target = format!("root@{}", host.addr);
    let config = format!("{}/_config.php", host.scope);
    let original = host.sh(&format!("sha256sum {config}; stat -c %U:%G:%a {config}"));

    // The IP must be one exact address: anything else is refused before connecting.
    for bad in ["203.0.113.0/24", "203.0.113.7'; phpinfo(); //", ""] {
        let out = ws
            .provision(
                &target,
                &[
                    "--scope",
                    &host.scope,
                    "--playbook",
                    "composr-backdoor",
                    "--param",
                    &format!("ip={bad}"),
                ],
            )
            .with_root_password(&host)
            .run()
            .expect_code(2);
        assert!(out.stderr.contains("ip"), "{}", out.stderr);
    }

    let out = ws
        .provision(
            &target,
            &[
                "--scope",
                &host.scope,
                "--playbook",
                "composr-backdoor",
                "--param",
                "ip=203.0.113.7",
                "--json",
            ],
        )
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let json = out.json();
    assert!(
        json["account"].is_null() && json["password"].is_null(),
        "no account is created: {json}"
    );
    assert_eq!(json["level"], "app");
    let grant = field(&json, "grant");
    let text = host.sh(&format!("cat {config}"));
    assert_eq!(
        text.matches("$SITE_INFO['backdoor_ip'] = '203.0.113.7';")
            .count(),
        1,
        "{text}"
    );
    assert!(
        !host.sh("getent passwd").contains("support-"),
        "a Linux account was created"
    );

    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert_eq!(
        original,
        host.sh(&format!("sha256sum {config}; stat -c %U:%G:%a {config}")),
        "_config.php differs after teardown"
    );
    assert!(!host.ok(&format!("test -e /var/lib/handover/{grant}-config")));

    // When someone else edits the file during the window, teardown removes the line, says the
    // file is not as before (exit 3) and keeps the original for comparison.
    let out = ws
        .provision(
            &target,
            &[
                "--scope",
                &host.scope,
                "--playbook",
                "composr-backdoor",
                "--param",
                "ip=203.0.113.7",
                "--json",
            ],
        )
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let grant = field(&out.json(), "grant");
    host.sh(&format!(
        "echo \"\\$SITE_INFO['admin_note'] = 'edited by support';\" >> {config}"
    ));
    let out = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(3);
    let report = out.json();
    assert_eq!(report["verified"], false);
    assert!(
        report.to_string().contains("admin_note"),
        "the other change is not shown: {report}"
    );
    assert!(!host.sh(&format!("cat {config}")).contains("backdoor_ip"));
}

#[test]
fn shell_actions_substitute_parameters_quoted() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let playbook = ws.dir.path().join("marker.toml");
    std::fs::write(
        &playbook,
        r#"name = "marker"
description = "leave a marker file"
level = "app"

[params.path]
type = "path"
required = true
description = "where the marker goes"

[[actions]]
kind = "shell"
description = "marker file {path}"
preflight = "test -d /tmp"
apply = "echo hello > {path}"
undo = "rm -f -- {path}"
verify_present = "test -f {path}"
verify_absent = "test ! -e {path}"
"#,
    )
    .expect("write playbook");
    let p = playbook.to_str().expect("utf-8");
    ws.handover(&["playbooks", "show", p]).run().expect_code(0);

    // A value that would run commands if it were substituted raw: quoted, it is just a name.
    let hostile = "/tmp/marker '$(id -u)' `id -u`; echo injected";
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                p,
                "--param",
                &format!("path={hostile}"),
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let listing = host.sh("ls /tmp");
    assert!(
        listing.contains("marker '$(id -u)' `id -u`; echo injected"),
        "the marker is not where the value says: {listing}"
    );
    assert!(
        !listing.contains("marker 0"),
        "a parameter value was run as a command: {listing}"
    );
    let grant = field(&out.json(), "grant");
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        !host.sh("ls /tmp").contains("marker"),
        "the marker survived teardown"
    );
}

#[test]
fn playbook_files_with_errors_are_refused_with_the_line() {
    let ws = Workspace::new();
    let playbook = ws.dir.path().join("typo.toml");
    std::fs::write(&playbook, "name = \"t\"\ndescription = \"d\"\nlevel = \"user\"\n\n[[actions]]\nkind = \"user\"\nshel = \"/bin/sh\"\n").expect("write");
    let p = playbook.to_str().expect("utf-8");
    let out = ws.handover(&["playbooks", "show", p]).run().expect_code(2);
    assert!(
        out.stderr.contains("shel") && out.stderr.contains("line 5"),
        "{}",
        out.stderr
    );
    let out = ws
        .provision(
            "root@127.0.0.1",
            &["--scope", "/var/www/cms", "--playbook", p],
        )
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("shel"), "{}", out.stderr);
    let out = ws
        .provision(
            "root@127.0.0.1",
            &["--scope", "/var/www/cms", "--playbook", "no-such-playbook"],
        )
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("linux-user"), "{}", out.stderr);
}
