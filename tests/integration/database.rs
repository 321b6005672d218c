//! Database access against real MariaDB and PostgreSQL servers running inside the test host
//! (`scripts/testhost up --service mariadb|postgresql`): a temporary account for one
//! database, the database name read from a CMS config, lending an existing MariaDB account,
//! and the administrator's password — with every secret kept out of the record, the log and
//! the host's process list.

use crate::docs::Provisioned;
use crate::support::{
    Finished, ProcessWatch, Run, TestHost, Workspace, assert_absent, assert_nowhere, wait_until,
};
use std::process::Output;
use std::time::Duration;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A test host running `services` and cron, trusted by a fresh workspace; `None` when host
/// tests are off.
fn db_host(services: &[&str]) -> Option<(TestHost, Workspace)> {
    services
        .iter()
        .fold(TestHost::builder(), |b, s| b.service(s))
        .service("cron")
        .trusted()
}

/// A database server a grant gives an account on.
#[derive(Clone, Copy)]
enum Engine {
    MariaDb,
    Postgres,
}

impl Engine {
    /// How many accounts named `user` exist, and how many sessions of it are open.
    fn accounts_and_sessions(self, host: &TestHost, user: &str) -> String {
        match self {
            Engine::MariaDb => my_accounts_and_sessions(host, user),
            Engine::Postgres => pg_roles_and_sessions(host, user),
        }
    }

    /// A session of `user` kept open (to database `cms`), as a vendor's that must not outlive
    /// the grant; returns once the server shows it.
    fn keep_open(self, host: &TestHost, user: &str, password: &str) {
        in_background(
            host,
            &match self {
                Engine::MariaDb => mariadb_script(user, password, "SELECT SLEEP(600);"),
                Engine::Postgres => psql_script(user, password, "cms", "SELECT pg_sleep(600);"),
            },
        );
        eventually("the vendor's session", "1\n1\n", || {
            self.accounts_and_sessions(host, user)
        });
    }

    /// The account `user` and every session of it are gone.
    #[track_caller]
    fn assert_gone(self, host: &TestHost, user: &str) {
        assert_eq!(
            self.accounts_and_sessions(host, user),
            "0\n0\n",
            "the account or its session is left"
        );
    }
}

/// Where a MariaDB test client connects: the unix socket (the server sees `localhost`).
const SOCKET: &str = "";
/// Through the forwarder of [`start_vendorbox`]: TCP from 127.0.0.2, which the server sees
/// as `vendorbox`, a client host other than `localhost`.
const VENDORBOX: &str = "host=127.0.0.1\nport=3307\n";

