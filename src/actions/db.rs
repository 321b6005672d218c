//! A temporary database account: all privileges on one database and nothing else, reachable
//! from the host itself only (the vendor uses it over their SSH login), with a random password.
//!
//! MariaDB/MySQL: `'NAME'@'localhost'` with `ALL PRIVILEGES ON db.*` (the database name's
//! `_` and `%` escaped, so exactly that database). PostgreSQL: a `LOGIN` role without any
//! special attribute, `VALID UNTIL` the grant's expiry, marked with a comment naming the grant,
//! with all privileges on the database, its schemas and what they hold.
//!
//! Teardown cuts the account off, ends its connections (MariaDB: `KILL` its process-list
//! entries; PostgreSQL: `pg_terminate_backend`), drops it — in PostgreSQL after handing what
//! it owns to the database's owner (`REASSIGN OWNED`, then `DROP OWNED` for its privileges),
//! so the customer's data is never dropped — and verifies it is gone from `mysql.user` /
//! `pg_roles`.

use super::{Action, PlanError, Planning};
use super::db_sql::{
    Client, DbAdmin, DbEngine, my_account, my_grant_db, my_str, mysql_native_hash, pg_ident,
    pg_scram_verifier, pg_str, valid_db_name,
};
use super::{Checks, Context, Credentials, DbLogin, Step};
use crate::secret::Secret;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

/// Where a CMS names its database, and how to read only the name (never the password).
/// `sed` programs: the name is captured only if it matches `[A-Za-z0-9_-]`.
const CMS_CONFIGS: &[(&str, &str, &str)] = &[
    (
        "_config.php",
        "Composr `$SITE_INFO['db_site']`",
        r#"s/^[[:space:]]*\$SITE_INFO\[["']db_site["']\][[:space:]]*=[[:space:]]*["']\([A-Za-z0-9_-]*\)["'][[:space:]]*;.*$/\1/p"#,
    ),
    (
        "wp-config.php",
        "WordPress `DB_NAME`",
        r#"s/^[[:space:]]*define[[:space:]]*([[:space:]]*["']DB_NAME["'][[:space:]]*,[[:space:]]*["']\([A-Za-z0-9_-]*\)["'][[:space:]]*)[[:space:]]*;.*$/\1/p"#,
    ),
];

/// Script text that sets `hv_db` to the database name the first CMS config found in `dir`
/// names, and `hv_db_from` to that file's path (both empty when there is none; `hv_db` empty
/// when the file names none this pattern allows). Used by `--db` and by the backup.
pub fn read_cms_db_name(s: &mut Script, dir: &str) {
    s.raw("hv_db=; hv_db_from=");
    for (file, _, program) in CMS_CONFIGS {
        let path = format!("{}/{file}", dir.trim_end_matches('/'));
        s.cmd(
            "if [ -z \"$hv_db_from\" ] && [ -f {} ]; then hv_db_from={}; hv_db=$(sed -n {} {} | head -n 1); fi",
            &[&path, &path, program, &path],
        );
    }
}

