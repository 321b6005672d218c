//! The credentials handed over must work: on a hardened host (password logins off, AllowUsers,
//! AllowGroups, DenyUsers, AuthenticationMethods, pam_access), provision either refuses before
//! changing anything, naming the setting and where it is set, or, with `--password-login`,
//! lets the account alone log in with its password, which the vendor then does with OpenSSH,
//! while every other account's settings stay as they were.

use crate::support::{TestHost, Workspace, host_with_root_key, text};

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
    let before = host.snapshot();
    let out = provision(ws, host, key, extra).run().expect_code(1);
    for needle in ["preflight", "nothing was changed"].iter().chain(needles) {
        assert!(
            out.stderr.contains(needle),
            "`{needle}` missing:\n{}",
            out.stderr
        );
    }
    assert_eq!(
        before,
        host.snapshot(),
        "a refused provision changed the host"
    );
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
