//! Database access against real MariaDB and PostgreSQL servers running inside the test host
//! (`scripts/testhost up --service mariadb|postgresql`): a temporary account for one
//! database, the database name read from a CMS config, lending an existing MariaDB account,
//! and the administrator's password — with every secret kept out of the record, the log and
//! the host's process list.

use crate::support::{TestHost, Workspace, host_tests_enabled};
use std::process::Output;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A MariaDB option file for `user` with `password` (double-quoted, escaped).
fn my_option_file(user: &str, password: &str) -> String {
    format!(
        "[client]\nuser={user}\npassword=\"{}\"\n",
        password.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// A `sh` script running `sql` with the MariaDB client as `user`/`password`; the password
/// travels in an option file on fd 3 (a here-document), never in argv or the environment.
fn mariadb_script(user: &str, password: &str, sql: &str) -> String {
    format!(
        "mariadb --defaults-extra-file=/dev/fd/3 -N -B 3<<'OPT' <<'SQL'\n{}OPT\n{sql}\nSQL\n",
        my_option_file(user, password)
    )
}

/// Run SQL on the host as a plain database user (from the host itself, as root's shell: the
/// account logs in by password, root's unix-socket login is not involved).
fn mariadb_as(host: &TestHost, user: &str, password: &str, sql: &str) -> Output {
    host.exec_stdin(&mariadb_script(user, password, sql))
}

/// A `sh` script running `sql` with psql over TCP on localhost as `user`/`password`, the
/// password in a service file on fd 3.
fn psql_script(user: &str, password: &str, db: &str, sql: &str) -> String {
    format!(
        "PGSERVICEFILE=/dev/fd/3 psql -X -w -A -t -v ON_ERROR_STOP=1 service=t 3<<'OPT' <<'SQL'\n[t]\nhost=localhost\nuser={user}\ndbname={db}\npassword={password}\nOPT\n{sql}\nSQL\n"
    )
}

/// Record, every 20 ms until stopped, what `ps` shows and every process's environment.
struct ProcessWatch<'a> {
    host: &'a TestHost,
}

impl<'a> ProcessWatch<'a> {
    fn start(host: &'a TestHost) -> Self {
        host.sh(
            "rm -f /tmp/watch.stop /tmp/watch.log; nohup sh -c 'while [ ! -e /tmp/watch.stop ]; do ps -eo args; for f in /proc/[0-9]*/environ; do tr \"\\000\" \"\\n\" < \"$f\" 2>/dev/null; done; sleep 0.02; done' >/tmp/watch.log 2>/dev/null </dev/null &",
        );
        ProcessWatch { host }
    }

    /// Stop and return what was seen.
    fn stop(self) -> String {
        self.host.sh("touch /tmp/watch.stop; sleep 0.1");
        let seen = self.host.sh("cat /tmp/watch.log");
        assert!(
            seen.contains("ps -eo args"),
            "the process watch did not run"
        );
        seen
    }
}

/// Assert none of `secrets` appears in `haystack` (named `what`).
#[track_caller]
fn assert_absent(what: &str, haystack: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!haystack.contains(secret), "a secret appears in {what}");
    }
}

fn record_text(ws: &Workspace, grant: &str) -> String {
    std::fs::read_to_string(ws.state_dir().join(format!("grants/{grant}.json"))).expect("record")
}

