//! `handover restore` against a real WordPress (#17): what the vendor changed in the scope
//! during the window (an edited theme file, an added file, deleted files with hostile names, a
//! changed mode) is listed by `--dry-run`, put back exactly by `restore --yes` before and after
//! teardown, and `restore --check` proves a backup restores or names what is wrong with it.

use crate::support::{TestHost, wordpress};

/// Files with hostile names, made by the customer before the window.
const HOSTILE: &str = "cd /var/www/wp && mkdir -p wp-content/uploads && printf 'a space\\n' > 'wp-content/uploads/a b.txt' && printf 'a newline\\n' > \"$(printf 'wp-content/uploads/new\\nline.txt')\" && printf 'dash\\n' > wp-content/uploads/-rf && head -c 3000 /dev/urandom > wp-content/uploads/photo.bin && chown -R www-data:www-data wp-content/uploads";

/// The theme file that renders every page's footer.
const FOOTER: &str = "wp-content/themes/twentytwentyone/footer.php";

/// The whole tree: kinds, owners, sizes of files, link targets, every file's SHA-256, and
/// with `modes_and_acls` the modes and the ACLs beyond them.
fn tree(host: &TestHost, modes_and_acls: bool) -> String {
    let (mode, acls) = if modes_and_acls {
        (
            "%m ",
            // One line per file, in name order (getfacl walks in directory order).
            "getfacl -R -s -p . 2>/dev/null | awk 'BEGIN {RS=\"\"} {gsub(\"\\n\", \" \"); print}' | LC_ALL=C sort",
        )
    } else {
        ("", "true")
    };
    host.sh(&format!(
        "cd /var/www/wp && {{ find . ! -type f -printf '%y {mode}%U %G %l %p\\n'; find . -type f -printf '%y {mode}%U %G %s %p\\n'; }} | LC_ALL=C sort && find . -type f -exec sha256sum {{}} + | LC_ALL=C sort && {acls}"
    ))
}

/// `left` and `right` are the same tree; the lines that differ when not.
#[track_caller]
fn assert_same(left: &str, right: &str, what: &str) {
    if left != right {
        let l: std::collections::BTreeSet<&str> = left.lines().collect();
        let r: std::collections::BTreeSet<&str> = right.lines().collect();
        let only = |a: &std::collections::BTreeSet<&str>, b| {
            a.difference(b)
                .take(40)
                .copied()
                .collect::<Vec<&str>>()
                .join("\n  ")
        };
        panic!(
            "{what}:\nonly now:\n  {}\nonly expected:\n  {}",
            only(&l, &r),
            only(&r, &l)
        );
    }
}

fn front_page(host: &TestHost) -> String {
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    let (status, _, body) = host.http("/", jar.path(), &[]);
    assert_eq!(status, 200, "{body}");
    body
}

