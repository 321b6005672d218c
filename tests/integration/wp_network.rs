//! A WordPress multisite network (GitHub issue #18): the temporary administrator administers
//! the one site named, and the whole network only when asked; a super admin the vendor makes
//! is a back-door like any other. The test site is turned into a network the way WordPress's
//! own Network Setup does it (subdirectories, its wp-config.php constants and .htaccess).

use crate::support::{TestHost, WP, wordpress};
use crate::wp_admin::{logs_in, opens_users_page, wp_php};

/// The rewrite rules WordPress's Network Setup gives a subdirectory network.
const HTACCESS: &str = r"RewriteEngine On
RewriteBase /
RewriteRule ^index\.php$ - [L]
RewriteRule ^([_0-9a-zA-Z-]+/)?wp-admin$ $1wp-admin/ [R=301,L]
RewriteCond %{REQUEST_FILENAME} -f [OR]
RewriteCond %{REQUEST_FILENAME} -d
RewriteRule ^ - [L]
RewriteRule ^([_0-9a-zA-Z-]+/)?(wp-(content|admin|includes).*) $2 [L]
RewriteRule ^([_0-9a-zA-Z-]+/)?(.*\.php)$ $2 [L]
RewriteRule . index.php [L]
";

/// Turns the test site into a network with a second site `/shop/` (administered by
/// `wpadmin`): the second site's address.
fn make_network(host: &TestHost) -> String {
    let addr = &host.addr;
    let converted = wp_php(
        host,
        &format!(
            "define('WP_INSTALLING_NETWORK', true); \
             require_once ABSPATH . 'wp-admin/includes/upgrade.php'; \
             require_once ABSPATH . 'wp-admin/includes/network.php'; \
             global $wpdb; foreach ($wpdb->tables('ms_global') as $t => $p) {{ $wpdb->$t = $p; }} \
             install_network(); \
             $r = populate_network(1, '{addr}', 'wpadmin@example.org', 'Test network', '/', false); \
             echo is_wp_error($r) ? $r->get_error_message() : 'converted';"
        ),
    );
    assert_eq!(converted.trim(), "converted");
    // The network's constants before wp-settings.php; WP_HOME and WP_SITEURL would give every
    // site the main one's address.
    let constants = format!(
        "define('MULTISITE', true); define('SUBDOMAIN_INSTALL', false); define('DOMAIN_CURRENT_SITE', '{addr}'); define('PATH_CURRENT_SITE', '/'); define('SITE_ID_CURRENT_SITE', 1); define('BLOG_ID_CURRENT_SITE', 1);"
    );
    host.sh(&format!(
        "cd {WP} && sed -i -e '/WP_HOME\\|WP_SITEURL/d' -e \"s|^require_once ABSPATH . 'wp-settings.php';|{constants}\\n&|\" wp-config.php && printf '%s' '{HTACCESS}' >.htaccess && chown www-data:www-data .htaccess"
    ));
    let shop = wp_php(
        host,
        &format!(
            "$id = wpmu_create_blog('{addr}', '/shop/', 'Shop', 1); echo is_wp_error($id) ? $id->get_error_message() : $id;"
        ),
    );
    assert!(shop.trim().parse::<u64>().is_ok(), "no second site: {shop}");
    format!("http://{addr}/shop/")
}

#[test]
fn on_a_network_it_administers_the_one_site_named_and_the_network_only_when_asked() {
    let Some((host, ws)) = wordpress() else {
        return;
    };
    let shop = make_network(&host);
    let provision = |extra: &[&str]| {
        let mut args = vec!["--playbook", "wordpress-admin", "--scope", WP];
        args.extend_from_slice(extra);
        ws.provision_as_root(&host, &args)
    };
    let addr = &host.addr;
    host.refuses(
        provision(&[]),
        &[
            "a multisite network needs the one site named",
            &format!("its sites: http://{addr}/ http://{addr}/shop/"),
        ],
    );
    host.refuses(
        provision(&["--param", &format!("site=http://{addr}/nowhere/")]),
        &["no site of the network has the address"],
    );
    let refused = provision(&["--param", "site=ftp://example.org/"])
        .run()
        .expect_code(2);
    assert!(
        refused
            .stderr
            .contains("must be the address of one site of the WordPress network"),
        "{}",
        refused.stderr
    );

    let grant = provision(&["--param", &format!("site={shop}"), "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let cms = &grant.cms_accounts[0];
    assert_eq!(cms.login_url, format!("{shop}wp-login.php"));
    let (user, password) = (cms.user.clone(), cms.password.clone().expect("a password"));
    // The shop's Users page opens; the main site's does not, and it is no super admin.
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    assert!(logs_in(&host, "/shop/", jar.path(), &user, &password));
    assert!(opens_users_page(&host, "/shop/", jar.path()));
    assert!(!opens_users_page(&host, "/", jar.path()));
    let rank = wp_php(
        &host,
        &format!(
            "$u = get_user_by('login', '{user}'); echo is_super_admin($u->ID) ? 'super' : 'site', ' ', count(get_blogs_of_user($u->ID));"
        ),
    );
    assert_eq!(rank.trim(), "site 1");
    // The vendor writes on the shop and makes a friend a super admin.
    wp_php(
        &host,
        &format!(
            "switch_to_blog(2); wp_insert_post(['post_title' => 'Shop note', 'post_status' => 'publish', 'post_author' => get_user_by('login', '{user}')->ID]); \
             $id = wp_insert_user(['user_login' => 'helper', 'user_pass' => 'Helper-Passw0rd-1', 'user_email' => 'h@example.org']); grant_super_admin($id);"
        ),
    );
    let report = ws
        .teardown_as_root(&host, &grant.id, &["--json"])
        .run()
        .expect_code(3)
        .json();
    let found = report["drift"]["persistence"].to_string();
    assert!(
        found.contains("new WordPress super admin `helper` (every site of the network)"),
        "{found}"
    );
    assert!(!found.contains(&user), "{found}");
    let content = report["drift"]["cms"]["content"].to_string();
    assert!(
        content.contains(&format!("“Shop note” (publish) (site {addr}/shop/)")),
        "{content}"
    );
    // Gone from the whole network; its post is the shop administrator's.
    let left = wp_php(
        &host,
        &format!(
            "switch_to_blog(2); $p = get_posts(['title' => 'Shop note', 'post_type' => 'post']); echo get_user_by('login', '{user}') ? 'user' : 'none', ' ', get_userdata($p[0]->post_author)->user_login;"
        ),
    );
    assert_eq!(left.trim(), "none wpadmin");

    // A super admin only when asked for; it is the grant's own, not a back-door.
    let grant = provision(&["--param", "super_admin=yes", "--json"])
        .run()
        .expect_code(0)
        .provisioned();
    let user = grant.cms_accounts[0].user.clone();
    let is_super = || {
        wp_php(
            &host,
            &format!(
                "$u = get_user_by('login', '{user}'); echo $u && is_super_admin($u->ID) ? 'super' : 'no';"
            ),
        )
        .trim()
        .to_owned()
    };
    assert_eq!(is_super(), "super");
    ws.teardown_as_root(&host, &grant.id, &[])
        .run()
        .expect_code(0);
    assert_eq!(is_super(), "no");
}