/// The CMS configs [`read_cms_db_name`] reads, for messages: `wp-config.php (WordPress …)`.
pub fn cms_configs() -> String {
    CMS_CONFIGS
        .iter()
        .map(|(file, what, _)| format!("{file} ({what})"))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbUser {
    pub engine: DbEngine,
    /// The database; `None` until the engine fills it in from the CMS config read at
    /// preflight (it is always set before apply).
    pub database: Option<String>,
    /// The CMS config file the database name came from, if it did.
    #[serde(default)]
    pub database_from: Option<String>,
    /// Where to look for a CMS config when `database` is `None` (the scope).
    #[serde(default)]
    pub config_dir: Option<String>,
    /// The account: the grant's account name (validated as an account name).
    pub user: String,
    pub admin: DbAdmin,
}

impl DbUser {
    fn client<'a>(&'a self, ctx: &'a Context) -> Client<'a> {
        Client {
            engine: self.engine,
            admin: &self.admin,
            password: ctx.db_admin_password,
        }
    }

    fn database(&self) -> &str {
        self.database.as_deref().unwrap_or("")
    }

    /// The comment that marks a PostgreSQL role as this grant's own.
    fn mark(ctx: &Context) -> String {
        format!("handover grant {}", ctx.grant)
    }

    /// How the vendor connects, for the credentials.
    /// Every connection of the account ends (after a lock or a new password, none comes back).
    fn end_connections(&self, client: &Client, s: &mut Script) {
        match self.engine {
            DbEngine::Mysql => {
                s.raw("hv_after=0");
                kill_mysql_connections(
                    client,
                    s,
                    &format!(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = {};\n",
                        my_str(&self.user)
                    ),
                );
            }
            DbEngine::Postgres => client.run(
                s,
                "hv_db_client '' >/dev/null",
                &[],
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {};\n",
                    pg_str(&self.user)
                ),
                false,
                "",
            ),
        }
    }

    /// `suspend` (`locked`) or `resume`: the account locked and its connections ended, or
    /// unlocked; checked on the server.
    fn lock(&self, ctx: &Context, s: &mut Script, checks: &mut Checks, locked: bool) {
        let client = self.client(ctx);
        client.define(s);
        let (sql, state_sql) = match self.engine {
            DbEngine::Mysql => {
                let account = my_account(&self.user, "localhost");
                let lock = if locked { "LOCK" } else { "UNLOCK" };
                (
                    format!("ALTER USER {account} ACCOUNT {lock};\n"),
                    format!("SHOW CREATE USER {account};\n"),
                )
            }
            DbEngine::Postgres => {
                let login = if locked { "NOLOGIN" } else { "LOGIN" };
                (
                    format!("ALTER ROLE {} {login};\n", pg_ident(&self.user)),
                    format!(
                        "SELECT CASE WHEN rolcanlogin THEN 'login' ELSE 'ACCOUNT LOCK' END FROM pg_roles WHERE rolname = {};\n",
                        pg_str(&self.user)
                    ),
                )
            }
        };
        client.run(s, "hv_db_client '' >/dev/null", &[], &sql, false, "");
        if locked {
            self.end_connections(&client, s);
        }
        client.query(s, "", &state_sql);
        let label = self.engine.label();
        let id = if locked {
            checks.add(
                "db-locked",
                format!("{label} account `{}` is locked and none of its connections is left", self.user),
            )
        } else {
            checks.add(
                "db-unlocked",
                format!("{label} account `{}` may log in again", self.user),
            )
        };
        if locked {
            s.cmd(
                "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -q 'ACCOUNT LOCK'; then hv_ok {}; else hv_fail {}; fi",
                &[&id, &id],
            );
        } else {
            s.cmd(
                "if [ \"$hv_rc\" -eq 0 ] && [ -n \"$hv_q\" ] && ! printf '%s\\n' \"$hv_q\" | grep -q 'ACCOUNT LOCK'; then hv_ok {}; else hv_fail {}; fi",
                &[&id, &id],
            );
        }
    }

    pub fn connect_hint(&self) -> String {
        match self.engine {
            DbEngine::Mysql => format!("mariadb -u {} -p {}", self.user, self.database()),
            DbEngine::Postgres => format!(
                "psql -h localhost -U {} -d {} (or without -h, as the account of the same name)",
                self.user,
                self.database()
            ),
        }
    }
}

/// Preflight check that the engine's client is installed (and `runuser` for PostgreSQL's
/// root access).
pub(super) fn require_client(
    engine: DbEngine,
    admin: &DbAdmin,
    s: &mut Script,
    checks: &mut Checks,
) {
    match engine {
        DbEngine::Mysql => {
            let id = checks.add(
                "tool-mysql",
                "the `mariadb` or `mysql` client is installed (Debian package `mariadb-client`)",
            );
            s.cmd(
                "if command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1; then hv_ok {}; else hv_fail {}; fi",
                &[&id, &id],
            );
        }
        DbEngine::Postgres => {
            let id = checks.add(
                "tool-psql",
                "the `psql` client is installed (Debian package `postgresql-client`)",
            );
            s.cmd("hv_expect {} command -v psql", &[&id]);
            if admin.password_env.is_none() {
                let id = checks.add(
                    "tool-runuser",
                    "`runuser` is installed (Debian package `util-linux`)",
                );
                s.cmd("hv_expect {} command -v runuser", &[&id]);
            }
        }
    }
}

