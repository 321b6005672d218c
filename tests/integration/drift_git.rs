//! Git repositories and what hooks run (#15): a hook or a config entry that runs a program,
//! planted by the vendor through its own login in the CMS checkout, in another repository or in
//! the global configuration, is persistence drift named with its repository and entry; a new
//! hook names the programs it runs with their digests, and a program rewritten under a hook that
//! stayed the same is named too.

use crate::docs::Drift;
use crate::support::{TestHost, text, trusted_host};

/// The SHA-256 of `path` on the host, as the report writes it.
fn digest(host: &TestHost, path: &str) -> String {
    let out = host.sh(&format!("sha256sum {path}"));
    format!("sha256:{}", out.split(' ').next().unwrap_or(""))
}

/// The mode of `path` on the host, in octal as the report writes it.
fn mode(host: &TestHost, path: &str) -> String {
    host.sh(&format!("stat -c %a {path}")).trim().to_owned()
}

/// The text of the persistence item of `category` at `path`, starting with `start`.
#[track_caller]
fn item<'a>(drift: &'a Drift, category: &str, path: &str, start: &str) -> &'a str {
    drift
        .persistence
        .iter()
        .find(|i| i.category == category && i.path == path && i.text.starts_with(start))
        .map(|i| i.text.as_str())
        .unwrap_or_else(|| panic!("no `{category}` item at {path} starting `{start}`: {drift:#}"))
}

/// A repository the customer keeps, made before the window (git's own templates give it only
/// `*.sample` hooks).
fn customer_repository(host: &TestHost, dir: &str) {
    assert!(
        host.ok("test -x /usr/bin/git"),
        "git is not installed on the test host (/usr/bin/git)"
    );
    host.sh(&format!("/usr/bin/git init -q {dir}"));
}

/// A user-level vendor may write the CMS checkout: a hook and an fsmonitor there run as whoever
/// next uses git in it. Before, they were only listed among the CMS directory's changes.
#[test]
fn a_hook_and_an_fsmonitor_planted_in_the_scope_by_a_user_level_vendor_are_drift() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let scope = host.scope.clone();
    customer_repository(&host, &scope);
    customer_repository(&host, "/srv/app");
    // The checkout has a hook of its own, and belongs to the scope's owner like its files.
    host.sh(&format!(
        "printf '#!/bin/sh\\nexit 0\\n' > {scope}/.git/hooks/pre-commit && chmod 755 {scope}/.git/hooks/pre-commit \
         && chown -R www-data:www-data {scope}/.git"
    ));
    let grant = ws.grant(&host, &[]);

    let out = host.ssh_as(
        grant.account(),
        grant.password(),
        &format!(
            "set -e
printf '#!/bin/sh\\nexit 0\\n' > /tmp/x.sh && chmod 755 /tmp/x.sh
cd {scope}/.git
printf '#!/bin/sh\\n/tmp/x.sh &\\n' > hooks/post-checkout && chmod +x hooks/post-checkout
printf '#!/bin/sh\\n/tmp/x.sh\\n' > hooks/post-merge.sample && chmod +x hooks/post-merge.sample
git config --file config core.fsmonitor /tmp/x.sh"
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let hook = format!("{scope}/.git/hooks/post-checkout");
    let config = format!("{scope}/.git/config");
    let check = |drift: &Drift| {
        let x = digest(&host, "/tmp/x.sh");
        let expected = [
            format!(
                "git repository {scope}: new hook `post-checkout` (mode {}, {}; runs /tmp/x.sh {x})",
                mode(&host, &hook),
                digest(&host, &hook)
            ),
            format!(
                "git repository {scope}: `core.fsmonitor` set to `/tmp/x.sh` (runs /tmp/x.sh {x})"
            ),
        ];
        assert_eq!(
            item(drift, "git", &hook, "git repository"),
            expected[0],
            "{drift:#}"
        );
        assert_eq!(
            item(drift, "git", &config, "git repository"),
            expected[1],
            "{drift:#}"
        );
        // Nothing else: not the added `.sample` file, not the customer's own hook (whose group
        // bits show the grant's ACL mask during the window).
        let texts: Vec<&str> = drift.persistence.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, expected, "{drift:#}");
    };
    // During the window, and at teardown (exit 3).
    check(&ws.audit(&host, &grant.id, 3).drift);
    let report = ws.teardown_exit_3(&host, &grant.id);
    assert!(report.verified, "{report}");
    check(report.drift());
    // Still listed among the CMS directory's changes.
    assert!(
        report.drift().cms().added.contains(&hook),
        "{:#}",
        report.drift()
    );
}

