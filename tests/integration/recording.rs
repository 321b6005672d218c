//! Recorded sessions (GitHub issue #19), with the real sshd, the real sudo and a real
//! terminal: the vendor's shell, commands, sudo to root and sftp transfers are recorded by sudo
//! as root where the account cannot reach them; teardown copies them here before it removes
//! them, and `sessions`, `replay`, `watch` and `export` show them.

use crate::support::{TestHost, Workspace, trusted_host};
use std::io::Read;
use std::time::{Duration, Instant};

/// The grant's recordings directory on the host.
fn on_host(grant: &str) -> String {
    format!("/var/log/handover/{grant}")
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("read the recordings")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read a recording");
                out.push((path, bytes));
            }
        }
    }
    out
}

/// The host's sudo version (`1.9.5p2`) when it is older than 1.9.8, the oldest that records
/// (Debian 11's is: `HANDOVER_TEST_RELEASE=11`).
fn sudo_too_old_to_record(host: &TestHost) -> Option<String> {
    let first = host.sh("sudo -V | head -n 1");
    let version = first.split_whitespace().nth(2).expect("sudo -V: version");
    let numbers: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().expect("sudo version number"))
        .collect();
    (numbers < vec![1, 9, 8]).then(|| version.to_owned())
}

/// `host` and `ws` when the host's sudo records; else `None`, saying why the test is skipped
/// (`a_sudo_older_than_1_9_8_…` tests such a host).
fn recording(host: TestHost, ws: Workspace) -> Option<(TestHost, Workspace)> {
    if let Some(version) = sudo_too_old_to_record(&host) {
        eprintln!("skipped: this host's sudo {version} cannot record sessions");
        return None;
    }
    Some((host, ws))
}

/// The vendor's sftp session: `content` uploaded as `up.txt`, downloaded back (and compared),
/// renamed to `up2.txt` and removed.
#[track_caller]
fn sftp_round_trip(host: &TestHost, ws: &Workspace, account: &str, password: &str, content: &str) {
    let local = ws.file("upload.txt", content);
    let fetched = ws.dir.path().join("fetched.txt");
    let out = host.sftp_batch(
        account,
        password,
        &format!(
            "put {local} up.txt\nget up.txt {}\nrename up.txt up2.txt\nrm up2.txt\n",
            fetched.display()
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        crate::support::text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&fetched).expect("the download"),
        content
    );
}

