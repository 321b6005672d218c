//! The site's backup at provision (#17, its first part): the scope's files, taken before the
//! first change, kept on this machine beside the record, readable with the standard zstd and
//! tar, with a manifest of every entry.

use crate::support::{text, trusted_host};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn the_scope_is_backed_up_before_the_first_change_and_unpacks_with_tar() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // An ACL and an extended attribute the customer set, which a restore must bring back.
    host.sh(&format!(
        "setfacl -m u:admin:r {s}/index.php && setfattr -n user.note -v kept {s}/_config.php && ln {s}/index.php {s}/same.php",
        s = host.scope
    ));
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--json"])
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    let backup = grant.backup.as_ref().expect("a backup");
    assert_eq!(backup.scope, host.scope);
    let dir = std::path::Path::new(&backup.dir);
    assert_eq!(
        dir,
        ws.state_dir()
            .join("grants")
            .join(format!("{}.backup", grant.id))
    );
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    for name in ["files.tar.zst", "manifest.json"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    // No half-written file is left.
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the backup directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The manifest has every file with the digest the host computes.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let entries = manifest["entries"].as_array().expect("entries");
    let on_host = host.sh(&format!("sha256sum {}/index.php", host.scope));
    let entry = |path: &str| {
        entries
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("no {path} in {entries:?}"))
    };
    // index.php and same.php are one file: whichever tar met first holds the content, the
    // other is a hard link to it.
    let (index, same) = (entry("./index.php"), entry("./same.php"));
    let (file, link) = if index["kind"] == "file" {
        (index, same)
    } else {
        (same, index)
    };
    assert_eq!(
        file["sha256"].as_str(),
        on_host.split_whitespace().next(),
        "{file}"
    );
    assert_eq!(file["uid"], 33, "{file}");
    assert_eq!(link["kind"], "hardlink", "{link}");
    let bare = |v: &serde_json::Value| v.as_str().unwrap_or("").trim_start_matches("./").to_owned();
    assert_eq!(bare(&link["link"]), bare(&file["path"]), "{link}");
    let example = entry("./uploads/example.txt");
    let on_host = host.sh(&format!("sha256sum {}/uploads/example.txt", host.scope));
    assert_eq!(
        example["sha256"].as_str(),
        on_host.split_whitespace().next()
    );

    // `show --json` gives its path and sizes too.
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["backup"]["dir"], backup.dir.as_str(), "{shown}");
    assert_eq!(
        shown["backup"]["archive_bytes"], backup.archive_bytes,
        "{shown}"
    );

    // The standard tools read it, ACL and extended attribute included.
    let listing = Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$1\" | tar --acls --xattrs --xattrs-include='*' -tvvf -")
        .arg("sh")
        .arg(dir.join("files.tar.zst"))
        .output()
        .expect("run zstd and tar");
    let listing = text(&listing.stdout);
    assert!(listing.contains("./uploads/example.txt"), "{listing}");
    assert!(listing.contains("user:admin:r--"), "{listing}");
    assert!(listing.contains("user.note"), "{listing}");
}

#[test]
fn no_backup_takes_none_and_says_so() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope, "--no-backup"])
        .run()
        .expect_code(0);
    out.assert_stdout_contains("No backup of the scope was taken (--no-backup).");
    let grant = out.labelled("grant").to_owned();
    assert!(
        !ws.state_dir()
            .join("grants")
            .join(format!("{grant}.backup"))
            .exists()
    );
}

/// A host whose tar cannot take the backup is refused at preflight, naming tar and the way
/// out; with `--no-backup` the same host is provisioned.
#[test]
fn a_host_without_gnu_tar_is_refused_at_preflight() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh("rm /usr/bin/tar");
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &["`tar`", "--no-backup"],
    );
    ws.provision_as_root(&host, &["--scope", &host.scope, "--no-backup"])
        .run()
        .expect_code(0);
}