/// Whether the front page shows `needle`, waiting for PHP's opcache to see a file change (it
/// looks at a file's time at most every 2 s).
fn page_shows(host: &TestHost, needle: &str, expected: bool) -> bool {
    for _ in 0..40 {
        if front_page(host).contains(needle) == expected {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// The vendor's window: through its own login (user level: the scope is shared with it by
/// ACL), it edits the theme's footer, adds a PHP file, deletes two files with hostile names and
/// rewrites a binary one; a mode change its account cannot make is made as root.
fn vendor_window(host: &TestHost, account: &str, password: &str) {
    let out = host.ssh_as(
        account,
        password,
        &format!(
            "cd /var/www/wp && echo '<p>VENDOR-EDIT</p>' >> {FOOTER} && echo '<?php echo 1;' > wp-content/vendor-note.php && rm -- 'wp-content/uploads/a b.txt' \"$(printf 'wp-content/uploads/new\\nline.txt')\" && head -c 2000 /dev/urandom > wp-content/uploads/photo.bin"
        ),
    );
    assert!(
        out.status.success(),
        "the vendor's changes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    host.sh("chmod 666 /var/www/wp/wp-config.php");
}

#[test]
fn restore_lists_then_puts_back_exactly_what_the_vendor_changed_before_and_after_teardown() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    host.sh(HOSTILE);
    // The first page WordPress serves makes its uploads directory for the month.
    let page_before = front_page(&host);
    let before = tree(&host, true);
    let before_plain = tree(&host, false);
    assert!(!page_before.contains("VENDOR-EDIT"));
    let grant = ws
        .provision_as_root(&host, &["--scope", "/var/www/wp", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let (account, password) = (
        grant.account.clone().expect("an account"),
        grant.password.clone().expect("a password"),
    );
    vendor_window(&host, &account, &password);
    assert!(page_shows(&host, "VENDOR-EDIT", true));
    let during = tree(&host, true);

    // --dry-run lists exactly those and changes nothing.
    let plan = ws
        .handover(&["restore", &grant.id, "--dry-run", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let paths = |list: &str| -> Vec<String> {
        plan["files"]["plan"][list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} in {plan}"))
            .iter()
            .map(|c| c["path"].as_str().expect("path").to_owned())
            .collect()
    };
    assert_eq!(paths("added"), ["wp-content/vendor-note.php"], "{plan}");
    let mut changed = paths("changed");
    changed.sort();
    assert_eq!(
        changed,
        ["wp-config.php", FOOTER, "wp-content/uploads/photo.bin"],
        "{plan}"
    );
    let mut removed = paths("removed");
    removed.sort();
    assert_eq!(
        removed,
        [
            "wp-content/uploads/a b.txt",
            "wp-content/uploads/new\nline.txt"
        ],
        "{plan}"
    );
    assert_same(&tree(&host, true), &during, "a dry run changed the scope");

    // Without a terminal and without --yes: an error, nothing changed.
    let refused = ws
        .handover(&["restore", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_same(
        &tree(&host, true),
        &during,
        "a refused restore changed the scope",
    );

    // On a terminal it asks, showing what it would do; anything but yes changes nothing.
    let declined = ws
        .handover(&["restore", &grant.id])
        .with_root_password(&host)
        .stdin(b"n\n")
        .on_terminal()
        .run();
    assert_ne!(declined.code, 0, "{}", declined.stderr);
    for shown in [
        "/var/www/wp",
        "1 added entries are removed, 3 changed and 2 removed are restored.",
        "Restore? [y/N]",
    ] {
        assert!(
            declined.stderr.contains(shown),
            "`{shown}` missing:\n{}",
            declined.stderr
        );
    }
    assert_same(
        &tree(&host, true),
        &during,
        "a declined restore changed the scope",
    );

    // Yes: back as before, verified; the grant's own ACL stays while it is live.
    let done = ws
        .handover(&["restore", &grant.id])
        .with_root_password(&host)
        .stdin(b"y\n")
        .on_terminal()
        .run()
        .expect_code(0);
    assert!(done.stdout.contains("verified"), "{}", done.stdout);
    assert_same(
        &tree(&host, false),
        &before_plain,
        "restored during the window",
    );
    assert!(page_shows(&host, "VENDOR-EDIT", false));
    assert!(
        host.ok(&format!(
            "runuser -u {account} -- test -w /var/www/wp/{FOOTER}"
        )),
        "the live grant's access was taken away"
    );
    // Nothing left to do.
    ws.handover(&["restore", &grant.id, "--yes"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .assert_stdout_contains("nothing to restore");

    // After teardown the scope is exactly as before the window, modes and ACLs included.
    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    assert_same(&tree(&host, true), &before, "restored after teardown");

    // And a revoked grant restores too: someone changes the site after the window. An ACL
    // on a directory that stays, and a default one its restored file would inherit, go.
    host.sh(&format!(
        "cd /var/www/wp && echo '<p>VENDOR-EDIT</p>' >> {FOOTER} && rm -- wp-content/uploads/-rf && chmod 600 index.php && setfacl -m u:nobody:rwx wp-login.php && setfacl -m u:nobody:rwx,d:u:nobody:rwx wp-content/uploads"
    ));
    assert!(page_shows(&host, "VENDOR-EDIT", true));
    ws.handover(&["restore", &grant.id, "--yes"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert_same(&tree(&host, true), &before, "restored after teardown");
    assert!(page_shows(&host, "VENDOR-EDIT", false));
    assert_eq!(front_page(&host), page_before);
}

#[test]
fn restore_check_passes_on_a_good_backup_and_names_what_is_wrong_with_a_bad_one() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = ws
        .provision_as_root(&host, &["--scope", "/var/www/wp", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let dir = std::path::PathBuf::from(&grant.backup.as_ref().expect("a backup").dir);
    let snapshot = host.snapshot();
    let good = ws
        .handover(&["restore", "--check", "--files", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(good["files"]["mismatches"], serde_json::json!([]), "{good}");
    assert!(
        good["files"]["matched"].as_u64().expect("matched") > 1000,
        "{good}"
    );
    assert_eq!(good["files"]["stream_sha256_ok"], true);
    // Nothing of it stays behind, nothing on the host changed.
    assert_eq!(host.snapshot(), snapshot);

    // One byte of the archive changed: the check fails and names where.
    let archive = dir.join("files.tar.zst");
    let original = std::fs::read(&archive).expect("archive");
    let mut bad = original.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    std::fs::write(&archive, &bad).expect("write");
    let failed = ws
        .handover(&["restore", "--check", "--files", &grant.id])
        .run();
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    let said = format!("{}{}", failed.stdout, failed.stderr);
    assert!(said.contains("./") || said.contains("wp-"), "{said}");
    std::fs::write(&archive, &original).expect("write");

    // A manifest missing, or a `.part` left by a killed provision: refused by --check and
    // by restore, nothing changed.
    let manifest = dir.join("manifest.json");
    std::fs::rename(&manifest, dir.join("manifest.moved")).expect("move");
    for args in [
        vec!["restore", "--check", grant.id.as_str()],
        vec!["restore", "--yes", grant.id.as_str()],
    ] {
        let out = ws
            .handover(&args)
            .with_root_password(&host)
            .run()
            .expect_code(1);
        assert!(out.stderr.contains("incomplete"), "{}", out.stderr);
        assert!(out.stderr.contains("manifest.json"), "{}", out.stderr);
    }
    std::fs::rename(dir.join("manifest.moved"), &manifest).expect("move");
    std::fs::write(dir.join("files.tar.part"), b"half").expect("part");
    for args in [
        vec!["restore", "--check", grant.id.as_str()],
        vec!["restore", "--yes", grant.id.as_str()],
    ] {
        let out = ws
            .handover(&args)
            .with_root_password(&host)
            .run()
            .expect_code(1);
        assert!(out.stderr.contains("files.tar.part"), "{}", out.stderr);
    }
    assert_eq!(host.snapshot(), snapshot);
}

#[test]
fn a_grant_without_a_backup_is_refused_naming_why() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = ws
        .provision_as_root(&host, &["--scope", "/var/www/wp", "--no-backup", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    for args in [
        vec!["restore", "--yes", grant.id.as_str()],
        vec!["restore", "--check", grant.id.as_str()],
        vec!["diff", grant.id.as_str()],
    ] {
        let out = ws
            .handover(&args)
            .with_root_password(&host)
            .run()
            .expect_code(2);
        assert!(out.stderr.contains("--no-backup"), "{}", out.stderr);
    }
}

/// Teardown compares the site with its backup and gives the counts (files and the database's
/// tables), pointing to `handover diff`; the record keeps them.
#[test]
fn teardown_counts_what_changed_in_the_site_since_the_backup() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    host.sh(HOSTILE);
    let grant = ws
        .provision_as_root(&host, &["--scope", "/var/www/wp", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let (account, password) = (
        grant.account.clone().expect("an account"),
        grant.password.clone().expect("a password"),
    );
    vendor_window(&host, &account, &password);
    host.sh("mariadb wordpress -e 'CREATE TABLE wp_vendor_log (id INT PRIMARY KEY) ENGINE=InnoDB'");
    // The vendor's PHP file in the web root is drift too (exit 3); the counts come either way.
    let out = ws.teardown_as_root(&host, &grant.id, &["--json"]).run();
    assert!(matches!(out.code, 0 | 3), "{}", out.stderr);
    let report = out.teardown_report();
    let site = report.site.expect("the site's changes");
    assert_eq!(site.files_added, 1, "{site:?}");
    assert_eq!(site.files_removed, 2, "{site:?}");
    // The footer, the binary file and wp-config.php's mode.
    assert_eq!(site.files_changed, 3, "{site:?}");
    assert_eq!(site.tables_added, Some(1), "{site:?}");
    assert_eq!(site.tables_removed, Some(0), "{site:?}");
    assert!(
        ws.record_text(&grant.id).contains(
            "site compared with its backup: files: 1 added, 3 changed, 2 removed; tables: 1 added"
        ),
        "{}",
        ws.record_text(&grant.id)
    );
}

/// The site with [`HOSTILE`] names, and its uploads directory for the month: WordPress makes
/// it on the first page it serves (in a request of its own, which may end later), so it is
/// made beforehand.
fn hostile_site(host: &TestHost) {
    host.sh(HOSTILE);
    host.sh("cd /var/www/wp/wp-content/uploads && install -d -o www-data -g www-data \"$(date +%Y)\" \"$(date +%Y/%m)\"");
}

/// `--backup-on-host`: the archive stays on the host (root's alone), its manifest comes here;
/// diff, restore and its check work from it, and an archive replaced on the host is refused.
#[test]
fn a_backup_kept_on_the_host_restores_and_a_replaced_archive_is_refused() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    hostile_site(&host);
    let before = tree(&host, false);
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                "/var/www/wp",
                "--backup-on-host",
                "--backup-db",
                "none",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let backup = grant.backup.as_ref().expect("a backup");
    let archive = format!("/var/backups/handover/{}/files.tar.zst", grant.id);
    assert_eq!(backup.on_host.as_deref(), Some(archive.as_str()));
    assert_eq!(
        host.sh(&format!(
            "stat -c '%a %U' /var/backups/handover /var/backups/handover/{} {archive}",
            grant.id
        )),
        "700 root\n700 root\n600 root\n"
    );
    let local: Vec<String> = std::fs::read_dir(&backup.dir)
        .expect("the backup's directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(local, ["manifest.json"], "only the manifest comes here");

    let (account, password) = (
        grant.account.clone().expect("an account"),
        grant.password.clone().expect("a password"),
    );
    vendor_window(&host, &account, &password);
    let diff = ws
        .handover(&["diff", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        diff.stdout.contains("+<p>VENDOR-EDIT</p>"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("vendor-note.php"), "{}", diff.stdout);

    ws.handover(&["restore", "--check", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    assert!(
        host.sh("ls /var/backups/handover/*/").trim() == "files.tar.zst",
        "the check left something beside the archive"
    );
    ws.handover(&["restore", "--yes", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    ws.revoke(&host, &grant.id);
    assert_same(
        &tree(&host, false),
        &before,
        "after restoring from the host's archive",
    );

    // Replaced on the host (the vendor had root): refused by restore and by its check.
    host.sh(&format!("printf x >> {archive}"));
    host.sh("rm /var/www/wp/index.php");
    for args in [
        vec!["restore", "--yes", &grant.id],
        vec!["restore", "--check", &grant.id],
    ] {
        let out = ws
            .handover(&args)
            .with_root_password(&host)
            .run()
            .expect_code(1);
        assert!(
            out.stderr.contains("not the one taken at provision"),
            "{}",
            out.stderr
        );
    }
    assert!(
        !host.ok("test -e /var/www/wp/index.php"),
        "restored from a replaced archive"
    );
}

/// `--backup-on-host` needs zstd on the host: refused at preflight, naming it.
#[test]
fn a_backup_on_a_host_without_zstd_is_refused_at_preflight() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    host.sh("rm /usr/bin/zstd");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", "/var/www/wp", "--backup-on-host"]),
        &["`zstd`"],
    );
}

/// A scope emptied during the window comes back whole (the whole archive is extracted, without
/// a list of names), exactly as it was, before and after teardown.
#[test]
fn an_emptied_scope_is_restored_whole() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    hostile_site(&host);
    let before = tree(&host, true);
    let grant = ws
        .provision_as_root(
            &host,
            &["--scope", "/var/www/wp", "--backup-db", "none", "--json"],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let restore_verified = || {
        let out = ws
            .handover(&["restore", "--yes", &grant.id])
            .with_root_password(&host)
            .run()
            .expect_code(0);
        assert!(out.stdout.contains("verified"), "{}", out.stdout);
    };
    // While the grant is live: everything comes back, and the grant's own ACL entry with it
    // (the scope itself and what is under it), as its ACL action set it.
    let account = grant.account.clone().expect("an account");
    host.sh("find /var/www/wp -mindepth 1 -delete");
    restore_verified();
    for (path, entries) in [
        ("/var/www/wp", vec!["user:", "default:user:"]),
        ("/var/www/wp/wp-content", vec!["user:", "default:user:"]),
        ("/var/www/wp/index.php", vec!["user:"]),
    ] {
        let acl = host.sh(&format!("getfacl -p {path}"));
        for entry in entries {
            assert!(
                acl.contains(&format!("\n{entry}{account}:rw")),
                "{path} lacks {entry}{account}:\n{acl}"
            );
        }
    }
    ws.revoke(&host, &grant.id);
    assert_same(&tree(&host, true), &before, "after teardown");
    host.sh("find /var/www/wp -mindepth 1 -delete && chmod 700 /var/www/wp");
    restore_verified();
    assert_same(
        &tree(&host, true),
        &before,
        "after restoring an emptied scope",
    );
    assert!(front_page(&host).contains("<title>handover test site</title>"));
}
