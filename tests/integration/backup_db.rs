//! The site's database in the backup (#17): dumped at provision right after the scope's
//! files, before the first change, from the database the CMS config names (WordPress on the
//! host's MariaDB) or the one `--backup-db` names (PostgreSQL), kept compressed beside the
//! record with every table's row count and checksum.

use crate::docs::DbDump;
use crate::support::{ProcessWatch, TestHost, WP, Workspace, assert_nowhere, wordpress};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// `sql` run by MariaDB's client as root in database `wordpress`: its rows, tab-separated.
fn mariadb(host: &TestHost, sql: &str) -> String {
    host.sh(&format!(
        "mariadb -N -B wordpress <<'HANDOVER_TEST_SQL'\n{sql}\nHANDOVER_TEST_SQL"
    ))
}

/// `sql` run by psql as `postgres` in database `db`.
fn psql(host: &TestHost, db: &str, sql: &str) -> String {
    host.sh(&format!(
        "cd / && runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -d {db} <<'HANDOVER_TEST_SQL'\n{sql}\nHANDOVER_TEST_SQL"
    ))
}

/// The file `name` of the backup in `dir`, decompressed by the standard zstd.
/// A grant with the scope and the PostgreSQL database `shop` backed up.
fn provision_shop(host: &TestHost, ws: &Workspace) -> crate::docs::Provisioned {
    ws.provision_as_root(
        host,
        &[
            "--scope",
            &host.scope,
            "--backup-db",
            "postgres:shop",
            "--json",
        ],
    )
    .run()
    .expect_code(0)
    .provisioned()
}

