//! Validated input: the types the engine consumes after the raw CLI strings were checked.
//!
//! Each type can only be built through its parser, so nothing downstream re-checks a value,
//! and every identifier that reaches a remote script has matched a strict pattern first.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Bad input from the command line, a playbook or the environment. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid {field} `{value}`: {expected}")]
pub struct InputError {
    /// The option or field at fault, as the user wrote it (`--account`, `--ttl`, …).
    pub field: &'static str,
    /// The offending value, with control characters escaped so it cannot mangle the terminal.
    pub value: String,
    /// What is accepted instead.
    pub expected: String,
}

impl InputError {
    pub fn new(field: &'static str, value: &str, expected: impl Into<String>) -> Self {
        InputError {
            field,
            value: value.escape_debug().to_string(),
            expected: expected.into(),
        }
    }
}

/// A Linux account name for the temporary account: `^[a-z_][a-z0-9_-]{0,31}$`, not all digits
/// after the first character in a way `useradd` would read as a number, and not reserved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountName(String);

/// Names that must never be the temporary account, even if absent on the host.
const RESERVED_ACCOUNTS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "sshd",
    "systemd-network",
    "systemd-resolve",
    "messagebus",
    "postfix",
    "mysql",
    "postgres",
    "admin",
    "sudo",
    "wheel",
    "adm",
    "staff",
    "users",
    "shadow",
    "disk",
    "kmem",
    "docker",
];

impl AccountName {
    pub const EXPECTED: &'static str =
        "a name matching ^[a-z_][a-z0-9_-]{0,31}$ that is not a reserved system name";

    pub fn parse(field: &'static str, value: &str) -> Result<Self, InputError> {
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !first_ok || !rest_ok || value.len() > 32 {
            return Err(InputError::new(field, value, Self::EXPECTED));
        }
        if RESERVED_ACCOUNTS.contains(&value) {
            return Err(InputError::new(field, value, Self::EXPECTED));
        }
        Ok(AccountName(value.to_owned()))
    }

    /// `support-` and six random characters from `[a-z0-9]`.
    pub fn generate() -> Self {
        AccountName(format!("support-{}", crate::secret::random_lower_alnum(6)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountName {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AccountName::parse("account", &value)
    }
}

impl From<AccountName> for String {
    fn from(value: AccountName) -> Self {
        value.0
    }
}

impl fmt::Display for AccountName {
    // `pad`, not `write_str`: honours width and alignment (`handover list` columns).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A span of time for `field`: `NUMBER` followed by one unit, `s`, `m`, `h` or `d`; `expected`
/// says so in the error.
pub fn duration(
    field: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<Duration, InputError> {
    let err = || InputError::new(field, value, expected);
    // The unit is the last character (which may be multi-byte in bad input).
    let (unit_at, _) = value.char_indices().last().ok_or_else(err)?;
    let (number, unit) = value.split_at(unit_at);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 9 {
        return Err(err());
    }
    let n: u64 = number.parse().map_err(|_| err())?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(err()),
    };
    Ok(Duration::from_secs(seconds))
}

/// How long a grant lasts: `NUMBER` followed by one unit, `s`, `m`, `h` or `d`; more than zero
/// and at most 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl(Duration);

impl Ttl {
    pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);
    const EXPECTED: &'static str = "a whole number and one unit: s, m, h or d (for example 30m, 48h, 7d), more than 0 and at most 30d";

    pub fn parse(value: &str) -> Result<Self, InputError> {
        let duration = duration("--ttl", value, Self::EXPECTED)?;
        if duration.is_zero() || duration > Self::MAX {
            return Err(InputError::new("--ttl", value, Self::EXPECTED));
        }
        Ok(Ttl(duration))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

/// An SSH target `[LOGIN@]HOST[:PORT]`; IPv6 addresses go in brackets (`[::1]:2222`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub login: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    const EXPECTED: &'static str = "[LOGIN@]HOST[:PORT], with a host name or IP address (IPv6 in brackets) and a port from 1 to 65535";

    /// Parse `value`; `default_login` is used when it has no `LOGIN@`.
    pub fn parse(value: &str, default_login: &str) -> Result<Self, InputError> {
        let err = || InputError::new("target", value, Self::EXPECTED);
        let (login, hostport) = match value.rsplit_once('@') {
            Some((login, rest)) => (login, rest),
            None => (default_login, value),
        };
        if !is_login_name(login) {
            return Err(InputError::new(
                "login",
                login,
                "a login name of letters, digits, `.`, `_` and `-`, not starting with `-`",
            ));
        }
        let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(err)?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(err());
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(err)?),
            };
            (host, port)
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if !is_host_name(host) {
            return Err(err());
        }
        let port = match port {
            None => 22,
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => return Err(err()),
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(err()),
            },
        };
        Ok(Target {
            login: login.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.login, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.login, self.host, self.port)
        }
    }
}

fn is_login_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A DNS name or IP address: letters, digits, `.`, `-` (and `:` for IPv6), never starting
/// with `-` (so it cannot be read as an option by anything downstream).
fn is_host_name(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with('-')
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
}

/// An address or network the temporary account may log in from (`--allow-from`): an IPv4 or
/// IPv6 address, optionally with a prefix length (`203.0.113.7`, `198.51.100.0/24`,
/// `2001:db8::/32`). Parsed strictly, because it is written into sshd's configuration: the
/// address in its canonical form, no zone, no IPv4-mapped IPv6, a prefix from 1 to 32 (128)
/// without leading zeros, and no host bits set (sshd refuses `10.0.0.1/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AllowFrom {
    addr: IpAddr,
    prefix: u8,
}

