//! A temporary WordPress administrator (`wordpress-admin`, `--wp-admin`; GitHub issue #18),
//! against the test hosts' real WordPress (Debian's package, Apache with PHP, MariaDB): the
//! vendor logs in through wp-login.php with the printed credentials (curl with a cookie jar)
//! and reaches an administrator-only page; after teardown the same cookie and password are
//! refused, the user is gone from the site with its sessions and application passwords, and
//! what it wrote belongs to an existing administrator.

use crate::docs::Provisioned;
use crate::support::{TestHost, WP, Workspace, hosts_like_with_root_key, wordpress};
use std::path::Path;

/// PHP run in the site as its owner, with WordPress loaded: what it echoes.
pub fn wp_php(host: &TestHost, code: &str) -> String {
    host.sh(&format!(
        "cd {WP} && runuser -u www-data -- php -r {}",
        shell_quote(&format!(
            "$_SERVER['HTTP_HOST'] = '{}'; $_SERVER['REQUEST_URI'] = '/'; require './wp-load.php'; {code}",
            host.addr
        ))
    ))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Log in through the wp-login.php of the site at `base` (`/`, or a network's `/shop/`):
/// whether WordPress set its logged-in cookie.
pub fn logs_in(host: &TestHost, base: &str, jar: &Path, user: &str, password: &str) -> bool {
    let (_, headers, _) = host.http(
        &format!("{base}wp-login.php"),
        jar,
        &[("log", user), ("pwd", password), ("testcookie", "1")],
    );
    headers.contains("wordpress_logged_in_")
}

/// Whether the cookies in `jar` open the administrator-only Users page of the site at `base`.
pub fn opens_users_page(host: &TestHost, base: &str, jar: &Path) -> bool {
    let (status, _, body) = host.http(&format!("{base}wp-admin/users.php"), jar, &[]);
    status == 200 && body.contains("user-new.php")
}

/// A `wordpress-admin` grant on the site, with `extra` arguments.
fn wordpress_admin(host: &TestHost, ws: &Workspace, extra: &[&str]) -> Provisioned {
    ws.provision_as_root(
        host,
        &[
            &["--playbook", "wordpress-admin", "--scope", WP, "--json"],
            extra,
        ]
        .concat(),
    )
    .run()
    .expect_code(0)
    .provisioned()
}

#[test]
fn a_temporary_administrator_logs_in_and_nothing_of_it_is_left_after_teardown() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = wordpress_admin(&host, &ws, &[]);
    // No account on the host, a WordPress one in the credentials.
    assert!(grant.account.is_none(), "{grant}");
    let [cms] = grant.cms_accounts.as_slice() else {
        panic!("not one CMS account in {grant}")
    };
    assert_eq!(cms.cms, "wordpress");
    assert_eq!(cms.login_url, format!("http://{}/wp-login.php", host.addr));
    let password = cms.password.clone().expect("a password");
    assert!(password.len() >= 20, "a weak password");
    let user = cms.user.clone();
    assert!(!host.has_account(&user));
    // `show` names it with its login page, never its password.
    let shown = ws
        .handover(&["show", &grant.id])
        .run()
        .expect_code(0)
        .stdout;
    assert!(
        shown.contains(&format!("wordpress  {user} at {}", cms.login_url)),
        "{shown}"
    );
    let shown = ws
        .handover(&["show", &grant.id, "--json"])
        .run()
        .expect_code(0);
    assert_eq!(
        shown.json()["cms_accounts"],
        serde_json::json!([{"cms": "wordpress", "user": user, "login_url": cms.login_url}])
    );
    assert!(!shown.stdout.contains(&password));

    // The vendor logs in and reaches an administrator-only page.
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(&host, "/", jar.path(), &user, &password));
    assert!(opens_users_page(&host, "/", jar.path()));
    // It is an administrator made for this grant, with an address that receives no mail.
    let made = wp_php(
        &host,
        &format!(
            "$u = get_user_by('login', '{user}'); echo implode(',', $u->roles), ' ', $u->user_email, ' ', get_user_meta($u->ID, 'handover_grant', true);"
        ),
    );
    assert_eq!(
        made.trim(),
        format!("administrator {user}@handover.invalid {}", grant.id)
    );
    // It writes a post and makes itself an application password.
    let post = wp_php(
        &host,
        &format!(
            "$u = get_user_by('login', '{user}'); echo wp_insert_post(['post_title' => 'Vendor note', 'post_status' => 'publish', 'post_author' => $u->ID]); WP_Application_Passwords::create_new_application_password($u->ID, ['name' => 'vendor']);"
        ),
    );
    let post: u64 = post.trim().parse().expect("a post id");
    wp_php(
        &host,
        "wp_update_post(['ID' => 1, 'post_title' => 'Hello vendor']);",
    );

    // Content the vendor wrote or edited is listed, and never fails teardown.
    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(0)
        .json();
    let content = report["drift"]["cms"]["content"].clone();
    assert_eq!(
        content,
        serde_json::json!([
            "WordPress post 1 “Hello vendor” retitled from “Hello world!”",
            format!("new WordPress post {post} “Vendor note” (publish)"),
        ]),
        "{report}"
    );

    // The same cookie and the same password are refused now.
    assert!(!opens_users_page(&host, "/", jar.path()));
    let fresh = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(!logs_in(&host, "/", fresh.path(), &user, &password));
    // Nothing of the user is left; its post is the earliest administrator's.
    let left = wp_php(
        &host,
        &format!(
            "global $wpdb; echo get_user_by('login', '{user}') ? 'user' : 'none', ' ', $wpdb->get_var(\"SELECT COUNT(*) FROM $wpdb->usermeta um LEFT JOIN $wpdb->users u ON u.ID = um.user_id WHERE u.ID IS NULL\"), ' ', get_userdata(get_post({post})->post_author)->user_login;"
        ),
    );
    assert_eq!(left.trim(), "none 0 wpadmin");
    // The site's own administrator still logs in.
    let admin = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(
        &host,
        "/",
        admin.path(),
        "wpadmin",
        &host.wp_admin_password
    ));
}

