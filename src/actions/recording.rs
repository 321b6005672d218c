//! `recording`: every session of the temporary account recorded on the host, out of its reach.
//!
//! sshd runs every login of the account — a shell, a command (`ssh host cmd`), sftp and scp —
//! through a root-owned wrapper (`ForceCommand`, set in the account's sshd drop-in), which
//! runs it under `sudo -u ACCOUNT`: the account gains nothing, and sudo's I/O logging records
//! it as root, in `/var/log/handover/GRANT` (root-only, 0700), where the account can neither
//! read back, alter nor delete it. Recorded: the terminal (what the vendor saw and typed),
//! standard input and output of commands (so what was typed, line by line), every sudo to root (the same `Defaults` apply to it), and for sftp, sftp-server's own log
//! of each file read, written, renamed or removed (its protocol stream, the files' content,
//! is left out).
//!
//! Why sudo and not tlog: Debian ships tlog-rec-session without its set-user-ID, so it records
//! as the account, into files or a journal the account can reach; sudo is on nearly every
//! host, writes as root, records pipes as well as terminals, and its logs replay as they are.
//!
//! An sftp-only account's sessions run jailed inside sshd, out of sudo's reach: there
//! `internal-sftp` itself logs each file operation to the system log ([`super::SftpJail`] with
//! `log`), and teardown collects the account's lines from it ([`Recording::collect_jail_log`])
//! into the grant's recordings.
//!
//! The set-up (the wrapper, the sudoers drop-in) goes at teardown and with the expiry guard;
//! the recordings stay until teardown has copied them to the admin machine, which then removes
//! them from the host (`engine::teardown`): evidence is never lost to the expiry.

use super::{Checks, Context, Step, sudo};
use crate::audit::Footprint;
use crate::ids::GrantId;
use crate::input::AccountName;
use crate::shell::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where recordings go on the host, one root-only directory a grant.
pub const DIR: &str = "/var/log/handover";

/// Where sftp servers live, by distribution: the first one there is the one recorded.
const SFTP_SERVERS: &[&str] = &[
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
    "/usr/libexec/sftp-server",
];

/// The oldest sudo that records: the first with `log_stdin` and `log_stdout`, which keep the
/// sftp protocol stream (the files' content) out of the recording while its log (stderr) stays.
const MIN_SUDO: &str = "1.9.8";

/// Collecting a jailed account's lines from the system log (`recording.sh`).
const JAIL_LOG: &str = include_str!("recording.sh");

/// Why an sftp-only account's transfers cannot be recorded.
const NO_SYSTEM_LOG: &str = "no system log to record an sftp-only account's file operations in (no /dev/log socket read back by journald or into /var/log/auth.log or /var/log/secure: Debian package `rsyslog`)";

/// `--record`: what provision does about recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordMode {
    /// Record what the host allows; say what it cannot.
    #[default]
    Auto,
    /// Refuse at preflight unless everything can be recorded.
    Require,
    /// Record nothing.
    Off,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    pub account: AccountName,
    /// `--record require`: preflight refuses what cannot be recorded.
    pub required: bool,
    /// The host's sftp server, found at preflight.
    #[serde(default)]
    pub sftp_server: String,
    /// Whether the host's sudo can keep passwords typed at a password prompt out of the
    /// recording (1.9.10 and later).
    #[serde(default)]
    pub mask_passwords: bool,
    /// An sftp-only account: its file operations are read back from the system log.
    #[serde(default)]
    pub jailed: bool,
    /// Where the system log is read back (`journal`, or a file such as `/var/log/auth.log`),
    /// found at preflight, for a jailed account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_log: String,
    /// Why nothing is recorded (`--record auto` on a host that cannot): the action then
    /// changes nothing and warns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_recorded: Option<String>,
}

impl Recording {
    pub fn new(account: &AccountName, required: bool) -> Recording {
        Recording {
            account: account.clone(),
            required,
            sftp_server: String::new(),
            mask_passwords: false,
            jailed: false,
            system_log: String::new(),
            not_recorded: None,
        }
    }

