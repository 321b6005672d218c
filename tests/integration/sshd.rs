//! The `sshd-match` action every grant gets: logins only from `--allow-from`, no forwarding or
//! tunnels for the account, and the safe drop-in mechanism behind it (never lock the customer
//! out). Each test ends by logging in as root: the customer's own access must always survive.

use crate::support::{TestHost, host_tests_enabled, text, trusted_host};
use handover::actions::sshd_dropin::{self, DropIn, Expect, Probe};
use handover::shell::{OnStepFailure, Script};
use std::collections::BTreeMap;

/// The customer can still log in as root, from the usual and from the second address.
#[track_caller]
fn root_still_logs_in(host: &TestHost) {
    for bind in [&host.gateway, &host.client_addr2] {
        let out = host.ssh_as_from(bind, "root", &host.root_password, "id -un");
        assert!(
            out.status.success() && text(&out.stdout).trim() == "root",
            "root cannot log in from {bind}: {}",
            text(&out.stderr)
        );
    }
}

/// No handover drop-in is left and `sshd -t` passes.
#[track_caller]
fn sshd_config_is_clean(host: &TestHost) {
    let left = host.sh("ls -A /etc/ssh/sshd_config.d");
    assert!(
        !left.contains("handover"),
        "drop-ins left in sshd_config.d:\n{left}"
    );
    let out = host.exec("sshd -t");
    assert!(out.status.success(), "sshd -t fails: {}", text(&out.stderr));
}

fn sighups(host: &TestHost) -> usize {
    host.sh("grep -c 'Received SIGHUP' /var/log/sshd.log || true")
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn allow_from_admits_the_allowed_source_and_refuses_any_other() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    // A /31 holding the gateway (10.200.N.0-1) but not the second address (10.200.N.3), and an
    // IPv6 network, to exercise both families in the Match Address list.
    let mut octets: Vec<&str> = host.gateway.split('.').collect();
    octets[3] = "0";
    let network = format!("{}/31", octets.join("."));

    let grant = ws.grant(
        &host,
        &["--allow-from", &network, "--allow-from", "2001:DB8::/32"],
    );
    assert_eq!(
        grant.allow_from,
        [network.as_str(), "2001:db8::/32"],
        "{grant}"
    );
    let (account, password) = (grant.account(), grant.password());

    // From the allowed network: in.
    let out = host.ssh_as_from(&host.gateway, account, password, "id -un");
    assert!(
        out.status.success(),
        "login from the allowed address failed: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), account);
    // From anywhere else: refused, by our Match block (sshd says why in its log).
    let out = host.ssh_as_from(&host.client_addr2, account, password, "id -un");
    assert!(
        !out.status.success(),
        "login from a non-allowed address worked: {}",
        text(&out.stdout)
    );
    assert!(!text(&out.stdout).contains(account));
    let log = host.sh("cat /var/log/sshd.log");
    assert!(
        log.contains(&format!(
            "User {account} from {} not allowed because listed in DenyUsers",
            host.client_addr2
        )),
        "sshd did not refuse the login with our DenyUsers:\n{log}"
    );
    // The effective settings as sshd computes them, independently of handover's own checks.
    let effective = |addr: &str| {
        host.sh(&format!(
            "sshd -T -C user={account},host={addr},addr={addr}"
        ))
    };
    let denied = effective("192.0.2.55");
    assert!(
        denied.contains(&format!("denyusers {account}\n"))
            && denied.contains("passwordauthentication no\n")
            && denied.contains("pubkeyauthentication no\n"),
        "{denied}"
    );
    let denied6 = effective("2001:db9::1");
    assert!(denied6.contains("passwordauthentication no\n"), "{denied6}");
    let allowed6 = effective("2001:db8:1::1");
    assert!(
        !allowed6.contains("denyusers") && allowed6.contains("passwordauthentication yes\n"),
        "{allowed6}"
    );
    // Only the temporary account is restricted.
    root_still_logs_in(&host);

    let report = ws.revoke_report(&host, &grant.id);
    assert!(report.verified, "{report}");
    let checks: String = report.checks.iter().map(ToString::to_string).collect();
    assert!(
        checks.contains("as before the grant") && checks.contains("reloaded"),
        "{checks}"
    );
    sshd_config_is_clean(&host);
    assert!(!effective("192.0.2.55").contains("denyusers"));
    assert_eq!(before, host.snapshot(), "the host is not as before");
    root_still_logs_in(&host);
}

#[test]
fn the_account_cannot_forward_or_tunnel_but_root_still_can() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // A customer's catch-all Match block at the end of sshd_config (after the Include) that
    // allows forwarding: ours, read first, must still win for the temporary account.
    host.sh(
        "printf '\\nMatch all\\n\\tAllowTcpForwarding yes\\n\\tPermitOpen any\\n' >> /etc/ssh/sshd_config && sshd -t",
    );
    let sshd_config = host.sh("cat /etc/ssh/sshd_config");

    let grant = ws.grant(&host, &["--allow-from", &host.gateway]);
    let account = grant.account();
    let acct =
        |extra: &[&str], cmd: Option<&str>| host.ssh_with(account, grant.password(), extra, cmd);
    // The account logs in and works...
    let out = acct(&[], Some("id -un"));
    assert!(out.status.success(), "{}", text(&out.stderr));

    // ...but a direct-tcpip channel (-W, as -L and -D use) is refused,
    let target = format!("{}:22", host.addr);
    let out = acct(&["-W", &target], None);
    assert!(
        !out.status.success() && !text(&out.stdout).contains("SSH-2.0"),
        "the account opened a -W tunnel: {}",
        text(&out.stdout)
    );
    // and so is a remote forward (-R), a streamlocal forward, and a listener.
    for forward in ["0:127.0.0.1:22", "/tmp/handover-fwd.sock:127.0.0.1:22"] {
        let out = acct(
            &["-o", "ExitOnForwardFailure=yes", "-R", forward],
            Some("sleep 1"),
        );
        assert!(
            !out.status.success(),
            "the account opened the remote forward {forward}"
        );
    }
    assert!(!host.ok("test -e /tmp/handover-fwd.sock"));

    // Root, same client, same options: allowed. The refusals above are the account's own.
    let out = host.ssh_with("root", &host.root_password, &["-W", &target], None);
    assert!(
        text(&out.stdout).starts_with("SSH-2.0-"),
        "root's -W tunnel failed, so the test proves nothing: {}",
        text(&out.stderr)
    );
    let out = host.ssh_with(
        "root",
        &host.root_password,
        &["-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:22"],
        Some("sleep 1"),
    );
    assert!(
        out.status.success(),
        "root's -R failed: {}",
        text(&out.stderr)
    );

    let effective = host.sh(&format!(
        "sshd -T -C user={account},host=x,addr={}",
        host.gateway
    ));
    for line in [
        "allowtcpforwarding no",
        "allowstreamlocalforwarding no",
        "x11forwarding no",
        "allowagentforwarding no",
        "permittunnel no",
        "gatewayports no",
        "permitlisten none",
        "permitopen none",
        "disableforwarding yes",
    ] {
        assert!(
            effective.lines().any(|l| l == line),
            "`{line}` missing:\n{effective}"
        );
    }

    ws.revoke(&host, &grant.id);
    sshd_config_is_clean(&host);
    assert_eq!(
        sshd_config,
        host.sh("cat /etc/ssh/sshd_config"),
        "the customer's sshd_config changed"
    );
    // The account's effective settings are the customer's again (their Match all).
    let effective = host.sh(&format!(
        "sshd -T -C user={account},host=x,addr={}",
        host.gateway
    ));
    assert!(
        effective.lines().any(|l| l == "allowtcpforwarding yes"),
        "{effective}"
    );
    root_still_logs_in(&host);
}

