//! `handover suspend` and `resume` (GitHub issue #21) on real hosts: the vendor's session ends
//! and its logins are refused while nothing is removed; resume opens everything again as it
//! was; a suspended grant tears down verified. The database and WordPress accounts of a grant
//! are locked and unlocked with it.

use crate::database::{mariadb_script, psql_script};
use crate::support::{TestHost, WP, trusted_host, wordpress};
use crate::wp_admin::{logs_in, opens_users_page};
use std::time::{Duration, Instant};

#[test]
fn suspend_ends_the_vendors_session_refuses_logins_and_removes_nothing() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--playbook", "linux-root", "--record", "off"]);
    let (account, password) = (grant.account().to_owned(), grant.password().to_owned());
    let uid = host.uid_of(&account);
    let mut session = host.spawn_ssh(&account, &password, "sleep 600");
    assert!(
        host.process_starts(&uid, "sleep"),
        "the vendor's session did not start"
    );
    host.leave_running(&account, "sleep 700");
    let sudoers = host.sh(&format!("ls /etc/sudoers.d | grep {} || true", grant.id));
    assert!(
        !sudoers.trim().is_empty(),
        "linux-root gives a sudoers rule"
    );

    let report = ws
        .handover(&["suspend", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    assert_eq!(report["state"], "suspended", "{report}");
    assert_eq!(report["verified"], true, "{report}");
    // The open session ended, and nothing of the account runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    while session.try_wait().expect("wait for ssh").is_none() {
        assert!(
            Instant::now() < deadline,
            "the vendor's session outlived suspend"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!host.ok(&format!("pgrep -u {uid}")));
    assert!(
        !host.logs_in(&account, &password),
        "a suspended account logs in"
    );
    // Nothing removed: the account, its home, its sudoers rule.
    assert!(host.has_account(&account));
    assert!(host.ok(&format!("test -d /home/{account}")));
    assert_eq!(
        host.sh(&format!("ls /etc/sudoers.d | grep {} || true", grant.id)),
        sudoers
    );
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["state"], "suspended", "{shown}");
    // Suspending again is harmless; extending a suspended grant would reopen its expiry.
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    ws.handover(&["extend", &grant.id, "--ttl", "2h"])
        .with_root_password(&host)
        .run()
        .expect_code(2)
        .assert_stderr_contains("resume it first");

    ws.handover(&["resume", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .assert_stdout_contains("active again");
    assert!(
        host.logs_in(&account, &password),
        "resume did not reopen the account"
    );
    ws.handover(&["resume", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(2);

    // A suspended grant tears down, verified.
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    assert!(!host.has_account(&account));
}

/// The grant's database accounts are locked with it, their connections ended, and unlocked
/// at resume: MariaDB (`ACCOUNT LOCK`) and PostgreSQL (`NOLOGIN`).
#[test]
fn database_accounts_are_locked_and_unlocked_with_the_grant() {
    let Some((host, ws)) = TestHost::builder()
        .service("mariadb")
        .service("postgresql")
        .service("cron")
        .trusted()
    else {
        return;
    };
    for (engine, query) in [
        ("mysql", mariadb_script as fn(&str, &str, &str) -> String),
        ("postgres", |u: &str, p: &str, sql: &str| {
            psql_script(u, p, "cms", sql)
        }),
    ] {
        let grant = ws.grant(
            &host,
            &["--db", engine, "--db-name", "cms", "--record", "off"],
        );
        let db = grant.database();
        let (user, password) = (db.user.clone(), db.password.clone().expect("a password"));
        let logs_in = || {
            host.exec_stdin(&query(&user, &password, "SELECT 1;"))
                .status
                .success()
        };
        assert!(logs_in(), "{engine}: the database account does not work");
        ws.handover(&["suspend", &grant.id])
            .with_root_password(&host)
            .run()
            .expect_code(0);
        assert!(!logs_in(), "{engine}: a suspended database account logs in");
        ws.handover(&["resume", &grant.id])
            .with_root_password(&host)
            .run()
            .expect_code(0);
        assert!(
            logs_in(),
            "{engine}: resume did not unlock the database account"
        );
        ws.revoke(&host, &grant.id);
    }
}

/// A temporary WordPress administrator: suspend ends its logins and refuses its password,
/// resume lets it log in again with the same password.
#[test]
fn a_wordpress_administrator_is_locked_out_and_let_back_in() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "wordpress-admin",
                "--scope",
                WP,
                "--json",
                "--record",
                "off",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let cms = &grant.cms_accounts[0];
    let jar = ws.dir.path().join("cookies");
    let password = cms.password.clone().expect("a password");
    assert!(logs_in(&host, "/", &jar, &cms.user, &password));
    assert!(opens_users_page(&host, "/", &jar));
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        !opens_users_page(&host, "/", &jar),
        "its login outlived suspend"
    );
    let again = ws.dir.path().join("cookies2");
    assert!(!logs_in(&host, "/", &again, &cms.user, &password));
    ws.handover(&["resume", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let after = ws.dir.path().join("cookies3");
    assert!(logs_in(&host, "/", &after, &cms.user, &password));
    assert!(opens_users_page(&host, "/", &after));
    ws.revoke(&host, &grant.id);
}

/// A lent account: suspend locks the lent password and ends the window's session, resume
/// unlocks it, teardown still gives the original back. A grant lending a database account is
/// refused before any change: locking it would lock the site out.
#[test]
fn a_lent_password_is_locked_and_a_lent_database_account_is_refused() {
    let Some((host, ws)) = TestHost::builder()
        .service("mariadb")
        .service("cron")
        .trusted()
    else {
        return;
    };
    let grant = ws.lend(&host, &host.admin_user, &[]);
    let lent = grant.lent(&host.admin_user).to_owned();
    let uid = host.uid_of(&host.admin_user);
    let mut session = host.spawn_ssh(&host.admin_user, &lent, "sleep 600");
    assert!(host.process_starts(&uid, "sleep"));
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while session.try_wait().expect("wait for ssh").is_none() {
        assert!(
            Instant::now() < deadline,
            "the window's session outlived suspend"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!host.logs_in(&host.admin_user, &lent));
    ws.handover(&["resume", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(host.logs_in(&host.admin_user, &lent));
    ws.revoke(&host, &grant.id);
    assert!(host.logs_in(&host.admin_user, &host.admin_password));

    host.sh("mariadb -e \"CREATE USER cmsuser@localhost IDENTIFIED BY 'app-pass'\"");
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "lend",
                "--rotate-db-user",
                "cmsuser",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let before = host.snapshot();
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(2)
        .assert_stderr_contains("without locking out the site");
    assert_eq!(
        host.snapshot(),
        before,
        "a refused suspend changed the host"
    );
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["state"], "active", "{shown}");
    ws.revoke(&host, &grant.id);
}