    /// The account's sftp file operations, as the system log has them, into the grant's
    /// recordings (`sftp-jail.log`), for teardown to copy: run before every copy. A header line
    /// says since when, from where and the host's zone (older syslog formats carry neither
    /// year nor zone). A shorter result never replaces a longer one: the log may have rotated.
    pub fn collect_jail_log(&self, s: &mut Script, grant: &GrantId, since: i64) {
        if !self.active() || !self.jailed {
            return;
        }
        let dir = Self::dir(grant);
        s.raw(JAIL_LOG);
        s.cmd(
            "if [ -d {} ]; then hv_jail_log {} {} {} {}; fi",
            &[&dir, &dir, self.account.as_str(), &since.to_string(), &self.system_log],
        );
    }

    /// Whether sessions are recorded.
    pub fn active(&self) -> bool {
        self.not_recorded.is_none()
    }

    /// The grant's recordings on the host.
    pub fn dir(grant: &GrantId) -> String {
        format!("{DIR}/{grant}")
    }

    /// The wrapper sshd runs for every login (readable by the account, which runs it).
    pub fn wrapper(grant: &GrantId) -> String {
        format!("/etc/ssh/handover-session-{grant}")
    }

    fn sudoers(grant: &GrantId) -> String {
        format!("/etc/sudoers.d/handover-{grant}-record")
    }

    /// Fill in what preflight found (`record_sudo`, `record_pwmask`, `record_sftp`); the reason recording
    /// cannot be done on this host, if any.
    pub fn fill(&mut self, facts: &BTreeMap<String, String>) -> Result<(), String> {
        if self.jailed {
            self.system_log = facts.get("record_syslog").cloned().unwrap_or_default();
            return if self.system_log.is_empty() {
                Err(NO_SYSTEM_LOG.to_owned())
            } else {
                Ok(())
            };
        }
        let sudo = facts.get("record_sudo").map_or("", String::as_str);
        self.sftp_server = facts.get("record_sftp").cloned().unwrap_or_default();
        self.mask_passwords = facts.get("record_pwmask").is_some_and(|v| v == "1");
        match (sudo, self.sftp_server.as_str()) {
            ("1", "") => Err("no sftp server program (Debian package `openssh-sftp-server`)".to_owned()),
            ("1", _) => Ok(()),
            _ => Err(match facts.get("record_sudo_version").filter(|v| !v.is_empty()) {
                // sudo 1.9.5 (Debian 11) refuses the sudoers drop-in: `log_stdin` is unknown.
                Some(version) => format!(
                    "recording needs sudo {MIN_SUDO} or later, which can leave an sftp session's file contents out of its recording; this host has sudo {version} (Debian 12 and later ship a newer `sudo`)"
                ),
                None => format!("sudo {MIN_SUDO} or later is missing (Debian package `sudo`)"),
            }),
        }
    }

    /// The sudoers drop-in: sudo records every session of the account, which may run its
    /// programs as itself without a password (that is all the wrapper asks of sudo).
    pub fn sudoers_content(&self, grant: &GrantId) -> String {
        let a = self.account.as_str();
        let dir = Self::dir(grant);
        // Keystrokes after a password prompt become `*` (the option's default logs them).
        let passwords = if self.mask_passwords {
            ", !log_passwords"
        } else {
            ""
        };
        format!(
            "# handover: every session of {a} is recorded in {dir}; removed by `handover teardown {grant}`\n\
             Defaults:{a} log_input, log_output, iolog_flush, !compress_io, iolog_dir={dir}/io, iolog_file=%{{seq}}, iolog_mode=0600, log_format=json, logfile={dir}/events.json, env_keep+=\"SSH_CONNECTION SSH_CLIENT\", !requiretty{passwords}\n\
             Defaults!{sftp} !log_stdin, !log_stdout\n\
             {a} ALL=({a}) NOPASSWD: ALL\n",
            sftp = self.sftp_server
        )
    }

    /// The wrapper: each kind of login under sudo, as the account itself.
    pub fn wrapper_content(&self, grant: &GrantId) -> String {
        let a = self.account.as_str();
        format!(
            "#!/bin/sh\n\
             # handover: every login of {a} runs under sudo, which records it in {dir}.\n\
             # Removed by `handover teardown {grant}`; do not edit.\n\
             case \"$SSH_ORIGINAL_COMMAND\" in\n\
             '') exec sudo -n -i -u {a} ;;\n\
             internal-sftp | */sftp-server*) exec sudo -n -u {a} -- {sftp} -e -l INFO ;;\n\
             *) exec sudo -n -u {a} -- \"${{SHELL:-/bin/sh}}\" -c \"$SSH_ORIGINAL_COMMAND\" ;;\n\
             esac\n",
            dir = Self::dir(grant),
            sftp = self.sftp_server
        )
    }
}