#[test]
fn with_linux_user_the_vendor_gets_both_and_the_heir_is_the_one_named() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    wp_php(
        &host,
        "wp_insert_user(['user_login' => 'editor2', 'user_pass' => 'Editor-Passw0rd-1', 'user_email' => 'e2@example.org', 'role' => 'administrator']);",
    );
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                WP,
                "--wp-admin",
                "--wp-reassign",
                "editor2",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let account = grant.account().to_owned();
    assert!(host.has_account(&account));
    let [cms] = grant.cms_accounts.as_slice() else {
        panic!("not one CMS account in {grant}")
    };
    assert_eq!(
        cms.user, account,
        "the same name on the host and in the site"
    );
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(
        &host,
        "/",
        jar.path(),
        &cms.user,
        cms.password.as_deref().expect("a password")
    ));
    let post = wp_php(
        &host,
        &format!(
            "echo wp_insert_post(['post_title' => 'Vendor fix', 'post_status' => 'draft', 'post_author' => get_user_by('login', '{account}')->ID]);"
        ),
    );
    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    assert!(!host.has_account(&account));
    let heir = wp_php(
        &host,
        &format!(
            "echo get_userdata(get_post({})->post_author)->user_login;",
            post.trim()
        ),
    );
    assert_eq!(heir.trim(), "editor2");
}

