//! Access requests: what a vendor asks for, in writing, as the input of a provision. `handover
//! request` writes the template ([`TEMPLATE`]); the vendor fills it in (who, why, which level,
//! where, from where, for how long, and its public key); `handover provision --request FILE`
//! shows it to the customer in plain words and provisions exactly that, sealing the
//! credentials to the key in the request. Every value is checked as the command line's would
//! be, and an error names the line at fault.

use crate::input::{AllowFrom, InputError, ScopeDir, Ttl};
use crate::playbook::{Level, Playbook};
use crate::record::Requester;
use crate::seal::VendorKey;
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// What `handover request` writes.
pub const TEMPLATE: &str = r#"# A request for temporary access to a server, for `handover`.
# The vendor fills it in and sends it to the customer, who reads it and runs:
#   handover provision HOST --request THIS_FILE
# Nothing here is secret: the credentials are sealed to the public key below.

[requester]
name = ""            # who is asking (the engineer who will log in)
organisation = ""    # on whose behalf
email = ""

[access]
reason = ""          # why access is needed: the ticket, the problem, what will be done
level = "user"       # "user" (an account that works as itself), "root" (it may sudo to
                     # root), or "app" (no shell account: only the CMS administrator)
scope = ""           # the directory the work is in (the CMS directory), or "" for none
database = ""        # a temporary database account too: "mysql", "postgres", or ""
cms = ""             # a temporary CMS administrator too: "wordpress", or ""
from = []            # the addresses or networks (CIDR) the vendor connects from
ttl = "4h"           # how long: a whole number and s, m, h or d (at most 30d)
key = ""             # the vendor's SSH public key (ssh-ed25519 or RSA >= 2048): the
                     # credentials are sealed to it
"#;

/// A request, checked.
#[derive(Debug)]
pub struct AccessRequest {
    pub file: PathBuf,
    pub requester: Requester,
    pub level: Level,
    pub scope: Option<ScopeDir>,
    /// `mysql` or `postgres`.
    pub database: Option<String>,
    /// `wordpress`.
    pub cms: Option<String>,
    pub from: Vec<AllowFrom>,
    /// As written (`4h`), checked.
    pub ttl: String,
    /// The vendor's key, as written.
    pub key: String,
    /// Where `level` is, for the error when the playbook gives less.
    level_at: usize,
    text: String,
}

/// A request that cannot be used, with the line at fault. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("access request `{}`{}: {message}", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct RequestError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    requester: RawRequester,
    access: RawAccess,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequester {
    name: Spanned<String>,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    reason: Spanned<String>,
    level: Spanned<String>,
    #[serde(default)]
    scope: Option<Spanned<String>>,
    #[serde(default)]
    database: Option<Spanned<String>>,
    #[serde(default)]
    cms: Option<Spanned<String>>,
    #[serde(default)]
    from: Option<Spanned<Vec<String>>>,
    ttl: Spanned<String>,
    key: Spanned<String>,
}

impl AccessRequest {
    pub fn load(file: &Path) -> Result<AccessRequest, RequestError> {
        let text = std::fs::read_to_string(file).map_err(|e| RequestError {
            file: file.to_owned(),
            line: None,
            message: format!("cannot be read ({e})"),
        })?;
        Self::parse(file, text)
    }

    fn parse(file: &Path, text: String) -> Result<AccessRequest, RequestError> {
        let fail = |span: Option<Range<usize>>, message: String| RequestError {
            file: file.to_owned(),
            line: span.map(|s| line_of(&text, s.start)),
            message,
        };
        let raw: Raw = toml::from_str(&text).map_err(|e| fail(e.span(), e.message().to_owned()))?;
        let (r, a) = (raw.requester, raw.access);
        let required = |field: &Spanned<String>, what: &str| {
            if field.get_ref().trim().is_empty() {
                Err(fail(
                    Some(field.span()),
                    format!("{what} is empty: fill it in"),
                ))
            } else {
                Ok(field.get_ref().trim().to_owned())
            }
        };
        let name = required(&r.name, "`name` (who is asking)")?;
        let reason = required(&a.reason, "`reason` (why access is needed)")?;
        let invalid = |span: Range<usize>, e: InputError| {
            fail(Some(span), format!("`{}` {}", e.value, e.expected))
        };
        let level = match a.level.get_ref().as_str() {
            "user" => Level::User,
            "root" => Level::Root,
            "app" => Level::App,
            other => {
                return Err(fail(
                    Some(a.level.span()),
                    format!(
                        "`level` is \"{}\": \"user\", \"root\" or \"app\"",
                        other.escape_debug()
                    ),
                ));
            }
        };
        let optional = |field: &Option<Spanned<String>>| {
            field
                .as_ref()
                .filter(|f| !f.get_ref().is_empty())
                .map(|f| (f.get_ref().clone(), f.span()))
        };
        let scope = optional(&a.scope)
            .map(|(s, span)| ScopeDir::parse(&s).map_err(|e| invalid(span, e)))
            .transpose()?;
        let database = match optional(&a.database) {
            Some((d, _)) if d == "mysql" || d == "postgres" => Some(d),
            Some((d, span)) => {
                return Err(fail(
                    Some(span),
                    format!(
                        "`database` is \"{}\": \"mysql\", \"postgres\" or \"\"",
                        d.escape_debug()
                    ),
                ));
            }
            None => None,
        };
        let cms = match optional(&a.cms) {
            Some((c, _)) if c == "wordpress" => Some(c),
            Some((c, span)) => {
                return Err(fail(
                    Some(span),
                    format!("`cms` is \"{}\": \"wordpress\" or \"\"", c.escape_debug()),
                ));
            }
            None => None,
        };
        if (cms.is_some() || database.is_some()) && scope.is_none() {
            let span = a.cms.as_ref().or(a.database.as_ref()).map(Spanned::span);
            return Err(fail(
                span,
                "a database or CMS account needs `scope`: the site's directory".to_owned(),
            ));
        }
        let from = match &a.from {
            Some(from) => {
                AllowFrom::parse_all(from.get_ref()).map_err(|e| invalid(from.span(), e))?
            }
            None => Vec::new(),
        };
        Ttl::parse(a.ttl.get_ref()).map_err(|e| invalid(a.ttl.span(), e))?;
        VendorKey::parse("key", a.key.get_ref()).map_err(|e| {
            if a.key.get_ref().is_empty() {
                fail(
                    Some(a.key.span()),
                    "`key` is empty: the vendor's SSH public key, which the credentials are sealed to".to_owned(),
                )
            } else {
                fail(Some(a.key.span()), format!("`key` {}", e.expected))
            }
        })?;
        Ok(AccessRequest {
            file: file.to_owned(),
            requester: Requester {
                name,
                organisation: r.organisation.trim().to_owned(),
                email: r.email.trim().to_owned(),
                reason,
            },
            level,
            scope,
            database,
            cms,
            from,
            ttl: a.ttl.into_inner(),
            key: a.key.into_inner(),
            level_at: a.level.span().start,
            text,
        })
    }

