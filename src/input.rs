//! Validated input: the types the engine consumes after the raw CLI strings were checked.
//!
//! Each type can only be built through its parser, so nothing downstream re-checks a value,
//! and every identifier that reaches a remote script has matched a strict pattern first.

use std::fmt;
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a grant lasts: `NUMBER` followed by one unit, `s`, `m`, `h` or `d`; more than zero
/// and at most 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl(Duration);

impl Ttl {
    pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);
    const EXPECTED: &'static str = "a whole number and one unit: s, m, h or d (for example 30m, 48h, 7d), more than 0 and at most 30d";

    pub fn parse(value: &str) -> Result<Self, InputError> {
        let err = || InputError::new("--ttl", value, Self::EXPECTED);
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
        let duration = Duration::from_secs(seconds);
        if seconds == 0 || duration > Self::MAX {
            return Err(err());
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
    fn input_error_escapes_control_characters() {
        let e = InputError::new("--account", "a\u{1b}[2Jb\n", "x");
        let text = e.to_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text}");
    }
}
