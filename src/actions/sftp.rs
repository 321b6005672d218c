//! `sftp-jail`: the account can only use SFTP, chrooted into a jail of its own in which the
//! scope (the CMS directory) is the only thing there is. The CMS files stay where they are: the
//! scope is bind-mounted into the jail, and only that mount is undone at teardown.
//!
//! The jail is `/run/handover-sftp-<account>`: a new root-owned directory (mode 0755) directly
//! under `/run`, because sshd refuses a chroot unless the directory and every parent are
//! root-owned and writable by nobody else; `/run` and `/` are, on every Linux we know, and
//! preflight checks it. Inside it, a directory named like the scope carries the bind mount
//! (`nosuid,nodev`). The mount does not survive a reboot, and neither does the jail on the
//! `/run` tmpfs: after one, sshd refuses the account's login (its chroot is missing) until
//! teardown removes the rest.
//!
//! The sshd part (`ChrootDirectory`, `ForceCommand internal-sftp`, `PermitTTY no` in a
//! `Match User` block) goes through the same drop-in helper as `sshd-match`
//! ([`super::sshd_dropin`]).
//!
//! When the window is recorded ([`super::Recording`]), `internal-sftp -l INFO` logs every file
//! operation to the system log. It runs inside the chroot and logs through `/dev/log`, so the
//! host's log socket is bind-mounted at `JAIL/dev/log` (the vendor sees an empty-looking `/dev`
//! it can do nothing with: a socket cannot be opened over SFTP, and the jail is root's).

use super::{Action, PlanError, Planning};
use super::sshd_dropin::{self, DropIn, Expect, Probe};
use super::{Checks, Context, Step, require_tools};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::AccountName;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Taking the bind mount down (`sftp.sh`).
const LIB: &str = include_str!("sftp.sh");

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpJail {
    pub account: AccountName,
    /// The resolved scope, bind-mounted into the jail.
    pub scope: String,
    /// The chroot directory, created by the grant.
    pub jail: String,
    /// The name of the scope inside the jail (`/NAME` is where SFTP sessions start).
    pub dir_name: String,
    /// The sshd drop-in.
    pub dropin: String,
    /// Whether file operations are logged to the system log (a recorded window).
    #[serde(default)]
    pub log: bool,
}

impl SftpJail {
    pub fn new(account: &AccountName, scope: &str) -> Self {
        let base = scope.rsplit('/').next().unwrap_or("");
        let simple = !base.is_empty()
            && base.len() <= 64
            && base
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        SftpJail {
            account: account.clone(),
            scope: scope.to_owned(),
            jail: format!("/run/handover-sftp-{account}"),
            dir_name: if simple {
                base.to_owned()
            } else {
                "files".to_owned()
            },
            dropin: sshd_dropin::path_for(&format!("{account}-sftp")),
            log: false,
        }
    }

    /// Where the host's log socket is bind-mounted in the jail, when file operations are logged.
    fn log_socket(&self) -> String {
        format!("{}/dev/log", self.jail)
    }

    fn mountpoint(&self) -> String {
        format!("{}/{}", self.jail, self.dir_name)
    }

    fn force_command(&self) -> String {
        let log = if self.log { " -l INFO" } else { "" };
        format!("internal-sftp -d /{}{log}", self.dir_name)
    }

    /// The jail and every directory above it: all must be root-owned, not group/other writable.
    fn chroot_path(&self) -> Vec<String> {
        let mut out = vec!["/".to_owned()];
        let mut at = String::new();
        for part in self.jail.split('/').filter(|p| !p.is_empty()) {
            at.push('/');
            at.push_str(part);
            out.push(at.clone());
        }
        out
    }

    fn mark(ctx: &Context) -> String {
        format!("# handover grant {}", ctx.grant)
    }