/// A directory of the scope that root cannot read (mounted by its owner over FUSE without
/// `allow_other`, as a user's sshfs mount is): tar would fail on it halfway, so preflight
/// refuses, naming it and the ways out, and nothing changes.
#[test]
fn a_scope_root_cannot_read_is_refused_at_preflight_naming_what() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    assert!(
        std::path::Path::new("/dev/fuse").exists(),
        "this test needs FUSE (/dev/fuse) on this machine"
    );
    host.sh(&format!(
        "mkdir -p /srv/up {s}/shared && echo photo >/srv/up/a.jpg && chown -R www-data: /srv/up {s}/shared && su -s /bin/sh www-data -c 'bindfs --no-allow-other /srv/up {s}/shared' && ! ls {s}/shared 2>/dev/null",
        s = host.scope
    ));
    host.refuses(
        ws.provision_as_root(&host, &["--scope", &host.scope]),
        &[
            &format!("{}/shared", host.scope),
            "Permission denied",
            "--no-backup",
        ],
    );
    host.sh(&format!("umount {}/shared", host.scope));
    ws.provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(0);
}

/// An admin machine without room for the backup: refused before anything changes on the host,
/// naming the space needed and free and the ways out. The disk has room for the margin but not
/// for the scope's 48 MB too, so a wrong estimate of the scope's size (`du -x` counts nothing
/// on the test host's overlayfs) lets the backup start and fails this test.
#[test]
fn a_full_admin_disk_refuses_the_backup_before_anything_changes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh(&format!(
        "head -c 50331648 /dev/urandom >{}/media.bin",
        host.scope
    ));
    let known_hosts = ws.known_hosts();
    let target = host.target("root");
    let args = [
        "provision",
        &target,
        "--known-hosts",
        known_hosts.to_str().expect("utf-8"),
        "--scope",
        &host.scope,
    ];
    let before = host.snapshot();
    let out = ws
        .handover_on_small_disk("96m", &args)
        .with_root_password(&host)
        .run()
        .expect_code(1);
    for needle in [
        "the backup needs up to",
        "free",
        "--state-dir",
        "--no-backup",
        "nothing was changed on the host",
    ] {
        assert!(
            out.stderr.contains(needle),
            "`{needle}` missing:\n{}",
            out.stderr
        );
    }
    assert_eq!(before, host.snapshot(), "the host changed");
    // Nothing of a backup is left in the (unmounted again) state directory either.
    let left: Vec<_> = std::fs::read_dir(ws.state_dir().join("grants"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// A provision killed during the backup leaves no grant and no backup anything accepts; prune
/// removes what is left of it.
#[test]
fn a_provision_killed_during_the_backup_leaves_only_debris_that_prune_removes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let before = host.snapshot();
    // The second remote execution is the backup: stop right after its stream ended, before
    // the archive got its name.
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .env("HANDOVER_FAILPOINT", "after-exec:2")
        .run();
    assert_eq!(out.code, 86, "{}", out.stderr);
    assert_eq!(before, host.snapshot(), "the host changed");
    assert!(ws.list().grants.is_empty());
    let grants = ws.state_dir().join("grants");
    let debris: Vec<std::path::PathBuf> = std::fs::read_dir(&grants)
        .expect("grants")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "backup"))
        .collect();
    assert_eq!(debris.len(), 1, "{debris:?}");
    let names: Vec<String> = std::fs::read_dir(&debris[0])
        .expect("backup dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["files.tar.zst.part"],
        "only a partial archive, no manifest"
    );

    let out = ws
        .handover(&["prune", "--older-than", "0s"])
        .run()
        .expect_code(0);
    out.assert_stdout_contains("no grant record");
    assert!(!debris[0].exists(), "prune left {}", debris[0].display());
}