    /// Refused when it asks for a higher level than `playbook` gives (an application login is
    /// less than a user account, which is less than root).
    pub fn within(&self, playbook: &Playbook) -> Result<(), RequestError> {
        let rank = |level: Level| match level {
            Level::App => 0,
            Level::User => 1,
            Level::Root => 2,
        };
        if rank(self.level) > rank(playbook.level) {
            let hint = match self.level {
                Level::Root => "linux-root",
                _ => "linux-user",
            };
            return Err(RequestError {
                file: self.file.clone(),
                line: Some(line_of(&self.text, self.level_at)),
                message: format!(
                    "asks for {} level, and playbook `{}` gives {} level: if that is what the work needs, run with --playbook {hint} (or another playbook of that level)",
                    self.level.as_str(),
                    playbook.name,
                    playbook.level.as_str()
                ),
            });
        }
        Ok(())
    }
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl vendor@example";

    fn filled() -> String {
        TEMPLATE
            .replace("name = \"\"", "name = \"Ana Vendor\"")
            .replace(
                "reason = \"\"",
                "reason = \"ticket 4711: the mail queue is stuck\"",
            )
            .replace("scope = \"\"", "scope = \"/var/www/cms\"")
            .replace("from = []", "from = [\"203.0.113.0/24\"]")
            .replace("key = \"\"", &format!("key = \"{KEY}\""))
    }

    fn parse(text: &str) -> Result<AccessRequest, RequestError> {
        AccessRequest::parse(Path::new("req.toml"), text.to_owned())
    }

    #[test]
    fn a_filled_template_is_a_request() {
        let r = parse(&filled()).expect("a valid request");
        assert_eq!(r.requester.who(), "Ana Vendor");
        assert_eq!(r.level, Level::User);
        assert_eq!(r.scope.as_ref().map(ScopeDir::as_str), Some("/var/www/cms"));
        assert_eq!(r.from.len(), 1);
        assert_eq!(r.ttl, "4h");
        assert!(r.database.is_none() && r.cms.is_none());
    }

    #[test]
    fn the_template_as_written_names_the_first_empty_field_and_its_line() {
        let e = parse(TEMPLATE).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.to_string().contains("`name`"), "{e}");
    }

    #[test]
    fn bad_values_name_their_line() {
        for (from, to, line, needle) in [
            (
                "level = \"user\"",
                "level = \"admin\"",
                13,
                "\"root\" or \"app\"",
            ),
            ("ttl = \"4h\"", "ttl = \"forever\"", 19, "forever"),
            (
                "from = [\"203.0.113.0/24\"]",
                "from = [\"nowhere\"]",
                18,
                "nowhere",
            ),
            ("database = \"\"", "database = \"oracle\"", 16, "\"mysql\""),
            (
                "level = \"user\"",
                "level = \"user\"\nshell = \"zsh\"",
                14,
                "shell",
            ),
        ] {
            let text = filled().replace(from, to);
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, Some(line), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
        let e = parse(&filled().replace(KEY, "ssh-dss AAAA")).unwrap_err();
        assert_eq!(e.line, Some(20), "{e}");
    }

    #[test]
    fn root_is_refused_from_a_user_level_playbook_with_its_line() {
        let r = parse(&filled().replace("level = \"user\"", "level = \"root\"")).unwrap();
        let user = Playbook::load("linux-user").unwrap();
        let e = r.within(&user).unwrap_err();
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.to_string().contains("linux-root"), "{e}");
        assert!(r.within(&Playbook::load("linux-root").unwrap()).is_ok());
    }
}
