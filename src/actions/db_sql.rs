//! What the database actions share: the engine, how handover reaches the server as an
//! administrator, strict name patterns, SQL quoting, password hashes computed here, and the
//! client invocations in remote scripts.
//!
//! Every name that reaches SQL matches a strict pattern first *and* is quoted as an identifier
//! or string literal by the functions below; SQL is never built from unchecked text. SQL and
//! the administrator's password reach the client on here-documents (stdin, and an option file
//! on file descriptor 3), never in argv or the environment.
//!
//! The temporary and window passwords never reach the database server at all: handover sends
//! the hash the server stores (MariaDB/MySQL `mysql_native_password`, PostgreSQL
//! `SCRAM-SHA-256`), so neither a statement log nor the process list can show the password.

use crate::secret::Secret;
use crate::shell::{HereDoc, Script};
use serde::{Deserialize, Serialize};

/// The database server kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbEngine {
    /// MariaDB or MySQL.
    Mysql,
    /// PostgreSQL.
    Postgres,
}

impl DbEngine {
    /// `mysql`/`mariadb` or `postgres`/`postgresql`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "mysql" | "mariadb" => Some(DbEngine::Mysql),
            "postgres" | "postgresql" => Some(DbEngine::Postgres),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DbEngine::Mysql => "mysql",
            DbEngine::Postgres => "postgres",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DbEngine::Mysql => "MariaDB/MySQL",
            DbEngine::Postgres => "PostgreSQL",
        }
    }

    /// The administrator used when `--db-admin-user` is not given.
    pub fn default_admin(self) -> &'static str {
        match self {
            DbEngine::Mysql => "root",
            DbEngine::Postgres => "postgres",
        }
    }
}

/// How handover reaches the database server as an administrator. Stored in the record (the
/// variable's *name* only), so teardown reaches it the same way.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbAdmin {
    /// `None`: the host's root access — MariaDB's unix-socket authentication as root,
    /// PostgreSQL's `runuser -u postgres -- psql` (peer authentication).
    pub user: Option<String>,
    /// The environment variable (on the machine running handover) that holds the
    /// administrator's password; `None` when the server needs none.
    pub password_env: Option<String>,
}