fn field(json: &serde_json::Value, path: &[&str]) -> String {
    let mut v = json;
    for p in path {
        v = if let Ok(i) = p.parse::<usize>() {
            &v[i]
        } else {
            &v[*p]
        };
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no {path:?} in {json}"))
        .to_owned()
}

#[test]
fn a_mariadb_account_for_one_database_then_nothing_left() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("mariadb").service("cron").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let watch = ProcessWatch::start(&host);
    let provisioned = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--db",
                "mysql",
                "--db-name",
                "cms",
                "--json",
                "-v",
            ],
        )
        .run()
        .expect_code(0);
    let json = provisioned.json();
    let grant = field(&json, &["grant"]);
    let account = field(&json, &["account"]);
    let password = field(&json, &["password"]);
    let db_password = field(&json, &["databases", "0", "password"]);
    assert_eq!(field(&json, &["databases", "0", "user"]), account);
    assert_eq!(field(&json, &["databases", "0", "database"]), "cms");
    assert!(
        provisioned.stderr.contains("executions=2"),
        "provision takes 2 remote executions:\n{}",
        provisioned.stderr
    );

    // The vendor, logged in over SSH, uses the database with the printed password.
    let vendor = |sql: &str| {
        host.ssh_as_with_stdin(
            &account,
            &password,
            "sh -s",
            mariadb_script(&account, &db_password, sql).as_bytes(),
        )
    };
    let out = vendor(
        "SELECT title FROM cms.pages WHERE id = 1; INSERT INTO cms.pages VALUES (2, 'fixed'); CREATE TABLE cms.vendor_notes (t TEXT); SHOW DATABASES;",
    );
    let seen = text(&out);
    assert!(out.status.success(), "the vendor cannot use cms: {seen}");
    assert!(seen.contains("home"), "{seen}");
    assert!(
        !seen.contains("other"),
        "the vendor sees the other database:\n{seen}"
    );
    let out = vendor("SELECT * FROM other.secrets;");
    assert!(!out.status.success(), "the vendor reads another database");
    assert!(!text(&out).contains("not for the vendor"));
    let out = vendor("CREATE DATABASE vendor_db;");
    assert!(!out.status.success(), "the vendor can create databases");
    // Reachable from the host itself only: one account, at localhost.
    assert_eq!(
        host.sh(&format!(
            "mariadb -N -B -e \"SELECT Host FROM mysql.user WHERE User = '{account}'\""
        ))
        .trim(),
        "localhost"
    );

    // A connection the vendor keeps open must not outlive the grant.
    in_background(
        &host,
        &mariadb_script(&account, &db_password, "SELECT SLEEP(600);"),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        host.sh(&format!(
            "mariadb -N -B -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{account}'\""
        ))
        .trim()
            != "0",
        "the vendor's connection did not start"
    );

    let torn = ws
        .handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        torn.stdout.contains("no MariaDB/MySQL account named"),
        "{}",
        torn.stdout
    );
    let seen_on_host = watch.stop();

    assert_eq!(
        host.sh(&format!(
            "mariadb -N -B -e \"SELECT COUNT(*) FROM mysql.user WHERE User = '{account}'; SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{account}'\""
        )),
        "0\n0\n",
        "the account or its connection is left"
    );
    assert!(
        !mariadb_as(&host, &account, &db_password, "SELECT 1;")
            .status
            .success(),
        "the database password still logs in"
    );
    // The customer's data stays, including what the vendor added.
    assert_eq!(
        host.sh("mariadb -N -B -e 'SELECT COUNT(*) FROM cms.pages; SHOW TABLES FROM cms'"),
        "2\npages\nvendor_notes\n"
    );

    let record = record_text(&ws, &grant);
    for (what, haystack) in [
        ("the record", record.as_str()),
        ("provision's log", provisioned.stderr.as_str()),
        (
            "teardown's output",
            &format!("{}{}", torn.stdout, torn.stderr),
        ),
        ("the host's process list", &seen_on_host),
    ] {
        assert_absent(what, haystack, &[&db_password, &password]);
    }
}