/// A root-level vendor adds an alias that runs a shell command to the global configuration,
/// and a hook to a repository outside the scope.
#[test]
fn a_global_alias_and_a_hook_elsewhere_planted_by_a_root_level_vendor_are_drift() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    customer_repository(&host, "/srv/app");
    let grant = ws.grant(&host, &["--level", "root"]);
    // Quoted as people write it, with an inline comment.
    host.sudo_as(
        grant.account(),
        grant.password(),
        r#"set -e
printf '[alias]\n\tx = "!sh -c \\"touch /tmp/pwned\\"" # planted\n' >> /etc/gitconfig
printf '#!/bin/sh\nexit 0\n' > /srv/app/.git/hooks/post-merge
chmod 755 /srv/app/.git/hooks/post-merge
"#,
    );

    let report = ws.teardown_exit_3(&host, &grant.id);
    let drift = report.drift();
    assert_eq!(
        item(drift, "git", "/etc/gitconfig", "/etc/gitconfig: "),
        "/etc/gitconfig: `alias.x` set to `!sh -c \"touch /tmp/pwned\"`"
    );
    let hook = "/srv/app/.git/hooks/post-merge";
    assert_eq!(
        item(drift, "git", hook, "git repository"),
        format!(
            "git repository /srv/app: new hook `post-merge` (mode 755, {})",
            digest(&host, hook)
        )
    );
}

/// A new cron file and a new systemd unit name the scripts they run, with their digests; the
/// script a cron file of the customer's runs, rewritten during the window, is named although
/// the cron file is unchanged.
#[test]
fn the_programs_hooks_run_are_named_with_their_digests() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    host.sh(
        "mkdir -p /opt/tools && printf '#!/bin/sh\\necho backup\\n' > /opt/tools/run.sh && chmod 755 /opt/tools/run.sh \
         && echo '0 3 * * * root /opt/tools/run.sh >> /var/log/backup.log 2>&1' > /etc/cron.d/backup",
    );
    let grant = ws.grant(&host, &["--level", "root"]);
    host.sudo_as(
        grant.account(),
        grant.password(),
        "set -e
mkdir -p /opt/x /usr/local/lib/x
printf '#!/bin/sh\\necho x\\n' > /opt/x/run.sh && chmod 755 /opt/x/run.sh
echo '0 4 * * * root /opt/x/run.sh' > /etc/cron.d/x
printf '#!/bin/sh\\necho y\\n' > /usr/local/lib/x/y.sh && chmod 755 /usr/local/lib/x/y.sh
printf '[Service]\\nExecStart=/usr/local/lib/x/y.sh\\n' > /etc/systemd/system/x.service
printf 'echo rewritten\\n' >> /opt/tools/run.sh
",
    );

    let report = ws.teardown_exit_3(&host, &grant.id);
    let drift = report.drift();
    assert_eq!(
        item(drift, "cron", "/etc/cron.d/x", "new cron file"),
        format!(
            "new cron file /etc/cron.d/x (mode {}, owner root; runs /opt/x/run.sh {})",
            mode(&host, "/etc/cron.d/x"),
            digest(&host, "/opt/x/run.sh")
        )
    );
    let unit = "/etc/systemd/system/x.service";
    assert_eq!(
        item(drift, "systemd", unit, "new systemd unit"),
        format!(
            "new systemd unit {unit} (mode {}, owner root; runs /usr/local/lib/x/y.sh {})",
            mode(&host, unit),
            digest(&host, "/usr/local/lib/x/y.sh")
        )
    );
    assert_eq!(
        item(drift, "cron", "/opt/tools/run.sh", "/opt/tools/run.sh"),
        format!(
            "/opt/tools/run.sh (run by /etc/cron.d/backup) changed (now {})",
            digest(&host, "/opt/tools/run.sh")
        )
    );
}
