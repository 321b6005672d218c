# shellcheck shell=sh
# handover: taking the grant's ACL entries out of the scope again (src/actions/acl.rs). Defines
# functions only. They work on the grant's ids, $hv_uid and $hv_gid, which the user action
# sets at teardown's top level (shared.sh).

# hv_acl_normalize: awk over `getfacl -R -p -n -E` output that rewrites, for
# `setfacl --restore`, every file whose ACL kept a mask or a default ACL but no named entry once
# the grant's entries are gone: the mask is dropped with the group entry reduced to what the
# mask let it do, and a default ACL without named entries is removed. Files keep exactly the
# permissions they had in effect; files without ACLs before the grant end without any. Files
# with named entries of their own keep them (their mask is recalculated).
hv_acl_normalize() {
  awk '
    function and3(a, b,    i, r, x, y) {
      r = ""
      for (i = 1; i <= 3; i++) { x = substr(a, i, 1); y = substr(b, i, 1); r = r ((x == y) ? x : "-") }
      return r
    }
    function flush(    i) {
      if (file == "") return
      if ((mask != "" && !named) || (def != "" && !dnamed) || (named && mask != "")) {
        print "# file: " file
        print "user::" u
        print "group::" ((mask != "" && !named) ? and3(g, mask) : g)
        for (i = 1; i <= n; i++) print ents[i]
        print "other::" o
        if (def != "" && dnamed) printf "%s", def
        print ""
      }
      file = ""
    }
    /^# file: / { flush(); file = substr($0, 9); u = g = o = mask = def = ""; named = dnamed = 0; n = 0; next }
    /^#/ || /^$/ { next }
    /^user::/ { u = substr($0, 7); next }
    /^group::/ { g = substr($0, 8); next }
    /^other::/ { o = substr($0, 8); next }
    /^mask::/ { mask = substr($0, 7); next }
    /^(user|group):[^:]+:/ { named = 1; ents[++n] = $0; next }
    /^default:mask::/ { next }
    /^default:(user|group):[^:]+:/ { dnamed = 1 }
    /^default:/ { def = def $0 "\n"; next }
    END { flush() }'
}

# hv_acl_undo SCOPE: take the grant's access and default entries out of everything under
# SCOPE, normalize what they leave behind, and hand the files the account created or took over
# to SCOPE's owner and group, each listed as a `note reassigned PATH` line.
# shellcheck disable=SC2154 # hv_uid, hv_gid: set by the user action's hv_user_ids (shared.sh)
hv_acl_undo() {
  # `-n`: keep the masks as they were during the window, so hv_acl_normalize can tell what
  # the group could effectively do.
  setfacl -R -P -n -x "u:$hv_uid" -- "$1"
  find "$1" -type d -exec setfacl -n -x "d:u:$hv_uid" -- {} +
  getfacl -R -P -p -n -E -- "$1" 2>/dev/null | hv_acl_normalize | setfacl --restore=-
  find "$1" -xdev \( -uid "$hv_uid" -o -gid "${hv_gid:-$hv_uid}" \) -print | while IFS= read -r hv_f; do hv_note reassigned "$hv_f"; done
  find "$1" -xdev -uid "$hv_uid" -exec chown -h --reference="$1" -- {} +
  find "$1" -xdev -gid "${hv_gid:-$hv_uid}" -exec chgrp -h --reference="$1" -- {} +
}

# hv_acl_left SCOPE: the files under SCOPE whose ACL still has an access or default entry for
# the grant's uid, once each.
# shellcheck disable=SC2154 # hv_uid: set by the user action's hv_user_ids (shared.sh)
hv_acl_left() {
  getfacl -R -P -p -n -- "$1" 2>/dev/null | awk -v u="$hv_uid" '/^# file: /{f=substr($0,9)} $0 ~ "^(default:)?user:" u ":" {print f}' | sort -u
}
