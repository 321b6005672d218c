//! One line added to a configuration file (for example Composr's `backdoor_ip`), removed at
//! teardown, with a check that nothing else in the file changed.
//!
//! The original is copied to `/var/lib/handover/GRANT-config/` first. The line is added before a
//! closing `?>` if the file ends with one, else at the end. The file is replaced atomically,
//! keeping its owner, mode and ACL. At teardown the exact line is removed and the result is
//! compared with the copy: if someone else changed the file meanwhile, that is reported and the
//! copy is kept for the customer to compare.

use super::{Action, PlanError, Planning};
use super::{Checks, Context, Step, require_tools};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLine {
    pub file: String,
    pub line: String,
}

/// Adding the line, taking it out, replacing the file (`config_line.sh`).
const LIB: &str = include_str!("config_line.sh");

impl ConfigLine {
    /// Not the expiry guard's `/var/lib/handover/GRANT`, which the guard creates new and
    /// removes whole: the copies must outlive the guard's undo.
    fn state_dir(ctx: &Context) -> String {
        format!("{}/{}-config", super::HOST_STATE, ctx.grant)
    }

    /// Where the original is kept: one name per file, so several lines can share a grant.
    fn backup(&self, ctx: &Context) -> String {
        let name: String = self
            .file
            .trim_start_matches('/')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}/{name}.orig", Self::state_dir(ctx))
    }

    /// Shell text that replaces the file with `$hv_new` atomically, keeping owner, mode and ACL.
    fn replace_with_new(&self, s: &mut Script) {
        s.cmd("hv_line_replace {} \"$hv_new\"", &[&self.file]);
    }
}

impl Step for ConfigLine {
    fn footprint(&self, grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.tree(&format!("{}/{grant}-config", super::HOST_STATE));
    }

    fn describe(&self) -> String {
        format!("the line `{}` in {}", self.line, self.file)
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(s, checks, &[("awk", "mawk"), ("cmp", "diffutils")]);
        let id = checks.add("file", format!("{} is an existing regular file", self.file));
        s.cmd(
            "hv_expect {} test -f {} -a ! -L {}",
            &[&id, &self.file, &self.file],
        );
        let id = checks.add(
            "absent",
            format!("{} does not hold the line yet", self.file),
        );
        s.cmd(
            "hv_refute {} grep -Fxq -- {} {}",
            &[&id, &self.line, &self.file],
        );
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let f = self.file.as_str();
        let backup = self.backup(ctx);
        super::make_state_dir(s, &Self::state_dir(ctx));
        s.cmd("cp -p -- {} {}", &[f, &backup]);
        s.cmd("hv_fact backup {}", &[&backup]);
        s.raw(LIB);
        s.cmd("hv_new=$(mktemp -- {}.handover-XXXXXX)", &[f]);
        s.cmd("hv_line_insert {} < {} > \"$hv_new\"", &[&self.line, f]);
        self.replace_with_new(s);
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        let f = self.file.as_str();
        let backup = self.backup(ctx);
        s.raw(LIB);
        s.cmd(
            "if [ -f {} ] && grep -Fxq -- {} {}; then",
            &[f, &self.line, f],
        );
        s.cmd("  hv_new=$(mktemp -- {}.handover-XXXXXX)", &[f]);
        s.cmd("  hv_line_remove {} < {} > \"$hv_new\"", &[&self.line, f]);
        self.replace_with_new(s);
        s.raw("fi");
        s.cmd("rm -f -- {}.handover-??????", &[f]);
        // Keep the copy when the file differs from it: the customer will want to compare.
        s.cmd(
            "if [ -f {} ] && cmp -s -- {} {}; then rm -f -- {}; elif [ -f {} ]; then hv_note kept {}; fi",
            &[&backup, &backup, f, &backup, &backup, &backup],
        );
        super::remove_state_dir(s, &Self::state_dir(ctx));
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let f = self.file.as_str();
        let id = checks.add("present", format!("{f} holds the line once"));
        s.cmd(
            "hv_expect {} test \"$(grep -Fxc -- {} {})\" = 1",
            &[&id, &self.line, f],
        );
        let id = checks.add("only", format!("nothing else in {f} changed"));
        s.raw(LIB);
        s.cmd(
            "hv_line_remove {} < {} | cmp -s - {} && hv_ok {} || hv_fail {}",
            &[&self.line, f, &self.backup(ctx), &id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let f = self.file.as_str();
        let id = checks.add("absent", format!("{f} no longer holds the line"));
        s.cmd("hv_refute {} grep -Fxq -- {} {}", &[&id, &self.line, f]);
        let backup = self.backup(ctx);
        let id = checks.add(
            "unchanged",
            format!("{f} is as it was before the grant (a copy of the original is kept in {backup} if not)"),
        );
        s.cmd(
            "if [ -f {} ]; then diff -- {} {} 2>&1 | head -n 20 | hv_report {}; else hv_ok {}; fi",
            &[&backup, &backup, f, &id, &id],
        );
    }
}

/// `kind = "config-line"`: one line added to a configuration file, removed at teardown.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    file: String,
    line: String,
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![("file", &self.file), ("line", &self.line)]
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        if self.line.is_empty() {
            return Err(("line", "config-line `line` is empty".to_owned()));
        }
        // Teardown removes the line by exact match with one line of the file: a line break
        // would add lines that nothing can remove. (Placeholder values hold no control
        // characters.)
        if self.line.contains('\n') {
            return Err((
                "line",
                format!(
                    "config-line `line` `{}` must be one line",
                    self.line.escape_debug()
                ),
            ));
        }
        Ok(())
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        Ok(Action::ConfigLine(ConfigLine {
            file: p.fill(&self.file)?,
            line: p.fill(&self.line)?,
        }))
    }
}
