# shellcheck shell=sh
# The baseline's provision: what handover's `linux-user` playbook does, as one plain shell
# script run as root on the host (`scripts/bench/baseline` sends it on ssh's stdin, after the
# lines setting ACCOUNT, PASSWORD, SCOPE and EXPIRES, so the password is never in an argv).
#
#   account with a home, bash and an expiry date; a random password (chpasswd on stdin);
#   read/write on the scope through an access ACL plus a default ACL on every directory;
#   an sshd Match block that keeps the account from forwarding or tunnelling (checked with
#   sshd -t, then sshd reloaded); a cron entry that removes the account at the expiry;
#   then verify from the host: account, home, expiry, usable password, writable scope,
#   default ACL, the sshd settings in effect for the account, the cron entry.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

useradd --create-home --shell /bin/bash --comment 'bench baseline' \
	--expiredate "$EXPIRES" --user-group -- "$ACCOUNT"
chpasswd <<EOF
$ACCOUNT:$PASSWORD
EOF
setfacl -R -P -m "u:$ACCOUNT:rwX" -- "$SCOPE"
find "$SCOPE" -type d -exec setfacl -m "d:u:$ACCOUNT:rwX" -- {} +

fail() { echo "baseline provision: $*" >&2; exit 1; }
dropin=/etc/ssh/sshd_config.d/00-bench-$ACCOUNT.conf
printf 'Match User %s\n\tAllowTcpForwarding no\n\tAllowStreamLocalForwarding no\n\tAllowAgentForwarding no\n\tX11Forwarding no\n\tPermitTunnel no\n\tPermitListen none\n\tPermitOpen none\n' \
	"$ACCOUNT" >"$dropin"
sshd -t || { rm -f -- "$dropin"; fail "sshd refuses the drop-in"; }
kill -HUP "$(cat /run/sshd.pid)"
mkdir -p /var/lib/bench
chmod 0700 /var/lib/bench
# shellcheck disable=SC2016 # $(cat …) is for the removal script, not for now
printf '#!/bin/sh\npkill -KILL -u %s; userdel --remove -- %s; rm -f -- %s /etc/cron.d/bench-%s; kill -HUP "$(cat /run/sshd.pid)"\n' \
	"$ACCOUNT" "$ACCOUNT" "$dropin" "$ACCOUNT" >"/var/lib/bench/$ACCOUNT"
chmod 0700 "/var/lib/bench/$ACCOUNT"
printf '%s %s %s %s * root /var/lib/bench/%s\n' "$(date -d "$EXPIRES" +%-M)" "$(date -d "$EXPIRES" +%-H)" \
	"$(date -d "$EXPIRES" +%-d)" "$(date -d "$EXPIRES" +%-m)" "$ACCOUNT" >"/etc/cron.d/bench-$ACCOUNT"

getent passwd "$ACCOUNT" >/dev/null || fail "no passwd entry"
[ "$(stat -c %U -- "/home/$ACCOUNT")" = "$ACCOUNT" ] || fail "no home"
[ -n "$(getent shadow "$ACCOUNT" | cut -d: -f8)" ] || fail "no expiry"
[ "$(passwd -S -- "$ACCOUNT" | cut -d' ' -f2)" = P ] || fail "password not usable"
runuser -u "$ACCOUNT" -- test -w "$SCOPE" -a -x "$SCOPE" || fail "scope not writable"
getfacl -p -- "$SCOPE" 2>/dev/null | grep -q "^default:user:$ACCOUNT:" || fail "no default ACL"
sshd -T -C "user=$ACCOUNT,host=192.0.2.1,addr=192.0.2.1" | grep -qx 'allowtcpforwarding no' || fail "forwarding allowed"
[ -f "/etc/cron.d/bench-$ACCOUNT" ] || fail "no cron entry"
echo "provisioned $ACCOUNT"
