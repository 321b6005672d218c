# shellcheck shell=sh
# handover: the processes of the window (src/actions/window.rs): those of the logins opened during
# it, whatever user they run as. Defines functions only; teardown defines them before any step
# (shared.sh), for the temporary account (user) and for lent accounts (rotate-password).

# hv_window_pids UID BOOT SESSION: the processes of the logins as UID opened during the window.
# They are told by their login uid (set by pam_loginuid at login, kept across su and sudo) and
# audit session: after a reboot (another BOOT; `any` for a temporary account, all of whose
# logins are the window's) every session was opened during the window, else those with a later
# id than SESSION (the kernel numbers sessions in order since boot), and none when SESSION is ''
# (a host that keeps no audit sessions). Never by owner: root's daemons restarted meanwhile by
# the service manager have no login uid. Spared: the caller's session and its ancestry
# (teardown's own login, as root or as the lent account with `--become`), and zombies, which
# are dead already. /proc/PID/loginuid and sessionid end without a newline: `read` sets the
# value, then fails.
# shellcheck disable=SC2015 # `A && B || continue` is meant: next process unless both hold
# shellcheck disable=SC2034 # hv_x takes the rest of /proc/self/stat: only the pid is wanted
hv_window_pids() {
  hv_ls=$(cat /proc/self/sessionid 2>/dev/null || true)
  read -r hv_p hv_x </proc/self/stat; hv_keep=' '
  while [ -n "$hv_p" ] && [ "$hv_p" -gt 1 ]; do hv_keep="$hv_keep$hv_p "; hv_p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$hv_p/status" 2>/dev/null); done
  hv_same_boot=; if [ "$(cat /proc/sys/kernel/random/boot_id)" = "$2" ]; then hv_same_boot=1; fi
  for hv_d in /proc/[0-9]*; do
    hv_p=${hv_d#/proc/}
    hv_u=; hv_s=; { read -r hv_u <"$hv_d/loginuid"; read -r hv_s <"$hv_d/sessionid"; } 2>/dev/null || true
    [ -n "$1" ] && [ "$hv_u" = "$1" ] && [ -n "$hv_s" ] && [ "$hv_s" != "$hv_ls" ] || continue
    case $hv_keep in *" $hv_p "*) continue ;; esac
    if [ -n "$hv_same_boot" ]; then [ -n "$3" ] && [ "$hv_s" -gt "$3" ] || continue; fi
    grep -q '^State:[[:space:]]*Z' "$hv_d/status" 2>/dev/null && continue
    echo "$hv_p"
  done
}

# hv_window_package PATH: the installed package that ships the file PATH (dpkg, else rpm).
hv_window_package() {
  if command -v dpkg-query >/dev/null 2>&1; then
    # With merged /usr, a package may list /sbin/x for what runs as /usr/sbin/x.
    for hv_f in "$1" "${1#/usr}"; do
      hv_o=$(dpkg-query -S "$hv_f" 2>/dev/null | grep -v '^diversion ' | head -n 1) || true
      if [ -n "$hv_o" ]; then hv_o=${hv_o%%:*}; printf '%s\n' "${hv_o%%,*}"; return 0; fi
    done
  elif command -v rpm >/dev/null 2>&1; then
    rpm -qf --qf '%{NAME}\n' "$1" 2>/dev/null | head -n 1
  fi
}

# hv_window_service PID: when PID is a system service's process, print how to restart that
# service cleanly (then it runs as configured, outside the window's login): a daemon (detached:
# parent PID 1, no terminal) whose program an installed package ships together with an init
# script or a service unit, as `/etc/init.d/NAME restart` leaves it. Fails otherwise. (What the
# service manager starts carries no login uid, so it is never the window's; and a process of
# the window in a service's cgroup is a login on a host without pam_systemd, not a service.)
# shellcheck disable=SC2034 # hv_x takes the fields of /proc/PID/stat that are not wanted
hv_window_service() {
  hv_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The fields after the command name (which may hold spaces and parentheses): state, parent,
  # process group, session, terminal.
  read -r hv_x hv_pp hv_x hv_x hv_tty hv_x <<EOF
${hv_st##*) }
EOF
  [ "$hv_pp" = 1 ] && [ "$hv_tty" = 0 ] || return 1
  hv_e=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  hv_pkg=$(hv_window_package "$hv_e") || true
  [ -n "$hv_pkg" ] || return 1
  if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -L "$hv_pkg"; else rpm -ql "$hv_pkg"; fi 2>/dev/null |
    sed -n 's#^/etc/init\.d/\([^/]*\)$#\1#p; s#^\(/usr\)\{0,1\}/lib/systemd/system/\([^/@]*\)\.service$#\2#p' |
    head -n 1 | { read -r hv_n && [ -n "$hv_n" ] && printf 'service %s restart\n' "$hv_n"; }
}

# hv_window_served_by PID: the pid among $hv_svc (left-running services, ' PID PID ') that PID
# descends from (a web server's workers, say); fails when there is none.
hv_window_served_by() {
  hv_a=$1 hv_n=0
  while [ "$hv_n" -lt 64 ]; do
    hv_a=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$hv_a/status" 2>/dev/null) || return 1
    case $hv_a in '' | 0 | 1) return 1 ;; esac
    case $hv_svc in *" $hv_a "*) printf '%s\n' "$hv_a"; return 0 ;; esac
    hv_n=$((hv_n + 1))
  done
  return 1
}

