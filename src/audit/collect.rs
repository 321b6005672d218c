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
    if !scope.is_empty() {
        wordpress(s, &tag, scope);
    }
    tag
}

/// A WordPress site in the scope: what lives in its database that a back-door could be
/// (administrators, application passwords, plugins, themes, scheduled events, the options that
/// open or redirect the site), asked of WordPress itself as the owner of its files.
fn wordpress(s: &mut Script, tag: &str, scope: &str) {
    s.raw(crate::site::LIB);
    s.cmd(
        "if [ -f {}/wp-load.php ] && [ -f {}/wp-config.php ] && command -v php >/dev/null 2>&1; then",
        &[scope, scope],
    );
    crate::site::wordpress(
        s,
        crate::site::Site::main(scope),
        "state",
        ["", "", "", ""],
        None,
    );
    s.cmd(
        "  if [ \"$hv_rc\" -eq 0 ]; then printf '%s\\n' \"$hv_o\" | sed -n {}; else echo {} \"b wp-error $(printf '%s' \"$hv_o\" | tr '\\n' ' ' | cut -c1-300)\"; fi",
        &[&format!("s/^hv wp /{tag} b wp /p"), tag],
    );
    s.raw("fi");
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
        let lines = collector_lines("printf '%s\\n' \"$1\" | hv_gitconfig", &[&config]);
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
        let lines = collector_lines(
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

    /// Run `script` after the collector's functions, as the collector runs them (`set -u`,
    /// newline IFS, no globbing, the C locale, a clean environment and a system-only PATH),
    /// with `args` as `$1`…; its stdout.
    fn run_collector_with(script: &str, args: &[&std::path::Path]) -> String {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("set -u\n{COLLECTOR}\nset -f\nIFS='\n'\n{script}"))
            .arg("sh")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .output()
            .expect("run the collector");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run_collector(script: &str) -> String {
        run_collector_with(script, &[])
    }

    /// [`run_collector_with`]'s output lines.
    fn collector_lines(script: &str, args: &[&std::path::Path]) -> Vec<String> {
        run_collector_with(script, args)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn quote(path: &std::path::Path) -> String {
        format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
    }

    /// The walk of a web root narrows to the names `server_executes` accepts, and misses none.
    #[test]
    fn the_web_root_walk_finds_what_a_web_server_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut names: Vec<String> = [
            "php", "php3", "php4", "php5", "php7", "php8", "phtml", "pht", "phar", "phps", "shtml",
            "cgi", "fcgi", "pl", "py", "sh", "asp", "aspx", "jsp",
        ]
        .iter()
        .flat_map(|ext| {
            [
                format!("a.{ext}"),
                format!("B.{}", ext.to_uppercase()),
                format!("c.{ext}.jpg"),
                format!("d.x.{ext}.y.z"),
                format!("e.{ext}x"),
                (*ext).to_owned(),
            ]
        })
        .collect();
        names.extend(
            [
                ".htaccess",
                ".HTACCESS",
                ".user.ini",
                "php.ini",
                "x.ini",
                "notes.txt",
                ".php",
                "a..php",
                "index.html",
                "style.css",
                "shell.php6",
            ]
            .map(str::to_owned),
        );
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in &names {
            std::fs::write(dir.path().join("sub").join(name), "x").expect("write");
        }
        let stdout = run_collector(&format!("hv_webfiles web {}", quote(dir.path())));
        let collected = super::super::Collected::from_lines(
            &stdout.lines().map(|l| format!("t {l}")).collect::<Vec<_>>(),
            "t",
        );
        let found: std::collections::BTreeSet<String> = collected
            .surface
            .kind(super::super::kind::WEB_FILE)
            .keys()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
            .collect();
        for name in &names {
            if super::super::classify::server_executes(name) {
                assert!(found.contains(name), "`{name}` not found: {stdout}");
            }
        }
        // The walk may take a little more (php6): the report applies `server_executes`.
        let extra: Vec<&String> = found
            .iter()
            .filter(|n| !super::super::classify::server_executes(n))
            .collect();
        assert_eq!(extra, ["shell.php6"], "{stdout}");
        // Every file of a ScriptAlias directory runs: all are recorded.
        let stdout = run_collector(&format!("hv_webfiles cgi {}", quote(dir.path())));
        assert_eq!(stdout.lines().count(), names.len(), "{stdout}");
    }

    /// Document roots and aliases, as each server's configuration spells them.
    #[test]
    fn web_roots_are_read_from_each_servers_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            path
        };
        let apache = file(
            "apache2/sites-available/other.conf",
            "<VirtualHost *:80>\r\n  documentroot \"/srv/other\"\r\n  # DocumentRoot /commented\r\n\
             \tAlias /a/ /srv/assets/\n  ScriptAlias /cgi-bin/ \"/usr/lib/cgi-bin/\"\n\
             AliasMatch \"^/m/(.*)$\" \"/srv/m/$1\"\n\
             DocumentRoot ${APACHE_DOCUMENT_ROOT}\nDocumentRoot relative/dir\n</VirtualHost>\n",
        );
        let nginx = file(
            "nginx/sites-enabled/site2",
            "server { listen 80; root /srv/site2; # root /commented;\n\
             location /files/ {\n  alias \"/srv/my files/\" ;\n }\n\
             location /x { root $document_root/x; }\n  root\n    /srv/multi;\n}\n",
        );
        let lighttpd = file(
            "lighttpd/lighttpd.conf",
            "server.document-root        = \"/srv/light\"\n\
             alias.url += ( \"/b/\" => \"/srv/b/\", \"/c/\" => \"/srv/c/\" )\n\
             #server.document-root = \"/commented\"\n",
        );
        let fpm = file(
            "php/8.2/fpm/pool.d/www.conf",
            "[www]\nchdir = /srv/fpm ; the pool's directory\n;chdir = /commented\nchdir = /var/www/$pool\n",
        );
        let stdout = run_collector(&format!(
            "printf '%s\\0' {} {} {} {} | hv_webconf",
            quote(&apache),
            quote(&nginx),
            quote(&lighttpd),
            quote(&fpm)
        ));
        let (a, n, l, f) = (
            apache.display().to_string(),
            nginx.display().to_string(),
            lighttpd.display().to_string(),
            fpm.display().to_string(),
        );
        let expected = [
            format!("web\t/srv/other\tDocumentRoot in {a}"),
            format!("web\t/srv/assets/\tAlias in {a}"),
            format!("cgi\t/usr/lib/cgi-bin/\tScriptAlias in {a}"),
            format!("web\t/srv/m/\tAliasMatch in {a}"),
            format!("web\t/srv/site2\troot in {n}"),
            format!("web\t/srv/my files/\talias in {n}"),
            format!("web\t/srv/multi\troot in {n}"),
            format!("web\t/srv/light\tserver.document-root in {l}"),
            format!("web\t/srv/b/\talias.url in {l}"),
            format!("web\t/srv/c/\talias.url in {l}"),
            format!("web\t/srv/fpm\tchdir in {f}"),
        ];
        assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");
    }

    /// The clients of the host's own services are left out, whichever end: a connection to a
    /// listening port (handover's own SSH session), and a local program's side of one to a
    /// local service, by its address, on loopback, or IPv4-mapped; the listening sockets may
    /// come after the connections in `ss`'s output.
    #[test]
    fn connections_leave_out_the_clients_of_the_hosts_services() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ss = dir.path().join("ss");
        std::fs::write(
            &ss,
            r#"#!/bin/sh
cat <<'EOF'
udp ESTAB  0 0 10.200.1.2:38274 192.0.2.53:53 users:(("socat",pid=12,fd=5))
udp ESTAB  0 0 127.0.0.1:40001 127.0.0.53:53 users:(("curl",pid=13,fd=5))
tcp ESTAB  0 0 10.200.1.2:22 10.200.1.1:51000 users:(("sshd",pid=14,fd=4))
tcp ESTAB  0 0 127.0.0.1:35858 127.0.0.1:7780 users:(("php-fpm8.2",pid=15,fd=9))
tcp ESTAB  0 0 10.200.1.2:58490 10.200.1.2:3306 users:(("php-fpm8.2",pid=16,fd=9))
tcp ESTAB  0 0 10.200.1.2:3306 10.200.1.2:58490 users:(("mariadbd",pid=17,fd=30))
tcp ESTAB  0 0 10.200.1.2:41000 203.0.113.5:4444 users:(("bash",pid=18,fd=0),("bash",pid=18,fd=1),("sleep",pid=19,fd=0))
tcp ESTAB  0 0 10.200.1.2:41001 203.0.113.5:4444 users:(("python3",pid=20,fd=3))
tcp ESTAB  0 0 [::ffff:127.0.0.1]:7780 [::ffff:127.0.0.1]:35858 users:(("java",pid=21,fd=6))
tcp ESTAB  0 0 [2001:db8::2]:41002 [2001:db8::9]:443 
tcp LISTEN 0 128 10.200.1.2:22 0.0.0.0:* users:(("sshd",pid=1,fd=4))
tcp LISTEN 0 128 0.0.0.0:3306 0.0.0.0:* users:(("mariadbd",pid=2,fd=4))
tcp LISTEN 0 5 *:7780 *:* users:(("java",pid=3,fd=5))
udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=4,fd=5))
EOF
"#,
        )
        .expect("write");
        let mut perms = std::fs::metadata(&ss).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&ss, perms).expect("chmod");
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{COLLECTOR}\nhv_conns"))
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .output()
            .expect("run the collector");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                "b conn tcp 203.0.113.5:4444\tbash sleep python3",
                "b conn tcp [2001:db8::9]:443\t",
                "b conn udp 192.0.2.53:53\tsocat",
            ],
            "{out:?}"
        );
    }

    /// Packages whose files are on the disk, whatever dpkg's status says of them midway.
    #[test]
    fn dpkg_status_lists_the_packages_on_the_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = dir.path().join("status");
        std::fs::write(
            &status,
            "Package: acl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.3.1-3\n\
             Description: access control list\n utilities\n\n\
             Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1.0\n\n\
             Package: never\nStatus: purge ok not-installed\nArchitecture: all\n\n\
             Package: hv-probe\nStatus: install reinstreq half-installed\nArchitecture: all\nVersion: 1.0\n",
        )
        .expect("write");
        let stdout = run_collector(&format!("hv_dpkg {}", quote(&status)));
        assert_eq!(
            stdout,
            "b pkg acl:amd64\t2.3.1-3 installed\nb pkg hv-probe:all\t1.0 half-installed\n"
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
