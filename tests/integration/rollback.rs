//! A failing step rolls back everything applied before it, and says so.

use crate::support::trusted_host;

#[test]
fn a_scope_where_setfacl_fails_rolls_back() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    // ramfs has no extended attributes, so setfacl fails there after the account exists.
    host.sh(
        "mkdir -p /srv/noacl && mount -t ramfs ramfs /srv/noacl && echo hi > /srv/noacl/index.php",
    );
    let before = host.snapshot();

    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                "/srv/noacl",
                "--account",
                "support-rollbk",
                "--json",
            ],
        )
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("acl"),
        "the failing step is not named:\n{}",
        out.stderr
    );
    out.assert_stderr_contains("rolled back");
    assert!(
        out.stderr.contains("remote stderr"),
        "setfacl's own error is not shown:\n{}",
        out.stderr
    );
    assert!(!out.error_report().error.is_empty());

    assert!(
        !host.has_account("support-rollbk"),
        "the account survived the rollback"
    );
    assert!(
        !host.ok("test -e /home/support-rollbk"),
        "the home survived the rollback"
    );
    assert_eq!(before, host.snapshot(), "the host is not as before");

    let list = ws.list();
    assert_eq!(list.grants[0].state, "revoked", "{list}");
    let record = ws.record(&list.grants[0].grant);
    assert!(record.has_event(|w| w.contains("rolling back")), "{record}");
}
