//! Nothing of the window keeps running: every process of the vendor's logins ends at teardown,
//! whatever user it runs as, each named with its command line and sockets; a system service
//! restarted during the window is named and left running.

use crate::docs::{TeardownReport, WindowProcess};
use crate::support::TestHost;

/// The process of `report` whose command line contains `needle`.
#[track_caller]
fn process<'a>(
    list: &'a [WindowProcess],
    needle: &str,
    report: &TeardownReport,
) -> &'a WindowProcess {
    list.iter()
        .find(|p| p.command.contains(needle))
        .unwrap_or_else(|| panic!("no process running `{needle}` in {list:#?}\n{report}"))
}

/// A root-level vendor leaves, through sudo, a bind shell, a connection to it, a loop that
/// keeps restarting a child, and restarts a system daemon (atd) by hand: they all run as root
/// (atd as `daemon`),
/// where ending the account's own processes never reached them.
#[test]
fn a_root_level_accounts_processes_end_whatever_user_they_run_as() {
    let Some((host, ws)) = TestHost::builder().service("cron").trusted() else {
        return;
    };
    let grant = ws.grant(&host, &["--level", "root"]);
    host.sudo_as(
        grant.account(),
        grant.password(),
        "set -e
setsid socat TCP-LISTEN:5555,reuseaddr,fork EXEC:/bin/cat </dev/null >/dev/null 2>&1 &
sleep 0.3
setsid bash -c 'exec 3<>/dev/tcp/127.0.0.1/5555; exec sleep 600' </dev/null >/dev/null 2>&1 &
setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
/usr/sbin/atd
sleep 0.3",
    );
    // `[x]yz`: the shell running pgrep has the pattern in its own command line, not a match.
    let running =
        |pattern: &str| host.ok(&format!("pgrep -f '[{}]{}'", &pattern[..1], &pattern[1..]));
    for pattern in ["TCP-LISTEN:5555", "sleep 600", "while :", "/usr/sbin/atd"] {
        assert!(running(pattern), "`{pattern}` did not start");
    }

    let report = ws.revoke_report(&host, &grant.id);
    assert!(report.verified, "{report}");
    let ended = &report.processes_ended;
    let listener = process(ended, "TCP-LISTEN:5555", &report);
    assert_eq!(listener.user, "root", "{report}");
    assert!(
        listener
            .sockets
            .iter()
            .any(|s| s == "tcp LISTEN 0.0.0.0:5555"),
        "{listener:#?}"
    );
    let client = process(ended, "sleep 600", &report);
    assert!(
        client
            .sockets
            .iter()
            .any(|s| s.starts_with("tcp ESTAB 127.0.0.1:") && s.ends_with(" -> 127.0.0.1:5555")),
        "{client:#?}"
    );
    process(ended, "while :", &report);
    let atd = process(&report.left_running, "/usr/sbin/atd", &report);
    assert_eq!(
        atd.restart.as_deref(),
        Some("service atd restart"),
        "{report}"
    );
    assert!(
        !ended.iter().any(|p| p.command.contains("atd")),
        "the service was ended: {report}"
    );
    for pattern in ["TCP-LISTEN:5555", "sleep 600", "while :"] {
        assert!(!running(pattern), "`{pattern}` survived the teardown");
    }
    assert!(running("/usr/sbin/atd"), "the service was taken down");
    let check = report
        .checks
        .iter()
        .find(|c| c.check.contains("whatever user it runs as"))
        .unwrap_or_else(|| panic!("no check of the window's processes: {report}"));
    assert!(check.ok, "{report}");
}

/// A user-level vendor's own processes are named too, with their sockets.
#[test]
fn a_user_level_accounts_processes_are_named() {
    let Some((host, ws)) = TestHost::builder().service("cron").trusted() else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let out = host.ssh_as(
        grant.account(),
        grant.password(),
        "setsid socat TCP-LISTEN:6000,reuseaddr,fork EXEC:/bin/cat </dev/null >/dev/null 2>&1 & sleep 0.3",
    );
    assert!(out.status.success());
    let report = ws.revoke_report(&host, &grant.id);
    let listener = process(&report.processes_ended, "TCP-LISTEN:6000", &report);
    assert_eq!(listener.user, grant.account(), "{report}");
    assert_eq!(listener.sockets, ["tcp LISTEN 0.0.0.0:6000"], "{report}");
    assert!(
        !host.ok("pgrep -f '[T]CP-LISTEN:6000'"),
        "the listener survived"
    );
}
