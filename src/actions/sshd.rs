//! `sshd-match`: the SSH server's own limits for the temporary account, in every grant. A
//! support account never opens tunnels (no TCP, stream-local, X11 or agent forwarding, no
//! tun devices, no listeners), and with `--allow-from` it is refused from every other address.
//!
//! Everything is one drop-in of `Match User <account>` blocks, installed and removed through
//! [`super::sshd_dropin`] (validated with `sshd -t` before sshd reloads it, confirmed with
//! `sshd -T -C`).

use super::login::{self, Login};
use super::sshd_dropin::{self, DropIn, Expect, Probe};
use super::{Checks, Context, Step};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::{AccountName, AllowFrom};
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Forwarding and tunnel settings for the account: (keyword, as `sshd -T` prints it, value).
const NO_FORWARDING: &[(&str, &str, &str)] = &[
    ("DisableForwarding", "disableforwarding", "yes"),
    ("AllowTcpForwarding", "allowtcpforwarding", "no"),
    (
        "AllowStreamLocalForwarding",
        "allowstreamlocalforwarding",
        "no",
    ),
    ("X11Forwarding", "x11forwarding", "no"),
    ("AllowAgentForwarding", "allowagentforwarding", "no"),
    ("PermitTunnel", "permittunnel", "no"),
    ("GatewayPorts", "gatewayports", "no"),
    ("PermitListen", "permitlisten", "none"),
    ("PermitOpen", "permitopen", "none"),
];

/// Every way to authenticate, turned off for a login from an address not allowed:
/// (keyword, as `sshd -T` prints it, whether every build prints it). GSSAPI and Kerberos are
/// printed only when built in; an unknown keyword is a warning, never an error, for `sshd -t`.
const AUTH_OFF: &[(&str, &str, bool)] = &[
    ("PasswordAuthentication", "passwordauthentication", true),
    (
        "KbdInteractiveAuthentication",
        "kbdinteractiveauthentication",
        true,
    ),
    ("PubkeyAuthentication", "pubkeyauthentication", true),
    ("HostbasedAuthentication", "hostbasedauthentication", true),
    ("GSSAPIAuthentication", "gssapiauthentication", false),
    ("KerberosAuthentication", "kerberosauthentication", false),
];

/// Where vendor keys are kept, one file per account (root's, mode 0644: sshd reads it as the
/// account).
const KEYS_DIR: &str = "/etc/ssh/handover-keys";

/// What `--password-login` sets for the account alone (ACCOUNT is its name; its own group has
/// its name too).
const PASSWORD_LOGIN: &[(&str, &str)] = &[
    ("PasswordAuthentication", "yes"),
    ("KbdInteractiveAuthentication", "yes"),
    ("AuthenticationMethods", "any"),
    ("AllowUsers", "ACCOUNT"),
    ("AllowGroups", "ACCOUNT"),
];

/// Addresses to ask `sshd -T` about when looking for one the allow list does not cover
/// (documentation and special-use ranges, IPv4 then IPv6).
const PROBE_CANDIDATES: &[&str] = &[
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "100.64.0.1",
    "10.255.255.254",
    "2001:db8::1",
    "fd00::1",
    "2001:db8:ffff::1",
];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshdMatch {
    pub account: AccountName,
    /// Where logins of the account are accepted from; empty: from anywhere.
    #[serde(default)]
    pub allow_from: Vec<AllowFrom>,
    /// The drop-in file.
    pub dropin: String,
    /// `--password-login`: the account alone may log in with its password where the host's
    /// policy refuses it (PasswordAuthentication, AuthenticationMethods, AllowUsers/Groups).
    #[serde(default)]
    pub password_login: bool,
    /// `--vendor-key`: `TYPE BASE64` of the vendor's SSH public key, which the account also
    /// logs in with, from [`SshdMatch::key_file`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_key: Option<String>,
    /// The recording wrapper every login runs through (`ForceCommand`), with `--record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_command: Option<String>,
}

