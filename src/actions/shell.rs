//! The playbook author's own commands: apply, undo, and optional checks.
//!
//! The commands are the author's program text (a playbook can do anything root can: only run
//! playbooks you trust). Parameter values are substituted into them shell-quoted, never raw, so
//! a value given on the command line cannot change what the commands do.

use super::{Action, PlanError, Planning};
use super::{Checks, Context, Step};
use crate::shell::{Script, substitute};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shell {
    pub description: String,
    pub preflight: Option<String>,
    pub apply: String,
    pub undo: String,
    pub verify_present: Option<String>,
    pub verify_absent: Option<String>,
    /// The parameter values, substituted quoted when the script is built.
    pub values: BTreeMap<String, String>,
}

impl Shell {
    /// The commands with their values quoted in. Placeholders were checked when the playbook
    /// was loaded; a failure here means a hand-edited record, and the script says so.
    fn code(&self, template: &str) -> String {
        substitute(template, &self.values, true).unwrap_or_else(|e| {
            format!(
                "echo {} >&2; false",
                crate::shell::quote(&format!("shell action: {e}"))
            )
        })
    }

    /// A check that passes when `template`'s commands succeed; their output is the detail.
    fn check(&self, s: &mut Script, id: &str, template: &str) {
        s.cmd("hv_out=$( (", &[]);
        s.user_code(&self.code(template));
        s.cmd(
            ") 2>&1 ) && hv_ok {} || {{ hv_fail {}; printf '%s\\n' \"$hv_out\" | hv_detail {}; }}",
            &[id, id, id],
        );
    }
}

impl Step for Shell {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if let Some(preflight) = &self.preflight {
            let id = checks.add(
                "preflight",
                format!("{}: preflight commands succeed", self.description),
            );
            self.check(s, &id, preflight);
        }
    }

    fn apply(&self, _ctx: &Context, s: &mut Script) {
        s.user_code(&self.code(&self.apply));
    }

    fn undo(&self, _ctx: &Context, s: &mut Script) {
        s.user_code(&self.code(&self.undo));
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if let Some(verify) = &self.verify_present {
            let id = checks.add("present", format!("{}: in place", self.description));
            self.check(s, &id, verify);
        }
    }

    fn verify_absent(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if let Some(verify) = &self.verify_absent {
            let id = checks.add("absent", format!("{}: removed", self.description));
            self.check(s, &id, verify);
        }
    }
}

/// `kind = "shell"`: the playbook author's own commands; parameters are substituted quoted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    description: String,
    preflight: Option<String>,
    apply: String,
    undo: String,
    verify_present: Option<String>,
    verify_absent: Option<String>,
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        let mut all = vec![
            ("description", self.description.as_str()),
            ("apply", &self.apply),
            ("undo", &self.undo),
        ];
        let optional = [
            ("preflight", &self.preflight),
            ("verify_present", &self.verify_present),
            ("verify_absent", &self.verify_absent),
        ];
        for (field, value) in optional {
            if let Some(value) = value {
                all.push((field, value));
            }
        }
        all
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        // The commands are substituted (quoted) when the script is built; every placeholder
        // must have a value now, so a missing --scope is refused here and not by the apply
        // step on the host.
        let commands = [
            Some(&self.apply),
            Some(&self.undo),
            self.preflight.as_ref(),
            self.verify_present.as_ref(),
            self.verify_absent.as_ref(),
        ];
        for code in commands.into_iter().flatten() {
            p.fill(code)?;
        }
        Ok(Action::Shell(Shell {
            description: p.fill(&self.description)?,
            preflight: self.preflight.clone(),
            apply: self.apply.clone(),
            undo: self.undo.clone(),
            verify_present: self.verify_present.clone(),
            verify_absent: self.verify_absent.clone(),
            values: p.values.clone(),
        }))
    }
}
