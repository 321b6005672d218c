//! Test hosts and CLI runs, as builders so each test reads as a story.
//!
//! Host tests need root (network and mount namespaces). Without root they fail with a message
//! saying to run `scripts/test`; `HANDOVER_SKIP_HOST_TESTS=1` skips them for a quick local run.
//!
//! `HANDOVER_TEST_RELEASE=11|12|13` runs every test host on that Debian release's root
//! filesystem (`scripts/testhost up --release`) instead of the build machine's: tests that need
//! a service such hosts do not run (databases, WordPress) are skipped, saying so.

use crate::docs::{
    self, AuditReport, Batch, ErrorReport, Listed, Provisioned, Record, TeardownReport, Teardowns,
};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `None` when host tests are explicitly skipped; panics when they cannot run.
pub fn host_tests_enabled() -> bool {
    if std::env::var_os("HANDOVER_SKIP_HOST_TESTS").is_some_and(|v| v == "1") {
        eprintln!("HANDOVER_SKIP_HOST_TESTS=1: skipping a test that needs a test host");
        return false;
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    assert_eq!(
        uid.as_deref().ok(),
        Some("0"),
        "host tests need root to make network and mount namespaces: run scripts/test as root \
         (or set HANDOVER_SKIP_HOST_TESTS=1 to skip them)"
    );
    true
}

/// The Debian release test hosts run on (`HANDOVER_TEST_RELEASE`, given to `scripts/testhost
/// up --release`); `None`: on the build machine's own root filesystem.
pub fn test_release() -> Option<String> {
    std::env::var("HANDOVER_TEST_RELEASE")
        .ok()
        .filter(|r| !r.is_empty())
}

/// The services a host of another release runs (`scripts/rootfs`'s base packages).
const RELEASE_SERVICES: &[&str] = &["atd", "cron", "rsyslog", "none"];

/// The first of `services` a host of `HANDOVER_TEST_RELEASE` cannot run, with the release.
fn unavailable_service(services: &[String]) -> Option<(String, &String)> {
    let release = test_release()?;
    services
        .iter()
        .find(|s| !RELEASE_SERVICES.contains(&s.as_str()))
        .map(|s| (release, s))
}

/// A fresh test host and a workspace that trusts its key; `None` when host tests are off.
pub fn trusted_host() -> Option<(TestHost, Workspace)> {
    TestHost::builder().trusted()
}

/// Where the WordPress of `--service wordpress` is.
pub const WP: &str = "/var/www/wp";

/// A host with Debian's WordPress (Apache with PHP, MariaDB) and cron, trusted; `None` when
/// host tests are off.
pub fn wordpress() -> Option<(TestHost, Workspace)> {
    TestHost::builder()
        .service("cron")
        .service("wordpress")
        .trusted()
}

/// A workspace holding a key pair of the customer's (no passphrase) and `n` fresh hosts whose
/// root accepts it, all trusted; with the private key's path. `None` when host tests are off.
pub fn hosts_with_root_key(n: usize) -> Option<(Vec<TestHost>, Workspace, String)> {
    hosts_like_with_root_key(TestHost::builder(), n)
}

/// [`hosts_with_root_key`] with hosts built like `builder` (its services).
pub fn hosts_like_with_root_key(
    builder: TestHostBuilder,
    n: usize,
) -> Option<(Vec<TestHost>, Workspace, String)> {
    if !host_tests_enabled() || builder.skipped_on_release() {
        return None;
    }
    let ws = Workspace::new();
    let (key, public) = keypair(ws.dir.path(), "id_customer", "");
    let hosts = builder.root_authorized_key(&public).up_many(n);
    for host in &hosts {
        ws.trust(host);
    }
    Some((hosts, ws, key.to_str().expect("utf-8 path").to_owned()))
}

/// [`hosts_with_root_key`] with one host.
pub fn host_with_root_key() -> Option<(TestHost, Workspace, String)> {
    let (mut hosts, ws, key) = hosts_with_root_key(1)?;
    Some((hosts.remove(0), ws, key))
}

/// A throwaway host from `scripts/testhost`, destroyed on drop.
pub struct TestHost {
    pub name: String,
    pub addr: String,
    /// The build machine's address towards the host (the default source of connections).
    pub gateway: String,
    /// A second source address of the build machine on the same link (`ssh -b`).
    pub client_addr2: String,
    pub root_password: String,
    pub admin_user: String,
    pub admin_password: String,
    pub nopasswd_user: String,
    pub nopasswd_password: String,
    /// The password of WordPress's administrator `wpadmin` (with `.service("wordpress")`).
    pub wp_admin_password: String,
    pub scope: String,
    host_key: PathBuf,
}

#[must_use]
#[derive(Clone, Default)]
pub struct TestHostBuilder {
    env: Vec<(String, String)>,
    services: Vec<String>,
}

impl TestHostBuilder {
    pub fn root_authorized_key(mut self, key: &str) -> Self {
        self.env
            .push(("TESTHOST_ROOT_AUTHORIZED_KEY".into(), key.into()));
        self
    }

    pub fn admin_authorized_key(mut self, key: &str) -> Self {
        self.env
            .push(("TESTHOST_ADMIN_AUTHORIZED_KEY".into(), key.into()));
        self
    }

    /// Start `name` in the host (`scripts/testhost up --service NAME`): any call replaces
    /// the default service (cron); `none` starts none.
    pub fn service(mut self, name: &str) -> Self {
        self.services.push(name.into());
        self
    }

    /// Whether this host needs a service hosts of `HANDOVER_TEST_RELEASE` do not run: then
    /// the test is skipped, and says why.
    fn skipped_on_release(&self) -> bool {
        let Some((release, service)) = unavailable_service(&self.services) else {
            return false;
        };
        eprintln!(
            "skipped with HANDOVER_TEST_RELEASE={release}: this test needs the service \
             `{service}`, which test hosts of another Debian release do not run"
        );
        true
    }

    /// Start the host and a workspace that trusts its key; `None` when host tests are off, or
    /// when the host needs a service `HANDOVER_TEST_RELEASE`'s hosts do not run.
    pub fn trusted(self) -> Option<(TestHost, Workspace)> {
        if !host_tests_enabled() || self.skipped_on_release() {
            return None;
        }
        let host = self.up();
        let ws = Workspace::new();
        ws.trust(&host);
        Some((host, ws))
    }

    /// Start `n` hosts like this one, a few at a time.
    pub fn up_many(self, n: usize) -> Vec<TestHost> {
        let mut hosts = Vec::new();
        while hosts.len() < n {
            let batch = (n - hosts.len()).min(4);
            let started: Vec<TestHost> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..batch)
                    .map(|_| {
                        let builder = self.clone();
                        scope.spawn(move || builder.up())
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("start a test host"))
                    .collect()
            });
            hosts.extend(started);
        }
        hosts
    }

    pub fn up(self) -> TestHost {
        if let Some((release, service)) = unavailable_service(&self.services) {
            panic!(
                "test hosts of Debian {release} (HANDOVER_TEST_RELEASE) do not run `{service}`: \
                 this test is not for the release matrix (get the host with `trusted()`, which \
                 skips it there)"
            );
        }
        let mut cmd = Command::new(repo().join("scripts/testhost"));
        cmd.arg("up");
        if let Some(release) = test_release() {
            cmd.args(["--release", &release]);
        }
        for s in &self.services {
            cmd.args(["--service", s]);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run scripts/testhost up");
        assert!(
            out.status.success(),
            "scripts/testhost up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let get = |k: &str| {
            vars.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("testhost did not print {k}"))
        };
        TestHost {
            name: get("name"),
            addr: get("addr"),
            gateway: get("gateway"),
            client_addr2: get("client_addr2"),
            root_password: get("root_password"),
            admin_user: get("admin_user"),
            admin_password: get("admin_password"),
            nopasswd_user: get("nopasswd_user"),
            nopasswd_password: get("nopasswd_password"),
            wp_admin_password: get("wp_admin_password"),
            scope: get("scope"),
            host_key: PathBuf::from(get("host_key_ed25519")),
        }
    }
}

