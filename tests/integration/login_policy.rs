//! The credentials handed over must work: on a hardened host (password logins off, AllowUsers,
//! AllowGroups, DenyUsers, AuthenticationMethods, pam_access), provision either refuses before
//! changing anything, naming the setting and where it is set, or, with `--password-login`,
//! lets the account alone log in with its password, which the vendor then does with OpenSSH,
//! while every other account's settings stay as they were.

use crate::support::{TestHost, Workspace, fingerprint, host_with_root_key, keypair, text};
use std::io::Write;
use std::process::{Command, Stdio};

/// The host's sshd settings for `user` logging in from 192.0.2.1 (`sshd -T -C`), the lines
/// that say who may log in and how.
fn policy_of(host: &TestHost, user: &str) -> String {
    host.sh(&format!(
        "sshd -T -C user={user},host=192.0.2.1,addr=192.0.2.1 | grep -E '^(passwordauthentication|kbdinteractiveauthentication|authenticationmethods|allowusers|allowgroups|denyusers|denygroups) '"
    ))
}

/// Harden the host with `config` (a drop-in read before the rest of sshd's configuration) and
/// reload sshd: the customer's own key login as root keeps working.
fn harden(host: &TestHost, config: &str) {
    host.sh(&format!(
        "printf '%s\\n' '{config}' > /etc/ssh/sshd_config.d/50-hardening.conf && sshd -t && kill -HUP $(cat /run/sshd.pid) && sleep 0.3"
    ));
}

/// `provision root@HOST` with the customer's key and `extra`.
fn provision(ws: &Workspace, host: &TestHost, key: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["-i", key, "--scope", &host.scope];
    args.extend_from_slice(extra);
    ws.provision(&host.target("root"), &args)
}

/// `teardown GRANT --json` with the customer's key: the report (exit 0).
fn revoke(ws: &Workspace, grant: &str, key: &str) -> crate::docs::TeardownReport {
    ws.handover(&["teardown", grant, "-i", key, "--json"])
        .run()
        .expect_code(0)
        .teardown_report()
}

/// Refused at preflight with `needles` in the error, and nothing changed on the host.
#[track_caller]
fn refused(ws: &Workspace, host: &TestHost, key: &str, extra: &[&str], needles: &[&str]) {
    host.refuses(provision(ws, host, key, extra), needles);
}

