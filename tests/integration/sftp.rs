//! The `sftp-only` playbook: an account that can only use SFTP, jailed so that it sees the CMS
//! directory and nothing else; teardown removes the jail and its bind mount and leaves the CMS
//! files where and as they were.

use crate::support::{Run, TestHost, Workspace, text, trusted_host};

/// `provision --playbook sftp-only --scope SCOPE --account ACCOUNT EXTRA…` as root.
fn sftp_only(ws: &Workspace, host: &TestHost, account: &str, extra: &[&str]) -> Run {
    ws.provision_as_root(
        host,
        &[
            &[
                "--playbook",
                "sftp-only",
                "--scope",
                &host.scope,
                "--account",
                account,
            ],
            extra,
        ]
        .concat(),
    )
}

/// The customer still logs in as root.
#[track_caller]
fn root_still_logs_in(host: &TestHost) {
    let out = host.ssh_as("root", &host.root_password, "id -un");
    assert_eq!(text(&out.stdout).trim(), "root", "root cannot log in");
}

/// The CMS files as they are: path, owner, mode and checksum of every file.
fn cms_files(host: &TestHost) -> String {
    host.sh(&format!(
        "cd {} && find . -printf '%p %u:%g %m\\n' | sort && find . -type f -exec sha256sum {{}} + | sort",
        host.scope
    ))
}

#[test]
fn sftp_only_account_sees_only_the_cms_and_teardown_removes_the_jail() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    let files_before = cms_files(&host);

    let account = "support-sftp1";
    let grant = sftp_only(&ws, &host, account, &["--json"])
        .run()
        .expect_code(0)
        .provisioned();
    assert_eq!(grant.playbook, "sftp-only");
    let password = grant.password();
    assert_eq!(
        host.sh(&format!("getent passwd {account} | cut -d: -f7"))
            .trim(),
        "/usr/sbin/nologin"
    );
    let jail = format!("/run/handover-sftp-{account}");
    assert!(host.ok(&format!("mountpoint -q {jail}/cms")));

    // No shell and no command: sshd refuses every session but SFTP.
    for cmd in ["id", "touch /tmp/handover-pwned", "/bin/sh -c id"] {
        let out = host.ssh_as(account, password, cmd);
        assert!(!out.status.success(), "`{cmd}` succeeded");
        assert!(
            !text(&out.stdout).contains("uid="),
            "`{cmd}` ran: {}",
            text(&out.stdout)
        );
    }
    assert!(!host.ok("test -e /tmp/handover-pwned"));
    let out = host.ssh_with(account, password, &["-tt"], None);
    assert!(!out.status.success(), "an interactive session opened");

    // SFTP: starts in /cms, the jail holds nothing else, and the CMS files are there.
    let out = host.sftp_batch(account, password, "pwd\nls -1 /\nls -1 /cms\n");
    let listing = text(&out.stdout);
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    assert!(
        listing.contains("Remote working directory: /cms"),
        "{listing}"
    );
    let root_entries: Vec<&str> = listing
        .split("sftp> ls -1 /\n")
        .nth(1)
        .and_then(|rest| rest.split("sftp> ").next())
        .map(|l| l.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    assert_eq!(root_entries, ["/cms"], "{listing}");
    assert!(
        listing.contains("index.php") && listing.contains("_config.php"),
        "{listing}"
    );
    // Nothing outside the jail is reachable.
    let stolen = ws.dir.path().join("passwd");
    for cmd in [
        "ls /etc".to_owned(),
        format!("get /etc/passwd {}", stolen.display()),
        "cd /root".to_owned(),
        "ls /var/www".to_owned(),
    ] {
        let out = host.sftp_batch(account, password, &format!("{cmd}\n"));
        assert!(
            !out.status.success(),
            "`{cmd}` worked in the jail: {}",
            text(&out.stdout)
        );
    }
    assert!(!stolen.exists());
    let out = host.sftp_batch(account, password, "ls -1 ../..\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let up = text(&out.stdout);
    assert!(!up.contains("etc") && up.contains("cms"), "{up}");

    // Upload into the scope (and a subdirectory), read a CMS file.
    let local = ws.dir.path().join("upload.txt");
    std::fs::write(&local, "vendor upload\n").expect("write local file");
    let fetched = ws.dir.path().join("index.php");
    let out = host.sftp_batch(
        account,
        password,
        &format!(
            "put {} upload.txt\nput {} uploads/upload2.txt\nget index.php {}\n",
            local.display(),
            local.display(),
            fetched.display()
        ),
    );
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    assert_eq!(
        host.sh(&format!("cat {}/upload.txt", host.scope)),
        "vendor upload\n"
    );
    assert!(host.ok(&format!("test -f {}/uploads/upload2.txt", host.scope)));
    assert_eq!(
        std::fs::read_to_string(&fetched).expect("fetched"),
        host.sh(&format!("cat {}/index.php", host.scope))
    );

    // Forwarding is refused for this account too (the sshd-match action of every grant).
    let out = host.ssh_with(
        account,
        password,
        &["-W", &format!("{}:22", host.addr)],
        None,
    );
    assert!(!text(&out.stdout).contains("SSH-2.0"), "a -W tunnel opened");

    let report = ws.revoke_report(&host, &grant.id);
    assert!(report.verified, "{report}");
    assert!(
        report.reassigned.iter().any(|p| p.contains("upload.txt")),
        "{report}"
    );

    // The jail and its mount are gone, the sshd drop-ins too, sshd is fine.
    assert!(!host.ok(&format!("test -e {jail}")), "jail left");
    let mounts = host.sh("cat /proc/self/mountinfo");
    assert!(!mounts.contains("handover-sftp"), "mount left:\n{mounts}");
    assert!(
        !host.sh("ls -A /etc/ssh/sshd_config.d").contains("handover"),
        "drop-in left"
    );
    assert!(host.ok("sshd -t"));
    assert!(
        !host.sftp_batch(account, password, "ls\n").status.success(),
        "the account still logs in"
    );

    // The CMS files are untouched: the vendor's uploads stay (handed to the scope's owner),
    // everything else is exactly as before.
    host.sh(&format!(
        "rm {s}/upload.txt {s}/uploads/upload2.txt",
        s = host.scope
    ));
    assert_eq!(files_before, cms_files(&host), "the CMS files changed");
    assert_eq!(before, host.snapshot(), "the host is not as before");
    root_still_logs_in(&host);
}

#[test]
fn a_failed_sftp_only_provision_unmounts_and_removes_the_jail() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // A customer's drop-in that sorts first and allows PermitOpen for everyone: the sshd-match
    // step (after the jail is mounted and its drop-in loaded) fails and everything rolls back.
    host.sh(
        "printf 'Match User *\\n\\tPermitOpen any\\n' > /etc/ssh/sshd_config.d/00-aaa-customer.conf",
    );
    let before = host.snapshot();
    let files_before = cms_files(&host);

    let out = sftp_only(&ws, &host, "support-sftp2", &[])
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("sshd-match") && out.stderr.contains("permitopen is any, not none"),
        "{}",
        out.stderr
    );
    out.assert_stderr_contains("rolled back: everything applied was removed and verified absent");
    assert!(!host.ok("test -e /run/handover-sftp-support-sftp2"));
    assert!(
        !host
            .sh("cat /proc/self/mountinfo")
            .contains("handover-sftp")
    );
    assert_eq!(before, host.snapshot(), "the host is not as before");
    assert_eq!(files_before, cms_files(&host), "the CMS files changed");
    assert!(host.ok("sshd -t"));
    root_still_logs_in(&host);
}
