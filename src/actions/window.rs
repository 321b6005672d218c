//! The processes of the window: those of every login opened during it as the temporary account
//! or a lent account, whatever user they run as (a root shell through `sudo` keeps the login's
//! uid). Teardown and the expiry guard end them, naming each, but leave a system service's
//! running, named with how to restart it (`window.sh`).

use crate::shell::Script;
use serde::Serialize;
use std::collections::BTreeMap;

/// The functions (`window.sh`): defined at teardown's top level by each action that ends the
/// window's processes, before any step.
pub(super) const LIB: &str = include_str!("window.sh");

/// Which sessions are the window's, as `hv_window_pids` takes them after the login uid: every
/// one of an account created for the window, or those after the provisioning login's.
pub(super) enum Since<'a> {
    /// Every session (`any` boot).
    Always,
    /// Sessions after `session` in boot `boot` (after a reboot, all of them; none in that boot
    /// when `session` is '', a host that keeps no audit sessions).
    Session { boot: &'a str, session: &'a str },
}

impl<'a> Since<'a> {
    /// The window's start as apply recorded it ([`record_start`]); `None` before it did, or
    /// when the host records no login uids (nothing can be told apart).
    pub(super) fn recorded(facts: &'a BTreeMap<String, String>) -> Option<Since<'a>> {
        let boot = facts.get("boot")?;
        if logins_unrecorded(facts) {
            return None;
        }
        let session = match facts.get("session") {
            Some(id) if id.parse::<u32>().is_ok_and(|id| id != u32::MAX) => id.as_str(),
            _ => "",
        };
        Some(Since::Session { boot, session })
    }

    /// Set `hv_wb` and `hv_ws`, the BOOT and SESSION arguments of the shell functions.
    pub(super) fn set_args(&self, s: &mut Script) {
        let (boot, session) = match self {
            Since::Always => ("any", ""),
            Since::Session { boot, session } => (*boot, *session),
        };
        s.cmd("hv_wb={}; hv_ws={}", &[boot, session]);
    }
}

/// Record when the window begins, in apply (facts `session` and `boot`): the audit session id
/// of the provisioning login (the kernel numbers login sessions in order since boot, so later
/// logins have higher ids), and the boot, since the numbering starts again at a reboot. Without
/// pam_loginuid the window's sessions cannot be told from others: fact `logins unrecorded`, and
/// `warning` for the customer now.
pub(super) fn record_start(s: &mut Script, warning: &str) {
    s.raw("hv_fact session \"$(cat /proc/self/sessionid 2>/dev/null || true)\"");
    s.raw("hv_fact boot \"$(cat /proc/sys/kernel/random/boot_id)\"");
    // pam_loginuid gives the login the uid it logged in as (sudo keeps it).
    s.raw("if [ \"$(cat /proc/self/loginuid 2>/dev/null || true)\" != \"${HV_SUDO_UID:-$(id -u)}\" ]; then");
    s.raw("  hv_fact logins unrecorded");
    s.cmd("  hv_fact warning {}", &[warning]);
    s.raw("fi");
}

/// Whether apply found that the host's logins get no login uid (no pam_loginuid).
pub(super) fn logins_unrecorded(facts: &BTreeMap<String, String>) -> bool {
    facts.get("logins").is_some_and(|l| l == "unrecorded")
}

/// A process of the window, as teardown found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WindowProcess {
    pub pid: u32,
    /// The user it ran as.
    pub user: String,
    pub command: String,
    /// Its sockets: `tcp ESTAB 10.0.0.2:40022 -> 203.0.113.9:4444`, `tcp LISTEN 0.0.0.0:5555`.
    pub sockets: Vec<String>,
    /// For a system service left running: how to restart it cleanly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
}

impl WindowProcess {
    /// Read a note of `hv_window_close`: `PID<TAB>USER<TAB>COMMAND<TAB>SOCKETS[<TAB>RESTART]`.
    pub fn parse(note: &str) -> Option<WindowProcess> {
        let mut fields = note.split('\t');
        let pid = fields.next()?.trim().parse().ok()?;
        let user = fields.next()?.to_owned();
        let command = fields.next()?.to_owned();
        let sockets = fields
            .next()
            .unwrap_or("")
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let restart = fields.next().filter(|r| !r.is_empty()).map(str::to_owned);
        Some(WindowProcess {
            pid,
            user,
            command,
            sockets,
            restart,
        })
    }

    /// One line for humans.
    pub fn text(&self) -> String {
        let mut text = format!("pid {} ({}): {}", self.pid, self.user, self.command);
        if !self.sockets.is_empty() {
            text.push_str(&format!(" [{}]", self.sockets.join(", ")));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_become_processes() {
        let p = WindowProcess::parse(
            "4242\troot\tbash -c exec 3<>/dev/tcp/10.201.1.2/7777; sleep 600\ttcp ESTAB 10.201.2.1:40022 -> 10.201.1.2:7777, tcp LISTEN 0.0.0.0:5555",
        )
        .expect("parsed");
        assert_eq!(p.pid, 4242);
        assert_eq!(p.user, "root");
        assert_eq!(p.sockets.len(), 2);
        assert_eq!(p.restart, None);
        assert_eq!(
            p.text(),
            "pid 4242 (root): bash -c exec 3<>/dev/tcp/10.201.1.2/7777; sleep 600 [tcp ESTAB 10.201.2.1:40022 -> 10.201.1.2:7777, tcp LISTEN 0.0.0.0:5555]"
        );
        let s =
            WindowProcess::parse("77\troot\t/usr/sbin/atd\t\tservice atd restart").expect("parsed");
        assert!(s.sockets.is_empty());
        assert_eq!(s.restart.as_deref(), Some("service atd restart"));
        assert_eq!(WindowProcess::parse("x\troot\tcmd"), None);
    }
}
