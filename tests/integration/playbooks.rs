//! Built-in and user playbooks: linux-root, composr-backdoor, the shell action, parameters.

use crate::support::{TestHost, Workspace, trusted_host};

/// `sudo -S id -u` as `account`, which logs in and gives sudo `password`.
fn sudo_as(
    host: &TestHost,
    account: &str,
    password: &str,
    sudo_password: &str,
) -> std::process::Output {
    host.ssh_as_with_stdin(
        account,
        password,
        "sudo -S -p '' id -u",
        format!("{sudo_password}\n").as_bytes(),
    )
}

#[test]
fn linux_root_gives_sudo_with_the_accounts_password_and_user_level_does_not() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();

    let grant = ws.grant(&host, &["--level", "root"]);
    assert_eq!(grant.level, "root");
    assert_eq!(grant.playbook, "linux-root");
    let (account, password) = (grant.account(), grant.password());

    // sudo works with the account's own password, and only with it.
    let out = sudo_as(&host, account, password, password);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "sudo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !host
            .ssh_as(account, password, "sudo -n true")
            .status
            .success(),
        "sudo without a password"
    );
    let wrong = sudo_as(&host, account, password, "not-the-password");
    assert!(!wrong.status.success(), "sudo with a wrong password");
    let file = format!("/etc/sudoers.d/handover-{}", grant.id);
    assert_eq!(host.sh(&format!("stat -c %U:%a {file}")).trim(), "root:440");
    assert!(host.ok("visudo -c"));

    ws.revoke(&host, &grant.id);
    assert!(!host.ok(&format!("test -e {file}")));
    assert!(host.ok("visudo -c"));
    assert_eq!(before, host.snapshot());

    // A user-level account has no sudo, even with its password.
    let grant = ws.grant(&host, &[]);
    let (account, password) = (grant.account(), grant.password());
    let out = sudo_as(&host, account, password, password);
    assert!(!out.status.success(), "a user-level account got root");
    // The user-level grant goes without a trace as well.
    ws.revoke(&host, &grant.id);
    assert_eq!(before, host.snapshot());
}

#[test]
fn a_broken_sudoers_fragment_is_caught_and_rolled_back() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // `ALL,,` passes handover's own checks but not visudo.
    let playbook = ws.file(
        "bad-sudo.toml",
        "name = \"bad-sudo\"\ndescription = \"d\"\nlevel = \"root\"\nrequires-scope = true\n\
         [[actions]]\nkind = \"user\"\n[[actions]]\nkind = \"password\"\n[[actions]]\nkind = \"sudo\"\ncommands = \"ALL,,\"\n",
    );
    let before = host.snapshot();
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--playbook", &playbook])
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
        host.logs_in("root", &host.root_password),
        "the customer is locked out"
    );
}

#[test]
fn composr_backdoor_adds_one_line_and_teardown_restores_the_file_exactly() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let config = format!("{}/_config.php", host.scope);
    let original = host.sh(&format!("sha256sum {config}; stat -c %U:%G:%a {config}"));
    let backdoor = |ip: &str| {
        ws.provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--playbook",
                "composr-backdoor",
                "--param",
                &format!("ip={ip}"),
            ],
        )
    };

    // The IP must be one exact address: anything else is refused before connecting.
    for bad in ["203.0.113.0/24", "203.0.113.7'; phpinfo(); //", ""] {
        let out = backdoor(bad).run().expect_code(2);
        out.assert_stderr_contains("ip");
    }

    let grant = backdoor("203.0.113.7")
        .arg("--json")
        .run()
        .expect_code(0)
        .provisioned();
    assert!(
        grant.account.is_none() && grant.password.is_none(),
        "no account is created: {grant}"
    );
    assert_eq!(grant.level, "app");
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

    ws.revoke(&host, &grant.id);
    assert_eq!(
        original,
        host.sh(&format!("sha256sum {config}; stat -c %U:%G:%a {config}")),
        "_config.php differs after teardown"
    );
    assert!(!host.ok(&format!("test -e /var/lib/handover/{}-config", grant.id)));

    // When someone else edits the file during the window, teardown removes the line, says the
    // file is not as before (exit 3) and keeps the original for comparison.
    let grant = backdoor("203.0.113.7")
        .arg("--json")
        .run()
        .expect_code(0)
        .provisioned();
    host.sh(&format!(
        "echo \"\\$SITE_INFO['admin_note'] = 'edited by support';\" >> {config}"
    ));
    let out = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(3);
    let report = out.teardown_report();
    assert!(!report.verified);
    assert!(
        out.stdout.contains("admin_note"),
        "the other change is not shown: {report}"
    );
    assert!(!host.sh(&format!("cat {config}")).contains("backdoor_ip"));
}