/// What WordPress itself must say before anything changes: a scope without WordPress, an
/// heir that does not exist or is no administrator, a login taken — each refused, naming it.
#[test]
fn preflight_refuses_what_the_site_cannot_do_and_changes_nothing() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    wp_php(
        &host,
        "wp_insert_user(['user_login' => 'reader', 'user_pass' => 'Reader-Passw0rd-1', 'user_email' => 'r@example.org', 'role' => 'subscriber']);",
    );
    let provision = |extra: &[&str]| {
        let mut args = vec!["--playbook", "wordpress-admin"];
        args.extend_from_slice(extra);
        ws.provision_as_root(&host, &args)
    };
    host.sh("mkdir -p /var/www/plain && echo hi >/var/www/plain/index.html");
    host.refuses(
        provision(&["--scope", "/var/www/plain"]),
        &["/var/www/plain holds a WordPress site"],
    );
    host.refuses(
        provision(&["--scope", WP, "--param", "reassign=nobody-here"]),
        &["`nobody-here` (--param reassign) is an administrator"],
    );
    host.refuses(
        provision(&["--scope", WP, "--param", "reassign=reader"]),
        &["`reader` (--param reassign) is an administrator"],
    );
    host.refuses(
        provision(&[
            "--scope",
            WP,
            "--param",
            &format!("site=http://{}/", host.addr),
        ]),
        &["is a multisite network with a site at"],
    );
    host.refuses(
        provision(&["--scope", WP, "--account", "wpadmin"]),
        &["no WordPress user named `wpadmin` exists yet"],
    );
    // A WordPress whose PHP cannot answer (its database refuses it): WordPress's error is shown.
    host.sh(&format!(
        "cp {WP}/wp-config.php /root/wp-config.php && sed -i \"s/define('DB_PASSWORD', '[^']*')/define('DB_PASSWORD', 'wrong')/\" {WP}/wp-config.php"
    ));
    host.refuses(
        provision(&["--scope", WP]),
        &[
            "WordPress's PHP runs as the owner of the site's files and answers",
            "Error establishing a database connection",
        ],
    );
    host.sh(&format!("cp /root/wp-config.php {WP}/wp-config.php"));
    // A site whose files belong to root: its PHP is never run as root.
    host.sh(&format!("chown root {WP}/wp-config.php"));
    host.refuses(
        provision(&["--scope", WP]),
        &["belong to an account other than root"],
    );
}

