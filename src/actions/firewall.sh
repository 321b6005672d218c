# shellcheck shell=sh
# handover: the firewall allowlist (src/actions/firewall.rs). Defines functions only.

# hv_fw_detect: which firewall the host runs, in hv_fw: ufw when `ufw status` says active, else
# firewalld when `firewall-cmd --state` says running, else iptables when INPUT has rules or a
# DROP policy, else nft when a chain hooks input, else none; and sshd's ports, comma-separated,
# in hv_ports.
# shellcheck disable=SC2034 # hv_fw: read by the action's apply and checks
hv_fw_detect() {
  hv_fw=none
  if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then hv_fw=ufw
  elif hv_fwd_running; then hv_fw=firewalld
  elif command -v iptables >/dev/null 2>&1 && { iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; } | grep -Eq '^-P INPUT (DROP|REJECT)|^-A INPUT'; then hv_fw=iptables
  elif command -v nft >/dev/null 2>&1 && nft list ruleset 2>/dev/null | grep -q 'hook input'; then hv_fw=nft
  fi
  hv_ports=$(sshd -T 2>/dev/null | awk '$1 == "port" {print $2}' | sort -u | paste -sd, -)
  [ -n "$hv_ports" ] || hv_ports=22
}

# hv_fw_chains: over `nft list ruleset`, `FAMILY TABLE CHAIN` of every chain hooked at input.
hv_fw_chains() {
  awk '
    $1 == "table" { family = $2; table = $3 }
    $1 == "chain" { chain = $2 }
    /hook input/ && (family == "inet" || family == "ip" || family == "ip6") { print family, table, chain }'
}

# hv_fw_remove TAG PRIORITY DIR: delete every rule of the grant: tagged TAG in iptables' and
# ip6tables' INPUT chains, in every nftables chain hooked at input and in ufw's rules; of
# priority PRIORITY in firewalld (hv_fwd_remove, with DIR). Nothing to delete is success.
hv_fw_remove() {
  hv_ufw_remove "$1"
  hv_fwd_remove "$3" "$2"
  for hv_tool in iptables ip6tables; do
    if command -v "$hv_tool" >/dev/null 2>&1; then "$hv_tool" -L INPUT -n --line-numbers 2>/dev/null | awk -v t="$1" 'index($0, "/* " t " */") {print $1}' | sort -rn | while read -r hv_n; do "$hv_tool" -D INPUT "$hv_n"; done; fi
  done
  if command -v nft >/dev/null 2>&1; then
    nft list ruleset 2>/dev/null | hv_fw_chains | while read -r hv_f hv_t hv_c; do
      nft -a list chain "$hv_f" "$hv_t" "$hv_c" | awk -v t="$1" 'index($0, "comment \"" t "\"") {print $NF}' | while read -r hv_h; do nft delete rule "$hv_f" "$hv_t" "$hv_c" handle "$hv_h"; done
    done
  fi
}

# --- ufw --------------------------------------------------------------------------------------
# ufw has no rules that live only until its next reload: every rule it takes is written to
# /etc/ufw/user.rules (user6.rules for IPv6), comment included (hex-encoded), and loaded again
# by `ufw reload` and at boot. The grant's rules are ufw's own, commented TAG, so that a reload
# keeps them; teardown and the expiry guard delete them through ufw again (which rewrites the
# files as they were).

# hv_ufw_add TAG SOURCE: let SOURCE reach sshd's ports (hv_ports) ahead of ufw's other rules,
# commented TAG. ufw skips a rule it already has (the customer's, uncommented): that one is
# left alone, said, and its source added to hv_ufw_skipped (the action's fact `ufw_skipped`:
# the drift report must not take it for the grant's).
hv_ufw_add() {
  hv_out=$(ufw prepend allow proto tcp from "$2" to any port "$hv_ports" comment "$1")
  case $hv_out in
    *Skipping*)
      hv_fact warning "ufw already lets $2 reach sshd's port $hv_ports with a rule of yours: handover added none, and that rule stays after teardown"
      hv_ufw_skipped="$hv_ufw_skipped $2" ;;
  esac
}

# hv_ufw_rules TAG: `SOURCE PORTS` of every ufw rule commented TAG, in the shape hv_ufw_add
# gives it, read from ufw's list of its rules (`ufw show added` reads them whether ufw is
# active or not).
hv_ufw_rules() {
  ufw show added 2>/dev/null | awk -v c="'$1'" '$1 == "ufw" && $2 == "allow" && $3 == "from" && $5 == "to" && $6 == "any" && $7 == "port" && $9 == "proto" && $10 == "tcp" && $11 == "comment" && $12 == c && NF == 12 { print $4, $8 }'
}