/// Run `script` in the background on the host; it travels on stdin into a root-only file,
/// so no secret it holds reaches a command line.
fn in_background(host: &TestHost, script: &str) {
    let out = host.exec_stdin(&format!(
        "f=$(mktemp /root/bg.XXXXXX)\ncat > \"$f\" <<'BACKGROUND_END'\n{script}BACKGROUND_END\nnohup sh \"$f\" >/dev/null 2>&1 </dev/null &\n"
    ));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_postgres_role_for_one_database_then_nothing_left() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder()
        .service("postgresql")
        .service("cron")
        .up();
    let ws = Workspace::new();
    ws.trust(&host);
    let watch = ProcessWatch::start(&host);
    let provisioned = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "postgres-role",
                "--param",
                "database=cms",
                "--ttl",
                "2h",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = provisioned.json();
    let grant = field(&json, &["grant"]);
    let account = field(&json, &["account"]);
    let password = field(&json, &["password"]);
    let db_password = field(&json, &["databases", "0", "password"]);
    assert_eq!(field(&json, &["databases", "0", "engine"]), "postgres");

    let vendor = |db: &str, sql: &str| {
        host.ssh_as_with_stdin(
            &account,
            &password,
            "sh -s",
            psql_script(&account, &db_password, db, sql).as_bytes(),
        )
    };
    let out = vendor(
        "cms",
        "SELECT title FROM pages WHERE id = 1; INSERT INTO pages VALUES (2, 'fixed'); CREATE TABLE vendor_notes (t text); INSERT INTO vendor_notes VALUES ('kept');",
    );
    assert!(
        out.status.success(),
        "the vendor cannot use cms: {}",
        text(&out)
    );
    assert!(text(&out).contains("home"));
    let out = vendor("other", "SELECT * FROM secrets;");
    assert!(!out.status.success(), "the vendor reads another database");
    assert!(!text(&out).contains("not for the vendor"));
    let out = vendor("cms", "CREATE ROLE x; ");
    assert!(!out.status.success(), "the vendor can create roles");
    let until = host.sh(&format!(
        "cd / && runuser -u postgres -- psql -X -A -t -c \"SELECT rolvaliduntil IS NOT NULL AND rolvaliduntil < now() + interval '3 hours' FROM pg_roles WHERE rolname = '{account}'\""
    ));
    assert_eq!(until.trim(), "t", "the role does not expire with the grant");

    // A session the vendor keeps open must not outlive the grant.
    in_background(
        &host,
        &psql_script(&account, &db_password, "cms", "SELECT pg_sleep(600);"),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));

    let torn = ws
        .handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let seen_on_host = watch.stop();
    assert_eq!(
        host.sh(&format!(
            "cd / && runuser -u postgres -- psql -X -A -t -c \"SELECT count(*) FROM pg_roles WHERE rolname = '{account}'\" -c \"SELECT count(*) FROM pg_stat_activity WHERE usename = '{account}'\""
        )),
        "0\n0\n",
        "the role or its session is left"
    );
    assert!(
        !host
            .exec_stdin(&psql_script(&account, &db_password, "cms", "SELECT 1;"))
            .status
            .success(),
        "the database password still logs in"
    );
    // What the vendor created belongs to the database's owner now; nothing was dropped.
    assert_eq!(
        host.sh("cd / && runuser -u postgres -- psql -X -A -t -d cms -c \"SELECT tableowner FROM pg_tables WHERE tablename = 'vendor_notes'\" -c 'SELECT t FROM vendor_notes' -c 'SELECT count(*) FROM pages'"),
        "cmsowner\nkept\n2\n"
    );
    let record = record_text(&ws, &grant);
    for (what, haystack) in [
        ("the record", record.as_str()),
        ("provision's log", provisioned.stderr.as_str()),
        (
            "teardown's output",
            &format!("{}{}", torn.stdout, torn.stderr),
        ),
        ("the host's process list", &seen_on_host),
    ] {
        assert_absent(what, haystack, &[&db_password, &password]);
    }
}

