//! One SSH connection to one host, and running scripts on it as root.

use super::client::{Client, handshake};
use super::jump::Jump;
use super::known_hosts::HostKeyPolicy;
use super::{AuthOptions, SshError};
use crate::input::Target;
use crate::secret::Secret;
use crate::shell::Script;
use russh::client::Handle;
use russh::keys::PublicKey;
use russh::{ChannelMsg, Disconnect};

use std::time::Duration;
use zeroize::Zeroizing;

/// How scripts get root on the host.
#[derive(Clone, Debug)]
pub enum Elevation {
    /// The login is root already.
    None,
    /// `sudo`, with a password when one is known (`--become`).
    Sudo { password: Option<Secret> },
}

/// What a remote script printed, and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    /// Standard output lines after handover's start marker (anything the login's rc files
    /// print before it is dropped).
    pub lines: Vec<String>,
    pub stderr: String,
    /// `None` when the remote side sent no exit status (killed by a signal).
    pub exit_status: Option<u32>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

/// Largest stdout or stderr kept from one remote run; more is dropped (with a note).
const OUTPUT_LIMIT: usize = 8 * 1024 * 1024;

/// Marker lines of the exec wrapper (see [`Session::wrapper`]).
const SUDO_BEGIN: &str = "#handover-begin";

/// An authenticated SSH connection.
pub struct Session {
    handle: Handle<Client>,
    target: Target,
    host_key: PublicKey,
    /// The jump hosts' connections, first jump first: the target's connection runs over a
    /// channel of the last one, so they live as long as the session.
    jump_handles: Vec<Handle<Client>>,
    jump_keys: Vec<PublicKey>,
    elevation: Elevation,
    /// Number of remote executions so far (the benchmark holds provision and teardown to a few).
    /// Atomic: independent scripts may run at once, each on its own channel.
    executions: std::sync::atomic::AtomicUsize,
}

