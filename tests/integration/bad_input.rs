//! Bad and hostile input in every field is refused with a clear error naming the field and what
//! it accepts, exit 2 (1 for what only the host can tell), and the host unchanged.

use crate::support::{Workspace, keygen, trusted_host};

/// One bad input: the arguments after `provision root@HOST`, the exit code, and what the error
/// must say (the field, and what is accepted or why not).
struct Case {
    args: Vec<String>,
    code: i32,
    says: &'static [&'static str],
}

fn case(args: &[&str], code: i32, says: &'static [&'static str]) -> Case {
    Case {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code,
        says,
    }
}

/// `--scope /var/www/cms` and `args`.
fn scoped(args: &[&str], code: i32, says: &'static [&'static str]) -> Case {
    case(&[&["--scope", "/var/www/cms"], args].concat(), code, says)
}

/// `--scope /var/www/cms` and one more option.
fn with_scope(option: &str, value: &str, code: i32, says: &'static [&'static str]) -> Case {
    scoped(&[&format!("{option}={value}")], code, says)
}

const NAME_RULE: &[&str] = &["--account", "^[a-z_][a-z0-9_-]{0,31}$"];
const TTL_RULE: &[&str] = &["--ttl", "a whole number and one unit"];
const CIDR_RULE: &[&str] = &["--allow-from", "CIDR notation"];