#[test]
fn the_database_name_comes_from_the_cms_config() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("mariadb").service("cron").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let cms_db_password = "CmsOwnDbPassw0rd";
    host.sh(&format!(
        "printf '%s\\n' '<?php' \"\\$SITE_INFO['db_site'] = 'cms';\" \"\\$SITE_INFO['db_site_user'] = 'cms';\" \"\\$SITE_INFO['db_site_password'] = '{cms_db_password}';\" > {}/_config.php",
        host.scope
    ));
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--db", "mysql", "--json"])
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = field(&json, &["grant"]);
    assert_eq!(field(&json, &["databases", "0", "database"]), "cms");
    assert_eq!(
        field(&json, &["databases", "0", "database_from"]),
        format!("{}/_config.php", host.scope)
    );
    let account = field(&json, &["account"]);
    let db_password = field(&json, &["databases", "0", "password"]);
    assert!(
        mariadb_as(
            &host,
            &account,
            &db_password,
            "SELECT COUNT(*) FROM cms.pages;"
        )
        .status
        .success()
    );
    // Only the name was read: the CMS's own database password is nowhere.
    let record = record_text(&ws, &grant);
    assert_absent("the record", &record, &[cms_db_password]);
    assert_absent("the output", &out.stdout, &[cms_db_password]);
    ws.handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);

    // WordPress, through the mariadb-user playbook (a name that GRANT would read as a
    // pattern, had handover not escaped its `_`).
    host.sh(
        "mariadb -e 'CREATE DATABASE wp_site; CREATE DATABASE wpXsite' && mkdir -p /var/www/wp && printf '%s\\n' '<?php' \"define( 'DB_NAME', 'wp_site' );\" \"define( 'DB_PASSWORD', 'WpOwnPassw0rd' );\" > /var/www/wp/wp-config.php",
    );
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "mariadb-user",
                "--scope",
                "/var/www/wp",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(field(&json, &["databases", "0", "database"]), "wp_site");
    let account = field(&json, &["account"]);
    let db_password = field(&json, &["databases", "0", "password"]);
    assert!(
        mariadb_as(
            &host,
            &account,
            &db_password,
            "CREATE TABLE wp_site.t (a INT);"
        )
        .status
        .success()
    );
    assert!(
        !mariadb_as(
            &host,
            &account,
            &db_password,
            "CREATE TABLE wpXsite.t (a INT);"
        )
        .status
        .success(),
        "`wp_site` was granted as a pattern"
    );
    assert_absent(
        "the record",
        &record_text(&ws, &field(&json, &["grant"])),
        &["WpOwnPassw0rd"],
    );

    // No name to find: preflight says so and nothing changes.
    let before = host.snapshot();
    host.sh("mkdir -p /var/www/plain && echo '<?php' > /var/www/plain/index.php");
    let out = ws
        .provision_as_root(&host, &["--scope", "/var/www/plain", "--db", "mysql"])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("--db-name"), "{}", out.stderr);
    assert!(out.stderr.contains("preflight"), "{}", out.stderr);
    let after = host.snapshot();
    assert_eq!(
        before
            .lines()
            .filter(|l| !l.contains("/var/www/plain"))
            .count(),
        after
            .lines()
            .filter(|l| !l.contains("/var/www/plain"))
            .count()
    );
}

#[test]
fn preflight_names_a_missing_database_and_changes_nothing() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder()
        .service("mariadb")
        .service("postgresql")
        .service("cron")
        .up();
    let ws = Workspace::new();
    ws.trust(&host);
    let users_before =
        host.sh("mariadb -N -B -e 'SELECT User, Host FROM mysql.user ORDER BY 1, 2'");
    for (engine, expect) in [
        ("mysql", "database `nosuchdb` exists"),
        ("postgres", "database `nosuchdb` exists"),
    ] {
        let out = ws
            .provision_as_root(
                &host,
                &[
                    "--scope",
                    &host.scope,
                    "--db",
                    engine,
                    "--db-name",
                    "nosuchdb",
                    "--account",
                    "support-nodb",
                ],
            )
            .run()
            .expect_code(1);
        assert!(out.stderr.contains(expect), "{}", out.stderr);
        assert!(!host.ok("getent passwd support-nodb"), "the host changed");
    }
    let out = ws
        .provision_as_root(
            &host,
            &["--playbook", "lend", "--rotate-db-user", "nobody_here"],
        )
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("`nobody_here`@`localhost` exists"),
        "{}",
        out.stderr
    );
    assert_eq!(
        users_before,
        host.sh("mariadb -N -B -e 'SELECT User, Host FROM mysql.user ORDER BY 1, 2'")
    );
}