# hv_ufw_remove TAG: delete every ufw rule commented TAG (ufw deletes the rule of that shape,
# and it holds no two alike).
hv_ufw_remove() {
  command -v ufw >/dev/null 2>&1 || return 0
  hv_ufw_rules "$1" | while read -r hv_s hv_p; do ufw delete allow from "$hv_s" to any port "$hv_p" proto tcp >/dev/null; done
}

# hv_ufw_allows TAG SOURCE: ufw has a rule commented TAG from SOURCE, or the customer's own rule
# letting SOURCE reach sshd's ports (hv_ports) that hv_ufw_add skipped.
hv_ufw_allows() {
  ufw show added 2>/dev/null | awk -v c="'$1'" -v s="$2" -v p="$hv_ports" '
    function bare(a) { sub(/\/(32|128)$/, "", a); return a }
    $1 == "ufw" && $2 == "allow" && $3 == "from" && bare($4) == bare(s) && $5 == "to" && $6 == "any" && $7 == "port" && $9 == "proto" && $10 == "tcp" && (NF == 10 && $8 == p || NF == 12 && $11 == "comment" && $12 == c) { found = 1 }
    END { exit !found }'
}

# --- firewalld --------------------------------------------------------------------------------
# firewalld drops rules it holds only at run time when it reloads (`firewall-cmd --reload`,
# a restart, a boot), so the grant's rich rules go into both its runtime and its permanent
# configuration. Rich rules take no comment: the grant's carry a priority of their own
# (PRIORITY, derived from the grant id, negative: ahead of the zone's other rules), which
# preflight checks no rule has yet. firewalld rewrites a zone's file when its permanent rules
# change, and keeps the file before as ZONE.xml.old (then holding the grant's rule): DIR keeps
# both files as they were, to be put back at removal when the zone is again as it was.

# hv_fwd_running: firewalld runs (and firewall-cmd reaches it).
hv_fwd_running() {
  command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]
}

# hv_fwd_zones: the zones incoming traffic can land in: the default zone and every active one.
hv_fwd_zones() {
  { firewall-cmd --get-default-zone; firewall-cmd --get-active-zones 2>/dev/null | awk '/^[^ \t]/ { print $1 }'; } | sort -u
}

