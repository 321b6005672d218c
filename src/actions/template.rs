//! How a playbook names an action: each kind a playbook may use has a `Template` (its
//! `[[actions]]` fields, deserialized with `deny_unknown_fields`), checked when the playbook
//! is loaded and planned into the typed [`super::Action`] for one grant.

use super::Action;
use crate::ids::GrantId;
use crate::input::{AccountName, ScopeDir};
use crate::shell::substitute;
use std::collections::BTreeMap;

/// What a plan is made for, with the values of the playbook's `{NAME}` placeholders.
pub struct Planning<'a> {
    pub grant: &'a GrantId,
    pub account: &'a AccountName,
    pub scope: Option<&'a ScopeDir>,
    /// `YYYY-MM-DD`, the first day the host refuses the account.
    pub expire_date: &'a str,
    /// Built-in values (`account`, `home`, `grant`, `scope`) and the playbook's parameters.
    pub values: &'a BTreeMap<String, String>,
}

/// Why a template cannot be planned; the playbook adds its name.
#[derive(Debug)]
pub enum PlanError {
    /// The action needs `--scope`.
    ScopeRequired,
    Invalid(String),
}

impl Planning<'_> {
    /// `template` with its `{NAME}` placeholders replaced (not quoted: a data field).
    pub fn fill(&self, template: &str) -> Result<String, PlanError> {
        substitute(template, self.values, false).map_err(|message| {
            if message.contains("`{scope}`") {
                PlanError::ScopeRequired
            } else {
                PlanError::Invalid(message)
            }
        })
    }

    /// The scope, for actions that cannot do without one.
    pub fn scope(&self) -> Result<&ScopeDir, PlanError> {
        self.scope.ok_or(PlanError::ScopeRequired)
    }
}

/// The playbook side of an action kind.
pub trait Template {
    /// String fields that take `{NAME}` placeholders, by field name (checked for undeclared
    /// placeholders when the playbook is loaded).
    fn strings(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }
    /// Whether the action works on the temporary account (a `user` action must come first).
    fn needs_account(&self) -> bool {
        false
    }
    /// Checks of the fields that take no placeholders; an error names the field.
    fn check(&self) -> Result<(), (&'static str, String)> {
        Ok(())
    }
    /// The typed action for one grant; values substituted into data fields are checked again.
    fn plan(&self, p: &Planning) -> Result<Action, PlanError>;
}