/// Nobody runs teardown: at the grant's expiry the host's own guard (atd here) deletes the
/// administrator the same way, its post handed on, the guard itself gone after.
#[test]
fn at_the_ttl_the_host_itself_deletes_the_administrator() {
    let Some((host, ws)) = TestHost::builder()
        .service("atd")
        .service("wordpress")
        .trusted()
    else {
        return;
    };
    let grant = wordpress_admin(&host, &ws, &["--ttl", "15s"]);
    let user = grant.cms_accounts[0].user.clone();
    let post = wp_php(
        &host,
        &format!(
            "echo wp_insert_post(['post_title' => 'Left by the vendor', 'post_status' => 'publish', 'post_author' => get_user_by('login', '{user}')->ID]);"
        ),
    );
    let gone = || {
        wp_php(
            &host,
            &format!("echo get_user_by('login', '{user}') ? 'user' : 'none';"),
        )
        .trim()
            == "none"
    };
    assert!(!gone(), "deleted before its time");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !gone() {
        assert!(
            std::time::Instant::now() < deadline,
            "the administrator outlived its expiry by a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let author = wp_php(
        &host,
        &format!(
            "echo get_userdata(get_post({})->post_author)->user_login;",
            post.trim()
        ),
    );
    assert_eq!(author.trim(), "wpadmin");
    let dir = format!("/var/lib/handover/{}", grant.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while host.ok(&format!("test -e {dir}")) {
        assert!(std::time::Instant::now() < deadline, "{dir} is left");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The vendor as a person would: a real headless browser (Chromium) fills in wp-login.php with
/// the printed credentials and reaches the Users page; after teardown the same browser, with its
/// cookies, is sent back to the login page.
#[test]
fn a_real_browser_logs_in_with_the_credentials_and_is_shown_out_after_teardown() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = wordpress_admin(&host, &ws, &[]);
    let cms = &grant.cms_accounts[0];
    let browser = crate::browser::Browser::start();
    browser.go(&cms.login_url);
    browser.fill("#user_login", &cms.user);
    browser.fill("#user_pass", cms.password.as_deref().expect("a password"));
    browser.click("#wp-submit");
    assert!(browser.url().contains("/wp-admin/"), "{}", browser.url());
    let users = format!("http://{}/wp-admin/users.php", host.addr);
    browser.go(&users);
    assert!(browser.url().starts_with(&users), "{}", browser.url());
    assert!(browser.source().contains("user-new.php"));

    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    browser.go(&users);
    assert!(
        browser.url().contains("/wp-login.php"),
        "the browser's cookie still opens {}",
        browser.url()
    );
}

/// The site's WordPress users' password hashes, for comparing before and after.
fn password_hash(host: &TestHost, login: &str) -> String {
    wp_php(
        host,
        &format!("echo get_user_by('login', '{login}')->user_pass;"),
    )
    .trim()
    .to_owned()
}

/// Lending the site's own administrator: the window's password works and the original does
/// not; the customer's logins end at the start; after teardown the original hash is back, the
/// lent password refused and the window's logins ended.
#[test]
fn a_lent_administrator_gets_its_original_password_back_and_the_windows_logins_end() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let original = host.wp_admin_password.clone();
    let hash_before = password_hash(&host, "wpadmin");
    // The customer is logged in before the window.
    let customer = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(&host, "/", customer.path(), "wpadmin", &original));
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "wordpress-lend",
                "--param",
                "user=wpadmin",
                "--scope",
                WP,
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent("wordpress:wpadmin").to_owned();
    assert!(
        !opens_users_page(&host, "/", customer.path()),
        "the customer's login survived"
    );
    let vendor = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(!logs_in(&host, "/", vendor.path(), "wpadmin", &original));
    assert!(logs_in(&host, "/", vendor.path(), "wpadmin", &lent));
    assert!(opens_users_page(&host, "/", vendor.path()));
    // The original is kept in the record, and on the host for the guard, root's alone.
    assert!(ws.record_text(&grant.id).contains(&hash_before));
    let copy = format!("/var/lib/handover/{}-lent/wordpress-wpadmin", grant.id);
    assert_eq!(host.sh(&format!("stat -c %a:%U {copy}")).trim(), "600:root");

    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    assert_eq!(password_hash(&host, "wpadmin"), hash_before);
    assert!(
        !opens_users_page(&host, "/", vendor.path()),
        "the vendor's login survived"
    );
    let after = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(!logs_in(&host, "/", after.path(), "wpadmin", &lent));
    assert!(logs_in(&host, "/", after.path(), "wpadmin", &original));
    assert!(!host.ok(&format!("test -e {copy}")));
}

/// `--after rotate`: a new password for the customer at teardown, which works; `--rotate-wp-user`
/// beside an SSH account; and a user that does not exist is refused at preflight.
#[test]
fn a_lent_user_rotated_after_the_window_gets_a_new_password_for_the_customer() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    host.refuses(
        ws.provision_as_root(&host, &["--scope", WP, "--rotate-wp-user", "nobody-here"]),
        &["WordPress user `nobody-here` exists"],
    );
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                WP,
                "--rotate-wp-user",
                "wpadmin",
                "--after",
                "rotate",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    let lent = grant.lent("wordpress:wpadmin").to_owned();
    let torn = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(0)
        .json();
    let new = torn["new_passwords"]["wordpress:wpadmin"]
        .as_str()
        .unwrap_or_else(|| panic!("no new password in {torn}"))
        .to_owned();
    assert_ne!(new, lent);
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(!logs_in(&host, "/", jar.path(), "wpadmin", &lent));
    assert!(!logs_in(
        &host,
        "/",
        jar.path(),
        "wpadmin",
        &host.wp_admin_password
    ));
    assert!(logs_in(&host, "/", jar.path(), "wpadmin", &new));
}

/// Nobody runs teardown: at the expiry the host's own guard puts the original back from its
/// root-only copy.
#[test]
fn at_the_ttl_the_host_itself_gives_a_lent_user_its_original_password_back() {
    let Some((host, ws)) = TestHost::builder()
        .service("atd")
        .service("wordpress")
        .trusted()
    else {
        return;
    };
    let hash_before = password_hash(&host, "wpadmin");
    let grant = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "wordpress-lend",
                "--param",
                "user=wpadmin",
                "--scope",
                WP,
                "--ttl",
                "12s",
                "--json",
            ],
        )
        .run()
        .expect_code(0)
        .provisioned();
    assert_ne!(password_hash(&host, "wpadmin"), hash_before);
    assert!(
        crate::support::wait_until(
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(1),
            || password_hash(&host, "wpadmin") == hash_before
        ),
        "the host did not put the original back"
    );
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(
        &host,
        "/",
        jar.path(),
        "wpadmin",
        &host.wp_admin_password
    ));
    assert!(!host.ok(&format!("test -e /var/lib/handover/{}-lent", grant.id)));
}

