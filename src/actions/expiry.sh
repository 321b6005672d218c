# shellcheck shell=sh
# handover: the expiry guard (src/actions/expiry.rs): finding a scheduler, scheduling the
# removal script with it, the script's own start, and cancelling it. Defines functions only.
# What other fragments may rely on: shared.sh.

# hv_guard_scheduler: prints the scheduler the guard uses (`systemd`, `at` or `cron`, in that
# order of preference), or fails when none runs.
hv_guard_scheduler() {
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then echo systemd
  elif command -v at >/dev/null 2>&1 && pgrep -x atd >/dev/null 2>&1; then echo at
  elif { pgrep -x cron || pgrep -x crond; } >/dev/null 2>&1 && [ -d /etc/cron.d ]; then echo cron
  else return 1; fi
}

# hv_guard_base_ok: /var/lib/handover is absent, or a real directory of root's that nobody
# else can write (a writable one would let its owner swap the script).
hv_guard_base_ok() {
  [ ! -e /var/lib/handover ] && [ ! -L /var/lib/handover ] && return 0
  [ ! -L /var/lib/handover ] && [ -d /var/lib/handover ] &&
    [ "$(stat -c %u -- /var/lib/handover)" = 0 ] &&
    [ -z "$(find /var/lib/handover -maxdepth 0 -perm /022)" ]
}

# Scheduling, one function per scheduler: WHEN is the expiry and NOW the time of the decision
# (unix times). Each sets hv_t, when the job starts, and records its own fact. at and cron
# work in whole minutes: the job starts at the minute at or before the expiry, and sleeps the
# remaining seconds.

# hv_guard_systemd WHEN NOW UNIT DESCRIPTION SCRIPT: a transient timer runs /bin/sh SCRIPT.
hv_guard_systemd() {
  # A calendar time in the past would never fire.
  hv_t=$1; if [ "$hv_t" -le "$2" ]; then hv_t=$(($2 + 1)); fi
  systemd-run --quiet --unit="$3" --description="$4" --on-calendar="$(date -u -d "@$hv_t" '+%Y-%m-%d %H:%M:%S') UTC" --timer-property=AccuracySec=1s --timer-property=RemainAfterElapse=no --property=CollectMode=inactive-or-failed /bin/sh "$5"
  hv_fact unit "$3"
}

# hv_guard_at WHEN NOW COMMAND: an at job runs COMMAND.
hv_guard_at() {
  hv_cmd=$3
  hv_t=$(($1 - $1 % 60))
  # `at -t` reads local time, as `date` prints it without TZ; a clean environment for both
  # (at also copies the environment into its job).
  if [ "$hv_t" -gt "$2" ]; then set -- -t "$(env -i PATH="$PATH" date -d "@$hv_t" +%Y%m%d%H%M)"; else set -- now; fi
  hv_out=$(cd / && printf '%s\n' "$hv_cmd" | env -i PATH="$PATH" at -M "$@" 2>&1) || true
  hv_job=$(printf '%s\n' "$hv_out" | sed -n 's/^job \([0-9][0-9]*\) at .*/\1/p')
  if [ -z "$hv_job" ]; then printf 'at failed: %s\n' "$hv_out" >&2; exit 1; fi
  hv_fact at_job "$hv_job"
}

# hv_guard_cron WHEN NOW COMMAND TMP FILE DIR: cron file FILE in DIR (written as TMP first,
# which cron ignores for its dot) runs COMMAND as root.
hv_guard_cron() {
  # cron reads its files at the start of each minute: the entry must be there before.
  hv_t=$(($1 - $1 % 60)); hv_first=$((($2 + 61) / 60 * 60))
  if [ "$hv_t" -lt "$hv_first" ]; then hv_t=$hv_first; fi
  printf 'MAILTO=""\n%s root %s\n' "$(env -i PATH="$PATH" date -d "@$hv_t" '+%-M %-H %-d %-m *')" "$3" > "$4"
  # cron sees a new file in /etc/cron.d only when the directory's mtime, in whole seconds,
  # differs from the one of its last load. If the directory last changed in this same second,
  # cron may have loaded it already with this second's mtime and would never see the file:
  # then the directory gets the next second's mtime, which cron cannot have recorded yet (no
  # waiting).
  hv_m0=$(stat -c %Y -- "$6")
  mv -f -- "$4" "$5"
  if [ "$(stat -c %Y -- "$6")" = "$hv_m0" ]; then touch -m -d "@$((hv_m0 + 1))" -- "$6"; fi
  hv_fact cron_file "$5"
}

# The removal script's own start and end.

# hv_guard_take DIR WHEN: wait for the exact second of the expiry (unix time: DIR/expires,
# which `handover extend` moves, read again after each wait; WHEN without it), then take
# DIR/armed, or end the script. Teardown disarms the guard by removing `armed`: whoever takes it
# first goes on.
hv_guard_take() {
  hv_now=$(date +%s)
  hv_at=$(cat -- "$1/expires" 2>/dev/null || echo "$2")
  while [ "$hv_now" -lt "$hv_at" ]; do
    sleep "$((hv_at - hv_now))"
    hv_now=$(date +%s)
    hv_at=$(cat -- "$1/expires" 2>/dev/null || echo "$2")
  done
  mv -- "$1/armed" "$1/running" 2>/dev/null || exit 0
  echo "$$" > "$1/running"
}

# hv_guard_end DIR MESSAGE: log MESSAGE (to syslog, when there is one) and remove every trace
# of the guard but its scheduler's own job, which atd and systemd drop by themselves.
hv_guard_end() {
  if command -v logger >/dev/null 2>&1 && [ -S /dev/log ]; then logger -t handover -- "$2" || true; fi
  rm -rf -- "$1"
}

# Cancelling.

# hv_guard_at_jobs PATH: the numbers of the at jobs that run PATH (queued or running).
hv_guard_at_jobs() {
  command -v atq >/dev/null 2>&1 || return 0
  atq 2>/dev/null | cut -f1 | while read -r hv_j; do
    if at -c "$hv_j" 2>/dev/null | grep -qF -- "$1"; then echo "$hv_j"; fi
  done
}

# hv_guard_wait DIR: while the guard's job is removing the grant (it renamed `armed` to
# `running` and wrote its pid there), wait for it to finish, at most a minute.
hv_guard_wait() {
  hv_i=0
  while [ -e "$1/running" ] && [ "$hv_i" -lt 600 ]; do
    hv_p=$(cat -- "$1/running" 2>/dev/null || true)
    if [ -n "$hv_p" ] && ! kill -0 "$hv_p" 2>/dev/null; then return 0; fi
    sleep 0.1
    hv_i=$((hv_i + 1))
  done
}
