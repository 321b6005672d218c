//! The one safe way handover changes the SSH server: a drop-in in `/etc/ssh/sshd_config.d/`
//! that holds only `Match User <account>` blocks, installed so that sshd never loads a
//! configuration that did not pass `sshd -t` (DESIGN invariant 5: never lock the customer out).
//!
//! Install, as one step of the apply script:
//!
//! 1. record the account's effective settings for the keys the drop-in sets (`sshd -T -C`), so
//!    teardown can check they are back to exactly what they were;
//! 2. write the fragment under a hidden temporary name that no `Include` glob matches
//!    (`glob(3)` never matches a leading `.`), and validate the whole configuration with it:
//!    `sshd -t -f` on a throw-away main file that includes the fragment and then the real
//!    `sshd_config` (the order sshd reads them in once it is in place);
//! 3. move it into place atomically (a hard link, which never replaces an existing file, then
//!    the temporary name is removed) and validate again with plain `sshd -t`;
//! 4. confirm with `sshd -T -C user=…,addr=…` that the settings take effect for the account (a
//!    Match block read earlier would win, since sshd keeps the first value it obtains);
//! 5. only then reload sshd (systemd unit, else SIGHUP to the pid in its `PidFile`) and wait
//!    until it has rewritten its pid file, which it does once it listens again.
//!
//! A failure at 2–4 removes the fragment again before sshd ever reloads, prints sshd's own
//! complaint on stderr and fails the step; the engine then rolls back. Removal checks that the
//! file carries the grant's mark, validates with `sshd -t` and reloads only a valid
//! configuration.
//!
//! Both actions that touch sshd ([`super::SshdMatch`], [`super::SftpJail`]) use this module.
//! It is public so the integration tests can run the shell helper directly on a test host.

use super::{Checks, require_tools};
use crate::shell::Script;
use std::collections::BTreeMap;

/// Where drop-ins live; Debian's `sshd_config` includes `sshd_config.d/*.conf` at its top.
pub const DIR: &str = "/etc/ssh/sshd_config.d";

/// The drop-in file for `name` (`00-handover-NAME.conf`). sshd reads the files of an `Include`
/// glob in lexical order and keeps the first value it obtains, also among Match blocks, so the
/// `00-` prefix puts ours ahead of the usual `NN-name.conf` drop-ins (cloud-init's `50-`,
/// Ubuntu's `60-`) and of every Match block in `sshd_config` after its `Include` line.
/// Precedence is not assumed: install checks the effective settings with `sshd -T -C`.
pub fn path_for(name: &str) -> String {
    format!("{DIR}/00-handover-{name}.conf")
}

/// The temporary name of a drop-in while it is checked: hidden, so no glob includes it.
fn tmp_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/.{file}.tmp"),
        None => format!(".{path}.tmp"),
    }
}

