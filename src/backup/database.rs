//! The site's database in the backup: which database (the one the CMS config in the scope
//! names, or `--backup-db`), preflight (the dump client, the database, the administrator's
//! rights), and the dump taken at provision right after the files: streamed over the grant's
//! SSH connection and compressed here as it arrives (never held in memory, never written
//! uncompressed), with per-table row counts and checksums to check a restore against.
//!
//! A dump cut short never passes: the client's exit status and its completion footer are
//! required. The administrator's password reaches the clients as `actions::db_sql::Client`
//! gives it, on file descriptor 3, never in argv.

use super::{BackupError, hex, private_file};
use crate::actions::db_sql::{Client, DbAdmin, DbEngine};
use crate::actions::{Checks, cms_configs, read_cms_db_name};
use crate::progress::Progress;
use crate::secret::Secret;
use crate::shell::Script;
use crate::shell::protocol::Parsed;
use crate::ssh::Session;
use crate::text::remote_stderr;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The compressed dump, in the backup's directory.
pub const DUMP: &str = "db.sql.zst";
/// The compressed schema-only dump (tables, views, routines, no rows), for `diff`.
pub const SCHEMA: &str = "db-schema.sql.zst";

/// The dump client's functions (`database.sh`).
const LIB: &str = include_str!("database.sh");

/// Which database provision backs up with the scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbChoice {
    /// `--backup-db none`: the files only.
    None,
    /// A name given on the command line: `from` says where (`--backup-db`, `--db-name`).
    Named {
        engine: DbEngine,
        name: String,
        from: String,
    },
    /// The one the CMS config in the scope names, if one does; `engine`: `--db`'s, else
    /// MariaDB/MySQL.
    FromConfig { engine: DbEngine },
}

impl DbChoice {
    fn engine(&self) -> Option<DbEngine> {
        match self {
            DbChoice::None => None,
            DbChoice::Named { engine, .. } | DbChoice::FromConfig { engine } => Some(*engine),
        }
    }
}

/// The database to dump, as preflight found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbTarget {
    pub engine: DbEngine,
    pub name: String,
    pub from: String,
    pub admin: DbAdmin,
    /// The server's idea of the data's size (for the progress bar).
    pub approx_bytes: Option<u64>,
    /// Tables whose engine is not transactional (`wp_log (MyISAM)`).
    pub non_transactional: Vec<String>,
}

/// One table's rows at dump time: their count, and a checksum over them (MariaDB/MySQL:
/// `CHECKSUM TABLE`; PostgreSQL: md5 over the md5 of each row's text, in a fixed order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableStats {
    pub rows: u64,
    pub checksum: String,
}

/// What the record keeps of the database's dump (`BackupRecord::database`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbDump {
    pub engine: DbEngine,
    /// The database's name, and where it came from: the CMS config's path, `--backup-db` or
    /// `--db-name`.
    pub name: String,
    pub name_from: String,
    /// How restore and check reach the server: as provision did (the variable's name only).
    pub admin: DbAdmin,
    /// The compressed dump and schema, in the backup's directory.
    pub file: String,
    pub schema_file: String,
    /// The dump's SQL as it came, and its SHA-256; the compressed file's size.
    pub stream_bytes: u64,
    pub stream_sha256: String,
    pub archive_bytes: u64,
    /// Every table's rows at dump time, by name (PostgreSQL: `schema.table`).
    pub tables: BTreeMap<String, TableStats>,
    /// Tables whose engine is not transactional: their dump may be inconsistent while the
    /// site writes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_transactional: Vec<String>,
    /// Tables whose rows changed while the dump was taken: the dump holds them as they were
    /// at some instant between, so their recorded stats are left out of checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_during_dump: Vec<String>,
}

impl DbDump {
    pub fn client<'a>(&'a self, password: Option<&'a Secret>) -> Client<'a> {
        Client {
            engine: self.engine,
            admin: &self.admin,
            password,
        }
    }
}

/// Facts and notes preflight prints.
const FACT_NAME: &str = "backup_db_name";
const FACT_FROM: &str = "backup_db_from";
const FACT_CONFIG: &str = "backup_db_config";
const FACT_BYTES: &str = "backup_db_bytes";
const NOTE_NON_TRANSACTIONAL: &str = "backup-db-nontx";

/// How the administrator reaches the server, for check descriptions.
fn reached_as(engine: DbEngine, admin: &DbAdmin) -> String {
    let user = admin.user.as_deref().unwrap_or(engine.default_admin());
    match (&admin.password_env, engine) {
        (Some(var), _) => format!("as `{user}` with the password from ${var}"),
        (None, DbEngine::Mysql) => "as root through its unix socket".to_owned(),
        (None, DbEngine::Postgres) => "as `postgres` (runuser -u postgres)".to_owned(),
    }
}

/// Define `hv_db_client` (db.sh), the dump functions and `hv_bdb_dump` for this way of
/// reaching the server.
fn define(client: &Client, s: &mut Script) {
    client.define(s);
    s.raw(LIB);
    s.raw(match (client.engine, client.admin.password_env.is_some()) {
        (DbEngine::Mysql, false) => r#"hv_bdb_dump() { hv_bdb_dump_mysql_root "$@"; }"#,
        (DbEngine::Mysql, true) => r#"hv_bdb_dump() { hv_bdb_dump_mysql_password "$@"; }"#,
        (DbEngine::Postgres, false) => r#"hv_bdb_dump() { hv_bdb_dump_pg_root "$@"; }"#,
        (DbEngine::Postgres, true) => r#"hv_bdb_dump() { hv_bdb_dump_pg_password "$@"; }"#,
    });
}