/// A MariaDB option file for `user` with `password` (double-quoted, escaped) and `options`.
fn my_option_file(user: &str, password: &str, options: &str) -> String {
    format!(
        "[client]\n{options}user={user}\npassword=\"{}\"\n",
        password.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// A `sh` script running `sql` with the MariaDB client as `user`/`password` from `at`; the
/// password travels in an option file on fd 3 (a here-document), never in argv or the
/// environment.
fn mariadb_script_at(at: &str, user: &str, password: &str, sql: &str) -> String {
    format!(
        "mariadb --defaults-extra-file=/dev/fd/3 -N -B 3<<'OPT' <<'SQL'\n{}OPT\n{sql}\nSQL\n",
        my_option_file(user, password, at)
    )
}

pub(crate) fn mariadb_script(user: &str, password: &str, sql: &str) -> String {
    mariadb_script_at(SOCKET, user, password, sql)
}

/// Run SQL on the host as a plain database user (from the host itself, as root's shell: the
/// account logs in by password, root's unix-socket login is not involved).
fn mariadb_as(host: &TestHost, user: &str, password: &str, sql: &str) -> Output {
    host.exec_stdin(&mariadb_script(user, password, sql))
}

/// `sql` run by root through MariaDB's unix socket: rows, tab-separated, without headers.
fn mariadb_root(host: &TestHost, sql: &str) -> String {
    host.sh(&format!("mariadb -N -B <<'SQL'\n{sql}\nSQL\n"))
}

/// How many accounts named `user` exist, and how many connections of that user are open.
fn my_accounts_and_sessions(host: &TestHost, user: &str) -> String {
    mariadb_root(
        host,
        &format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{user}'; SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}';"
        ),
    )
}

/// A `sh` script running `sql` with psql over TCP on localhost as `user`/`password`, the
/// password in a service file on fd 3.
pub(crate) fn psql_script(user: &str, password: &str, db: &str, sql: &str) -> String {
    format!(
        "PGSERVICEFILE=/dev/fd/3 psql -X -w -A -t -v ON_ERROR_STOP=1 service=t 3<<'OPT' <<'SQL'\n[t]\nhost=localhost\nuser={user}\ndbname={db}\npassword={password}\nOPT\n{sql}\nSQL\n"
    )
}

/// `sql` run in database `db` as `postgres` (peer authentication): unaligned rows.
fn psql_root(host: &TestHost, db: &str, sql: &str) -> String {
    host.sh(&format!(
        "cd / && runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -d {db} <<'SQL'\n{sql}\nSQL\n"
    ))
}

/// How many roles named `role` exist, and how many sessions of it are open.
fn pg_roles_and_sessions(host: &TestHost, role: &str) -> String {
    psql_root(
        host,
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{role}'; SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}';"
        ),
    )
}

/// Everything a run wrote.
fn all_output(run: &Finished) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

/// A grant's window with the host's process list watched from before provision to after
/// teardown, so that every place a secret could show is at hand.
struct Window<'a> {
    ws: &'a Workspace,
    watch: ProcessWatch<'a>,
    /// What provision printed.
    provisioned: Finished,
    grant: String,
}

impl<'a> Window<'a> {
    /// Start watching `host`, then run `provision` (with `--json`), which must succeed: the
    /// window, and the grant it printed.
    fn open(ws: &'a Workspace, host: &'a TestHost, provision: Run) -> (Window<'a>, Provisioned) {
        let watch = ProcessWatch::start(host);
        let provisioned = provision.run().expect_code(0);
        let grant = provisioned.provisioned();
        let window = Window {
            ws,
            watch,
            provisioned,
            grant: grant.id.clone(),
        };
        (window, grant)
    }

    /// Run `teardown`, which must succeed, and stop watching.
    fn close(self, teardown: Run) -> Closed {
        let torn = teardown.run().expect_code(0);
        let seen_on_host = self.watch.stop();
        Closed {
            record: self.ws.record_text(&self.grant),
            provisioned: self.provisioned,
            torn,
            seen_on_host,
        }
    }
}

/// A window after teardown.
struct Closed {
    record: String,
    provisioned: Finished,
    torn: Finished,
    /// What the host's process list showed during the window.
    seen_on_host: String,
}

impl Closed {
    /// None of `secrets` is in the grant's record, provision's log, teardown's output or what
    /// the host's process list showed.
    #[track_caller]
    fn assert_no_trace(&self, secrets: &[&str]) {
        assert_nowhere(
            &[
                ("the record", &self.record),
                ("provision's log", &self.provisioned.stderr),
                ("teardown's output", &all_output(&self.torn)),
                ("the host's process list", &self.seen_on_host),
            ],
            secrets,
        );
    }
}

/// Run `script` in the background on the host; it travels on stdin into a root-only file,
/// so no secret it holds reaches a command line. Callers wait for its connection with
/// [`eventually`].
fn in_background(host: &TestHost, script: &str) {
    let out = host.exec_stdin(&format!(
        "f=$(mktemp /root/bg.XXXXXX)\ncat > \"$f\" <<'BACKGROUND_END'\n{script}BACKGROUND_END\nnohup sh \"$f\" >/dev/null 2>&1 </dev/null &\n"
    ));
    assert!(out.status.success(), "{}", text(&out));
}

