//! Playbooks: named, declarative TOML lists of actions with typed parameters, turned into a
//! typed plan for one grant.
//!
//! Built-in playbooks live in `playbooks/` and are embedded in the binary; `--playbook FILE`
//! runs a user's own. A playbook declares parameters (`[params.NAME]` with a type, whether it
//! is required, a default and a description); action fields refer to them as `{NAME}`, along
//! with the built-in values `{account}`, `{home}`, `{scope}` and `{grant}`. Values are checked
//! against their type before they are substituted; in `shell` actions they are substituted
//! quoted, at script time.

use crate::actions::{Action, ActionTemplate, PlanError, Planning, Template};
use crate::ids::GrantId;
use crate::input::{AccountName, ScopeDir};
pub use crate::shell::substitute;
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, MapDeserializer};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Built-in playbooks: (name, TOML text).
const BUILT_IN: &[(&str, &str)] = &[
    ("linux-user", include_str!("../playbooks/linux-user.toml")),
    ("linux-root", include_str!("../playbooks/linux-root.toml")),
    (
        "composr-backdoor",
        include_str!("../playbooks/composr-backdoor.toml"),
    ),
    ("lend", include_str!("../playbooks/lend.toml")),
    ("sftp-only", include_str!("../playbooks/sftp-only.toml")),
    (
        "mariadb-user",
        include_str!("../playbooks/mariadb-user.toml"),
    ),
    (
        "postgres-role",
        include_str!("../playbooks/postgres-role.toml"),
    ),
    (
        "wordpress-admin",
        include_str!("../playbooks/wordpress-admin.toml"),
    ),
    (
        "wordpress-lend",
        include_str!("../playbooks/wordpress-lend.toml"),
    ),
];

/// The playbook used when none is named.
pub const DEFAULT: &str = "linux-user";

/// Largest playbook file read (they are a few hundred bytes).
const MAX_PLAYBOOK_BYTES: u64 = 256 * 1024;

/// Names every playbook can use without declaring them.
const BUILT_IN_VALUES: &[&str] = &["account", "home", "scope", "grant"];

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("no built-in playbook `{name}` (built in: {known}; a file path must contain `/`)")]
    Unknown { name: String, known: String },
    #[error("could not read playbook `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid playbook `{name}`: {message}")]
    Invalid { name: String, message: String },
    #[error("playbook `{name}` needs --scope DIR: the directory the account may work in")]
    ScopeRequired { name: String },
    #[error("playbook `{name}`: parameter `{param}`: {message}")]
    Param {
        name: String,
        param: String,
        message: String,
    },
}

/// Access level a playbook gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A user-level shell account.
    User,
    /// A shell account that may use sudo.
    Root,
    /// Access inside an application (a CMS admin login), no shell account.
    App,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Root => "root",
            Level::App => "app",
        }
    }
}

/// The type of a playbook parameter; values are checked before substitution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Any text without control characters.
    String,
    /// An absolute path without `..` or control characters.
    Path,
    /// One IPv4 or IPv6 address.
    Ip,
    /// A whole number.
    Int,
    /// A name like an account name: `^[a-z_][a-z0-9_-]{0,31}$`.
    Name,
}

impl ParamType {
    fn check(self, value: &str) -> Result<(), &'static str> {
        let ok = match self {
            ParamType::String => !value.chars().any(char::is_control) && value.len() <= 4096,
            ParamType::Path => {
                value.starts_with('/')
                    && value.len() <= 4096
                    && !value.chars().any(char::is_control)
                    && !value.split('/').any(|p| p == ".." || p == ".")
            }
            ParamType::Ip => value.parse::<std::net::IpAddr>().is_ok(),
            ParamType::Int => {
                !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit())
            }
            ParamType::Name => AccountName::parse("param", value).is_ok(),
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            ParamType::String => "text without control characters (at most 4096 bytes)",
            ParamType::Path => "an absolute path without `..`, `.` or control characters",
            ParamType::Ip => "one IPv4 or IPv6 address, such as 203.0.113.7",
            ParamType::Int => "a whole number",
            ParamType::Name => "a name matching ^[a-z_][a-z0-9_-]{0,31}$",
        })
    }
}

