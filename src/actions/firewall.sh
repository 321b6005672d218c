# shellcheck shell=sh
# handover: the firewall allowlist (src/actions/firewall.rs). Defines functions only.

# hv_fw_detect: which firewall the host runs, in hv_fw: iptables when INPUT has rules or a DROP
# policy, else nft when a chain hooks input, else none; and sshd's ports, comma-separated, in
# hv_ports.
# shellcheck disable=SC2034 # hv_fw: read by the action's apply and checks
hv_fw_detect() {
  hv_fw=none
  if command -v iptables >/dev/null 2>&1 && { iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; } | grep -Eq '^-P INPUT (DROP|REJECT)|^-A INPUT'; then hv_fw=iptables
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

# hv_fw_remove TAG: delete every rule tagged TAG, in iptables' and ip6tables' INPUT chains and
# in every nftables chain hooked at input (nothing to delete is success).
hv_fw_remove() {
  for hv_tool in iptables ip6tables; do
    if command -v "$hv_tool" >/dev/null 2>&1; then "$hv_tool" -L INPUT -n --line-numbers 2>/dev/null | awk -v t="$1" 'index($0, "/* " t " */") {print $1}' | sort -rn | while read -r hv_n; do "$hv_tool" -D INPUT "$hv_n"; done; fi
  done
  if command -v nft >/dev/null 2>&1; then
    nft list ruleset 2>/dev/null | hv_fw_chains | while read -r hv_f hv_t hv_c; do
      nft -a list chain "$hv_f" "$hv_t" "$hv_c" | awk -v t="$1" 'index($0, "comment \"" t "\"") {print $NF}' | while read -r hv_h; do nft delete rule "$hv_f" "$hv_t" "$hv_c" handle "$hv_h"; done
    done
  fi
}