#[test]
fn password_logins_off_is_refused_or_opened_for_the_account_alone() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    harden(
        &host,
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowUsers root admin",
    );
    refused(
        &ws,
        &host,
        &key,
        &[],
        &[
            "PasswordAuthentication no (set in /etc/ssh/sshd_config.d/50-hardening.conf:1)",
            "AllowUsers lets in only root admin (set in /etc/ssh/sshd_config.d/50-hardening.conf:3)",
            "--password-login",
        ],
    );
    let admin_before = policy_of(&host, &host.admin_user);

    let grant = provision(&ws, &host, &key, &["--password-login", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let account = grant.account();
    // The vendor logs in with OpenSSH and the printed password.
    let out = host.ssh_as(account, grant.password(), "id -un");
    assert_eq!(text(&out.stdout).trim(), account, "{}", text(&out.stderr));
    // And with OpenSSH's sftp and PuTTY's plink (the password from a file, never argv).
    let out = host.sftp_batch(account, grant.password(), "pwd\n");
    assert!(out.status.success(), "sftp: {}", text(&out.stderr));
    let pwfile = ws.file("vendor-password", grant.password());
    let out = Command::new("plink")
        .args(["-batch", "-ssh", "-pwfile", &pwfile])
        .args(["-hostkey", &fingerprint(&host.host_key())])
        .arg(format!("{account}@{}", host.addr))
        .args(["id", "-un"])
        .output()
        .expect("run plink (apt-get install putty-tools)");
    assert_eq!(
        text(&out.stdout).trim(),
        account,
        "plink: {}",
        text(&out.stderr)
    );
    // Nobody else gained anything.
    assert_eq!(policy_of(&host, &host.admin_user), admin_before);
    assert!(!host.logs_in(&host.nopasswd_user, &host.nopasswd_password));

    let report = revoke(&ws, &grant.id, &key);
    assert!(report.verified, "{report}");
    assert_eq!(policy_of(&host, &host.admin_user), admin_before);
    assert!(!host.logs_in(account, grant.password()));
}

#[test]
fn allow_groups_and_authentication_methods_are_named_and_opened() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    // Everyone but root (whose key the customer logs in with) needs a key and a password.
    harden(
        &host,
        "AllowGroups root sudo\nMatch User *,!root\n\tAuthenticationMethods publickey,password",
    );
    refused(
        &ws,
        &host,
        &key,
        &[],
        &[
            "AllowGroups lets in only members of root sudo (set in /etc/ssh/sshd_config.d/50-hardening.conf:1)",
            "AuthenticationMethods publickey,password (set in /etc/ssh/sshd_config.d/50-hardening.conf:3, in a Match block): a password alone is not enough",
        ],
    );
    let grant = provision(&ws, &host, &key, &["--password-login", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let out = host.ssh_as(grant.account(), grant.password(), "id -un");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The admin, a member of sudo, still needs a key and a password.
    assert!(
        policy_of(&host, &host.admin_user).contains("authenticationmethods publickey,password")
    );
    revoke(&ws, &grant.id, &key);
}

#[test]
fn what_the_account_alone_cannot_be_let_through_is_refused_even_with_password_login() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    harden(&host, "DenyUsers support-*");
    let account = ["--account", "support-abc123"];
    refused(
        &ws,
        &host,
        &key,
        &[&account[..], &["--password-login"]].concat(),
        &[
            "DenyUsers `support-*` refuses `support-abc123`",
            "choose another --account name",
        ],
    );
    // pam_access letting in only root and the sudo group, and a login ban.
    host.sh("rm /etc/ssh/sshd_config.d/50-hardening.conf && kill -HUP $(cat /run/sshd.pid)");
    host.sh(
        "sed -i 's/^# *account  *required  *pam_access.so/account required pam_access.so/' /etc/pam.d/sshd && grep -q '^account required pam_access.so' /etc/pam.d/sshd && echo '-:ALL EXCEPT root (sudo):ALL' >> /etc/security/access.conf",
    );
    refused(
        &ws,
        &host,
        &key,
        &["--password-login"],
        &[
            "pam_access (/etc/pam.d/sshd:",
            "-:ALL EXCEPT root (sudo):ALL",
        ],
    );
    host.sh("touch /etc/nologin");
    refused(&ws, &host, &key, &[], &["/etc/nologin exists"]);
}

/// Where sshd asks for passwords through PAM only (keyboard-interactive), the host lets the
/// account in: provision logs in that way before handing the credentials over, and so does the
/// vendor's OpenSSH client.
#[test]
fn a_host_asking_for_passwords_through_pam_only_is_proven_by_keyboard_interactive() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    harden(
        &host,
        "PasswordAuthentication no\nKbdInteractiveAuthentication yes",
    );
    // OpenSSH before 8.7 (Debian 11's 8.4, which still prints the keyword) asks PAM for the
    // password over keyboard-interactive only with ChallengeResponseAuthentication yes too:
    // without it no password logs in. Preflight took the host for one that lets the account
    // in, and the login as the vendor failed after every change; now preflight says so.
    if host
        .sh("sshd -T")
        .lines()
        .any(|l| l == "challengeresponseauthentication no")
    {
        host.refuses(
            provision(&ws, &host, &key, &[]),
            &["ChallengeResponseAuthentication no", "no password logins"],
        );
        harden(
            &host,
            "PasswordAuthentication no\nKbdInteractiveAuthentication yes\nChallengeResponseAuthentication yes",
        );
    }
    let out = provision(&ws, &host, &key, &["--json"])
        .run()
        .expect_code(0);
    assert!(
        out.stderr.contains("logging in as `"),
        "the login was not tried:\n{}",
        out.stderr
    );
    let grant = out.provisioned();
    let ok = host.ssh_as(grant.account(), grant.password(), "true");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    revoke(&ws, &grant.id, &key);
}