impl TestHost {
    pub fn builder() -> TestHostBuilder {
        TestHostBuilder::default()
    }

    pub fn up() -> TestHost {
        Self::builder().up()
    }

    /// Join this host and `other` with a link of their own (`scripts/testhost link`): each
    /// reaches the other's address over it. Returns this host's address on the link (the
    /// source address `other` sees).
    pub fn link(&self, other: &TestHost) -> String {
        let out = Command::new(repo().join("scripts/testhost"))
            .args(["link", &self.name, &other.name])
            .output()
            .expect("run scripts/testhost link");
        assert!(
            out.status.success(),
            "scripts/testhost link failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = format!("link_{}=", self.name);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix(&key).map(str::to_owned))
            .expect("testhost link printed this host's address")
    }

    /// Run `script` with `sh -c` as root inside the host.
    pub fn exec(&self, script: &str) -> Output {
        Command::new(repo().join("scripts/testhost"))
            .args(["exec", &self.name, "--", "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/testhost exec")
    }

    /// Run `script` with `sh -s` as root inside the host, the script on stdin.
    pub fn exec_stdin(&self, script: &str) -> Output {
        let mut child = Command::new(repo().join("scripts/testhost"))
            .args(["exec", &self.name, "--", "sh", "-s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run scripts/testhost exec");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).expect("write script");
        }
        child
            .wait_with_output()
            .expect("wait for scripts/testhost exec")
    }

    /// Run `script` and return its stdout; panics if it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = self.exec(script);
        assert!(
            out.status.success(),
            "`{script}` failed on {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether a process named `name` of `uid` runs within 5 s: a background process started
    /// with `runuser … &` may not have been exec'd yet when `runuser` returns.
    pub fn process_starts(&self, uid: &str, name: &str) -> bool {
        self.ok(&format!(
            "for i in $(seq 100); do pgrep -u {uid} -x {name} >/dev/null && exit 0; sleep 0.05; done; exit 1"
        ))
    }

    /// Run `run` (a provision), which must be refused at preflight (exit 1) with each of
    /// `needles` in its error, leaving the host exactly as it was.
    #[track_caller]
    pub fn refuses(&self, run: Run, needles: &[&str]) -> Finished {
        let before = self.snapshot();
        let out = run.run().expect_code(1);
        for needle in ["preflight", "nothing was changed"].iter().chain(needles) {
            assert!(
                out.stderr.contains(needle),
                "`{needle}` missing:\n{}",
                out.stderr
            );
        }
        assert_eq!(
            before,
            self.snapshot(),
            "a refused provision changed the host"
        );
        out
    }

    /// `curl` (a real HTTP client) for `path` on the host's web server (port 80), with the
    /// cookie jar `jar` kept across calls and `form` fields POSTed (each `NAME=VALUE`, read
    /// by curl from a file so no value reaches argv): status code, headers and body.
    pub fn http(&self, path: &str, jar: &Path, form: &[(&str, &str)]) -> (u16, String, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (headers, body) = (dir.path().join("headers"), dir.path().join("body"));
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-m", "20", "-o"])
            .arg(&body)
            .arg("-D")
            .arg(&headers)
            .args(["-w", "%{http_code}", "-b"])
            .arg(jar)
            .arg("-c")
            .arg(jar);
        for (i, (name, value)) in form.iter().enumerate() {
            let file = dir.path().join(format!("field{i}"));
            std::fs::write(&file, value).expect("write a form field");
            cmd.arg("--data-urlencode")
                .arg(format!("{name}@{}", file.display()));
        }
        let out = cmd
            .arg(format!("http://{}{path}", self.addr))
            .output()
            .expect("run curl (apt-get install curl)");
        let status = text(&out.stdout).trim().parse().unwrap_or(0);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (status, read(&headers), read(&body))
    }

    /// Whether `script` succeeds on the host.
    pub fn ok(&self, script: &str) -> bool {
        self.exec(script).status.success()
    }

    /// `LOGIN@ADDR`, a target for handover.
    pub fn target(&self, login: &str) -> String {
        format!("{login}@{}", self.addr)
    }

    /// Whether the host has an account named `name` (`getent passwd`).
    pub fn has_account(&self, name: &str) -> bool {
        self.ok(&format!("getent passwd {name}"))
    }

    /// The uid of account `name`.
    pub fn uid_of(&self, name: &str) -> String {
        self.sh(&format!("id -u {name}")).trim().to_owned()
    }

    /// Start `command` in the background as `account`, as a session the vendor left running
    /// (`runuser`, nohup'd).
    pub fn leave_running(&self, account: &str, command: &str) {
        self.sh(&format!(
            "runuser -u {account} -- sh -c 'nohup {command} >/dev/null 2>&1 &'"
        ));
    }

    /// Stop the host's sshd (listener included): the host no longer answers.
    pub fn stop_sshd(&self) {
        self.sh("pkill -x sshd; while pgrep -x sshd >/dev/null; do sleep 0.05; done");
    }

    /// Whether `user` logs in with `password` (the real OpenSSH client).
    pub fn logs_in(&self, user: &str, password: &str) -> bool {
        self.ssh_as(user, password, "true").status.success()
    }

    /// The host's public host key line (`ssh-ed25519 AAAA…`).
    pub fn host_key(&self) -> String {
        std::fs::read_to_string(&self.host_key)
            .expect("read host key")
            .trim()
            .to_owned()
    }

    /// A known_hosts line for this host.
    pub fn known_hosts_line(&self) -> String {
        let key = self.host_key();
        let mut parts = key.split_whitespace();
        format!(
            "{} {} {}\n",
            self.addr,
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("")
        )
    }

    /// Everything a provision could touch, to compare before and after.
    pub fn snapshot(&self) -> String {
        self.sh(
            "getent passwd | sort; getent group | sort; getent shadow | cut -d: -f1,2,8 | sort; \
             find /home /etc/sudoers.d /etc/ssh/sshd_config.d /etc/cron.d /var/www/cms -printf '%p %u %g %m\\n' | sort; \
             ls -a /var/lib/handover 2>/dev/null; atq 2>/dev/null; \
             getfacl -R -p -n /var/www/cms 2>/dev/null; \
             find /etc/ssh/sshd_config /etc/ssh/sshd_config.d /etc/sudoers.d /etc/cron.d /etc/pam.d \
               /var/spool/cron /var/www/cms -type f ! -name .SEQ -exec md5sum {} + 2>/dev/null | sort; \
             nft list ruleset 2>/dev/null; iptables-save 2>/dev/null | grep -v '^[#:]'; true",
        )
    }

    /// Log in as `user` with `password` using the real OpenSSH client (password via sshpass
    /// from the environment, never argv) and run `command`.
    pub fn ssh_as(&self, user: &str, password: &str, command: &str) -> Output {
        self.ssh_full(user, password, &[], Some(command), b"")
    }

    /// Like [`TestHost::ssh_as`], with `stdin` fed to the remote command.
    pub fn ssh_as_with_stdin(
        &self,
        user: &str,
        password: &str,
        command: &str,
        stdin: &[u8],
    ) -> Output {
        self.ssh_full(user, password, &[], Some(command), stdin)
    }

    /// [`TestHost::ssh_as`] from source address `bind` (`ssh -b`).
    pub fn ssh_as_from(&self, bind: &str, user: &str, password: &str, command: &str) -> Output {
        self.ssh_full(user, password, &["-b", bind], Some(command), b"")
    }

    /// The real OpenSSH client as `user` with `password`, extra client arguments (forwarding
    /// options, `-b`, …) and an optional remote command; stdin is empty.
    pub fn ssh_with(
        &self,
        user: &str,
        password: &str,
        extra: &[&str],
        command: Option<&str>,
    ) -> Output {
        self.ssh_full(user, password, extra, command, b"")
    }

    fn ssh_full(
        &self,
        user: &str,
        password: &str,
        extra: &[&str],
        command: Option<&str>,
        stdin: &[u8],
    ) -> Output {
        let mut child = Command::new("sshpass")
            .arg("-e")
            .args(["ssh"])
            .args(Self::client_options())
            .args(extra)
            .arg(format!("{user}@{}", self.addr))
            .args(command)
            .env("SSHPASS", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sshpass ssh (apt-get install sshpass openssh-client)");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin);
        }
        child.wait_with_output().expect("wait for ssh")
    }

    /// Run `script` as root on the host, logged in as `account` with the real ssh client and
    /// becoming root with `sudo -S` and the account's own password, as a root-level vendor
    /// would; panics unless it succeeds.
    pub fn sudo_as(&self, account: &str, password: &str, script: &str) {
        let out = self.ssh_as_with_stdin(
            account,
            password,
            "sudo -S -p '' sh -s",
            format!("{password}\n{script}").as_bytes(),
        );
        assert!(
            out.status.success(),
            "{account} could not run its script with sudo: {}",
            text(&out.stderr)
        );
    }

    /// The real OpenSSH client as `user` with `password` running `command`, left running in
    /// the background (no stdin, output discarded): an open session.
    pub fn spawn_ssh(&self, user: &str, password: &str, command: &str) -> std::process::Child {
        Command::new("sshpass")
            .arg("-e")
            .arg("ssh")
            .args(Self::client_options())
            .arg(format!("{user}@{}", self.addr))
            .arg(command)
            .env("SSHPASS", password)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sshpass ssh (apt-get install sshpass openssh-client)")
    }

    /// An interactive login as `user` on a pseudo-terminal (`ssh -tt`), as a person at a
    /// terminal has one: type into it with [`Terminal::type_line`].
    pub fn terminal(&self, user: &str, password: &str) -> Terminal {
        let child = Command::new("sshpass")
            .arg("-e")
            .args(["ssh", "-tt"])
            .args(Self::client_options())
            .arg(format!("{user}@{}", self.addr))
            .env("SSHPASS", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sshpass ssh (apt-get install sshpass openssh-client)");
        Terminal { child }
    }

    /// `sftp -b -` as `user` with `password` (through sshpass: `BatchMode=no` first, since
    /// sftp's `-b` would otherwise forbid password authentication), the batch on stdin.
    pub fn sftp_batch(&self, user: &str, password: &str, batch: &str) -> Output {
        let mut child = Command::new("sshpass")
            .arg("-e")
            .arg("sftp")
            .args(["-o", "BatchMode=no"])
            .args(Self::client_options())
            .args(["-b", "-"])
            .arg(format!("{user}@{}", self.addr))
            .env("SSHPASS", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sshpass sftp (apt-get install sshpass openssh-client)");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(batch.as_bytes()).expect("write batch");
        }
        child.wait_with_output().expect("wait for sftp")
    }

    fn client_options() -> [&'static str; 12] {
        [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-o",
            "ConnectTimeout=10",
        ]
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/testhost"))
            .args(["down", &self.name])
            .output();
    }
}

/// One `handover` run with its own state dir and known_hosts unless told otherwise.
#[must_use]
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    /// Where `on_terminal` runs keep stdout and the terminal's typescript.
    terminal: Option<tempfile::TempDir>,
}

pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// stdout as the `--json` document `T`.
    #[track_caller]
    pub fn doc<T: serde::de::DeserializeOwned>(&self) -> T {
        if self.stdout.trim().is_empty() {
            panic!("no document on stdout; stderr:\n{}", self.stderr);
        }
        docs::parse(&self.stdout)
    }

    /// What `provision --json` printed for one grant.
    #[track_caller]
    pub fn provisioned(&self) -> Provisioned {
        self.doc()
    }

    /// What `provision --json` printed for a batch.
    #[track_caller]
    pub fn batch(&self) -> Batch {
        self.doc()
    }

    /// What `teardown GRANT --json` printed.
    #[track_caller]
    pub fn teardown_report(&self) -> TeardownReport {
        self.doc()
    }

    /// What `teardown BATCH --json` or `reap --json` printed.
    #[track_caller]
    pub fn teardowns(&self) -> Teardowns {
        self.doc()
    }

    /// What `audit GRANT --json` printed.
    #[track_caller]
    pub fn audit_report(&self) -> AuditReport {
        self.doc()
    }

    /// What a failed run printed on stdout with `--json`.
    #[track_caller]
    pub fn error_report(&self) -> ErrorReport {
        self.doc()
    }

    /// stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) {
        assert!(
            self.stdout.contains(needle),
            "stdout does not contain `{needle}`:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }

    /// stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "stderr does not contain `{needle}`:\n{}",
            self.stderr
        );
    }