impl AllowFrom {
    /// At most this many `--allow-from` values (each one is checked on the host).
    pub const MAX: usize = 32;
    const EXPECTED: &'static str = "an IPv4 or IPv6 address, or a network in CIDR notation (203.0.113.7, 198.51.100.0/24, 2001:db8::/32)";

    pub fn parse(value: &str) -> Result<Self, InputError> {
        let err = |expected: String| InputError::new("--allow-from", value, expected);
        if value.contains(',') {
            return Err(err(format!(
                "one address or network per --allow-from (repeat the option): {}",
                Self::EXPECTED
            )));
        }
        let (addr_text, prefix_text) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| err(Self::EXPECTED.to_owned()))?;
        if let IpAddr::V6(v6) = addr
            && v6.to_ipv4_mapped().is_some()
        {
            return Err(err(
                "an IPv4 address written as IPv4 (not as an IPv4-mapped IPv6 address)".to_owned(),
            ));
        }
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(Self::EXPECTED.to_owned()));
                }
                let canonical = p.len() <= 3 && !(p.len() > 1 && p.starts_with('0'));
                let n: u8 = if canonical {
                    p.parse().unwrap_or(u8::MAX)
                } else {
                    u8::MAX
                };
                if n == 0 {
                    return Err(err(
                        "a network smaller than the whole address space (a /0 allows every address: leave out --allow-from instead)".to_owned(),
                    ));
                }
                if n > max {
                    return Err(err(format!(
                        "a prefix length from 1 to {max} after the `/`"
                    )));
                }
                n
            }
        };
        let network = Self::mask(addr, prefix);
        if network != addr {
            return Err(err(format!(
                "a network address without host bits (did you mean {network}/{prefix}?)"
            )));
        }
        Ok(AllowFrom { addr, prefix })
    }

    /// Parse every `--allow-from` value; duplicates are dropped, order is kept.
    pub fn parse_all(values: &[String]) -> Result<Vec<Self>, InputError> {
        let mut out: Vec<AllowFrom> = Vec::new();
        for value in values {
            let parsed = Self::parse(value)?;
            if !out.contains(&parsed) {
                out.push(parsed);
            }
        }
        if out.len() > Self::MAX {
            return Err(InputError::new(
                "--allow-from",
                &format!("{} values", out.len()),
                format!("at most {} addresses or networks", Self::MAX),
            ));
        }
        Ok(out)
    }

    fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(bits & mask))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
        }
    }

    /// The network's first address (the address itself for a single address).
    pub fn network(&self) -> IpAddr {
        self.addr
    }

    /// Whether `addr` lies in this network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.addr.is_ipv4() && Self::mask(addr, self.prefix) == self.addr
    }
}

impl fmt::Display for AllowFrom {
    /// Canonical form: a single address without a prefix, a network as `ADDR/PREFIX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl TryFrom<String> for AllowFrom {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AllowFrom::parse(&value)
    }
}

impl From<AllowFrom> for String {
    fn from(value: AllowFrom) -> Self {
        value.to_string()
    }
}