impl Session {
    /// Connect through `jumps` (first jump first, none for a direct connection), verify each
    /// host key under its policy, and authenticate as each hop's login: each jump host is
    /// authenticated, then the target is reached over a `direct-tcpip` channel of the last
    /// jump.
    pub async fn connect_via(
        jumps: &[Jump],
        target: &Target,
        policy: HostKeyPolicy,
        auth: &AuthOptions,
        become_root: bool,
        become_password: Option<Secret>,
        connect_timeout: Duration,
    ) -> Result<Session, SshError> {
        let mut jump_handles: Vec<Handle<Client>> = Vec::new();
        let mut jump_keys = Vec::new();
        for jump in jumps {
            let via = jump_handles.last().zip(
                jumps
                    .get(jump_handles.len().wrapping_sub(1))
                    .map(|j| &j.target),
            );
            let transport = super::jump::transport(via, &jump.target).await?;
            let (mut handle, key) = handshake(
                &jump.target,
                jump.policy.clone(),
                connect_timeout,
                transport,
            )
            .await?;
            jump.auth
                .authenticate(&mut handle, &jump.target.login, &jump.target.host)
                .await?;
            tracing::info!(jump = %jump.target, "connected to jump host");
            jump_handles.push(handle);
            jump_keys.push(key);
        }
        let via = jump_handles.last().zip(jumps.last().map(|j| &j.target));
        let transport = super::jump::transport(via, target).await?;
        let (mut handle, host_key) = handshake(target, policy, connect_timeout, transport).await?;

        let login_password = auth
            .authenticate(&mut handle, &target.login, &target.host)
            .await?;
        let elevation = if become_root {
            Elevation::Sudo {
                password: become_password.or(login_password),
            }
        } else {
            Elevation::None
        };
        Ok(Session {
            handle,
            target: target.clone(),
            host_key,
            jump_handles,
            jump_keys,
            elevation,
            executions: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// The host keys of the jump hosts, first jump first.
    pub fn jump_keys(&self) -> &[PublicKey] {
        &self.jump_keys
    }

    pub fn host_key(&self) -> &PublicKey {
        &self.host_key
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Remote executions so far on this connection.
    pub fn executions(&self) -> usize {
        self.executions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether sudo is used and a password is known for it.
    pub fn needs_become_password(&self) -> bool {
        matches!(self.elevation, Elevation::Sudo { password: None })
    }

    /// Give sudo a password after it said it needs one.
    pub fn set_become_password(&mut self, password: Secret) {
        self.elevation = Elevation::Sudo {
            password: Some(password),
        };
    }

    /// The exec request and the stdin prefix that run `sh -s` as root with a clean environment.
    ///
    /// The login shell (maybe not sh) only sees one simple command. The inner `sh` prints a
    /// per-run marker first, so output of the login's rc files is told apart, and a missing
    /// marker means sudo refused. With sudo the password travels as stdin's first line (`-S`);
    /// when sudo needs none (NOPASSWD) that line reaches the inner `sh`, which discards
    /// everything up to the begin marker before reading the script. The begin marker is sent
    /// twice: a wrong password makes sudo read up to three lines, and they must be markers,
    /// never the script.
    ///
    /// Nothing is looked up on the login's PATH, which may start with `/usr/local/bin` (where
    /// the lent account could plant a `sudo` reading the password): sudo by its full path, the
    /// script with system directories only.
    ///
    /// With `script_len` (a script followed by data on stdin) the shell must not read past the
    /// script, which `sh -s` does (dash reads its input in blocks): see [`clean_sh`].
    fn wrapper(&self, nonce: &str, script_len: Option<usize>) -> (String, Zeroizing<Vec<u8>>) {
        let clean_sh = clean_sh(script_len);
        // `/bin/sh -c SUDO sh ARGS…` runs the first sudo of these that exists with ARGS.
        const SUDO: &str = "for s in /usr/bin/sudo /bin/sudo; do if [ -x \"$s\" ]; then exec \"$s\" \"$@\"; fi; done; echo \"handover: no sudo at /usr/bin/sudo or /bin/sudo\" >&2; exit 127";
        let inner_plain = format!("printf '%s\\n' @@handover-{nonce}; {clean_sh}");
        let inner_sudo = format!(
            "printf '%s\\n' @@handover-{nonce}; while IFS= read -r l; do [ \"$l\" = '{SUDO_BEGIN}' ] && break; done; {clean_sh}"
        );
        let quote = crate::shell::quote;
        let mut prefix = Zeroizing::new(Vec::new());
        let command = match &self.elevation {
            Elevation::None => format!("/bin/sh -c {}", quote(&inner_plain)),
            Elevation::Sudo { password: None } => {
                prefix.extend_from_slice(format!("{SUDO_BEGIN}\n").as_bytes());
                format!(
                    "/bin/sh -c {} sh -n -- /bin/sh -c {}",
                    quote(SUDO),
                    quote(&inner_sudo)
                )
            }
            Elevation::Sudo {
                password: Some(password),
            } => {
                prefix.extend_from_slice(password.expose().as_bytes());
                prefix.extend_from_slice(format!("\n{SUDO_BEGIN}\n{SUDO_BEGIN}\n").as_bytes());
                format!(
                    "/bin/sh -c {} sh -k -S -p '' -- /bin/sh -c {}",
                    quote(SUDO),
                    quote(&inner_sudo)
                )
            }
        };
        (command, prefix)
    }

    /// Run `script` as root. `on_line` sees each stdout line as it arrives (the engine journals
    /// step progress from it). Fails only when the script could not be run; a non-zero exit
    /// status is the caller's to judge.
    pub async fn run(
        &self,
        script: &Script,
        mut on_line: impl FnMut(&str),
    ) -> Result<Output, SshError> {
        let mut lines = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut stdout_len = 0usize;
        let mut take = |line: &[u8], lines: &mut Vec<String>| {
            let line = String::from_utf8_lossy(line);
            let line = line.trim_end_matches('\r');
            on_line(line);
            lines.push(line.to_owned());
        };
        let (mut output, _) = self
            .exec(script, None, |data| {
                stdout_len += data.len();
                if stdout_len <= OUTPUT_LIMIT {
                    pending.extend_from_slice(data);
                    while let Some(at) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=at).collect();
                        take(&line[..line.len() - 1], &mut lines);
                    }
                }
                Ok(())
            })
            .await?;
        if !pending.is_empty() {
            take(&pending, &mut lines);
        }
        output.lines = lines;
        Ok(output)
    }

    /// Run `script` as root, its standard output (after the start marker) going to `sink` as
    /// it arrives, bytes as they are: a stream of any size, never held in memory. The first
    /// error `sink` returns is given back (the rest of the output is then dropped).
    pub async fn run_stream(
        &self,
        script: &Script,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(Output, Option<std::io::Error>), SshError> {
        self.exec(script, None, |data| sink(data)).await
    }

    /// Run `script` as root with `input`'s bytes on its standard input after the script (a
    /// stream of any size, read as it is sent: `tar --extract`, a database client loading a
    /// dump). Standard output comes as lines, as with [`Session::run`] (up to the same limit).
    pub async fn run_feed(
        &self,
        script: &Script,
        input: &mut (dyn std::io::Read + Send),
        mut on_line: impl FnMut(&str),
    ) -> Result<Output, SshError> {
        let mut pending: Vec<u8> = Vec::new();
        let (mut output, failed) = self
            .exec(script, Some(input), |data| {
                if pending.len() + data.len() <= OUTPUT_LIMIT {
                    pending.extend_from_slice(data);
                }
                Ok(())
            })
            .await?;
        if let Some(e) = failed {
            output
                .stderr
                .push_str(&format!("\nhandover: reading the input failed: {e}"));
        }
        let text = String::from_utf8_lossy(&pending);
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            on_line(line);
            output.lines.push(line.to_owned());
        }
        Ok(output)
    }

    /// Run `script` as root, with `input` after it on stdin if given: `stdout` gets every
    /// byte after the wrapper's start marker; the output holds stderr and the exit status (no
    /// lines), and the first error `stdout` (or reading `input`) gave.
    async fn exec(
        &self,
        script: &Script,
        input: Option<&mut (dyn std::io::Read + Send)>,
        mut stdout: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(Output, Option<std::io::Error>), SshError> {
        let host = self.target.host.clone();
        let lost = || SshError::ConnectionLost { host: host.clone() };
        let protocol = |source| SshError::Protocol {
            host: host.clone(),
            source,
        };
        let nonce = crate::secret::random_lower_alnum(12);
        let marker = format!("@@handover-{nonce}");
        let script_parts = framed(script.text());
        let script_len = script_parts.iter().map(|p| p.len()).sum();
        let (command, prefix) = self.wrapper(&nonce, input.as_ref().map(|_| script_len));
        tracing::debug!(
            host = %self.target.host,
            "remote script:\n{}",
            crate::text::sanitize(script.log_text())
        );
        let execution = self
            .executions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        crate::failpoint::hit("before-exec", execution);

        let channel = self.handle.channel_open_session().await.map_err(protocol)?;
        channel.exec(true, command).await.map_err(protocol)?;
        let (mut reader, writer) = channel.split();
        let mut read_failed: Option<std::io::Error> = None;
        let send = async {
            writer.data(&prefix[..]).await?;
            for part in script_parts {
                writer.data(part).await?;
            }
            if let Some(input) = input {
                loop {
                    // Owned buffers go out as whole packets; `data(&[u8])` would copy
                    // them through an 8 KiB buffer into packets of that size.
                    let mut buf = vec![0u8; 256 * 1024];
                    match input.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            buf.truncate(n);
                            writer.data_bytes(buf).await?;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            read_failed = Some(e);
                            break;
                        }
                    }
                }
            }
            writer.eof().await
        };
        let receive = async {
            let mut out = Output::default();
            let mut failed: Option<std::io::Error> = None;
            // Before the marker: lines the login's rc files printed, dropped.
            let mut before: Vec<u8> = Vec::new();
            let mut started = false;
            let mut deliver = |data: &[u8], failed: &mut Option<std::io::Error>| {
                if failed.is_none()
                    && let Err(e) = stdout(data)
                {
                    *failed = Some(e);
                }
            };
            while let Some(message) = reader.wait().await {
                match message {
                    ChannelMsg::Data { data } if started => deliver(&data, &mut failed),
                    ChannelMsg::Data { data } => {
                        before.extend_from_slice(&data);
                        while let Some(at) = before.iter().position(|b| *b == b'\n') {
                            let line: Vec<u8> = before.drain(..=at).collect();
                            let line = String::from_utf8_lossy(&line[..line.len() - 1]);
                            if line.trim_end_matches('\r') == marker {
                                started = true;
                                break;
                            }
                        }
                        if started {
                            let rest = std::mem::take(&mut before);
                            if !rest.is_empty() {
                                deliver(&rest, &mut failed);
                            }
                        } else if before.len() > OUTPUT_LIMIT {
                            before.clear();
                        }
                    }
                    ChannelMsg::ExtendedData { data, .. } if out.stderr.len() < OUTPUT_LIMIT => {
                        out.stderr.push_str(&String::from_utf8_lossy(&data));
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
                    _ => {}
                }
            }
            (out, started, failed)
        };
        let (sent, (output, started, failed)) = tokio::join!(send, receive);
        if let Err(e) = sent {
            tracing::debug!("sending the script failed: {e}");
        }
        if self.handle.is_closed() && output.exit_status.is_none() {
            return Err(lost());
        }
        if !started {
            return Err(self.explain_missing_marker(&output));
        }
        crate::failpoint::hit("after-exec", execution);
        Ok((output, failed.or(read_failed)))
    }

    /// The wrapper's marker never came: sudo refused, or the shell could not start.
    fn explain_missing_marker(&self, output: &Output) -> SshError {
        let host = self.target.host.clone();
        let stderr = crate::text::sanitize(output.stderr.trim());
        let reason = match &self.elevation {
            Elevation::None => {
                return SshError::Sudo {
                    host,
                    reason: format!("was not used, and /bin/sh could not be started: {stderr}"),
                };
            }
            Elevation::Sudo { .. } if stderr.contains("password is required") => {
                return SshError::SudoPasswordRequired { host };
            }
            Elevation::Sudo { .. } if stderr.contains("incorrect password") => {
                "refused the password: check HANDOVER_BECOME_PASSWORD or the login password"
                    .to_owned()
            }
            Elevation::Sudo { .. }
                if stderr.contains("not in the sudoers")
                    || stderr.contains("not allowed")
                    || stderr.contains("may not run sudo") =>
            {
                format!("does not let `{}` run commands as root", self.target.login)
            }
            Elevation::Sudo { .. } if stderr.contains("handover: no sudo") => {
                "is not installed (neither /usr/bin/sudo nor /bin/sudo exists): install the Debian package `sudo`, or log in as root without --become".to_owned()
            }
            Elevation::Sudo { .. } => format!("failed: {stderr}"),
        };
        SshError::Sudo { host, reason }
    }

    /// Close the connection politely.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        for jump in self.jump_handles.iter().rev() {
            let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
        }
    }
}

/// The root shell that reads the script: `sh -s` on the rest of stdin, or, with `script_len`,
/// a shell that evaluates exactly that many bytes of it, so what follows is the script's own
/// stdin. `dd` with one block of that size and `iflag=fullblock` never asks for more than is
/// left; a `dd` without `iflag` reads a byte at a time (a second per megabyte of script).
fn clean_sh(script_len: Option<usize>) -> String {
    // HV_SUDO_UID: who logged in, for a script run through sudo (`env -i` drops SUDO_UID).
    const ENV: &str = "exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HV_SUDO_UID=\"${SUDO_UID:-}\"";
    match script_len {
        None => format!("{ENV} /bin/sh -s"),
        Some(len) => format!(
            "{ENV} /bin/sh -c 'if dd if=/dev/null of=/dev/null iflag=fullblock 2>/dev/null; then eval \"$(dd bs={len} count=1 iflag=fullblock 2>/dev/null)\"; else eval \"$(dd bs=1 count={len} 2>/dev/null)\"; fi'"
        ),
    }
}

/// The script as it goes to the remote stdin (after sudo's password and markers): one
/// `{ … }` group. `sh -s` reads and runs a script as it arrives; a connection lost halfway
/// would otherwise run a truncated last line (`rm -rf /var/lib/han`). A group runs only once
/// its closing brace has arrived, so a cut-off script runs nothing at all.
/// Sent in three parts, so a big script (a restore's name lists) is never copied whole.
fn framed(script: &str) -> [&[u8]; 3] {
    let close: &[u8] = if script.ends_with('\n') {
        b"}\n"
    } else {
        b"\n}\n"
    };
    [b"{\n", script.as_bytes(), close]
}

#[cfg(test)]
mod tests {
    use super::{clean_sh, framed};
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Run `/bin/sh ARGS…` in `dir` with `input` on its stdin, and wait for it.
    fn run_sh(dir: &std::path::Path, args: &[&str], input: &[u8]) {
        let mut child = Command::new("/bin/sh")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        if let Some(mut stdin) = child.stdin.take() {
            // The shell may exit before reading all (a cut-off script): ignore EPIPE.
            let _ = stdin.write_all(input);
        }
        child.wait().expect("wait for sh");
    }