    /// stderr shows no panic and no escape sequence (`context` says which run in a message).
    #[track_caller]
    pub fn assert_stderr_is_clean(&self, context: &str) {
        assert!(
            !self.stderr.contains('\u{1b}') && !self.stderr.contains("panicked"),
            "{context}: a panic or an escape sequence on stderr: {:?}",
            self.stderr
        );
    }

    /// The value of the line labelled `label` in the human output on stdout.
    #[track_caller]
    pub fn labelled(&self, label: &str) -> &str {
        docs::labelled(&self.stdout, label)
    }

    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Scratch space for one test: state dir and known_hosts.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// Trust `host`'s key in this workspace's known_hosts.
    pub fn trust(&self, host: &TestHost) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .expect("open known_hosts");
        f.write_all(host.known_hosts_line().as_bytes())
            .expect("write known_hosts");
    }

    /// `handover ARGS…` with `--state-dir` of this workspace and a clean environment.
    pub fn handover(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_handover"));
        cmd.args(args);
        self.run_with_env(cmd)
    }

    /// `handover ARGS…` as [`Workspace::handover`], with the state directory on a tmpfs of
    /// `size` (`32m`) in a mount namespace of its own: a small disk on the admin machine.
    pub fn handover_on_small_disk(&self, size: &str, args: &[&str]) -> Run {
        let state = self.state_dir();
        std::fs::create_dir_all(&state).expect("create the state directory");
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o size="$1",mode=0700 handover-test "$2" && shift 2 && exec "$@""#)
            .arg("sh")
            .arg(size)
            .arg(&state)
            .arg(env!("CARGO_BIN_EXE_handover"))
            .args(args);
        self.run_with_env(cmd)
    }

    /// `cmd` with this workspace's clean environment.
    fn run_with_env(&self, mut cmd: Command) -> Run {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "root")
            .env("HANDOVER_STATE_DIR", self.state_dir());
        Run {
            cmd,
            stdin: None,
            terminal: None,
        }
    }

    /// `handover ARGS…` as a terminal session shows it, for a snapshot: the command line, what
    /// it printed on stdout and stderr, and its exit status. Paths in the workspace read
    /// `[WORKSPACE]`.
    pub fn transcript(&self, args: &[&str]) -> String {
        let out = self.handover(args).run();
        let quoted: Vec<String> = args
            .iter()
            .map(|a| {
                let plain = !a.is_empty()
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_./:=@,+-".contains(c));
                if plain {
                    (*a).to_owned()
                } else {
                    format!("'{}'", a.replace('\'', r"'\''"))
                }
            })
            .collect();
        let mut text = format!("$ handover {}\n", quoted.join(" "));
        for (stream, output) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if !output.is_empty() {
                text.push_str(&format!("[{stream}]\n{output}"));
            }
        }
        text.push_str(&format!("[exit {}]\n", out.code));
        let dir = self.dir.path().to_str().expect("utf-8 path");
        text.replace(dir, "[WORKSPACE]")
    }

    /// `handover provision` against `host` with this workspace's known_hosts.
    pub fn provision(&self, target: &str, extra: &[&str]) -> Run {
        let known_hosts = self.known_hosts();
        let mut args = vec![
            "provision",
            target,
            "--known-hosts",
            known_hosts.to_str().unwrap_or_default(),
        ];
        args.extend_from_slice(extra);
        self.handover(&args)
    }

    /// `handover provision LOGIN@HOST EXTRA…`, logging in with `password`.
    pub fn provision_as(
        &self,
        host: &TestHost,
        login: &str,
        password: &str,
        extra: &[&str],
    ) -> Run {
        self.provision(&host.target(login), extra)
            .with_password(password)
    }

    /// `handover provision ADMIN@HOST EXTRA…` as the host's sudo user, with its password.
    pub fn provision_as_admin(&self, host: &TestHost, extra: &[&str]) -> Run {
        self.provision_as(host, &host.admin_user, &host.admin_password, extra)
    }

    /// A batch on `hosts` (root with the customer's `key`, the CMS as scope, no baseline),
    /// with `extra` arguments: what it printed.
    #[track_caller]
    pub fn batch_of(&self, hosts: &[TestHost], key: &str, extra: &[&str]) -> Batch {
        let targets: Vec<String> = hosts.iter().map(|h| h.target("root")).collect();
        let mut args: Vec<&str> = targets[1..].iter().map(String::as_str).collect();
        args.extend([
            "-i",
            key,
            "--scope",
            "/var/www/cms",
            "--no-baseline",
            "--json",
        ]);
        args.extend_from_slice(extra);
        self.provision(&targets[0], &args)
            .run()
            .expect_code(0)
            .batch()
    }

    /// `handover provision root@HOST EXTRA…` with the host's root password, as the customer
    /// would run it.
    pub fn provision_as_root(&self, host: &TestHost, extra: &[&str]) -> Run {
        self.provision_as(host, "root", &host.root_password, extra)
    }

    /// Write `text` to the file `name` in the workspace; its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path.to_str().expect("utf-8 path").to_owned()
    }

    /// `provision root@HOST EXTRA… --json` as root, which must succeed: what it printed.
    #[track_caller]
    pub fn provisioned(&self, host: &TestHost, extra: &[&str]) -> Provisioned {
        self.provision_as_root(host, &[extra, &["--json"]].concat())
            .run()
            .expect_code(0)
            .provisioned()
    }

    /// A grant on the host's CMS directory: [`Workspace::provisioned`] with `--scope SCOPE`.
    #[track_caller]
    pub fn grant(&self, host: &TestHost, extra: &[&str]) -> Provisioned {
        self.provisioned(host, &[&["--scope", host.scope.as_str()], extra].concat())
    }

    /// Lend `account` (`--playbook lend --rotate ACCOUNT EXTRA…`) as root: what provision printed.
    #[track_caller]
    pub fn lend(&self, host: &TestHost, account: &str, extra: &[&str]) -> Provisioned {
        self.provisioned(
            host,
            &[&["--playbook", "lend", "--rotate", account], extra].concat(),
        )
    }

    /// `handover teardown GRANT EXTRA…` with the host's root password.
    pub fn teardown_as_root(&self, host: &TestHost, grant: &str, extra: &[&str]) -> Run {
        self.handover(&[&["teardown", grant], extra].concat())
            .with_root_password(host)
    }

    /// Tear `grant` down as root; everything must be verified gone, without drift (exit 0).
    #[track_caller]
    pub fn revoke(&self, host: &TestHost, grant: &str) -> Finished {
        self.teardown_as_root(host, grant, &[]).run().expect_code(0)
    }

    /// [`Workspace::revoke`] with `--json`: the report.
    #[track_caller]
    pub fn revoke_report(&self, host: &TestHost, grant: &str) -> TeardownReport {
        self.teardown_as_root(host, grant, &["--json"])
            .run()
            .expect_code(0)
            .teardown_report()
    }

    /// `handover teardown GRANT --json` with `host`'s root password, exiting 3 (something not
    /// verified absent, or drift): the report.
    #[track_caller]
    pub fn teardown_exit_3(&self, host: &TestHost, grant: &str) -> TeardownReport {
        self.teardown_as_root(host, grant, &["--json"])
            .run()
            .expect_code(3)
            .teardown_report()
    }

    /// `handover audit GRANT --json` with `host`'s root password, exiting with `code`: the report.
    #[track_caller]
    pub fn audit(&self, host: &TestHost, grant: &str, code: i32) -> AuditReport {
        self.handover(&["audit", grant, "--json"])
            .with_root_password(host)
            .run()
            .expect_code(code)
            .audit_report()
    }

    /// `handover list --json`.
    #[track_caller]
    pub fn list(&self) -> Listed {
        self.handover(&["list", "--json"])
            .run()
            .expect_code(0)
            .doc()
    }

    /// Where the record of `grant` is.
    pub fn record_path(&self, grant: &str) -> PathBuf {
        self.state_dir()
            .join("grants")
            .join(format!("{grant}.json"))
    }

    /// Where the baseline of `grant` is.
    pub fn baseline_path(&self, grant: &str) -> PathBuf {
        self.state_dir()
            .join("grants")
            .join(format!("{grant}.baseline.json"))
    }

    /// The record of `grant` as it is on disk.
    #[track_caller]
    pub fn record_text(&self, grant: &str) -> String {
        let path = self.record_path(grant);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    #[track_caller]
    pub fn record(&self, grant: &str) -> Record {
        docs::parse(&self.record_text(grant))
    }
}