/// A refusal preflight cannot see (a PAM rule it does not read) is caught by the login as the
/// vendor: everything is rolled back and no credentials go out.
#[test]
fn a_login_the_host_refuses_rolls_the_grant_back_before_the_credentials_go_out() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    // Only system accounts (and root, with its key) may log in.
    host.sh("sed -i '1i account required pam_succeed_if.so uid < 1000' /etc/pam.d/sshd");
    let out = provision(&ws, &host, &key, &["--account", "support-proof1"])
        .run()
        .expect_code(1);
    for needle in ["the login as the vendor", "support-proof1", "rolled back"] {
        assert!(
            out.stderr.contains(needle),
            "`{needle}` missing:\n{}",
            out.stderr
        );
    }
    assert!(
        !out.stdout.contains("password"),
        "credentials went out:\n{}",
        out.stdout
    );
    assert!(!host.has_account("support-proof1"), "the account was left");
}

/// With `--allow-from` leaving out this machine, the login cannot be tried from here: the
/// customer is told, and the settings check stands.
#[test]
fn a_login_from_elsewhere_only_is_not_tried_and_the_customer_is_told() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    let grant = provision(
        &ws,
        &host,
        &key,
        &["--allow-from", "192.0.2.0/24", "--json"],
    )
    .run()
    .expect_code(0)
    .provisioned();
    assert!(
        grant
            .warnings
            .iter()
            .any(|w| w.contains("was not tried from here") && w.contains(&host.gateway)),
        "{:?}",
        grant.warnings
    );
    revoke(&ws, &grant.id, &key);
}

/// A lent password the host would refuse over SSH is refused at preflight: lending it would hand
/// over a password that does not work.
#[test]
fn a_lent_account_the_host_refuses_is_named_at_preflight() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    harden(&host, "DenyUsers admin\nPermitRootLogin prohibit-password");
    let before = host.snapshot();
    for (lent, extra, needle) in [
        ("admin", &[][..], "DenyUsers `admin` refuses `admin`"),
        (
            "root",
            &["--allow-root-rotation"][..],
            "PermitRootLogin without-password (set in /etc/ssh/sshd_config.d/50-hardening.conf:2): root may not log in with a password",
        ),
    ] {
        let mut args = vec!["-i", &key, "--playbook", "lend", "--rotate", lent];
        args.extend_from_slice(extra);
        let out = ws
            .provision(&host.target("root"), &args)
            .run()
            .expect_code(1);
        for n in [
            "nothing was changed",
            "the lent password would not work",
            needle,
        ] {
            assert!(out.stderr.contains(n), "`{n}` missing:\n{}", out.stderr);
        }
    }
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );
}

/// OpenSSH client options for logging in with the key at `key` alone.
fn key_options(key: &std::path::Path) -> Vec<String> {
    let mut args = vec!["-i".to_owned(), key.display().to_string()];
    for option in [
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
        "BatchMode=yes",
        "ConnectTimeout=10",
    ] {
        args.extend(["-o".to_owned(), option.to_owned()]);
    }
    args
}

/// `program` (ssh, or sftp when `args` start with `-b`) with `key` as `login` on `host`,
/// `args` after the target (sftp's before it), `stdin` fed to it.
fn with_key(
    program: &str,
    key: &std::path::Path,
    login: &str,
    host: &TestHost,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    let (before, after) = if program == "sftp" {
        (args, &[][..])
    } else {
        (&[][..], args)
    };
    let mut child = Command::new(program)
        .args(key_options(key))
        .args(before)
        .arg(format!("{login}@{}", host.addr))
        .args(after)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the OpenSSH client");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait")
}

