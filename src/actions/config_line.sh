# shellcheck shell=sh
# handover: one line added to a configuration file, and taken out again
# (src/actions/config_line.rs). Defines functions only. The line reaches awk through the
# environment: `-v` would expand backslashes in it.

# hv_line_insert LINE: stdin with LINE inserted before a final `?>` line (blank lines after it
# do not count), or appended.
hv_line_insert() {
  HV_LINE=$1 awk '
    { lines[NR] = $0 }
    END {
      last = NR
      while (last > 0 && lines[last] ~ /^[ \t]*$/) last--
      at = (last > 0 && lines[last] ~ /^[ \t]*\?>[ \t]*$/) ? last : NR + 1
      for (i = 1; i <= NR; i++) { if (i == at) print ENVIRON["HV_LINE"]; print lines[i] }
      if (at == NR + 1) print ENVIRON["HV_LINE"]
    }'
}

# hv_line_remove LINE: stdin without the first line equal to LINE.
hv_line_remove() {
  HV_LINE=$1 awk '!done && $0 == ENVIRON["HV_LINE"] { done = 1; next } { print }'
}

# hv_line_replace FILE NEW: replace FILE with NEW atomically (a rename), keeping FILE's owner,
# mode and ACL.
hv_line_replace() {
  chown --reference="$1" -- "$2"
  chmod --reference="$1" -- "$2"
  if command -v getfacl >/dev/null 2>&1; then getfacl -p -- "$1" 2>/dev/null | setfacl --set-file=- -- "$2" 2>/dev/null || true; fi
  mv -f -- "$2" "$1"
}
