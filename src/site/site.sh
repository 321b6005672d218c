# shellcheck shell=sh
# handover: running a site's own PHP (src/site/mod.rs). Defines functions only.

# hv_wp_owner DIR: prints the owner of DIR's wp-config.php, the account the site's PHP runs as.
hv_wp_owner() {
  stat -c %U -- "$1/wp-config.php" 2>/dev/null
}

# hv_wp DIR URL COMMAND ARGS…: the PHP program on stdin (wordpress.php), run in DIR as the owner
# of its files (never root: a site's PHP, which the vendor may have changed, gets no more than
# the site has), with the command and its arguments; fd 3 passes through (a password).
hv_wp() {
  hv_wp_dir=$1
  shift
  hv_wp_as=$(hv_wp_owner "$hv_wp_dir") || { echo "no wp-config.php in $hv_wp_dir" >&2; return 1; }
  if [ "$hv_wp_as" = root ]; then
    echo "the site's files are owned by root: handover runs WordPress's PHP as their owner, never as root" >&2
    return 1
  fi
  (cd -- "$hv_wp_dir" && runuser -u "$hv_wp_as" -- php -d display_errors=stderr -- "$@")
}