/// The dump client's option for a dump without rows.
fn schema_only(engine: DbEngine) -> &'static str {
    match engine {
        DbEngine::Mysql => "--no-data",
        DbEngine::Postgres => "--schema-only",
    }
}

/// Preflight's part for the database (nothing changes): which database (facts
/// `backup_db_name`, `backup_db_from`), then that the dump client is installed, the server
/// answers, the database exists and the administrator can read all of it (a schema-only dump
/// and an empty `SELECT` from every table); its size and its non-transactional tables.
pub fn preflight(
    s: &mut Script,
    checks: &mut Checks,
    choice: &DbChoice,
    scope: &str,
    admin: &DbAdmin,
    password: Option<&Secret>,
) {
    let Some(engine) = choice.engine() else {
        return;
    };
    match choice {
        DbChoice::Named { name, from, .. } => {
            s.cmd("hv_db={}; hv_db_from={}", &[name, from]);
        }
        _ => {
            read_cms_db_name(s, scope);
            s.raw("if [ -n \"$hv_db_from\" ]; then hv_fact backup_db_config \"$hv_db_from\"; fi");
        }
    }
    // Only a name of the strict pattern is used (read_cms_db_name's programs allow no other).
    s.raw("case $hv_db in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9_-]*) hv_db= ;; esac");
    s.raw("if [ -n \"$hv_db\" ]; then hv_fact backup_db_name \"$hv_db\"; hv_fact backup_db_from \"$hv_db_from\"; fi");
    let label = engine.label();
    let none = "or provision with --backup-db none";
    let (client_id, runuser_id) = match engine {
        DbEngine::Mysql => (
            checks.add(
                "backup-db-client",
                format!("the dump client `mariadb-dump` or `mysqldump` is installed, for the database's backup (Debian package `mariadb-client`; {none})"),
            ),
            None,
        ),
        DbEngine::Postgres => (
            checks.add(
                "backup-db-client",
                format!("the dump client `pg_dump` is installed, for the database's backup (Debian package `postgresql-client`; {none})"),
            ),
            admin.password_env.is_none().then(|| {
                checks.add(
                    "backup-db-runuser",
                    format!("`runuser` is installed (Debian package `util-linux`; {none})"),
                )
            }),
        ),
    };
    let reachable = checks.add(
        "backup-db-reachable",
        format!(
            "the {label} server answers {}, for the database's backup (give the administrator with --db-admin-user and --db-admin-password-env, {none})",
            reached_as(engine, admin)
        ),
    );
    let named = match choice {
        DbChoice::Named { name, .. } => format!("`{name}`"),
        _ => "named in the CMS config".to_owned(),
    };
    let exists = checks.add(
        "backup-db-exists",
        format!(
            "database {named} exists on the {label} server (name the site's database with --backup-db [ENGINE:]NAME, {none})"
        ),
    );
    let readable = checks.add(
        "backup-db-readable",
        format!(
            "the database administrator can read all of database {named}: schema, routines, triggers, events and every table (give one who can with --db-admin-user and --db-admin-password-env, {none})"
        ),
    );
    let mut ids = vec![client_id.clone()];
    ids.extend(runuser_id.clone());
    ids.extend([reachable.clone(), exists.clone(), readable.clone()]);
    // No database named: the files alone, every check passes (the output says so).
    s.raw("if [ -z \"$hv_db\" ]; then");
    for id in &ids {
        s.cmd("  hv_ok {}", &[id]);
    }
    s.raw("else");
    match engine {
        DbEngine::Mysql => s.cmd(
            "if command -v mariadb-dump >/dev/null 2>&1 || command -v mysqldump >/dev/null 2>&1; then hv_ok {}; else hv_fail {}; fi",
            &[&client_id, &client_id],
        ),
        DbEngine::Postgres => s.cmd("hv_expect {} command -v pg_dump", &[&client_id]),
    };
    if let Some(id) = &runuser_id {
        s.cmd("hv_expect {} command -v runuser", &[id]);
    }
    let client = Client {
        engine,
        admin,
        password,
    };
    define(&client, s);
    let sql = match engine {
        DbEngine::Mysql => concat!(
            "SELECT CONCAT('db ', SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '@DB@';\n",
            "SELECT CONCAT('bytes ', COALESCE(SUM(DATA_LENGTH), 0)) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '@DB@';\n",
            "SELECT CONCAT('nontx ', TABLE_NAME, ' (', ENGINE, ')') FROM information_schema.TABLES WHERE TABLE_SCHEMA = '@DB@' AND TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB' ORDER BY TABLE_NAME;\n",
            // SELECT on the server or the whole database: a table-level grant hides the other
            // tables from the dump, which would then pass without them.
            "SELECT CONCAT('select ', COUNT(*)) FROM (SELECT GRANTEE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SELECT' UNION ALL SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SELECT' AND '@DB@' LIKE TABLE_SCHEMA) p WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''');",
        ),
        DbEngine::Postgres => concat!(
            "SELECT 'db ' || datname FROM pg_database WHERE datname = '@DB@';\n",
            "SELECT 'bytes ' || pg_database_size(datname) FROM pg_database WHERE datname = '@DB@';",
        ),
    };
    client.run_piped(
        s,
        "hv_q=$(hv_bdb_sql {} | hv_db_client '' 2>&1",
        &[sql],
        ") && hv_rc=0 || hv_rc=$?",
    );
    s.cmd(
        "if [ \"$hv_rc\" -eq 0 ]; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_q\" | hv_detail {}; fi",
        &[&reachable, &reachable, &reachable],
    );
    s.cmd(
        "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -Fqx \"db $hv_db\"; then hv_ok {}; hv_fact backup_db_bytes \"$(printf '%s\\n' \"$hv_q\" | sed -n 's/^bytes //p' | head -n 1)\"",
        &[&exists],
    );
    s.cmd(
        "  printf '%s\\n' \"$hv_q\" | sed -n 's/^nontx //p' | while IFS= read -r hv_l; do hv_note {} \"$hv_l\"; done",
        &[NOTE_NON_TRANSACTIONAL],
    );
    // Readable: the schema as the dump reads it (routines, triggers, events need their own
    // rights), then an empty SELECT from every table (the rows need SELECT).
    if engine == DbEngine::Mysql {
        s.raw("  hv_e='the administrator has no SELECT privilege on the whole database (on *.* or on the database itself)'; hv_rc=1");
        s.raw("  if printf '%s\\n' \"$hv_q\" | grep -q '^select [1-9]'; then");
    }
    client.run_piped(
        s,
        "  hv_e=$(hv_bdb_dump \"$hv_db\" {} 2>&1 >/dev/null",
        &[schema_only(engine)],
        "  ) && hv_rc=0 || hv_rc=$?",
    );
    match engine {
        DbEngine::Mysql => {
            let generate = "SELECT CONCAT('SELECT 1 FROM `', REPLACE(TABLE_NAME, '`', '``'), '` LIMIT 0;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW');";
            s.raw("  if [ \"$hv_rc\" -eq 0 ]; then");
            client.run(
                s,
                "    hv_e=$(hv_db_client \"$hv_db\" 2>&1",
                &[],
                generate,
                false,
                "    ) && hv_rc=0 || hv_rc=$?",
            );
            s.raw("    if [ \"$hv_rc\" -eq 0 ]; then hv_q=$hv_e;");
            client.run_piped(
                s,
                "      hv_e=$(printf '%s\\n' \"$hv_q\" | hv_db_client \"$hv_db\" 2>&1 >/dev/null",
                &[],
                "      ) && hv_rc=0 || hv_rc=$?",
            );
            s.raw("    fi");
            s.raw("  fi");
            s.raw("  fi");
        }
        DbEngine::Postgres => {
            let select_all = "SELECT format('SELECT 1 FROM %I.%I LIMIT 0', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \\gexec";
            s.raw("  if [ \"$hv_rc\" -eq 0 ]; then");
            client.run(
                s,
                "    hv_e=$(hv_db_client \"$hv_db\" 2>&1 >/dev/null",
                &[],
                select_all,
                false,
                "    ) && hv_rc=0 || hv_rc=$?",
            );
            s.raw("  fi");
        }
    }
    s.cmd(
        "  if [ \"$hv_rc\" -eq 0 ]; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_e\" | hv_detail {}; fi",
        &[&readable, &readable, &readable],
    );
    s.cmd(
        "else hv_fail {}; hv_fail {}; printf 'database %s (from %s)\\n' \"$hv_db\" \"${{hv_db_from:-the command line}}\" | hv_detail {}; fi",
        &[&exists, &readable, &exists],
    );
    s.raw("fi");
}

