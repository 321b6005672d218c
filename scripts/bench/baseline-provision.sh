# shellcheck shell=sh
# The baseline's provision: what handover's `linux-user` playbook does, as one plain shell
# script run as root on the host (`scripts/bench/baseline` sends it on ssh's stdin, after the
# lines setting ACCOUNT, PASSWORD, SCOPE and EXPIRES, so the password is never in an argv).
#
#   account with a home, bash and an expiry date; a random password (chpasswd on stdin);
#   read/write on the scope through an access ACL plus a default ACL on every directory;
#   then verify from the host: account, home, expiry, usable password, writable scope,
#   default ACL.
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
getent passwd "$ACCOUNT" >/dev/null || fail "no passwd entry"
[ "$(stat -c %U -- "/home/$ACCOUNT")" = "$ACCOUNT" ] || fail "no home"
[ -n "$(getent shadow "$ACCOUNT" | cut -d: -f8)" ] || fail "no expiry"
[ "$(passwd -S -- "$ACCOUNT" | cut -d' ' -f2)" = P ] || fail "password not usable"
runuser -u "$ACCOUNT" -- test -w "$SCOPE" -a -x "$SCOPE" || fail "scope not writable"
getfacl -p -- "$SCOPE" 2>/dev/null | grep -q "^default:user:$ACCOUNT:" || fail "no default ACL"
echo "provisioned $ACCOUNT"
