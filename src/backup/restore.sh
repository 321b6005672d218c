# shellcheck shell=sh
# handover: putting the scope's entries back from the backup (src/backup/restore.rs). Defines
# functions only; the script runs them in the scope. Every name comes as one word ending in an
# `x` (so a command substitution keeps its trailing newlines), always starting with `./`.

hv_tar_x() {
  hv_from=$1
  shift
  tar --extract --numeric-owner --same-permissions --same-owner --acls --xattrs \
    --xattrs-include='*' --no-recursion --null --verbatim-files-from --files-from="$hv_from" "$@"
}

# hv_remove NAMEx: an entry added on the host (with everything under it), or one whose kind
# changed, before the backup's comes back.
hv_remove() {
  rm -rf --one-file-system -- "${1%x}" || exit 3
}

# hv_extract_stdin LIST: the names in LIST (NUL-separated) from the tar stream on stdin; the
# rest of the stream is read to its end.
hv_extract_stdin() {
  hv_l=$1
  shift
  hv_tar_x "$hv_l" --file=-
  hv_st=$?
  cat >/dev/null
  if [ "$hv_st" -ne 0 ]; then echo "hv-tar $hv_st"; exit 3; fi
}

# hv_extract_file LIST ARCHIVE: the same from a zstd-compressed archive on the host; both
# zstd's and tar's exit statuses count.
hv_extract_file() {
  hv_l=$1
  hv_zst=$(mktemp) || exit 3
  { zstd -dc -- "$2"; echo "$?" >"$hv_zst"; } | hv_tar_x "$hv_l" --file=-
  hv_st=$?
  hv_z=$(cat "$hv_zst")
  rm -f "$hv_zst"
  if [ "$hv_st" -ne 0 ] || [ "$hv_z" != 0 ]; then echo "hv-tar $hv_st zstd $hv_z"; exit 3; fi
}

# hv_fix UID GID MODE HAS_ACL KIND NAMEx: owner and mode as the backup has them; an ACL the
# backup did not have (inherited from a default ACL on extraction, or added) goes.
hv_fix() {
  hv_p=${6%x}
  if [ "$5" = symlink ]; then
    chown -h "$1:$2" -- "$hv_p" || exit 3
    return
  fi
  if [ "$4" = 0 ] && command -v setfacl >/dev/null 2>&1; then setfacl -b -- "$hv_p" || exit 3; fi
  chown -h "$1:$2" -- "$hv_p" || exit 3
  chmod "$3" -- "$hv_p" || exit 3
}

# hv_keep ACCOUNT PERMS KIND NAMEx: the live grant's own entry back on what was rewritten.
hv_keep() {
  hv_p=${4%x}
  setfacl -m "u:$1:$2" -- "$hv_p" || exit 3
  if [ "$3" = dir ]; then setfacl -m "d:u:$1:$2" -- "$hv_p" || exit 3; fi
}
