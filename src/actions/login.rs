//! Whether the host lets an account log in with its password: from sshd's effective settings
//! for that login (`sshd -T -C`), `/etc/nologin`, and the PAM modules that visibly restrict
//! logins (`login.sh`). Preflight asks, so that a grant whose credentials would not work is
//! refused before anything changes, saying which setting refuses it and where it is set.

use super::Checks;
use crate::shell::Script;

/// Where a login comes from when nothing says where: an address of the documentation range.
pub(super) const TYPICAL_ADDR: &str = "192.0.2.1";

/// The functions (`login.sh`).
const LIB: &str = include_str!("login.sh");

/// Who is asking to log in.
pub(super) struct Login<'a> {
    pub account: &'a str,
    /// An existing account (a lent one), whose groups the host knows; else the account the
    /// grant creates, whose only group is its own (`--user-group`).
    pub existing: bool,
    /// Where from: an address `--allow-from` permits, or a typical one.
    pub addr: String,
    /// `--password-login`: the grant's own Match block lets the account log in with its password.
    pub password_login: bool,
    /// `--vendor-key`: the account also logs in with the vendor's key.
    pub key: bool,
}

impl Login<'_> {
    /// The FLAGS of `hv_login_refusals`.
    fn flags(&self) -> String {
        let mut flags = Vec::new();
        if self.password_login {
            flags.push("password-login");
        }
        if self.key {
            flags.push("key");
        }
        flags.join(",")
    }
}

/// With a vendor key, whether the password alone would also let the account in (fact
/// `keep.password`: `admitted` or `refused`): provision logs in with it only then.
pub(super) fn password_fact(s: &mut Script, login: &Login) {
    let password_alone = Login {
        key: false,
        addr: login.addr.clone(),
        ..*login
    };
    s.cmd(
        "if [ -z \"$(hv_login_refusals {} {} {} {})\" ]; then hv_fact keep.password admitted; else hv_fact keep.password refused; fi",
        &[login.account, &login.addr, login.account, &password_alone.flags()],
    );
}

/// Define the functions, once per script, before any [`preflight`] check.
pub(super) fn functions(s: &mut Script) {
    s.raw(LIB);
}

/// A preflight check: the host would let `login` in with its password.
pub(super) fn preflight(s: &mut Script, checks: &mut Checks, login: &Login, remedy: &str) {
    let id = checks.add(
        &format!("login-{}", login.addr),
        format!(
            "the host lets `{}` log in with its password from {}{remedy}",
            login.account, login.addr
        ),
    );
    let flags = login.flags();
    if login.existing {
        s.cmd(
            "hv_login_refusals {} {} \"$(id -Gn -- {} 2>/dev/null)\" {} | hv_report {}",
            &[login.account, &login.addr, login.account, &flags, &id],
        );
    } else {
        s.cmd(
            "hv_login_refusals {} {} {} {} | hv_report {}",
            &[login.account, &login.addr, login.account, &flags, &id],
        );
    }
}