/// `^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$`: a database name handover accepts (`--db-name`, a
/// playbook's `database`, a CMS config). Fits MariaDB (64) and PostgreSQL (63).
pub fn valid_db_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$`: an existing database account's user name.
pub fn valid_db_user(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 80
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `^[A-Za-z0-9_.:%/-]{1,255}$`: the host part of a MariaDB/MySQL account (`localhost`,
/// `%`, `192.168.1.%`, `10.0.0.0/255.0.0.0`, `::1`).
pub fn valid_db_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '%' | '/' | '-'))
}

/// A MariaDB/MySQL stored authentication string handover can record and restore: printable
/// ASCII without quotes, backslashes or spaces (`*` + 40 hex digits for
/// `mysql_native_password`, base64 for `ed25519`, empty for no password). Binary strings
/// (`caching_sha2_password`) are refused at preflight.
pub fn valid_auth_string(auth: &str) -> bool {
    auth.len() <= 512
        && auth.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '*' | '+' | '/' | '=' | '.' | '$' | '_' | '-')
        })
}

/// `^[a-z0-9_]{1,64}$`: an authentication plugin name.
pub fn valid_plugin(plugin: &str) -> bool {
    !plugin.is_empty()
        && plugin.len() <= 64
        && plugin
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A MariaDB/MySQL identifier in backquotes (embedded backquotes doubled).
pub fn my_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A MariaDB/MySQL string literal: backslash and quote escaped (correct with and without
/// `NO_BACKSLASH_ESCAPES`, since validated values hold neither).
pub fn my_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `'user'@'host'`.
pub fn my_account(user: &str, host: &str) -> String {
    format!("{}@{}", my_str(user), my_str(host))
}

/// The database part of a MariaDB/MySQL `GRANT … ON db.*`: `_` and `%` are wildcards there,
/// so `my_db` would also grant `myXdb`; they are escaped to mean exactly this one database.
pub fn my_grant_db(db: &str) -> String {
    let mut escaped = String::with_capacity(db.len() + 4);
    for c in db.chars() {
        if matches!(c, '_' | '%' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    my_ident(&escaped)
}

/// A PostgreSQL identifier in double quotes (embedded double quotes doubled).
pub fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal; `E''` with escaped backslashes when the value holds one, so
/// it means the same whatever `standard_conforming_strings` says.
pub fn pg_str(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// The `mysql_native_password` hash of `password`: `*` and the upper-case hex of
/// SHA1(SHA1(password)).
pub fn mysql_native_hash(password: &Secret) -> Secret {
    use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
    let inner = digest(&SHA1_FOR_LEGACY_USE_ONLY, password.expose().as_bytes());
    let outer = digest(&SHA1_FOR_LEGACY_USE_ONLY, inner.as_ref());
    let mut hex = String::with_capacity(41);
    hex.push('*');
    for b in outer.as_ref() {
        hex.push_str(&format!("{b:02X}"));
    }
    Secret::new(hex)
}

/// PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, as `pg_authid` stores
/// it) with a fresh random salt and 4096 iterations. Generated passwords are ASCII
/// alphanumerics, which SASLprep leaves unchanged.
pub fn pg_scram_verifier(password: &Secret) -> Secret {
    use rand::RngCore;
    use ring::{digest, hmac, pbkdf2};
    const ITERATIONS: u32 = 4096;
    let mut salt = [0u8; 16];
    // ThreadRng: a CSPRNG seeded from the OS generator.
    rand::rng().fill_bytes(&mut salt);
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(ITERATIONS).unwrap_or(std::num::NonZeroU32::MIN),
        &salt,
        password.expose().as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    Secret::new(format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        base64(&salt),
        base64(stored_key.as_ref()),
        base64(server_key.as_ref())
    ))
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The clients, one for each way of reaching the server, and what the actions do with the
/// rows (`db.sh`).
const LIB: &str = include_str!("db.sh");

/// `hv_db_client DATABASE [ARGS…]`, the client the actions call, for each way of reaching the
/// server; the output is tab-separated rows without headers. `''` as DATABASE: the server's
/// default.
const MYSQL_ROOT: &str = r#"hv_db_client() { hv_db_mysql_root "$@"; }"#;
const MYSQL_PASSWORD: &str = r#"hv_db_client() { hv_db_mysql_password "$@"; }"#;
const PG_ROOT: &str = r#"hv_db_client() { hv_db_pg_root "$@"; }"#;
const PG_PASSWORD: &str = r#"hv_db_client() { hv_db_pg_password "$@"; }"#;

/// How one action talks to its database server in a script.
pub struct Client<'a> {
    pub engine: DbEngine,
    pub admin: &'a DbAdmin,
    /// The administrator's password, when `admin.password_env` is set (from that variable).
    pub password: Option<&'a Secret>,
}

impl Client<'_> {
    /// Define `hv_db_client` and the functions of `db.sh` (again: each step runs in its own
    /// subshell).
    pub fn define(&self, s: &mut Script) {
        let with_password = self.admin.password_env.is_some();
        s.raw(LIB);
        s.raw(match (self.engine, with_password) {
            (DbEngine::Mysql, false) => MYSQL_ROOT,
            (DbEngine::Mysql, true) => MYSQL_PASSWORD,
            (DbEngine::Postgres, false) => PG_ROOT,
            (DbEngine::Postgres, true) => PG_PASSWORD,
        });
    }

    /// The option file (MariaDB: `[client]`; libpq: a service `[handover]`) that carries the
    /// administrator's name and password on file descriptor 3, or `None` for root access.
    fn option_file(&self) -> Option<Secret> {
        self.admin.password_env.as_ref()?;
        let user = self
            .admin
            .user
            .as_deref()
            .unwrap_or(self.engine.default_admin());
        // No password known (the expiry guard's removal script, which must hold no secret):
        // no option file; the client then fails to log in and says so.
        let password = self.password?.expose();
        Some(Secret::new(match self.engine {
            // Option files read a double-quoted value with `\\` and `\"` escapes.
            DbEngine::Mysql => format!(
                "[client]\nuser={user}\npassword=\"{}\"\n",
                password.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            // Service files take the rest of the line as the value. Over the unix socket,
            // Debian's `local all all peer` admits only the Linux account of the same name
            // (handover runs as root), so psql goes to localhost over TCP (`host … scram-sha-256`);
            // the empty second host is libpq's default socket, tried only when nothing listens
            // there. No port: PGPORT or Debian's psql wrapper picks it, as for root access.
            DbEngine::Postgres => {
                format!("[handover]\nhost=localhost,\nuser={user}\npassword={password}\n")
            }
        }))
    }

    /// Append `template` (which calls `hv_db_client`) with `sql` on its stdin and the
    /// administrator's option file on fd 3; `after` closes what the template opened.
    pub fn run(
        &self,
        s: &mut Script,
        template: &'static str,
        args: &[&str],
        sql: &str,
        secret_sql: bool,
        after: &'static str,
    ) {
        let option_file = self.option_file();
        let mut docs = Vec::with_capacity(2);
        if let Some(file) = &option_file {
            docs.push(HereDoc::secret(3, file));
        }
        docs.push(HereDoc {
            fd: 0,
            body: sql,
            secret: secret_sql,
        });
        s.feed(template, args, &docs, after);
    }

    /// Like [`Client::run`] without a stdin document (the template pipes SQL in).
    pub fn run_piped(
        &self,
        s: &mut Script,
        template: &'static str,
        args: &[&str],
        after: &'static str,
    ) {
        let option_file = self.option_file();
        let docs: Vec<HereDoc> = option_file.iter().map(|f| HereDoc::secret(3, f)).collect();
        s.feed(template, args, &docs, after);
    }

    /// `hv_q=$(hv_db_client DATABASE 2>&1 <<SQL …)` then `hv_rc=$?`: the rows (or the error)
    /// in `$hv_q`, the client's status in `$hv_rc`.
    pub fn query(&self, s: &mut Script, database: &str, sql: &str) {
        // `&&`/`||`: a failing client must not end a `set -e` step before its words are kept.
        self.run(
            s,
            "hv_q=$(hv_db_client {} 2>&1",
            &[database],
            sql,
            false,
            ") && hv_rc=0 || hv_rc=$?",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_strict() {
        for good in ["cms", "wp_site", "My-DB2", "_x"] {
            assert!(valid_db_name(good), "{good}");
        }
        for bad in [
            "",
            "-x",
            "a b",
            "a`b",
            "a'b",
            "a\"b",
            "a;b",
            "db=x",
            "a/b",
            "ü",
            &"x".repeat(64),
        ] {
            assert!(!valid_db_name(bad), "{bad}");
        }
        assert!(valid_db_user("wp.admin") && !valid_db_user("a@b") && !valid_db_user("a'b"));
        assert!(valid_db_host("localhost") && valid_db_host("%") && valid_db_host("10.0.0.%"));
        assert!(!valid_db_host("") && !valid_db_host("a'b") && !valid_db_host("a b"));
        assert!(
            valid_auth_string("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19") && valid_auth_string("")
        );
        assert!(
            !valid_auth_string("a'b")
                && !valid_auth_string("a\\b")
                && !valid_auth_string("$A$005$\u{1}")
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(my_ident("a`b"), "`a``b`");
        assert_eq!(my_str("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(my_grant_db("my_db%"), "`my\\_db\\%`");
        assert_eq!(pg_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(pg_str("a'b"), "'a''b'");
        assert_eq!(pg_str("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn mysql_native_hash_matches_the_server() {
        // SELECT PASSWORD('password') on MariaDB.
        let hash = mysql_native_hash(&Secret::new("password".into()));
        assert_eq!(hash.expose(), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
    }

    #[test]
    fn scram_verifier_has_the_stored_form() {
        let v = pg_scram_verifier(&Secret::new("pencil".into()));
        let text = v.expose();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        let (_, keys) = text
            .split_once('$')
            .and_then(|(_, r)| r.split_once('$'))
            .expect("keys");
        let (stored, server) = keys.split_once(':').expect("two keys");
        assert_eq!((stored.len(), server.len()), (44, 44));
        assert_ne!(
            v.expose(),
            pg_scram_verifier(&Secret::new("pencil".into())).expose(),
            "salts differ"
        );
    }

    #[test]
    fn the_postgres_administrator_logs_in_over_tcp() {
        // Over the unix socket, Debian's `local all all peer` refuses a password login.
        let admin = DbAdmin {
            user: Some("dbadmin".into()),
            password_env: Some("PW".into()),
        };
        let password = Secret::new("p w".into());
        let client = Client {
            engine: DbEngine::Postgres,
            admin: &admin,
            password: Some(&password),
        };
        let file = client.option_file().expect("an option file");
        assert_eq!(
            file.expose(),
            "[handover]\nhost=localhost,\nuser=dbadmin\npassword=p w\n"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