/// `cmsuser`@`localhost` with `password`, and a connection of it that was open before the
/// window (the customer's own application).
fn make_cms_user(host: &TestHost, password: &str) -> String {
    host.sh(&format!(
        "mariadb -e \"CREATE USER cmsuser@localhost IDENTIFIED BY '{password}'; GRANT ALL ON cms.* TO cmsuser@localhost\""
    ));
    in_background(
        host,
        &mariadb_script("cmsuser", password, "SELECT SLEEP(601);"),
    );
    host.sh("mariadb -N -B -e \"SELECT CONCAT(plugin, ' ', authentication_string) FROM mysql.user WHERE User = 'cmsuser'\"")
}

fn logs_in(host: &TestHost, user: &str, password: &str) -> bool {
    mariadb_as(host, user, password, "SELECT 1;")
        .status
        .success()
}

fn window_sleepers(host: &TestHost) -> String {
    host.sh("mariadb -N -B -e \"SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = 'cmsuser' ORDER BY INFO\"")
}

#[test]
fn a_lent_mariadb_account_is_rotated_and_restored() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("mariadb").service("cron").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let original = "OriginalCmsPass1";
    let auth_before = make_cms_user(&host, original);

    let watch = ProcessWatch::start(&host);
    let out = ws
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
        .expect_code(0);
    let json = out.json();
    let grant = field(&json, &["grant"]);
    let lent = field(&json, &["lent", "cmsuser@localhost"]);
    assert!(
        !logs_in(&host, "cmsuser", original),
        "the old password works in the window"
    );
    assert!(
        logs_in(&host, "cmsuser", &lent),
        "the lent password does not work"
    );
    // The original hash is in the record (mode 0600), the lent password is not.
    let record = record_text(&ws, &grant);
    assert!(record.contains(auth_before.trim().split(' ').nth(1).unwrap_or("-")));
    assert_absent("the record", &record, &[&lent]);

    // The vendor opens a connection during the window.
    in_background(
        &host,
        &mariadb_script("cmsuser", &lent, "SELECT SLEEP(602);"),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(window_sleepers(&host).contains("SLEEP(602)"));

    let torn = ws
        .handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let seen_on_host = watch.stop();
    assert!(
        logs_in(&host, "cmsuser", original),
        "the original was not restored"
    );
    assert!(
        !logs_in(&host, "cmsuser", &lent),
        "the lent password still works"
    );
    assert_eq!(
        auth_before,
        host.sh("mariadb -N -B -e \"SELECT CONCAT(plugin, ' ', authentication_string) FROM mysql.user WHERE User = 'cmsuser'\""),
        "the stored authentication is not as before"
    );
    let sleepers = window_sleepers(&host);
    assert!(
        !sleepers.contains("SLEEP(602)"),
        "the vendor's connection survived"
    );
    assert!(
        sleepers.contains("SLEEP(601)"),
        "the customer's own connection was killed"
    );
    for (what, haystack) in [
        ("provision's log", out.stderr.as_str()),
        (
            "teardown's output",
            &format!("{}{}", torn.stdout, torn.stderr),
        ),
        ("the host's process list", &seen_on_host),
    ] {
        assert_absent(what, haystack, &[&lent, original]);
    }
}

