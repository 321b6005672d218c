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

    /// Run `script` after the collector's functions, as the engine does (`set -u`, the C
    /// locale, a clean environment): its output lines.
    fn run_collector(script: &str, args: &[&std::path::Path]) -> Vec<String> {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("set -u\n{COLLECTOR}\n{script}"))
            .arg("sh")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .output()
            .expect("run the collector");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Git's own reading of a configuration file: sections and keys case-insensitive,
    /// subsections as written, quotes, escapes, inline comments, continued lines; only the
    /// entries that run something.
    #[test]
    fn git_config_entries_are_read_as_git_reads_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            concat!(
                "\u{feff}[core]\n",
                "\tfsmonitor = /tmp/x.sh\n",
                "\tfilemode = true\n",
                "[Core] FSMonitor=\"/tmp/a b.sh\" # an inline comment\n",
                "# [core] pager = commented out\n",
                "[alias]\n",
                "\tx = !sh -c \\\"echo hi\\\" ; trailing comment\n",
                "\tst = \"!f() { echo \\\"a;b\\\"; }; f\"\n",
                "\tls = log\n",
                "[core]\n",
                "\tpager = less \\\n",
                "  -R\n",
                "[filter \"lfs\"]\n",
                "\tclean = git-lfs clean -- %f\n",
                "[diff \"Sub\"]\n",
                "\ttextconv = /opt/conv\n",
                "[remote.Origin]\n",
                "\treceivepack = /x/rp\n",
                "\turl = https://example.org/r.git\n",
                "[includeIf \"gitdir:/srv/\"]\n",
                "\tpath = /etc/x.inc\n",
                "[core]\n",
                "\teditor\n",
                "[pager]\n",
                "\tlog = false\n",
                "\tdiff = less -S\n",
                "[credential \"https://a.b.c\"]\n",
                "\thelper = store\n",
                "[core]\r\n",
                "\tsshCommand = \"ssh\\t-i\\n key\"   \r\n",
                "; fsmonitor = commented out\n",
                "\teditor = \"vim # not a comment\"\n",
                "\tgitproxy = \\q\n",
                "\tpager = after a line git refuses\n",
            ),
        )
        .expect("write");
        let lines = run_collector("printf '%s\\n' \"$1\" | hv_gitconfig", &[&config]);
        let file = config.display().to_string();
        let entries: Vec<String> = lines
            .iter()
            .map(|l| {
                l.strip_prefix(&format!("b gcfg {file}\t"))
                    .unwrap_or_else(|| panic!("not an entry of the file: {l}"))
                    .to_owned()
            })
            .collect();
        assert_eq!(
            entries,
            [
                "core.fsmonitor\t/tmp/x.sh",
                "core.fsmonitor\t/tmp/a b.sh",
                "alias.x\t!sh -c \"echo hi\"",
                "alias.st\t!f() { echo \"a;b\"; }; f",
                "core.pager\tless   -R",
                "filter.lfs.clean\tgit-lfs clean -- %f",
                "diff.Sub.textconv\t/opt/conv",
                "remote.origin.receivepack\t/x/rp",
                "includeif.gitdir:/srv/.path\t/etc/x.inc",
                "core.editor\ttrue",
                "pager.diff\tless -S",
                "credential.https://a.b.c.helper\tstore",
                "core.sshcommand\tssh\\t-i\\n key",
                "core.editor\tvim # not a comment",
            ]
        );
        // Where git is installed, it reads the same values (it stops at the same line).
        let git = Command::new("git")
            .args(["config", "--file"])
            .arg(&config)
            .args(["--list", "-z"])
            .output();
        if let Ok(git) = git {
            let listed = String::from_utf8_lossy(&git.stdout).into_owned();
            let listed: Vec<&str> = listed.split('\0').collect();
            for entry in &entries {
                let (key, value) = entry.split_once('\t').expect("key and value");
                let value = value.replace("\\t", "\t").replace("\\n", "\n");
                let want = if value == "true" && key == "core.editor" {
                    key.to_owned()
                } else {
                    format!("{key}\n{value}")
                };
                assert!(
                    listed.contains(&want.as_str()),
                    "git reads no `{want}`: {listed:?}"
                );
            }
        }
    }

    /// The walk hands back git directories on fd 3; hv_git records each one's hooks (not the
    /// samples) and entries, the hooks of a `core.hooksPath` too; hv_payloads what they run.
    #[test]
    fn repositories_hooks_and_payloads_are_collected() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        let write = |path: &str, text: &str, mode: u32| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            let mut perms = std::fs::metadata(&path).expect("stat").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, mode);
            std::fs::set_permissions(&path, perms).expect("chmod");
        };
        let r = root.display().to_string();
        write("app/.git/HEAD", "ref: refs/heads/main\n", 0o644);
        std::fs::create_dir_all(root.join("app/.git/objects")).expect("mkdir");
        write(
            "app/.git/config",
            &format!(
                "[core]\n\tfsmonitor = {r}/x.sh\n\thooksPath = shared\n[include]\n\tpath = inc/a.inc\n"
            ),
            0o644,
        );
        // Included files are read too (relative to the including file), once each.
        write("app/.git/inc/a.inc", "[include]\n\tpath = b.inc\n", 0o644);
        write(
            "app/.git/inc/b.inc",
            "[alias]\n\ty = !true\n[include]\n\tpath = a.inc\n",
            0o644,
        );
        write(
            "app/.git/hooks/post-checkout",
            &format!("#!/bin/sh\n{r}/payload.sh --now\n# {r}/commented.sh\n"),
            0o755,
        );
        write("app/.git/hooks/pre-commit.sample", "#!/bin/sh\n", 0o755);
        write("app/shared/post-merge", "#!/bin/sh\n", 0o755);
        write("srv.git/HEAD", "ref: refs/heads/main\n", 0o644);
        write("srv.git/config", "[core]\n\tbare = true\n", 0o644);
        write("srv.git/hooks/update", "#!/bin/sh\n", 0o700);
        // Not a repository: no HEAD.
        write("other/objects/x", "", 0o644);
        write("x.sh", "#!/bin/sh\n", 0o755);
        write("payload.sh", "#!/bin/sh\n", 0o644);
        write("commented.sh", "#!/bin/sh\n", 0o755);
        let lines = run_collector(
            "set -f; IFS='\n'; hv_salt=s\n\
             { hv_gits=$(hv_fs all '' '' \"$1\" 3>&1 >&4); } 4>&1 >/dev/null\n\
             hv_git; hv_payloads",
            &[root],
        );
        // The host's own configuration and hooks are in the output too: only the tree's.
        let ours: Vec<String> = lines
            .iter()
            .filter(|l| l.contains(&r))
            .map(|l| format!("t {l}"))
            .collect();
        let c = super::super::Collected::from_lines(&ours, "t");
        let s = &c.surface;
        let hooks: Vec<&String> = s.kind(super::super::kind::GIT_HOOK).keys().collect();
        assert_eq!(
            hooks,
            [
                &format!("{r}/app/.git/config\t{r}/app/.git/hooks/post-checkout"),
                &format!("{r}/app/.git/config\t{r}/app/shared/post-merge"),
                &format!("{r}/srv.git/config\t{r}/srv.git/hooks/update"),
            ],
            "{lines:#?}"
        );
        let hook = &s.kind(super::super::kind::GIT_HOOK)[hooks[0]];
        assert!(hook.starts_with("f 755 "), "{hook}");
        assert!(hook.contains(" sha256:"), "{hook}");
        let config = s.kind(super::super::kind::GIT_CONFIG);
        assert_eq!(
            config[&format!("{r}/app/.git/config\tcore.fsmonitor")],
            format!("{r}/x.sh")
        );
        assert_eq!(
            config[&format!("{r}/app/.git/config\tcore.hookspath")],
            "shared"
        );
        let entry = |file: &str, key: &str| config[&format!("{r}/app/.git/{file}\t{key}")].as_str();
        assert_eq!(entry("config", "include.path"), "inc/a.inc");
        assert_eq!(entry("inc/a.inc", "include.path"), "b.inc");
        assert_eq!(entry("inc/b.inc", "alias.y"), "!true");
        assert_eq!(entry("inc/b.inc", "include.path"), "a.inc");
        assert_eq!(config.len(), 6, "{config:#?}");
        let payloads: Vec<&String> = s.kind(super::super::kind::PAYLOAD).keys().collect();
        assert_eq!(
            payloads,
            [
                &format!("{r}/app/.git/config\t{r}/x.sh"),
                &format!("{r}/app/.git/hooks/post-checkout\t{r}/payload.sh"),
            ],
            "{lines:#?}"
        );
        let digest = |name: &str| {
            let out = Command::new("sha256sum")
                .arg(root.join(name))
                .output()
                .expect("sha256sum");
            format!("sha256:{}", &String::from_utf8_lossy(&out.stdout)[..64])
        };
        assert_eq!(
            s.kind(super::super::kind::PAYLOAD)[payloads[1]],
            digest("payload.sh")
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
