//! Lending an existing MariaDB/MySQL account (`--rotate-db-user NAME[@HOST]`): its password is
//! set to a fresh random one for the window; at teardown its original authentication (plugin
//! and stored hash) is restored (`--after restore`) or another fresh password is set and handed
//! to the customer (`--after rotate`), and the connections it opened during the window are
//! ended.
//!
//! The original hash is kept in the grant record (mode 0600) as a fact of the apply step, and
//! goes back to the server in SQL on the client's stdin, never in argv; a root-only copy on the
//! host lets the expiry guard restore it at the TTL. Connections "opened
//! during the window" are those with a connection id above the one handover used when the
//! window opened (ids only grow while the server runs); after a server restart, all of them.
//! Which connections are the account's (and not another account's of the same user name at
//! another host part): see `RotateDbUser::sessions_sql`.

use super::db::{admin_rights_sql, check_reachable, kill_mysql_connections, require_client};
use super::db_sql::{
    Client, DbAdmin, DbEngine, my_account, my_ident, my_str, mysql_native_hash, valid_auth_string,
    valid_plugin,
};
use super::{After, Checks, Context, Credentials, Step};
use crate::secret::Secret;
use crate::shell::Script;
use serde::{Deserialize, Serialize};

/// Authentication plugins whose stored string handover can record and restore.
const PLUGINS: &str = "mysql_native_password, ed25519";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateDbUser {
    /// The account's user name (validated: `valid_db_user`).
    pub user: String,
    /// Its host part (validated: `valid_db_host`), `localhost` unless given as `NAME@HOST`.
    pub host: String,
    pub after: After,
    pub admin: DbAdmin,
}

impl RotateDbUser {
    /// `user@host`, as the customer names the lent account.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    fn client<'a>(&'a self, ctx: &'a Context) -> Client<'a> {
        Client {
            engine: DbEngine::Mysql,
            admin: &self.admin,
            password: ctx.db_admin_password,
        }
    }

    fn account(&self) -> String {
        my_account(&self.user, &self.host)
    }

    /// Where the original plugin and hash are also kept ON THE HOST, root-only, for the expiry
    /// guard's removal script: it holds no recorded fact, and restores from here. The same
    /// directory as lent system passwords; the file is named by the label in hex, as a host
    /// part may hold `/` (`IP/MASK`).
    fn host_copy(&self, ctx: &Context) -> (String, String) {
        let dir = super::lent_dir(ctx);
        let hex: String = self.label().bytes().map(|b| format!("{b:02x}")).collect();
        let file = format!("{dir}/mysql-{hex}");
        (dir, file)
    }

    /// `SELECT` lines that print `auth PLUGIN HASH` for the account.
    fn auth_sql(&self) -> String {
        format!(
            "SELECT CONCAT('auth ', plugin, ' ', authentication_string) FROM mysql.user WHERE User = {} AND Host = {};\n",
            my_str(&self.user),
            my_str(&self.host)
        )
    }

    /// A `SELECT` of the ids of the connections that logged in to this account. The process
    /// list shows a connection's user name and client host (`localhost` for the unix socket,
    /// else `NAME_OR_IP:PORT`), not the account the server chose for it. So a connection of
    /// this user name counts when its client host matches the host part, unless another
    /// account of the name matches it too and the server surely prefers that one: one without
    /// wildcards when this host part has some, or any other when this one is `%`. Where that
    /// cannot be told, it counts, so no connection the lent password may have opened is left:
    /// overlapping patterns (`10.%`, `10.0.%`) are not ranked, and a TCP client shown by its
    /// name counts when the host part may be an address (the address it matched is not shown).
    fn sessions_sql(&self) -> String {
        let user = my_str(&self.user);
        // The client host without the `:PORT` of TCP (IPv6 addresses hold `:` as well).
        let mut sql = format!(
            "SELECT ID FROM (SELECT ID, HOST LIKE '%:%' AS tcp, IF(HOST LIKE '%:%', LEFT(HOST, CHAR_LENGTH(HOST) - LOCATE(':', REVERSE(HOST))), HOST) AS client FROM information_schema.PROCESSLIST WHERE USER = {user}) p WHERE ({}",
            host_matches(&my_str(&self.host))
        );
        let may_be_address = self
            .host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '%' | '_' | '/'));
        if may_be_address {
            sql.push_str(" OR (tcp AND client NOT LIKE '%:%' AND client REGEXP '[^0-9.]')");
        }
        sql.push(')');
        let preferred = if self.host.chars().all(|c| c == '%') {
            Some("REPLACE(u.Host, '%', '') <> ''")
        } else if self.host.contains(['%', '_']) {
            Some("LOCATE('%', u.Host) = 0 AND LOCATE('_', u.Host) = 0")
        } else {
            None
        };
        if let Some(preferred) = preferred {
            sql.push_str(&format!(
                " AND NOT EXISTS (SELECT 1 FROM mysql.user u WHERE u.User = {user} AND {preferred} AND {})",
                host_matches("u.Host")
            ));
        }
        sql.push_str(";\n");
        sql
    }

    /// Sets `$hv_after`: the recorded connection id where the window began, or 0 (every
    /// connection) when the server restarted since (its start time moved).
    fn window_start(&self, ctx: &Context, client: &Client, s: &mut Script) {
        let since_id = ctx.facts.get("since_id").map_or("", String::as_str);
        let started = ctx.facts.get("server_start").map_or("", String::as_str);
        client.query(s, "", SERVER_CLOCK_SQL);
        s.cmd("hv_db_window {} {}", &[since_id, started]);
    }
}

