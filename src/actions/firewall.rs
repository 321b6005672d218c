//! Firewall allowlist: lets the vendor's addresses reach sshd through the host's own firewall.
//!
//! If the host filters incoming traffic with iptables (legacy or nft-backed) or nftables, one
//! rule per address family is inserted at the top of each input chain, accepting the sources on
//! sshd's ports, tagged with `handover-GRANT`; teardown deletes exactly the rules carrying that
//! tag. Rules are never saved persistently. A host without a firewall is left alone (and the
//! grant says so).

use super::{Checks, Context, Step};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Validated addresses or CIDRs (`--allow-from`).
    pub sources: Vec<String>,
}

/// Which firewall the host runs: iptables when INPUT has rules or a DROP policy, else nftables
/// when a chain hooks input, else none.
const DETECT: &str = r#"hv_fw=none
if command -v iptables >/dev/null 2>&1 && { iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; } | grep -Eq '^-P INPUT (DROP|REJECT)|^-A INPUT'; then hv_fw=iptables
elif command -v nft >/dev/null 2>&1 && nft list ruleset 2>/dev/null | grep -q 'hook input'; then hv_fw=nft
fi
hv_ports=$(sshd -T 2>/dev/null | awk '$1 == "port" {print $2}' | sort -u | paste -sd, -)
[ -n "$hv_ports" ] || hv_ports=22"#;

/// awk over `nft list ruleset`: `FAMILY TABLE CHAIN` of every chain hooked at input.
const NFT_INPUT_CHAINS: &str = r#"$1 == "table" { family = $2; table = $3 }
$1 == "chain" { chain = $2 }
/hook input/ && (family == "inet" || family == "ip" || family == "ip6") { print family, table, chain }"#;

impl Firewall {
    fn tag(ctx: &Context) -> String {
        format!("handover-{}", ctx.grant)
    }

    fn v4(&self) -> Vec<&str> {
        self.sources
            .iter()
            .map(String::as_str)
            .filter(|s| !s.contains(':'))
            .collect()
    }

    fn v6(&self) -> Vec<&str> {
        self.sources
            .iter()
            .map(String::as_str)
            .filter(|s| s.contains(':'))
            .collect()
    }

    /// nft set syntax: `{ a, b }`.
    fn nft_set(sources: &[&str]) -> String {
        format!("{{ {} }}", sources.join(", "))
    }

    /// Shell text deleting every rule tagged for this grant (idempotent).
    fn remove_rules(&self, ctx: &Context, s: &mut Script) {
        let tag = Self::tag(ctx);
        for tool in ["iptables", "ip6tables"] {
            s.cmd(
                "if command -v {} >/dev/null 2>&1; then {} -L INPUT -n --line-numbers 2>/dev/null | awk -v t={} 'index($0, \"/* \" t \" */\") {print $1}' | sort -rn | while read -r hv_n; do {} -D INPUT \"$hv_n\"; done; fi",
                &[tool, tool, &tag, tool],
            );
        }
        s.cmd("if command -v nft >/dev/null 2>&1; then", &[]);
        s.cmd(
            "  nft list ruleset 2>/dev/null | awk {} | while read -r hv_f hv_t hv_c; do",
            &[NFT_INPUT_CHAINS],
        );
        s.cmd(
            "    nft -a list chain \"$hv_f\" \"$hv_t\" \"$hv_c\" | awk -v t={} 'index($0, \"comment \\\"\" t \"\\\"\") {print $NF}' | while read -r hv_h; do nft delete rule \"$hv_f\" \"$hv_t\" \"$hv_c\" handle \"$hv_h\"; done",
            &[&tag],
        );
        s.raw("  done");
        s.raw("fi");
    }
}

impl Step for Firewall {
    fn footprint(&self, grant: &GrantId, facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.rule_tag(&format!("handover-{grant}"));
        if facts.get("backend").is_some_and(|b| b == "iptables") {
            for source in &self.sources {
                own.iptables_source(source);
            }
        }
    }

    fn describe(&self) -> String {
        format!("firewall: accept SSH from {}", self.sources.join(", "))
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let id = checks.add(
            "sources",
            "the firewall allowlist has at least one source (--allow-from)",
        );
        if self.sources.is_empty() {
            s.cmd("hv_fail {}", &[&id]);
        } else {
            s.cmd("hv_ok {}", &[&id]);
        }
        s.raw(DETECT);
        s.raw("hv_fact firewall \"$hv_fw\"");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let tag = Self::tag(ctx);
        s.raw(DETECT);
        s.raw("hv_fact backend \"$hv_fw\"");
        s.raw("if [ \"$hv_fw\" = none ]; then hv_fact note 'no firewall on the host: nothing to open'; fi");
        s.raw("if [ \"$hv_fw\" = iptables ]; then");
        for (tool, sources) in [("iptables", self.v4()), ("ip6tables", self.v6())] {
            for source in sources {
                s.cmd(
                    "  {} -I INPUT 1 -s {} -p tcp -m multiport --dports \"$hv_ports\" -m comment --comment {} -j ACCEPT",
                    &[tool, source, &tag],
                );
            }
        }
        s.raw("fi");
        s.raw("if [ \"$hv_fw\" = nft ]; then");
        s.cmd(
            "  nft list ruleset | awk {} > \"${TMPDIR:-/tmp}/hv-chains.$$\"",
            &[NFT_INPUT_CHAINS],
        );
        s.raw("  while read -r hv_f hv_t hv_c; do");
        let comment = format!("\"{tag}\"");
        for (match_word, families, sources) in [
            ("ip", ["inet", "ip"], self.v4()),
            ("ip6", ["inet", "ip6"], self.v6()),
        ] {
            if sources.is_empty() {
                continue;
            }
            s.cmd(
                "    if [ \"$hv_f\" = {} ] || [ \"$hv_f\" = {} ]; then nft insert rule \"$hv_f\" \"$hv_t\" \"$hv_c\" {} saddr {} tcp dport \"{ $hv_ports }\" accept comment {}; fi",
                &[families[0], families[1], match_word, &Self::nft_set(&sources), &comment],
            );
        }
        s.raw("  done < \"${TMPDIR:-/tmp}/hv-chains.$$\"");
        s.raw("  rm -f \"${TMPDIR:-/tmp}/hv-chains.$$\"");
        s.raw("fi");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        self.remove_rules(ctx, s);
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let tag = Self::tag(ctx);
        let id = checks.add(
            "rule",
            format!(
                "a firewall rule tagged {tag} accepts the sources (or the host has no firewall)"
            ),
        );
        s.raw(DETECT);
        s.cmd(
            "if [ \"$hv_fw\" = none ] || {{ iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; nft list ruleset 2>/dev/null; }} | grep -q -- {}; then hv_ok {}; else hv_fail {}; fi",
            &[&tag, &id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let tag = Self::tag(ctx);
        let id = checks.add("rule", format!("no firewall rule is tagged {tag}"));
        s.cmd(
            "{{ iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; nft list ruleset 2>/dev/null; }} | grep -- {} | hv_report {}",
            &[&tag, &id],
        );
    }
}