/// What `sshd -T` must show for a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The keyword's value is exactly this (`allowtcpforwarding no`).
    Is(&'static str, String),
    /// The keyword's value list contains this word (`denyusers … NAME …`).
    Lists(&'static str, String),
    /// The keyword's value list does not contain this word.
    NotLists(&'static str, String),
}

/// One `sshd -T -C user=ACCOUNT,host=ADDR,addr=ADDR` query and what it must show.
#[derive(Clone, Debug)]
pub struct Probe {
    pub addr: String,
    pub expect: Vec<Expect>,
}

/// A drop-in owned by one grant.
#[derive(Clone, Debug)]
pub struct DropIn {
    /// Absolute path in [`DIR`].
    pub path: String,
    /// The account the Match blocks are for (validated name).
    pub account: String,
    /// The first line of the file; removal deletes only a file that starts with it.
    pub mark: String,
    /// The whole file, starting with `mark`.
    pub content: String,
    /// `sshd -T` keywords (lower case) the drop-in sets: recorded before install, and compared
    /// with that record after removal.
    pub keys: Vec<&'static str>,
    pub probes: Vec<Probe>,
}

/// The shell functions the helper's text calls (`sshd_dropin.sh`).
const FUNCS: &str = include_str!("sshd_dropin.sh");

/// Define the helper's shell functions (idempotent: redefining is harmless).
pub fn functions(s: &mut Script) {
    s.raw(FUNCS);
}

/// Preflight checks shared by every action with a drop-in: nothing changes on the host.
pub fn preflight(s: &mut Script, checks: &mut Checks, path: &str) {
    functions(s);
    require_tools(
        s,
        checks,
        &[
            ("sshd", "openssh-server"),
            ("awk", "mawk"),
            ("mktemp", "coreutils"),
        ],
    );
    let id = checks.add(
        "sshd-valid",
        "`sshd -t` accepts the current SSH server configuration (handover never reloads a configuration that sshd refuses)",
    );
    s.cmd("hv_sshd_valid {}", &[&id]);
    // handover never edits the main sshd_config (the file whose mistake locks everyone out,
    // and which the package manager and configuration management own): without the Include
    // line it refuses and names the line to add.
    let id = checks.add(
        "sshd-include",
        format!(
            "/etc/ssh/sshd_config includes {DIR}/*.conf before any Match block (add the line `Include {DIR}/*.conf` at the top of /etc/ssh/sshd_config)"
        ),
    );
    s.cmd(
        "hv_expect {} hv_sshd_included {} /etc/ssh/sshd_config",
        &[&id, DIR],
    );
    let id = checks.add(
        "sshd-dropin-dir",
        format!("{DIR} is a directory (create it: `mkdir -m 0755 {DIR}`)"),
    );
    s.cmd("hv_expect {} test -d {}", &[&id, DIR]);
    let id = checks.add("dropin-absent", format!("{path} does not exist yet"));
    s.cmd(
        "hv_refute {} test -e {} -o -L {} -o -e {}",
        &[&id, path, path, &tmp_path(path)],
    );
    let id = checks.add(
        "sshd-reload",
        "sshd can be reloaded: an active ssh or sshd systemd unit, or a running sshd in its pid file",
    );
    s.cmd(
        "if hv_sshd_unit >/dev/null || hv_sshd_pid >/dev/null; then hv_ok {}; else hv_fail {}; fi",
        &[&id, &id],
    );
}

/// Lines that print one line per unmet expectation of `probe` (nothing when all are met).
fn expectations(s: &mut Script, account: &str, probe: &Probe) {
    let spec = format!("user={account},host={a},addr={a}", a = probe.addr);
    let mut keys: Vec<&str> = probe
        .expect
        .iter()
        .map(|e| match e {
            Expect::Is(key, _) | Expect::Lists(key, _) | Expect::NotLists(key, _) => *key,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    s.cmd("hv_sshd_probe {} {}", &[&spec, &keys.join(" ")]);
    for expect in &probe.expect {
        match expect {
            Expect::Is(key, value) => s.cmd("hv_sshd_want_is {} {}", &[key, value]),
            Expect::Lists(key, word) => s.cmd("hv_sshd_want_lists {} {}", &[key, word]),
            Expect::NotLists(key, word) => s.cmd("hv_sshd_want_not_lists {} {}", &[key, word]),
        };
    }
}

/// The fact that holds the account's settings before install, as seen from probe `index`.
fn before_fact(index: usize) -> String {
    format!("sshd_before_{index}")
}

/// Install `d` (apply-step text, run under `set -e`); see the module documentation.
pub fn install(s: &mut Script, d: &DropIn) {
    functions(s);
    let keys = d.keys.join(" ");
    for (index, probe) in d.probes.iter().enumerate() {
        s.cmd(
            "hv_fact {} \"$(hv_sshd_keys {} {} {})\"",
            &[&before_fact(index), &d.account, &probe.addr, &keys],
        );
    }
    s.cmd(
        "hv_dropin_write {} {} {} || exit 1",
        &[&d.path, &tmp_path(&d.path), &d.content],
    );
    s.raw("hv_bad=$(");
    for probe in &d.probes {
        expectations(s, &d.account, probe);
    }
    s.raw(")");
    s.cmd(
        "if [ -n \"$hv_bad\" ]; then rm -f -- {}; printf 'handover: the settings of %s do not take effect (a Match block that sshd reads earlier wins), so it was removed again and sshd was not reloaded:\\n%s\\n' {} \"$hv_bad\" >&2; exit 1; fi",
        &[&d.path, &d.path],
    );
    s.raw("hv_fact sshd_loaded 1");
    s.cmd(
        "if ! hv_sshd_reload; then rm -f -- {}; hv_sshd_test >/dev/null && hv_sshd_reload || true; exit 1; fi",
        &[&d.path],
    );
}

/// Remove `d` (undo-step text): only a file carrying the mark; then `sshd -t` and a reload,
/// if something was removed or the record says sshd loaded it. Idempotent: nothing to remove
/// and never loaded is success without touching sshd. A failure does not stop the step, so
/// the caller can finish its own cleanup; it must end with [`fail_if_remove_failed`].
pub fn remove(s: &mut Script, d: &DropIn, facts: &BTreeMap<String, String>) {
    functions(s);
    let loaded = if facts.contains_key("sshd_loaded") {
        "1"
    } else {
        ""
    };
    s.raw("hv_dropin_failed=");
    s.cmd(
        "hv_dropin_remove {} {} {} {} || hv_dropin_failed=1",
        &[&d.path, &tmp_path(&d.path), &d.mark, loaded],
    );
}

/// Fail the step if [`remove`] failed.
pub fn fail_if_remove_failed(s: &mut Script) {
    s.raw("if [ -n \"$hv_dropin_failed\" ]; then exit 1; fi");
}

/// Checks that `d` is in place, in effect for the account, and loaded by the running sshd.
pub fn verify_present(s: &mut Script, checks: &mut Checks, d: &DropIn) {
    functions(s);
    let id = checks.add("dropin", format!("{} is in place", d.path));
    s.cmd(
        "hv_expect {} test \"$(head -n 1 -- {} 2>/dev/null)\" = {}",
        &[&id, &d.path, &d.mark],
    );
    for (index, probe) in d.probes.iter().enumerate() {
        let id = checks.add(
            &format!("sshd-effective-{index}"),
            format!(
                "sshd applies it to `{}` connecting from {}",
                d.account, probe.addr
            ),
        );
        s.raw("{");
        expectations(s, &d.account, probe);
        s.cmd("}} | hv_report {}", &[&id]);
    }
    let id = checks.add(
        "sshd-loaded",
        "the running sshd was reloaded after the drop-in was written",
    );
    s.cmd("hv_sshd_loaded_since {} {}", &[&d.path, &id]);
}

/// Checks that `d` is gone, that `sshd -t` passes, that the account's settings are what they
/// were before install, and that the running sshd was reloaded since.
pub fn verify_absent(
    s: &mut Script,
    checks: &mut Checks,
    d: &DropIn,
    facts: &BTreeMap<String, String>,
) {
    functions(s);
    let id = checks.add("dropin", format!("{} is gone", d.path));
    s.cmd(
        "hv_refute {} test -e {} -o -L {} -o -e {}",
        &[&id, &d.path, &d.path, &tmp_path(&d.path)],
    );
    let id = checks.add(
        "sshd-valid",
        "`sshd -t` accepts the SSH server configuration",
    );
    s.cmd("hv_sshd_valid {}", &[&id]);
    for (index, probe) in d.probes.iter().enumerate() {
        let Some(before) = facts.get(&before_fact(index)) else {
            // Never recorded: install stopped before writing anything.
            continue;
        };
        let id = checks.add(
            &format!("sshd-restored-{index}"),
            format!(
                "sshd's settings for `{}` connecting from {} are as before the grant",
                d.account, probe.addr
            ),
        );
        s.cmd(
            "hv_now=$(hv_sshd_keys {} {} {})",
            &[&d.account, &probe.addr, &d.keys.join(" ")],
        );
        s.cmd(
            "if [ \"$hv_now\" = {} ]; then hv_ok {}; else hv_fail {}; printf 'now:    %s\\nbefore: %s\\n' \"$hv_now\" {} | tr ';' ' ' | hv_detail {}; fi",
            &[before, &id, &id, before, &id],
        );
    }
    if facts.contains_key("sshd_loaded") {
        let id = checks.add(
            "sshd-reloaded",
            "the running sshd was reloaded after the drop-in was removed",
        );
        s.cmd("hv_sshd_loaded_since {} {}", &[DIR, &id]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, Context, SftpJail, SshdMatch, Step};
    use crate::ids::GrantId;
    use crate::input::{AccountName, AllowFrom};
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn run_sh(args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = Command::new("/bin/sh")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run /bin/sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("sh output")
    }

    #[test]
    fn every_phase_of_both_actions_is_valid_sh() {
        let grant = GrantId::parse("20261123-k3m9qz").expect("id");
        let account = AccountName::parse("--account", "support-abc123").expect("name");
        let mut facts = BTreeMap::new();
        facts.insert("sshd_before_0".to_owned(), "x11forwarding yes;".to_owned());
        facts.insert("sshd_loaded".to_owned(), "1".to_owned());
        let ctx = Context::for_test(&grant, &account, &facts);
        let allow = AllowFrom::parse_all(&["203.0.113.0/24".into()]).expect("allow");
        for action in [
            Action::SshdMatch(SshdMatch::new(&account, &[])),
            Action::SshdMatch(SshdMatch::new(&account, &allow)),
            Action::SftpJail(SftpJail::new(&account, "/var/www/it's cms")),
        ] {
            let mut s = Script::new();
            let mut checks = Checks::default();
            action.preflight(&ctx, &mut s, &mut checks);
            s.step(0, crate::shell::OnStepFailure::Stop, |s| {
                action.apply(&ctx, s)
            });
            s.step(1, crate::shell::OnStepFailure::Continue, |s| {
                action.undo(&ctx, s)
            });
            action.verify_present(&ctx, &mut s, &mut checks);
            action.verify_absent(&ctx, &mut s, &mut checks);
            let out = run_sh(&["-n"], s.text());
            assert!(
                out.status.success(),
                "{}: {}\n{}",
                action.kind(),
                String::from_utf8_lossy(&out.stderr),
                s.text()
            );
        }
    }

    #[test]
    fn include_check_finds_the_drop_in_directory_before_any_match() {
        let program = format!("{FUNCS}\nhv_sshd_included \"$1\" /dev/stdin");
        let included = |config: &str| {
            run_sh(&["-c", &program, "sh", DIR], config)
                .status
                .success()
        };
        assert!(included("Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n"));
        assert!(included("# comment\n  include sshd_config.d/*.conf\n"));
        assert!(included("Include=/etc/ssh/sshd_config.d/*\n"));
        assert!(included(
            "Port 22\nInclude /etc/other.conf /etc/ssh/sshd_config.d/*.conf\nMatch User x\n"
        ));
        assert!(!included("#Include /etc/ssh/sshd_config.d/*.conf\n"));
        assert!(!included("Port 22\n"));
        assert!(!included(
            "Match User x\nInclude /etc/ssh/sshd_config.d/*.conf\n"
        ));
        assert!(!included("Include /etc/ssh/sshd_config.d/50-*.conf\n"));
    }

    #[test]
    fn temporary_name_is_hidden_and_not_a_conf() {
        assert_eq!(
            tmp_path("/etc/ssh/sshd_config.d/00-handover-x.conf"),
            "/etc/ssh/sshd_config.d/.00-handover-x.conf.tmp"
        );
    }
}