    /// The fed root shell on `input`: a framed script of `script_len` bytes, then data.
    fn run_fed(dir: &std::path::Path, script_len: usize, input: &[u8]) {
        run_sh(dir, &["-c", &clean_sh(Some(script_len))], input);
    }

    #[test]
    fn a_fed_script_gets_exactly_the_bytes_after_it_and_runs_nothing_when_cut_off() {
        let script = framed("touch ran\ncat >data\n").concat();
        // More than a pipe's or a shell's read buffer, so read-ahead would show; and a script
        // of several pipe buffers itself (a restore's name lists), read in many parts.
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let long = framed(&format!("# {}\ncat >data\n", "x".repeat(300_000))).concat();
        for script in [&script, &long] {
            let mut input = script.clone();
            input.extend_from_slice(&data);
            let dir = tempfile::tempdir().expect("tempdir");
            run_fed(dir.path(), script.len(), &input);
            let got = std::fs::read(dir.path().join("data")).expect("data");
            assert!(
                got == data,
                "the script got {} of {} bytes",
                got.len(),
                data.len()
            );
        }
        for len in [0, 1, script.len() / 2, script.len() - 2] {
            let dir = tempfile::tempdir().expect("tempdir");
            run_fed(dir.path(), script.len(), &script[..len]);
            assert!(
                !dir.path().join("ran").exists(),
                "cut after {len} bytes, it ran"
            );
        }
    }

    #[test]
    fn a_script_cut_off_anywhere_runs_nothing() {
        let script = "touch first\ncat >second <<'EOF'\n}\nEOF\ntouch third-of-many\n";
        let input = framed(script).concat();
        // Everything short of the closing brace (its newline is optional to the shell).
        for len in 0..input.len() - 1 {
            let dir = tempfile::tempdir().expect("tempdir");
            run_sh(dir.path(), &["-s"], &input[..len]);
            let made: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
            assert!(
                made.is_empty(),
                "cut after {len} bytes, the shell still ran something: {made:?}"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        run_sh(dir.path(), &["-s"], &input);
        for name in ["first", "second", "third-of-many"] {
            assert!(dir.path().join(name).exists(), "{name} missing");
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("second")).expect("second"),
            "}\n"
        );
    }
}
