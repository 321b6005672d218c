//! Appending the collector to a script.

use crate::shell::Script;

/// The collector's functions (see the comments in `collect.sh`).
const COLLECTOR: &str = include_str!("collect.sh");

/// Append the snapshot: the persistence surface, and the CMS directory's hashes when `scope`
/// is given. With `sweep`, the account removed earlier in the same script (the teardown's
/// `$hv_uid`/`$hv_gid`) has its files anywhere handed to root in the same pass over the
/// filesystems; nothing happens when no such ids are set, or while an account still holds them.
///
/// Returns the tag that starts each of the collector's lines: random per run, so nothing else
/// in the script (a file name printed by another step, say) can pass for the collector's output.
/// The collector adds it itself, with its own system-only search path: a `sed` planted ahead
/// on the script's PATH must not see (and filter) the report.
pub fn collect(s: &mut Script, salt: &str, scope: Option<&str>, sweep: bool) -> String {
    let tag = new_tag();
    s.raw(COLLECTOR);
    let scope = scope.unwrap_or("");
    if sweep {
        s.cmd(
            "hv_collect {} {} {} \"${{hv_uid:-}}\" \"${{hv_gid:-}}\" || true",
            &[&tag, salt, scope],
        );
    } else {
        s.cmd("hv_collect {} {} {} || true", &[&tag, salt, scope]);
    }
    tag
}

/// Append only the hand-over of the removed account's files to root (a grant without a
/// baseline): on every local filesystem, or, unless `everywhere`, only where any account can
/// create files without rights given to it (the world-writable directories and the spools the
/// system writes for it): one walk of all the host's filesystems is most of a teardown's time.
/// Returns the tag of its lines, as [`collect`].
pub fn sweep(s: &mut Script, everywhere: bool) -> String {
    let tag = new_tag();
    s.raw(COLLECTOR);
    if everywhere {
        s.cmd(
            "hv_sweep {} \"${{hv_uid:-}}\" \"${{hv_gid:-}}\" || true",
            &[&tag],
        );
    } else {
        s.cmd(
            "hv_sweep {} \"${{hv_uid:-}}\" \"${{hv_gid:-}}\" /tmp /var/tmp /dev/shm /dev/mqueue /run/lock /var/lib/php/sessions /var/spool/cron/crontabs /var/mail /var/crash || true",
            &[&tag],
        );
    }
    tag
}

fn new_tag() -> String {
    format!("hv{}", crate::secret::random_lower_alnum(10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_collector_is_valid_posix_sh() {
        let out = Command::new("/bin/sh")
            .arg("-n")
            .arg("-c")
            .arg(COLLECTOR)
            .output()
            .expect("run /bin/sh -n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A file name holding a newline must not forge a line of the protocol.
    #[test]
    fn file_names_cannot_forge_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        // (No `/` in a file name.)
        let forged = "x\nb acct toor\t0:0:x:sh:root\nb end";
        std::fs::write(dir.path().join(forged), "hello").expect("write");
        std::fs::write(dir.path().join("plain.php"), "<?php").expect("write");
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "{COLLECTOR}\nprintf '%s\\n' \"$1\" | hv_walk cm ch"
            ))
            .arg("sh")
            .arg(dir.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("run the walker");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("b cm ") || l.starts_with("b ch ")),
            "{stdout}"
        );
        let collected = super::super::Collected::from_lines(
            &lines.iter().map(|l| format!("t {l}")).collect::<Vec<_>>(),
            "t",
        );
        assert!(
            collected
                .surface
                .kind(super::super::kind::ACCOUNT)
                .is_empty()
        );
        assert!(!collected.complete);
        // Two files and the directory, each with its digest.
        assert_eq!(collected.surface.cms.len(), 3, "{stdout}");
        assert_eq!(
            collected
                .surface
                .cms
                .values()
                .filter(|v| v.contains("sha256:"))
                .count(),
            2,
            "{stdout}"
        );
    }

    #[test]
    fn values_are_quoted() {
        let mut s = Script::new();
        let tag = collect(&mut s, "salt", Some("/var/www/it's"), true);
        assert!(s.text().contains(&format!(
            "hv_collect '{tag}' 'salt' '/var/www/it'\\''s' \"${{hv_uid:-}}\" \"${{hv_gid:-}}\" || true"
        )));
    }

    /// Regression: the tag was added by a `sed` resolved in the script's own PATH, which starts
    /// with /usr/local/bin; a `sed` planted there dropped the lines naming its back-doors, and
    /// the report said "no drift detected".
    #[test]
    fn tools_planted_on_the_path_cannot_filter_the_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        let planted = dir.path();
        for tool in [
            "sed",
            "find",
            "awk",
            "tr",
            "xargs",
            "sort",
            "sha256sum",
            "stat",
        ] {
            let path = planted.join(tool);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write");
            let mut perms = std::fs::metadata(&path).expect("stat").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&path, perms).expect("chmod");
        }
        let mut s = Script::new();
        let tag = sweep(&mut s, false);
        // The sweep's own call line, run under the planted PATH (no ids are set: nothing is
        // handed over).
        let call = s
            .text()
            .lines()
            .rfind(|l| l.starts_with("hv_sweep "))
            .expect("the sweep's call")
            .to_owned();
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{COLLECTOR}\n{call}"))
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", planted.display()))
            .output()
            .expect("run the sweep");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, format!("{tag} b end\n"), "{out:?}");
    }
}