/// Back-doors inside WordPress, which no file on the host shows, are named by teardown (exit
/// 3): a second administrator, an application password for the real one, a must-use plugin, a
/// scheduled event, registration opened to anyone. The grant's own administrator, and what it
/// made for itself, are not among them.
#[test]
fn teardown_names_the_back_doors_left_inside_wordpress() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let grant = ws
        .provision_as_root(&host, &["--scope", WP, "--wp-admin", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let own = grant.account().to_owned();
    wp_php(
        &host,
        &format!(
            "wp_insert_user(['user_login' => 'helper', 'user_pass' => 'Helper-Passw0rd-1', 'user_email' => 'h@example.org', 'role' => 'administrator']); \
             WP_Application_Passwords::create_new_application_password(get_user_by('login', 'wpadmin')->ID, ['name' => 'sync-tool']); \
             WP_Application_Passwords::create_new_application_password(get_user_by('login', '{own}')->ID, ['name' => 'own-work']); \
             update_option('users_can_register', 1); \
             wp_schedule_event(time() + 3600, 'hourly', 'vendor_beacon');"
        ),
    );
    host.sh(&format!(
        "mkdir -p {WP}/wp-content/mu-plugins && printf '<?php\\n/* Plugin Name: Helper */\\n' >{WP}/wp-content/mu-plugins/helper.php && chown -R www-data:www-data {WP}/wp-content/mu-plugins && echo '// patched' >>{WP}/wp-includes/functions.php && echo '<?php' >{WP}/wp-admin/includes/zz.php && echo 'ordinary content' >{WP}/wp-content/uploads/note.txt"
    ));
    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(3)
        .json();
    let texts: Vec<String> = report["drift"]["persistence"]
        .as_array()
        .unwrap_or_else(|| panic!("no drift in {report}"))
        .iter()
        .filter(|i| i["category"] == "wordpress")
        .map(|i| i["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let all = texts.join("\n");
    for expected in [
        "new WordPress administrator `helper`",
        "new WordPress application password `sync-tool` for `wpadmin`",
        "new WordPress mu-plugin helper.php",
        "new scheduled WordPress event `vendor_beacon` (hourly)",
        "WordPress option users_can_register: `0` → `1`",
        &format!("WordPress core file changed: {WP}/wp-includes/functions.php"),
        &format!("new file in WordPress's core: {WP}/wp-admin/includes/zz.php"),
    ] {
        assert!(all.contains(expected), "`{expected}` missing:\n{all}");
    }
    // Ordinary content is the CMS part's, never a back-door.
    assert!(!all.contains("note.txt"), "{all}");
    assert!(
        !all.contains(&own),
        "the grant's own administrator was reported:\n{all}"
    );
}

/// A batch: each host's site gets its own administrator, its own login page in the
/// credentials (the human summary shows every host's, not one shared account); one batch
/// teardown removes them all.
#[test]
fn a_batch_gives_each_hosts_site_an_administrator_and_one_teardown_removes_them() {
    let Some((hosts, ws, key)) =
        hosts_like_with_root_key(TestHost::builder().service("cron").service("wordpress"), 2)
    else {
        return;
    };
    let provision = |extra: &[&str]| {
        let mut args = vec![
            hosts[1].target("root"),
            "-i".to_owned(),
            key.clone(),
            "--playbook".to_owned(),
            "wordpress-admin".to_owned(),
            "--scope".to_owned(),
            WP.to_owned(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ws.provision(&hosts[0].target("root"), &args)
            .run()
            .expect_code(0)
    };
    let batch = provision(&["--json"]).batch();
    let mut jars = Vec::new();
    for (host, result) in hosts.iter().zip(&batch.hosts) {
        let [cms] = result.cms_accounts.as_slice() else {
            panic!("not one CMS account for {}", host.name)
        };
        assert_eq!(cms.login_url, format!("http://{}/wp-login.php", host.addr));
        let jar = tempfile::NamedTempFile::new().expect("cookie jar");
        let password = cms.password.as_deref().expect("a password");
        assert!(logs_in(host, "/", jar.path(), &cms.user, password));
        assert!(opens_users_page(host, "/", jar.path()));
        jars.push((jar, cms.user.clone()));
    }
    let human = provision(&[]);
    for host in &hosts {
        human.assert_stdout_contains(&format!("http://{}/wp-login.php", host.addr));
    }
    assert_eq!(
        human.stdout.matches("wp pass").count(),
        2,
        "{}",
        human.stdout
    );
    let human_batch = human
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("When the work is done: handover teardown "))
        .expect("the batch's teardown command")
        .to_owned();

    for batch in [batch.batch.as_str(), human_batch.as_str()] {
        let torn = ws
            .handover(&["teardown", batch, "-i", &key, "--json"])
            .run()
            .expect_code(0)
            .teardowns();
        assert!(torn.ok, "{torn}");
    }
    for (host, (jar, user)) in hosts.iter().zip(&jars) {
        assert!(!opens_users_page(host, "/", jar.path()));
        let left = wp_php(
            host,
            &format!("echo get_user_by('login', '{user}') ? 'user' : 'none';"),
        );
        assert_eq!(left.trim(), "none", "{user} left on {}", host.name);
    }
}

/// `handover reap`: an expired grant's WordPress administrator is deleted like its other
/// parts, and the live grant's is left.
#[test]
fn reap_deletes_an_expired_grants_administrator_and_leaves_a_live_ones() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let live = wordpress_admin(&host, &ws, &["--ttl", "1h"]);
    let expiring = wordpress_admin(&host, &ws, &["--ttl", "3s"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let reaped = ws
        .handover(&["reap", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .teardowns();
    assert!(reaped.ok, "{reaped}");
    assert_eq!(reaped.live, Some(vec![live.id.clone()]), "{reaped}");
    let exists = |grant: &Provisioned| {
        wp_php(
            &host,
            &format!(
                "echo get_user_by('login', '{}') ? 'user' : 'none';",
                grant.cms_accounts[0].user
            ),
        )
        .trim()
        .to_owned()
    };
    assert_eq!(exists(&expiring), "none");
    assert_eq!(exists(&live), "user");
    assert_eq!(ws.record(&expiring.id).state, "revoked");
    ws.teardown_as_root(&host, &live.id, &[])
        .run()
        .expect_code(0);
}

/// Sealed to the vendor's SSH key: nothing of the administrator's password on the terminal, and
/// the document `age` opens gives the site's login page, the user and a password that logs in.
#[test]
fn the_administrators_credentials_sealed_to_the_vendors_key_log_in() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let key = crate::support::keygen(ws.dir.path(), "vendor_ed25519", &["-t", "ed25519"]);
    let public = key.with_extension("pub");
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                "wordpress-admin",
                "--scope",
                WP,
                "--seal-to",
                public.to_str().expect("utf-8"),
            ],
        )
        .run()
        .expect_code(0);
    assert!(!out.stdout.contains("wp pass"), "{}", out.stdout);
    let doc = crate::seal::age_decrypt(&key, out.stdout.as_bytes());
    let value = |label: &str| crate::docs::labelled(&doc, label).to_owned();
    assert_eq!(
        value("wp login"),
        format!("http://{}/wp-login.php", host.addr)
    );
    let (user, password) = (value("wp user"), value("wp pass"));
    assert!(
        !out.stderr.contains(&password),
        "the password leaked to stderr"
    );
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(&host, "/", jar.path(), &user, &password));
    ws.teardown_as_root(&host, &value("grant"), &[])
        .run()
        .expect_code(0);
    assert!(!opens_users_page(&host, "/", jar.path()));
}