#[test]
fn a_drop_in_that_would_not_take_effect_is_removed_before_sshd_reloads() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // A customer's drop-in that sorts before ours and allows forwarding for every user:
    // sshd keeps the first value it reads, so our restriction would silently not apply.
    host.sh(
        "printf 'Match User *\\n\\tAllowTcpForwarding yes\\n' > /etc/ssh/sshd_config.d/00-aaa-customer.conf && sshd -t",
    );
    let before = host.snapshot();
    let reloads = sighups(&host);

    let out = ws
        .provision_as_root(
            &host,
            &["--scope", &host.scope, "--account", "support-prec"],
        )
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("sshd-match") && out.stderr.contains("do not take effect"),
        "the failing step and the reason are not named:\n{}",
        out.stderr
    );
    out.assert_stderr_contains("allowtcpforwarding is yes, not no");
    out.assert_stderr_contains("rolled back");
    // sshd was never reloaded with the fragment; the host is as before; the customer's
    // drop-in is untouched.
    assert_eq!(sighups(&host), reloads, "sshd was reloaded");
    assert_eq!(before, host.snapshot(), "the host is not as before");
    assert_eq!(
        host.sh("cat /etc/ssh/sshd_config.d/00-aaa-customer.conf"),
        "Match User *\n\tAllowTcpForwarding yes\n"
    );
    assert!(host.ok("sshd -t"));
    root_still_logs_in(&host);
}

