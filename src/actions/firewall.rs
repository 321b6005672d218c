//! Firewall allowlist: lets the vendor's addresses reach sshd through the host's own firewall.
//!
//! The host's firewall is found at preflight, front-ends first. With ufw active, one ufw rule
//! per address, prepended, commented `handover-GRANT`; with firewalld running, one rich rule
//! per address and port in the default and every active zone, at run time and permanently,
//! marked by the grant's own priority ([`Firewall::priority`]): so a reload of the front-end
//! keeps them, and removal goes through the front-end too, so its next reload cannot bring
//! them back. Otherwise, with iptables (legacy or nft-backed) or nftables, one rule per address
//! family is inserted at the top of each input chain, tagged `handover-GRANT`, never saved.
//! Teardown and the expiry guard delete exactly the grant's rules, wherever they are. A host
//! without a firewall is left alone (and the grant says so). docs/firewall.md says why the
//! front-ends' rules are in their configuration for the window.

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

/// Where firewalld's zone files are kept as they were before the grant's rules (`firewall.sh`).
fn firewalld_dir(grant: &GrantId) -> String {
    format!("{}/{grant}-firewalld", super::HOST_STATE)
}

impl Firewall {
    fn tag(ctx: &Context) -> String {
        format!("handover-{}", ctx.grant)
    }

    /// The priority that marks the grant's firewalld rich rules, which take no comment: a
    /// value of its own for each grant id (FNV-1a), in -32000..=-1001. Negative, so the rules
    /// come before the zone's other rules, as the rules at the top of an input chain do.
    /// Records depend on it: it must never change for a given id.
    pub(crate) fn priority(grant: &GrantId) -> i32 {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in grant.as_str().bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        -1001 - i32::try_from(hash % 31_000).unwrap_or(0)
    }

    /// What preflight found (its fact `firewall`), for the plan: which firewall the grant's
    /// rules go through.
    pub fn plan_line(firewall: &str) -> &'static str {
        match firewall {
            "ufw" => "ufw is active: the grant's rules go through ufw (saved by it until teardown)",
            "firewalld" => {
                "firewalld runs: the grant's rules go through firewalld (at run time and permanently until teardown)"
            }
            "iptables" => "iptables: the grant's rules go at the top of INPUT (never saved)",
            "nft" => "nftables: the grant's rules go at the top of the input chains (never saved)",
            _ => "no firewall on the host: nothing to open",
        }
    }

    /// How ufw stores the tag in its rules files (`comment=HEX`).
    fn ufw_hex(tag: &str) -> String {
        tag.bytes().map(|b| format!("{b:02x}")).collect()
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

    /// Shell text deleting every rule of this grant (idempotent).
    fn remove_rules(ctx: &Context, s: &mut Script) {
        s.raw(LIB);
        s.cmd(
            "hv_fw_remove {} {} {}",
            &[
                &Self::tag(ctx),
                &Self::priority(ctx.grant).to_string(),
                &firewalld_dir(ctx.grant),
            ],
        );
    }
}

impl Step for Firewall {
    fn footprint(&self, grant: &GrantId, facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.rule_tag(&format!("handover-{grant}"));
        match facts.get("backend").map(String::as_str) {
            Some("iptables") => {
                for source in &self.sources {
                    own.iptables_source(source);
                }
            }
            Some("ufw" | "firewalld") => {
                // A source ufw already let in by a rule of the customer's got no rule.
                let skipped = facts.get("ufw_skipped").map_or("", String::as_str);
                for source in &self.sources {
                    if !skipped.split(' ').any(|s| s == source) {
                        own.front_end_source(source);
                    }
                }
            }
            _ => {}
        }
        own.tree(&firewalld_dir(grant));
    }

    fn describe(&self) -> String {
        format!("firewall: accept SSH from {}", self.sources.join(", "))
    }