    fn dropin(&self, ctx: &Context) -> DropIn {
        let account = self.account.as_str();
        let content = format!(
            "{mark}\n# SFTP only for the temporary support account {account}, jailed in {jail}, where it sees only {scope} (as /{name}).\n# Removed by `handover teardown {grant}`; do not edit.\nMatch User {account}\n\tChrootDirectory {jail}\n\tForceCommand {force}\n\tPermitTTY no\n",
            mark = Self::mark(ctx),
            jail = self.jail,
            scope = self.scope,
            name = self.dir_name,
            grant = ctx.grant,
            force = self.force_command(),
        );
        DropIn {
            path: self.dropin.clone(),
            account: account.to_owned(),
            mark: Self::mark(ctx),
            content,
            keys: vec!["chrootdirectory", "forcecommand", "permittty"],
            probes: vec![Probe {
                addr: "192.0.2.1".to_owned(),
                expect: vec![
                    Expect::Is("chrootdirectory", self.jail.clone()),
                    Expect::Is("forcecommand", self.force_command()),
                    Expect::Is("permittty", "no".to_owned()),
                ],
            }],
        }
    }
}

impl Step for SftpJail {
    fn footprint(&self, _grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        own.path(&self.dropin);
        own.tree(&self.jail);
    }

    fn describe(&self) -> String {
        format!(
            "SFTP only for `{}`, jailed in {} where it sees only {} (bind-mounted as /{}); sshd drop-in {}",
            self.account, self.jail, self.scope, self.dir_name, self.dropin
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        require_tools(
            s,
            checks,
            &[
                ("mount", "mount"),
                ("umount", "mount"),
                ("mountpoint", "util-linux"),
                ("find", "findutils"),
                ("stat", "coreutils"),
            ],
        );
        let id = checks.add(
            "jail-absent",
            format!(
                "{} does not exist yet (the jail is a new directory)",
                self.jail
            ),
        );
        s.cmd(
            "hv_refute {} test -e {} -o -L {}",
            &[&id, &self.jail, &self.jail],
        );
        let id = checks.add(
            "scope",
            format!("scope `{}` is an existing directory", self.scope),
        );
        s.cmd("hv_expect {} test -d {}", &[&id, &self.scope]);
        let parents = self.chroot_path();
        let parents = &parents[..parents.len() - 1];
        let id = checks.add(
            "chroot-parents",
            format!(
                "{} are root-owned and not writable by group or others (sshd's rule for a chroot)",
                parents.join(", ")
            ),
        );
        s.raw("{");
        for dir in parents {
            s.cmd(
                "find -L {} -maxdepth 0 \\( ! -user 0 -o -perm /022 \\) -print",
                &[dir],
            );
        }
        s.cmd("}} | hv_report {}", &[&id]);
        sshd_dropin::preflight(s, checks, &self.dropin);
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let mp = self.mountpoint();
        s.cmd(
            "if [ -e {} ] || [ -L {} ]; then echo {} >&2; exit 1; fi",
            &[
                &self.jail,
                &self.jail,
                &format!("handover: {} exists already", self.jail),
            ],
        );
        s.cmd("mkdir -m 0755 -- {}", &[&self.jail]);
        s.raw("hv_fact jail_created 1");
        s.cmd("chown 0:0 -- {}", &[&self.jail]);
        s.cmd("mkdir -m 0755 -- {}", &[&mp]);
        s.cmd("mount --bind -- {} {}", &[&self.scope, &mp]);
        s.raw("hv_fact mounted 1");
        s.cmd("mount -o remount,bind,nosuid,nodev -- {}", &[&mp]);
        if self.log {
            // The socket itself, not the `/dev/log` symlink journald hosts have.
            let socket = self.log_socket();
            s.cmd("mkdir -m 0755 -- {}", &[&format!("{}/dev", self.jail)]);
            s.cmd("(umask 022 && : > {})", &[&socket]);
            s.cmd("mount --bind -- \"$(readlink -f /dev/log)\" {}", &[&socket]);
        }
        sshd_dropin::install(s, &self.dropin(ctx));
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        let mp = self.mountpoint();
        // The sshd part first (no new session into the jail), then the mount, then the jail.
        // Only `rmdir`: a jail that is not empty (a mount that would not go) stays, and the
        // scope's files are never at risk.
        sshd_dropin::remove(s, &self.dropin(ctx), ctx.facts);
        s.raw(LIB);
        s.cmd(
            "if [ -d {} ] && [ ! -L {} ]; then hv_sftp_unmount {}; fi",
            &[&mp, &mp, &mp],
        );
        // Whether or not this grant logs: a jail has nothing else under `dev/`.
        let socket = self.log_socket();
        let dev = format!("{}/dev", self.jail);
        s.cmd(
            "if [ -d {} ] && [ ! -L {} ]; then if [ -e {} ] && [ ! -L {} ]; then hv_sftp_unmount {}; fi; rmdir -- {}; fi",
            &[&dev, &dev, &socket, &socket, &socket, &dev],
        );
        s.cmd(
            "if [ -d {} ] && [ ! -L {} ]; then rmdir -- {}; fi",
            &[&self.jail, &self.jail, &self.jail],
        );
        sshd_dropin::fail_if_remove_failed(s);
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let mp = self.mountpoint();
        sshd_dropin::verify_present(s, checks, &self.dropin(ctx));
        let id = checks.add("mounted", format!("{} is bind-mounted at {mp}", self.scope));
        s.cmd(
            "if mountpoint -q -- {} && [ \"$(stat -c %d:%i -- {})\" = \"$(stat -c %d:%i -- {})\" ]; then hv_ok {}; else hv_fail {}; fi",
            &[&mp, &mp, &self.scope, &id, &id],
        );
        if self.log {
            let socket = self.log_socket();
            let id = checks.add(
                "log-socket",
                format!("the host's log socket is bind-mounted at {socket}, for the file operations' log"),
            );
            s.cmd(
                "if mountpoint -q -- {} && [ -S {} ]; then hv_ok {}; else hv_fail {}; fi",
                &[&socket, &socket, &id, &id],
            );
        }
        let id = checks.add(
            "chroot-safe",
            format!(
                "{} and every directory above it are root-owned and not writable by group or others",
                self.jail
            ),
        );
        s.raw("{");
        for dir in self.chroot_path() {
            s.cmd(
                "find -L {} -maxdepth 0 \\( ! -user 0 -o -perm /022 \\) -print",
                &[&dir],
            );
        }
        s.cmd("}} | hv_report {}", &[&id]);
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        sshd_dropin::verify_absent(s, checks, &self.dropin(ctx), ctx.facts);
        let id = checks.add("unmounted", format!("nothing is mounted in {}", self.jail));
        s.cmd(
            "awk -v j={} '$5 == j || index($5, j \"/\") == 1 {{ print $5 }}' /proc/self/mountinfo | hv_report {}",
            &[&self.jail, &id],
        );
        let id = checks.add("jail", format!("{} is gone", self.jail));
        s.cmd(
            "hv_refute {} test -e {} -o -L {}",
            &[&id, &self.jail, &self.jail],
        );
    }
}

/// `kind = "sftp-jail"`: SFTP only, chrooted into a jail where the scope is bind-mounted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {}

impl super::Template for Template {
    fn needs_account(&self) -> bool {
        true
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        Ok(Action::SftpJail(SftpJail::new(p.account, p.scope()?.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jail_layout() {
        let account = AccountName::parse("--account", "vendor_1").expect("name");
        let j = SftpJail::new(&account, "/var/www/cms");
        assert_eq!(j.jail, "/run/handover-sftp-vendor_1");
        assert_eq!(j.dir_name, "cms");
        assert_eq!(j.mountpoint(), "/run/handover-sftp-vendor_1/cms");
        assert_eq!(
            j.dropin,
            "/etc/ssh/sshd_config.d/00-handover-vendor_1-sftp.conf"
        );
        assert_eq!(
            j.chroot_path(),
            ["/", "/run", "/run/handover-sftp-vendor_1"]
        );
        let odd = SftpJail::new(&account, "/srv/my site");
        assert_eq!(odd.dir_name, "files");
        let dotted = SftpJail::new(&account, "/srv/.hidden");
        assert_eq!(dotted.dir_name, "files");
    }

    #[test]
    fn a_logged_jail_asks_internal_sftp_for_its_log() {
        let account = AccountName::parse("--account", "vendor_1").expect("name");
        let mut j = SftpJail::new(&account, "/var/www/cms");
        assert_eq!(j.force_command(), "internal-sftp -d /cms");
        j.log = true;
        assert_eq!(j.force_command(), "internal-sftp -d /cms -l INFO");
        assert_eq!(j.log_socket(), "/run/handover-sftp-vendor_1/dev/log");
    }
}