impl SshdMatch {
    pub fn new(account: &AccountName, allow_from: &[AllowFrom]) -> Self {
        SshdMatch {
            account: account.clone(),
            allow_from: allow_from.to_vec(),
            dropin: sshd_dropin::path_for(account.as_str()),
            password_login: false,
            vendor_key: None,
            force_command: None,
        }
    }

    /// Where the vendor's key is: root's, outside the account's home, so the account can
    /// neither change it nor add keys of its own (`AuthorizedKeysFile` points only there).
    pub fn key_file(&self) -> String {
        format!("{KEYS_DIR}/{}", self.account)
    }

    /// The vendor key's `SHA256:…` fingerprint.
    pub fn key_fingerprint(&self) -> Option<String> {
        let key = russh::keys::PublicKey::from_openssh(self.vendor_key.as_deref()?).ok()?;
        Some(crate::ssh::fingerprint(&key))
    }

    /// The line of the key file: the key restricted (no forwarding, no pty is left to the
    /// Match block; `restrict` turns every extra off), from the allowed networks only.
    fn key_line(&self, ctx: &Context) -> Option<String> {
        let key = self.vendor_key.as_deref()?;
        let mut options = "restrict,pty".to_owned();
        if !self.allow_from.is_empty() {
            let list: Vec<String> = self.allow_from.iter().map(ToString::to_string).collect();
            options.push_str(&format!(",from=\"{}\"", list.join(",")));
        }
        Some(format!("{options} {key} handover-{}", ctx.grant))
    }

    /// The addresses a login of the account may come from, to ask the host about: each
    /// `--allow-from` network's own address, or a typical one without it.
    fn allowed_probes(&self) -> Vec<String> {
        if self.allow_from.is_empty() {
            vec![login::TYPICAL_ADDR.to_owned()]
        } else {
            self.allow_from
                .iter()
                .map(|a| a.network().to_string())
                .collect()
        }
    }

    /// The `Match Address` pattern list of addresses NOT allowed: `*` first, then each allowed
    /// entry negated. sshd's address lists never match when they hold only negations (a
    /// negated hit is "no match", and nothing else can hit), so the `*` is required.
    pub fn denied_pattern(&self) -> String {
        let mut out = String::from("*");
        for a in &self.allow_from {
            out.push_str(",!");
            out.push_str(&a.to_string());
        }
        out
    }

    /// The drop-in's text.
    pub fn content(&self, ctx: &Context) -> String {
        let account = self.account.as_str();
        let mut text = format!("{}\n", Self::mark(ctx));
        text.push_str(&format!(
            "# Temporary support account {account}: no port forwarding or tunnels"
        ));
        if self.allow_from.is_empty() {
            text.push_str(".\n");
        } else {
            let list: Vec<String> = self.allow_from.iter().map(ToString::to_string).collect();
            text.push_str(&format!(", logins only from {}.\n", list.join(" ")));
        }
        text.push_str(&format!(
            "# Removed by `handover teardown {}`; do not edit.\n",
            ctx.grant
        ));
        text.push_str(&format!("Match User {account}\n"));
        for (key, _, value) in NO_FORWARDING {
            text.push_str(&format!("\t{key} {value}\n"));
        }
        if self.vendor_key.is_some() {
            text.push_str(&format!("\tAuthorizedKeysFile {}\n", self.key_file()));
        }
        if let Some(command) = &self.force_command {
            text.push_str(&format!("\tForceCommand {command}\n"));
        }
        if !self.allow_from.is_empty() {
            text.push_str(&format!(
                "Match User {account} Address {}\n",
                self.denied_pattern()
            ));
            text.push_str(&format!("\tDenyUsers {account}\n"));
            for (key, _, _) in AUTH_OFF {
                text.push_str(&format!("\t{key} no\n"));
            }
        }
        if self.password_login {
            // Last: sshd keeps the first value it reads, so from an address not allowed the
            // block above still turns every way to authenticate off. AllowUsers and AllowGroups
            // in a Match block replace the host's lists for this login alone.
            text.push_str(&format!(
                "# --password-login: the host's policy refuses password logins; {account} alone may.\n"
            ));
            text.push_str(&format!("Match User {account}\n"));
            for (key, value) in PASSWORD_LOGIN {
                let value = value.replace("ACCOUNT", account);
                text.push_str(&format!("\t{key} {value}\n"));
            }
        }
        text
    }

