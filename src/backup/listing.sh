# shellcheck shell=sh
# handover: the scope as it is now, for restore and diff (src/backup/listing.rs). Defines
# hv_listing SCOPE, which prints NUL-separated fields, so no file name can forge a record:
#   entries\0 then per entry  TYPE MODE UID GID SIZE\0PATH\0LINK\0   (find -printf)
#   hashes\0  then per file   SHA256  PATH\0                        (sha256sum -z: no escaping)
#   acls\0    then getfacl -R -s -p text (names escaped as \ooo), if getfacl exists
#   end\0     when everything was listed
hv_listing() {
  cd -- "$1" || exit 2
  printf 'entries\000'
  find . -xdev -printf '%y %m %U %G %s\000%p\000%l\000' || exit 2
  printf 'hashes\000'
  find . -xdev -type f -exec sha256sum -z -- {} + || exit 2
  printf 'acls\000'
  if command -v getfacl >/dev/null 2>&1; then
    find . -xdev -print0 | xargs -0 -r getfacl -s -P -p -- 2>/dev/null
  fi
  printf '\000end\000'
}
