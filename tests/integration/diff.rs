//! `handover diff` against a real WordPress (#17): what changed in the scope since the backup,
//! as a unified diff for text files, sizes and hashes for binary ones, added and removed files
//! and mode changes; `--json` is one document.

use crate::support::TestHost;

#[test]
fn diff_shows_the_vendors_changes_since_the_backup() {
    let Some((host, ws)) = TestHost::builder()
        .service("cron")
        .service("wordpress")
        .trusted()
    else {
        return;
    };
    host.sh(
        "cd /var/www/wp && mkdir -p wp-content/uploads && printf 'old line\\n' > 'wp-content/uploads/a b.txt' && head -c 3000 /dev/urandom > wp-content/uploads/photo.bin && chown -R www-data:www-data wp-content/uploads",
    );
    let grant = ws
        .provision_as_root(&host, &["--scope", "/var/www/wp", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let (account, password) = (
        grant.account.clone().expect("an account"),
        grant.password.clone().expect("a password"),
    );
    let out = host.ssh_as(
        &account,
        &password,
        "cd /var/www/wp && sed -i 's/^get_footer();$/echo \"VENDOR\"; get_footer();/' wp-content/themes/twentytwentyone/index.php && echo '<?php echo 1;' > wp-content/vendor-note.php && rm 'wp-content/uploads/a b.txt' && head -c 2000 /dev/urandom > wp-content/uploads/photo.bin",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    host.sh("chmod 640 /var/www/wp/wp-config.php");

    let human = ws
        .handover(&["diff", &grant.id])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let said = &human.stdout;
    for needle in [
        "--- a/wp-content/themes/twentytwentyone/index.php",
        "+++ b/wp-content/themes/twentytwentyone/index.php",
        "-get_footer();",
        "+echo \"VENDOR\"; get_footer();",
        "+++ b/wp-content/vendor-note.php",
        "+<?php echo 1;",
        "--- a/wp-content/uploads/a b.txt",
        "-old line",
        "Binary file wp-content/uploads/photo.bin: 3000 bytes, sha256 ",
        "→ 2000 bytes, sha256 ",
        "mode 644 → 640",
    ] {
        assert!(said.contains(needle), "no {needle:?} in:\n{said}");
    }

    let doc = ws
        .handover(&["diff", &grant.id, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let files = doc["files"]["files"].as_array().expect("files");
    let find = |path: &str| {
        files
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("no {path} in {doc}"))
    };
    assert_eq!(find("wp-content/vendor-note.php")["status"], "added");
    assert_eq!(find("wp-content/uploads/a b.txt")["status"], "removed");
    let photo = find("wp-content/uploads/photo.bin");
    assert_eq!(photo["binary"], true);
    assert_eq!(photo["before"]["size"], 3000);
    assert_eq!(photo["after"]["size"], 2000);
    let config = find("wp-config.php");
    assert_eq!(config["what"], serde_json::json!(["mode"]));
    assert!(
        find("wp-content/themes/twentytwentyone/index.php")["diff"]
            .as_str()
            .expect("a diff")
            .contains("+echo \"VENDOR\"; get_footer();")
    );
    assert_eq!(files.len(), 5, "{doc}");
}