    fn mark(ctx: &Context) -> String {
        format!("# handover grant {}", ctx.grant)
    }

    /// Addresses that must be refused: the first candidate of each family the list leaves out.
    fn denied_probes(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for candidate in PROBE_CANDIDATES {
            let Ok(addr) = candidate.parse::<IpAddr>() else {
                continue;
            };
            if out.iter().any(|o| o.is_ipv4() == addr.is_ipv4()) {
                continue;
            }
            if !self.allow_from.iter().any(|a| a.contains(addr)) {
                out.push(addr);
            }
        }
        out
    }

    fn dropin(&self, ctx: &Context) -> DropIn {
        let account = self.account.as_str().to_owned();
        let forwarding = || -> Vec<Expect> {
            NO_FORWARDING
                .iter()
                .map(|(_, k, v)| Expect::Is(k, (*v).to_owned()))
                .collect()
        };
        let mut probes = Vec::new();
        for addr in self.allowed_probes() {
            let mut expect = forwarding();
            expect.push(Expect::NotLists("denyusers", account.clone()));
            if self.vendor_key.is_some() {
                expect.push(Expect::Is("authorizedkeysfile", self.key_file()));
            }
            if let Some(command) = &self.force_command {
                expect.push(Expect::Is("forcecommand", command.clone()));
            }
            if self.password_login {
                expect.push(Expect::Is("passwordauthentication", "yes".to_owned()));
                expect.push(Expect::Is("authenticationmethods", "any".to_owned()));
                expect.push(Expect::Lists("allowusers", account.clone()));
            }
            probes.push(Probe { addr, expect });
        }
        if !self.allow_from.is_empty() {
            for denied in self.denied_probes() {
                let mut expect = forwarding();
                expect.push(Expect::Lists("denyusers", account.clone()));
                for (_, key, _) in AUTH_OFF.iter().filter(|(_, _, always)| *always) {
                    expect.push(Expect::Is(key, "no".to_owned()));
                }
                probes.push(Probe {
                    addr: denied.to_string(),
                    expect,
                });
            }
        }
        let mut keys: Vec<&'static str> = NO_FORWARDING.iter().map(|(_, k, _)| *k).collect();
        keys.push("denyusers");
        if self.password_login {
            keys.extend(["authenticationmethods", "allowusers"]);
        }
        if self.vendor_key.is_some() {
            keys.push("authorizedkeysfile");
        }
        if self.force_command.is_some() {
            keys.push("forcecommand");
        }
        keys.extend(
            AUTH_OFF
                .iter()
                .filter(|(_, _, always)| *always)
                .map(|(_, k, _)| *k),
        );
        DropIn {
            path: self.dropin.clone(),
            account,
            mark: Self::mark(ctx),
            content: self.content(ctx),
            keys,
            probes,
        }
    }
}

