# shellcheck shell=sh
# handover: whether the host lets an account log in with its password (src/actions/login.rs).
# Defines functions only.

# hv_login_where KEYWORD...: `where KEYWORD LOCATION` for each, LOCATION being where sshd reads
# it first (`FILE:LINE`, with `, in a Match block` when only a Match block sets it; '' when
# nothing does: sshd's default). sshd keeps the first value it reads, in the order it reads the
# files: sshd_config, and each file of an Include where the Include line is.
hv_login_where() {
  awk -v keys=" $* " '
    function scan(file,   line, n, w, inc, g, k, matched) {
      n = 0; matched = 0
      while ((getline line < file) > 0) {
        n++
        split(line, w, /[ \t=]+/)
        if (w[1] == "") { w[1] = w[2]; w[2] = w[3] }
        k = tolower(w[1])
        if (k == "match") { matched = 1; continue }
        if (k == "include") {
          inc = w[2]; if (inc !~ /^\//) inc = "/etc/ssh/" inc
          while ((("ls -d -- " inc " 2>/dev/null") | getline g) > 0) scan(g)
          close("ls -d -- " inc " 2>/dev/null")
          continue
        }
        if (k == "" || index(keys, " " k " ") == 0) continue
        if (!matched && global[k] == "") global[k] = file ":" n
        if (matched && inmatch[k] == "") inmatch[k] = file ":" n ", in a Match block"
      }
      close(file)
    }
    BEGIN {
      scan("/etc/ssh/sshd_config")
      n = split(keys, ks, " ")
      for (i = 1; i <= n; i++) print "where " ks[i] " " (global[ks[i]] != "" ? global[ks[i]] : inmatch[ks[i]])
    }'
}

# hv_login_refusals USER ADDR GROUPS [FLAGS]: why the host would refuse USER (in the
# space-separated GROUPS) a login from ADDR, one reason a line, naming the setting and where it
# is set; nothing when it would let it in. From the effective settings for that login (`sshd -T
# -C`), /etc/nologin, and the PAM modules that visibly restrict logins in sshd's stack
# (pam_access, pam_listfile). The login is with the account's password, and with FLAGS holding
# `key` (comma-separated) with a key too (--vendor-key); with `password-login`, what the grant's
# own Match block then sets for USER alone (password logins, AuthenticationMethods, AllowUsers,
# AllowGroups) no longer refuses it.
hv_login_refusals() {
  if ! hv_t=$(sshd -T -C "user=$1,host=$2,addr=$2" 2>/dev/null); then
    echo "\`sshd -T\` cannot tell the SSH server's settings for $1 from $2"
    return 0
  fi
  {
    printf '%s\n' "$hv_t"
    hv_login_where allowusers denyusers allowgroups denygroups passwordauthentication \
      kbdinteractiveauthentication challengeresponseauthentication usepam authenticationmethods \
      permitrootlogin pubkeyauthentication
  } | awk -v u="$1" -v a="$2" -v g="$3" -v flags=",${4:-}," '
    # sshd patterns: * and ?.
    function glob(s, p,   c, i) {
      while (p != "") {
        c = substr(p, 1, 1)
        if (c == "*") {
          p = substr(p, 2)
          if (p == "") return 1
          for (i = 0; i <= length(s); i++) if (glob(substr(s, i + 1), p)) return 1
          return 0
        }
        if (s == "" || (c != "?" && c != substr(s, 1, 1))) return 0
        s = substr(s, 2); p = substr(p, 2)
      }
      return s == ""
    }
    function ip4(x,   q, n) { if (split(x, q, ".") != 4) return -1; n = 0; for (i4 = 1; i4 <= 4; i4++) n = n * 256 + q[i4]; return n }
    function host(p,   n, m, b) {
      if (index(p, "/") == 0) return glob(a, p)
      split(p, n, "/"); m = ip4(n[1]); b = 2 ^ (32 - n[2])
      return m >= 0 && ip4(a) >= 0 && int(ip4(a) / b) == int(m / b)
    }
    function user_matches(e,   at) {
      at = index(e, "@")
      if (at == 0) return glob(u, e)
      return glob(u, substr(e, 1, at - 1)) && host(substr(e, at + 1))
    }
    function group_matches(e,   n, i, gs) {
      n = split(g, gs, " ")
      for (i = 1; i <= n; i++) if (glob(gs[i], e)) return 1
      return 0
    }
    function at(k) { return w[k] == "" ? " (sshd'"'"'s default)" : " (set in " w[k] ")" }
    $1 == "where" { w[$2] = substr($0, length($1 $2) + 3); next }
    { v[$1] = v[$1] == "" ? substr($0, length($1) + 2) : v[$1] " " substr($0, length($1) + 2); seen[$1] = 1 }
    END {
      n = split(v["denyusers"], e, " ")
      for (i = 1; i <= n; i++) if (user_matches(e[i])) print "DenyUsers `" e[i] "` refuses `" u "`" at("denyusers") ": choose another --account name"
      if (u == "root" && v["permitrootlogin"] != "yes") print "PermitRootLogin " v["permitrootlogin"] at("permitrootlogin") ": root may not log in with a password"
      n = split(v["denygroups"], e, " ")
      for (i = 1; i <= n; i++) if (group_matches(e[i])) print "DenyGroups `" e[i] "` refuses `" u "`" at("denygroups")
      if (index(flags, ",password-login,") == 0) {
        if (seen["allowusers"]) {
          n = split(v["allowusers"], e, " "); ok = 0
          for (i = 1; i <= n; i++) if (user_matches(e[i])) ok = 1
          if (!ok) print "AllowUsers lets in only " v["allowusers"] at("allowusers")
        }
        if (seen["allowgroups"]) {
          n = split(v["allowgroups"], e, " "); ok = 0
          for (i = 1; i <= n; i++) if (group_matches(e[i])) ok = 1
          if (!ok) print "AllowGroups lets in only members of " v["allowgroups"] at("allowgroups")
        }
        pw = v["passwordauthentication"] == "yes"
        # Before OpenSSH 8.7 (Debian 11: 8.4), which prints ChallengeResponseAuthentication,
        # keyboard-interactive asks PAM for the password only when that is yes too: with
        # KbdInteractiveAuthentication alone the method is offered and every password fails.
        cr = !seen["challengeresponseauthentication"] || v["challengeresponseauthentication"] == "yes"
        kbd = v["kbdinteractiveauthentication"] == "yes" && v["usepam"] == "yes" && cr
        key = index(flags, ",key,") > 0
        pk = key && v["pubkeyauthentication"] == "yes"
        m = v["authenticationmethods"]; ok = 0
        if (m == "any" || m == "") ok = pw || kbd || pk
        else {
          n = split(m, e, " ")
          for (i = 1; i <= n; i++) {
            c = split(e[i], f, ","); all = 1
            for (j = 1; j <= c; j++) {
              if (f[j] == "password") { if (!pw) all = 0 }
              else if (f[j] ~ /^keyboard-interactive/) { if (!kbd) all = 0 }
              else if (f[j] ~ /^publickey/) { if (!pk) all = 0 }
              else all = 0
            }
            if (all) ok = 1
          }
        }
        if (!ok && !pw && !kbd && !pk) {
          if (v["kbdinteractiveauthentication"] == "yes" && !cr)
            print "PasswordAuthentication " v["passwordauthentication"] at("passwordauthentication") " and ChallengeResponseAuthentication " v["challengeresponseauthentication"] at("challengeresponseauthentication") ": no password logins (this sshd asks PAM for passwords over keyboard-interactive only with ChallengeResponseAuthentication yes)"
          else
            print "PasswordAuthentication " v["passwordauthentication"] at("passwordauthentication") " and KbdInteractiveAuthentication " v["kbdinteractiveauthentication"] at("kbdinteractiveauthentication") ": no password logins"
          if (key) print "PubkeyAuthentication " v["pubkeyauthentication"] at("pubkeyauthentication") ": no key logins"
        } else if (!ok) {
          print "AuthenticationMethods " m at("authenticationmethods") ": " (key ? "the account'"'"'s password and the vendor'"'"'s key are not enough" : "a password alone is not enough")
        }
      }
    }'
  for hv_f in /etc/nologin /var/run/nologin; do
    if [ -e "$hv_f" ]; then echo "$hv_f exists: pam_nologin refuses every login but root's until it is removed"; break; fi
  done
  hv_login_pam "$1" "$2" "$3"
}

# hv_login_pam USER ADDR GROUPS: the refusals of pam_access (access.conf, the first matching
# line decides) and pam_listfile (item=user or group, sense allow or deny) where sshd's PAM
# stack (its file and the common files it includes) uses them.
hv_login_pam() {
  [ -f /etc/pam.d/sshd ] || return 0
  set -- "$1" "$2" "$3" /etc/pam.d/sshd
  # shellcheck disable=SC2013 # one word a line: the included file's name
  for hv_f in $(sed -n 's/^@include[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/pam.d/sshd); do
    [ -f "/etc/pam.d/$hv_f" ] && set -- "$@" "/etc/pam.d/$hv_f"
  done
  hv_u=$1 hv_a=$2 hv_g=$3
  shift 3
  awk '$1 !~ /^#/ && $1 ~ /^-?(account|auth)$/ { for (i = 3; i <= NF; i++) if ($i ~ /(^|\/)pam_(access|listfile)\.so$/) { print FILENAME ":" FNR " " substr($0, index($0, $i)); break } }' "$@" 2>/dev/null |
    while read -r hv_where hv_mod hv_args; do
      case $hv_mod in
      *pam_access.so)
        hv_c=/etc/security/access.conf
        for hv_x in $hv_args; do case $hv_x in accessfile=*) hv_c=${hv_x#accessfile=} ;; esac; done
        [ -f "$hv_c" ] || continue
        awk -F: -v u="$hv_u" -v a="$hv_a" -v g="$hv_g" -v where="$hv_where" '
          function has(list, x,   n, i, t, except, hit) {
            n = split(list, t, /[ \t,]+/); hit = 0; except = 0
            for (i = 1; i <= n; i++) {
              if (t[i] == "") continue
              if (t[i] == "EXCEPT") { except = 1; continue }
              if (!except && (t[i] == "ALL" || x[t[i]] || x["(" t[i] ")"])) hit = 1
              if (except && (t[i] == "ALL" || x[t[i]] || x["(" t[i] ")"])) return 0
            }
            return hit
          }
          BEGIN {
            who[u] = 1; n = split(g, gs, " "); for (i = 1; i <= n; i++) { who["(" gs[i] ")"] = 1; who[gs[i]] = 1 }
            from[a] = 1
            # a network prefix written as `10.0.0.` matches its addresses
            m = split(a, q, "."); p = ""; for (i = 1; i < m; i++) { p = p q[i] "."; from[p] = 1 }
          }
          /^[ \t]*#/ || NF < 3 { next }
          has($2, who) && has($3, from) {
            if ($1 ~ /^[ \t]*-/) print "pam_access (" where ") refuses `" u "` from " a ": line " FNR " of " FILENAME " (" $0 ")"
            exit
          }' "$hv_c"
        ;;
      *pam_listfile.so)
        hv_item='' hv_sense='' hv_file=''
        for hv_x in $hv_args; do
          case $hv_x in item=*) hv_item=${hv_x#item=} ;; sense=*) hv_sense=${hv_x#sense=} ;; file=*) hv_file=${hv_x#file=} ;; esac
        done
        case $hv_item in user) hv_names=$hv_u ;; group) hv_names=$hv_g ;; *) continue ;; esac
        hv_in=
        for hv_x in $hv_names; do if [ -f "$hv_file" ] && grep -qxF -- "$hv_x" "$hv_file"; then hv_in=1; fi; done
        if [ "$hv_sense" = allow ] && [ -z "$hv_in" ]; then
          echo "pam_listfile ($hv_where) lets in only the ${hv_item}s listed in $hv_file"
        elif [ "$hv_sense" = deny ] && [ -n "$hv_in" ]; then
          echo "pam_listfile ($hv_where) refuses the ${hv_item}s listed in $hv_file"
        fi
        ;;
      esac
    done
}

# hv_session_peer: the address this script's SSH login comes from, as the host sees it: the peer
# of the connection its sshd process holds ('' when there is no sshd among its ancestors or no
# `ss`).
# shellcheck disable=SC2034 # hv_x takes the rest of /proc/self/stat: only the pid is wanted
hv_session_peer() {
  read -r hv_p hv_x </proc/self/stat
  while [ -n "$hv_p" ] && [ "$hv_p" -gt 1 ]; do
    case $(cat "/proc/$hv_p/comm" 2>/dev/null) in
    sshd | sshd-session)
      ss -H -tnp state established 2>/dev/null | awk -v p="pid=$hv_p," 'index($0, p) {
        a = $4; sub(/:[0-9]+$/, "", a); gsub(/^\[|\]$/, "", a); sub(/^::ffff:/, "", a); print a; exit }'
      return 0
      ;;
    esac
    hv_p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$hv_p/status" 2>/dev/null)
  done
}
