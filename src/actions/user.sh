# shellcheck shell=sh
# handover: taking the temporary account away (src/actions/user.rs). Defines functions only.
# hv_user_ids sets variables other actions read at teardown: see shared.sh.

# hv_user_ids NAME MARK UID GID: the ids teardown works with. hv_uid and hv_gid are the recorded
# UID and GID, or (after a crash before they were recorded) those of account NAME if it carries
# the grant's MARK in its comment field; hv_ours is 1 when account NAME carries the MARK, else
# ''. Never the ids of an account the grant did not create: when the account is gone (its
# expiry guard removed it, or someone did by hand) and another account now has its uid
# (useradd hands out the highest uid + 1 again), that uid is no longer the grant's, so nothing
# may end its processes or touch its files: both are ''.
# shellcheck disable=SC2034 # hv_ours and hv_gid are read by the other actions' teardown (shared.sh)
hv_user_ids() {
  hv_uid=$3; hv_gid=$4; hv_ours=
  if hv_entry=$(getent passwd "$1") && [ "$(printf '%s' "$hv_entry" | cut -d: -f5)" = "$2" ]; then
    hv_ours=1; hv_uid=$(printf '%s' "$hv_entry" | cut -d: -f3); hv_gid=$(printf '%s' "$hv_entry" | cut -d: -f4)
  fi
  if [ -z "$hv_ours" ] && [ -n "$hv_uid" ] && getent passwd "$hv_uid" >/dev/null; then hv_uid=; hv_gid=; fi
}

# hv_end_sessions UID: end every process of UID, until none is left (at most 10 s).
hv_end_sessions() {
  hv_i=0
  while pgrep -u "$1" >/dev/null 2>&1; do
    pkill -KILL -u "$1" 2>/dev/null || true
    hv_i=$((hv_i + 1))
    if [ "$hv_i" -ge 100 ]; then echo "processes of uid $1 survive SIGKILL" >&2; return 1; fi
    sleep 0.1
  done
}

# hv_user_groupdel NAME GID: remove group NAME if it still has the grant's GID ('': never
# recorded, the group is left alone). userdel removes the private group itself unless someone
# else joined it.
hv_user_groupdel() {
  if [ -n "$2" ] && [ "$(getent group "$1" | cut -d: -f3)" = "$2" ]; then groupdel -- "$1"; fi
}

# hv_user_jobs NAME UID: the account's own scheduled jobs go with it, before its processes end
# (a job starting in between would outlive the window): its crontab, where cron keeps it by the
# account's name (Debian's crontabs/, SUSE's tabs/, the RHEL family's spool itself; only a file
# UID owns), and every at job whose spool file UID owns. Handed to root later instead, an at
# job would run as root.
hv_user_jobs() {
  for hv_p in /var/spool/cron/crontabs/"$1" /var/spool/cron/tabs/"$1" /var/spool/cron/"$1"; do
    if [ -f "$hv_p" ] && [ ! -L "$hv_p" ] && [ "$(stat -c %u -- "$hv_p")" = "$2" ]; then rm -f -- "$hv_p"; fi
  done
  for hv_p in /var/spool/cron/atjobs /var/spool/at; do
    if [ -d "$hv_p" ]; then find "$hv_p" -xdev -maxdepth 1 -type f -uid "$2" -exec rm -f -- {} +; fi
  done
}

# hv_user_jobs_left NAME UID: the account's crontab and at jobs still there, one a line.
hv_user_jobs_left() {
  for hv_p in /var/spool/cron/crontabs/"$1" /var/spool/cron/tabs/"$1"; do
    if [ -e "$hv_p" ] || [ -L "$hv_p" ]; then printf '%s\n' "$hv_p"; fi
  done
  # In the spool itself only a file of the account's (Debian keeps directories there).
  if [ -n "$2" ] && [ -f /var/spool/cron/"$1" ] && [ "$(stat -c %u -- /var/spool/cron/"$1")" = "$2" ]; then
    printf '%s\n' /var/spool/cron/"$1"
  fi
  if [ -n "$2" ]; then
    for hv_p in /var/spool/cron/atjobs /var/spool/at; do
      if [ -d "$hv_p" ]; then find "$hv_p" -xdev -maxdepth 1 -type f -uid "$2"; fi
    done
  fi
}