impl Run {
    /// One more argument (before [`Run::on_terminal`]).
    pub fn arg(mut self, arg: &str) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Unset `key`, e.g. `HANDOVER_STATE_DIR` to test the defaults.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Log in with `password` (`HANDOVER_SSH_PASSWORD`).
    pub fn with_password(self, password: &str) -> Self {
        self.env("HANDOVER_SSH_PASSWORD", password)
    }

    /// Log in with `host`'s root password.
    pub fn with_root_password(self, host: &TestHost) -> Self {
        self.with_password(&host.root_password)
    }

    #[allow(dead_code)]
    pub fn stdin(mut self, input: &[u8]) -> Self {
        self.stdin = Some(input.to_vec());
        self
    }

    /// Run on a pseudo-terminal (util-linux `script`): stdin and stderr are the terminal,
    /// stdout goes to a file. `Finished::stderr` is then everything the terminal showed.
    pub fn on_terminal(mut self) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let quote =
            |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
        let mut line = quote(self.cmd.get_program());
        for arg in self.cmd.get_args() {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        line.push_str(&format!(" >'{}'", dir.path().join("stdout").display()));
        let mut script = Command::new("script");
        script
            .args(["-q", "-e", "-c", &line])
            .arg(dir.path().join("typescript"))
            .env_clear();
        for (key, value) in self.cmd.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        self.cmd = script;
        self.terminal = Some(dir);
        self
    }

