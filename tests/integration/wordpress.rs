//! The test hosts' WordPress (`--service wordpress`): Debian's package as a customer's site,
//! with its database on the host's MariaDB, served by Apache. Later issues (backups, CMS
//! administrator accounts) test against it; this proves it is a working site.

use crate::support::TestHost;

#[test]
fn the_test_sites_wordpress_serves_pages_and_lets_its_administrator_log_in() {
    let Some((host, _)) = TestHost::builder()
        .service("cron")
        .service("wordpress")
        .trusted()
    else {
        return;
    };
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    let (status, _, body) = host.http("/", jar.path(), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<title>handover test site</title>"), "{body}");

    // A wrong password is refused; the administrator's logs in (WordPress's auth cookie).
    let login = |password: &str| {
        host.http(
            "/wp-login.php",
            jar.path(),
            &[("log", "wpadmin"), ("pwd", password), ("testcookie", "1")],
        )
    };
    let (_, headers, _) = login("not-the-password");
    assert!(!headers.contains("wordpress_logged_in_"), "{headers}");
    let (status, headers, _) = login(&host.wp_admin_password);
    assert_eq!(status, 302, "{headers}");
    assert!(headers.contains("wordpress_logged_in_"), "{headers}");
    // The cookie opens the dashboard.
    let (status, _, body) = host.http("/wp-admin/", jar.path(), &[]);
    assert_eq!(status, 200);
    assert!(
        body.contains("Dashboard"),
        "{}",
        &body[..body.len().min(400)]
    );
}