/// SQL: whether `client` matches the host part `pattern` (an SQL expression) the way the
/// server matches it: `IP/MASK` by address, anything else as a `LIKE` pattern (`%`, `_`)
/// ignoring case.
fn host_matches(pattern: &str) -> String {
    format!(
        "IF(LOCATE('/', {pattern}) > 0, INET_ATON(client) & INET_ATON(SUBSTRING_INDEX({pattern}, '/', -1)) = INET_ATON(SUBSTRING_INDEX({pattern}, '/', 1)), LOWER(client) LIKE LOWER({pattern}))"
    )
}

/// Stop the step unless `$hv_plugin` and `$hv_hash` are values handover records and restores
/// (the same character classes as `valid_plugin` and `valid_auth_string`): they go into SQL.
fn require_restorable(s: &mut Script) {
    s.raw("hv_db_restorable || exit 1");
}

/// The server's clock and uptime: `now N` and `Uptime N` rows.
const SERVER_CLOCK_SQL: &str =
    "SELECT 'now', UNIX_TIMESTAMP();\nSHOW GLOBAL STATUS LIKE 'Uptime';\n";

impl Step for RotateDbUser {
    fn describe(&self) -> String {
        let after = self.after.describe();
        format!(
            "a random password for the existing MariaDB/MySQL account `{}`@`{}` for the window; afterwards {after} and its connections of the window ended",
            self.user, self.host
        )
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn rotates_at_teardown(&self) -> bool {
        self.after == After::Rotate
    }

    fn lent(&self) -> Option<String> {
        Some(self.label())
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        super::rotate::hand_over_lent(out, "lent db", self.label(), password);
    }

    fn preflight(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_client(DbEngine::Mysql, &self.admin, s, checks);
        let client = self.client(ctx);
        client.define(s);
        let sql = format!(
            "{}SELECT CONCAT('acct ', plugin, ' ', IF(authentication_string REGEXP '^[A-Za-z0-9*+/=._$-]*$', 'ok', 'binary')) FROM mysql.user WHERE User = {} AND Host = {};\n",
            admin_rights_sql(DbEngine::Mysql),
            my_str(&self.user),
            my_str(&self.host)
        );
        client.query(s, "", &sql);
        check_reachable(DbEngine::Mysql, &self.admin, s, checks);
        let id = checks.add(
            "db-account",
            format!(
                "MariaDB/MySQL account `{}`@`{}` exists (--rotate-db-user)",
                self.user, self.host
            ),
        );
        s.cmd(
            "if printf '%s\\n' \"$hv_q\" | grep -q '^acct '; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
        s.raw("hv_acct=$(printf '%s\\n' \"$hv_q\" | grep '^acct ' | head -n 1)");
        // Several methods (`VIA unix_socket OR mysql_native_password`) cannot be put back
        // from one recorded plugin and hash: refuse rather than lose one.
        s.raw("hv_methods=");
        s.raw("if [ -n \"$hv_acct\" ]; then");
        client.query(s, "", &format!("SHOW CREATE USER {};\n", self.account()));
        s.raw("  if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | sed \"s/'[^']*'//g\" | grep -q ' OR '; then hv_methods=several; fi");
        s.raw("fi");
        let id = checks.add(
            "db-auth",
            format!(
                "`{}`@`{}` logs in with one password method handover can restore ({PLUGINS}; several methods and binary hashes such as caching_sha2_password are refused)",
                self.user, self.host
            ),
        );
        s.cmd(
            "case $hv_acct in 'acct mysql_native_password ok'|'acct ed25519 ok') if [ -z \"$hv_methods\" ]; then hv_ok {}; else hv_fail {}; fi ;; *) hv_fail {}; printf '%s\\n' \"${{hv_acct#acct }}\" | hv_detail {} ;; esac",
            &[&id, &id, &id, &id],
        );
        // The original, in the write-ahead record: a crash before the apply step reported
        // must not leave teardown without it (only values that pass the apply step's checks).
        client.query(s, "", &self.auth_sql());
        s.raw("hv_db_auth");
        s.raw("if hv_db_restorable 2>/dev/null; then hv_fact keep.plugin \"$hv_plugin\"; hv_fact keep.auth \"$hv_hash\"; fi");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let Some(password) = ctx.password else {
            s.raw("echo 'no password to set (internal error)' >&2; exit 1");
            return;
        };
        let client = self.client(ctx);
        client.define(s);
        client.query(
            s,
            "",
            &format!(
                "{}SELECT 'id', CONNECTION_ID();\n{SERVER_CLOCK_SQL}",
                self.auth_sql()
            ),
        );
        s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
        s.raw("hv_db_auth");
        // Checked here as well as at preflight: only these values are recorded and restored.
        require_restorable(s);
        s.raw("hv_fact plugin \"$hv_plugin\"");
        s.raw("hv_fact auth \"$hv_hash\"");
        s.raw("hv_fact since_id \"$(printf '%s\\n' \"$hv_q\" | awk -F '\\t' '$1 == \"id\" { print $2 }')\"");
        s.raw("hv_fact server_start \"$(printf '%s\\n' \"$hv_q\" | awk -F '\\t' '$1 == \"now\" { n = $2 } $1 == \"Uptime\" { u = $2 } END { print n - u }')\"");
        // The copy first: without one, nothing was changed (the guard then restores nothing).
        let (dir, file) = self.host_copy(ctx);
        super::make_state_dir(s, &dir);
        s.cmd(
            "printf '%s %s\\n' \"$hv_plugin\" \"$hv_hash\" > {}",
            &[&file],
        );
        let alter = Secret::new(format!(
            "ALTER USER {} IDENTIFIED WITH mysql_native_password AS {};\n",
            self.account(),
            my_str(mysql_native_hash(password).expose())
        ));
        client.run(s, "hv_db_client ''", &[], alter.expose(), true, "");
        client.query(s, "", &self.auth_sql());
        s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_q\" >&2; exit 1; fi");
        s.raw("hv_fact window \"$(printf '%s\\n' \"$hv_q\" | sed -n 's/^auth //p' | sha256sum | cut -c1-64)\"");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        let client = self.client(ctx);
        client.define(s);
        let plugin = ctx.facts.get("plugin").filter(|p| valid_plugin(p));
        let hash = ctx.facts.get("auth").filter(|a| valid_auth_string(a));
        let alter = match (ctx.password, plugin, hash) {
            (Some(password), _, _) => Some(Secret::new(format!(
                "ALTER USER IF EXISTS {} IDENTIFIED WITH mysql_native_password AS {};\n",
                self.account(),
                my_str(mysql_native_hash(password).expose())
            ))),
            (None, Some(plugin), Some(hash)) => Some(Secret::new(format!(
                "ALTER USER IF EXISTS {} IDENTIFIED WITH {} AS {};\n",
                self.account(),
                my_ident(plugin),
                my_str(hash)
            ))),
            _ => None,
        };
        let (dir, file) = self.host_copy(ctx);
        match alter {
            Some(sql) => client.run(s, "hv_db_client ''", &[], sql.expose(), true, ""),
            None => {
                // Not in the record (the expiry guard's script): from the host's own copy,
                // checked as the apply step checked the values it wrote there. Without a
                // copy the password was never changed, or was restored already.
                s.cmd("if [ -f {} ]; then", &[&file]);
                s.cmd("  read -r hv_plugin hv_hash < {}", &[&file]);
                require_restorable(s);
                // `printf` is the shell's own: the hash goes through a pipe, never argv.
                client.run_piped(
                    s,
                    "  printf 'ALTER USER IF EXISTS %s IDENTIFIED WITH `%s` AS '\\''%s'\\'';\\n' {} \"$hv_plugin\" \"$hv_hash\" | hv_db_client ''",
                    &[&self.account()],
                    "",
                );
                s.raw("fi");
            }
        }
        // Then end what was opened during the window (with the lent password).
        if ctx.facts.contains_key("since_id") {
            self.window_start(ctx, &client, s);
            kill_mysql_connections(&client, s, &self.sessions_sql());
        }
        s.cmd("rm -f -- {}", &[&file]);
        super::remove_state_dir(s, &dir);
    }

    fn unsuspendable(&self) -> Option<String> {
        Some(format!(
            "the lent database account `{}` cannot be locked without locking out the site that uses it: tear the grant down instead (its password is then restored or rotated)",
            self.label()
        ))
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let client = self.client(ctx);
        client.define(s);
        client.query(s, "", &self.auth_sql());
        let original = crate::secret::line_digest(&format!(
            "auth {} {}",
            ctx.facts.get("plugin").map_or("", String::as_str),
            ctx.facts.get("auth").map_or("", String::as_str)
        ));
        let id = checks.add(
            "db-changed",
            format!(
                "`{}`@`{}` has the window's password, not its original",
                self.user, self.host
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_q\" | grep -q '^auth ' && [ \"$(printf '%s\\n' \"$hv_q\" | grep '^auth ' | sha256sum | cut -c1-64)\" != {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[&original, &id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let (_, file) = self.host_copy(ctx);
        let id = checks.add(
            "db-copy",
            format!(
                "no copy of `{}`@`{}`'s original authentication is left in {file}",
                self.user, self.host
            ),
        );
        s.cmd("hv_refute {} test -e {}", &[&id, &file]);
        let client = self.client(ctx);
        client.define(s);
        client.query(s, "", &self.auth_sql());
        s.raw("hv_now_auth=$(printf '%s\\n' \"$hv_q\" | sed -n 's/^auth //p')");
        let window = ctx.facts.get("window").map_or("", String::as_str);
        let id = checks.add(
            "db-window",
            format!(
                "the password lent for `{}`@`{}` no longer works",
                self.user, self.host
            ),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$(printf '%s\\n' \"$hv_now_auth\" | sha256sum | cut -c1-64)\" != {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[window, &id, &id],
        );
        if self.after == After::Restore {
            let original = crate::secret::line_digest(&format!(
                "{} {}",
                ctx.facts.get("plugin").map_or("", String::as_str),
                ctx.facts.get("auth").map_or("", String::as_str)
            ));
            let id = checks.add(
                "db-restored",
                format!(
                    "`{}`@`{}` has its original authentication again",
                    self.user, self.host
                ),
            );
            s.cmd(
                "if [ \"$hv_rc\" -eq 0 ] && [ \"$(printf '%s\\n' \"$hv_now_auth\" | sha256sum | cut -c1-64)\" = {} ]; then hv_ok {}; else hv_fail {}; fi",
                &[&original, &id, &id],
            );
        }
        if ctx.facts.contains_key("since_id") {
            self.window_start(ctx, &client, s);
            client.query(s, "", &self.sessions_sql());
            let id = checks.add(
                "db-window-sessions",
                format!(
                    "no connection of `{}`@`{}` opened during the window is left",
                    self.user, self.host
                ),
            );
            s.cmd(
                "if [ \"$hv_rc\" -eq 0 ] && [ -z \"$(hv_db_ids_after)\" ]; then hv_ok {}; else hv_fail {}; fi",
                &[&id, &id],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lent(host: &str) -> RotateDbUser {
        RotateDbUser {
            user: "app".into(),
            host: host.into(),
            after: After::Restore,
            admin: DbAdmin::default(),
        }
    }

    #[test]
    fn sessions_are_matched_by_user_and_host() {
        let exact = lent("localhost").sessions_sql();
        assert!(exact.contains("WHERE USER = 'app'"), "{exact}");
        assert!(
            exact.contains("LOWER(client) LIKE LOWER('localhost')"),
            "{exact}"
        );
        // Nothing is preferred over an exact host part; a name is no address.
        assert!(
            !exact.contains("NOT EXISTS") && !exact.contains("REGEXP"),
            "{exact}"
        );
        // `%`: any other account of the name that matches is preferred.
        let any = lent("%").sessions_sql();
        assert!(any.contains("REPLACE(u.Host, '%', '') <> ''"), "{any}");
        // A pattern: only an exact host part is surely preferred; a client shown by name
        // may have matched by its address.
        let net = lent("10.0.%").sessions_sql();
        assert!(net.contains("LOCATE('%', u.Host) = 0"), "{net}");
        assert!(net.contains("REGEXP"), "{net}");
        assert!(!lent("10.0.0.7").sessions_sql().contains("NOT EXISTS"));
    }
}
