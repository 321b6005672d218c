# shellcheck shell=sh
# handover: installing and removing an sshd drop-in safely (src/actions/sshd_dropin.rs says
# how; this is the shell it sends). Defines functions only. Every function handles its own
# errors (they are called from `||` lists and conditions, where `set -e` does not apply) and
# prints reasons on stderr. What other fragments may rely on: shared.sh.

hv_sshd_pf() {
  # Sets hv_pf to sshd's pid file ('' for PidFile none). Asked once per shell: a drop-in's
  # Match blocks cannot change it, and each `sshd -T` costs as much as a dozen small commands.
  if [ -z "${hv_pf_memo:-}" ]; then
    hv_p=$(sshd -T 2>/dev/null | awk 'tolower($1) == "pidfile" { print $2; exit }')
    case $hv_p in
      none) hv_pf_memo=none ;;
      /*) hv_pf_memo=$hv_p ;;
      *) hv_pf_memo=/run/sshd.pid ;;
    esac
  fi
  hv_pf=$hv_pf_memo
  [ "$hv_pf" != none ] || hv_pf=
}
hv_sshd_pid() {
  hv_sshd_pf
  [ -n "$hv_pf" ] && [ -f "$hv_pf" ] || return 1
  hv_pid=$(head -n 1 -- "$hv_pf" 2>/dev/null)
  case $hv_pid in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$hv_pid" 2>/dev/null && [ "$(cat "/proc/$hv_pid/comm" 2>/dev/null)" = sshd ] || return 1
  # The listener, not a per-connection sshd (whose parent is the listener) that got a stale pid.
  hv_ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$hv_pid/stat" 2>/dev/null)
  [ -n "$hv_ppid" ] && [ "$(cat "/proc/$hv_ppid/comm" 2>/dev/null)" != sshd ] || return 1
  printf '%s\n' "$hv_pid"
}
hv_sshd_unit() {
  [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 || return 1
  for hv_u in ssh.service sshd.service; do
    if systemctl is-active --quiet "$hv_u" 2>/dev/null; then printf '%s\n' "$hv_u"; return 0; fi
  done
  return 1
}
hv_sshd_reload() {
  hv_sshd_pf
  hv_stamp=
  if [ -n "$hv_pf" ]; then hv_stamp=$(stat -c '%i %z' -- "$hv_pf" 2>/dev/null); fi
  hv_pid=$(hv_sshd_pid) || hv_pid=
  if hv_unit=$(hv_sshd_unit); then
    systemctl reload "$hv_unit" || { echo "handover: systemctl reload $hv_unit failed" >&2; return 1; }
  elif [ -n "$hv_pid" ]; then
    kill -HUP "$hv_pid" || { echo "handover: could not send SIGHUP to sshd (pid $hv_pid)" >&2; return 1; }
  else
    echo "handover: cannot reload sshd: no active ssh or sshd systemd unit, and no running sshd in its pid file ${hv_pf:-(PidFile none)}" >&2
    return 1
  fi
  [ -n "$hv_pid" ] || return 0
  # sshd re-executes itself on SIGHUP: it removes its pid file and writes it again once it
  # listens, so a new pid file means the new configuration is in effect.
  hv_i=0
  while :; do
    if [ -f "$hv_pf" ] && [ "$(stat -c '%i %z' -- "$hv_pf" 2>/dev/null)" != "$hv_stamp" ] && [ "$(head -n 1 -- "$hv_pf" 2>/dev/null)" = "$hv_pid" ]; then
      return 0
    fi
    if ! kill -0 "$hv_pid" 2>/dev/null; then
      echo "handover: sshd (pid $hv_pid) exited after the reload" >&2
      return 1
    fi
    hv_i=$((hv_i + 1))
    if [ "$hv_i" -ge 1000 ]; then
      echo "handover: sshd did not write $hv_pf again within 10 seconds of the reload" >&2
      return 1
    fi
    sleep 0.01
  done
}
hv_sshd_test() {
  if ! hv_o=$(sshd -t "$@" 2>&1); then printf '%s\n' "$hv_o"; return 1; fi
}
# hv_sshd_valid ID: check ID passes when `sshd -t` accepts the configuration; what sshd says
# against it is the detail.
hv_sshd_valid() {
  if hv_o=$(hv_sshd_test); then hv_ok "$1"; else hv_fail "$1"; printf '%s\n' "$hv_o" | hv_detail "$1"; fi
}
# hv_sshd_included DIR CONFIG: succeeds when an `Include` line of sshd_config CONFIG before its
# first `Match` line covers DIR/*.conf (directly, or as DIR/*), relative names being under
# /etc/ssh.
hv_sshd_included() {
  awk -v dir="$1" '
    { sub(/^[ \t]+/, "") }
    /^#/ || $0 == "" { next }
    { n = split($0, w, /[ \t=]+/); k = tolower(w[1]) }
    k == "match" { exit }
    k == "include" {
      for (i = 2; i <= n; i++) {
        p = w[i]; gsub(/"/, "", p)
        if (p !~ /^\//) p = "/etc/ssh/" p
        if (p == dir "/*.conf" || p == dir "/*") found = 1
      }
    }
    END { exit !found }' "$2"
}
# hv_sshd_loaded_since FILE ID: check ID passes when the running sshd (re)started since FILE
# last changed. sshd rewrites its pid file when it (re)starts: not older than FILE means it has
# read it (not "newer": file times are only as fine as the kernel's clock tick).
# shellcheck disable=SC3013 # `-nt`: not POSIX, but dash (the hosts' /bin/sh), bash and busybox sh have it
hv_sshd_loaded_since() {
  hv_sshd_pf
  if [ -z "$hv_pf" ] || [ ! "$1" -nt "$hv_pf" ]; then hv_ok "$2"; else hv_fail "$2"; fi
}
# hv_sshd_only 'KEY…': the lines of stdin (`sshd -T` output) of those keywords.
hv_sshd_only() {
  awk -v keys="$1" 'BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 } tolower($1) in want'
}
# hv_sshd_val TEXT KEY: the values on KEY's lines of `sshd -T` output TEXT.
hv_sshd_val() { printf '%s\n' "$1" | awk -v k="$2" 'tolower($1) == k { sub(/^[^ ]+ /, ""); print }'; }
# hv_sshd_first TEXT KEY: the value on KEY's first line of `sshd -T` output (keys are lower
# case there), with shell expansions only: it runs once per expected setting. For keywords
# with one value; list keywords (denyusers, …) may take a line per value: hv_sshd_val.
hv_sshd_first() {
  hv_x="
$1
"
  case $hv_x in
    *"
$2 "*) hv_x=${hv_x#*"
$2 "}; printf '%s\n' "${hv_x%%"
"*}" ;;
  esac
}
# hv_sshd_probe SPEC 'KEY…': ask `sshd -T -C SPEC` (user=…,host=…,addr=…) for the settings of
# one login; keeps SPEC in hv_spec and the lines of those keywords in hv_t for the
# hv_sshd_want_* checks after it, and prints a line when sshd -T fails. Only the lines of the
# keywords checked: matching patterns against the whole output (4 KB) costs dash tens of
# milliseconds per keyword.
hv_sshd_probe() {
  hv_spec=$1
  if ! hv_t=$(sshd -T -C "$hv_spec" 2>&1); then printf 'sshd -T -C %s fails: %s\n' "$hv_spec" "$hv_t"; fi
  hv_t=$(printf '%s\n' "$hv_t" | hv_sshd_only "$2")
}
# hv_sshd_want_is KEY VALUE, hv_sshd_want_lists KEY WORD, hv_sshd_want_not_lists KEY WORD:
# print a line when the last hv_sshd_probe shows otherwise, nothing when it agrees.
hv_sshd_want_is() {
  hv_v=$(hv_sshd_first "$hv_t" "$1")
  [ "$hv_v" = "$2" ] || printf 'sshd -T -C %s: %s is %s, not %s\n' "$hv_spec" "$1" "${hv_v:-unset}" "$2"
}
hv_sshd_want_lists() {
  hv_sshd_val "$hv_t" "$1" | tr ' ' '\n' | grep -qxF -- "$2" || printf 'sshd -T -C %s: %s does not list %s\n' "$hv_spec" "$1" "$2"
}
hv_sshd_want_not_lists() {
  ! hv_sshd_val "$hv_t" "$1" | tr ' ' '\n' | grep -qxF -- "$2" || printf 'sshd -T -C %s: %s lists %s\n' "$hv_spec" "$1" "$2"
}
# hv_sshd_keys USER ADDR 'KEY…': the lines of those keywords, sorted, `;`-joined.
hv_sshd_keys() {
  hv_t=$(sshd -T -C "user=$1,host=$2,addr=$2" 2>/dev/null) || { printf 'sshd -T fails'; return 0; }
  printf '%s\n' "$hv_t" | hv_sshd_only "$3" | sort | tr '\n' ';'
}
hv_dropin_write() {
  if [ -e "$1" ] || [ -L "$1" ]; then echo "handover: $1 exists already; not replacing it" >&2; return 1; fi
  rm -f -- "$2" || return 1
  if ! { printf '%s' "$3" > "$2" && chmod 0644 -- "$2"; }; then rm -f -- "$2"; return 1; fi
  hv_main=$(mktemp) || { rm -f -- "$2"; return 1; }
  printf 'Include %s\nInclude /etc/ssh/sshd_config\n' "$2" > "$hv_main"
  if ! hv_o=$(hv_sshd_test -f "$hv_main"); then
    rm -f -- "$2" "$hv_main"
    printf 'handover: sshd -t refuses the configuration with the new drop-in %s, so it was not installed and sshd was not reloaded:\n%s\n' "$1" "$hv_o" >&2
    return 1
  fi
  rm -f -- "$hv_main"
  # A hard link puts it in place atomically and never replaces an existing file.
  if ! ln -- "$2" "$1"; then rm -f -- "$2"; echo "handover: could not put $1 in place" >&2; return 1; fi
  rm -f -- "$2"
  if ! hv_o=$(hv_sshd_test); then
    rm -f -- "$1"
    printf 'handover: sshd -t refuses the configuration with %s in place, so it was removed again and sshd was not reloaded:\n%s\n' "$1" "$hv_o" >&2
    return 1
  fi
}
hv_dropin_remove() {
  hv_removed=
  for hv_f in "$2" "$1"; do
    if [ -e "$hv_f" ] || [ -L "$hv_f" ]; then
      if [ -f "$hv_f" ] && [ ! -L "$hv_f" ] && [ "$(head -n 1 -- "$hv_f")" = "$3" ]; then
        rm -f -- "$hv_f" || return 1
        hv_removed=1
      else
        printf "handover: %s does not start with '%s': left alone\n" "$hv_f" "$3" >&2
        return 1
      fi
    fi
  done
  [ -n "$hv_removed" ] || [ -n "$4" ] || return 0
  if ! hv_o=$(hv_sshd_test); then
    printf 'handover: %s is gone, but sshd -t refuses the rest of the configuration, so sshd was not reloaded (it keeps the settings of the removed drop-in until the configuration is fixed and sshd reloaded):\n%s\n' "$1" "$hv_o" >&2
    return 1
  fi
  hv_sshd_reload
}
