//! Root through sudo: a sudoers drop-in for the account, asking for the account's own password.
//!
//! Written atomically: a temporary file whose name contains a `.` (sudo ignores such names),
//! mode 0440, checked with `visudo -cf`, and its content compared with what was meant (visudo
//! checks syntax only), then renamed into place; the whole configuration is checked again and
//! the drop-in removed if that fails, so sudo never breaks for the customer.

use super::{Action, PlanError, Planning};
use super::{Checks, Context, Step, require_tools};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::AccountName;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sudo {
    pub account: AccountName,
    /// What the account may run as root: `ALL` or a list of absolute commands.
    pub commands: String,
    /// `/etc/sudoers.d/handover-GRANT`.
    pub file: String,
}

impl Sudo {
    /// The drop-in's exact content. `Defaults` make sure sudo asks for the account's own
    /// password even where the customer's configuration asks for root's or the target's.
    pub fn content(&self) -> String {
        let a = self.account.as_str();
        format!(
            "# handover: temporary sudo for {a}; removed by `handover teardown`\nDefaults:{a} !rootpw, !runaspw, !targetpw, authenticate\n{a} ALL=(ALL:ALL) {}\n",
            self.commands
        )
    }

    fn temp_file(&self) -> String {
        temp_file(&self.file)
    }
}

/// Where a drop-in is written before it is checked: a `.` in the name, so sudo's #includedir
/// skips it meanwhile.
pub(super) fn temp_file(file: &str) -> String {
    format!("{file}.tmp")
}

/// Script text: install the sudoers drop-in `file` holding exactly `content` (see the module
/// doc); the step fails, with nothing left, when sudo would not take it.
pub(super) fn install_dropin(s: &mut Script, file: &str, content: &str) {
    let tmp = temp_file(file);
    s.cmd("rm -f -- {}", &[&tmp]);
    s.cmd("printf '%s' {} > {}", &[content, &tmp]);
    s.cmd("chown root:root -- {} && chmod 0440 -- {}", &[&tmp, &tmp]);
    s.cmd(
        "if ! visudo -cf {} >&2; then rm -f -- {}; echo 'the sudoers fragment is invalid' >&2; exit 1; fi",
        &[&tmp, &tmp],
    );
    s.cmd(
        "if [ \"$(cat -- {})\" != \"$(printf '%s' {})\" ]; then rm -f -- {}; echo 'the sudoers fragment is not what was written' >&2; exit 1; fi",
        &[&tmp, content, &tmp],
    );
    s.cmd(
        "if [ -e {} ]; then rm -f -- {}; echo {} >&2; exit 1; fi",
        &[file, &tmp, &format!("{file} appeared meanwhile")],
    );
    s.cmd("mv -- {} {}", &[&tmp, file]);
    s.cmd(
        "if ! visudo -c >&2; then rm -f -- {}; echo 'sudo configuration invalid with the fragment: removed it' >&2; exit 1; fi",
        &[file],
    );
}

/// Script text: check `id` passes when `file` holds exactly `content`, root-owned, mode 0440.
pub(super) fn verify_dropin(s: &mut Script, id: &str, file: &str, content: &str) {
    s.cmd(
        "if [ \"$(cat -- {} 2>/dev/null)\" = \"$(printf '%s' {})\" ] && [ \"$(stat -c %U:%a -- {})\" = root:440 ]; then hv_ok {}; else hv_fail {}; fi",
        &[file, content, file, id, id],
    );
}

impl Step for Sudo {
    fn footprint(&self, _grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.path(&self.file);
        own.path(&format!("{}.tmp", self.file));
    }

    fn describe(&self) -> String {
        format!(
            "sudo for `{}` ({}), asking for its own password, in {}",
            self.account, self.commands, self.file
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(s, checks, &[("sudo", "sudo"), ("visudo", "sudo")]);
        let id = checks.add("includedir", "sudo reads drop-ins from /etc/sudoers.d");
        s.cmd(
            "hv_expect {} grep -Eq '^[@#]includedir[[:space:]]+/etc/sudoers.d' /etc/sudoers",
            &[&id],
        );
        let id = checks.add(
            "valid",
            "the host's sudo configuration is valid before any change",
        );
        s.cmd("hv_expect {} visudo -c", &[&id]);
        let id = checks.add("absent", format!("{} does not exist yet", self.file));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.file]);
    }

    fn apply(&self, _ctx: &Context, s: &mut Script) {
        install_dropin(s, &self.file, &self.content());
    }

    fn undo(&self, _ctx: &Context, s: &mut Script) {
        s.cmd("rm -f -- {} {}", &[&self.file, &self.temp_file()]);
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let id = checks.add(
            "file",
            format!(
                "{} holds exactly the grant's rule, root-owned, mode 0440",
                self.file
            ),
        );
        verify_dropin(s, &id, &self.file, &self.content());
        let id = checks.add(
            "listed",
            format!("sudo lists the rule for `{}`", self.account),
        );
        s.cmd(
            "sudo -l -U {} 2>/dev/null | grep -q '(ALL : ALL)' && hv_ok {} || hv_fail {}",
            &[self.account.as_str(), &id, &id],
        );
    }

    fn verify_absent(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let id = checks.add("file", format!("{} is gone", self.file));
        s.cmd("hv_refute {} test -e {}", &[&id, &self.file]);
        let id = checks.add("rules", format!("no sudo rule names `{}`", self.account));
        s.cmd(
            "grep -rlw -- {} /etc/sudoers /etc/sudoers.d 2>/dev/null | hv_report {}",
            &[self.account.as_str(), &id],
        );
    }
}

/// `kind = "sudo"`: a sudoers drop-in; the account may run `commands` as root with its own
/// password.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(default = "default_commands")]
    commands: String,
}

fn default_commands() -> String {
    "ALL".to_owned()
}

/// sudo commands must not carry tags (`NOPASSWD:`) or anything that could end the line.
fn check_commands(commands: &str) -> Result<(), String> {
    if commands.is_empty()
        || commands
            .chars()
            .any(|c| c.is_control() || matches!(c, ':' | '#' | '\\' | '!'))
    {
        return Err(format!(
            "sudo commands `{}` must be `ALL` or a comma-separated list of absolute commands, without tags, `:`, `#`, `!` or `\\`",
            commands.escape_debug()
        ));
    }
    Ok(())
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![("commands", &self.commands)]
    }

    fn needs_account(&self) -> bool {
        true
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        // Values substituted into the commands must still be valid commands.
        let commands = p.fill(&self.commands)?;
        check_commands(&commands).map_err(PlanError::Invalid)?;
        Ok(Action::Sudo(Sudo {
            account: p.account.clone(),
            commands,
            file: format!("/etc/sudoers.d/handover-{}", p.grant),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_commands_cannot_carry_tags() {
        for bad in [
            "NOPASSWD: ALL",
            "ALL\nroot ALL=(ALL) ALL",
            "ALL # x",
            "!/bin/sh",
            "",
        ] {
            assert!(check_commands(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_commands("/usr/bin/systemctl restart php8.2-fpm, /usr/bin/tail").is_ok()
        );
    }

}