    /// Start it with stdout and stderr piped and no stdin, and go on: a long-running command
    /// (`handover watch`).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.cmd.spawn().expect("spawn handover")
    }

    pub fn run(mut self) -> Finished {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn handover");
        if let (Some(mut stdin), Some(input)) = (child.stdin.take(), &self.stdin) {
            let _ = stdin.write_all(input);
        }
        let out = child.wait_with_output().expect("wait for handover");
        if let Some(dir) = &self.terminal {
            let read = |name: &str| {
                String::from_utf8_lossy(&std::fs::read(dir.path().join(name)).unwrap_or_default())
                    .into_owned()
            };
            return Finished {
                code: out.status.code().unwrap_or(-1),
                stdout: read("stdout"),
                stderr: read("typescript"),
            };
        }
        Finished {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Snapshot settings that make what handover prints about a grant stable: ids, times and dates,
/// generated account names, host addresses and key fingerprints read as placeholders. Secrets
/// need none: a snapshot never holds one.
pub fn stable_snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, placeholder) in [
        (r"\b\d{8}-[a-z0-9]{6}\b", "[GRANT]"),
        (
            r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        ),
        (r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"),
        (r"\bsupport-[a-z0-9]{6}\b", "support-[RANDOM]"),
        (r"SHA256:[A-Za-z0-9+/]{43}", "SHA256:[FINGERPRINT]"),
        (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "[ADDRESS]"),
    ] {
        settings.add_filter(pattern, placeholder);
    }
    settings
}

/// Check `done` every `every` until it holds (then `true`) or `limit` has passed (`false`).
pub fn wait_until(
    limit: std::time::Duration,
    every: std::time::Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Bytes a program wrote, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `SHA256:…` fingerprint of a public key line, as `ssh-keygen -l` computes it.
pub fn fingerprint(public_key: &str) -> String {
    let mut child = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run ssh-keygen");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(public_key.as_bytes())
            .expect("write the key");
    }
    let out = child.wait_with_output().expect("wait for ssh-keygen");
    text(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint of {public_key}"))
        .to_owned()
}

/// Generate an ed25519 key pair in `dir` (optionally with a passphrase); returns the private
/// key path and the public key line.
pub fn keypair(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "handover-test",
            "-f",
        ])
        .arg(&path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).expect("read public key");
    (path, public.trim().to_owned())
}

