# shellcheck shell=sh
# handover: the scope's archive kept on the host (--backup-on-host; src/backup/on_host.rs).
# Defines functions only. Everything is root's alone: umask 077, directories 0700.

# hv_take_on_host SCOPE DIR: the scope as a zstd-compressed tar in DIR/files.tar.zst (DIR is
# new). Prints `stream BYTES SHA256` (the tar stream) and `archive BYTES SHA256` (the file);
# exits non-zero, leaving no archive, unless tar (0, or 1: a file changed while read), tee
# and zstd all succeeded, the archive decompresses whole and ends with tar's end-of-archive
# blocks.
hv_take_on_host() {
  umask 077
  cd -- "$1" || exit 2
  mkdir -p -- "${2%/*}" && chmod 700 -- "${2%/*}" || exit 2
  mkdir -- "$2" || exit 2
  hv_d=$2
  trap 'rm -f -- "$hv_d/sum" "$hv_d/count" "$hv_d"/*.rc "$hv_d"/*.out "$hv_d/files.tar.zst.part"' EXIT
  mkfifo -- "$hv_d/sum" "$hv_d/count" || exit 2
  sha256sum <"$hv_d/sum" >"$hv_d/sum.out" &
  wc -c <"$hv_d/count" >"$hv_d/count.out" &
  {
    tar --create --file=- --numeric-owner --acls --xattrs --sparse --one-file-system .
    echo "$?" >"$hv_d/tar.rc"
  } | {
    tee -- "$hv_d/sum" "$hv_d/count"
    echo "$?" >"$hv_d/tee.rc"
  } | zstd -q -3 >"$hv_d/files.tar.zst.part"
  hv_z=$?
  wait
  hv_t=$(cat "$hv_d/tar.rc")
  if [ "$hv_t" != 0 ] && [ "$hv_t" != 1 ]; then echo "tar exited with $hv_t" >&2; exit 3; fi
  if [ "$(cat "$hv_d/tee.rc")" != 0 ] || [ "$hv_z" != 0 ]; then echo "zstd exited with $hv_z" >&2; exit 3; fi
  zstd -q -t -- "$hv_d/files.tar.zst.part" || exit 3
  hv_end=$(zstd -q -dc -- "$hv_d/files.tar.zst.part" | tail -c 1024 | od -An -v -tx1 | tr -d ' 0\n')
  if [ -n "$hv_end" ]; then echo "the archive lacks tar's end-of-archive blocks" >&2; exit 3; fi
  mv -- "$hv_d/files.tar.zst.part" "$hv_d/files.tar.zst" || exit 3
  printf 'stream %s %s\n' "$(tr -d ' ' <"$hv_d/count.out")" "$(cut -d' ' -f1 <"$hv_d/sum.out")"
  printf 'archive %s %s\n' "$(wc -c <"$hv_d/files.tar.zst" | tr -d ' ')" \
    "$(sha256sum -- "$hv_d/files.tar.zst" | cut -d' ' -f1)"
}

# hv_archive_is SHA256 ARCHIVE: the archive is the one taken (the vendor had root on this
# host: a changed archive must not be restored).
hv_archive_is() {
  hv_s=$(sha256sum -- "$2" 2>/dev/null | cut -d' ' -f1)
  if [ "$hv_s" != "$1" ]; then
    echo "the archive $2 is not the one taken at provision (SHA-256 ${hv_s:-unreadable}, recorded $1)" >&2
    exit 4
  fi
}

# hv_unpack ARCHIVE TEMP [LIST]: the archive (only the names in LIST, NUL-separated, if given)
# into the new directory TEMP; both zstd's and tar's exit statuses count.
hv_unpack() {
  umask 077
  mkdir -- "$2" || exit 2
  hv_zst=$2.zstd.rc
  if [ -n "${3:-}" ]; then
    set -- "$1" "$2" --no-recursion --null --verbatim-files-from --files-from="$3"
  else
    set -- "$1" "$2"
  fi
  hv_a=$1 hv_t=$2
  shift 2
  { zstd -q -dc -- "$hv_a"; echo "$?" >"$hv_zst"; } |
    tar --extract --file=- --numeric-owner --same-owner --same-permissions --acls --xattrs \
      --xattrs-include='*' -C "$hv_t" "$@"
  hv_st=$?
  hv_z=$(cat "$hv_zst")
  rm -f -- "$hv_zst"
  if [ "$hv_st" -ne 0 ] || [ "$hv_z" != 0 ]; then
    echo "unpacking $hv_a failed: tar $hv_st, zstd $hv_z" >&2
    exit 3
  fi
}