/// What preflight found: the database to dump, or why none is (a sentence for the output).
pub fn resolve(choice: &DbChoice, parsed: &Parsed, admin: &DbAdmin) -> Result<DbTarget, String> {
    let Some(engine) = choice.engine() else {
        return Err("the database was not backed up (--backup-db none)".to_owned());
    };
    let facts = &parsed.facts;
    let Some(name) = facts
        .get(FACT_NAME)
        .filter(|n| crate::actions::db_sql::valid_db_name(n))
    else {
        return Err(match facts.get(FACT_CONFIG) {
            Some(config) => format!(
                "the database was not backed up: {config} names no database handover can read (name it with --backup-db [ENGINE:]NAME)"
            ),
            None => format!(
                "the database was not backed up: no CMS config in the scope names one ({}; name it with --backup-db [ENGINE:]NAME)",
                cms_configs()
            ),
        });
    };
    Ok(DbTarget {
        engine,
        name: name.clone(),
        from: facts.get(FACT_FROM).cloned().unwrap_or_default(),
        admin: admin.clone(),
        approx_bytes: facts.get(FACT_BYTES).and_then(|b| b.parse().ok()),
        non_transactional: parsed.notes(NOTE_NON_TRANSACTIONAL),
    })
}

/// The warning for tables whose dump may be inconsistent.
pub fn non_transactional_warning(database: &str, tables: &[String]) -> Option<String> {
    (!tables.is_empty()).then(|| {
        format!(
            "database `{database}` has tables that are not transactional: {}; their dump may be inconsistent if the site writes to them while it is taken",
            tables.join(", ")
        )
    })
}

/// Script text that prints each base table's stats of database `$hv_db` (set before):
/// `#rows NAME N` and `DB.NAME CHECKSUM` rows (MariaDB/MySQL) or `#t NAME N MD5` rows
/// (PostgreSQL), tab-separated.
fn stats_script(client: &Client, s: &mut Script) {
    match client.engine {
        DbEngine::Mysql => {
            let generate = "SELECT CONCAT('SELECT ''#rows'', ', QUOTE(TABLE_NAME), ', COUNT(*) FROM `', REPLACE(TABLE_NAME, '`', '``'), '`; CHECKSUM TABLE `', REPLACE(TABLE_NAME, '`', '``'), '`;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME;";
            client.run(
                s,
                "hv_q=$(hv_db_client \"$hv_db\" 2>&1",
                &[],
                generate,
                false,
                ") && hv_rc=0 || hv_rc=$?",
            );
            s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
            s.raw("if [ -n \"$hv_q\" ]; then");
            client.run_piped(
                s,
                "  printf '%s\\n' \"$hv_q\" | hv_db_client \"$hv_db\"",
                &[],
                "",
            );
            s.raw("fi");
        }
        DbEngine::Postgres => {
            let sql = "SELECT format('SELECT %L, %L, count(*), coalesce(md5(string_agg(md5(t::text), '''' ORDER BY md5(t::text))), '''') FROM %I.%I t', '#t', schemaname || '.' || tablename, schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename \\gexec";
            client.run(s, "hv_db_client \"$hv_db\"", &[], sql, false, "");
        }
    }
}