#[test]
fn every_kind_of_session_is_recorded_out_of_the_accounts_reach_and_comes_home_at_teardown() {
    let Some((host, ws)) = trusted_host().and_then(|(h, w)| recording(h, w)) else {
        return;
    };
    let grant = ws.grant(&host, &["--playbook", "linux-root"]);
    let (account, password) = (grant.account().to_owned(), grant.password().to_owned());
    let dir = on_host(&grant.id);

    // A command, as `ssh host cmd`.
    let out = host.ssh_as(&account, &password, "echo command-marker; id -un");
    assert!(
        out.status.success(),
        "{}",
        crate::support::text(&out.stderr)
    );
    assert_eq!(
        crate::support::text(&out.stdout),
        format!("command-marker\n{account}\n")
    );
    // A shell on a terminal, with sudo to root (its password typed at sudo's prompt).
    let mut terminal = host.terminal(&account, &password);
    terminal.type_line("echo typed-marker");
    terminal.type_line("sudo id -u");
    terminal.type_line(&password);
    terminal.type_line("ls /etc/hostname");
    let screen = terminal.exit();
    assert!(screen.contains("typed-marker"), "{screen}");
    sftp_round_trip(&host, &ws, &account, &password, "uploaded by the vendor\n");
    // The account can neither read back nor remove its recordings.
    let out = host.ssh_as(
        &account,
        &password,
        &format!("ls {dir}; cat {dir}/events.json; rm -rf {dir}"),
    );
    assert!(!out.status.success());
    assert!(host.ok(&format!("test -s {dir}/events.json")));
    assert_eq!(host.sh(&format!("stat -c %U:%a {dir}")).trim(), "root:700");

    // During the window, `sessions` copies what was recorded so far.
    let listed = ws
        .handover(&["sessions", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let kinds: Vec<&str> = listed["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    for kind in ["command", "shell", "sudo", "sftp"] {
        assert!(kinds.contains(&kind), "no {kind} session in {listed}");
    }

    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(0)
        .json();
    let check = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| {
            c["check"]
                .as_str()
                .is_some_and(|t| t.contains("recordings are copied"))
        })
        .unwrap_or_else(|| panic!("no recordings check in {report}"));
    assert_eq!(check["ok"], true, "{check}");
    let sessions = report["sessions"]
        .as_array()
        .expect("sessions in the report");
    let all = serde_json::to_string(sessions).expect("json");
    for expected in [
        "echo command-marker; id -un",
        "\"echo typed-marker\"",
        "\"sudo id -u\"",
        "\"ls /etc/hostname\"",
        "uploaded /home/",
        "downloaded /home/",
        "removed /home/",
    ] {
        assert!(all.contains(expected), "`{expected}` missing from {all}");
    }
    let source = &sessions[0]["source"];
    assert_eq!(source, &serde_json::json!(host.gateway), "{all}");
    // Nothing of the recording is left on the host.
    for path in [
        dir.clone(),
        format!("/etc/ssh/handover-session-{}", grant.id),
        format!("/etc/sudoers.d/handover-{}-record", grant.id),
    ] {
        assert!(!host.ok(&format!("test -e {path}")), "{path} is left");
    }

    // Here: private, intact, and the password typed at sudo's prompt is not in them.
    let copy = ws
        .state_dir()
        .join("grants")
        .join(format!("{}.recordings", grant.id));
    let files = files_under(&copy);
    assert!(files.len() > 10, "{copy:?}");
    for (path, bytes) in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{path:?} is readable by others");
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "the sudo password is in {path:?}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    // After teardown, `sessions` and `replay` need no host.
    let listed = ws
        .handover(&["sessions", &grant.id])
        .run()
        .expect_code(0)
        .stdout;
    assert!(listed.contains("shell"), "{listed}");
    let shell = sessions
        .iter()
        .find(|s| s["kind"] == "shell")
        .and_then(|s| s["id"].as_str())
        .expect("a shell session");
    let replayed = ws
        .handover(&["replay", &grant.id, shell, "--speed", "1000"])
        .run()
        .expect_code(0)
        .stdout;
    assert!(replayed.contains("typed-marker"), "{replayed}");
    let unknown = ws
        .handover(&["replay", &grant.id, "999999"])
        .run()
        .expect_code(1);
    assert!(unknown.stderr.contains(shell), "{}", unknown.stderr);

    // The evidence in one archive that `sha256sum -c` checks, and catches a change in.
    let archive = ws.dir.path().join("evidence.tar");
    ws.handover(&["export", &grant.id, "-o", archive.to_str().expect("utf-8")])
        .run()
        .expect_code(0);
    let unpacked = ws.dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).expect("mkdir");
    let top = unpacked.join(format!("handover-{}", grant.id));
    let check = |what: &str| {
        std::process::Command::new("sha256sum")
            .args(["-c", "--status", "MANIFEST.sha256"])
            .current_dir(&top)
            .status()
            .unwrap_or_else(|e| panic!("sha256sum ({what}): {e}"))
            .success()
    };
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar");
    assert!(status.success());
    assert!(top.join("teardown.json").exists());
    assert!(check("as exported"));
    std::fs::write(top.join("record.json"), "{}").expect("tamper");
    assert!(!check("tampered"), "a changed record passed the manifest");
}

/// `handover watch` follows the vendor's terminal as it happens, read-only, and ends by itself
/// when the session does.
#[test]
fn watch_shows_a_running_session_as_it_happens_and_ends_with_it() {
    let Some((host, ws)) = trusted_host().and_then(|(h, w)| recording(h, w)) else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let mut watcher = ws
        .handover(&["watch", &grant.id])
        .with_root_password(&host)
        .spawn();
    let mut stdout = watcher.stdout.take().expect("watch's output");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut terminal = host.terminal(grant.account(), grant.password());
    terminal.type_line("echo watch-$((6 * 7))-marker");
    let typed = Instant::now();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("watch-42-marker") {
        let left = Duration::from_secs(5).saturating_sub(typed.elapsed());
        assert!(!left.is_zero(), "watch did not show the session in 5 s");
        if let Ok(chunk) = rx.recv_timeout(left) {
            seen.extend(chunk);
        }
    }
    eprintln!(
        "watch showed the output {} ms after it was typed",
        typed.elapsed().as_millis()
    );
    terminal.exit();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = watcher.try_wait().expect("wait for watch") {
            break status;
        }
        assert!(Instant::now() < deadline, "watch outlived the session");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    let mut stderr = String::new();
    watcher
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(stderr.contains("ended"), "{stderr}");
    ws.revoke(&host, &grant.id);
}