#[test]
fn bad_input_in_every_field_is_refused_and_the_host_is_unchanged() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh(
        "ln -s / /srv/to-root && ln -s /etc /var/www/etc-link && ln -s /home /srv/to-home \
         && touch /srv/a-file && useradd -M -s /usr/sbin/nologin existing-acct \
         && groupadd existing-grp",
    );
    let dir = ws.dir.path();
    let file = |name: &str, text: &str| ws.file(name, text);
    let header = "name = \"t\"\ndescription = \"d\"\nlevel = \"user\"\nrequires-scope = true\n";
    let unknown_field = file(
        "typo.toml",
        &format!("{header}[[actions]]\nkind = \"user\"\nshel = \"/bin/sh\"\n"),
    );
    let wrong_type = file(
        "type.toml",
        "name = \"t\"\ndescription = \"d\"\nlevel = 3\n",
    );
    let unknown_kind = file(
        "kind.toml",
        &format!("{header}[[actions]]\nkind = \"backdoor\"\n"),
    );
    let huge = file(
        "huge.toml",
        &format!("{header}{}", "# padding\n".repeat(40_000)),
    );
    let not_toml = file("garbage.toml", "\u{1b}[2J\u{0}\u{1}binary");
    let typed = file(
        "typed.toml",
        &format!(
            "{header}[params.port]\ntype = \"int\"\ndescription = \"p\"\n[params.path]\ntype = \"path\"\ndescription = \"p\"\n[[actions]]\nkind = \"user\"\n"
        ),
    );
    let hosts_with_a_bad_line = file("hosts", "# front ends\nroot@web;id\n");
    let private = keygen(dir, "vendor_private", &["-t", "ed25519"]);
    let weak = keygen(dir, "vendor_weak", &["-t", "rsa", "-b", "1024"]).with_extension("pub");
    let ecdsa = keygen(dir, "vendor_ecdsa", &["-t", "ecdsa"]).with_extension("pub");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let (private, weak, ecdsa) = (path(&private), path(&weak), path(&ecdsa));
    let dir_path = path(dir);

    let cases = vec![
        // Account names.
        with_scope("--account", "bad;name", 2, NAME_RULE),
        with_scope("--account", "-rf", 2, NAME_RULE),
        with_scope("--account", "$(id)", 2, NAME_RULE),
        with_scope("--account", "a b", 2, NAME_RULE),
        with_scope("--account", "a:b", 2, NAME_RULE),
        with_scope("--account", "a\nb", 2, NAME_RULE),
        with_scope("--account", "Root", 2, NAME_RULE),
        with_scope("--account", "1234", 2, NAME_RULE),
        with_scope("--account", &"x".repeat(33), 2, NAME_RULE),
        with_scope("--account", "ev\u{1b}[31mil", 2, NAME_RULE),
        with_scope("--account", "root", 2, &["--account", "reserved"]),
        with_scope("--account", "admin", 2, &["--account", "reserved"]),
        with_scope("--account", "www-data", 2, &["--account", "reserved"]),
        with_scope(
            "--account",
            "existing-acct",
            1,
            &[
                "no account named `existing-acct`",
                "choose another --account",
            ],
        ),
        with_scope(
            "--account",
            "existing-grp",
            1,
            &["no group named `existing-grp`", "choose another --account"],
        ),
        // Scopes.
        case(&[], 2, &["--scope"]),
        case(&["--scope", "var/www/cms"], 2, &["--scope", "absolute"]),
        case(&["--scope", "/var/www/../../etc"], 2, &["--scope"]),
        case(&["--scope", "/var/www/*"], 2, &["--scope"]),
        case(&["--scope", "/var/www/[c]ms"], 2, &["--scope"]),
        case(&["--scope", "/var/www/cms\n/etc"], 2, &["--scope"]),
        case(&["--scope", "/var/www/\u{1b}]0;x\u{7}cms"], 2, &["--scope"]),
        case(&["--scope", "/"], 2, &["--scope"]),
        case(
            &["--scope", "/srv/does-not-exist"],
            1,
            &["existing directory"],
        ),
        case(&["--scope", "/srv/a-file"], 1, &["existing directory"]),
        case(&["--scope", "/srv/to-root"], 1, &["system directory"]),
        case(&["--scope", "/srv/to-home"], 1, &["system directory"]),
        case(&["--scope", "/var/www/etc-link"], 1, &["system directory"]),
        case(&["--scope", "/etc"], 1, &["system directory"]),
        case(&["--scope", "/home"], 1, &["system directory"]),
        case(&["--scope", "/root"], 1, &["system directory"]),
        // TTLs.
        with_scope("--ttl", "0h", 2, TTL_RULE),
        with_scope("--ttl", "-1h", 2, TTL_RULE),
        with_scope("--ttl", "31d", 2, TTL_RULE),
        with_scope("--ttl", "99999999999999999999h", 2, TTL_RULE),
        with_scope("--ttl", "1.5h", 2, TTL_RULE),
        with_scope("--ttl", "1h30m", 2, TTL_RULE),
        with_scope("--ttl", "10", 2, TTL_RULE),
        with_scope("--ttl", "2\u{1b}[1mh", 2, TTL_RULE),
        // Networks.
        with_scope(
            "--allow-from",
            "10.0.0.0/33",
            2,
            &["--allow-from", "prefix length"],
        ),
        with_scope("--allow-from", "999.1.1.1", 2, CIDR_RULE),
        with_scope("--allow-from", "example.com", 2, CIDR_RULE),
        with_scope("--allow-from", "", 2, CIDR_RULE),
        with_scope(
            "--allow-from",
            "10.0.0.1/8",
            2,
            &["--allow-from", "host bits"],
        ),
        // Playbooks and their parameters.
        with_scope("--playbook", &unknown_field, 2, &["shel", "line"]),
        with_scope("--playbook", &wrong_type, 2, &["level", "line 3"]),
        with_scope("--playbook", &unknown_kind, 2, &["backdoor"]),
        with_scope("--playbook", &huge, 2, &["at most 262144 bytes"]),
        with_scope("--playbook", &not_toml, 2, &["garbage.toml"]),
        with_scope("--playbook", &dir_path, 2, &["not a regular file"]),
        with_scope("--playbook", "no-such-playbook", 2, &["linux-user"]),
        with_scope("--param", "nope=1", 2, &["nope", "not declared"]),
        scoped(
            &["--playbook", &typed, "--param", "port=12a"],
            2,
            &["port", "whole number"],
        ),
        scoped(
            &["--playbook", &typed, "--param", "path=rel/x\u{1b}[2J"],
            2,
            &["path"],
        ),
        // Vendor keys to seal to.
        with_scope("--seal-to", &private, 2, &["--seal-to", "private key"]),
        with_scope("--seal-to", &weak, 2, &["--seal-to", "2048"]),
        with_scope("--seal-to", &ecdsa, 2, &["--seal-to", "unsupported"]),
        with_scope(
            "--seal-to",
            "ssh-ed25519 AAAA-not-a-key",
            2,
            &["--seal-to", "not a valid public key"],
        ),
        with_scope(
            "--seal-to",
            "/nonexistent/vendor.pub",
            2,
            &["--seal-to", "cannot read"],
        ),
        // Lent accounts.
        with_scope("--rotate", "root", 2, &["--allow-root-rotation"]),
        with_scope("--rotate", "no;such", 2, &["--rotate"]),
        // A playbook without a new account has nothing --allow-from could limit.
        case(
            &[
                "--playbook",
                "lend",
                "--rotate",
                "helper",
                "--allow-from",
                "10.1.0.0/16",
            ],
            2,
            &["--allow-from", "creates no account", "--open-firewall"],
        ),
        // Batches.
        with_scope("--parallel", "0", 2, &["--parallel", "from 1 to 256"]),
        with_scope("--parallel", "many", 2, &["--parallel"]),
        with_scope(
            "--hosts",
            "/nonexistent/hosts",
            2,
            &["--hosts", "a readable file of targets"],
        ),
        with_scope("--hosts", &hosts_with_a_bad_line, 2, &["target", "line 2"]),
        scoped(&[&host.target("root")], 2, &["target", "each host once"]),
    ];
    assert!(cases.len() >= 30);

    let before = host.snapshot();
    for Case { args, code, says } in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ws.provision_as_root(&host, &args).run();
        assert_eq!(
            out.code, *code,
            "{args:?}: expected exit {code}, got {}:\n{}",
            out.code, out.stderr
        );
        for needle in *says {
            assert!(
                out.stderr.contains(needle),
                "{args:?}: the error does not say `{needle}`:\n{}",
                out.stderr
            );
        }
        out.assert_stderr_is_clean(&format!("{args:?}"));
    }
    assert_eq!(before, host.snapshot(), "bad input changed the host");
    // No grant was recorded for any of them.
    let list = ws.list();
    assert!(list.grants.is_empty(), "{list}");
}