/// Wait (at most 20 s: the machine may be loaded) until `now()` says `expected`, e.g. until
/// background connections show in the server's process list.
#[track_caller]
fn eventually(what: &str, expected: &str, now: impl Fn() -> String) {
    let mut seen = String::new();
    let done = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        seen = now();
        seen == expected
    });
    assert!(done, "{what}: expected {expected:?}, still {seen:?}");
}

#[test]
fn a_mariadb_account_for_one_database_then_nothing_left() {
    let Some((host, ws)) = db_host(&["mariadb"]) else {
        return;
    };
    let (window, grant) = Window::open(&ws, &host, db_account(&ws, &host, "mysql", &["-v"]));
    let (account, password) = (grant.account(), grant.password());
    let db_password = grant.database().password();
    assert_eq!(grant.database().name(), "cms");
    assert!(
        window.provisioned.stderr.contains("executions=7"),
        "provision takes 7 remote executions (preflight, the scope's backup, the database's stats, dump, schema and stats again, apply):\n{}",
        window.provisioned.stderr
    );

    // The vendor, logged in over SSH, uses the database with the printed password.
    let vendor = |sql: &str| {
        host.ssh_as_with_stdin(
            account,
            password,
            "sh -s",
            mariadb_script(account, db_password, sql).as_bytes(),
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
        mariadb_root(
            &host,
            &format!("SELECT Host FROM mysql.user WHERE User = '{account}';")
        ),
        "localhost\n"
    );

    // A connection the vendor keeps open must not outlive the grant.
    Engine::MariaDb.keep_open(&host, account, db_password);

    let closed = window.close(ws.teardown_as_root(&host, &grant.id, &[]));
    assert!(
        closed
            .torn
            .stdout
            .contains("no MariaDB/MySQL account named"),
        "{}",
        closed.torn.stdout
    );
    Engine::MariaDb.assert_gone(&host, account);
    assert!(
        !logs_in(&host, account, db_password),
        "the database password still logs in"
    );
    // The customer's data stays, including what the vendor added.
    assert_eq!(
        mariadb_root(
            &host,
            "SELECT COUNT(*) FROM cms.pages; SHOW TABLES FROM cms;"
        ),
        "2\npages\nvendor_notes\n"
    );
    closed.assert_no_trace(&[db_password, password]);
}

#[test]
fn a_postgres_role_for_one_database_then_nothing_left() {
    let Some((host, ws)) = db_host(&["postgresql"]) else {
        return;
    };
    let (window, grant) = Window::open(
        &ws,
        &host,
        ws.provision_as_root(
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
        ),
    );
    let (account, password) = (grant.account(), grant.password());
    let db_password = grant.database().password();
    assert_eq!(grant.database().engine, "postgres");

    let vendor = |db: &str, sql: &str| {
        host.ssh_as_with_stdin(
            account,
            password,
            "sh -s",
            psql_script(account, db_password, db, sql).as_bytes(),
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
    let until = psql_root(
        &host,
        "postgres",
        &format!(
            "SELECT rolvaliduntil IS NOT NULL AND rolvaliduntil < now() + interval '3 hours' FROM pg_roles WHERE rolname = '{account}';"
        ),
    );
    assert_eq!(until.trim(), "t", "the role does not expire with the grant");

    // A session the vendor keeps open must not outlive the grant.
    Engine::Postgres.keep_open(&host, account, db_password);

    let closed = window.close(ws.teardown_as_root(&host, &grant.id, &[]));
    Engine::Postgres.assert_gone(&host, account);
    assert!(
        !host
            .exec_stdin(&psql_script(account, db_password, "cms", "SELECT 1;"))
            .status
            .success(),
        "the database password still logs in"
    );
    // What the vendor created belongs to the database's owner now; nothing was dropped.
    assert_eq!(
        psql_root(
            &host,
            "cms",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'vendor_notes'; SELECT t FROM vendor_notes; SELECT count(*) FROM pages;"
        ),
        "cmsowner\nkept\n2\n"
    );
    closed.assert_no_trace(&[db_password, password]);
}

/// Regression: with `--db-admin-password-env`, psql reached PostgreSQL over its unix socket,
/// where the standard `local all all peer` rule refused the administrator ("Peer
/// authentication failed for user"); it must log in over TCP on localhost by password.
#[test]
fn a_postgres_role_with_a_password_administrator() {
    let Some((host, ws)) = db_host(&["postgresql"]) else {
        return;
    };
    // A superuser that needs a password, one a service file line must carry as it is.
    let admin_password = r#"Adm "in' #pw\x=1"#;
    psql_root(
        &host,
        "postgres",
        &format!(
            "CREATE ROLE dbadmin LOGIN SUPERUSER PASSWORD '{}';",
            admin_password.replace('\'', "''")
        ),
    );
    assert!(
        host.exec_stdin(&psql_script(
            "dbadmin",
            admin_password,
            "postgres",
            "SELECT 1;"
        ))
        .status
        .success(),
        "the administrator cannot log in by password"
    );

    let (window, grant) = Window::open(
        &ws,
        &host,
        db_account(&ws, &host, "postgres", ADMIN_FROM_ENV).env("DB_ADMIN_PW", admin_password),
    );
    let (account, password) = (grant.account(), grant.password());
    let db_password = grant.database().password();
    let out = host.exec_stdin(&psql_script(
        account,
        db_password,
        "cms",
        "SELECT title FROM pages WHERE id = 1; CREATE TABLE vendor_notes (t text);",
    ));
    assert!(
        out.status.success() && text(&out).contains("home"),
        "the role cannot use cms: {}",
        text(&out)
    );

    let closed = window.close(
        ws.teardown_as_root(&host, &grant.id, &[])
            .env("DB_ADMIN_PW", admin_password),
    );
    Engine::Postgres.assert_gone(&host, account);
    assert_eq!(
        psql_root(
            &host,
            "cms",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'vendor_notes';"
        ),
        "cmsowner\n"
    );
    assert!(closed.record.contains("DB_ADMIN_PW"), "{}", closed.record);
    closed.assert_no_trace(&[admin_password, db_password, password]);
    // Not even in what provision prints for the customer.
    assert_absent(
        "provision's output",
        &closed.provisioned.stdout,
        &[admin_password],
    );
}

#[test]
fn the_database_name_comes_from_the_cms_config() {
    let Some((host, ws)) = db_host(&["mariadb"]) else {
        return;
    };
    let cms_db_password = "CmsOwnDbPassw0rd";
    host.sh(&format!(
        "printf '%s\\n' '<?php' \"\\$SITE_INFO['db_site'] = 'cms';\" \"\\$SITE_INFO['db_site_user'] = 'cms';\" \"\\$SITE_INFO['db_site_password'] = '{cms_db_password}';\" > {}/_config.php",
        host.scope
    ));
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--db", "mysql", "--json"])
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    let db = grant.database();
    assert_eq!(db.name(), "cms");
    assert_eq!(
        db.database_from.as_deref(),
        Some(format!("{}/_config.php", host.scope).as_str())
    );
    assert!(
        mariadb_as(
            &host,
            grant.account(),
            db.password(),
            "SELECT COUNT(*) FROM cms.pages;"
        )
        .status
        .success()
    );
    // Only the name was read: the CMS's own database password is nowhere.
    assert_nowhere(
        &[
            ("the record", &ws.record_text(&grant.id)),
            ("the output", &out.stdout),
        ],
        &[cms_db_password],
    );
    ws.revoke(&host, &grant.id);

    // WordPress, through the mariadb-user playbook (a name that GRANT would read as a
    // pattern, had handover not escaped its `_`).
    host.sh(
        "mariadb -e 'CREATE DATABASE wp_site; CREATE DATABASE wpXsite' && mkdir -p /var/www/wp && printf '%s\\n' '<?php' \"define( 'DB_NAME', 'wp_site' );\" \"define( 'DB_PASSWORD', 'WpOwnPassw0rd' );\" > /var/www/wp/wp-config.php",
    );
    let grant = ws.provisioned(
        &host,
        &["--playbook", "mariadb-user", "--scope", "/var/www/wp"],
    );
    let db = grant.database();
    assert_eq!(db.name(), "wp_site");
    let creates_a_table_in = |database: &str| {
        mariadb_as(
            &host,
            grant.account(),
            db.password(),
            &format!("CREATE TABLE {database}.t (a INT);"),
        )
        .status
        .success()
    };
    assert!(creates_a_table_in("wp_site"));
    assert!(
        !creates_a_table_in("wpXsite"),
        "`wp_site` was granted as a pattern"
    );
    assert_absent("the record", &ws.record_text(&grant.id), &["WpOwnPassw0rd"]);

    // No name to find: preflight says so and nothing changes.
    let before = host.snapshot();
    host.sh("mkdir -p /var/www/plain && echo '<?php' > /var/www/plain/index.php");
    let out = ws
        .provision_as_root(&host, &["--scope", "/var/www/plain", "--db", "mysql"])
        .run()
        .expect_code(1);
    out.assert_stderr_contains("--db-name");
    out.assert_stderr_contains("preflight");
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
    let Some((host, ws)) = db_host(&["mariadb", "postgresql"]) else {
        return;
    };
    let all_accounts = "SELECT User, Host FROM mysql.user ORDER BY 1, 2;";
    let users_before = mariadb_root(&host, all_accounts);
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
        out.assert_stderr_contains(expect);
        assert!(!host.ok("getent passwd support-nodb"), "the host changed");
    }
    let out = ws
        .provision_as_root(
            &host,
            &["--playbook", "lend", "--rotate-db-user", "nobody_here"],
        )
        .run()
        .expect_code(1);
    out.assert_stderr_contains("`nobody_here`@`localhost` exists");
    assert_eq!(users_before, mariadb_root(&host, all_accounts));
}

/// `provision --scope SCOPE --db ENGINE --db-name cms EXTRA… --json` as root: a temporary
/// account with a temporary database account for `cms`.
fn db_account(ws: &Workspace, host: &TestHost, engine: &str, extra: &[&str]) -> Run {
    ws.provision_as_root(
        host,
        &[
            &[
                "--scope",
                &host.scope,
                "--db",
                engine,
                "--db-name",
                "cms",
                "--json",
            ],
            extra,
        ]
        .concat(),
    )
}

/// The database administrator `dbadmin`, its password in `DB_ADMIN_PW`.
const ADMIN_FROM_ENV: &[&str] = &[
    "--db-admin-user",
    "dbadmin",
    "--db-admin-password-env",
    "DB_ADMIN_PW",
];

/// `provision --playbook lend --rotate-db-user USER EXTRA… --json` as root.
fn lend_db_user(ws: &Workspace, host: &TestHost, user: &str, extra: &[&str]) -> Run {
    ws.provision_as_root(
        host,
        &[
            &["--playbook", "lend", "--rotate-db-user", user, "--json"],
            extra,
        ]
        .concat(),
    )
}

/// `cmsuser`@`localhost` with `password`, and a connection of it that was open before the
/// window (the customer's own application). Returns its plugin and stored hash.
fn make_cms_user(host: &TestHost, password: &str) -> String {
    mariadb_root(
        host,
        &format!(
            "CREATE USER cmsuser@localhost IDENTIFIED BY '{password}'; GRANT ALL ON cms.* TO cmsuser@localhost;"
        ),
    );
    in_background(
        host,
        &mariadb_script("cmsuser", password, "SELECT SLEEP(601);"),
    );
    // Open before the window begins.
    eventually(
        "the application's connection",
        "SELECT SLEEP(601)\n",
        || cms_sleepers(host),
    );
    cms_auth(host, "localhost")
}

/// `cmsuser`@`%` with `password`: the same user name at another host part.
fn make_cms_user_anywhere(host: &TestHost, password: &str) {
    mariadb_root(
        host,
        &format!(
            "CREATE USER cmsuser@'%' IDENTIFIED BY '{password}'; GRANT ALL ON cms.* TO cmsuser@'%';"
        ),
    );
}

/// The plugin and stored hash of `cmsuser`@`host_part`.
fn cms_auth(host: &TestHost, host_part: &str) -> String {
    mariadb_root(
        host,
        &format!(
            "SELECT CONCAT(plugin, ' ', authentication_string) FROM mysql.user WHERE User = 'cmsuser' AND Host = '{host_part}';"
        ),
    )
}

/// Forward 127.0.0.1:3307 to the server from source address 127.0.0.2, which the host names
/// `vendorbox`: a client at another host than `localhost` (MariaDB listens on 127.0.0.1 only,
/// and its client cannot choose a source address).
fn start_vendorbox(host: &TestHost) {
    host.sh(
        "echo '127.0.0.2 vendorbox' >> /etc/hosts && nohup socat TCP-LISTEN:3307,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:3306,bind=127.0.0.2 >/dev/null 2>&1 </dev/null & i=0; until ss -ltn | grep -q '127.0.0.1:3307 '; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done",
    );
}

fn logs_in_at(host: &TestHost, at: &str, user: &str, password: &str) -> bool {
    host.exec_stdin(&mariadb_script_at(at, user, password, "SELECT 1;"))
        .status
        .success()
}

fn logs_in(host: &TestHost, user: &str, password: &str) -> bool {
    logs_in_at(host, SOCKET, user, password)
}

/// What the open connections of `cmsuser` run (their `SLEEP(N)` tell them apart).
fn cms_sleepers(host: &TestHost) -> String {
    mariadb_root(
        host,
        "SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = 'cmsuser' ORDER BY INFO;",
    )
}

#[test]
fn a_lent_mariadb_account_is_rotated_and_restored() {
    let Some((host, ws)) = db_host(&["mariadb"]) else {
        return;
    };
    let original = "OriginalCmsPass1";
    let auth_before = make_cms_user(&host, original);
    // The same user name at another host part is another account, not lent.
    let anywhere = "AnywhereCmsPass1";
    make_cms_user_anywhere(&host, anywhere);
    start_vendorbox(&host);

    let (window, grant) = Window::open(&ws, &host, lend_db_user(&ws, &host, "cmsuser", &[]));
    let lent = grant.lent("cmsuser@localhost");
    assert!(
        !logs_in(&host, "cmsuser", original),
        "the old password works in the window"
    );
    assert!(
        logs_in(&host, "cmsuser", lent),
        "the lent password does not work"
    );
    assert!(logs_in_at(&host, VENDORBOX, "cmsuser", anywhere));
    // The original hash is in the record (mode 0600), the lent password is not.
    let record = ws.record_text(&grant.id);
    assert!(record.contains(auth_before.trim().split(' ').nth(1).unwrap_or("-")));
    assert_absent("the record", &record, &[lent]);

    // The vendor opens a connection during the window; so does `cmsuser`@`%`.
    in_background(
        &host,
        &mariadb_script("cmsuser", lent, "SELECT SLEEP(602);"),
    );
    in_background(
        &host,
        &mariadb_script_at(VENDORBOX, "cmsuser", anywhere, "SELECT SLEEP(603);"),
    );
    eventually(
        "the window's connections",
        "SELECT SLEEP(601)\nSELECT SLEEP(602)\nSELECT SLEEP(603)\n",
        || cms_sleepers(&host),
    );

    let closed = window.close(ws.teardown_as_root(&host, &grant.id, &[]));
    assert!(
        logs_in(&host, "cmsuser", original),
        "the original was not restored"
    );
    assert!(
        !logs_in(&host, "cmsuser", lent),
        "the lent password still works"
    );
    assert_eq!(
        auth_before,
        cms_auth(&host, "localhost"),
        "the stored authentication is not as before"
    );
    // Only the vendor's connection ended: not the customer's from before the window, nor
    // (regression: the connections were chosen by user name alone) that of `cmsuser`@`%`.
    assert_eq!(
        cms_sleepers(&host),
        "SELECT SLEEP(601)\nSELECT SLEEP(603)\n",
        "the wrong connections were ended"
    );
    closed.assert_no_trace(&[lent, original]);
}

/// Regression: lending `cmsuser`@`%` ended the window's connections of `cmsuser`@`localhost`
/// too, as connections were chosen by user name alone. The server prefers the exact
/// `localhost` for the host's own clients, so those are that account's.
#[test]
fn lending_a_wildcard_account_leaves_the_more_specific_one_alone() {
    let Some((host, ws)) = db_host(&["mariadb"]) else {
        return;
    };
    let own = "LocalCmsPass3";
    make_cms_user(&host, own);
    let original = "AnywhereCmsPass3";
    make_cms_user_anywhere(&host, original);
    let auth_before = cms_auth(&host, "%");
    start_vendorbox(&host);

    let grant = lend_db_user(&ws, &host, "cmsuser@%", &[])
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent("cmsuser@%");
    assert!(logs_in_at(&host, VENDORBOX, "cmsuser", lent));
    assert!(logs_in(&host, "cmsuser", own), "cmsuser@localhost changed");

    // The vendor, from elsewhere, and the customer's application on the host.
    in_background(
        &host,
        &mariadb_script_at(VENDORBOX, "cmsuser", lent, "SELECT SLEEP(602);"),
    );
    in_background(&host, &mariadb_script("cmsuser", own, "SELECT SLEEP(604);"));
    eventually(
        "the window's connections",
        "SELECT SLEEP(601)\nSELECT SLEEP(602)\nSELECT SLEEP(604)\n",
        || cms_sleepers(&host),
    );

    ws.revoke(&host, &grant.id);
    assert_eq!(
        cms_sleepers(&host),
        "SELECT SLEEP(601)\nSELECT SLEEP(604)\n",
        "the wrong connections were ended"
    );
    assert_eq!(auth_before, cms_auth(&host, "%"));
    assert!(logs_in_at(&host, VENDORBOX, "cmsuser", original));
    assert!(!logs_in_at(&host, VENDORBOX, "cmsuser", lent));
}

#[test]
fn after_rotate_with_a_password_administrator() {
    let Some((host, ws)) = db_host(&["mariadb"]) else {
        return;
    };
    let original = "OriginalCmsPass2";
    make_cms_user(&host, original);
    // An administrator that needs a password, one the option file must quote well.
    let admin_password = r#"Adm "in' #pw\x"#;
    mariadb_root(
        &host,
        &format!(
            "CREATE USER dbadmin@localhost IDENTIFIED BY '{}';\nGRANT ALL ON *.* TO dbadmin@localhost WITH GRANT OPTION;",
            admin_password.replace('\\', "\\\\").replace('\'', "''")
        ),
    );
    assert!(logs_in(&host, "dbadmin", admin_password));

    let rotate = ["--rotate-db-user", "cmsuser@localhost", "--after", "rotate"];
    let (window, grant) = Window::open(
        &ws,
        &host,
        db_account(&ws, &host, "mysql", &[&rotate[..], ADMIN_FROM_ENV].concat())
            .env("DB_ADMIN_PW", admin_password),
    );
    let lent = grant.lent("cmsuser@localhost");
    let db_password = grant.database().password();
    assert!(logs_in(&host, "cmsuser", lent));
    assert!(logs_in(&host, grant.account(), db_password));

    // Teardown needs the same variable, and says which.
    let missing = ws
        .teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(2);
    missing.assert_stderr_contains("DB_ADMIN_PW");

    let closed = window.close(
        ws.teardown_as_root(&host, &grant.id, &["--json"])
            .env("DB_ADMIN_PW", admin_password),
    );
    let report = closed.torn.teardown_report();
    let fresh = report.new_password("cmsuser@localhost");
    assert!(
        !logs_in(&host, "cmsuser", original),
        "the old password works after rotate"
    );
    assert!(
        !logs_in(&host, "cmsuser", lent),
        "the lent password works after rotate"
    );
    assert!(
        logs_in(&host, "cmsuser", fresh),
        "the new password does not work"
    );
    closed.assert_no_trace(&[admin_password, lent, db_password]);
    // The new password is printed once, on stdout, and is nowhere else.
    assert_nowhere(
        &[
            ("the record", &closed.record),
            ("provision's log", &closed.provisioned.stderr),
            ("teardown's log", &closed.torn.stderr),
            ("the host's process list", &closed.seen_on_host),
        ],
        &[fresh],
    );
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
            vec![
                "--scope",
                "/var/www/cms",
                "--no-backup",
                "--db-admin-user",
                "x",
            ],
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

/// Regression: at the TTL the expiry guard (whose script holds no secret and no recorded
/// fact) locked a lent MariaDB account instead of restoring it, and teardown then put the
/// hash back but left the lock: the customer's application could no longer log in. The guard
/// restores the original from a root-only copy on the host, as for a lent system password.
#[test]
fn at_the_ttl_the_host_itself_drops_the_temporary_database_accounts() {
    let Some((host, ws)) = db_host(&["mariadb", "postgresql", "atd"]) else {
        return;
    };
    let my = db_account(&ws, &host, "mysql", &["--ttl", "12s", "--no-baseline"])
        .run()
        .expect_code(0)
        .provisioned();
    let pg = db_account(&ws, &host, "postgres", &["--ttl", "12s", "--no-baseline"])
        .run()
        .expect_code(0)
        .provisioned();
    let (my_user, pg_user) = (my.database().user.clone(), pg.database().user.clone());
    assert_eq!(my_accounts_and_sessions(&host, &my_user).trim(), "1\n0");
    assert_eq!(pg_roles_and_sessions(&host, &pg_user).trim(), "1\n0");
    // Nobody runs teardown: the host's own job drops both.
    assert!(
        wait_until(Duration::from_secs(45), Duration::from_secs(1), || {
            my_accounts_and_sessions(&host, &my_user).trim() == "0\n0"
                && pg_roles_and_sessions(&host, &pg_user).trim() == "0\n0"
        }),
        "the host left a temporary database account: {} / {}",
        my_accounts_and_sessions(&host, &my_user),
        pg_roles_and_sessions(&host, &pg_user)
    );
    for grant in [&my, &pg] {
        ws.revoke_report(&host, &grant.id);
    }
}

#[test]
fn at_the_ttl_the_host_itself_restores_a_lent_mariadb_account() {
    let Some((host, ws)) = db_host(&["mariadb", "atd"]) else {
        return;
    };
    let original = "OriginalCmsPass7";
    let auth_before = make_cms_user(&host, original);
    let grant = lend_db_user(&ws, &host, "cmsuser", &["--ttl", "12s", "--no-baseline"])
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent("cmsuser@localhost");
    assert!(logs_in(&host, "cmsuser", lent));
    // Nobody runs teardown: the host's own job puts the original back.
    assert!(
        wait_until(Duration::from_secs(45), Duration::from_secs(1), || {
            logs_in(&host, "cmsuser", original)
        }),
        "the host did not restore the lent account by itself: {}",
        mariadb_root(&host, "SHOW CREATE USER cmsuser@localhost;")
    );
    assert!(!logs_in(&host, "cmsuser", lent), "the lent password works");
    assert_eq!(auth_before, cms_auth(&host, "localhost"));
    assert!(
        !host.ok(&format!("test -e /var/lib/handover/{}-lent", grant.id)),
        "the copy of the original was left"
    );
    let report = ws.revoke_report(&host, &grant.id);
    assert!(report.warnings.is_empty(), "{report}");
    assert!(
        logs_in(&host, "cmsuser", original),
        "the original does not work after teardown"
    );
}