impl Step for SshdMatch {
    fn footprint(&self, _grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.path(&self.dropin);
        if self.vendor_key.is_some() {
            own.path(&self.key_file());
        }
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "sshd drop-in {}: no port forwarding or tunnels for `{}`",
            self.dropin, self.account
        );
        if !self.allow_from.is_empty() {
            let list: Vec<String> = self.allow_from.iter().map(ToString::to_string).collect();
            text.push_str(&format!(", logins only from {}", list.join(", ")));
        }
        if let Some(fingerprint) = self.key_fingerprint() {
            text.push_str(&format!(
                "; logins also with the vendor's key {fingerprint} (from {})",
                self.key_file()
            ));
        }
        if self.password_login {
            text.push_str(&format!(
                "; a change to the host's SSH policy for `{}` alone: password logins allowed (--password-login)",
                self.account
            ));
        }
        text
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        sshd_dropin::preflight(s, checks, &self.dropin);
        let remedy = match (self.password_login, self.vendor_key.is_some()) {
            (false, false) => {
                " (where only the host's policy on how to log in refuses it: --vendor-key lets the vendor log in with their own SSH key, --password-login lets this account alone log in with its password)"
            }
            (false, true) => {
                " (where only the host's policy on how to log in refuses it, --password-login lets this account alone log in with its password)"
            }
            (true, _) => "",
        };
        login::functions(s);
        for (index, addr) in self.allowed_probes().into_iter().enumerate() {
            let login = Login {
                account: self.account.as_str(),
                existing: false,
                addr,
                password_login: self.password_login,
                key: self.vendor_key.is_some(),
            };
            login::preflight(s, checks, &login, remedy);
            if index == 0 && login.key {
                login::password_fact(s, &login);
            }
        }
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        // The key first: the drop-in that names its file takes effect when sshd reloads.
        if let Some(line) = self.key_line(ctx) {
            let file = self.key_file();
            s.cmd("install -d -m 0755 -o root -g root {}", &[KEYS_DIR]);
            s.cmd("rm -f -- {}.tmp", &[&file]);
            s.cmd("printf '%s\\n' {} > {}.tmp", &[&line, &file]);
            s.cmd("chmod 0644 {}.tmp && mv -f -- {}.tmp {}", &[&file, &file, &file]);
        }
        sshd_dropin::install(s, &self.dropin(ctx));
        // Where this login comes from as the host sees it: whether the vendor's first login can
        // be tried from here with `--allow-from` (engine/provision.rs).
        login::functions(s);
        s.raw("hv_fact client \"$(hv_session_peer)\"");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        sshd_dropin::remove(s, &self.dropin(ctx), ctx.facts);
        if self.vendor_key.is_some() {
            let file = self.key_file();
            s.cmd("rm -f -- {} {}.tmp", &[&file, &file]);
            s.cmd("rmdir -- {} 2>/dev/null || true", &[KEYS_DIR]);
        }
        sshd_dropin::fail_if_remove_failed(s);
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        sshd_dropin::verify_present(s, checks, &self.dropin(ctx));
        if let Some(fingerprint) = self.key_fingerprint() {
            let file = self.key_file();
            let id = checks.add(
                "vendor-key",
                format!("{file} holds the vendor's key {fingerprint}, is root's and only root may change it"),
            );
            s.cmd(
                "hv_expect {} test \"$(stat -c %U:%G:%a -- {} 2>/dev/null)\" = root:root:644 -a \"$(ssh-keygen -l -f {} 2>/dev/null | cut -d' ' -f2)\" = {}",
                &[&id, &file, &file, &fingerprint],
            );
        }
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        sshd_dropin::verify_absent(s, checks, &self.dropin(ctx), ctx.facts);
        if self.vendor_key.is_some() {
            let file = self.key_file();
            let id = checks.add("vendor-key", format!("{file} is gone"));
            s.cmd("hv_refute {} test -e {} -o -L {}", &[&id, &file, &file]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GrantId;
    use std::collections::BTreeMap;

    fn ctx_parts() -> (GrantId, AccountName) {
        (
            GrantId::parse("20261123-k3m9qz").expect("id"),
            AccountName::parse("--account", "support-abc123").expect("name"),
        )
    }

    #[test]
    fn content_without_allow_from_only_disables_forwarding() {
        let (grant, account) = ctx_parts();
        let facts = BTreeMap::new();
        let ctx = Context::for_test(&grant, &account, &facts);
        let m = SshdMatch::new(&account, &[]);
        assert_eq!(
            m.dropin,
            "/etc/ssh/sshd_config.d/00-handover-support-abc123.conf"
        );
        let text = m.content(&ctx);
        assert!(
            text.starts_with("# handover grant 20261123-k3m9qz\n"),
            "{text}"
        );
        assert!(text.contains("Match User support-abc123\n\tDisableForwarding yes\n"));
        assert!(text.contains("\tPermitOpen none\n") && text.contains("\tPermitListen none\n"));
        assert!(
            !text.contains("Address") && !text.contains("DenyUsers"),
            "{text}"
        );
        // Every non-comment line is a Match line or an indented keyword of one.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                line.starts_with("Match User ") || line.starts_with('\t'),
                "{line}"
            );
        }
        let d = m.dropin(&ctx);
        assert_eq!(d.probes.len(), 1);
    }

