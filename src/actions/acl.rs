//! Read/write access to the scope (the CMS directory) through POSIX ACLs: an access entry on
//! everything under it and a default entry on its directories, so new files stay reachable.
//! The files keep their owners; nothing outside the scope is touched.

use super::{Action, PlanError, Planning};
use super::{Checks, Context, Step, require_tools};
use crate::input::{AccountName, ScopeDir};
use crate::shell::Script;
use serde::{Deserialize, Serialize};

/// Taking the grant's entries out again, and what they leave behind (`acl.sh`).
const LIB: &str = include_str!("acl.sh");

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acl {
    pub account: AccountName,
    /// The resolved scope directory.
    pub scope: String,
    /// `setfacl` permissions, `rwX` (read, write, and execute on directories).
    pub permissions: String,
}

impl Step for Acl {
    fn describe(&self) -> String {
        format!(
            "ACL `{}` for `{}` on everything under {} (and the default for new files)",
            self.permissions, self.account, self.scope
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(
            s,
            checks,
            &[
                ("setfacl", "acl"),
                ("getfacl", "acl"),
                ("find", "findutils"),
            ],
        );
        let id = checks.add(
            "scope",
            format!("scope `{}` is an existing directory", self.scope),
        );
        s.cmd("hv_expect {} test -d {}", &[&id, &self.scope]);
        // The engine refuses scopes that resolve into system directories.
        s.cmd(
            "hv_fact scope_resolved \"$(readlink -f -- {})\"",
            &[&self.scope],
        );
    }

    fn apply(&self, _ctx: &Context, s: &mut Script) {
        let name = self.account.as_str();
        let entry = format!("u:{name}:{}", self.permissions);
        let default_entry = format!("d:u:{name}:{}", self.permissions);
        s.cmd("setfacl -R -P -m {} -- {}", &[&entry, &self.scope]);
        s.cmd(
            "find {} -type d -exec setfacl -m {} -- {{}} +",
            &[&self.scope, &default_entry],
        );
    }

    fn undo(&self, _ctx: &Context, s: &mut Script) {
        let scope = self.scope.as_str();
        s.raw(LIB);
        s.cmd(
            "if [ -n \"$hv_uid\" ] && [ -d {} ]; then hv_acl_undo {}; fi",
            &[scope, scope],
        );
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let name = self.account.as_str();
        let id = checks.add("writable", format!("`{name}` can write in {}", self.scope));
        s.cmd(
            "hv_expect {} runuser -u {} -- test -w {} -a -x {}",
            &[&id, name, &self.scope, &self.scope],
        );
        let id = checks.add(
            "default",
            format!("new files in {} get an entry for `{name}`", self.scope),
        );
        s.cmd(
            "getfacl -p -- {} 2>/dev/null | grep -q {} && hv_ok {} || hv_fail {}",
            &[&self.scope, &format!("^default:user:{name}:"), &id, &id],
        );
    }

    fn verify_absent(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let scope = self.scope.as_str();
        let id = checks.add(
            "entries",
            format!("no ACL entry for the grant's uid under {scope}"),
        );
        s.raw(LIB);
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then hv_acl_left {} | hv_report {}; else hv_ok {}; fi",
            &[scope, &id, &id],
        );
        let id = checks.add(
            "owned",
            format!("no file under {scope} is owned by the grant's uid or group"),
        );
        s.cmd(
            "if [ -n \"$hv_uid\" ]; then find {} -xdev \\( -uid \"$hv_uid\" -o -gid \"${hv_gid:-$hv_uid}\" \\) -print | hv_report {}; else hv_ok {}; fi",
            &[scope, &id, &id],
        );
    }
}

/// `kind = "acl"`: read/write on a directory tree through ACLs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(default = "default_path")]
    path: String,
    #[serde(default = "default_permissions")]
    permissions: String,
}

fn default_path() -> String {
    "{scope}".to_owned()
}

fn default_permissions() -> String {
    "rwX".to_owned()
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![("path", &self.path)]
    }

    fn needs_account(&self) -> bool {
        true
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        let permissions = &self.permissions;
        let ok = !permissions.is_empty()
            && permissions.len() <= 4
            && permissions
                .chars()
                .all(|c| matches!(c, 'r' | 'w' | 'x' | 'X' | '-'));
        if ok {
            Ok(())
        } else {
            Err((
                "permissions",
                format!(
                    "acl permissions `{}` must be letters from rwxX-",
                    permissions.escape_debug()
                ),
            ))
        }
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        let path = p.fill(&self.path)?;
        let scope = ScopeDir::parse(&path).map_err(|e| PlanError::Invalid(format!("acl path: {e}")))?;
        Ok(Action::Acl(Acl {
            account: p.account.clone(),
            scope: scope.as_str().to_owned(),
            permissions: self.permissions.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::LIB;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn normalize(getfacl: &str) -> String {
        let mut child = Command::new("/bin/sh")
            .args(["-c", &format!("{LIB}\nhv_acl_normalize")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(getfacl.as_bytes())
            .expect("write");
        String::from_utf8(child.wait_with_output().expect("sh output").stdout).expect("utf-8")
    }

    #[test]
    fn masks_and_empty_default_acls_are_removed_keeping_effective_permissions() {
        let input = "# file: /s/new.php\n# owner: 0\n# group: 0\nuser::rw-\ngroup::r-x\nmask::rw-\nother::r--\n\n\
                     # file: /s\nuser::rwx\ngroup::r-x\nmask::rwx\nother::r-x\ndefault:user::rwx\ndefault:group::r-x\ndefault:mask::rwx\ndefault:other::r-x\n\n\
                     # file: /s/plain\nuser::rw-\ngroup::r--\nother::r--\n\n\
                     # file: /s/theirs\nuser::rw-\ngroup::r--\ngroup:5555:rwx\nmask::rwx\nother::r--\n\n";
        let expected = "# file: /s/new.php\nuser::rw-\ngroup::r--\nother::r--\n\n\
                        # file: /s\nuser::rwx\ngroup::r-x\nother::r-x\n\n\
                        # file: /s/theirs\nuser::rw-\ngroup::r--\ngroup:5555:rwx\nother::r--\n\n";
        assert_eq!(normalize(input), expected);
    }

    #[test]
    fn default_acls_with_named_entries_of_their_own_stay() {
        let input = "# file: /s\nuser::rwx\ngroup::r-x\ngroup:5555:rwx\nmask::rwx\nother::r-x\ndefault:user::rwx\ndefault:group:5555:rwx\ndefault:mask::rwx\ndefault:other::r-x\n\n";
        let out = normalize(input);
        assert!(out.contains("default:group:5555:rwx\n"), "{out}");
        assert!(!out.contains("mask"), "{out}");
    }
}
