# shellcheck shell=sh
# handover: an sftp-only account's file operations, from the system log (src/actions/recording.rs).
# Defines functions only.

# hv_jail_log DIR ACCOUNT SINCE SOURCE: the lines `internal-sftp` logged for ACCOUNT since SINCE
# (seconds since the epoch), read from SOURCE (`journal`, or a syslog file and its `.1`), into
# DIR/sftp-jail.log after a header line. A line belongs to the account when its process logged
# "session opened for local user ACCOUNT from [...]" (a process id used again by another
# account's session is dropped at that session's own first line). A shorter result never
# replaces a longer one: the file may already hold lines the log has since rotated away.
hv_jail_log() {
  hv_out="$1/sftp-jail.log"
  {
    printf '# handover sftp-jail log: account=%s since=%s source=%s zone=%s\n' "$2" "$3" "$4" "$(date +%z)"
    if [ "$4" = journal ]; then
      journalctl -q --no-pager -o short-iso-precise --since "@$3" SYSLOG_IDENTIFIER=internal-sftp
    else
      for hv_f in "$4.1" "$4"; do
        if [ -f "$hv_f" ]; then grep -a 'internal-sftp\[[0-9]*\]: ' "$hv_f" || true; fi
      done
    fi
  } | awk -v u="$2" '
    NR == 1 { print; next }
    match($0, /internal-sftp\[[0-9]+\]: /) {
      pid = substr($0, RSTART + 14, RLENGTH - 17)
      if (index($0, "]: session opened for local user ") > 0)
        keep[pid] = index($0, "]: session opened for local user " u " from ") > 0
      if (keep[pid]) print
    }' > "$hv_out.new" || { rm -f -- "$hv_out.new"; echo "handover: could not read the system log ($4)" >&2; exit 1; }
  if [ -f "$hv_out" ] && [ "$(wc -l < "$hv_out.new")" -lt "$(wc -l < "$hv_out")" ]; then
    rm -f -- "$hv_out.new"
  else
    mv -f -- "$hv_out.new" "$hv_out"
  fi
}