impl Step for Recording {
    fn footprint(&self, grant: &GrantId, _facts: &BTreeMap<String, String>, own: &mut Footprint) {
        if !self.active() {
            return;
        }
        own.tree(&Self::dir(grant));
        if self.jailed {
            return;
        }
        let sudoers = Self::sudoers(grant);
        own.path(&sudo::temp_file(&sudoers));
        own.path(&sudoers);
        own.path(&Self::wrapper(grant));
    }

    fn describe(&self) -> String {
        if let Some(why) = &self.not_recorded {
            return format!("sessions of `{}` are NOT recorded: {why}", self.account);
        }
        if self.jailed {
            return format!(
                "every file `{}` reads, writes, renames or removes over SFTP logged by sshd to the system log, out of its reach; its lines copied to you at teardown",
                self.account
            );
        }
        format!(
            "every session of `{}` recorded by sudo as root, out of its reach: its terminal (what was typed and shown), its commands' input and output, its sudo to root and its sftp file operations; copied to you at teardown",
            self.account
        )
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if self.jailed {
            // A log socket, and a place its lines can be read back from: the journal when
            // /dev/log is journald's, else the file syslog writes the `auth` facility to.
            s.raw(
                "hv_sl=''; hv_ls=$(readlink -f /dev/log 2>/dev/null); if [ -S \"$hv_ls\" ]; then if [ \"$hv_ls\" = /run/systemd/journal/dev-log ]; then if command -v journalctl >/dev/null 2>&1; then hv_sl=journal; fi; else for hv_f in /var/log/auth.log /var/log/secure; do if [ -z \"$hv_sl\" ] && [ -f \"$hv_f\" ]; then hv_sl=$hv_f; fi; done; fi; fi",
            );
            s.raw("hv_fact record_syslog \"$hv_sl\"");
            if self.required {
                let id = checks.add(
                    "record-syslog",
                    format!("{NO_SYSTEM_LOG}; or --record auto"),
                );
                s.cmd("hv_expect {} test -n \"$hv_sl\"", &[&id]);
            }
            return;
        }
        // What the host can record, as facts; with `require`, as checks that refuse.
        // sudo's version as one number: 1.9.13p3 is 10913.
        s.raw(
            "hv_sv=$(sudo -V 2>/dev/null | awk 'NR == 1 && $1 == \"Sudo\" && $2 == \"version\" { print $3 }'); hv_v=$(printf '%s\\n' \"$hv_sv\" | awk '{ split($1, v, \".\"); printf \"%d\", v[1] * 10000 + v[2] * 100 + v[3] }'); hv_v=${hv_v:-0}",
        );
        s.raw(
            "hv_sudo=0; if [ \"$hv_v\" -ge 10908 ] && command -v visudo >/dev/null 2>&1; then hv_sudo=1; fi",
        );
        s.raw("hv_pw=0; if [ \"$hv_v\" -ge 10910 ]; then hv_pw=1; fi");
        s.raw("hv_sftp=''");
        for path in SFTP_SERVERS.iter().rev() {
            s.cmd("if [ -x {} ]; then hv_sftp={}; fi", &[path, path]);
        }
        s.raw("hv_fact record_sudo \"$hv_sudo\"; hv_fact record_sudo_version \"$hv_sv\"; hv_fact record_pwmask \"$hv_pw\"; hv_fact record_sftp \"$hv_sftp\"");
        if self.required {
            let id = checks.add(
                "record-sudo",
                format!("sudo {MIN_SUDO} or later and visudo are installed, to record every session (Debian package `sudo`, Debian 12 or later; or --record auto)"),
            );
            s.cmd("hv_expect {} test \"$hv_sudo\" = 1", &[&id]);
            let id = checks.add(
                "record-sftp",
                "an sftp server program is installed, to record file transfers (Debian package `openssh-sftp-server`; or --record auto)",
            );
            s.cmd("hv_expect {} test -n \"$hv_sftp\"", &[&id]);
        }
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        if let Some(why) = &self.not_recorded {
            s.cmd(
                "hv_fact warning {}",
                &[&format!(
                    "the vendor's sessions are not recorded on this host: {why} (--record require refuses such a host)"
                )],
            );
            return;
        }
        let dir = Self::dir(ctx.grant);
        s.cmd("(umask 077 && mkdir -p -- {} && mkdir -- {})", &[DIR, &dir]);
        s.cmd("chown root:root -- {} {} && chmod 0700 -- {} {}", &[DIR, &dir, DIR, &dir]);
        if self.jailed {
            return;
        }
        let wrapper = Self::wrapper(ctx.grant);
        s.cmd(
            "printf '%s' {} > {} && chown root:root -- {} && chmod 0755 -- {}",
            &[&self.wrapper_content(ctx.grant), &wrapper, &wrapper, &wrapper],
        );
        sudo::install_dropin(s, &Self::sudoers(ctx.grant), &self.sudoers_content(ctx.grant));
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        if !self.active() || self.jailed {
            return;
        }
        // The recordings stay for teardown to copy: see the module doc.
        let sudoers = Self::sudoers(ctx.grant);
        s.cmd(
            "rm -f -- {} {} {}",
            &[&sudoers, &sudo::temp_file(&sudoers), &Self::wrapper(ctx.grant)],
        );
    }