/// Parse what [`stats_script`] printed.
fn parse_stats(engine: DbEngine, lines: &[String]) -> BTreeMap<String, TableStats> {
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        match (engine, fields.as_slice()) {
            (DbEngine::Mysql, ["#rows", name, n]) => {
                rows.insert((*name).to_owned(), n.parse().unwrap_or(u64::MAX));
            }
            // `db.table`: the database's name holds no dot (the strict pattern).
            (DbEngine::Mysql, [qualified, sum]) => {
                if let Some((_, name)) = qualified.split_once('.') {
                    sums.insert(name.to_owned(), (*sum).to_owned());
                }
            }
            (DbEngine::Postgres, ["#t", name, n, sum]) => {
                rows.insert((*name).to_owned(), n.parse().unwrap_or(u64::MAX));
                sums.insert((*name).to_owned(), (*sum).to_owned());
            }
            _ => {}
        }
    }
    rows.into_iter()
        .map(|(name, rows)| {
            let checksum = sums.remove(&name).unwrap_or_default();
            (name, TableStats { rows, checksum })
        })
        .collect()
}

/// Every table's stats of `database` now, as the server computes them.
pub async fn table_stats(
    session: &Session,
    client: &Client<'_>,
    database: &str,
) -> Result<BTreeMap<String, TableStats>, (String, String)> {
    let mut s = Script::new();
    define(client, &mut s);
    s.cmd("hv_db={}", &[database]);
    stats_script(client, &mut s);
    let output = session
        .run(&s, |_| {})
        .await
        .map_err(|e| (String::new(), e.to_string()))?;
    if !output.success() {
        return Err((
            output
                .exit_status
                .map_or_else(|| "no status".to_owned(), |c| c.to_string()),
            remote_stderr(&output.stderr),
        ));
    }
    Ok(parse_stats(client.engine, &output.lines))
}

/// The footer each client writes last: a dump without it was cut short.
fn footer(engine: DbEngine) -> &'static [u8] {
    match engine {
        DbEngine::Mysql => b"\n-- Dump completed",
        DbEngine::Postgres => b"\n-- PostgreSQL database dump complete\n",
    }
}

/// How much of a dump's end is kept to find the footer in (PostgreSQL writes lines after it).
const TAIL: usize = 4096;

/// What one streamed dump gave.
struct Streamed {
    bytes: u64,
    sha256: String,
    archive_bytes: u64,
}

/// Take the database's dump into `dir` (the backup's directory, made by the files' backup)
/// right after the files: [`DUMP`] and [`SCHEMA`], with the stats of every table. On failure
/// its own files are removed (the caller removes the directory).
pub async fn take(
    session: &Session,
    dir: &Path,
    target: &DbTarget,
    password: Option<&Secret>,
    progress: &Progress,
) -> Result<DbDump, BackupError> {
    let result = take_into(session, dir, target, password, progress).await;
    if result.is_err() {
        for name in [DUMP, SCHEMA] {
            let _ = fs::remove_file(dir.join(name));
            let _ = fs::remove_file(dir.join(format!("{name}.part")));
        }
    }
    result
}

async fn take_into(
    session: &Session,
    dir: &Path,
    target: &DbTarget,
    password: Option<&Secret>,
    progress: &Progress,
) -> Result<DbDump, BackupError> {
    let host = session.target().host.clone();
    let client = Client {
        engine: target.engine,
        admin: &target.admin,
        password,
    };
    let stats_error = |(status, stderr): (String, String)| BackupError::Dump {
        database: target.name.clone(),
        host: host.clone(),
        failure: format!(
            "reading its tables' row counts and checksums exited with {status}{stderr}"
        ),
    };
    let before = table_stats(session, &client, &target.name)
        .await
        .map_err(stats_error)?;
    let label = format!(
        "dumping {} database `{}`",
        target.engine.label(),
        target.name
    );
    let dump = stream(
        session,
        &client,
        target,
        &[],
        &dir.join(DUMP),
        Some((progress, &label)),
    )
    .await?;
    stream(
        session,
        &client,
        target,
        &[schema_only(target.engine)],
        &dir.join(SCHEMA),
        None,
    )
    .await?;
    let after = table_stats(session, &client, &target.name)
        .await
        .map_err(stats_error)?;
    // A table whose stats moved while the dump ran is held as it was at some instant between.
    let changed_during_dump: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|t| before.get(*t) != after.get(*t))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let tables = after
        .into_iter()
        .filter(|(t, _)| !changed_during_dump.contains(t))
        .collect();
    tracing::info!(
        bytes = dump.bytes,
        database = target.name,
        "database dump taken"
    );
    Ok(DbDump {
        engine: target.engine,
        name: target.name.clone(),
        name_from: target.from.clone(),
        admin: target.admin.clone(),
        file: DUMP.to_owned(),
        schema_file: SCHEMA.to_owned(),
        stream_bytes: dump.bytes,
        stream_sha256: dump.sha256,
        archive_bytes: dump.archive_bytes,
        tables,
        non_transactional: target.non_transactional.clone(),
        changed_during_dump,
    })
}