fn unpacked(dir: &str, name: &str) -> String {
    let out = Command::new("zstd")
        .arg("-dc")
        .arg(Path::new(dir).join(name))
        .output()
        .expect("run zstd");
    assert!(out.status.success(), "zstd -dc {name} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// The backup directories left in the workspace's state.
fn backup_dirs(ws: &Workspace) -> Vec<String> {
    std::fs::read_dir(ws.state_dir().join("grants"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".backup"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_wordpress_database_named_in_wp_config_is_dumped_with_the_scope() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    // A table whose engine is not transactional: the output warns about its dump.
    mariadb(
        &host,
        "CREATE TABLE wp_legacy (id INT PRIMARY KEY, note TEXT) ENGINE=MyISAM; INSERT INTO wp_legacy VALUES (1, 'kept');",
    );
    let out = ws
        .provision_as_root(&host, &["--scope", WP, "--json"])
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    let backup = grant.backup.as_ref().expect("a backup");
    let db: &DbDump = backup.database.as_ref().expect("the database's dump");
    assert_eq!(
        (db.engine.as_str(), db.name.as_str(), db.name_from.as_str()),
        ("mysql", "wordpress", "/var/www/wp/wp-config.php"),
        "{grant}"
    );
    let mode = |name: &str| {
        std::fs::metadata(Path::new(&backup.dir).join(name))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!((mode(&db.file), mode(&db.schema_file)), (0o600, 0o600));
    let names: Vec<String> = std::fs::read_dir(&backup.dir)
        .expect("read the backup directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");

    // The dump is whole (its footer), holds the first post, and is what the record says.
    let dump = unpacked(&backup.dir, &db.file);
    assert!(dump.contains("\n-- Dump completed"), "no footer");
    assert!(dump.contains("CREATE TABLE `wp_posts`"));
    assert!(
        dump.contains("Welcome to WordPress"),
        "the first post is missing"
    );
    assert_eq!(dump.len() as u64, db.stream_bytes);
    assert_eq!(sha256(&dump), db.stream_sha256);
    let schema = unpacked(&backup.dir, &db.schema_file);
    assert!(schema.contains("CREATE TABLE `wp_options`"));
    assert!(!schema.contains("INSERT INTO"), "rows in the schema");

    // Row counts and checksums as the server computes them.
    let posts = &db.tables["wp_posts"];
    assert_eq!(
        posts.rows.to_string(),
        mariadb(&host, "SELECT COUNT(*) FROM wp_posts;").trim()
    );
    let checksum = mariadb(&host, "CHECKSUM TABLE wp_posts;");
    assert_eq!(
        checksum.split_whitespace().nth(1),
        Some(posts.checksum.as_str())
    );
    assert_eq!(db.tables["wp_legacy"].rows, 1);

    // The MyISAM table is named in a warning, on stderr and in --json.
    assert_eq!(db.non_transactional, ["wp_legacy (MyISAM)"], "{grant}");
    assert!(
        grant
            .warnings
            .iter()
            .any(|w| w.contains("wp_legacy (MyISAM)")),
        "{grant}"
    );
    out.assert_stderr_contains("wp_legacy (MyISAM)");

    // `show --json` gives the database's part.
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["backup"]["database"]["name"], "wordpress", "{shown}");
    assert_eq!(
        shown["backup"]["database"]["tables"]["wp_posts"]["rows"], posts.rows,
        "{shown}"
    );
}

#[test]
fn a_database_that_cannot_be_dumped_is_refused_at_preflight_and_nothing_changes() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    // An administrator who sees the database but may read one table only.
    let weak_password = "WeakAdminPassw0rd";
    mariadb(
        &host,
        &format!(
            "CREATE USER 'weak'@'localhost' IDENTIFIED BY '{weak_password}'; GRANT SELECT ON wordpress.wp_options TO 'weak'@'localhost';"
        ),
    );
    let out = host.refuses(
        ws.provision_as_root(
            &host,
            &[
                "--scope",
                WP,
                "--db-admin-user",
                "weak",
                "--db-admin-password-env",
                "HANDOVER_TEST_WEAK",
            ],
        )
        .env("HANDOVER_TEST_WEAK", weak_password),
        &[
            "can read all of database",
            "--db-admin-user",
            "--backup-db none",
        ],
    );
    assert!(!out.stderr.contains(weak_password), "{}", out.stderr);
    // A database that does not exist.
    host.refuses(
        ws.provision_as_root(&host, &["--scope", WP, "--backup-db", "nosuchdb"]),
        &["database `nosuchdb` exists", "--backup-db none"],
    );
    assert!(backup_dirs(&ws).is_empty(), "{:?}", backup_dirs(&ws));

    // `--backup-db none`: the files alone, and the output says so.
    let grant = ws
        .provision_as_root(&host, &["--scope", WP, "--backup-db", "none", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let backup = grant.backup.as_ref().expect("a backup");
    assert!(backup.database.is_none(), "{grant}");
    assert!(
        backup
            .database_skipped
            .as_deref()
            .is_some_and(|s| s.contains("--backup-db none")),
        "{grant}"
    );
    assert!(!Path::new(&backup.dir).join("db.sql.zst").exists());

    // A scope whose config names no database: the files alone, and how to name one.
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(0);
    out.assert_stdout_contains("the database was not backed up");
    out.assert_stdout_contains("--backup-db [ENGINE:]NAME");
}

/// A dump killed on the host halfway is refused: provision stops before any change and
/// nothing of the backup is left.
#[test]
fn a_dump_cut_off_on_the_host_is_refused() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    // About 50 MB of rows, so the dump runs long enough to be killed halfway.
    mariadb(
        &host,
        "CREATE TABLE wp_big (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(255)) ENGINE=InnoDB; INSERT INTO wp_big (pad) SELECT REPEAT(MD5(seq), 7) FROM seq_1_to_200000;",
    );
    // Kill the dump itself (not preflight's schema-only one) once it has run a moment.
    let killer = "for i in $(seq 1000); do if pgrep -f 'hex-blob wordpress$' >/dev/null; then sleep 0.3; pkill -KILL -f 'hex-blob wordpress$'; exit 0; fi; sleep 0.02; done\n";
    let out = host.exec_stdin(&format!(
        "f=$(mktemp /root/killer.XXXXXX)\ncat > \"$f\" <<'KILLER_END'\n{killer}KILLER_END\nnohup sh \"$f\" >/dev/null 2>&1 </dev/null &\n"
    ));
    assert!(out.status.success());
    let out = ws
        .provision_as_root(&host, &["--scope", WP, "--account", "support-cut"])
        .run()
        .expect_code(1);
    out.assert_stderr_contains("the backup of database `wordpress`");
    out.assert_stderr_contains("nothing was changed on the host");
    assert!(!host.has_account("support-cut"), "the host changed");
    assert!(backup_dirs(&ws).is_empty(), "{:?}", backup_dirs(&ws));
}

#[test]
fn a_postgresql_database_named_with_backup_db_is_dumped() {
    let Some((host, ws)) = TestHost::builder()
        .service("cron")
        .service("postgresql")
        .trusted()
    else {
        return;
    };
    host.sh("cd / && runuser -u postgres -- createdb shop");
    psql(
        &host,
        "shop",
        "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'teapot'), (2, 'kettle');",
    );
    // An engine handover does not know is a usage error.
    ws.provision_as_root(
        &host,
        &["--scope", &host.scope, "--backup-db", "oracle:shop"],
    )
    .run()
    .expect_code(2)
    .assert_stderr_contains("--backup-db");
    let grant = provision_shop(&host, &ws);
    let backup = grant.backup.as_ref().expect("a backup");
    let db = backup.database.as_ref().expect("the database's dump");
    assert_eq!(
        (db.engine.as_str(), db.name.as_str(), db.name_from.as_str()),
        ("postgres", "shop", "--backup-db")
    );
    assert_eq!(db.tables["public.items"].rows, 2, "{grant}");
    let dump = unpacked(&backup.dir, &db.file);
    assert!(
        dump.contains("-- PostgreSQL database dump complete"),
        "no footer"
    );
    assert!(dump.contains("teapot"), "the rows are missing");
}

/// The vendor changes the first post and adds a table and an option; `diff` names them,
/// `restore --check` proves the dump restores (and leaves no temporary database), `restore
/// --dry-run` changes nothing, and `restore --db --yes` brings the backup's state back exactly:
/// the added table gone, every table's rows and checksum as recorded, the post as before over
/// HTTP.
#[test]
fn restore_brings_the_wordpress_database_back_exactly() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = ws
        .provision_as_root(&host, &["--scope", WP, "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let id = grant.id.as_str();
    let recorded = &grant
        .backup
        .as_ref()
        .and_then(|b| b.database.as_ref())
        .expect("the database's dump")
        .tables;
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    let post = || host.http("/?p=1", jar.path(), &[]).2;
    assert!(post().contains("Welcome to WordPress"));

    mariadb(
        &host,
        "UPDATE wp_posts SET post_content = 'Changed by the vendor' WHERE ID = 1; CREATE TABLE wp_vendor_cache (k INT PRIMARY KEY); INSERT INTO wp_vendor_cache VALUES (1), (2); INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('vendor_flag', '1', 'no');",
    );
    assert!(post().contains("Changed by the vendor"));
    let handover = |args: &[&str]| ws.handover(args).with_root_password(&host);

    // diff: the added table in the schema and the tables, the changed tables' row counts.
    let diff = handover(&["diff", id, "--json"])
        .run()
        .expect_code(0)
        .json();
    let db = &diff["database"];
    assert!(
        db["schema_diff"]
            .as_str()
            .is_some_and(|d| d.contains("+CREATE TABLE `wp_vendor_cache`")),
        "{diff}"
    );
    assert_eq!(db["tables"]["added"]["wp_vendor_cache"], 2, "{diff}");
    let options = &db["tables"]["changed"]["wp_options"];
    assert_eq!(
        options["now"],
        options["backup"].as_u64().expect("rows") + 1,
        "{diff}"
    );
    assert!(db["tables"]["changed"]["wp_posts"].is_object(), "{diff}");
    let text = handover(&["diff", id]).run().expect_code(0).stdout;
    assert!(text.contains("wp_vendor_cache added (2 rows)"), "{text}");

    // --check: the dump loads into a temporary database with the recorded tables; it is gone.
    let check = handover(&["restore", id, "--check", "--db", "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(
        check["database"]["differences"]["unchanged"],
        recorded.len(),
        "{check}"
    );
    assert_eq!(
        host.sh("mariadb -N -B -e \"SHOW DATABASES LIKE 'handover%'\""),
        "",
        "a temporary database is left"
    );

    // --dry-run changes nothing.
    let dry = handover(&["restore", id, "--db", "--dry-run", "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(
        dry["database"]["plan"]["added"]["wp_vendor_cache"], 2,
        "{dry}"
    );
    assert!(post().contains("Changed by the vendor"));

    // The restore, verified.
    let restored = handover(&["restore", id, "--db", "--yes", "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(restored["database"]["restored"], true, "{restored}");
    assert_eq!(
        mariadb(&host, "SHOW TABLES LIKE 'wp_vendor_cache';"),
        "",
        "the added table is still there"
    );
    for (table, stats) in recorded {
        let rows = mariadb(&host, &format!("SELECT COUNT(*) FROM `{table}`;"));
        assert_eq!(rows.trim(), stats.rows.to_string(), "{table}");
        let sum = mariadb(&host, &format!("CHECKSUM TABLE `{table}`;"));
        assert_eq!(
            sum.split_whitespace().nth(1),
            Some(stats.checksum.as_str()),
            "{table}"
        );
    }
    let page = post();
    assert!(page.contains("Welcome to WordPress"), "{page}");
    assert!(!page.contains("Changed by the vendor"));
}

/// The same for PostgreSQL: a changed row and an added table, restored and checked.
#[test]
fn restore_brings_a_postgresql_database_back() {
    let Some((host, ws)) = TestHost::builder()
        .service("cron")
        .service("postgresql")
        .trusted()
    else {
        return;
    };
    host.sh("cd / && runuser -u postgres -- createdb shop");
    psql(
        &host,
        "shop",
        "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'teapot'), (2, 'kettle');",
    );
    // What PostgreSQL keeps of a database outside its dump, which restore must set again.
    psql(
        &host,
        "postgres",
        "CREATE ROLE shopapp LOGIN; ALTER DATABASE shop SET work_mem = '7MB'; ALTER DATABASE shop SET search_path = \"$user\", public, extra; ALTER ROLE shopapp IN DATABASE shop SET statement_timeout = '5s'; REVOKE CONNECT ON DATABASE shop FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE shop TO shopapp; COMMENT ON DATABASE shop IS 'the shop''s data'; ALTER DATABASE shop CONNECTION LIMIT 50;",
    );
    let settings_query = "SELECT concat_ws(' | ', datconnlimit, datacl::text, shobj_description(oid, 'pg_database'), (SELECT string_agg(setrole::regrole::text || ':' || array_to_string(setconfig, ','), ';' ORDER BY setrole) FROM pg_db_role_setting WHERE setdatabase = d.oid)) FROM pg_database d WHERE datname = 'shop';";
    let settings = psql(&host, "postgres", settings_query);
    assert!(settings.contains("search_path"), "{settings}");
    let grant = provision_shop(&host, &ws);
    let id = grant.id.as_str();
    psql(
        &host,
        "shop",
        "UPDATE items SET name = 'changed' WHERE id = 1; CREATE TABLE vendor_notes (t text); INSERT INTO vendor_notes VALUES ('x');",
    );
    let handover = |args: &[&str]| ws.handover(args).with_root_password(&host);
    let diff = handover(&["diff", id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(
        diff["database"]["tables"]["added"]["public.vendor_notes"], 1,
        "{diff}"
    );
    assert!(
        diff["database"]["tables"]["changed"]["public.items"].is_object(),
        "{diff}"
    );
    handover(&["restore", id, "--check", "--db"])
        .run()
        .expect_code(0);
    assert_eq!(
        psql(
            &host,
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'handover%';"
        )
        .trim(),
        "0"
    );
    handover(&["restore", id, "--db", "--yes"])
        .run()
        .expect_code(0);
    assert_eq!(
        psql(
            &host,
            "shop",
            "SELECT string_agg(name, ',' ORDER BY id) FROM items;"
        )
        .trim(),
        "teapot,kettle"
    );
    assert_eq!(
        psql(
            &host,
            "shop",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'vendor_notes';"
        )
        .trim(),
        "0"
    );
    assert_eq!(psql(&host, "postgres", settings_query), settings);
}

/// A database administrator's password (`--db-admin-password-env`) leaves no trace: not in
/// argv or any process's environment on the host, nor in the debug log, the record or the
/// backup's manifest, through the dump, its check (`--verify-backup`) and a restore.
#[test]
fn the_database_administrators_password_leaves_no_trace() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let password = "Dump3r-Secret-Passw0rd";
    mariadb(
        &host,
        &format!(
            "CREATE USER 'dumper'@'localhost' IDENTIFIED BY '{password}'; GRANT ALL PRIVILEGES ON *.* TO 'dumper'@'localhost' WITH GRANT OPTION;"
        ),
    );
    let var = "HANDOVER_TEST_DUMPER";
    let watch = ProcessWatch::start(&host);
    let provisioned = ws
        .provision_as_root(
            &host,
            &[
                "-vv",
                "--scope",
                WP,
                "--verify-backup",
                "--db-admin-user",
                "dumper",
                "--db-admin-password-env",
                var,
                "--json",
            ],
        )
        .env(var, password)
        .run()
        .expect_code(0);
    let grant = provisioned.provisioned();
    let backup = grant.backup.as_ref().expect("a backup");
    assert!(backup.database.is_some(), "{grant}");
    mariadb(
        &host,
        "UPDATE wordpress.wp_options SET option_value = 'changed' WHERE option_name = 'blogdescription';",
    );
    let restored = ws
        .handover(&["-vv", "restore", &grant.id, "--db", "--yes"])
        .with_root_password(&host)
        .env(var, password)
        .run()
        .expect_code(0);
    let seen = watch.stop();
    let manifest = std::fs::read_to_string(Path::new(&backup.dir).join("manifest.json"))
        .expect("the manifest");
    assert_nowhere(
        &[
            ("the host's processes", &seen),
            (
                "provision's output",
                &format!("{}{}", provisioned.stdout, provisioned.stderr),
            ),
            (
                "restore's output",
                &format!("{}{}", restored.stdout, restored.stderr),
            ),
            ("the record", &ws.record_text(&grant.id)),
            ("the manifest", &manifest),
        ],
        &[password],
    );
    // The debug log did run (it shows the scripts, with the password left out).
    assert!(
        provisioned.stderr.contains("remote script"),
        "{}",
        provisioned.stderr
    );
}

/// `--verify-backup`: provision proves the backup restores (files unpacked and compared, the
/// dump loaded into a temporary database and compared) before the first change, says so, and
/// leaves no temporary database behind.
#[test]
fn verify_backup_proves_the_files_and_the_database_restore_before_the_first_change() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let out = ws
        .provision_as_root(&host, &["--scope", WP, "--verify-backup"])
        .run()
        .expect_code(0);
    out.assert_stdout_contains("The backup was proved to restore (--verify-backup)");
    let grant = out.labelled("grant").to_owned();
    let shown = ws
        .handover(&["show", &grant, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["backup"]["verified"], true, "{shown}");
    assert!(
        shown["backup"]["database"]["tables"]
            .as_object()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        shown["events"].to_string().contains("proved to restore"),
        "{shown}"
    );
    let left = mariadb(&host, "SHOW DATABASES LIKE 'handover\\_check%'");
    assert!(left.trim().is_empty(), "temporary databases left: {left}");
    // Without a scope there is nothing to verify: a usage error, nothing done.
    ws.provision_as_root(&host, &["--verify-backup"])
        .run()
        .expect_code(2);
}