    fn verify_present(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if !self.active() {
            return;
        }
        if !self.jailed {
            let sudoers = Self::sudoers(ctx.grant);
            let id = checks.add(
                "record-sudoers",
                format!("{sudoers} holds exactly the recording rules, root-owned, mode 0440"),
            );
            sudo::verify_dropin(s, &id, &sudoers, &self.sudoers_content(ctx.grant));
            let wrapper = Self::wrapper(ctx.grant);
            let id = checks.add(
                "record-wrapper",
                format!("{wrapper}, which sshd runs for every login, is root's and unchanged"),
            );
            s.cmd(
                "if [ \"$(cat -- {} 2>/dev/null)\" = \"$(printf '%s' {})\" ] && [ \"$(stat -c %U:%a -- {})\" = root:755 ]; then hv_ok {}; else hv_fail {}; fi",
                &[&wrapper, &self.wrapper_content(ctx.grant), &wrapper, &id, &id],
            );
        }
        let dir = Self::dir(ctx.grant);
        let id = checks.add(
            "record-dir",
            format!("{dir}, where the recordings go, is root's alone (0700)"),
        );
        s.cmd(
            "if [ \"$(stat -c %U:%a -- {} 2>/dev/null)\" = root:700 ]; then hv_ok {}; else hv_fail {}; fi",
            &[&dir, &id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        if !self.active() || self.jailed {
            return;
        }
        let sudoers = Self::sudoers(ctx.grant);
        let wrapper = Self::wrapper(ctx.grant);
        let id = checks.add(
            "record-setup-gone",
            format!("the recording set-up is gone ({sudoers}, {wrapper})"),
        );
        s.cmd(
            "if [ -e {} ] || [ -e {} ]; then hv_fail {}; else hv_ok {}; fi",
            &[&sudoers, &wrapper, &id, &id],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_host_lacks_is_named_with_its_package() {
        let account = AccountName::parse("--account", "support-ab12cd").expect("a name");
        let mut r = Recording::new(&account, false);
        let facts = |sudo: &str, sftp: &str| {
            BTreeMap::from([
                ("record_sudo".to_owned(), sudo.to_owned()),
                ("record_sftp".to_owned(), sftp.to_owned()),
                ("record_pwmask".to_owned(), "1".to_owned()),
            ])
        };
        assert!(r.fill(&facts("0", "/usr/lib/openssh/sftp-server")).unwrap_err().contains("`sudo`"));
        assert!(r.fill(&facts("1", "")).unwrap_err().contains("openssh-sftp-server"));
        assert!(r.fill(&facts("1", "/usr/lib/openssh/sftp-server")).is_ok());
        assert!(r.mask_passwords);
        let grant = GrantId::parse("20261204-ab12cd").expect("an id");
        let rules = r.sudoers_content(&grant);
        assert!(rules.contains("Defaults!/usr/lib/openssh/sftp-server !log_stdin, !log_stdout"));
        assert!(rules.contains("support-ab12cd ALL=(support-ab12cd) NOPASSWD: ALL"));
        assert!(rules.contains("!log_passwords"));
        // No program of a session is intercepted: what it leaves running keeps working.
        assert!(!rules.contains("log_subcmds"));
    }
}
