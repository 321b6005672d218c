# shellcheck shell=sh
# handover: the sessions opened with a lent password (src/actions/rotate.rs). Defines
# functions only; teardown defines them before any step (shared.sh).

# hv_window_pids UID BOOT SESSION: the processes of the logins as UID opened during the window.
# They are told by their login uid (set by pam_loginuid at login, kept across su and sudo) and
# audit session: after a reboot (another BOOT) every session was opened during the window, else
# those with a later id than SESSION (the kernel numbers sessions in order since boot), and none
# when SESSION is '' (a host that keeps no audit sessions). Never by owner: root's daemons
# restarted meanwhile have no login uid. Spared: the caller's session and its ancestry
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

# hv_window_end UID BOOT SESSION: end those processes, until none is left: a session may
# start new processes while its others die (at most 5 s).
hv_window_end() {
  hv_i=0
  while hv_w=$(hv_window_pids "$1" "$2" "$3") && [ -n "$hv_w" ] && [ "$hv_i" -lt 50 ]; do
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $hv_w 2>/dev/null || true; hv_i=$((hv_i + 1)); sleep 0.1
  done
}

# hv_window_list UID BOOT SESSION: those processes, one `process PID (NAME)` line each.
hv_window_list() {
  hv_window_pids "$1" "$2" "$3" | while read -r hv_p; do printf 'process %s (%s)\n' "$hv_p" "$(cat "/proc/$hv_p/comm" 2>/dev/null)"; done
}
