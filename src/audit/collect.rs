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

    /// Run `script` after the collector's functions, as the collector runs them (newline IFS,
    /// no globbing), with a system-only PATH; its stdout.
    fn run_collector(script: &str) -> String {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{COLLECTOR}\nset -f\nIFS='\n'\n{script}"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .expect("run the collector");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
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
