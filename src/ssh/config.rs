//! Host aliases from an OpenSSH client configuration (`~/.ssh/config`, or `-F FILE`), resolved
//! as `ssh` resolves them: `Host` patterns, `HostName` (with `%h`), `User`, `Port`,
//! `IdentityFile`, `IdentitiesOnly`, `UserKnownHostsFile` and `ProxyJump` (each jump host is
//! itself looked up in the configuration). Values given on the command line win, as with `ssh`.
//!
//! Parsing is ssh2-config's. What handover does not support is refused or named, never guessed:
//! `ProxyCommand` is refused (handover never runs a local command from a configuration file);
//! `Match` blocks in the main file are skipped with a warning, and in an included file they are
//! refused (the parser would apply their settings to the block before them).

use crate::input::{InputError, Target};
use std::path::{Path, PathBuf};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SshConfigError {
    #[error("could not read ssh config `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not parse ssh config `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "host `{host}` in ssh config `{path}` uses ProxyCommand, which handover does not run: use ProxyJump, or give the host's address"
    )]
    ProxyCommand { host: String, path: PathBuf },
    #[error(
        "ssh config `{path}` includes a file with a `Match` block, which handover does not support: give a config without it with -F FILE"
    )]
    MatchInInclude { path: PathBuf },
    #[error("ProxyJump of `{host}` in ssh config `{path}`: {message}")]
    Jump {
        host: String,
        path: PathBuf,
        message: String,
    },
    #[error(transparent)]
    Input(#[from] InputError),
}

/// At most this many jump hosts in one chain (loops in a configuration end here too).
const MAX_JUMPS: usize = 8;

/// A parsed client configuration.
pub struct SshConfig {
    path: PathBuf,
    config: ssh2_config::SshConfig,
    /// Lines of the main file holding a `Match` (skipped).
    pub skipped_match_lines: Vec<usize>,
}

/// One SSH hop: where to connect and what the configuration adds for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub target: Target,
    /// `IdentityFile` entries, `~` and `%` tokens expanded.
    pub identities: Vec<PathBuf>,
    /// `IdentitiesOnly yes`: only these keys, not the agent's others.
    pub identities_only: bool,
    /// `UserKnownHostsFile` (the first file named).
    pub known_hosts: Option<PathBuf>,
    /// The name given (the alias), when a configuration changed what it resolves to.
    pub alias: Option<String>,
}

/// A target resolved: the host itself and the jump hosts before it, first jump first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub host: Hop,
    pub jumps: Vec<Hop>,
}

impl Route {
    /// A target given by address, with no configuration.
    pub fn direct(target: Target) -> Route {
        Route {
            host: Hop {
                target,
                identities: Vec::new(),
                identities_only: false,
                known_hosts: None,
                alias: None,
            },
            jumps: Vec::new(),
        }
    }
}

impl SshConfig {
    /// `explicit`: `-F FILE` (must exist); otherwise `~/.ssh/config` when it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<SshConfig>, SshConfigError> {
        let home = std::env::home_dir();
        let path = match explicit {
            Some(path) => path.to_owned(),
            None => match &home {
                Some(home) => home.join(".ssh/config"),
                None => return Ok(None),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(source) => return Err(SshConfigError::Read { path, source }),
        };
        Self::parse(&path, &text, home.as_deref())
    }