/// A host whose sudo cannot record: `--record require` refuses it before any change, naming
/// the package; `auto` goes on without recording and says so; `off` records nothing.
#[test]
fn a_host_that_cannot_record_is_refused_with_require_and_named_with_auto() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("mv /usr/bin/sudo /usr/bin/sudo.away");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope, "--record", "require"]),
        &["Debian package `sudo`"],
    );
    let grant = ws.grant(&host, &[]);
    assert!(
        grant
            .warnings
            .iter()
            .any(|w| w.contains("not recorded") && w.contains("`sudo`")),
        "{:?}",
        grant.warnings
    );
    // The vendor still logs in, straight to its shell.
    let out = host.ssh_as(grant.account(), grant.password(), "id -un");
    assert!(
        out.status.success(),
        "{}",
        crate::support::text(&out.stderr)
    );
    assert!(!host.ok(&format!("test -e {}", on_host(&grant.id))));
    ws.revoke(&host, &grant.id);
    host.sh("mv /usr/bin/sudo.away /usr/bin/sudo");
    let grant = ws.grant(&host, &["--record", "off"]);
    host.ssh_as(grant.account(), grant.password(), "true");
    assert!(!host.ok(&format!("test -e {}", on_host(&grant.id))));
    ws.revoke(&host, &grant.id);
}

/// Debian 11's sudo 1.9.5 has no `log_stdin`/`log_stdout`, which keep an sftp session's file
/// contents out of the recording: its visudo refused the grant's sudoers drop-in, and every
/// provision failed and rolled back, `--record auto` included. Such a host is now named at
/// preflight: `require` refuses it, `auto` goes on unrecorded with a warning naming its sudo.
/// Runs where the host's sudo is that old (`HANDOVER_TEST_RELEASE=11`).
#[test]
fn a_sudo_older_than_1_9_8_is_refused_with_require_and_named_with_auto() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let Some(version) = sudo_too_old_to_record(&host) else {
        eprintln!("skipped: this host's sudo records (run with HANDOVER_TEST_RELEASE=11)");
        return;
    };
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope, "--record", "require"]),
        &["sudo 1.9.8 or later"],
    );
    for playbook in ["linux-user", "linux-root"] {
        let grant = ws.grant(&host, &["--playbook", playbook]);
        assert!(
            grant.warnings.iter().any(|w| w.contains("not recorded")
                && w.contains("needs sudo 1.9.8")
                && w.contains(&format!("this host has sudo {version}"))),
            "{:?}",
            grant.warnings
        );
        let out = host.ssh_as(grant.account(), grant.password(), "id -un");
        assert_eq!(
            crate::support::text(&out.stdout),
            format!("{}\n", grant.account()),
            "{}",
            crate::support::text(&out.stderr)
        );
        assert!(!host.ok(&format!("test -e {}", on_host(&grant.id))));
        ws.revoke(&host, &grant.id);
    }
}

