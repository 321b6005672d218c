//! Baseline, drift report and `handover audit`: persistence planted by the temporary account is
//! reported by path; the vendor's work in the CMS directory is listed, not counted as drift.

use crate::docs::Drift;
use crate::support::{Finished, fingerprint, host_with_root_key, keypair, text, trusted_host};

/// Show the timing lines of a `-v` run (the baseline and drift check costs), without judging
/// them: timings belong in the benchmark.
fn show_timings(what: &str, run: &Finished) {
    for line in run.stderr.lines().filter(|l| {
        l.contains("baseline:")
            || l.contains("drift check:")
            || l.contains("audit:")
            || l.contains("teardown script took")
    }) {
        eprintln!("[{what}] {}", line.trim());
    }
}

#[test]
fn persistence_planted_by_a_root_level_account_is_reported_by_path() {
    // The customer's own key is in root's authorized_keys already.
    let Some((host, ws, _)) = host_with_root_key() else {
        return;
    };
    let (_, planted_key) = keypair(ws.dir.path(), "planted", "");
    let planted_fingerprint = fingerprint(&planted_key);

    let out = ws
        .provision_as_root(
            &host,
            &["--scope", &host.scope, "--level", "root", "--json", "-v"],
        )
        .run()
        .expect_code(0);
    show_timings("provision", &out);
    assert!(
        out.stderr.contains("executions=3"),
        "the baseline must not cost a remote execution (preflight with it, the backup, apply):\n{}",
        out.stderr
    );
    let provisioned = out.provisioned();
    let (grant, account, password) = (
        provisioned.id.as_str(),
        provisioned.account(),
        provisioned.password(),
    );
    let baseline_text = std::fs::read_to_string(ws.baseline_path(grant)).expect("baseline file");
    assert!(
        !baseline_text.contains(&host.root_password) && !baseline_text.contains(password),
        "a password in the baseline"
    );
    let root_hash = host.sh("getent shadow root | cut -d: -f2");
    assert!(
        !baseline_text.contains(root_hash.trim()),
        "a password hash in the baseline"
    );

    // Nothing planted yet: the grant's own account, home and sudoers file are not drift.
    let out = ws
        .handover(&["audit", grant, "--json", "-v"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    show_timings("audit", &out);
    let report = out.audit_report();
    assert_eq!(report.drift.status, "no drift detected", "{report}");
    assert!(report.drift.persistence.is_empty(), "{report}");

    // The vendor, as the temporary account, leaves back-doors of several kinds behind (from the
    // lists of Linux persistence techniques), each named `evil` where it can be.
    let planted_key = format!(
        "{} evil@handover-test",
        planted_key.rsplit_once(' ').expect("key comment").0
    );
    host.sudo_as(
        account,
        password,
        &format!(
            "set -e
printf '%s\\n' '{planted_key}' >> /root/.ssh/authorized_keys
echo '* * * * * root /bin/true' > /etc/cron.d/evil-job
useradd -o -u 0 -g 0 -M -s /bin/bash evil
echo 'evil ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/evil
chmod 0440 /etc/sudoers.d/evil
printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/evil.service
cp /bin/bash /var/tmp/.evil
chmod 4755 /var/tmp/.evil
echo 'f /run/evil 0644 root root - x' > /etc/tmpfiles.d/evil.conf
echo 'post-invoke=/bin/true evil' > /etc/dpkg/dpkg.cfg.d/evil
mkdir -p /usr/lib/python3/dist-packages
echo 'import os; os.system(\"true evil\")' > /usr/lib/python3/dist-packages/evil.pth
echo '+ +' > /etc/hosts.equiv
echo '+ +' > /root/.rhosts
cp /bin/true /usr/sbin/nologin
# Last: tools ahead of the system's on root's PATH that hide every line naming `evil`.
# (Each runs the real one where it is: /bin and /usr/bin differ before merged /usr, Debian 11.)
for t in sed find awk sort sha256sum stat; do
  real=$(PATH=/usr/bin:/bin command -v $t)
  printf '#!/bin/bash\\n%s \"$@\" | /bin/grep -a -v evil\\nexit ${{PIPESTATUS[0]}}\\n' $real > /usr/local/bin/$t
  chmod 755 /usr/local/bin/$t
done
"
        ),
    );
    // A raw-socket listener (as BPFDoor uses: it sees packets before the firewall), started
    // outside the account's session so that teardown's ending of its processes leaves it.
    host.sh(
        "setsid perl -MSocket -e 'socket(my $s, PF_INET, SOCK_RAW, 255) or die $!; $0 = \"evil-listener\"; sleep 3600' \
         </dev/null >/dev/null 2>&1 &",
    );
    // And leaves files of its own outside the CMS directory, one of them setuid.
    let out = host.ssh_as(
        account,
        password,
        "echo notes > /tmp/left-by-vendor && cp /bin/true /tmp/vendor-suid && chmod 4755 /tmp/vendor-suid",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let planted = [
        "/root/.ssh/authorized_keys",
        "/etc/cron.d/evil-job",
        "/etc/sudoers.d/evil",
        "/etc/systemd/system/evil.service",
        "/var/tmp/.evil",
        "/etc/tmpfiles.d/evil.conf",
        "/etc/dpkg/dpkg.cfg.d/evil",
        "/usr/lib/python3/dist-packages/evil.pth",
        "/etc/hosts.equiv",
        "/root/.rhosts",
        "/usr/sbin/nologin",
        "/usr/local/bin/sed",
        "/usr/local/bin/sha256sum",
    ];
    let check = |drift: &Drift| {
        for path in planted {
            assert!(
                drift.reports(Some(path), &[path]),
                "`{path}` not reported: {drift:#}"
            );
        }
        assert!(
            drift.reports(Some("/etc/passwd"), &["`evil` uid 0"]),
            "the uid-0 account is not reported: {drift:#}"
        );
        assert!(
            drift.reports(
                None,
                &["1 key added", &planted_fingerprint, "evil@handover-test"]
            ),
            "the planted key is not named: {drift:#}"
        );
        assert!(
            drift.reports(None, &["setuid", "/var/tmp/.evil"]),
            "{drift:#}"
        );
        assert!(
            drift.reports(Some("/usr/sbin/nologin"), &["system executable"]),
            "{drift:#}"
        );
        assert!(
            drift.reports(Some("raw 0.0.0.0:255"), &["evil-listener"]),
            "the raw-socket listener is not reported: {drift:#}"
        );
        assert_eq!(drift.status, "drift detected");
    };

    check(&ws.audit(&host, grant, 3).drift);

    let out = ws
        .teardown_as_root(&host, grant, &["--json", "-v"])
        .run()
        .expect_code(3);
    show_timings("teardown", &out);
    // The teardown script, the recordings' copy and then their removal (only once the copy is
    // safe here; none where the host could not record), the site's comparison with its backup.
    out.assert_stderr_contains(if provisioned.recorded() {
        "executions=4"
    } else {
        "executions=2"
    });
    let report = out.teardown_report();
    // The grant's own actions are gone; the exit status is the drift's.
    assert!(report.verified, "{report}");
    assert_eq!(report.state, "revoked");
    let drift = report.drift();
    check(drift);
    assert!(
        drift.reports(Some("/tmp/vendor-suid"), &["setuid"]),
        "{drift:#}"
    );
    assert!(
        !drift.reports(None, &[account]),
        "the grant's own account shows as drift: {drift:#}"
    );

    // The account's leftovers belong to root now; the setuid bit did not survive the hand-over.
    let to_root = &report.reassigned_to_root;
    for path in ["/tmp/left-by-vendor", "/tmp/vendor-suid"] {
        assert!(to_root.iter().any(|p| p == path), "{to_root:?}");
        assert_eq!(host.sh(&format!("stat -c %u:%g {path}")).trim(), "0:0");
    }
    assert_eq!(host.sh("stat -c %a /tmp/vendor-suid").trim(), "755");

    // Teardown again: already revoked. The audit still compares, and still finds the drift.
    ws.revoke(&host, grant);
    let out = ws
        .handover(&["audit", grant])
        .with_root_password(&host)
        .run()
        .expect_code(3);
    out.assert_stdout_contains("/etc/cron.d/evil-job");
    assert!(
        ws.record(grant)
            .has_event(|w| w.contains("changes on the persistence surface")),
        "the drift is not in the grant's history"
    );
}

#[test]
fn the_vendors_work_in_the_cms_directory_is_listed_and_is_not_drift() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let out = host.ssh_as(
        grant.account(),
        grant.password(),
        &format!(
            "cd {} && echo '// fixed' >> index.php && echo '<?php echo 1;' > fix.php \
             && echo 'Options -Indexes' > .htaccess && echo 'display_errors=Off' > .user.ini \
             && echo notes > uploads/notes.txt && echo tmp > /tmp/vendor-scratch",
            host.scope
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // While the grant is active: the same picture, and exit 0.
    let active = ws.audit(&host, &grant.id, 0);
    assert_eq!(active.drift.status, "no drift detected", "{active}");

    let text = ws.revoke(&host, &grant.id).stdout;
    assert!(
        text.contains("persistence surface: no drift detected"),
        "{text}"
    );
    assert!(!text.contains("clean"), "{text}");
    let line = |path: &str| {
        text.lines()
            .find(|l| l.contains(&format!("{}/{path}", host.scope)) && !l.starts_with("    /"))
            .unwrap_or_else(|| panic!("`{path}` not listed:\n{text}"))
            .to_owned()
    };
    for added in ["fix.php", ".htaccess", ".user.ini"] {
        let l = line(added);
        assert!(l.contains("added") && l.contains("review"), "{l}");
    }
    let l = line("uploads/notes.txt");
    assert!(l.contains("added") && !l.contains("review"), "{l}");
    let l = line("index.php");
    assert!(l.contains("changed") && !l.contains("review"), "{l}");
    // The vendor's scratch file outside the scope went to root, and is not drift.
    assert!(text.contains("/tmp/vendor-scratch"), "{text}");

    // The same as JSON, from an audit after the grant was revoked.
    let drift = ws.audit(&host, &grant.id, 0).drift;
    assert_eq!(drift.status, "no drift detected", "{drift}");
    let cms = drift.cms();
    let path = |p: &str| format!("{}/{p}", host.scope);
    for p in ["fix.php", ".htaccess", ".user.ini", "uploads/notes.txt"] {
        assert!(cms.added.contains(&path(p)), "{p} not added: {drift}");
    }
    assert_eq!(cms.changed, vec![path("index.php")], "{drift}");
    assert!(cms.removed.is_empty(), "{drift}");
    let mut review = cms.review.clone();
    review.sort();
    assert_eq!(
        review,
        vec![path(".htaccess"), path(".user.ini"), path("fix.php")],
        "{drift}"
    );
}

#[test]
fn without_a_baseline_teardown_skips_the_drift_check_but_still_reassigns_leftovers() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--no-baseline"]);
    assert!(!ws.baseline_path(&grant.id).exists());
    let out = ws
        .handover(&["audit", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    out.assert_stderr_contains("--no-baseline");

    assert!(
        host.ssh_as(grant.account(), grant.password(), "echo x > /tmp/left")
            .status
            .success()
    );
    let report = ws.revoke_report(&host, &grant.id);
    assert!(!report.drift().checked, "{report}");
    assert_eq!(report.reassigned_to_root, ["/tmp/left"]);
    assert_eq!(host.sh("stat -c %u /tmp/left").trim(), "0");
}
