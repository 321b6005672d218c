//! Bad input is refused with a clear error naming the field, before anything changes.

use crate::support::{TestHost, Workspace, host_tests_enabled};

#[test]
fn bad_account_names_and_scopes_are_refused_without_touching_the_host() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    host.sh("ln -s / /srv/to-root && ln -s /etc /var/www/etc-link && mkdir -p /srv/plainfile-dir && touch /srv/a-file");
    let before = host.snapshot();
    let target = format!("root@{}", host.addr);

    // (extra arguments, exit code, text the error must contain)
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--scope", "/var/www/cms", "--account", "bad;name"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account=-rf"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "Root"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "a:b"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "root"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "1234"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "a\nb"],
            2,
            "--account",
        ),
        (&["--scope", "var/www/cms"], 2, "--scope"),
        (&["--scope", "/var/www/../../etc"], 2, "--scope"),
        (&["--scope", "/var/www/*"], 2, "--scope"),
        (&["--scope", "/"], 2, "--scope"),
        (&["--ttl", "0h", "--scope", "/var/www/cms"], 2, "--ttl"),
        (&["--ttl", "31d", "--scope", "/var/www/cms"], 2, "--ttl"),
        (&["--ttl", "1.5h", "--scope", "/var/www/cms"], 2, "--ttl"),
        (&[], 2, "--scope"),
        // Host-side checks: exit 1, and still nothing changed.
        (
            &["--scope", "/var/www/cms", "--account", "admin"],
            2,
            "--account",
        ),
        (
            &["--scope", "/var/www/cms", "--account", "www-data"],
            2,
            "--account",
        ),
        (&["--scope", "/srv/does-not-exist"], 1, "existing directory"),
        (&["--scope", "/srv/a-file"], 1, "existing directory"),
        (&["--scope", "/srv/to-root"], 1, "system directory"),
        (&["--scope", "/var/www/etc-link"], 1, "system directory"),
        (&["--scope", "/etc"], 1, "system directory"),
        (&["--scope", "/home"], 1, "system directory"),
        (&["--scope", "/root"], 1, "system directory"),
    ];
    for (extra, code, needle) in cases {
        let out = ws.provision(&target, extra).with_root_password(&host).run();
        assert_eq!(
            out.code, *code,
            "{extra:?}: expected exit {code}, got {}:\n{}",
            out.code, out.stderr
        );
        assert!(
            out.stderr.contains(needle),
            "{extra:?}: error does not mention `{needle}`:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("panicked"),
            "{extra:?}: {}",
            out.stderr
        );
    }
    // An account that exists already is refused by the host's preflight.
    host.sh("useradd -M -s /usr/sbin/nologin existing-acct");
    let before_existing = host.snapshot();
    let out = ws
        .provision(
            &target,
            &["--scope", "/var/www/cms", "--account", "existing-acct"],
        )
        .with_root_password(&host)
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("existing-acct") && out.stderr.contains("already")
            || out.stderr.contains("choose another"),
        "{}",
        out.stderr
    );
    assert_eq!(before_existing, host.snapshot());
    host.sh("userdel existing-acct");

    assert_eq!(before, host.snapshot(), "bad input changed the host");
    // No grant was recorded for any of them.
    let list = ws.handover(&["list", "--json"]).run().expect_code(0).json();
    assert_eq!(list["grants"].as_array().map(Vec::len), Some(0), "{list}");
}

#[test]
fn hostile_targets_are_refused_before_connecting() {
    let ws = Workspace::new();
    for target in [
        "-oProxyCommand=touch /tmp/pwned",
        "root@-oProxyCommand=x",
        "host:99999",
        "a b",
        "root@host;id",
        "root@ho\u{1b}[2Jst",
    ] {
        // After `--` clap takes anything as the target: handover's own validation must refuse it.
        let out = ws
            .handover(&["provision", "--scope", "/var/www/cms", "--", target])
            .run();
        assert_eq!(out.code, 2, "{target}: {}", out.stderr);
        assert!(
            out.stderr.contains("target") || out.stderr.contains("login"),
            "{target}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains('\u{1b}'),
            "an escape sequence reached the terminal: {:?}",
            out.stderr
        );
    }
    // Without `--`, an option-like target never gets that far.
    let out = ws
        .handover(&[
            "provision",
            "--scope",
            "/var/www/cms",
            "-oProxyCommand=touch /tmp/pwned",
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}