/// Stream the dump client's output (with `args`) into `path`, zstd-compressed as it arrives,
/// under a `.part` name renamed when the client exited 0 and its footer is there.
async fn stream(
    session: &Session,
    client: &Client<'_>,
    target: &DbTarget,
    args: &[&str],
    path: &Path,
    progress: Option<(&Progress, &str)>,
) -> Result<Streamed, BackupError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Write { path, source }
    };
    let host = session.target().host.clone();
    let part = path.with_extension("zst.part");
    let file = private_file(&part).map_err(write_error(&part))?;
    let mut encoder =
        zstd::stream::write::Encoder::new(BufWriter::new(file), 3).map_err(write_error(&part))?;
    let mut s = Script::new();
    define(client, &mut s);
    s.cmd("hv_db={}", &[&target.name]);
    // The client writes the stream, nothing else does: its exit status is the script's.
    match args {
        [] => client.run_piped(&mut s, "hv_bdb_dump \"$hv_db\"", &[], ""),
        [arg] => client.run_piped(&mut s, "hv_bdb_dump \"$hv_db\" {}", &[arg], ""),
        _ => client.run_piped(&mut s, "hv_bdb_dump \"$hv_db\" {} {}", args, ""),
    }
    let transfer = progress.map(|(progress, label)| progress.transfer(label, target.approx_bytes));
    let mut hash = Context::new(&SHA256);
    let (mut bytes, mut tail) = (0u64, Vec::with_capacity(2 * TAIL));
    let (output, failed) = session
        .run_stream(&s, |data| {
            hash.update(data);
            bytes += data.len() as u64;
            if let Some(t) = &transfer {
                t.add(data.len() as u64);
            }
            tail.extend_from_slice(data);
            if tail.len() > 2 * TAIL {
                tail.drain(..tail.len() - TAIL);
            }
            encoder.write_all(data)
        })
        .await?;
    if let Some(t) = transfer {
        t.finish();
    }
    if let Some(source) = failed {
        return Err(BackupError::Write { path: part, source });
    }
    if output.exit_status != Some(0) {
        return Err(BackupError::Dump {
            database: target.name.clone(),
            host,
            failure: format!(
                "the dump client exited with {}{}",
                output
                    .exit_status
                    .map_or_else(|| "no status (killed)".to_owned(), |s| s.to_string()),
                remote_stderr(&output.stderr)
            ),
        });
    }
    let footer = footer(target.engine);
    if !tail.windows(footer.len()).any(|w| w == footer) {
        return Err(BackupError::Incomplete {
            scope: format!("database `{}`", target.name),
            host,
            why: format!(
                "{bytes} bytes without the dump's completion line `{}`",
                String::from_utf8_lossy(footer).trim()
            ),
        });
    }
    let mut writer = encoder.finish().map_err(write_error(&part))?;
    writer.flush().map_err(write_error(&part))?;
    let file = writer.into_inner().map_err(|e| BackupError::Write {
        path: part.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(write_error(&part))?;
    drop(file);
    fs::rename(&part, path).map_err(write_error(path))?;
    Ok(Streamed {
        bytes,
        sha256: hex(hash.finish().as_ref()),
        archive_bytes: fs::metadata(path).map_err(write_error(path))?.len(),
    })
}

// ---- After the window: check, plan, restore, diff ----

use super::RestoreError;

/// How the tables differ between the backup and a database now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TablesDiff {
    /// Tables the backup does not have, with their rows now.
    pub added: BTreeMap<String, u64>,
    /// Tables of the backup that are gone, with their rows in the backup.
    pub removed: BTreeMap<String, u64>,
    /// Tables whose rows differ: rows in the backup and now.
    pub changed: BTreeMap<String, RowsChange>,
    /// Tables as they were.
    pub unchanged: usize,
}

/// A table's rows in the backup and now (the checksum differs even when the count does not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowsChange {
    pub backup: u64,
    pub now: u64,
}

impl TablesDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// One line per table that differs: `+ wp_new (3 rows)`, `- wp_old`, `~ wp_posts: 5 → 6 rows`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (t, rows) in &self.added {
            out.push(format!("+ table {t} added ({rows} rows)"));
        }
        for (t, rows) in &self.removed {
            out.push(format!("- table {t} removed ({rows} rows in the backup)"));
        }
        for (t, c) in &self.changed {
            out.push(format!(
                "~ table {t}: rows changed ({} in the backup, {} now)",
                c.backup, c.now
            ));
        }
        out
    }
}

/// Compare the recorded stats with `now` (tables that changed during the dump are left out:
/// their recorded stats are not known).
fn compare(dump: &DbDump, now: &BTreeMap<String, TableStats>) -> TablesDiff {
    let mut diff = TablesDiff::default();
    for (t, stats) in now {
        if dump.changed_during_dump.contains(t) {
            continue;
        }
        match dump.tables.get(t) {
            None => {
                diff.added.insert(t.clone(), stats.rows);
            }
            Some(old) if old != stats => {
                diff.changed.insert(
                    t.clone(),
                    RowsChange {
                        backup: old.rows,
                        now: stats.rows,
                    },
                );
            }
            Some(_) => diff.unchanged += 1,
        }
    }
    for (t, old) in &dump.tables {
        if !now.contains_key(t) {
            diff.removed.insert(t.clone(), old.rows);
        }
    }
    diff
}

/// The dump's SQL as it was taken, read from the backup's compressed file as it is sent.
fn dump_reader(
    dir: &Path,
    name: &str,
) -> Result<zstd::stream::read::Decoder<'static, std::io::BufReader<fs::File>>, RestoreError> {
    let path = dir.join(name);
    fs::File::open(&path)
        .and_then(zstd::stream::read::Decoder::new)
        .map_err(|source| RestoreError::Read { path, source })
}

