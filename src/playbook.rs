//! Playbooks: named, declarative TOML lists of actions, turned into a typed plan for one grant.
//!
//! Built-in playbooks live in `playbooks/` and are embedded in the binary.

use crate::actions::{Acl, Action, Password, SftpJail, User};
use crate::input::{AccountName, ScopeDir};
use serde::Deserialize;

/// Built-in playbooks: (name, TOML text).
const BUILT_IN: &[(&str, &str)] = &[
    ("linux-user", include_str!("../playbooks/linux-user.toml")),
    ("sftp-only", include_str!("../playbooks/sftp-only.toml")),
];

/// The playbook used when none is named.
pub const DEFAULT: &str = "linux-user";

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("no built-in playbook `{name}` (built in: {known})")]
    Unknown { name: String, known: String },
    #[error("invalid playbook `{name}`: {message}")]
    Invalid { name: String, message: String },
    #[error("playbook `{name}` needs --scope DIR: the directory the account may work in")]
    ScopeRequired { name: String },
}

/// Access level a playbook gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    User,
    Root,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Root => "root",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Playbook {
    pub name: String,
    pub description: String,
    pub level: Level,
    #[serde(default)]
    pub requires_scope: bool,
    pub actions: Vec<ActionTemplate>,
}

/// An action as a playbook states it: its kind and fixed parameters. Grant-specific values
/// (account, scope, expiry) are filled in by [`Playbook::plan`].
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ActionTemplate {
    User {
        #[serde(default = "default_shell")]
        shell: String,
    },
    Password {},
    Acl {
        #[serde(default = "default_permissions")]
        permissions: String,
    },
    /// SFTP only, chrooted into a jail where the scope is bind-mounted.
    SftpJail {},
}

fn default_shell() -> String {
    "/bin/bash".to_owned()
}

fn default_permissions() -> String {
    "rwX".to_owned()
}

/// What a plan is made for: one account on one host.
pub struct PlanInput<'a> {
    pub account: &'a AccountName,
    pub scope: Option<&'a ScopeDir>,
    /// `YYYY-MM-DD`, the first day the host refuses the account.
    pub expire_date: &'a str,
}

impl Playbook {
    /// A built-in playbook by name.
    pub fn built_in(name: &str) -> Result<Playbook, PlaybookError> {
        let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
            return Err(PlaybookError::Unknown {
                name: name.to_owned(),
                known: BUILT_IN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        Playbook::parse(name, text)
    }

    /// Parse and validate playbook TOML; errors name the line.
    pub fn parse(name: &str, text: &str) -> Result<Playbook, PlaybookError> {
        let invalid = |message: String| PlaybookError::Invalid {
            name: name.to_owned(),
            message,
        };
        let playbook: Playbook = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if playbook.actions.is_empty() {
            return Err(invalid("it has no actions".to_owned()));
        }
        for action in &playbook.actions {
            match action {
                ActionTemplate::User { shell } => {
                    let ok = shell.starts_with('/')
                        && shell.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')
                        });
                    if !ok {
                        return Err(invalid(format!(
                            "user shell `{}` is not an absolute path",
                            shell.escape_debug()
                        )));
                    }
                }
                ActionTemplate::Acl { permissions } => {
                    let ok = !permissions.is_empty()
                        && permissions.len() <= 4
                        && permissions
                            .chars()
                            .all(|c| matches!(c, 'r' | 'w' | 'x' | 'X' | '-'));
                    if !ok {
                        return Err(invalid(format!(
                            "acl permissions `{}` must be letters from rwxX-",
                            permissions.escape_debug()
                        )));
                    }
                }
                ActionTemplate::Password {} | ActionTemplate::SftpJail {} => {}
            }
        }
        Ok(playbook)
    }

    /// The typed actions for one grant, in apply order.
    pub fn plan(&self, input: &PlanInput) -> Result<Vec<Action>, PlaybookError> {
        let scope = match (self.requires_scope, input.scope) {
            (true, None) => {
                return Err(PlaybookError::ScopeRequired {
                    name: self.name.clone(),
                });
            }
            (_, scope) => scope,
        };
        let account = input.account.clone();
        self.actions
            .iter()
            .map(|template| match template {
                ActionTemplate::User { shell } => Ok(Action::User(User {
                    account: account.clone(),
                    home: format!("/home/{account}"),
                    shell: shell.clone(),
                    expire_date: input.expire_date.to_owned(),
                    login_dir: scope.map(|s| s.as_str().to_owned()),
                })),
                ActionTemplate::Password {} => Ok(Action::Password(Password {
                    account: account.clone(),
                })),
                ActionTemplate::Acl { permissions } => match scope {
                    Some(scope) => Ok(Action::Acl(Acl {
                        account: account.clone(),
                        scope: scope.as_str().to_owned(),
                        permissions: permissions.clone(),
                    })),
                    None => Err(PlaybookError::ScopeRequired {
                        name: self.name.clone(),
                    }),
                },
                ActionTemplate::SftpJail {} => match scope {
                    Some(scope) => Ok(Action::SftpJail(SftpJail::new(&account, scope.as_str()))),
                    None => Err(PlaybookError::ScopeRequired {
                        name: self.name.clone(),
                    }),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse() {
        for (name, _) in BUILT_IN {
            let playbook = Playbook::built_in(name).expect("built-in parses");
            assert_eq!(&playbook.name, name);
        }
        assert!(matches!(
            Playbook::built_in("nope"),
            Err(PlaybookError::Unknown { .. })
        ));
    }

    #[test]
    fn unknown_fields_and_kinds_are_errors_with_a_line() {
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"user\"\n[[actions]]\nkind = \"user\"\nshel = \"/bin/sh\"\n";
        let err = Playbook::parse("x", text)
            .expect_err("unknown field")
            .to_string();
        // The line of the action holding the unknown field.
        assert!(err.contains("`shel`") && err.contains("line 4"), "{err}");
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"user\"\n[[actions]]\nkind = \"rootkit\"\n";
        assert!(Playbook::parse("x", text).is_err());
    }

    #[test]
    fn linux_user_plan_needs_a_scope() {
        let playbook = Playbook::built_in("linux-user").expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let input = PlanInput {
            account: &account,
            scope: None,
            expire_date: "2026-11-25",
        };
        assert!(matches!(
            playbook.plan(&input),
            Err(PlaybookError::ScopeRequired { .. })
        ));
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let input = PlanInput {
            scope: Some(&scope),
            ..input
        };
        let plan = playbook.plan(&input).expect("plan");
        let kinds: Vec<_> = plan.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["user", "password", "acl"]);
    }

    #[test]
    fn sftp_only_plan_jails_a_nologin_account() {
        let playbook = Playbook::built_in("sftp-only").expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let input = PlanInput {
            account: &account,
            scope: Some(&scope),
            expire_date: "2026-11-25",
        };
        let plan = playbook.plan(&input).expect("plan");
        let kinds: Vec<_> = plan.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["user", "password", "acl", "sftp-jail"]);
        assert!(matches!(&plan[0], Action::User(u) if u.shell == "/usr/sbin/nologin"));
        assert!(matches!(&plan[3], Action::SftpJail(j) if j.scope == "/var/www/cms"));
    }
}