    /// Parse `text` (the contents of `path`).
    pub fn parse(
        path: &Path,
        text: &str,
        home: Option<&Path>,
    ) -> Result<Option<SshConfig>, SshConfigError> {
        // A `Match` line is unknown to the parser, which would then apply the block's settings
        // to the `Host` block before it: turn it into a block no host name can match.
        let mut skipped = Vec::new();
        let mut cleaned = String::with_capacity(text.len());
        for (number, line) in text.lines().enumerate() {
            let keyword = line
                .trim_start()
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or("");
            if keyword.eq_ignore_ascii_case("match") {
                skipped.push(number + 1);
                cleaned.push_str("Host handover.skipped-match-block.invalid\n");
            } else {
                cleaned.push_str(line);
                cleaned.push('\n');
            }
        }
        let mut config = ssh2_config::SshConfig::default();
        if let Some(home) = home {
            config = config.home_dir(home);
        }
        let rules = ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS
            | ssh2_config::ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        let config = config
            .parse(&mut std::io::BufReader::new(cleaned.as_bytes()), rules)
            .map_err(|e| SshConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let matched_in_include = config.get_hosts().iter().any(|host| {
            host.params
                .ignored_fields
                .keys()
                .any(|k| k.eq_ignore_ascii_case("match"))
        });
        if matched_in_include {
            return Err(SshConfigError::MatchInInclude {
                path: path.to_owned(),
            });
        }
        Ok(Some(SshConfig {
            path: path.to_owned(),
            config,
            skipped_match_lines: skipped,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Resolve `value` (`[LOGIN@]NAME[:PORT]`) with its jump hosts. `default_login` applies
    /// when neither the value nor the configuration names one.
    pub fn resolve(&self, value: &str, default_login: &str) -> Result<Route, SshConfigError> {
        let mut chain = Vec::new();
        let host = self.resolve_hop(value, default_login, &mut chain, 0)?;
        Ok(Route { host, jumps: chain })
    }

    /// Resolve one hop; its jump hosts (resolved in turn) are appended to `chain` first.
    fn resolve_hop(
        &self,
        value: &str,
        default_login: &str,
        chain: &mut Vec<Hop>,
        depth: usize,
    ) -> Result<Hop, SshConfigError> {
        let given = parse_alias(value, default_login)?;
        let (explicit_login, explicit_port) = explicit_parts(value);
        let params = self.config.query(&given.host);
        let unsupported = |name: &str| -> Option<&Vec<String>> {
            params
                .unsupported_fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        if unsupported("proxycommand")
            .is_some_and(|args| !args.first().is_some_and(|a| a.eq_ignore_ascii_case("none")))
        {
            return Err(SshConfigError::ProxyCommand {
                host: given.host.clone(),
                path: self.path.clone(),
            });
        }
        let login = match (explicit_login, &params.user) {
            (true, _) | (false, None) => given.login.clone(),
            (false, Some(user)) => user.clone(),
        };
        let host_name = match &params.host_name {
            Some(name) => expand_tokens(name, &given.host, &login, given.port),
            None => given.host.clone(),
        };
        let port = match (explicit_port, params.port) {
            (false, Some(port)) => port,
            _ => given.port,
        };
        let target = Target::parse(
            &if host_name.contains(':') {
                format!("{login}@[{host_name}]:{port}")
            } else {
                format!("{login}@{host_name}:{port}")
            },
            default_login,
        )?;
        let identities = params
            .identity_file
            .iter()
            .flatten()
            .map(|p| {
                PathBuf::from(expand_tokens(
                    &p.to_string_lossy(),
                    &given.host,
                    &login,
                    port,
                ))
            })
            .collect();
        let identities_only = unsupported("identitiesonly")
            .and_then(|args| args.first())
            .is_some_and(|a| a.eq_ignore_ascii_case("yes"));
        let known_hosts = unsupported("userknownhostsfile")
            .and_then(|args| args.first())
            .map(|p| PathBuf::from(expand_tilde(p)));
        let alias =
            (target.host != given.host || target.login != given.login || target.port != given.port)
                .then(|| given.host.clone());

        let jumps: Vec<String> = params
            .proxy_jump
            .iter()
            .flatten()
            .map(|j| j.trim().to_owned())
            .filter(|j| !j.is_empty())
            .collect();
        if !(jumps.is_empty() || jumps.len() == 1 && jumps[0].eq_ignore_ascii_case("none")) {
            let jump_error = |message: String| SshConfigError::Jump {
                host: given.host.clone(),
                path: self.path.clone(),
                message,
            };
            if depth >= MAX_JUMPS || chain.len() + jumps.len() > MAX_JUMPS {
                return Err(jump_error(format!(
                    "more than {MAX_JUMPS} jump hosts (a loop?)"
                )));
            }
            for jump in &jumps {
                let spec = jump.strip_prefix("ssh://").unwrap_or(jump);
                let hop = self
                    .resolve_hop(spec, default_login, chain, depth + 1)
                    .map_err(|e| match e {
                        SshConfigError::Input(input) => {
                            jump_error(format!("`{jump}` is not [USER@]HOST[:PORT] ({input})"))
                        }
                        other => other,
                    })?;
                chain.push(hop);
            }
        }
        Ok(Hop {
            target,
            identities,
            identities_only,
            known_hosts,
            alias,
        })
    }
}

/// `[LOGIN@]NAME[:PORT]` where NAME may also be an alias with `_` (not a host name, only a
/// key into the configuration; what it resolves to is checked as a target again).
fn parse_alias(value: &str, default_login: &str) -> Result<Target, SshConfigError> {
    match Target::parse(value, default_login) {
        Ok(target) => Ok(target),
        Err(e) => {
            let (login, hostport) = match value.rsplit_once('@') {
                Some((login, rest)) => (login, rest),
                None => (default_login, value),
            };
            let (name, port) = hostport.split_once(':').unwrap_or((hostport, "22"));
            let alias_ok = name.contains('_')
                && !name.starts_with(['-', '.'])
                && name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !alias_ok {
                return Err(e.into());
            }
            // Login and port are checked with a stand-in name.
            let checked = Target::parse(&format!("{login}@alias:{port}"), default_login)?;
            Ok(Target {
                host: name.to_owned(),
                ..checked
            })
        }
    }
}

/// Whether `[LOGIN@]HOST[:PORT]` names the login and the port itself.
fn explicit_parts(value: &str) -> (bool, bool) {
    let (login, hostport) = match value.rsplit_once('@') {
        Some((_, rest)) => (true, rest),
        None => (false, value),
    };
    let port = if hostport.starts_with('[') {
        hostport.contains("]:")
    } else {
        hostport.contains(':')
    };
    (login, port)
}

/// The `%` tokens of `HostName` and `IdentityFile` that make sense here: `%h` (the name
/// given), `%r` (remote login), `%p` (port), `%u` (local user), `%d` (home), `%%`.
fn expand_tokens(text: &str, host: &str, login: &str, port: u16) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('r') => out.push_str(login),
            Some('p') => out.push_str(&port.to_string()),
            Some('u') => out.push_str(&std::env::var("USER").unwrap_or_default()),
            Some('d') => out.push_str(
                &std::env::home_dir()
                    .map(|h| h.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn expand_tilde(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest).to_string_lossy().into_owned(),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> SshConfig {
        SshConfig::parse(Path::new("/cfg"), text, Some(Path::new("/home/u")))
            .expect("parse")
            .expect("config")
    }

    #[test]
    fn alias_resolves_like_ssh() {
        let c = config(
            "Host cms\n  HostName 10.0.0.5\n  User admin\n  Port 2222\n  IdentityFile ~/.ssh/cms\n  IdentitiesOnly yes\n  UserKnownHostsFile /tmp/kh\n",
        );
        let route = c.resolve("cms", "root").expect("resolve");
        assert_eq!(route.host.target.to_string(), "admin@10.0.0.5:2222");
        assert_eq!(
            route.host.identities,
            vec![PathBuf::from("/home/u/.ssh/cms")]
        );
        assert!(route.host.identities_only);
        assert_eq!(route.host.known_hosts, Some(PathBuf::from("/tmp/kh")));
        assert_eq!(route.host.alias.as_deref(), Some("cms"));
        assert!(route.jumps.is_empty());
        // The command line wins over the configuration.
        let route = c.resolve("root@cms:22", "x").expect("resolve");
        assert_eq!(route.host.target.to_string(), "root@10.0.0.5:22");
        // Unknown names are used as they are.
        let route = c.resolve("10.9.9.9", "root").expect("resolve");
        assert_eq!(
            route,
            Route::direct(Target::parse("root@10.9.9.9", "r").expect("t"))
        );
    }

    #[test]
    fn jump_chains_resolve_each_hop() {
        let c = config(
            "Host web\n  HostName 10.0.1.5\n  ProxyJump bastion,ops@10.0.2.1:2200\nHost bastion\n  HostName 10.0.3.1\n  User jumper\nHost *.internal\n  HostName %h.example\n",
        );
        let route = c.resolve("web", "root").expect("resolve");
        let hops: Vec<String> = route.jumps.iter().map(|h| h.target.to_string()).collect();
        assert_eq!(hops, ["jumper@10.0.3.1:22", "ops@10.0.2.1:2200"]);
        assert_eq!(route.host.target.to_string(), "root@10.0.1.5:22");
        let route = c.resolve("db.internal", "root").expect("resolve");
        assert_eq!(route.host.target.host, "db.internal.example");
        // An alias may hold `_`; what it resolves to must be a host name.
        let c = config("Host web_1\n  HostName 10.0.1.7\nHost bad_1\n  HostName x;y\n");
        let route = c.resolve("ops@web_1", "root").expect("resolve");
        assert_eq!(route.host.target.to_string(), "ops@10.0.1.7:22");
        assert!(c.resolve("bad_1", "root").is_err());
        assert!(c.resolve("no_such;host", "root").is_err());
    }

    #[test]
    fn proxycommand_is_refused_and_loops_end() {
        let c = config(
            "Host p\n  ProxyCommand nc %h %p\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n",
        );
        assert!(matches!(
            c.resolve("p", "root"),
            Err(SshConfigError::ProxyCommand { .. })
        ));
        assert!(matches!(
            c.resolve("a", "root"),
            Err(SshConfigError::Jump { .. })
        ));
    }

    #[test]
    fn match_blocks_are_skipped() {
        let c = config("Host a\n  User one\nMatch user x\n  User two\n  Port 99\n");
        assert_eq!(c.skipped_match_lines, vec![3]);
        let route = c.resolve("a", "root").expect("resolve");
        assert_eq!(route.host.target.to_string(), "one@a:22");
    }
}