/// A real `ssh-agent` holding the given keys, killed on drop.
pub struct Agent {
    pub socket: PathBuf,
    child: std::process::Child,
}

impl Agent {
    pub fn start(dir: &Path, keys: &[&Path]) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for key in keys {
            let status = Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .status()
                .expect("run ssh-add");
            assert!(status.success(), "ssh-add {}", key.display());
        }
        Agent { socket, child }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ssh-keygen` with extra arguments (`-t rsa -b 1024`, …), no passphrase; returns the private
/// key path (the public key is beside it, `.pub`).
pub fn keygen(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", "vendor@example", "-f"])
        .arg(&path)
        .args(args)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    path
}

/// The customer's firewall: only the admin's address (the gateway) may reach sshd.
pub const NFT_FIREWALL: &str = "nft add table inet filter && \
    nft add chain inet filter input '{ type filter hook input priority 0; policy drop; }' && \
    nft add rule inet filter input ct state established,related accept && \
    nft add rule inet filter input iif lo accept && \
    nft add rule inet filter input ip saddr GATEWAY tcp dport 22 accept";

/// The same with iptables.
pub const IPTABLES_FIREWALL: &str = "iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT && \
    iptables -A INPUT -i lo -j ACCEPT && \
    iptables -A INPUT -s GATEWAY -p tcp --dport 22 -j ACCEPT && \
    iptables -P INPUT DROP";

/// Record, every 20 ms until stopped, what `ps` shows and every process's environment.
pub struct ProcessWatch<'a> {
    host: &'a TestHost,
}

impl<'a> ProcessWatch<'a> {
    pub fn start(host: &'a TestHost) -> Self {
        host.sh(
            "rm -f /tmp/watch.stop /tmp/watch.log; nohup sh -c 'while [ ! -e /tmp/watch.stop ]; do ps -eo args; for f in /proc/[0-9]*/environ; do tr \"\\000\" \"\\n\" < \"$f\" 2>/dev/null; done; sleep 0.02; done' >/tmp/watch.log 2>/dev/null </dev/null &",
        );
        ProcessWatch { host }
    }

    /// Stop and return what was seen.
    pub fn stop(self) -> String {
        self.host.sh("touch /tmp/watch.stop; sleep 0.1");
        let seen = self.host.sh("cat /tmp/watch.log");
        assert!(
            seen.contains("ps -eo args"),
            "the process watch did not run"
        );
        seen
    }
}

/// Assert none of `secrets` appears in `haystack` (named `what`).
#[track_caller]
pub fn assert_absent(what: &str, haystack: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!haystack.contains(secret), "a secret appears in {what}");
    }
}

/// Assert none of `secrets` appears in any of `places` (what, text).
#[track_caller]
pub fn assert_nowhere(places: &[(&str, &str)], secrets: &[&str]) {
    for (what, haystack) in places {
        assert_absent(what, haystack, secrets);
    }
}

/// A login on a pseudo-terminal ([`TestHost::terminal`]).
pub struct Terminal {
    child: std::process::Child,
}

impl Terminal {
    /// Type `line` and Enter, after a pause (a person types after the prompt comes).
    pub fn type_line(&mut self, line: &str) {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let stdin = self.child.stdin.as_mut().expect("the terminal's input");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("type into the terminal");
        stdin.flush().expect("type into the terminal");
    }

    /// Log out (`exit`) and wait for the session to end: what the terminal showed.
    pub fn exit(mut self) -> String {
        self.type_line("exit");
        drop(self.child.stdin.take());
        let out = self.child.wait_with_output().expect("wait for ssh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