/// After `Client::query`: a check that the server answered, with its words as the detail.
pub(super) fn check_reachable(
    engine: DbEngine,
    admin: &DbAdmin,
    s: &mut Script,
    checks: &mut Checks,
) {
    let how = match (&admin.password_env, engine) {
        (Some(var), DbEngine::Mysql) => format!(
            "as `{}` with the password from ${var}",
            admin.user.as_deref().unwrap_or(engine.default_admin())
        ),
        (Some(var), DbEngine::Postgres) => format!(
            "as `{}` on localhost over TCP with the password from ${var}",
            admin.user.as_deref().unwrap_or(engine.default_admin())
        ),
        (None, DbEngine::Mysql) => "as root through its unix socket".to_owned(),
        (None, DbEngine::Postgres) => "as `postgres` (runuser -u postgres -- psql)".to_owned(),
    };
    let id = checks.add(
        "db-reachable",
        format!("the {} server answers {how}", engine.label()),
    );
    s.cmd(
        "if [ \"$hv_rc\" -eq 0 ]; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_q\" | hv_detail {}; fi",
        &[&id, &id, &id],
    );
    let (rights, expected) = match engine {
        DbEngine::Mysql => (
            "the database administrator may create accounts and grant privileges (CREATE USER, GRANT OPTION)",
            "admin YY",
        ),
        DbEngine::Postgres => ("the database administrator is a superuser", "admin Y"),
    };
    let id = checks.add("db-admin", rights);
    s.cmd(
        "if printf '%s\\n' \"$hv_q\" | grep -qx {}; then hv_ok {}; else hv_fail {}; fi",
        &[expected, &id, &id],
    );
}

/// The query lines that tell whether the administrator has the rights handover needs.
pub(super) fn admin_rights_sql(engine: DbEngine) -> &'static str {
    match engine {
        DbEngine::Mysql => {
            "SELECT CONCAT('admin ', Create_user_priv, Grant_priv) FROM mysql.user WHERE CONCAT(User, '@', Host) = CURRENT_USER();\n"
        }
        DbEngine::Postgres => {
            "SELECT 'admin ' || CASE WHEN rolsuper THEN 'Y' ELSE 'N' END FROM pg_roles WHERE rolname = current_user;\n"
        }
    }
}

impl Step for DbUser {
    fn describe(&self) -> String {
        let db = match (&self.database, &self.database_from) {
            (Some(db), Some(from)) => format!("`{db}` (named in {from})"),
            (Some(db), None) => format!("`{db}`"),
            (None, _) => "(the one named in the CMS config)".to_owned(),
        };
        match self.engine {
            DbEngine::Mysql => format!(
                "MariaDB/MySQL account `{}`@`localhost` with a random password and all privileges on database {db} only; dropped at teardown",
                self.user
            ),
            DbEngine::Postgres => format!(
                "PostgreSQL login role `{}` with a random password, valid until the grant expires, with all privileges on database {db} and its schemas only; dropped at teardown",
                self.user
            ),
        }
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        let name = self.database.as_deref().unwrap_or("");
        let database = match &self.database_from {
            Some(from) => format!("{} {name} (named in {from})", self.engine.as_str()),
            None => format!("{} {name}", self.engine.as_str()),
        };
        out.line("database", database);
        out.line("db user", self.user.as_str());
        out.line("db pass", password.expose());
        out.line("db use", self.connect_hint());
        out.databases.push(DbLogin {
            engine: self.engine.as_str(),
            database: self.database.clone(),
            database_from: self.database_from.clone(),
            user: self.user.clone(),
            password,
        });
    }

