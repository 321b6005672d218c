# shellcheck shell=sh
# handover: talking to the database server (src/actions/db_sql.rs, db.rs, db_rotate.rs).
# Defines functions only. Scripts call the server through hv_db_client, which
# `Client::define` points at one of the hv_db_* clients below. Query results travel in $hv_q
# and $hv_rc (shared.sh).

# The clients: hv_db_… DATABASE [ARGS…], SQL on stdin, tab-separated rows without headers on
# stdout; '' as DATABASE: the server's default. Those with a password read the administrator's
# option file (MariaDB: `[client]`; libpq: a service `[handover]`) on file descriptor 3.

# hv_db_mysql_root: MariaDB/MySQL as root through its unix socket.
hv_db_mysql_root() {
  hv_pd=$1; shift; hv_c=mariadb; command -v mariadb >/dev/null 2>&1 || hv_c=mysql
  if [ -n "$hv_pd" ]; then set -- --database="$hv_pd" "$@"; fi
  "$hv_c" --default-character-set=utf8mb4 -N -B -r "$@"
}
# hv_db_mysql_password: MariaDB/MySQL as the administrator in the option file.
hv_db_mysql_password() {
  hv_pd=$1; shift; hv_c=mariadb; command -v mariadb >/dev/null 2>&1 || hv_c=mysql
  if [ -n "$hv_pd" ]; then set -- --database="$hv_pd" "$@"; fi
  "$hv_c" --defaults-extra-file=/dev/fd/3 --default-character-set=utf8mb4 -N -B -r "$@"
}
# hv_db_pg_root: PostgreSQL as `postgres` (peer authentication).
hv_db_pg_root() {
  hv_pd=${1:-postgres}; shift
  (cd / && runuser -u postgres -- psql -X -q -w -A -t -F "$(printf '\t')" -v ON_ERROR_STOP=1 --dbname="$hv_pd" "$@")
}
# hv_db_pg_password: PostgreSQL as the administrator in the service file.
hv_db_pg_password() {
  hv_pd=${1:-postgres}; shift
  PGSERVICEFILE=/dev/fd/3 psql -X -q -w -A -t -F "$(printf '\t')" -v ON_ERROR_STOP=1 "service=handover dbname=$hv_pd" "$@"
}

# hv_db_ids_after: the connection ids among the rows in $hv_q (one a row) above $hv_after.
# shellcheck disable=SC2154 # hv_q: set by the query before (shared.sh); hv_after: by the caller
hv_db_ids_after() {
  printf '%s\n' "$hv_q" | grep -x '[0-9][0-9]*' | awk -v a="$hv_after" '$1 > a + 0'
}

# hv_db_window SINCE STARTED: sets hv_after, where the window's connections begin: SINCE, the
# connection id recorded when the window opened, if the server still runs since STARTED (its
# start time then, in unix time; $hv_q holds its clock now: `now N` and `Uptime N` rows, which
# may be 2 s apart), else 0 (every connection: it restarted, and ids began again).
# shellcheck disable=SC2154 # hv_q: set by the query before (shared.sh)
hv_db_window() {
  hv_start=$(printf '%s\n' "$hv_q" | awk -F '\t' '$1 == "now" { n = $2 } $1 == "Uptime" { u = $2 } END { if (n != "" && u != "") print n - u }')
  hv_since=$1; hv_started=$2; hv_after=0
  case $hv_since:$hv_started:$hv_start in :*|*::*|*:|*[!0-9:]*) ;; *) if [ $((hv_start - hv_started)) -le 2 ] && [ $((hv_started - hv_start)) -le 2 ]; then hv_after=$hv_since; fi ;; esac
}

# hv_db_auth: sets hv_plugin and hv_hash from the `auth PLUGIN HASH` row in $hv_q.
# shellcheck disable=SC2154 # hv_q: set by the query before (shared.sh)
hv_db_auth() {
  hv_auth=$(printf '%s\n' "$hv_q" | sed -n 's/^auth //p' | head -n 1)
  hv_plugin=${hv_auth%% *}; hv_hash=${hv_auth#* }
}

# hv_db_restorable: whether $hv_plugin and $hv_hash are values handover records and restores
# (the character classes of `valid_plugin` and `valid_auth_string`): they go into SQL. Says on
# stderr which one is not.
hv_db_restorable() {
  case $hv_plugin in ''|*[!a-z0-9_]*) echo 'unexpected authentication plugin' >&2; return 1 ;; esac
  case $hv_hash in *[!A-Za-z0-9*+/=._\$-]*) echo 'unexpected authentication string' >&2; return 1 ;; esac
}