# hv_window_scan UID BOOT SESSION [note]: hv_all = the window's processes (hv_window_pids);
# those not seen before (hv_seen, ' PID PID ') are sorted, each once: a system service's
# (hv_window_service), then its children, go to hv_svc, and with `note` each is named: `hv_note
# left-running DESCRIPTION<TAB>HOW` for those, `hv_note ended DESCRIPTION` for every other (see
# hv_window_describe). Start with hv_seen=' ' hv_svc=' '.
hv_window_scan() {
  hv_all=$(hv_window_pids "$1" "$2" "$3")
  for hv_q in $hv_all; do
    case $hv_seen in *" $hv_q "*) continue ;; esac
    if hv_r=$(hv_window_service "$hv_q"); then
      hv_seen="$hv_seen$hv_q " hv_svc="$hv_svc$hv_q "
      if [ "${4:-}" = note ]; then hv_note left-running "$(hv_window_describe "$hv_q")	$hv_r"; fi
    fi
  done
  for hv_q in $hv_all; do
    case $hv_seen in *" $hv_q "*) continue ;; esac
    hv_seen="$hv_seen$hv_q "
    if hv_r=$(hv_window_served_by "$hv_q"); then
      hv_svc="$hv_svc$hv_q "
      if [ "${4:-}" = note ]; then hv_note left-running "$(hv_window_describe "$hv_q")	part of pid $hv_r"; fi
    elif [ "${4:-}" = note ]; then
      hv_note ended "$(hv_window_describe "$hv_q")"
    fi
  done
}

# hv_window_ends: the pids of hv_all that are not in hv_svc, on one line.
hv_window_ends() {
  for hv_q in $hv_all; do
    case $hv_svc in *" $hv_q "*) ;; *) printf '%s ' "$hv_q" ;; esac
  done
}

# hv_window_describe PID: `PID<TAB>USER<TAB>COMMAND LINE<TAB>SOCKETS` (`tcp ESTAB A:P -> B:Q`,
# comma-separated), tabs and newlines in the command line made spaces.
hv_window_describe() {
  hv_u=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null) || true
  hv_n=$(getent passwd "$hv_u" | cut -d: -f1) || true
  hv_c=$(tr '\0\t\n\r' '    ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-400) || true
  [ -n "$hv_c" ] || hv_c="[$(cat "/proc/$1/comm" 2>/dev/null)]"
  hv_k=
  if command -v ss >/dev/null 2>&1; then
    hv_k=$(ss -H -tuapnw0 2>/dev/null | awk -v p="pid=$1," 'index($0, p) {
      s = $1 " " $2 " " $5; if ($6 !~ /^(\*|0\.0\.0\.0|\[::\]):(\*|0)$/) s = s " -> " $6
      out = out (out == "" ? "" : ", ") s } END { print out }') || true
  fi
  printf '%s\t%s\t%s\t%s\n' "$1" "${hv_n:-$hv_u}" "${hv_c% }" "$hv_k"
}

# hv_window_close UID BOOT SESSION: end the window's processes, each named first, but leave a
# system service's running, named with how to restart it: taking the customer's services down
# would be a surprise (hv_window_scan). Again until none is left, as a session may start new
# processes while its others die (at most 5 s).
hv_window_close() {
  hv_seen=' ' hv_svc=' ' hv_i=0
  while [ "$hv_i" -lt 50 ]; do
    hv_window_scan "$1" "$2" "$3" note
    hv_kill=$(hv_window_ends)
    [ -n "$hv_kill" ] || return 0
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $hv_kill 2>/dev/null || true
    hv_i=$((hv_i + 1)); sleep 0.1
  done
}

# hv_window_left UID BOOT SESSION: the window's processes still running but the services', one
# description a line.
hv_window_left() {
  hv_seen=' ' hv_svc=' '
  hv_window_scan "$1" "$2" "$3"
  for hv_p in $(hv_window_ends); do hv_window_describe "$hv_p"; done
}
