//! Shell completions, the manual page, and what `-v`/`-vv`/`--quiet` show.

use crate::support::{Workspace, trusted_host};

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    let ws = Workspace::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = ws.handover(&["completions", shell]).run().expect_code(0);
        assert!(out.stdout.contains("handover"), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("reap"), "{shell}");
        assert!(out.stdout.contains("distinct-credentials"), "{shell}");
    }
    ws.handover(&["completions", "tcsh"]).run().expect_code(2);
    let out = ws.handover(&["man"]).run().expect_code(0);
    assert!(
        out.stdout.starts_with(".ie"),
        "{}",
        &out.stdout[..80.min(out.stdout.len())]
    );
    out.assert_stdout_contains(".TH handover");
    assert!(out.stdout.contains("provision"));
    assert!(out.stdout.contains("teardown"));
}

/// Every command's `--help`, as a user without `HANDOVER_STATE_DIR` reads it. clap wraps help
/// to the terminal's width, or to `COLUMNS` when there is no terminal (as here: the run's stdin,
/// stdout and stderr are pipes); a fixed `COLUMNS` keeps the snapshots stable.
#[test]
fn the_help_of_every_command() {
    let ws = Workspace::new();
    for command in [
        &[][..],
        &["provision"],
        &["teardown"],
        &["audit"],
        &["list"],
        &["show"],
        &["playbooks"],
        &["playbooks", "list"],
        &["playbooks", "show"],
        &["reap"],
        &["restore"],
        &["diff"],
        &["completions"],
        &["man"],
    ] {
        let out = ws
            .handover(&[command, &["--help"]].concat())
            .env_remove("HANDOVER_STATE_DIR")
            .env("COLUMNS", "100")
            .run()
            .expect_code(0);
        assert!(
            out.stdout.lines().all(|l| l.chars().count() <= 100),
            "{command:?}: not wrapped at 100 columns:\n{}",
            out.stdout
        );
        let name = ["help"].iter().chain(command).copied().collect::<Vec<_>>();
        insta::assert_snapshot!(name.join("_"), out.stdout);
    }
}

#[test]
fn very_verbose_shows_the_scripts_and_never_a_secret() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // Every kind of secret: the SSH login password, the sudo password (the same here, reused
    // by sudo), the new account's password, a lent account's window password and its hash.
    let original_hash = host.sh(&format!(
        "getent shadow {} | cut -d: -f2",
        host.nopasswd_user
    ));
    let out = ws
        .provision_as_admin(
            &host,
            &[
                "--scope",
                &host.scope,
                "--become",
                "--rotate",
                &host.nopasswd_user,
                "--after",
                "rotate",
                "-vv",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    let (password, lent) = (grant.password(), grant.lent(&host.nopasswd_user));
    out.assert_stderr_contains("remote script");
    assert!(out.stderr.contains("chpasswd"), "the scripts are shown");
    assert!(out.stderr.contains("[redacted]"));
    for secret in [
        password,
        lent,
        host.admin_password.as_str(),
        original_hash.trim(),
    ] {
        assert!(!out.stderr.contains(secret), "a secret in the -vv log");
    }

    let out = ws
        .handover(&["teardown", &grant.id, "-vv", "--json"])
        .with_password(&host.admin_password)
        .run()
        .expect_code(0);
    let report = out.teardown_report();
    let new_password = report.new_password(&host.nopasswd_user);
    out.assert_stderr_contains("remote script");
    for secret in [
        password,
        lent,
        new_password,
        host.admin_password.as_str(),
        original_hash.trim(),
    ] {
        assert!(!out.stderr.contains(secret), "a secret in the -vv log");
    }

    // --quiet: nothing on stderr but errors.
    let out = ws
        .provision_as_root(
            &host,
            &["--scope", &host.scope, "--no-baseline", "--quiet", "--json"],
        )
        .run()
        .expect_code(0);
    assert_eq!(out.stderr, "", "--quiet printed progress");
    let out = ws
        .teardown_as_root(&host, &out.provisioned().id, &["--quiet"])
        .run()
        .expect_code(0);
    assert_eq!(out.stderr, "");
}
