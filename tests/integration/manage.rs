//! Managing an open window (GitHub issue #21) on real hosts. `suspend` and `resume`: the
//! vendor's session ends and its logins are refused while nothing is removed; resume opens
//! everything again as it was; a suspended grant tears down verified; the database and
//! WordPress accounts of a grant are locked and unlocked with it. `rotate`: new passwords, the
//! old ones refused, their sessions ended, printed or sealed.

use crate::database::{mariadb_script, psql_script};
use crate::docs::labelled;
use crate::seal::age_decrypt;
use crate::support::{TestHost, WP, keygen, trusted_host, wordpress};
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
    // A new password: the old one and its login are refused, the new one works.
    let rotated = ws
        .handover(&["rotate", &grant.id, "--only", "wordpress", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let new = rotated["cms_accounts"][0]["password"]
        .as_str()
        .expect("the new password")
        .to_owned();
    assert!(
        !opens_users_page(&host, "/", &after),
        "the old login outlived rotate"
    );
    assert!(!logs_in(
        &host,
        "/",
        &ws.dir.path().join("c4"),
        &cms.user,
        &password
    ));
    assert!(logs_in(
        &host,
        "/",
        &ws.dir.path().join("c5"),
        &cms.user,
        &new
    ));
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
    // A new window's password for the lent account; teardown still gives the original back.
    let rotated = ws
        .handover(&["rotate", &grant.id, "--only", &host.admin_user, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let new = rotated["lent"][&host.admin_user]
        .as_str()
        .expect("the new lent password")
        .to_owned();
    assert!(!host.logs_in(&host.admin_user, &lent) && host.logs_in(&host.admin_user, &new));
    ws.revoke(&host, &grant.id);
    assert!(host.logs_in(&host.admin_user, &host.admin_password));
    assert!(!host.logs_in(&host.admin_user, &new));

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

/// `rotate`: every login of the grant gets a new password, the old ones are refused and the
/// session opened with one ends; `--only` picks one; sealed, only the vendor's key opens them.
#[test]
fn rotate_refuses_the_old_passwords_ends_their_sessions_and_hands_over_new_ones() {
    let Some((host, ws)) = TestHost::builder()
        .service("postgresql")
        .service("cron")
        .trusted()
    else {
        return;
    };
    let grant = ws.grant(
        &host,
        &["--db", "postgres", "--db-name", "cms", "--record", "off"],
    );
    let account = grant.account().to_owned();
    let old = grant.password().to_owned();
    let db = grant.database();
    let old_db = db.password.clone().expect("a password");
    let db_logs_in = |password: &str| {
        host.exec_stdin(&psql_script(&db.user, password, "cms", "SELECT 1;"))
            .status
            .success()
    };
    let uid = host.uid_of(&account);
    let mut session = host.spawn_ssh(&account, &old, "sleep 600");
    assert!(host.process_starts(&uid, "sleep"));

    let rotated = ws
        .handover(&["rotate", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    assert_eq!(
        rotated["rotated"],
        serde_json::json!(["account", "db"]),
        "{rotated}"
    );
    assert_eq!(rotated["verified"], true, "{rotated}");
    let new = rotated["password"]
        .as_str()
        .expect("the new password")
        .to_owned();
    let new_db = rotated["databases"][0]["password"]
        .as_str()
        .expect("the new database password")
        .to_owned();
    assert!(new != old && new_db != old_db);
    let deadline = Instant::now() + Duration::from_secs(10);
    while session.try_wait().expect("wait for ssh").is_none() {
        assert!(
            Instant::now() < deadline,
            "the old password's session outlived rotate"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !host.logs_in(&account, &old),
        "the old password still works"
    );
    assert!(
        host.logs_in(&account, &new),
        "the new password does not work"
    );
    assert!(!db_logs_in(&old_db) && db_logs_in(&new_db));

    // Only the database account, sealed to the vendor's key: the account's password stays.
    let key = keygen(ws.dir.path(), "vendor", &["-t", "ed25519"]);
    let public = key.with_extension("pub");
    let out = ws
        .handover(&[
            "rotate",
            &grant.id,
            "--only",
            "db",
            "--seal-to",
            public.to_str().expect("utf-8"),
        ])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        out.stdout.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{}",
        out.stdout
    );
    let doc = age_decrypt(&key, out.stdout.as_bytes());
    let sealed_db = labelled(&doc, "db pass").to_owned();
    assert!(db_logs_in(&sealed_db) && !db_logs_in(&new_db));
    assert!(
        host.logs_in(&account, &new),
        "--only db changed the account's password"
    );

    // A name the grant has no login of is refused, naming those it has.
    ws.handover(&["rotate", &grant.id, "--only", "wordpress"])
        .with_root_password(&host)
        .run()
        .expect_code(2)
        .assert_stderr_contains("account, db");
    ws.revoke(&host, &grant.id);
}

/// A batch id suspends and resumes every grant of the batch, each verified on its own host.
#[test]
fn a_batch_is_suspended_and_resumed_grant_by_grant() {
    let Some((hosts, ws, key)) = crate::support::hosts_with_root_key(2) else {
        return;
    };
    let batch = ws.batch_of(&hosts, &key, &["--record", "off"]);
    let logins: Vec<(String, String)> = batch
        .hosts
        .iter()
        .map(|h| {
            (
                h.account.clone().expect("an account"),
                h.password.clone().expect("a password"),
            )
        })
        .collect();
    let suspended = ws
        .handover(&["suspend", &batch.batch, "-i", &key, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(suspended["ok"], true, "{suspended}");
    let grants = suspended["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 2, "{suspended}");
    for grant in grants {
        assert_eq!(grant["state"], "suspended", "{grant}");
    }
    for (host, (account, password)) in hosts.iter().zip(&logins) {
        assert!(
            !host.logs_in(account, password),
            "a suspended grant's account logs in"
        );
    }
    let human = ws
        .handover(&["resume", &batch.batch, "-i", &key])
        .run()
        .expect_code(0)
        .stdout;
    assert!(human.contains("2 of 2 grants resumed"), "{human}");
    for (host, (account, password)) in hosts.iter().zip(&logins) {
        assert!(
            host.logs_in(account, password),
            "resume did not reopen a grant"
        );
    }
    ws.handover(&["teardown", &batch.batch, "-i", &key])
        .run()
        .expect_code(0);
}

/// The expiry guard works on a suspended grant: at the TTL the host removes the locked account
/// as it would an open one, and a later teardown verifies it gone.
#[test]
fn the_expiry_guard_removes_a_suspended_grant_at_its_ttl() {
    let Some((host, ws)) = TestHost::builder().service("atd").trusted() else {
        return;
    };
    let grant = ws.grant(&host, &["--ttl", "20s", "--record", "off"]);
    let account = grant.account().to_owned();
    ws.handover(&["suspend", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(host.has_account(&account), "suspend removed the account");
    let deadline = Instant::now() + Duration::from_secs(80);
    while host.has_account(&account) {
        assert!(
            Instant::now() < deadline,
            "the suspended grant outlived its expiry"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(!host.ok(&format!("test -e /home/{account}")));
    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
}
