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

/// Finding the host's firewall and the tagged rules (`firewall.sh`).
const LIB: &str = include_str!("firewall.sh");

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
        s.raw(LIB);
        s.cmd("hv_fw_remove {}", &[&Self::tag(ctx)]);
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
        s.raw(LIB);
        s.raw("hv_fw_detect; hv_fact firewall \"$hv_fw\"");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let tag = Self::tag(ctx);
        s.raw(LIB);
        s.raw("hv_fw_detect; hv_fact backend \"$hv_fw\"");
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
        s.raw("  nft list ruleset | hv_fw_chains > \"${TMPDIR:-/tmp}/hv-chains.$$\"");
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

    /// The vendor's rules go while suspended, and come back at resume.
    fn suspend(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.undo(ctx, s);
        self.verify_absent(ctx, s, checks);
    }

    fn resume(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        self.apply(ctx, s);
        self.verify_present(ctx, s, checks);
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let tag = Self::tag(ctx);
        let id = checks.add(
            "rule",
            format!(
                "a firewall rule tagged {tag} accepts the sources (or the host has no firewall)"
            ),
        );
        s.raw(LIB);
        s.raw("hv_fw_detect");
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
