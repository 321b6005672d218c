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

# hv_fix_lists DIR [ACCOUNT PERMS]: owners, modes and ACLs as the backup has them, from the
# NUL-separated name lists in DIR: `acl` (entries without an ACL: one inherited on extraction
# or added goes), `own.UID.GID`, `mode.MODE`, and while the grant is live `keep.file` /
# `keep.dir` (its own entry back on what was rewritten). In this order: setfacl -b resets the
# group bits and chown clears set-id bits, which chmod then sets as they were.
hv_fix_lists() {
  if [ -s "$1/acl" ] && command -v setfacl >/dev/null 2>&1; then
    xargs -0 -r setfacl -b -- <"$1/acl" || exit 3
  fi
  for hv_f in "$1"/own.*; do
    [ -e "$hv_f" ] || continue
    hv_o=${hv_f##*/own.}
    xargs -0 -r chown -h "${hv_o%.*}:${hv_o#*.}" -- <"$hv_f" || exit 3
  done
  for hv_f in "$1"/mode.*; do
    [ -e "$hv_f" ] || continue
    xargs -0 -r chmod "${hv_f##*/mode.}" -- <"$hv_f" || exit 3
  done
  if [ -n "${2:-}" ] && [ -s "$1/keep.file" ]; then
    xargs -0 -r setfacl -m "u:$2:$3" -- <"$1/keep.file" || exit 3
  fi
  if [ -n "${2:-}" ] && [ -s "$1/keep.dir" ]; then
    xargs -0 -r setfacl -m "u:$2:$3,d:u:$2:$3" -- <"$1/keep.dir" || exit 3
  fi
}