/// A declared playbook parameter.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// May refer to built-in values, e.g. `{scope}/_config.php`.
    pub default: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Playbook {
    pub name: String,
    pub description: String,
    pub level: Level,
    #[serde(default)]
    pub requires_scope: bool,
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// May be empty for playbooks whose actions all come from the command line (`lend`).
    /// Read one by one by `parse_action`, so that errors name the line.
    #[serde(skip)]
    pub actions: Vec<ActionTemplate>,
}

/// What a plan is made for: one grant on one host.
#[derive(Clone, Copy)]
pub struct PlanInput<'a> {
    pub grant: &'a GrantId,
    pub account: &'a AccountName,
    pub scope: Option<&'a ScopeDir>,
    /// `YYYY-MM-DD`, the first day the host refuses the account.
    pub expire_date: &'a str,
    /// `--param NAME=VALUE`, as given.
    pub params: &'a [(String, String)],
}

impl Playbook {
    /// Names of the built-in playbooks.
    pub fn built_in_names() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().map(|(n, _)| *n)
    }

    /// The TOML text of a built-in playbook.
    pub fn built_in_text(name: &str) -> Option<&'static str> {
        BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// A built-in playbook by name, or a user's playbook file when `name` contains `/`.
    pub fn load(name: &str) -> Result<Playbook, PlaybookError> {
        if name.contains('/') {
            return Playbook::from_file(Path::new(name));
        }
        let Some(text) = Self::built_in_text(name) else {
            return Err(PlaybookError::Unknown {
                name: name.to_owned(),
                known: Self::built_in_names().collect::<Vec<_>>().join(", "),
            });
        };
        Playbook::parse(name, text)
    }

    /// Read a user's playbook file (at most 256 KiB).
    pub fn from_file(path: &Path) -> Result<Playbook, PlaybookError> {
        let read_err = |source| PlaybookError::Read {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if !meta.is_file() || meta.len() > MAX_PLAYBOOK_BYTES {
            return Err(PlaybookError::Invalid {
                name: path.display().to_string(),
                message: format!("not a regular file of at most {MAX_PLAYBOOK_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        Playbook::parse(&path.display().to_string(), &text)
    }

    /// Parse and validate playbook TOML; errors name the line.
    pub fn parse(name: &str, text: &str) -> Result<Playbook, PlaybookError> {
        let invalid = |message: String| PlaybookError::Invalid {
            name: name.to_owned(),
            message,
        };
        let mut root = DeTable::parse(text).map_err(|e| invalid(e.to_string()))?;
        let actions = root.get_mut().remove("actions");
        let mut playbook =
            Playbook::deserialize(toml::de::Deserializer::from(root)).map_err(|mut e| {
                e.set_input(Some(text));
                invalid(e.to_string())
            })?;
        for param in playbook.params.keys() {
            if BUILT_IN_VALUES.contains(&param.as_str())
                || !param
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(format!(
                    "parameter name `{}` must be lowercase letters, digits and `_`, and not one of {}",
                    param.escape_debug(),
                    BUILT_IN_VALUES.join(", ")
                )));
            }
        }
        // Every placeholder must name a declared parameter or a built-in value: fill them all
        // with dummies and let `substitute` find the strays.
        let dummies: BTreeMap<String, String> = BUILT_IN_VALUES
            .iter()
            .map(|n| (*n).to_owned())
            .chain(playbook.params.keys().cloned())
            .map(|n| (n, "x".to_owned()))
            .collect();
        for (param, spec) in &playbook.params {
            if let Some(default) = &spec.default {
                substitute(default, &dummies, false)
                    .map_err(|e| invalid(format!("default of `{param}`: {e}")))?;
            }
        }
        let actions = match actions {
            None => Vec::new(),
            Some(actions) => {
                let line = line_of(text, actions.span().start);
                let DeValue::Array(actions) = actions.into_inner() else {
                    return Err(invalid(format!(
                        "line {line}: `actions` must be a list of tables (`[[actions]]`)"
                    )));
                };
                actions.into_iter().collect()
            }
        };
        let mut lines = Vec::with_capacity(actions.len());
        for (index, action) in actions.into_iter().enumerate() {
            lines.push(line_of(text, action.span().start));
            let action = parse_action(text, index + 1, action, &dummies).map_err(invalid)?;
            playbook.actions.push(action);
        }
        let has_user = playbook.creates_account();
        for (index, action) in playbook.actions.iter().enumerate() {
            if action.needs_account() && !has_user {
                return Err(invalid(format!(
                    "line {}: action {} needs the account: add a `user` action before it",
                    lines[index],
                    index + 1
                )));
            }
        }
        Ok(playbook)
    }

    /// Whether the playbook gives a temporary database account.
    pub fn has_wp_admin(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, ActionTemplate::WpAdmin(_)))
    }

    /// Whether the account is an sftp-only one, jailed in the scope.
    pub fn has_sftp_jail(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, ActionTemplate::SftpJail(_)))
    }

    pub fn has_db_user(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, ActionTemplate::DbUser(_)))
    }

    /// Whether the plan creates a Linux account (and so has credentials to hand over).
    pub fn creates_account(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, ActionTemplate::User(_)))
    }

    /// The values for `{NAME}` placeholders: built-ins, then `--param`s checked against their
    /// declared types, then defaults.
    fn values(&self, input: &PlanInput) -> Result<BTreeMap<String, String>, PlaybookError> {
        let param_err = |param: &str, message: String| PlaybookError::Param {
            name: self.name.clone(),
            param: param.to_owned(),
            message,
        };
        let mut values = BTreeMap::new();
        values.insert("account".to_owned(), input.account.to_string());
        values.insert("home".to_owned(), format!("/home/{}", input.account));
        values.insert("grant".to_owned(), input.grant.to_string());
        if let Some(scope) = input.scope {
            values.insert("scope".to_owned(), scope.as_str().to_owned());
        }
        for (param, value) in input.params {
            let Some(spec) = self.params.get(param) else {
                let declared: Vec<&str> = self.params.keys().map(String::as_str).collect();
                return Err(param_err(
                    param,
                    format!(
                        "not declared by this playbook (it declares: {})",
                        if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared.join(", ")
                        }
                    ),
                ));
            };
            spec.kind.check(value).map_err(|expected| {
                param_err(
                    param,
                    format!("`{}` is not {expected}", value.escape_debug()),
                )
            })?;
            if values.insert(param.clone(), value.clone()).is_some() {
                return Err(param_err(param, "given twice".to_owned()));
            }
        }
        for (param, spec) in &self.params {
            if values.contains_key(param) {
                continue;
            }
            match &spec.default {
                Some(default) => {
                    let value = substitute(default, &values, false).map_err(|e| {
                        param_err(param, format!("default needs a value that is missing: {e}"))
                    })?;
                    spec.kind.check(&value).map_err(|expected| {
                        param_err(param, format!("default `{value}` is not {expected}"))
                    })?;
                    values.insert(param.clone(), value);
                }
                None if spec.required => {
                    return Err(param_err(
                        param,
                        format!(
                            "required: pass --param {param}=VALUE ({})",
                            spec.description
                        ),
                    ));
                }
                None => {
                    values.insert(param.clone(), String::new());
                }
            }
        }
        Ok(values)
    }

    /// The typed actions for one grant, in apply order.
    pub fn plan(&self, input: &PlanInput) -> Result<Vec<Action>, PlaybookError> {
        if self.requires_scope && input.scope.is_none() {
            return Err(PlaybookError::ScopeRequired {
                name: self.name.clone(),
            });
        }
        let values = self.values(input)?;
        let planning = Planning {
            grant: input.grant,
            account: input.account,
            scope: input.scope,
            expire_date: input.expire_date,
            values: &values,
        };
        self.actions
            .iter()
            .map(|template| {
                template.plan(&planning).map_err(|e| match e {
                    PlanError::ScopeRequired => PlaybookError::ScopeRequired {
                        name: self.name.clone(),
                    },
                    PlanError::Invalid(message) => PlaybookError::Invalid {
                        name: self.name.clone(),
                        message,
                    },
                })
            })
            .collect()
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// One `[[actions]]` entry (action `number`, counting from 1): deserialized from its own
/// spans and checked. Errors start with the line of the field at fault, or of the action when
/// no one field is.
fn parse_action(
    text: &str,
    number: usize,
    action: Spanned<DeValue>,
    dummies: &BTreeMap<String, String>,
) -> Result<ActionTemplate, String> {
    let span = action.span();
    let at = |offset: usize, action: &str, message: &str| {
        format!("line {}: {action}: {message}", line_of(text, offset))
    };
    let unnamed = format!("action {number}");
    let DeValue::Table(mut fields) = action.into_inner() else {
        return Err(at(span.start, &unnamed, "must be a table"));
    };
    let Some((kind_key, kind)) = fields.remove_entry("kind") else {
        return Err(at(span.start, &unnamed, "missing field `kind`"));
    };
    let Some(kind_name) = kind.get_ref().as_str() else {
        return Err(at(
            kind_key.span().start,
            &unnamed,
            "`kind` must be a string",
        ));
    };
    let named = format!("action {number} (kind {kind_name})");
    // Where each field is, for the errors of the checks after deserializing.
    let field_at: BTreeMap<String, usize> = fields
        .keys()
        .map(|k| (k.get_ref().to_string(), k.span().start))
        .collect();
    let field_line = |field: &str| field_at.get(field).copied().unwrap_or(span.start);

    // As the map `{kind = {fields…}}`: toml deserializes the variant's fields straight from
    // their spans.
    let fields = Spanned::new(span.clone(), DeValue::Table(fields));
    let tagged = MapDeserializer::<_, toml::de::Error>::new(std::iter::once((kind, fields)));
    let template =
        ActionTemplate::deserialize(MapAccessDeserializer::new(tagged)).map_err(|e| {
            let offset = e.span().map_or(span.start, |s| s.start);
            at(offset, &named, e.message())
        })?;

    for (field, value) in template.strings() {
        substitute(value, dummies, false).map_err(|e| at(field_line(field), &named, &e))?;
    }
    template
        .check()
        .map_err(|(field, e)| at(field_line(field), &named, &e))?;
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        grant: &'a GrantId,
        account: &'a AccountName,
        scope: Option<&'a ScopeDir>,
        params: &'a [(String, String)],
    ) -> PlanInput<'a> {
        PlanInput {
            grant,
            account,
            scope,
            expire_date: "2026-11-25",
            params,
        }
    }

    #[test]
    fn built_ins_parse() {
        for name in Playbook::built_in_names() {
            let playbook = Playbook::load(name).expect("built-in parses");
            assert_eq!(playbook.name, name);
        }
        assert!(matches!(
            Playbook::load("nope"),
            Err(PlaybookError::Unknown { .. })
        ));
    }

    #[test]
    fn unknown_fields_and_kinds_are_errors_with_a_line() {
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"user\"\n[[actions]]\nkind = \"user\"\nshel = \"/bin/sh\"\n";
        let err = Playbook::parse("x", text)
            .expect_err("unknown field")
            .to_string();
        // The line of the unknown field.
        assert!(
            err.contains("line 6: action 1 (kind user): unknown field `shel`"),
            "{err}"
        );
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"user\"\n[[actions]]\nkind = \"rootkit\"\n";
        let err = Playbook::parse("x", text)
            .expect_err("unknown kind")
            .to_string();
        assert!(
            err.contains("line 5: action 1 (kind rootkit): unknown variant"),
            "{err}"
        );
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = 3\n[[actions]]\nkind = \"user\"\n";
        let err = Playbook::parse("x", text)
            .expect_err("wrong type")
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    /// Found by an audit: an error inside any action was reported at the first `[[actions]]`
    /// line (the internally tagged enum lost toml's spans); a test with the error in the
    /// first action passed by accident.
    #[test]
    fn errors_in_later_actions_name_their_own_line() {
        // Lines 1-9; the third action (an acl, or a shell action) is open at the end.
        let head = |third: &str| {
            format!(
                "name = \"x\"\ndescription = \"d\"\nlevel = \"user\"\n\
                 [[actions]]\nkind = \"user\"\n[[actions]]\nkind = \"password\"\n\
                 [[actions]]\nkind = \"{third}\"\n"
            )
        };
        let acl = head("acl");
        // The shell action's fields take lines 10-14.
        let shell =
            head("shell") + "description = \"d\"\napply = \"\"\"\ntrue\n\"\"\"\nundo = \"true\"\n";
        let cases = [
            // Unknown fields, wrong types and bad values: the line of the field.
            (
                format!("{acl}path = \"/srv\"\npermisions = \"rwx\"\n"),
                "line 11: action 3 (kind acl): unknown field `permisions`, expected `path` or `permissions`",
            ),
            (
                format!("{acl}path = 3\n"),
                "line 10: action 3 (kind acl): invalid type: integer `3`, expected a string",
            ),
            (
                format!("{acl}\npermissions = \"rwq\"\n"),
                "line 11: action 3 (kind acl): acl permissions `rwq` must be letters from rwxX-",
            ),
            (
                format!("{acl}path = \"{{nope}}\"\n"),
                "line 10: action 3 (kind acl): `{nope}` is not a declared parameter",
            ),
            (
                format!("{shell}verify = \"true\"\n"),
                "line 15: action 3 (kind shell): unknown field `verify`, expected one of",
            ),
            (
                format!("{shell}verify_absent = \"test ! -e {{nope}}\"\n"),
                "line 15: action 3 (kind shell): `{nope}` is not a declared parameter",
            ),
            // An unknown kind: the line of `kind`.
            (
                head("acll"),
                "line 9: action 3 (kind acll): unknown variant `acll`",
            ),
            // A missing field: the line of the action.
            (
                head("config-line") + "file = \"/etc/x\"\n",
                "line 8: action 3 (kind config-line): missing field `line`",
            ),
            (
                head("x").replace("kind = \"x\"", "knd = \"acl\""),
                "line 8: action 3: missing field `kind`",
            ),
            // The second action.
            (
                head("acl").replace(
                    "kind = \"password\"\n",
                    "kind = \"password\"\nlength = 20\n",
                ),
                "line 8: action 2 (kind password): unknown field `length`",
            ),
            (
                head("acl").replace(
                    "kind = \"password\"\n",
                    "kind = \"sudo\"\ncommands = [\"ALL\"]\n",
                ),
                "line 8: action 2 (kind sudo): invalid type: sequence, expected a string",
            ),
        ];
        for (text, expected) in cases {
            let err = Playbook::parse("x", &text)
                .expect_err("an error")
                .to_string();
            assert!(err.contains(expected), "{err}\n---\n{text}");
        }
        assert!(Playbook::parse("x", &format!("{acl}path = \"/srv\"\n")).is_ok());
        assert!(Playbook::parse("x", &format!("{shell}verify_absent = \"true\"\n")).is_ok());
    }

    #[test]
    fn undeclared_placeholders_are_errors() {
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"app\"\n[[actions]]\nkind = \"config-line\"\nfile = \"/etc/x\"\nline = \"a = {nope}\"\n";
        let err = Playbook::parse("x", text)
            .expect_err("undeclared")
            .to_string();
        assert!(err.contains("{nope}"), "{err}");
    }

    /// The plan of every built-in playbook, as `show` and the credentials describe it: a
    /// change to what a playbook gives shows up here for review.
    #[test]
    fn plans_of_the_built_in_playbooks() {
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let ip = [("ip".to_owned(), "203.0.113.7".to_owned())];
        let user = [("user".to_owned(), "admin".to_owned())];
        let mut out = String::new();
        for name in Playbook::built_in_names() {
            let playbook = Playbook::load(name).expect("a built-in");
            let params = if playbook.params.contains_key("ip") {
                &ip[..]
            } else if playbook.params.contains_key("user") {
                &user[..]
            } else {
                &[]
            };
            out.push_str(&format!("{name} ({}):\n", playbook.level.as_str()));
            let plan = playbook
                .plan(&input(&grant, &account, Some(&scope), params))
                .expect("plans");
            for action in &plan {
                out.push_str(&format!(
                    "  {}: {}\n",
                    action.kind(),
                    crate::actions::Step::describe(action)
                ));
            }
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn linux_user_plan_needs_a_scope() {
        let playbook = Playbook::load("linux-user").expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        assert!(matches!(
            playbook.plan(&input(&grant, &account, None, &[])),
            Err(PlaybookError::ScopeRequired { .. })
        ));
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let plan = playbook
            .plan(&input(&grant, &account, Some(&scope), &[]))
            .expect("plan");
        let kinds: Vec<_> = plan.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["user", "password", "acl"]);
    }

    #[test]
    fn params_are_typed_required_and_defaulted() {
        let playbook = Playbook::load("composr-backdoor").expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let err = playbook
            .plan(&input(&grant, &account, Some(&scope), &[]))
            .expect_err("ip required");
        assert!(err.to_string().contains("--param ip="), "{err}");
        let bad = [("ip".to_owned(), "203.0.113.7'; system('id');".to_owned())];
        let err = playbook
            .plan(&input(&grant, &account, Some(&scope), &bad))
            .expect_err("bad ip");
        assert!(err.to_string().contains("IPv4"), "{err}");
        let unknown = [("ipp".to_owned(), "1.2.3.4".to_owned())];
        assert!(
            playbook
                .plan(&input(&grant, &account, Some(&scope), &unknown))
                .is_err()
        );
        let good = [("ip".to_owned(), "203.0.113.7".to_owned())];
        let plan = playbook
            .plan(&input(&grant, &account, Some(&scope), &good))
            .expect("plan");
        match &plan[..] {
            [Action::ConfigLine(line)] => {
                assert_eq!(line.file, "/var/www/cms/_config.php");
                assert_eq!(line.line, "$SITE_INFO['backdoor_ip'] = '203.0.113.7';");
            }
            other => panic!("unexpected plan {other:?}"),
        }
    }

    #[test]
    fn sftp_only_plan_jails_a_nologin_account() {
        let playbook = Playbook::load("sftp-only").expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let plan = playbook
            .plan(&input(&grant, &account, Some(&scope), &[]))
            .expect("plan");
        let kinds: Vec<_> = plan.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["user", "password", "acl", "sftp-jail"]);
        assert!(matches!(&plan[0], Action::User(u) if u.shell == "/usr/sbin/nologin"));
        assert!(matches!(&plan[3], Action::SftpJail(j) if j.scope == "/var/www/cms"));
    }

    /// Found by the `playbook` fuzz target: a `shell` action whose commands use `{scope}`, in
    /// a playbook without `requires-scope`, was planned without --scope; its apply script then
    /// only printed "`{scope}` is not a declared parameter" and failed on the host.
    #[test]
    fn shell_commands_using_the_scope_need_one() {
        let text = "name = \"x\"\ndescription = \"d\"\nlevel = \"app\"\n[[actions]]\nkind = \"shell\"\ndescription = \"d\"\napply = \"touch {scope}/x\"\nundo = \"rm -f {scope}/x\"\n";
        let playbook = Playbook::parse("x", text).expect("parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        assert!(matches!(
            playbook.plan(&input(&grant, &account, None, &[])),
            Err(PlaybookError::ScopeRequired { .. })
        ));
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let plan = playbook
            .plan(&input(&grant, &account, Some(&scope), &[]))
            .expect("plan");
        assert!(matches!(&plan[..], [Action::Shell(s)] if s.values["scope"] == "/var/www/cms"));
    }

    /// Found with the `playbook` fuzz target's one-line check: a `config-line` with a line
    /// break was accepted; apply added two lines, and undo (which removes one line equal to
    /// `line`) could never remove them.
    #[test]
    fn config_line_is_one_line() {
        let text = |line: &str| {
            format!(
                "name = \"x\"\ndescription = \"d\"\nlevel = \"app\"\n[[actions]]\nkind = \"config-line\"\nfile = \"/etc/x.conf\"\nline = \"{line}\"\n"
            )
        };
        let err = Playbook::parse("x", &text("a = 1\\nb = 2"))
            .expect_err("two lines")
            .to_string();
        assert!(err.contains("one line"), "{err}");
        assert!(Playbook::parse("x", &text("a =\\t1")).is_ok());
    }

    #[test]
    fn substitution() {
        let values: BTreeMap<String, String> = [("a".to_owned(), "x y".to_owned())].into();
        assert_eq!(
            substitute("{a}/{{b}}", &values, false).ok(),
            Some("x y/{b}".to_owned())
        );
        assert_eq!(
            substitute("ls {a}", &values, true).ok(),
            Some("ls 'x y'".to_owned())
        );
        assert!(substitute("{b}", &values, false).is_err());
        assert!(substitute("{a", &values, false).is_err());
        assert!(substitute("a}", &values, false).is_err());
    }
}

#[cfg(test)]
mod readme {
    use super::*;

    /// The playbook example in the README parses and plans.
    #[test]
    fn readme_example_is_a_valid_playbook() {
        let readme = include_str!("../docs/playbooks.md");
        let start = readme
            .find("```toml\n")
            .expect("a toml block in the README")
            + 8;
        let end = start + readme[start..].find("```").expect("end of the toml block");
        let playbook =
            Playbook::parse("README", &readme[start..end]).expect("README example parses");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let grant = GrantId::parse("20261123-abcdef").expect("grant");
        let scope = ScopeDir::parse("/var/www/cms").expect("scope");
        let plan = playbook
            .plan(&PlanInput {
                grant: &grant,
                account: &account,
                scope: Some(&scope),
                expire_date: "2026-11-25",
                params: &[],
            })
            .expect("README example plans");
        assert!(plan.iter().any(|a| matches!(a, Action::Sudo(s) if s.commands == "/usr/bin/systemctl restart php8.2-fpm")));
    }
}