/// The vendor's own key, on a host that takes keys only: the account logs in with it through
/// OpenSSH's ssh and sftp and PuTTY's plink, from a file it cannot change (keys it adds to its
/// own home are not read); a root-level account's password still works for sudo; teardown
/// removes the key.
#[test]
fn a_vendor_key_logs_in_where_passwords_are_refused() {
    let Some((host, ws, key)) = host_with_root_key() else {
        return;
    };
    harden(
        &host,
        "PasswordAuthentication no\nKbdInteractiveAuthentication no",
    );
    let (vendor, public) = keypair(ws.dir.path(), "id_vendor", "");
    let vendor_pub = ws.file("vendor.pub", &public);
    let grant = provision(
        &ws,
        &host,
        &key,
        &["--level", "root", "--vendor-key", &vendor_pub, "--json"],
    )
    .run()
    .expect_code(0)
    .provisioned();
    let account = grant.account();
    assert_eq!(grant.vendor_key, Some(fingerprint(&public)));
    let key_file = format!("/etc/ssh/handover-keys/{account}");
    assert_eq!(
        host.sh(&format!("stat -c %U:%a {key_file}")).trim(),
        "root:644"
    );
    assert!(
        host.sh(&format!("cat {key_file}"))
            .starts_with("restrict,pty ssh-ed25519 ")
    );

    let out = with_key("ssh", &vendor, account, &host, &["id", "-un"], "");
    assert_eq!(text(&out.stdout).trim(), account, "{}", text(&out.stderr));
    // The password is for sudo.
    let out = with_key(
        "ssh",
        &vendor,
        account,
        &host,
        &["sudo", "-S", "-p", "''", "id", "-u"],
        &format!("{}\n", grant.password()),
    );
    assert_eq!(text(&out.stdout).trim(), "0", "{}", text(&out.stderr));
    let out = with_key("sftp", &vendor, account, &host, &["-b", "-"], "pwd\n");
    assert!(out.status.success(), "sftp: {}", text(&out.stderr));
    // PuTTY's plink, with the key converted by puttygen and the host key given by fingerprint.
    let ppk = ws.dir.path().join("id_vendor.ppk");
    let converted = Command::new("puttygen")
        .arg(&vendor)
        .args(["-O", "private", "-o"])
        .arg(&ppk)
        .output()
        .expect("run puttygen (apt-get install putty-tools)");
    assert!(converted.status.success(), "{}", text(&converted.stderr));
    let out = Command::new("plink")
        .args(["-batch", "-ssh", "-i"])
        .arg(&ppk)
        .args(["-hostkey", &fingerprint(&host.host_key())])
        .arg(format!("{account}@{}", host.addr))
        .args(["id", "-un"])
        .output()
        .expect("run plink (apt-get install putty-tools)");
    assert_eq!(
        text(&out.stdout).trim(),
        account,
        "plink: {}",
        text(&out.stderr)
    );

    // A key the account adds to its own home opens nothing.
    let (other, other_public) = keypair(ws.dir.path(), "id_other", "");
    let out = with_key(
        "ssh",
        &vendor,
        account,
        &host,
        &[
            "sh",
            "-c",
            "'mkdir -p ~/.ssh && cat >> ~/.ssh/authorized_keys'",
        ],
        &format!("{other_public}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !with_key("ssh", &other, account, &host, &["true"], "")
            .status
            .success()
    );

    let report = revoke(&ws, &grant.id, &key);
    assert!(report.verified, "{report}");
    assert!(
        !host.ok(&format!("test -e {key_file}")),
        "the key file was left"
    );
    assert!(
        !with_key("ssh", &vendor, account, &host, &["true"], "")
            .status
            .success()
    );
}