#[test]
fn preflight_refuses_a_broken_or_unincluded_sshd_config_without_touching_it() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };

    // The customer's configuration is already broken (not yet loaded by sshd): refuse, show
    // sshd's complaint, change nothing, never reload.
    host.sh("printf 'Match User nobody\\n\\tPort 2222\\n' > /etc/ssh/sshd_config.d/50-broken.conf");
    let before = host.snapshot();
    let reloads = sighups(&host);
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("`sshd -t` accepts")
            && out.stderr.contains("not allowed within a Match block"),
        "{}",
        out.stderr
    );
    assert_eq!(before, host.snapshot());
    assert_eq!(sighups(&host), reloads, "sshd was reloaded");
    host.sh("rm /etc/ssh/sshd_config.d/50-broken.conf");
    let clean = host.snapshot();

    // The drop-in directory is not included (Include commented out): a drop-in would do
    // nothing, so refuse.
    host.sh("sed -i 's|^Include /etc/ssh/sshd_config.d|#&|' /etc/ssh/sshd_config && sshd -t");
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(1);
    out.assert_stderr_contains("includes /etc/ssh/sshd_config.d/*.conf");
    host.sh("sed -i 's|^#\\(Include /etc/ssh/sshd_config.d\\)|\\1|' /etc/ssh/sshd_config");

    // Bad --allow-from values never reach the host.
    for (bad, hint) in [
        ("10.200.0.1/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "leave out --allow-from"),
        ("10.0.0.0/33", "prefix length"),
        ("*", "CIDR"),
        ("!10.0.0.0/8", "CIDR"),
        ("10.0.0.0/8,0.0.0.0", "CIDR"),
        ("10.0.0.1\nMatch all", "CIDR"),
        ("::ffff:10.0.0.1", "IPv4"),
    ] {
        let out = ws
            .provision_as_root(&host, &["--scope", &host.scope, "--allow-from", bad])
            .run()
            .expect_code(2);
        assert!(
            out.stderr.contains("--allow-from") && out.stderr.contains(hint),
            "{bad:?}: {}",
            out.stderr
        );
    }
    assert_eq!(clean, host.snapshot());
    let list = ws.list();
    assert!(list.grants.is_empty(), "{list}");
    root_still_logs_in(&host);
}

/// The shared drop-in helper, run directly on a test host (not through the CLI: no honest
/// customer configuration makes `sshd -t` refuse only the combination with handover's own,
/// valid, fragments). A fragment sshd refuses is never installed and sshd never reloads; a
/// valid one is installed, reloaded, and removed again.
#[test]
fn the_drop_in_helper_never_installs_or_reloads_a_fragment_sshd_refuses() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let path = sshd_dropin::path_for("helper-test");
    let dropin = |body: &str| DropIn {
        path: path.clone(),
        account: "helper-test".to_owned(),
        mark: "# handover grant test".to_owned(),
        content: format!("# handover grant test\nMatch User helper-test\n{body}"),
        keys: vec!["allowtcpforwarding"],
        probes: vec![Probe {
            addr: "192.0.2.1".to_owned(),
            expect: vec![Expect::Is("allowtcpforwarding", "no".to_owned())],
        }],
    };
    let install = |d: &DropIn| {
        let mut s = Script::new();
        s.step(0, OnStepFailure::Stop, |s| sshd_dropin::install(s, d));
        host.exec_stdin(s.text())
    };
    let reloads = sighups(&host);
    let pid = host.sh("cat /run/sshd.pid");

    // `Port` is refused inside Match: sshd -t fails (exit 255) with the fragment.
    let out = install(&dropin("\tPort 2222\n"));
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("step failed 0"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains("not installed") && stderr.contains("not allowed within a Match block"),
        "{stderr}"
    );
    assert_eq!(
        host.sh("ls -A /etc/ssh/sshd_config.d"),
        "",
        "a file was left"
    );
    assert_eq!(sighups(&host), reloads, "sshd was reloaded");
    assert!(host.ok("sshd -t"));
    root_still_logs_in(&host);

    // A valid one: installed, in effect, sshd reloaded once and listening again.
    let d = dropin("\tAllowTcpForwarding no\n");
    let out = install(&d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("fact sshd_loaded 1"));
    assert_eq!(sighups(&host), reloads + 1);
    assert_eq!(
        host.sh("cat /run/sshd.pid"),
        pid,
        "sshd is not the same process"
    );
    assert!(host.ok(&format!("test -f {path}")));
    root_still_logs_in(&host);
    // Installing again refuses to replace it.
    let out = install(&d);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists already"));

    // A file that is not ours is left alone by removal.
    let mut foreign = d.clone();
    foreign.mark = "# handover grant other".to_owned();
    let remove = |d: &DropIn, loaded: bool| {
        let mut facts = BTreeMap::new();
        if loaded {
            facts.insert("sshd_loaded".to_owned(), "1".to_owned());
        }
        let mut s = Script::new();
        s.step(0, OnStepFailure::Stop, |s| {
            sshd_dropin::remove(s, d, &facts);
            sshd_dropin::fail_if_remove_failed(s);
        });
        host.exec_stdin(s.text())
    };
    let out = remove(&foreign, true);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("left alone"));
    assert!(host.ok(&format!("test -f {path}")));
    // Ours: removed, validated, reloaded; again: nothing to do, no reload.
    let out = remove(&d, true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sighups(&host), reloads + 2);
    let out = remove(&d, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sighups(&host), reloads + 2, "an idle removal reloaded sshd");
    sshd_config_is_clean(&host);
    root_still_logs_in(&host);
}