/// Run `script` with the dump on its stdin (decompressed as it is sent), with a progress bar
/// labelled `label`.
async fn feed_dump(
    session: &Session,
    script: &Script,
    dir: &Path,
    dump: &DbDump,
    label: String,
    progress: &Progress,
) -> Result<crate::ssh::Output, RestoreError> {
    let transfer = progress.transfer(&label, Some(dump.stream_bytes));
    let mut input = super::restore::Counted {
        inner: dump_reader(dir, &dump.file)?,
        bytes: 0,
        error: None,
        transfer: &transfer,
    };
    let result = session.run_feed(script, &mut input, |_| {}).await;
    let error = input.error.take();
    transfer.finish();
    if let Some(source) = error {
        return Err(RestoreError::Read {
            path: dir.join(&dump.file),
            source,
        });
    }
    Ok(result?)
}

fn remote_error(
    what: &'static str,
    dump: &DbDump,
    session: &Session,
    output: &crate::ssh::Output,
) -> RestoreError {
    RestoreError::Remote {
        host: session.target().host.clone(),
        step: format!("{what} of database `{}`", dump.name),
        status: output
            .exit_status
            .map_or_else(|| "none".to_owned(), |s| s.to_string()),
        stderr: remote_stderr(&output.stderr),
    }
}

/// `restore --dry-run`: how the database's tables differ now from the backup (nothing changes).
pub async fn plan(
    session: &Session,
    dump: &DbDump,
    password: Option<&Secret>,
) -> Result<TablesDiff, RestoreError> {
    let client = dump.client(password);
    let now = table_stats(session, &client, &dump.name)
        .await
        .map_err(|(status, stderr)| RestoreError::Remote {
            host: session.target().host.clone(),
            step: format!("reading the tables of database `{}`", dump.name),
            status,
            stderr,
        })?;
    Ok(compare(dump, &now))
}

/// Script text that loads the SQL on the script's stdin into `$hv_db`, then prints the stats
/// of its tables; the load's failure ends the script with its status.
fn load_and_stats(client: &Client, s: &mut Script) {
    load(client, s);
    stats_script(client, s);
}

/// The dump on stdin into `$hv_db`.
fn load(client: &Client, s: &mut Script) {
    client.run_piped(s, "hv_db_client \"$hv_db\" >/dev/null", &[], "");
    s.raw("hv_rc=$?; if [ \"$hv_rc\" -ne 0 ]; then echo 'loading the dump failed' >&2; hv_bdb_end \"$hv_rc\"; fi");
}

/// A PostgreSQL database's own settings beyond `CREATE DATABASE`, as the statements that set
/// them again: its connection limit, `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET`
/// (list settings such as search_path as stored, already quoted), the privileges granted on
/// it (when they are not the defaults), and its comment.
const POSTGRES_DATABASE_SETTINGS: &str = "\
SELECT s FROM (\
 SELECT 1 AS o, format('ALTER DATABASE %I CONNECTION LIMIT %s;', datname, datconnlimit) AS s FROM pg_database WHERE datname = '@DB@' AND datconnlimit <> -1 \
 UNION ALL SELECT 2, format('%s SET %s TO %s;', CASE WHEN r.setrole = 0 THEN format('ALTER DATABASE %I', d.datname) ELSE format('ALTER ROLE %I IN DATABASE %I', pg_get_userbyid(r.setrole), d.datname) END, split_part(c, '=', 1), CASE WHEN split_part(c, '=', 1) IN ('search_path', 'temp_tablespaces', 'local_preload_libraries', 'session_preload_libraries') THEN substr(c, strpos(c, '=') + 1) ELSE quote_literal(substr(c, strpos(c, '=') + 1)) END) FROM pg_database d JOIN pg_db_role_setting r ON r.setdatabase = d.oid, unnest(r.setconfig) c WHERE d.datname = '@DB@' \
 UNION ALL SELECT 3, format('REVOKE ALL ON DATABASE %I FROM PUBLIC, %I;', datname, pg_get_userbyid(datdba)) FROM pg_database WHERE datname = '@DB@' AND datacl IS NOT NULL \
 UNION ALL SELECT 4, format('GRANT %s ON DATABASE %I TO %s%s;', a.privilege_type, d.datname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = '@DB@' \
 UNION ALL SELECT 5, format('COMMENT ON DATABASE %I IS %L;', datname, shobj_description(oid, 'pg_database')) FROM pg_database WHERE datname = '@DB@' AND shobj_description(oid, 'pg_database') IS NOT NULL\
) q ORDER BY o;";

/// `restore --check`: load the dump into a new temporary database on the same server
/// (`handover_check_…`), compare its tables' row counts and checksums with the recorded ones,
/// and drop it again, also when anything fails. The site's database is not touched. An empty
/// diff: the backup restores exactly.
pub async fn check(
    session: &Session,
    dir: &Path,
    dump: &DbDump,
    password: Option<&Secret>,
    progress: &Progress,
) -> Result<TablesDiff, RestoreError> {
    let client = dump.client(password);
    let temporary = format!("handover_check_{}", crate::secret::random_lower_alnum(12));
    let mut s = Script::new();
    define(&client, &mut s);
    s.cmd("hv_db={}", &[&temporary]);
    // Whatever happens below, the temporary database goes.
    drop_database(&client, &mut s, "hv_bdb_end() {{", "}}");
    create_database(&client, &mut s, &temporary);
    s.raw("if [ \"$hv_rc\" -ne 0 ]; then echo 'creating the temporary database failed' >&2; hv_bdb_end 1; fi");
    load_and_stats(&client, &mut s);
    s.raw("hv_bdb_end \"$?\"");
    let label = format!("loading the dump of `{}` into `{temporary}`", dump.name);
    let result = feed_dump(session, &s, dir, dump, label, progress).await;
    // Again on its own, in case the script was cut off before its end.
    let mut cleanup = Script::new();
    define(&client, &mut cleanup);
    cleanup.cmd("hv_db={}", &[&temporary]);
    drop_database(&client, &mut cleanup, "", "");
    let cleaned = session.run(&cleanup, |_| {}).await;
    let output = result?;
    if !output.success() {
        return Err(remote_error(
            "loading the dump into a temporary copy",
            dump,
            session,
            &output,
        ));
    }
    if let Ok(out) = &cleaned
        && !out.success()
    {
        return Err(remote_error(
            "dropping the temporary copy",
            dump,
            session,
            out,
        ));
    }
    Ok(compare(dump, &parse_stats(dump.engine, &output.lines)))
}