/// `list` gives each backup's size; `prune` removes revoked grants' backups once old enough
/// and never a live grant's; `--dry-run` changes nothing.
#[test]
fn prune_removes_revoked_grants_backups_only_when_old_enough() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let provision = || {
        ws.provision_as_root(&host, &["--scope", &host.scope, "--json"])
            .run()
            .expect_code(0)
            .provisioned()
    };
    let (revoked, live) = (provision(), provision());
    ws.teardown_as_root(&host, &revoked.id, &[])
        .run()
        .expect_code(0);
    let dir = |g: &crate::docs::Provisioned| {
        std::path::PathBuf::from(&g.backup.as_ref().expect("backup").dir)
    };
    let sizes = ws.handover(&["list", "--json"]).run().expect_code(0).json();
    for grant in sizes["grants"].as_array().expect("grants") {
        let bytes = grant["backup_bytes"].as_u64().expect("backup_bytes");
        assert!(bytes > 1000, "{grant}");
    }
    let human = ws.handover(&["list"]).run().expect_code(0);
    assert!(
        human
            .stdout
            .lines()
            .next()
            .is_some_and(|h| h.ends_with("BACKUP"))
            && human.stdout.lines().skip(1).all(|l| l.ends_with("KiB")),
        "{}",
        human.stdout
    );

    // Revoked a moment ago: a day's retention keeps it.
    let out = ws
        .handover(&["prune", "--older-than", "1d", "--json"])
        .run()
        .expect_code(0);
    let report = out.json();
    assert_eq!(
        report["removed"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    assert_eq!(report["kept"].as_array().map(Vec::len), Some(2), "{report}");

    let out = ws
        .handover(&["prune", "--older-than", "0s", "--dry-run"])
        .run()
        .expect_code(0);
    out.assert_stdout_contains("would remove");
    assert!(dir(&revoked).exists());

    let report = ws
        .handover(&["prune", "--older-than", "0s", "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(
        report["removed"][0]["grant"],
        revoked.id.as_str(),
        "{report}"
    );
    assert_eq!(
        report["removed"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert!(
        !dir(&revoked).exists(),
        "the revoked grant's backup is still there"
    );
    assert!(dir(&live).exists(), "the live grant's backup was removed");
    let shown = ws
        .handover(&["show", &revoked.id, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert!(shown["backup"].is_null(), "{shown}");
    assert!(
        shown["events"].to_string().contains("backup pruned"),
        "{shown}"
    );

    ws.handover(&["prune", "--older-than", "xyz"])
        .run()
        .expect_code(2);
}

/// tar killed on the host halfway through the scope: no backup passes, provision stops with
/// exit 1 before any change, and nothing of the backup is left.
#[test]
fn a_backup_cut_off_on_the_host_is_refused_and_nothing_changes() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // Enough that tar runs long enough to be killed halfway.
    host.sh(&format!(
        "head -c 200000000 /dev/urandom > {}/big.bin",
        host.scope
    ));
    let before = host.snapshot();
    let killer = "for i in $(seq 1000); do if pgrep -f 'tar --create --file=- --numeric-owner' >/dev/null; then sleep 0.1; pkill -KILL -f 'tar --create --file=- --numeric-owner'; exit 0; fi; sleep 0.02; done\n";
    let out = host.exec_stdin(&format!(
        "f=$(mktemp /root/killer.XXXXXX)\ncat > \"$f\" <<'KILLER_END'\n{killer}KILLER_END\nnohup sh \"$f\" >/dev/null 2>&1 </dev/null &\n"
    ));
    assert!(out.status.success());
    let out = ws
        .provision_as_root(&host, &["--scope", &host.scope])
        .run()
        .expect_code(1);
    out.assert_stderr_contains("the backup of");
    out.assert_stderr_contains("nothing was changed on the host");
    // The killer's own file aside, the host is as it was.
    host.sh("rm -f /root/killer.*");
    assert_eq!(before, host.snapshot(), "the host changed");
    // No backup is left (the grant's lock file may be).
    let left: Vec<_> = std::fs::read_dir(ws.state_dir().join("grants"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