    fn preflight(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_client(self.engine, &self.admin, s, checks);
        match &self.database {
            Some(db) => {
                s.cmd("hv_db={}", &[db]);
            }
            None => {
                let dir = self.config_dir.as_deref().unwrap_or("");
                read_cms_db_name(s, dir);
                let id = checks.add(
                    "db-name",
                    format!(
                        "the database name can be read from the CMS config in {dir}: {} (or pass --db-name)",
                        cms_configs()
                    ),
                );
                // Only a name of the strict pattern counts (the sed programs allow no other).
                s.cmd(
                    "case $hv_db in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9_-]*) hv_fail {}; if [ -n \"$hv_db_from\" ]; then echo \"no database name found in $hv_db_from\" | hv_detail {}; fi ;; *) hv_ok {}; hv_fact db_name \"$hv_db\"; hv_fact db_name_from \"$hv_db_from\" ;; esac",
                    &[&id, &id, &id],
                );
            }
        }
        let client = self.client(ctx);
        client.define(s);
        let account_sql = match self.engine {
            DbEngine::Mysql => format!(
                "{}SELECT CONCAT('db ', SCHEMA_NAME) FROM information_schema.SCHEMATA;\nSELECT CONCAT('user ', Host) FROM mysql.user WHERE User = {};\n",
                admin_rights_sql(self.engine),
                my_str(&self.user)
            ),
            DbEngine::Postgres => format!(
                "{}SELECT 'db ' || datname FROM pg_database WHERE datallowconn;\nSELECT 'user ' || rolname FROM pg_roles WHERE rolname = {};\n",
                admin_rights_sql(self.engine),
                pg_str(&self.user)
            ),
        };
        client.query(s, "", &account_sql);
        check_reachable(self.engine, &self.admin, s, checks);
        let id = checks.add(
            "db-exists",
            format!(
                "database {} exists on the {} server",
                match &self.database {
                    Some(db) => format!("`{db}`"),
                    None => "named in the CMS config".to_owned(),
                },
                self.engine.label()
            ),
        );
        s.cmd(
            "if [ -n \"$hv_db\" ] && printf '%s\\n' \"$hv_q\" | grep -Fqx \"db $hv_db\"; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
        let id = checks.add(
            "db-user-absent",
            format!(
                "no {} account named `{}` exists yet (choose another --account)",
                self.engine.label(),
                self.user
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && ! printf '%s\\n' \"$hv_q\" | grep -q '^user '; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let (Some(db), Some(password)) = (&self.database, ctx.password) else {
            s.raw("echo 'no database or password for the database account (internal error)' >&2; exit 1");
            return;
        };
        let client = self.client(ctx);
        client.define(s);
        match self.engine {
            DbEngine::Mysql => {
                let account = my_account(&self.user, "localhost");
                let create = Secret::new(format!(
                    "CREATE USER {account} IDENTIFIED WITH mysql_native_password AS {};\n",
                    my_str(mysql_native_hash(password).expose())
                ));
                client.run(s, "hv_db_client ''", &[], create.expose(), true, "");
                s.raw("hv_fact created 1");
                let grant = format!(
                    "GRANT ALL PRIVILEGES ON {}.* TO {account};\n",
                    my_grant_db(db)
                );
                client.run(s, "hv_db_client ''", &[], &grant, false, "");
            }
            DbEngine::Postgres => {
                let role = pg_ident(&self.user);
                let until = ctx
                    .expires_at
                    .format(&Rfc3339)
                    .unwrap_or_else(|_| "infinity".to_owned());
                let create = Secret::new(format!(
                    "CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD {} VALID UNTIL {};\nCOMMENT ON ROLE {role} IS {};\n",
                    pg_str(pg_scram_verifier(password).expose()),
                    pg_str(&until),
                    pg_str(&Self::mark(ctx)),
                ));
                client.run(
                    s,
                    "hv_db_client {} >/dev/null",
                    &[db],
                    create.expose(),
                    true,
                    "",
                );
                s.raw("hv_fact created 1");
                let name = pg_str(&self.user);
                let mut grant = format!(
                    "GRANT ALL PRIVILEGES ON DATABASE {} TO {role};\n",
                    pg_ident(db)
                );
                // Every schema of the database but the system ones, and what they hold.
                for what in [
                    "SCHEMA %I",
                    "ALL TABLES IN SCHEMA %I",
                    "ALL SEQUENCES IN SCHEMA %I",
                    "ALL ROUTINES IN SCHEMA %I",
                ] {
                    grant.push_str(&format!(
                        "SELECT format('GRANT ALL PRIVILEGES ON {what} TO %I', nspname, {name}) FROM pg_namespace WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' \\gexec\n"
                    ));
                }
                client.run(s, "hv_db_client {} >/dev/null", &[db], &grant, false, "");
            }
        }
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        // Found on the server, not from the record: the expiry guard's removal is built without
        // the facts apply learns. Preflight found no account of the name (a MariaDB account by
        // that name is this grant's); a PostgreSQL role must carry the grant's mark. Without
        // the administrator's password (the guard's script holds none) a server that needs one
        // is left for teardown.
        if self.admin.password_env.is_some() && ctx.db_admin_password.is_none() {
            return;
        }
        let client = self.client(ctx);
        client.define(s);
        match self.engine {
            DbEngine::Mysql => {
                let drop = format!(
                    "DROP USER IF EXISTS {};\n",
                    my_account(&self.user, "localhost")
                );
                client.run(s, "hv_db_client ''", &[], &drop, false, "");
                // Its connections stay open after DROP USER: end them until none is left.
                // By name alone: preflight found no account of that name at any host, so
                // every connection of it logged in to the one this grant created.
                s.raw("hv_after=0");
                kill_mysql_connections(
                    &client,
                    s,
                    &format!(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = {};\n",
                        my_str(&self.user)
                    ),
                );
            }
            DbEngine::Postgres => {
                let name = pg_str(&self.user);
                let role = pg_ident(&self.user);
                client.query(
                    s,
                    "",
                    &format!(
                        "SELECT 'mark ' || coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = {name};\n"
                    ),
                );
                s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
                s.raw("if [ -n \"$hv_q\" ]; then");
                let foreign = format!(
                    "role {} exists but was not created by grant {}: left alone",
                    self.user, ctx.grant
                );
                s.cmd(
                    "  if [ \"$hv_q\" != {} ]; then echo {} >&2; exit 1; fi",
                    &[&format!("mark {}", Self::mark(ctx)), &foreign],
                );
                // No new logins, then end the running ones.
                client.run(
                    s,
                    "  hv_db_client '' >/dev/null",
                    &[],
                    &format!(
                        "ALTER ROLE {role} NOLOGIN;\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {name};\n"
                    ),
                    false,
                    "",
                );
                // Every database where it owns something or holds privileges: what it owns
                // goes to that database's owner, then its privileges go.
                client.query(
                    s,
                    "",
                    &format!(
                        "SELECT datname FROM pg_database WHERE datname = {} UNION SELECT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = {name});\n",
                        pg_str(self.database())
                    ),
                );
                s.raw("  if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
                s.raw("  printf '%s\\n' \"$hv_q\" | while IFS= read -r hv_d; do");
                s.raw("    case $hv_d in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9_-]*) printf 'role holds objects or privileges in database %s, whose name handover does not use: left\\n' \"$hv_d\" >&2; continue ;; esac");
                client.run(
                    s,
                    "    hv_db_client \"$hv_d\" >/dev/null",
                    &[],
                    &format!(
                        "SELECT format('REASSIGN OWNED BY %I TO %I', {name}, pg_get_userbyid(datdba)) FROM pg_database WHERE datname = current_database() \\gexec\nDROP OWNED BY {role};\n"
                    ),
                    false,
                    "",
                );
                s.raw("  done");
                client.run(
                    s,
                    "  hv_db_client '' >/dev/null",
                    &[],
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {name};\nDROP ROLE IF EXISTS {role};\n"
                    ),
                    false,
                    "",
                );
                s.raw("fi");
            }
        }
    }

    /// A PostgreSQL role's `VALID UNTIL` moves with the grant (a MariaDB account has none).
    fn extend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if self.engine != DbEngine::Postgres {
            return;
        }
        let until = ctx
            .expires_at
            .format(&Rfc3339)
            .unwrap_or_else(|_| "infinity".to_owned());
        let client = self.client(ctx);
        client.define(s);
        let role = pg_ident(&self.user);
        client.run(
            s,
            "hv_db_client {} >/dev/null",
            &[self.database()],
            &format!("ALTER ROLE {role} VALID UNTIL {};\n", pg_str(&until)),
            false,
            "",
        );
        client.query(
            s,
            "",
            &format!(
                "SELECT 'until ' || floor(extract(epoch FROM rolvaliduntil))::bigint FROM pg_roles WHERE rolname = {};\n",
                pg_str(&self.user)
            ),
        );
        let id = checks.add(
            "db-valid-until",
            format!("PostgreSQL role `{}` is valid until {until}", self.user),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -qx {}; then hv_ok {}; else hv_fail {}; fi",
            &[
                &format!("until {}", ctx.expires_at.unix_timestamp()),
                &id,
                &id,
            ],
        );
    }

    /// No new logins (MariaDB `ACCOUNT LOCK`, PostgreSQL `NOLOGIN`), then its connections end.
    fn suspend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.lock(ctx, s, checks, true);
    }