#[test]
fn after_rotate_with_a_password_administrator() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::builder().service("mariadb").service("cron").up();
    let ws = Workspace::new();
    ws.trust(&host);
    let original = "OriginalCmsPass2";
    make_cms_user(&host, original);
    // An administrator that needs a password, one the option file must quote well.
    let admin_password = r#"Adm "in' #pw\x"#;
    host.exec_stdin(&format!(
        "mariadb <<'SQL'\nCREATE USER dbadmin@localhost IDENTIFIED BY '{}';\nGRANT ALL ON *.* TO dbadmin@localhost WITH GRANT OPTION;\nSQL\n",
        admin_password.replace('\\', "\\\\").replace('\'', "''")
    ));
    assert!(logs_in(&host, "dbadmin", admin_password));

    let watch = ProcessWatch::start(&host);
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--db",
                "mysql",
                "--db-name",
                "cms",
                "--rotate-db-user",
                "cmsuser@localhost",
                "--after",
                "rotate",
                "--db-admin-user",
                "dbadmin",
                "--db-admin-password-env",
                "DB_ADMIN_PW",
                "--json",
            ],
        )
        .env("DB_ADMIN_PW", admin_password)
        .run()
        .expect_code(0);
    let json = out.json();
    let grant = field(&json, &["grant"]);
    let lent = field(&json, &["lent", "cmsuser@localhost"]);
    let db_password = field(&json, &["databases", "0", "password"]);
    assert!(logs_in(&host, "cmsuser", &lent));
    assert!(logs_in(&host, &field(&json, &["account"]), &db_password));

    // Teardown needs the same variable, and says which.
    let missing = ws
        .handover(&["teardown", &grant])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    assert!(missing.stderr.contains("DB_ADMIN_PW"), "{}", missing.stderr);

    let torn = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .env("DB_ADMIN_PW", admin_password)
        .run()
        .expect_code(0);
    let seen_on_host = watch.stop();
    let fresh = field(&torn.json(), &["new_passwords", "cmsuser@localhost"]);
    assert!(
        !logs_in(&host, "cmsuser", original),
        "the old password works after rotate"
    );
    assert!(
        !logs_in(&host, "cmsuser", &lent),
        "the lent password works after rotate"
    );
    assert!(
        logs_in(&host, "cmsuser", &fresh),
        "the new password does not work"
    );
    let record = record_text(&ws, &grant);
    assert_absent(
        "the record",
        &record,
        &[admin_password, &lent, &db_password, &fresh],
    );
    for (what, haystack) in [
        ("provision's log", out.stderr.as_str()),
        ("teardown's log", torn.stderr.as_str()),
        ("the host's process list", &seen_on_host),
    ] {
        assert_absent(
            what,
            haystack,
            &[admin_password, &lent, &db_password, &fresh],
        );
    }
}

#[test]
fn bad_database_options_are_usage_errors() {
    let ws = Workspace::new();
    for (args, expect) in [
        (
            vec![
                "--scope",
                "/var/www/cms",
                "--db",
                "mysql",
                "--db-name",
                "a;b",
            ],
            "--db-name",
        ),
        (
            vec!["--playbook", "lend", "--db", "mysql"],
            "--db-name NAME, or --scope",
        ),
        (
            vec!["--playbook", "lend", "--rotate-db-user", "root"],
            "--rotate-db-user",
        ),
        (
            vec!["--playbook", "lend", "--rotate-db-user", "x'y"],
            "--rotate-db-user",
        ),
        (
            vec!["--playbook", "lend", "--rotate-db-user", "cms@a b"],
            "--rotate-db-user",
        ),
        (
            vec![
                "--playbook",
                "lend",
                "--rotate-db-user",
                "cms",
                "--db-admin-password-env",
                "NOT_SET_HERE",
            ],
            "NOT_SET_HERE",
        ),
        (
            vec!["--scope", "/var/www/cms", "--db-admin-user", "x"],
            "only with --db",
        ),
        (vec!["--playbook", "mariadb-user"], "--param database=NAME"),
        (
            vec!["--playbook", "mariadb-user", "--param", "database=x`y"],
            "database name",
        ),
    ] {
        let out = ws.provision("root@127.0.0.1:9", &args).run().expect_code(2);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
    }
}