/// The scope: the CMS directory the account may work in. Syntax is checked here; that it
/// exists, is a directory and does not resolve to a system directory is checked on the host
/// (preflight), since only the host can resolve it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScopeDir(String);

impl ScopeDir {
    const EXPECTED: &'static str = "an absolute directory path without `..`, `.` components, glob characters or control characters (for example /var/www/cms)";

    pub fn parse(value: &str) -> Result<Self, InputError> {
        let err = || InputError::new("--scope", value, Self::EXPECTED);
        if !value.starts_with('/') || value.len() > 4096 {
            return Err(err());
        }
        if value
            .chars()
            .any(|c| c.is_control() || matches!(c, '*' | '?' | '[' | ']'))
        {
            return Err(err());
        }
        if value.split('/').any(|part| part == ".." || part == ".") {
            return Err(err());
        }
        let trimmed = value.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(InputError::new(
                "--scope",
                value,
                "a directory below `/`, not `/` itself",
            ));
        }
        Ok(ScopeDir(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Resolved scopes (after symlinks) that are refused: the account would get write access to
/// the system or to other people's homes.
pub fn forbidden_scope(resolved: &str) -> bool {
    const EXACT: &[&str] = &[
        "/",
        "/home",
        "/var",
        "/srv",
        "/opt",
        "/mnt",
        "/media",
        "/tmp",
        "/run",
        "/var/lib",
        "/var/log",
        "/var/tmp",
        "/usr/local",
    ];
    const TREES: &[&str] = &[
        "/etc",
        "/root",
        "/proc",
        "/sys",
        "/dev",
        "/boot",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/share",
        "/usr/include",
        "/usr/libexec",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/var/spool",
        "/var/mail",
        "/var/backups",
        "/var/cache",
        "/var/lib/dpkg",
        "/var/lib/apt",
        "/var/lib/systemd",
    ];
    EXACT.contains(&resolved)
        || TREES
            .iter()
            .any(|t| resolved == *t || resolved.starts_with(&format!("{t}/")))
        || resolved.matches('/').count() == 2 && resolved.starts_with("/home/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_name_display_honours_width() {
        let name = AccountName::parse("--account", "vendor_1").expect("name");
        assert_eq!(format!("{name:<12}|"), "vendor_1    |");
        assert_eq!(format!("{name:>12}|"), "    vendor_1|");
        assert_eq!(format!("{name}|"), "vendor_1|");
    }

    #[test]
    fn account_names() {
        for ok in ["support-ab12cd", "_x", "a", "vendor_1", "a-b-c"] {
            assert!(AccountName::parse("--account", ok).is_ok(), "{ok}");
        }
        let too_long = "a".repeat(33);
        for bad in [
            "",
            "-rf",
            "1abc",
            "Root",
            "a b",
            "a;b",
            "a:b",
            "a\nb",
            "a$b",
            "root",
            "www-data",
            "ä",
            too_long.as_str(),
            "a.b",
            "../x",
        ] {
            assert!(AccountName::parse("--account", bad).is_err(), "{bad:?}");
        }
        let generated = AccountName::generate();
        assert!(AccountName::parse("--account", generated.as_str()).is_ok());
        assert!(generated.as_str().starts_with("support-"));
    }

    #[test]
    fn ttl_grammar() {
        assert_eq!(
            Ttl::parse("30m").map(Ttl::duration).ok(),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            Ttl::parse("48h").map(Ttl::duration).ok(),
            Some(Duration::from_secs(172_800))
        );
        assert_eq!(
            Ttl::parse("7d").map(Ttl::duration).ok(),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(Ttl::parse("30d").map(Ttl::duration).ok(), Some(Ttl::MAX));
        for bad in [
            "",
            "0h",
            "31d",
            "-1h",
            "1.5h",
            "1h30m",
            "h",
            "10",
            "10w",
            " 1h",
            "+1h",
            "99999999999d",
            "1H",
        ] {
            assert!(Ttl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn targets() {
        let t = Target::parse("root@cms.example.com", "me").ok();
        assert_eq!(
            t,
            Some(Target {
                login: "root".into(),
                host: "cms.example.com".into(),
                port: 22
            })
        );
        let t = Target::parse("10.0.0.1:2222", "me").ok();
        assert_eq!(
            t,
            Some(Target {
                login: "me".into(),
                host: "10.0.0.1".into(),
                port: 2222
            })
        );
        let t = Target::parse("admin@[::1]:2200", "me").ok();
        assert_eq!(
            t,
            Some(Target {
                login: "admin".into(),
                host: "::1".into(),
                port: 2200
            })
        );
        for bad in [
            "-oProxyCommand=sh",
            "root@-oProxyCommand=x",
            "host:0",
            "host:65536",
            "host:",
            "host:+22",
            "@host",
            "-l@host",
            "a b",
            "host;id",
            "[::1",
            "[nothost]:22",
            "host:22:33",
            "",
        ] {
            assert!(Target::parse(bad, "me").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(
            ScopeDir::parse("/var/www/cms/").ok().map(|s| s.0),
            Some("/var/www/cms".into())
        );
        for bad in [
            "var/www",
            "/",
            "//",
            "/var/../etc",
            "/a/./b",
            "/a*",
            "/a\nb",
            "",
            "/a\u{1b}[31m",
        ] {
            assert!(ScopeDir::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn forbidden_scopes() {
        for bad in [
            "/",
            "/etc",
            "/etc/nginx",
            "/home",
            "/home/alice",
            "/root",
            "/root/x",
            "/usr/bin",
            "/var",
        ] {
            assert!(forbidden_scope(bad), "{bad}");
        }
        for ok in [
            "/var/www/cms",
            "/srv/www",
            "/home/alice/public_html",
            "/opt/composr",
        ] {
            assert!(!forbidden_scope(ok), "{ok}");
        }
    }

    #[test]
    fn allow_from_grammar() {
        let ok = |v: &str| AllowFrom::parse(v).map(|a| a.to_string());
        assert_eq!(ok("203.0.113.7").ok().as_deref(), Some("203.0.113.7"));
        assert_eq!(ok("203.0.113.7/32").ok().as_deref(), Some("203.0.113.7"));
        assert_eq!(
            ok("198.51.100.0/24").ok().as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(ok("10.0.0.0/8").ok().as_deref(), Some("10.0.0.0/8"));
        assert_eq!(ok("2001:DB8::/32").ok().as_deref(), Some("2001:db8::/32"));
        assert_eq!(ok("2001:db8:0:0::1").ok().as_deref(), Some("2001:db8::1"));
        assert_eq!(ok("::1/128").ok().as_deref(), Some("::1"));
        for bad in [
            "",
            " 10.0.0.1",
            "10.0.0.1 ",
            "10.0.0.1/",
            "10.0.0.1/33",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/0",
            "0.0.0.0/0",
            "::/0",
            "10.0.0.1/8",
            "2001:db8::1/32",
            "010.0.0.1",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.1/24/24",
            "fe80::1%eth0",
            "[2001:db8::1]",
            "::ffff:10.0.0.1",
            "example.com",
            "*",
            "!10.0.0.0/8",
            "10.0.0.0/8,192.0.2.1",
            "10.0.0.1\n",
            "2001:db8::/129",
        ] {
            let e = AllowFrom::parse(bad).expect_err(bad);
            assert_eq!(e.field, "--allow-from", "{bad:?}");
        }
        let e = AllowFrom::parse("10.0.0.1/8").expect_err("host bits");
        assert!(e.expected.contains("10.0.0.0/8"), "{e}");
    }

    #[test]
    fn allow_from_contains_and_dedupes() {
        let net = AllowFrom::parse("198.51.100.0/24").expect("net");
        assert!(net.contains("198.51.100.77".parse().expect("ip")));
        assert!(!net.contains("198.51.101.1".parse().expect("ip")));
        assert!(!net.contains("2001:db8::1".parse().expect("ip")));
        let v6 = AllowFrom::parse("2001:db8::/32").expect("v6");
        assert!(v6.contains("2001:db8:ffff::1".parse().expect("ip")));
        let all = AllowFrom::parse_all(&["10.0.0.0/8".into(), "10.0.0.0/8".into()]).expect("ok");
        assert_eq!(all.len(), 1);
        let many: Vec<String> = (1..=33).map(|i| format!("192.0.2.{i}")).collect();
        assert!(AllowFrom::parse_all(&many).is_err());
    }

    #[test]
    fn input_error_escapes_control_characters() {
        let e = InputError::new("--account", "a\u{1b}[2Jb\n", "x");
        let text = e.to_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text}");
    }
}