    /// `--password-login` comes last: from an address not allowed, the block before it (read
    /// first, and sshd keeps the first value) still turns password logins off.
    #[test]
    fn password_login_is_the_last_block_for_the_account_alone() {
        let (grant, account) = ctx_parts();
        let facts = BTreeMap::new();
        let ctx = Context::for_test(&grant, &account, &facts);
        let allow = AllowFrom::parse_all(&["192.0.2.0/24".into()]).expect("allow");
        let mut m = SshdMatch::new(&account, &allow);
        m.password_login = true;
        let text = m.content(&ctx);
        let deny = text.find("\tPasswordAuthentication no").expect("deny block");
        let open = text
            .find("Match User support-abc123\n\tPasswordAuthentication yes\n\tKbdInteractiveAuthentication yes\n\tAuthenticationMethods any\n\tAllowUsers support-abc123\n\tAllowGroups support-abc123\n")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(deny < open, "{text}");
        assert!(m.describe().contains("password logins allowed (--password-login)"));
        // After the change, sshd -T -C must show it from the allowed network.
        let d = m.dropin(&ctx);
        assert!(d.probes[0].expect.iter().any(|e| matches!(e, Expect::Is("authenticationmethods", v) if v == "any")));
    }

    /// The vendor's key: read from a root file named in the account's own block, restricted,
    /// and only from the allowed networks.
    #[test]
    fn a_vendor_key_is_read_from_a_root_file_only_from_the_allowed_networks() {
        let (grant, account) = ctx_parts();
        let facts = BTreeMap::new();
        let ctx = Context::for_test(&grant, &account, &facts);
        let allow = AllowFrom::parse_all(&["192.0.2.0/24".into(), "2001:db8::/32".into()])
            .expect("allow");
        let mut m = SshdMatch::new(&account, &allow);
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYk0Corj4I8/U08Ld8GaS9jOmWatS+wfDgKXzhMrg0M";
        m.vendor_key = Some(key.to_owned());
        assert_eq!(
            m.key_line(&ctx).as_deref(),
            Some(format!("restrict,pty,from=\"192.0.2.0/24,2001:db8::/32\" {key} handover-20261123-k3m9qz").as_str())
        );
        let text = m.content(&ctx);
        let first = text.split("Match User support-abc123 Address").next().unwrap_or("");
        assert!(
            first.contains("\tAuthorizedKeysFile /etc/ssh/handover-keys/support-abc123\n"),
            "{text}"
        );
        assert!(m.describe().contains("logins also with the vendor's key SHA256:"));
    }

    #[test]
    fn allow_from_denies_every_other_address_with_a_star_first() {
        let (grant, account) = ctx_parts();
        let facts = BTreeMap::new();
        let ctx = Context::for_test(&grant, &account, &facts);
        let allow =
            AllowFrom::parse_all(&["192.0.2.0/24".into(), "2001:db8::/32".into()]).expect("allow");
        let m = SshdMatch::new(&account, &allow);
        assert_eq!(m.denied_pattern(), "*,!192.0.2.0/24,!2001:db8::/32");
        let text = m.content(&ctx);
        assert!(
            text.contains(
                "Match User support-abc123 Address *,!192.0.2.0/24,!2001:db8::/32\n\tDenyUsers support-abc123\n\tPasswordAuthentication no\n"
            ),
            "{text}"
        );
        let d = m.dropin(&ctx);
        let addrs: Vec<&str> = d.probes.iter().map(|p| p.addr.as_str()).collect();
        // Both allowed networks, then one uncovered address of each family.
        assert_eq!(
            addrs,
            ["192.0.2.0", "2001:db8::", "198.51.100.1", "fd00::1"]
        );
        assert!(
            d.probes[2]
                .expect
                .contains(&Expect::Lists("denyusers", "support-abc123".into()))
        );
        assert!(
            d.probes[0]
                .expect
                .contains(&Expect::NotLists("denyusers", "support-abc123".into()))
        );
        assert!(d.keys.iter().all(|k| !k.is_empty()));
    }
}