    fn resume(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.lock(ctx, s, checks, false);
    }

    fn rotation_name(&self) -> Option<String> {
        Some("db".to_owned())
    }

    /// A new password (as a hash, as at apply), then its connections ended; checked by the
    /// server holding exactly the new hash.
    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let Some(password) = ctx.password else {
            s.raw("echo 'no password to set (internal error)' >&2; exit 1");
            return;
        };
        let client = self.client(ctx);
        client.define(s);
        let (stored, alter, stored_sql) = match self.engine {
            DbEngine::Mysql => {
                let account = my_account(&self.user, "localhost");
                let hash = mysql_native_hash(password);
                let alter = Secret::new(format!(
                    "ALTER USER {account} IDENTIFIED WITH mysql_native_password AS {};\n",
                    my_str(hash.expose())
                ));
                let sql = format!(
                    "SELECT CONCAT('auth ', authentication_string) FROM mysql.user WHERE User = {} AND Host = 'localhost';\n",
                    my_str(&self.user)
                );
                (hash, alter, sql)
            }
            DbEngine::Postgres => {
                let verifier = pg_scram_verifier(password);
                let alter = Secret::new(format!(
                    "ALTER ROLE {} PASSWORD {};\n",
                    pg_ident(&self.user),
                    pg_str(verifier.expose())
                ));
                let sql = format!(
                    "SELECT 'auth ' || rolpassword FROM pg_authid WHERE rolname = {};\n",
                    pg_str(&self.user)
                );
                (verifier, alter, sql)
            }
        };
        client.run(s, "hv_db_client '' >/dev/null", &[], alter.expose(), true, "");
        self.end_connections(&client, s);
        client.query(s, "", &stored_sql);
        let id = checks.add(
            "db-new-password",
            format!(
                "{} account `{}` has its new password (the old one is refused) and no connection left",
                self.engine.label(),
                self.user
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$(printf '%s\\n' \"$hv_q\" | sed -n 's/^auth //p' | sha256sum | cut -c1-64)\" = {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[&crate::secret::line_digest(stored.expose()), &id, &id],
        );
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let db = self.database();
        let client = self.client(ctx);
        client.define(s);
        match self.engine {
            DbEngine::Mysql => {
                let sql = format!(
                    "SELECT CONCAT('user ', Host) FROM mysql.user WHERE User = {};\nSHOW GRANTS FOR {};\n",
                    my_str(&self.user),
                    my_account(&self.user, "localhost")
                );
                client.query(s, "", &sql);
                let id = checks.add(
                    "db-user",
                    format!(
                        "`{}`@`localhost` exists and is the only account of that name",
                        self.user
                    ),
                );
                s.cmd(
                    "if [ \"$(printf '%s\\n' \"$hv_q\" | grep '^user ')\" = 'user localhost' ]; then hv_ok {}; else hv_fail {}; fi",
                    &[&id, &id],
                );
                let id = checks.add(
                    "db-grants",
                    format!("it has all privileges on `{db}` and no other privilege"),
                );
                let expected = format!("GRANT ALL PRIVILEGES ON {}.* TO ", my_grant_db(db));
                s.cmd(
                    "if [ \"$(printf '%s\\n' \"$hv_q\" | grep -c '^GRANT ')\" -eq 2 ] && printf '%s\\n' \"$hv_q\" | grep -q '^GRANT USAGE ON \\*\\.\\* TO ' && printf '%s\\n' \"$hv_q\" | grep -Fq {}; then hv_ok {}; else hv_fail {}; fi",
                    &[&expected, &id, &id],
                );
            }
            DbEngine::Postgres => {
                let name = pg_str(&self.user);
                let sql = format!(
                    "SELECT 'role ' || CASE WHEN rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolreplication AND NOT rolbypassrls AND rolvaliduntil IS NOT NULL THEN 'ok' ELSE 'bad' END FROM pg_roles WHERE rolname = {name};\nSELECT 'connect ' || CASE WHEN has_database_privilege({name}, {}, 'CONNECT, CREATE, TEMPORARY') THEN 'ok' ELSE 'bad' END;\nSELECT 'members ' || count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = {name};\n",
                    pg_str(db)
                );
                client.query(s, "", &sql);
                let id = checks.add(
                    "db-user",
                    format!(
                        "login role `{}` exists, without special attributes, with an expiry",
                        self.user
                    ),
                );
                s.cmd(
                    "if printf '%s\\n' \"$hv_q\" | grep -qx 'role ok'; then hv_ok {}; else hv_fail {}; fi",
                    &[&id, &id],
                );
                let id = checks.add(
                    "db-grants",
                    format!("it has all privileges on database `{db}` and is a member of no role"),
                );
                s.cmd(
                    "if printf '%s\\n' \"$hv_q\" | grep -qx 'connect ok' && printf '%s\\n' \"$hv_q\" | grep -qx 'members 0'; then hv_ok {}; else hv_fail {}; fi",
                    &[&id, &id],
                );
            }
        }
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let client = self.client(ctx);
        client.define(s);
        let (sql, table) = match self.engine {
            DbEngine::Mysql => {
                let name = my_str(&self.user);
                (
                    format!(
                        "SELECT CONCAT('accounts ', COUNT(*)) FROM mysql.user WHERE User = {name};\nSELECT CONCAT('sessions ', COUNT(*)) FROM information_schema.PROCESSLIST WHERE USER = {name};\n"
                    ),
                    "mysql.user",
                )
            }
            DbEngine::Postgres => {
                let name = pg_str(&self.user);
                (
                    format!(
                        "SELECT 'accounts ' || count(*) FROM pg_roles WHERE rolname = {name};\nSELECT 'sessions ' || count(*) FROM pg_stat_activity WHERE usename = {name};\n"
                    ),
                    "pg_roles",
                )
            }
        };
        client.query(s, "", &sql);
        let id = checks.add(
            "db-user-gone",
            format!(
                "no {} account named `{}` (checked in {table})",
                self.engine.label(),
                self.user
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -qx 'accounts 0'; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_q\" | grep -v '^sessions ' | hv_detail {}; fi",
            &[&id, &id, &id],
        );
        let id = checks.add(
            "db-sessions-gone",
            format!("no database connection of `{}` is left", self.user),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -qx 'sessions 0'; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
    }
}

/// End the MariaDB/MySQL connections that `ids_sql` lists (one id a row) whose id is above
/// `$hv_after` (set by the caller: 0 for all of them), repeating until none is left (a killed
/// connection can linger in the process list for a moment).
pub(super) fn kill_mysql_connections(client: &Client, s: &mut Script, ids_sql: &str) {
    s.raw("hv_i=0");
    s.raw("while :; do");
    client.query(s, "", ids_sql);
    s.raw("  if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
    s.raw("  hv_ids=$(hv_db_ids_after || true)");
    s.raw("  if [ -z \"$hv_ids\" ]; then break; fi");
    s.raw("  hv_i=$((hv_i + 1)); if [ \"$hv_i\" -gt 50 ]; then echo 'database connections survive KILL' >&2; exit 1; fi");
    // Ids are digits only (checked above); an id that ended meanwhile is not an error.
    client.run_piped(
        s,
        "  {{ printf 'KILL CONNECTION %s;\\n' $hv_ids | hv_db_client '' --force",
        &[],
        "  } >/dev/null 2>&1 || true",
    );
    s.raw("  sleep 0.1");
    s.raw("done");
}

/// `kind = "db-user"`: a temporary database account named after the account, with all
/// privileges on one database. `engine`: `mysql` (MariaDB/MySQL) or `postgres`; `database`:
/// its name, or empty to read it from the CMS config in the scope.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    engine: String,
    #[serde(default)]
    database: String,
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![("engine", &self.engine), ("database", &self.database)]
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        let engine_name = p.fill(&self.engine)?;
        let engine = DbEngine::parse(&engine_name).ok_or_else(|| {
            PlanError::Invalid(format!(
                "db-user engine `{}` must be `mysql` or `postgres`",
                engine_name.escape_debug()
            ))
        })?;
        let database = p.fill(&self.database)?;
        if database.is_empty() {
            if p.scope.is_none() {
                return Err(PlanError::Invalid(
                    "db-user needs a database: pass --param database=NAME, or --scope pointing at a CMS whose config names it".to_owned(),
                ));
            }
        } else if !valid_db_name(&database) {
            return Err(PlanError::Invalid(format!(
                "database name `{}` must match ^[A-Za-z0-9_][A-Za-z0-9_-]{{0,62}}$",
                database.escape_debug()
            )));
        }
        Ok(Action::DbUser(DbUser {
            engine,
            database: (!database.is_empty()).then_some(database),
            database_from: None,
            config_dir: p.scope.map(|s| s.as_str().to_owned()),
            user: p.account.to_string(),
            admin: DbAdmin::default(),
        }))
    }
}
