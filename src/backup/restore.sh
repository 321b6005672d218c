# shellcheck shell=sh
# handover: putting the scope's entries back from the backup (src/backup/restore.rs). Defines
# functions only; the script runs them in the scope. Every name comes as one word ending in an
# `x` (so a command substitution keeps its trailing newlines), always starting with `./`.

# hv_tar_x LIST ARGS…: extract the names in LIST (NUL-separated), or everything with `-`.
hv_tar_x() {
  hv_from=$1
  shift
  if [ "$hv_from" != - ]; then
    set -- --no-recursion --null --verbatim-files-from --files-from="$hv_from" "$@"
  fi
  tar --extract --numeric-owner --same-permissions --same-owner --acls --xattrs \
    --xattrs-include='*' "$@"
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

# hv_keep_acl DIR ACCOUNT PERMS: while the grant is live, its own ACL entry back on what tar
# rewrote, from the NUL-separated name lists in DIR (`keep.file`, `keep.dir`: directories get
# the default entry too), as the grant's ACL action set it.
hv_keep_acl() {
  if [ -s "$1/keep.file" ]; then
    xargs -0 -r setfacl -m "u:$2:$3" -- <"$1/keep.file" || exit 3
  fi
  if [ -s "$1/keep.dir" ]; then
    xargs -0 -r setfacl -m "u:$2:$3,d:u:$2:$3" -- <"$1/keep.dir" || exit 3
  fi
}
