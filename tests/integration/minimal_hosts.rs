//! Minimal and unusual hosts (issue #20, item 3; docs/minimal-hosts.md): a host without
//! `setfacl`, without `sudo`, without a running scheduler, with an `sshd_config` that does not
//! include `sshd_config.d`, with a read-only `/home`, or with BusyBox tools. Each is either
//! refused at preflight with the missing piece and its fix named, nothing changed, or served
//! by a documented fallback that is provisioned, used and torn down, verified.

use crate::support::{TestHost, Workspace, text, trusted_host};

/// The account's login works and it can write in the scope; teardown removes everything,
/// verified, and the host is as it was.
fn lend_use_and_take_back(host: &TestHost, ws: &Workspace, before: &str, extra: &[&str]) {
    let grant = ws.grant(host, extra);
    let out = host.ssh_as(
        grant.account(),
        grant.password(),
        &format!("id -un && echo vendor-fix > {}/fix.php", host.scope),
    );
    assert!(
        out.status.success(),
        "the vendor's login failed: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), grant.account());
    ws.revoke(host, &grant.id);
    assert!(!host.has_account(grant.account()), "the account is left");
    assert!(
        !host.logs_in(grant.account(), grant.password()),
        "the password still logs in"
    );
    host.sh(&format!("rm {}/fix.php", host.scope));
    assert_eq!(before, host.snapshot(), "teardown left the host changed");
}

#[test]
fn a_host_without_setfacl_is_refused_naming_the_acl_package() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("mv /usr/bin/setfacl /usr/bin/setfacl.away");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &["`setfacl` is installed (Debian package `acl`)"],
    );
}

#[test]
fn a_host_without_sudo_lends_a_user_level_account_unrecorded_and_refuses_what_needs_sudo() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("mv /usr/bin/sudo /usr/bin/sudo.away && mv /usr/sbin/visudo /usr/sbin/visudo.away");
    let before = host.snapshot();

    // Root-level access is sudo: refused, naming the package.
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope, "--level", "root"]),
        &["`sudo` is installed (Debian package `sudo`)"],
    );
    // Recording is sudo's too: `--record require` refuses.
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope, "--record", "require"]),
        &[
            "sudo 1.9.8 or later and visudo are installed",
            "Debian package `sudo`",
        ],
    );
    // A non-root login cannot become root: exit 4, naming the package and the other way in.
    let out = ws
        .provision_as_admin(&host, &["--scope", &host.scope, "--become"])
        .run()
        .expect_code(4);
    out.assert_stderr_contains("Debian package `sudo`");
    out.assert_stderr_contains("log in as root");
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );

    // The fallback: a user-level account needs no sudo; its sessions are not recorded, and
    // the credentials say so.
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--json"])
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    assert_eq!(
        grant.warnings,
        [
            "the vendor's sessions are not recorded on this host: sudo 1.9.8 or later is missing (Debian package `sudo`) (--record require refuses such a host)"
        ]
    );
    let login = host.ssh_as(grant.account(), grant.password(), "id -un");
    assert!(login.status.success(), "{}", text(&login.stderr));
    ws.revoke(&host, &grant.id);
    assert!(!host.has_account(grant.account()), "the account is left");
    assert_eq!(before, host.snapshot(), "teardown left the host changed");
}

#[test]
fn a_host_whose_scheduler_is_stopped_is_refused_naming_at_and_cron() {
    // Installed but not running (cron stopped, no atd, systemd not PID 1): nothing would run
    // the expiry guard.
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("pkill -x cron; while pgrep -x cron >/dev/null; do sleep 0.05; done; ! pgrep -x atd && test ! -d /run/systemd/system");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &[
            "a scheduler runs on the host",
            "install the Debian package `at` and start atd",
            "install the Debian package `cron` and start it",
        ],
    );
}

#[test]
fn an_sshd_config_without_the_include_is_refused_with_the_line_to_add() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // Removed, and the running sshd reloaded with it: a host that never had the line.
    host.sh(
        "sed -i '/^Include \\/etc\\/ssh\\/sshd_config.d/d' /etc/ssh/sshd_config && ! grep -qi '^include' /etc/ssh/sshd_config && sshd -t && kill -HUP $(cat /run/sshd.pid) && sleep 0.3",
    );
    let out = host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &["add the line `Include /etc/ssh/sshd_config.d/*.conf` at the top of /etc/ssh/sshd_config"],
    );
    assert_eq!(out.stderr.matches('✗').count(), 1, "{}", out.stderr);

    // Included, but the directory is missing: refused, naming how to create it.
    host.sh(
        "sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config && mv /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d.away && sshd -t",
    );
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &["/etc/ssh/sshd_config.d is a directory (create it: `mkdir -m 0755 /etc/ssh/sshd_config.d`)"],
    );
}

#[test]
fn a_read_only_home_is_refused_before_anything_changes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("mount --bind /home /home && mount -o remount,ro,bind /home && ! touch /home/probe 2>/dev/null");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &[
            "root can write in /home, for the account's new home",
            "`mount -o remount,rw /home`",
        ],
    );
}

/// The tools replaced in the BusyBox tests: the GNU ones renamed `NAME.gnu`, BusyBox's
/// applets in their place.
const BUSYBOX_TOOLS: &str = "find xargs stat df tar sed grep sort mktemp awk";

#[test]
fn busybox_tools_are_refused_naming_each_tool_and_its_package() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // Taken with the GNU tools: the snapshot itself needs them.
    let before = host.snapshot();
    let swap = |script: &str| {
        host.sh(&format!(
            "/usr/bin/busybox sh -c 'set -e; cd /usr/bin; for t in {BUSYBOX_TOOLS}; do {script}; done'"
        ))
    };
    swap("busybox mv $t $t.gnu; busybox ln -s busybox $t");
    let out = ws.provision_as_root(&host, &["--scope", &host.scope]).run();
    swap("busybox rm $t; busybox mv $t.gnu $t");
    let out = out.expect_code(1);
    out.assert_stderr_contains("preflight");
    out.assert_stderr_contains("nothing was changed");
    out.assert_stderr_contains("not BusyBox applets");
    for (tool, package) in [
        ("find", "findutils"),
        ("xargs", "findutils"),
        ("stat", "coreutils"),
        ("df", "coreutils"),
        ("tar", "tar"),
        ("sed", "sed"),
        ("grep", "grep"),
        ("awk", "mawk"),
    ] {
        out.assert_stderr_contains(&format!(
            "`{tool}` (/usr/bin/{tool}) is a BusyBox applet: install the Debian package `{package}`"
        ));
    }
    // Only that check: the others would only fail on the applets' missing options.
    assert_eq!(out.stderr.matches('✗').count(), 1, "{}", out.stderr);
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );
}

#[test]
fn busybox_applets_first_in_the_login_path_are_passed_over() {
    // Every applet in a directory ahead of the system's tools in root's login PATH (root's
    // .bashrc, which bash reads for an SSH command): handover's scripts search the system
    // directories only, so they run the full tools, and the whole window works.
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh(
        "mkdir -p /opt/busybox/bin && busybox --install -s /opt/busybox/bin && sed -i '1i export PATH=/opt/busybox/bin:$PATH' /root/.bashrc",
    );
    let found = host.ssh_as("root", &host.root_password, "command -v find");
    assert_eq!(
        text(&found.stdout).trim(),
        "/opt/busybox/bin/find",
        "root's login PATH does not find BusyBox's applets first"
    );
    let before = host.snapshot();
    lend_use_and_take_back(&host, &ws, &before, &[]);
}