/// The main refusals word for word, with their exit status: each comes before anything
/// connects, so no host is needed.
#[test]
fn the_main_refusals_read_as_they_should() {
    let ws = Workspace::new();
    let typo = ws.file(
        "typo.toml",
        "name = \"t\"\ndescription = \"d\"\nlevel = \"user\"\n\n[[actions]]\nkind = \"user\"\nshel = \"/bin/sh\"\n",
    );
    fn provision<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [&["provision", "root@127.0.0.1:9"], args].concat()
    }
    fn scoped<'a>(args: &[&'a str]) -> Vec<&'a str> {
        provision(&[&["--scope", "/var/www/cms"], args].concat())
    }
    let cases = [
        ("bad_ttl", scoped(&["--ttl", "1h30m"])),
        ("bad_account", scoped(&["--account", "bad;name"])),
        ("reserved_account", scoped(&["--account", "root"])),
        ("missing_scope", provision(&[])),
        (
            "unknown_playbook",
            scoped(&["--playbook", "no-such-playbook"]),
        ),
        ("playbook_error_on_a_line", scoped(&["--playbook", &typo])),
        ("undeclared_param", scoped(&["--param", "nope=1"])),
        (
            "level_playbook_mismatch",
            scoped(&["--level", "root", "--playbook", "linux-user"]),
        ),
        (
            "allow_from_with_host_bits",
            scoped(&["--allow-from", "10.0.0.1/8"]),
        ),
        (
            "allow_from_not_a_network",
            scoped(&["--allow-from", "example.com"]),
        ),
        (
            "allow_from_without_an_account",
            provision(&[
                "--playbook",
                "lend",
                "--rotate",
                "helper",
                "--allow-from",
                "10.1.0.0/16",
            ]),
        ),
        (
            "open_firewall_without_allow_from",
            scoped(&["--open-firewall"]),
        ),
        (
            "rotate_root",
            provision(&["--playbook", "lend", "--rotate", "root"]),
        ),
        ("parallel_zero", scoped(&["--parallel", "0"])),
        ("bad_grant_id", vec!["teardown", "../../etc/passwd"]),
        ("bad_batch_id", vec!["teardown", "b-nosuch"]),
        ("unknown_grant", vec!["show", "20261123-zzzzzz"]),
        (
            "unknown_built_in_playbook",
            vec!["playbooks", "show", "nosuch"],
        ),
        (
            "playbook_file_error_on_a_line",
            vec!["playbooks", "show", &typo],
        ),
    ];
    for (name, args) in &cases {
        insta::assert_snapshot!(format!("refused_{name}"), ws.transcript(args));
    }
}

#[test]
fn bad_grant_and_batch_ids_are_usage_errors() {
    let ws = Workspace::new();
    for (args, says) in [
        (&["teardown", "b-nosuch"][..], "a batch id like"),
        (
            &["teardown", "b-20261123-zzzzzz"],
            "no grant `b-20261123-zzzzzz`",
        ),
        (&["teardown", "../../etc/passwd"], "a grant id like"),
        (&["show", "20261123-zzzzzz"], "no grant `20261123-zzzzzz`"),
        (&["audit", "x;id"], "a grant id like"),
    ] {
        let out = ws.handover(args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
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

#[test]
fn escape_sequences_from_the_host_never_reach_the_terminal() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // A pre-login banner and a failing step's stderr, both with escape sequences that would
    // clear the screen and retitle the terminal.
    host.sh(
        "printf 'Authorised use only\\033[2J\\033]0;pwned\\007 here\\n' >/etc/ssh/handover-banner \
         && echo 'Banner /etc/ssh/handover-banner' >/etc/ssh/sshd_config.d/banner.conf \
         && kill -HUP \"$(cat /run/sshd.pid)\" && sleep 0.5 \
         && for i in $(seq 100); do ss -ltn | grep -q ':22 ' && break; sleep 0.1; done",
    );
    let playbook = ws.file(
        "noisy.toml",
        "name = \"noisy\"\ndescription = \"fails loudly\"\nlevel = \"user\"\n\n[[actions]]\nkind = \"shell\"\ndescription = \"noise\"\napply = \"printf 'evil\\\\033[2J\\\\033[31m output\\\\n' >&2; exit 3\"\nundo = \"true\"\n",
    );
    let before = host.snapshot();
    let out = ws
        .provision_as_root(&host, &["-v", "--playbook", &playbook])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Authorised use only") && out.stderr.contains(" here"),
        "the banner is not shown with -v:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("evil") && out.stderr.contains(" output"),
        "the host's stderr is not shown:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stderr.contains('\u{7}'),
        "a control character reached the terminal: {:?}",
        out.stderr
    );
    assert_eq!(
        before,
        host.snapshot(),
        "the failed provision changed the host"
    );
}

/// A reader that stops early (`handover playbooks | head -1`) closes stdout: one line says so,
/// exit 1, and no panic message.
#[test]
fn a_closed_stdout_is_a_clean_exit_not_a_panic() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .arg("playbooks")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run handover");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken pipe"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