#[test]
fn shell_actions_substitute_parameters_quoted() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let p = &ws.file(
        "marker.toml",
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
    );
    ws.handover(&["playbooks", "show", p]).run().expect_code(0);

    // A value that would run commands if it were substituted raw: quoted, it is just a name.
    let hostile = "/tmp/marker '$(id -u)' `id -u`; echo injected";
    let grant = ws.provisioned(
        &host,
        &["--playbook", p, "--param", &format!("path={hostile}")],
    );
    let listing = host.sh("ls /tmp");
    assert!(
        listing.contains("marker '$(id -u)' `id -u`; echo injected"),
        "the marker is not where the value says: {listing}"
    );
    assert!(
        !listing.contains("marker 0"),
        "a parameter value was run as a command: {listing}"
    );

    // Teardown works from the record alone: the playbook file now says to undo nothing.
    ws.file(
        "marker.toml",
        "name = \"marker\"\ndescription = \"changed\"\nlevel = \"app\"\n\
         [[actions]]\nkind = \"shell\"\ndescription = \"d\"\napply = \"true\"\nundo = \"true\"\n",
    );
    ws.revoke(&host, &grant.id);
    assert!(
        !host.sh("ls /tmp").contains("marker"),
        "the marker survived teardown"
    );
}

#[test]
fn playbook_files_with_errors_are_refused_with_the_line() {
    let ws = Workspace::new();
    // Each error is reported at the line of the field at fault, inside whichever action.
    let head = "name = \"t\"\ndescription = \"d\"\nlevel = \"user\"\n\n\
                [[actions]]\nkind = \"user\"\n";
    let cases = [
        (
            format!("{head}shel = \"/bin/sh\"\n"),
            "line 7: action 1 (kind user): unknown field `shel`",
        ),
        (
            format!(
                "{head}\n[[actions]]\nkind = \"password\"\n\n[[actions]]\nkind = \"acl\"\n\
                 path = \"/srv\"\npermisions = \"rwx\"\n"
            ),
            "line 14: action 3 (kind acl): unknown field `permisions`",
        ),
        (
            format!("{head}[[actions]]\nkind = \"sudo\"\ncommands = 1\n"),
            "line 9: action 2 (kind sudo): invalid type: integer `1`, expected a string",
        ),
        (
            format!(
                "{head}[[actions]]\nkind = \"shell\"\ndescription = \"d\"\n\
                 apply = \"\"\"\ntouch /tmp/x\n\"\"\"\nundo = \"rm -f /tmp/x\"\nverify = \"test -e /tmp/x\"\n"
            ),
            "line 14: action 2 (kind shell): unknown field `verify`",
        ),
        (
            format!("{head}[[actions]]\nkind = \"config-line\"\nfile = \"/etc/x\"\n"),
            "line 7: action 2 (kind config-line): missing field `line`",
        ),
    ];
    for (text, expected) in cases {
        let p = &ws.file("typo.toml", &text);
        let out = ws.handover(&["playbooks", "show", p]).run().expect_code(2);
        assert!(out.stderr.contains(expected), "{}\n---\n{text}", out.stderr);
        let out = ws
            .provision(
                "root@127.0.0.1",
                &["--scope", "/var/www/cms", "--playbook", p],
            )
            .run()
            .expect_code(2);
        assert!(out.stderr.contains(expected), "{}\n---\n{text}", out.stderr);
    }
    let out = ws
        .provision(
            "root@127.0.0.1",
            &["--scope", "/var/www/cms", "--playbook", "no-such-playbook"],
        )
        .run()
        .expect_code(2);
    out.assert_stderr_contains("linux-user");
}

#[test]
fn playbooks_lists_and_shows_the_built_ins() {
    let ws = Workspace::new();
    let built_in: Vec<String> = std::fs::read_dir(crate::support::repo().join("playbooks"))
        .expect("playbooks/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .expect("a name")
                .to_owned()
        })
        .collect();
    assert!(built_in.len() >= 7, "{built_in:?}");

    // One line per built-in: name, level, description.
    let out = ws.handover(&["playbooks"]).run().expect_code(0);
    for name in &built_in {
        let playbook = handover::playbook::Playbook::load(name).expect("a built-in");
        assert!(
            out.stdout.lines().any(|line| {
                line.split_whitespace()
                    .take(2)
                    .eq([name, playbook.level.as_str()])
                    && line.contains(&playbook.description)
            }),
            "{name} is not listed:\n{}",
            out.stdout
        );
    }
    assert_eq!(out.stdout.lines().count(), built_in.len(), "{}", out.stdout);
    insta::assert_snapshot!("playbooks", out.stdout);
    let list = ws.handover(&["playbooks", "list"]).run().expect_code(0);
    assert_eq!(list.stdout, out.stdout);

    // `show` prints the playbook's own TOML, which parses.
    let out = ws
        .handover(&["playbooks", "show", "linux-root"])
        .run()
        .expect_code(0);
    let source = std::fs::read_to_string(crate::support::repo().join("playbooks/linux-root.toml"))
        .expect("linux-root.toml");
    assert_eq!(out.stdout, source);
    let playbook =
        handover::playbook::Playbook::parse("linux-root", &out.stdout).expect("show prints TOML");
    assert_eq!(playbook.name, "linux-root");

    let out = ws
        .handover(&["playbooks", "show", "nosuch"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr.contains("no built-in playbook `nosuch`")
            && built_in
                .iter()
                .all(|name| out.stderr.contains(name.as_str())),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