/// Nobody runs teardown: at the expiry the host removes the recording set-up with the rest,
/// and keeps the recordings (root's alone) until a later teardown copies and removes them. An
/// sftp-only grant's jail goes with the log socket mounted in it, and teardown still finds its
/// transfers in the system log.
#[test]
fn at_the_ttl_the_set_up_goes_and_the_recordings_wait_for_teardown() {
    let Some((host, ws)) = TestHost::builder()
        .service("atd")
        .service("rsyslog")
        .trusted()
        .and_then(|(h, w)| recording(h, w))
    else {
        return;
    };
    let grant = ws.grant(&host, &["--ttl", "15s"]);
    let jailed = ws.grant(&host, &["--ttl", "15s", "--playbook", "sftp-only"]);
    host.ssh_as(grant.account(), grant.password(), "echo before-expiry");
    let out = host.sftp_batch(jailed.account(), jailed.password(), "mkdir before-expiry\n");
    assert!(
        out.status.success(),
        "{}",
        crate::support::text(&out.stderr)
    );
    let wrapper = format!("/etc/ssh/handover-session-{}", grant.id);
    let jail = format!("/run/handover-sftp-{}", jailed.account());
    assert!(host.ok(&format!(
        "test -e {wrapper} && mountpoint -q {jail}/dev/log"
    )));
    let deadline = Instant::now() + Duration::from_secs(60);
    while host.ok(&format!("test -e {wrapper} || test -e {jail}"))
        || host.has_account(grant.account())
        || host.has_account(jailed.account())
    {
        assert!(Instant::now() < deadline, "the set-up outlived its expiry");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(!host.ok(&format!(
        "test -e /etc/sudoers.d/handover-{}-record",
        grant.id
    )));
    assert_eq!(
        host.sh(&format!("grep -c ' {jail}' /proc/self/mountinfo || true"))
            .trim(),
        "0"
    );
    let dir = on_host(&grant.id);
    assert!(host.ok(&format!("test -s {dir}/events.json")));
    for (g, expected) in [
        (&grant, "before-expiry"),
        (&jailed, "made directory /cms/before-expiry"),
    ] {
        let report = ws.teardown_as_root(&host, &g.id, &["--json"]).run().json();
        let all = report["sessions"].to_string();
        assert!(all.contains(expected), "{report}");
        let dir = on_host(&g.id);
        assert!(!host.ok(&format!("test -e {dir}")), "{dir} is left");
    }
}

/// Ctrl-C ends `watch` cleanly, and its side on the host ends with it.
#[test]
fn ctrl_c_stops_watching_and_leaves_nothing_running_on_the_host() {
    let Some((host, ws)) = trusted_host().and_then(|(h, w)| recording(h, w)) else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let watcher = ws
        .handover(&["watch", &grant.id])
        .with_root_password(&host)
        .spawn();
    // Waiting for a session: the host polls for one.
    let polling = || host.ok("pgrep -x find >/dev/null || pgrep -f 'slee[p] 0[.]2' >/dev/null");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !polling() {
        assert!(
            Instant::now() < deadline,
            "watch never started waiting on the host"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &watcher.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let out = watcher.wait_with_output().expect("wait for watch");
    assert!(out.status.success(), "{out:?}");
    assert!(
        crate::support::text(&out.stderr).contains("stopped watching"),
        "{}",
        crate::support::text(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while polling() {
        assert!(
            Instant::now() < deadline,
            "watch's loop still runs on the host"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ws.revoke(&host, &grant.id);
}

/// Teardown's `--seal-to` (the customer's own key) seals the recordings' copy: no plain copy
/// is kept, `sessions` needs the private key, and the real `age` opens it too.
#[test]
fn recordings_sealed_at_teardown_open_only_with_the_key() {
    let Some((host, ws)) = trusted_host().and_then(|(h, w)| recording(h, w)) else {
        return;
    };
    let key = crate::support::keygen(ws.dir.path(), "customer_ed25519", &["-t", "ed25519"]);
    let public = key.with_extension("pub");
    let grant = ws.grant(&host, &[]);
    host.ssh_as(grant.account(), grant.password(), "echo sealed-marker");
    ws.teardown_as_root(
        &host,
        &grant.id,
        &["--seal-to", public.to_str().expect("utf-8")],
    )
    .run()
    .expect_code(0);
    let grants = ws.state_dir().join("grants");
    assert!(!grants.join(format!("{}.recordings", grant.id)).exists());
    let sealed = grants.join(format!("{}.recordings.age", grant.id));
    assert!(sealed.exists());
    let refused = ws.handover(&["sessions", &grant.id]).run().expect_code(2);
    assert!(
        refused.stderr.contains("--unseal-with"),
        "{}",
        refused.stderr
    );
    let listed = ws
        .handover(&[
            "sessions",
            &grant.id,
            "--unseal-with",
            key.to_str().expect("utf-8"),
        ])
        .run()
        .expect_code(0)
        .stdout;
    assert!(listed.contains("echo sealed-marker"), "{listed}");
    let opened = std::process::Command::new("sh")
        .arg("-c")
        .arg("age -d -i \"$1\" \"$2\" | tar -tf -")
        .arg("sh")
        .arg(&key)
        .arg(&sealed)
        .output()
        .expect("age and tar");
    assert!(opened.status.success(), "{opened:?}");
    assert!(
        crate::support::text(&opened.stdout).contains("events.json"),
        "{opened:?}"
    );
    // Nothing unsealed is left behind.
    let left: Vec<_> = std::fs::read_dir(&grants)
        .expect("the grants directory")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("recordings.open"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The copy here is never replaced by what the host no longer has: recordings gone from the
/// host (removed by someone with root) leave the earlier copy as it was, through teardown.
#[test]
fn an_earlier_copy_survives_recordings_gone_from_the_host() {
    let Some((host, ws)) = trusted_host().and_then(|(h, w)| recording(h, w)) else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    host.ssh_as(grant.account(), grant.password(), "echo kept-marker");
    let sessions = || {
        ws.handover(&["sessions", &grant.id])
            .with_root_password(&host)
            .run()
            .expect_code(0)
            .stdout
    };
    assert!(sessions().contains("kept-marker"));
    host.sh(&format!("rm -rf {}", on_host(&grant.id)));
    assert!(sessions().contains("kept-marker"));
    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(0)
        .json();
    assert!(
        report["sessions"].to_string().contains("kept-marker"),
        "{report}"
    );
}

/// An sftp-only account, jailed inside sshd where sudo cannot reach: `internal-sftp` logs each
/// file operation to the host's real rsyslog, teardown collects the account's lines into the
/// recordings, `sessions`, `replay` and the report list them, and the log socket's mount goes
/// with the jail. Without a system log, `require` refuses and `auto` says so.
#[test]
fn an_sftp_only_accounts_transfers_are_recorded_from_the_system_log() {
    let Some((host, ws)) = TestHost::builder()
        .service("cron")
        .service("rsyslog")
        .trusted()
    else {
        return;
    };
    let sftp_only = |extra: &[&str]| {
        let mut args = vec!["--playbook", "sftp-only", "--scope", &host.scope];
        args.extend_from_slice(extra);
        ws.provision_as_root(&host, &args)
    };
    let grant = sftp_only(&["--record", "require", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let (account, password) = (grant.account().to_owned(), grant.password().to_owned());
    let jail = format!("/run/handover-sftp-{account}");
    assert!(host.ok(&format!(
        "mountpoint -q {jail}/dev/log && test -S {jail}/dev/log"
    )));

    sftp_round_trip(&host, &ws, &account, &password, "uploaded into the jail\n");
    // Another account's sftp lines in the same log are not the grant's.
    host.sh("logger -p auth.info -t internal-sftp 'session opened for local user other from [192.0.2.7]'");

    let listed = ws
        .handover(&["sessions", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let sessions = listed["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{listed}");
    let session = &sessions[0];
    assert_eq!(session["kind"], "sftp", "{session}");
    assert_eq!(session["user"], account.as_str(), "{session}");
    assert_eq!(session["source"], host.gateway.as_str(), "{session}");
    let files = serde_json::to_string(&session["files"]).expect("json");
    for expected in [
        "uploaded /cms/up.txt (23 bytes)",
        "downloaded /cms/up.txt (23 bytes)",
        "renamed /cms/up.txt → /cms/up2.txt",
        "removed /cms/up2.txt",
    ] {
        assert!(
            files.contains(expected),
            "`{expected}` missing from {files}"
        );
    }
    let id = session["id"].as_str().expect("id").to_owned();
    // No terminal to watch: said at once, without waiting.
    ws.handover(&["watch", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(1)
        .assert_stderr_contains("no terminal to watch");
    let replayed = ws
        .handover(&["replay", &grant.id, &id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    replayed.assert_stdout_contains("remove name \"/cms/up2.txt\"");

    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(0)
        .json();
    let all = serde_json::to_string(&report["sessions"]).expect("json");
    assert!(all.contains("uploaded /cms/up.txt"), "{all}");
    assert!(!host.ok(&format!("test -e {jail}")));
    assert!(!host.ok(&format!("test -e {}", on_host(&grant.id))));
    assert_eq!(
        host.sh(&format!("grep -c ' {jail}' /proc/self/mountinfo || true"))
            .trim(),
        "0"
    );
    // After teardown, from the copy.
    let listed = ws
        .handover(&["sessions", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(listed["sessions"][0]["id"], id.as_str(), "{listed}");

    // No system log: `require` refuses before any change, `auto` warns and jails unrecorded.
    host.sh("pkill -x rsyslogd; rm -f /dev/log");
    host.refuses(
        sftp_only(&["--record", "require"]),
        &["no system log", "`rsyslog`"],
    );
    let grant = sftp_only(&["--json"]).run().expect_code(0).provisioned();
    assert!(
        grant
            .warnings
            .iter()
            .any(|w| w.contains("not recorded") && w.contains("no system log")),
        "{:?}",
        grant.warnings
    );
    assert!(!host.ok(&format!(
        "test -e /run/handover-sftp-{}/dev",
        grant.account()
    )));
    ws.revoke(&host, &grant.id);
}
