# shellcheck shell=sh
# The baseline's teardown, run as root on the host after the lines setting ACCOUNT and SCOPE:
# lock the account and end its sessions (pkill -KILL -u until none is left), take its entries
# out of the scope's access and default ACLs, remove the account, its group and its home
# (userdel -r), the cron entry and the sshd drop-in (sshd checked and reloaded), then verify
# from the host that nothing of it is left.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

uid=$(id -u -- "$ACCOUNT")
gid=$(id -g -- "$ACCOUNT")
usermod --lock --expiredate 1 -- "$ACCOUNT" >/dev/null
i=0
while pgrep -u "$uid" >/dev/null 2>&1; do
	pkill -KILL -u "$uid" || true
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "baseline teardown: processes of $ACCOUNT survive SIGKILL" >&2; exit 1; }
	sleep 0.1
done
setfacl -R -P -x "u:$uid" -- "$SCOPE"
find "$SCOPE" -type d -exec setfacl -x "d:u:$uid" -- {} +
userdel --remove -- "$ACCOUNT" 2>/dev/null || [ $? -eq 12 ] # 12: no mail spool to remove
rm -f -- "/etc/cron.d/bench-$ACCOUNT" "/var/lib/bench/$ACCOUNT"
rmdir /var/lib/bench 2>/dev/null || true
rm -f -- "/etc/ssh/sshd_config.d/00-bench-$ACCOUNT.conf"
sshd -t
kill -HUP "$(cat /run/sshd.pid)"

fail() { echo "baseline teardown: $*" >&2; exit 1; }
! getent passwd "$ACCOUNT" >/dev/null || fail "passwd entry left"
! getent shadow "$ACCOUNT" >/dev/null || fail "shadow entry left"
! getent group "$ACCOUNT" >/dev/null || fail "group left"
! getent passwd "$uid" >/dev/null || fail "an account with uid $uid left"
[ ! -e "/home/$ACCOUNT" ] || fail "home left"
! pgrep -u "$uid" >/dev/null || fail "processes left"
if getfacl -R -P -p -n -- "$SCOPE" 2>/dev/null | grep -qE "^(default:)?user:$uid:"; then fail "ACL entries left"; fi
[ -z "$(find "$SCOPE" -xdev \( -uid "$uid" -o -gid "$gid" \) -print)" ] || fail "files of uid $uid or gid $gid left in the scope"
if [ -e "/etc/cron.d/bench-$ACCOUNT" ] || [ -e "/var/lib/bench/$ACCOUNT" ]; then fail "cron entry left"; fi
[ ! -e "/etc/ssh/sshd_config.d/00-bench-$ACCOUNT.conf" ] || fail "sshd drop-in left"
echo "removed $ACCOUNT"
