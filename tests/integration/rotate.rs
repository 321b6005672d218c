//! Lending an existing account: its password is rotated for the window, then restored or
//! rotated again, and the sessions opened meanwhile are ended.

use crate::support::{TestHost, Workspace, host_tests_enabled, trusted_host};

fn logs_in(host: &TestHost, user: &str, password: &str) -> bool {
    host.ssh_as(user, password, "true").status.success()
}

#[test]
fn a_lent_password_is_rotated_for_the_window_and_restored() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let admin = host.admin_user.clone();
    let original = host.admin_password.clone();
    // The customer's own session, from before the window, must survive teardown.
    host.sh(&format!(
        "runuser -u {admin} -- sh -c 'nohup sleep 601 >/dev/null 2>&1 &'"
    ));
    let shadow_before = host.sh(&format!("getent shadow {admin}"));

    let out = ws
        .provision_as_root(&host, &["--playbook", "lend", "--rotate", &admin, "--json"])
        .run()
        .expect_code(0);
    let json = out.json();
    assert!(
        json["account"].is_null() && json["password"].is_null(),
        "lend creates no account: {json}"
    );
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    assert!(
        !logs_in(&host, &admin, &original),
        "the original password still works during the window"
    );
    assert!(
        logs_in(&host, &admin, &lent),
        "the lent password does not work"
    );
    let record = std::fs::read_to_string(ws.state_dir().join(format!("grants/{grant}.json")))
        .expect("record");
    assert!(
        !record.contains(&lent),
        "the lent password is in the record"
    );

    // A session the vendor started during the window.
    host.sh(&format!(
        "runuser -u {admin} -- sh -c 'nohup sleep 602 >/dev/null 2>&1 &'"
    ));
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);

    assert!(
        logs_in(&host, &admin, &original),
        "the original password was not restored"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password still works"
    );
    assert_eq!(
        shadow_before,
        host.sh(&format!("getent shadow {admin}")),
        "the shadow entry is not as before"
    );
    assert!(
        !host.ok("pgrep -f 'slee[p] 602'"),
        "the vendor's session survived"
    );
    assert!(
        host.ok("pgrep -f 'slee[p] 601'"),
        "the customer's own session was killed"
    );
}

#[test]
fn after_rotate_neither_old_nor_lent_password_works() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let admin = host.admin_user.clone();
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--rotate",
                &admin,
                "--after",
                "rotate",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    assert!(
        json["password"].is_string(),
        "the temporary account still gets its own password"
    );

    let out = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let fresh = out.json()["new_passwords"][&admin]
        .as_str()
        .expect("new password")
        .to_owned();
    assert!(
        !logs_in(&host, &admin, &host.admin_password),
        "the old password works after rotate"
    );
    assert!(
        !logs_in(&host, &admin, &lent),
        "the lent password works after rotate"
    );
    assert!(
        logs_in(&host, &admin, &fresh),
        "the new password from teardown does not work"
    );
}

#[test]
fn rotating_root_needs_the_explicit_flag() {
    let ws = Workspace::new();
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--playbook", "lend", "--rotate", "root"],
        )
        .run()
        .expect_code(2);
    assert!(
        out.stderr.contains("--allow-root-rotation"),
        "{}",
        out.stderr
    );
    let out = ws
        .provision(
            "root@127.0.0.1:9",
            &["--playbook", "lend", "--rotate", "bad;name"],
        )
        .run()
        .expect_code(2);
    assert!(out.stderr.contains("--rotate"), "{}", out.stderr);
}

#[test]
fn at_the_ttl_the_host_itself_restores_a_lent_password() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("atd").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let admin = host.admin_user.clone();
    let shadow_before = host.sh(&format!("getent shadow {admin}"));
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "lend",
                "--rotate",
                &admin,
                "--ttl",
                "8s",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let lent = json["lent"][&admin]
        .as_str()
        .expect("lent password")
        .to_owned();
    assert!(logs_in(&host, &admin, &lent));
    // Nobody runs teardown: the host's own job puts the original back (not a lock).
    let mut restored = false;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if host.sh(&format!("getent shadow {admin}")) == shadow_before {
            restored = true;
            break;
        }
    }
    assert!(
        restored,
        "the host did not restore the lent password by itself"
    );
    assert!(
        logs_in(&host, &admin, &host.admin_password),
        "the original password does not work"
    );
    assert!(
        !host.ok(&format!("test -e /var/lib/handover/{grant}-lent")),
        "the copy of the hash was left"
    );
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
}
