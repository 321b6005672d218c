# shellcheck shell=sh
# handover: the site's database in the backup (src/backup/database.rs). Defines functions
# only; src/actions/db.sh comes first (hv_db_client). The dump functions write the database as
# SQL on stdout, nothing else; those with a password read the administrator's option file (a
# libpq service file for PostgreSQL) on file descriptor 3, as db.sh's clients do.

# hv_bdb_dump_mysql_root DATABASE [ARGS…]: MariaDB/MySQL as root through its unix socket. One
# transaction (a consistent dump of InnoDB tables while the site writes), routines, triggers
# and events, binary columns in hex (byte-exact through any character set), utf8mb4 end to
# end, timestamps in UTC (the default --tz-utc), DROP before each CREATE (the default --opt).
hv_bdb_dump_mysql_root() {
  hv_pd=$1; shift; hv_c=mariadb-dump; command -v mariadb-dump >/dev/null 2>&1 || hv_c=mysqldump
  "$hv_c" --default-character-set=utf8mb4 --single-transaction --routines --triggers --events --hex-blob "$@" "$hv_pd"
}
# hv_bdb_dump_mysql_password DATABASE [ARGS…]: the same as the administrator in the option file.
hv_bdb_dump_mysql_password() {
  hv_pd=$1; shift; hv_c=mariadb-dump; command -v mariadb-dump >/dev/null 2>&1 || hv_c=mysqldump
  "$hv_c" --defaults-extra-file=/dev/fd/3 --default-character-set=utf8mb4 --single-transaction --routines --triggers --events --hex-blob "$@" "$hv_pd"
}
# hv_bdb_dump_pg_root DATABASE [ARGS…]: PostgreSQL as `postgres` (peer authentication), plain
# SQL; pg_dump works in one repeatable-read snapshot by itself.
hv_bdb_dump_pg_root() {
  hv_pd=$1; shift
  (cd / && runuser -u postgres -- pg_dump -w --format=plain "$@" --dbname="$hv_pd")
}
# hv_bdb_dump_pg_password DATABASE [ARGS…]: the same as the administrator in the service file.
hv_bdb_dump_pg_password() {
  hv_pd=$1; shift
  PGSERVICEFILE=/dev/fd/3 pg_dump -w --format=plain "$@" "service=handover dbname=$hv_pd"
}

# hv_bdb_sql TEXT: TEXT with @DB@ replaced by $hv_db, a name of the strict pattern (letters,
# digits, `_`, `-`: nothing sed or SQL would read as syntax).
# shellcheck disable=SC2154 # hv_db: set by the caller (read_cms_db_name or the given name)
hv_bdb_sql() {
  case $hv_db in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9_-]*) echo 'no valid database name' >&2; return 1 ;; esac
  printf '%s\n' "$1" | sed "s/@DB@/$hv_db/g"
}