# hv_fwd_rules PRIORITY CMD [ARGS…]: `ZONE RULE` for every rich rule of priority PRIORITY in
# the shape hv_fwd_add gives it, as `CMD ARGS… --list-all-zones` lists them (firewall-cmd for
# the runtime, with --permanent for the permanent configuration, firewall-offline-cmd for the
# files while firewalld is not running).
hv_fwd_rules() {
  hv_p=$1; shift
  "$@" --list-all-zones 2>/dev/null | awk -v p="rule priority=\"$hv_p\" family=\"ipv" '
    /^[^ \t]/ { zone = $1; next }
    /^\trule / { r = substr($0, 2); if (index(r, p) == 1 && r ~ / source address="[^"]*" port port="[0-9]+" protocol="tcp" accept$/) print zone, r }'
}

# hv_fwd_priority_used PRIORITY: every rich rule of priority PRIORITY, whatever its shape, at
# run time, permanent, or in a zone file (firewalld's backups included).
hv_fwd_priority_used() {
  { firewall-cmd --list-all-zones; firewall-cmd --permanent --list-all-zones; } 2>/dev/null | grep -F -- "rule priority=\"$1\" " || true
  grep -H -F -- "priority=\"$1\"" /etc/firewalld/zones/*.xml /etc/firewalld/zones/*.xml.old 2>/dev/null || true
}

# hv_fwd_zone_ok ZONE: a zone name that is also safe as a file name.
hv_fwd_zone_ok() {
  case $1 in '' | .* | *[!A-Za-z0-9_.-]*) return 1 ;; esac
}

# hv_fwd_settings ZONE: the zone's permanent settings as firewalld lists them.
hv_fwd_settings() {
  if hv_fwd_running; then firewall-cmd --permanent --zone="$1" --list-all; else firewall-offline-cmd --zone="$1" --list-all; fi
}

# hv_fwd_save DIR: before the grant's first rule, the zones it goes into (hv_fwd_zones) in
# DIR/zones and, for each, its permanent settings and its files in /etc/firewalld/zones as they
# are (a file that is not there is not copied).
hv_fwd_save() {
  if [ ! -e /var/lib/handover ] && [ ! -L /var/lib/handover ]; then mkdir -m 0700 /var/lib/handover; fi
  if [ -L /var/lib/handover ] || [ "$(stat -c %u -- /var/lib/handover)" != 0 ] || [ -n "$(find /var/lib/handover -maxdepth 0 -perm /022)" ]; then
    echo '/var/lib/handover is not a directory of root'"'"'s that only root can write' >&2; exit 1
  fi
  # mkdir fails if it exists: the directory is new, and ours.
  mkdir -m 0700 -- "$1"
  hv_fwd_zones > "$1/zones"
  while read -r hv_z; do
    hv_fwd_zone_ok "$hv_z" || continue
    hv_fwd_settings "$hv_z" > "$1/$hv_z.settings"
    for hv_x in xml xml.old; do
      if [ -f "/etc/firewalld/zones/$hv_z.$hv_x" ]; then cp -p -- "/etc/firewalld/zones/$hv_z.$hv_x" "$1/$hv_z.$hv_x"; fi
    done
  done < "$1/zones"
}

# hv_fwd_add DIR PRIORITY FAMILY SOURCE: let SOURCE reach sshd's ports (hv_ports) in every zone
# of DIR/zones, at run time and permanently.
hv_fwd_add() {
  for hv_port in $(printf '%s\n' "$hv_ports" | tr , ' '); do
    hv_r="rule priority=\"$2\" family=\"$3\" source address=\"$4\" port port=\"$hv_port\" protocol=\"tcp\" accept"
    while read -r hv_z; do
      firewall-cmd --zone="$hv_z" --add-rich-rule="$hv_r" >/dev/null
      firewall-cmd --permanent --zone="$hv_z" --add-rich-rule="$hv_r" >/dev/null
    done < "$1/zones"
  done
}

# hv_fwd_has PRIORITY SOURCE: firewalld has a rule of the grant's from SOURCE, at run time and
# permanently.
hv_fwd_has() {
  hv_fwd_rules "$1" firewall-cmd | grep -qF -- "source address=\"$2\" port" &&
    hv_fwd_rules "$1" firewall-cmd --permanent | grep -qF -- "source address=\"$2\" port"
}

# hv_fwd_remove DIR PRIORITY: delete every rich rule of priority PRIORITY (in the grant's
# shape) from every zone, at run time and permanently (from the files with
# firewall-offline-cmd while firewalld is not running); then put back the files DIR kept of
# each zone whose permanent settings are again as they were, and remove DIR.
hv_fwd_remove() {
  if hv_fwd_running; then
    hv_fwd_rules "$2" firewall-cmd | while read -r hv_z hv_r; do firewall-cmd --zone="$hv_z" --remove-rich-rule="$hv_r" >/dev/null; done
    hv_fwd_rules "$2" firewall-cmd --permanent | while read -r hv_z hv_r; do firewall-cmd --permanent --zone="$hv_z" --remove-rich-rule="$hv_r" >/dev/null; done
  elif command -v firewall-offline-cmd >/dev/null 2>&1; then
    hv_fwd_rules "$2" firewall-offline-cmd | while read -r hv_z hv_r; do firewall-offline-cmd --zone="$hv_z" --remove-rich-rule="$hv_r" >/dev/null; done
  fi
  [ -d "$1" ] || return 0
  while read -r hv_z; do
    if ! hv_fwd_zone_ok "$hv_z" || [ ! -f "$1/$hv_z.settings" ]; then continue; fi
    hv_zf=/etc/firewalld/zones/$hv_z.xml
    if [ "$(hv_fwd_settings "$hv_z")" = "$(cat "$1/$hv_z.settings")" ]; then
      for hv_x in xml xml.old; do
        if [ -f "$1/$hv_z.$hv_x" ]; then cp -p -- "$1/$hv_z.$hv_x" "/etc/firewalld/zones/$hv_z.$hv_x"; else rm -f -- "/etc/firewalld/zones/$hv_z.$hv_x"; fi
      done
    elif [ -f "$hv_zf" ] && [ -f "$hv_zf.old" ] && grep -q "priority=\"$2\"" "$hv_zf.old"; then
      # The zone changed since (the customer's doing): firewalld's copy of the file before
      # holds the grant's rule; it becomes the zone as it is now.
      cp -p -- "$hv_zf" "$hv_zf.old"
    fi
  done < "$1/zones"
  rm -rf -- "$1"
  rmdir /var/lib/handover 2>/dev/null || true
}