/// `CREATE DATABASE` of `name` (validated) for the dump's engine; `$hv_rc` its status.
fn create_database(client: &Client, s: &mut Script, name: &str) {
    let sql = match client.engine {
        DbEngine::Mysql => format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4;\n",
            crate::actions::db_sql::my_ident(name)
        ),
        DbEngine::Postgres => format!(
            "CREATE DATABASE {} TEMPLATE template0;\n",
            crate::actions::db_sql::pg_ident(name)
        ),
    };
    client.run(s, "hv_db_client '' >/dev/null", &[], &sql, false, "");
    s.raw("hv_rc=$?");
}

/// A shell function (or plain text, with empty `open`/`close`) that drops `$hv_db` and exits
/// with its first argument.
fn drop_database(client: &Client, s: &mut Script, open: &'static str, close: &'static str) {
    if !open.is_empty() {
        s.cmd(open, &[]);
    }
    let sql = match client.engine {
        DbEngine::Mysql => "DROP DATABASE IF EXISTS `@DB@`;",
        DbEngine::Postgres => "DROP DATABASE IF EXISTS \"@DB@\" WITH (FORCE);",
    };
    client.run_piped(
        s,
        "  hv_bdb_sql {} | hv_db_client '' >/dev/null",
        &[sql],
        "",
    );
    if !close.is_empty() {
        s.raw("  exit \"${1:-0}\"");
        s.cmd(close, &[]);
    }
}

/// `restore --db`: put the site's database back exactly as the dump holds it (the database
/// dropped and made again with its character set, or its owner, encoding and locale, then the
/// dump loaded: tables added during the window are gone, changed ones as they were), then
/// verified against the recorded stats. An empty diff: restored and verified.
pub async fn restore(
    session: &Session,
    dir: &Path,
    dump: &DbDump,
    password: Option<&Secret>,
    progress: &Progress,
) -> Result<TablesDiff, RestoreError> {
    let client = dump.client(password);
    let mut s = Script::new();
    define(&client, &mut s);
    s.cmd("hv_db={}", &[&dump.name]);
    s.raw("hv_bdb_end() { exit \"${1:-0}\"; }");
    // The database's own settings, read before it is dropped.
    let settings = match dump.engine {
        DbEngine::Mysql => {
            "SELECT CONCAT('CREATE DATABASE `@DB@` CHARACTER SET ', DEFAULT_CHARACTER_SET_NAME, ' COLLATE ', DEFAULT_COLLATION_NAME, ';') FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '@DB@';"
        }
        DbEngine::Postgres => {
            "SELECT format('CREATE DATABASE %I WITH TEMPLATE template0 OWNER %I ENCODING %L LC_COLLATE %L LC_CTYPE %L;', datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype) FROM pg_database WHERE datname = '@DB@';"
        }
    };
    client.run_piped(
        &mut s,
        "hv_q=$(hv_bdb_sql {} | hv_db_client '' 2>&1",
        &[settings],
        ") && hv_rc=0 || hv_rc=$?",
    );
    s.raw("case $hv_q in 'CREATE DATABASE '*) ;; *) printf 'cannot read the database'\\''s settings: %s\\n' \"$hv_q\" >&2; exit 1 ;; esac");
    // PostgreSQL keeps more of a database outside its dump (a plain pg_dump has none of it),
    // all gone with DROP DATABASE: read now, set again after the load (a setting such as
    // default_transaction_read_only must not apply to the load itself).
    if dump.engine == DbEngine::Postgres {
        client.run_piped(
            &mut s,
            "hv_after=$(hv_bdb_sql {} | hv_db_client '' 2>&1",
            &[POSTGRES_DATABASE_SETTINGS],
            ") && hv_rc=0 || hv_rc=$?",
        );
        s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf 'cannot read the database'\\''s settings: %s\\n' \"$hv_after\" >&2; exit 1; fi");
    }
    drop_database(&client, &mut s, "", "");
    s.raw("hv_rc=$?; if [ \"$hv_rc\" -ne 0 ]; then exit \"$hv_rc\"; fi");
    client.run_piped(
        &mut s,
        "printf '%s\\n' \"$hv_q\" | hv_db_client '' >/dev/null",
        &[],
        "",
    );
    s.raw("hv_rc=$?; if [ \"$hv_rc\" -ne 0 ]; then exit \"$hv_rc\"; fi");
    load(&client, &mut s);
    if dump.engine == DbEngine::Postgres {
        client.run_piped(
            &mut s,
            "printf '%s\\n' \"$hv_after\" | hv_db_client '' >/dev/null",
            &[],
            "",
        );
        s.raw("hv_rc=$?; if [ \"$hv_rc\" -ne 0 ]; then echo 'setting the database'\\''s settings again failed' >&2; exit \"$hv_rc\"; fi");
    }
    stats_script(&client, &mut s);
    let label = format!("restoring database `{}`", dump.name);
    let output = feed_dump(session, &s, dir, dump, label, progress).await?;
    if !output.success() {
        return Err(remote_error("the restore", dump, session, &output));
    }
    Ok(compare(dump, &parse_stats(dump.engine, &output.lines)))
}