    fn preflight(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
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
        let priority = Self::priority(ctx.grant).to_string();
        let id = checks.add(
            "priority",
            format!(
                "no firewalld rule has the grant's priority {priority} yet (run time, permanent, zone files)"
            ),
        );
        s.cmd(
            "if [ \"$hv_fw\" = firewalld ]; then hv_fwd_priority_used {} | hv_report {}; else hv_ok {}; fi",
            &[&priority, &id, &id],
        );
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let tag = Self::tag(ctx);
        let priority = Self::priority(ctx.grant).to_string();
        s.raw(LIB);
        s.raw("hv_fw_detect; hv_fact backend \"$hv_fw\"");
        s.raw("if [ \"$hv_fw\" = none ]; then hv_fact note 'no firewall on the host: nothing to open'; fi");
        s.raw("if [ \"$hv_fw\" = ufw ]; then");
        s.raw("  hv_ufw_skipped=");
        for source in &self.sources {
            s.cmd("  hv_ufw_add {} {}", &[&tag, source]);
        }
        s.raw("  if [ -n \"$hv_ufw_skipped\" ]; then hv_fact ufw_skipped \"${hv_ufw_skipped# }\"; fi");
        s.cmd(
            "  hv_fact note {}",
            &[&format!(
                "through ufw: its rules commented {tag}, in /etc/ufw/user*.rules until teardown"
            )],
        );
        s.raw("fi");
        s.raw("if [ \"$hv_fw\" = firewalld ]; then");
        let dir = firewalld_dir(ctx.grant);
        s.cmd("  hv_fwd_save {}", &[&dir]);
        for source in &self.sources {
            let family = if source.contains(':') { "ipv6" } else { "ipv4" };
            s.cmd("  hv_fwd_add {} {} {} {}", &[&dir, &priority, family, source]);
        }
        s.cmd(
            "  hv_fact note {}\"$(paste -sd, - < {})\"",
            &[
                &format!("through firewalld: rich rules of priority {priority}, at run time and permanently until teardown, in zone "),
                &format!("{dir}/zones"),
            ],
        );
        s.raw("fi");
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
        Self::remove_rules(ctx, s);
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
        let priority = Self::priority(ctx.grant).to_string();
        let id = checks.add(
            "rule",
            format!(
                "a firewall rule of the grant's ({tag}) accepts the sources (or the host has no firewall)"
            ),
        );
        s.raw(LIB);
        s.raw("hv_fw_detect");
        // Through a front-end: a rule for every source, in ufw's rules, or in firewalld's
        // runtime and permanent configuration; else the tag in the running rules.
        s.cmd(
            "if [ \"$hv_fw\" = none ] || {{ iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; nft list ruleset 2>/dev/null; }} | grep -q -- {}; then hv_fw_ok=1; else hv_fw_ok=0; fi",
            &[&tag],
        );
        s.raw("case $hv_fw in ufw | firewalld) hv_fw_ok=1 ;; esac");
        for source in &self.sources {
            s.cmd(
                "if [ \"$hv_fw\" = ufw ] && ! hv_ufw_allows {} {}; then hv_fw_ok=0; fi",
                &[&tag, source],
            );
            s.cmd(
                "if [ \"$hv_fw\" = firewalld ] && ! hv_fwd_has {} {}; then hv_fw_ok=0; fi",
                &[&priority, source],
            );
        }
        s.cmd(
            "if [ \"$hv_fw_ok\" = 1 ]; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let tag = Self::tag(ctx);
        let priority = Self::priority(ctx.grant).to_string();
        let dir = firewalld_dir(ctx.grant);
        let id = checks.add(
            "rule",
            format!(
                "no firewall rule is tagged {tag} (iptables, nftables, ufw's rules), none has priority {priority} in firewalld (run time or its files), and {dir} is gone"
            ),
        );
        s.raw(LIB);
        s.cmd(
            "{{ {{ iptables -S INPUT 2>/dev/null; ip6tables -S INPUT 2>/dev/null; nft list ruleset 2>/dev/null; }} | grep -- {}; \
             grep -H -- {} /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null; \
             if hv_fwd_running; then hv_fwd_rules {} firewall-cmd; fi; \
             grep -H -- {} /etc/firewalld/zones/*.xml /etc/firewalld/zones/*.xml.old 2>/dev/null; \
             if [ -e {} ]; then echo {}; fi; }} | hv_report {}",
            &[
                &tag,
                &format!("comment={}", Self::ufw_hex(&tag)),
                &priority,
                &format!("priority=\"{priority}\""),
                &dir,
                &format!("{dir} is still there"),
                &id,
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> GrantId {
        GrantId::parse(text).expect("a grant id")
    }

    #[test]
    fn firewalld_priority_is_fixed_for_a_grant_negative_and_in_range() {
        // Records of live grants depend on these values (FNV-1a, as computed independently
        // in Python): they must never change.
        assert_eq!(Firewall::priority(&id("20261123-abcdef")), -15867);
        assert_eq!(Firewall::priority(&id("20261205-k3m9qz")), -15474);
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..2000 {
            let p = Firewall::priority(&id(&format!("20261205-{n:06}")));
            assert!((-32000..=-1001).contains(&p), "{p}");
            seen.insert(p);
        }
        // Spread out: two grants on one host rarely share one (preflight refuses the second).
        assert!(seen.len() > 1900, "{}", seen.len());
    }

    #[test]
    fn ufw_keeps_the_comment_hex_encoded() {
        assert_eq!(
            Firewall::ufw_hex("handover-20261205-abc123"),
            "68616e646f7665722d32303236313230352d616263313233"
        );
    }
}