/// What `handover diff` shows of the database: the schema's changes as a unified diff, and the
/// tables whose rows changed.
#[derive(Clone, Debug, Serialize)]
pub struct DbDiff {
    pub database: String,
    pub schema_diff: String,
    pub tables: TablesDiff,
}

/// Lines that differ between two dumps of the same schema without the schema changing: dates,
/// versions, AUTO_INCREMENT counters, PostgreSQL's per-dump `\restrict` keys.
fn normalized_schema(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for line in sql.lines() {
        if line.starts_with("-- Dump completed")
            || line.starts_with("-- Server version")
            || line.starts_with("-- Dumped from")
            || line.starts_with("-- Dumped by")
            || line.starts_with("-- MariaDB dump")
            || line.starts_with("-- MySQL dump")
            || line.starts_with("\\restrict ")
            || line.starts_with("\\unrestrict ")
        {
            continue;
        }
        let line = match line.find(" AUTO_INCREMENT=") {
            Some(at) => {
                let rest = &line[at + " AUTO_INCREMENT=".len()..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                format!("{}{}", &line[..at], &rest[digits..])
            }
            None => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `handover diff`: the schema now against the backup's, and the tables whose rows changed.
pub async fn diff(
    session: &Session,
    dir: &Path,
    dump: &DbDump,
    password: Option<&Secret>,
) -> Result<DbDiff, RestoreError> {
    let client = dump.client(password);
    let mut backup = String::new();
    std::io::Read::read_to_string(&mut dump_reader(dir, &dump.schema_file)?, &mut backup).map_err(
        |source| RestoreError::Read {
            path: dir.join(&dump.schema_file),
            source,
        },
    )?;
    let mut s = Script::new();
    define(&client, &mut s);
    s.cmd("hv_db={}", &[&dump.name]);
    client.run_piped(
        &mut s,
        "hv_bdb_dump \"$hv_db\" {}",
        &[schema_only(dump.engine)],
        "",
    );
    let mut now = Vec::new();
    let (output, _) = session
        .run_stream(&s, |data| {
            now.extend_from_slice(data);
            Ok(())
        })
        .await?;
    if !output.success() {
        return Err(remote_error("the schema dump", dump, session, &output));
    }
    let (old, new) = (
        normalized_schema(&backup),
        normalized_schema(&String::from_utf8_lossy(&now)),
    );
    let schema_diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("backup/{}", dump.name),
            &format!("now/{}", dump.name),
        )
        .to_string();
    let tables = plan(session, dump, password).await?;
    Ok(DbDiff {
        database: dump.name.clone(),
        schema_diff,
        tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every script this module sends, for both engines, with and without an administrator's
    /// password, as the host receives it.
    fn scripts() -> Vec<(String, String)> {
        let password = Secret::new("admin 'pw' $HOME".to_owned());
        let mut out = Vec::new();
        for engine in [DbEngine::Mysql, DbEngine::Postgres] {
            for admin in [
                DbAdmin::default(),
                DbAdmin {
                    user: Some("dba".into()),
                    password_env: Some("DBA_PW".into()),
                },
            ] {
                let with = if admin.password_env.is_some() {
                    "password"
                } else {
                    "root"
                };
                for choice in [
                    DbChoice::FromConfig { engine },
                    DbChoice::Named {
                        engine,
                        name: "shop".into(),
                        from: "--backup-db".into(),
                    },
                ] {
                    let mut s = Script::new();
                    preflight(
                        &mut s,
                        &mut Checks::default(),
                        &choice,
                        "/var/www/it's a $(cms)",
                        &admin,
                        Some(&password),
                    );
                    out.push((
                        format!("{engine:?}.{with}.{choice:?}.preflight"),
                        s.text().to_owned(),
                    ));
                }
                let client = Client {
                    engine,
                    admin: &admin,
                    password: Some(&password),
                };
                let mut s = Script::new();
                define(&client, &mut s);
                s.cmd("hv_db={}", &["shop"]);
                stats_script(&client, &mut s);
                out.push((format!("{engine:?}.{with}.stats"), s.text().to_owned()));
                let mut s = Script::new();
                define(&client, &mut s);
                client.run_piped(&mut s, "hv_bdb_dump \"$hv_db\" {}", &["--no-data"], "");
                out.push((format!("{engine:?}.{with}.dump"), s.text().to_owned()));
            }
        }
        out
    }

    #[test]
    fn scripts_pass_shellcheck_and_sh_n() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut paths = Vec::new();
        for (name, text) in scripts() {
            let path = dir.path().join(format!(
                "{}.sh",
                name.replace([' ', '"', '{', '}', ':', ','], "_")
            ));
            fs::write(&path, text).expect("write script");
            let out = std::process::Command::new("/bin/sh")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("run sh -n");
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            paths.push(path);
        }
        let out = std::process::Command::new("shellcheck")
            .args(["--shell=sh", "--severity=warning", "--format=gcc"])
            .args(&paths)
            .output()
            .expect("run shellcheck (Debian package `shellcheck`)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn stats_parse_for_each_engine() {
        let lines: Vec<String> = [
            "#rows\twp_posts\t3",
            "wordpress.wp_posts\t123456",
            "#rows\twp_empty\t0",
            "wordpress.wp_empty\t0",
            "noise",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let stats = parse_stats(DbEngine::Mysql, &lines);
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats["wp_posts"],
            TableStats {
                rows: 3,
                checksum: "123456".into()
            }
        );
        let lines = vec!["#t\tpublic.items\t2\tabc".to_owned()];
        let stats = parse_stats(DbEngine::Postgres, &lines);
        assert_eq!(stats["public.items"].rows, 2);
        assert_eq!(stats["public.items"].checksum, "abc");
    }
}
