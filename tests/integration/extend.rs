//! `handover extend` (GitHub issue #21): a live grant's expiry moves on the host and in the
//! record, verified from the host; the 30-day ceiling holds from the grant's start.

use crate::support::{TestHost, trusted_host};
use std::time::{Duration, Instant};

/// A grant whose TTL is seconds away, extended: the host keeps the account past the old time
/// and removes it by itself at the new one.
#[test]
fn an_extended_grant_outlives_its_old_expiry_and_goes_at_the_new_one() {
    let Some((host, ws)) = TestHost::builder().service("atd").trusted() else {
        return;
    };
    let grant = ws.grant(&host, &["--ttl", "20s"]);
    let old = grant.expires_at().unix_timestamp();
    let extended = ws
        .handover(&["extend", &grant.id, "--ttl", "50s", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    assert_eq!(extended["verified"], true, "{extended}");
    let new = time::OffsetDateTime::parse(
        extended["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 time")
    .unix_timestamp();
    assert!(new >= old + 25, "{extended}");
    let record = ws.record_text(&grant.id);
    assert!(record.contains("extended by"), "{record}");
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    // Past the old expiry, the account is still there.
    while now() < old + 5 {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        host.has_account(grant.account()),
        "removed at the old expiry"
    );
    // At the new one, the host removes it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while host.has_account(grant.account()) {
        assert!(
            Instant::now() < deadline,
            "the account outlived its new expiry"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let gone_at = now();
    assert!(
        gone_at >= new - 1 && gone_at <= new + 15,
        "removed at {gone_at}, the new expiry is {new}"
    );
}

/// No extension past 30 days from the grant's start, none into the past, none of a grant
/// that is no longer live: each refused (exit 2) before the host is touched.
#[test]
fn extend_refuses_the_ceiling_the_past_and_a_revoked_grant() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let grant = ws.grant(&host, &["--ttl", "1h"]);
    let before = host.snapshot();
    let refused = ws
        .handover(&["extend", &grant.id, "--ttl", "30d"])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    assert!(
        refused
            .stderr
            .contains("at most 30 days from the grant's start"),
        "{}",
        refused.stderr
    );
    let refused = ws
        .handover(&["extend", &grant.id, "--until", "2020-01-01T00:00:00Z"])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    assert!(
        refused.stderr.contains("a time still to come"),
        "{}",
        refused.stderr
    );
    assert_eq!(before, host.snapshot(), "a refused extend changed the host");
    ws.revoke(&host, &grant.id);
    let refused = ws
        .handover(&["extend", &grant.id, "--ttl", "2h"])
        .with_root_password(&host)
        .run()
        .expect_code(2);
    assert!(
        refused.stderr.contains("a live grant"),
        "{}",
        refused.stderr
    );
}

/// A temporary PostgreSQL role's `VALID UNTIL` moves with the grant.
#[test]
fn a_postgres_roles_validity_moves_with_the_grant() {
    let Some((host, ws)) = TestHost::builder()
        .service("postgresql")
        .service("cron")
        .trusted()
    else {
        return;
    };
    let grant = ws.grant(
        &host,
        &["--db", "postgres", "--db-name", "cms", "--ttl", "1h"],
    );
    let valid_until = || {
        host.sh(&format!(
            "cd / && runuser -u postgres -- psql -X -q -A -t -c \"SELECT floor(extract(epoch FROM rolvaliduntil))::bigint FROM pg_roles WHERE rolname = '{}'\"",
            grant.account()
        ))
        .trim()
        .parse::<i64>()
        .expect("a VALID UNTIL")
    };
    assert_eq!(valid_until(), grant.expires_at().unix_timestamp());
    let extended = ws
        .handover(&["extend", &grant.id, "--ttl", "3h", "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0)
        .json();
    let new = time::OffsetDateTime::parse(
        extended["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 time")
    .unix_timestamp();
    assert_eq!(valid_until(), new, "{extended}");
    ws.revoke(&host, &grant.id);
}

/// A batch id extends every grant of the batch, each verified on its own host.
#[test]
fn a_batch_is_extended_grant_by_grant() {
    let Some((hosts, ws, key)) = crate::support::hosts_with_root_key(2) else {
        return;
    };
    let batch = ws.batch_of(&hosts, &key, &["--ttl", "1h"]);
    let extended = ws
        .handover(&["extend", &batch.batch, "--ttl", "5h", "-i", &key, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(extended["ok"], true, "{extended}");
    let grants = extended["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 2, "{extended}");
    for grant in grants {
        assert_eq!(grant["verified"], true, "{grant}");
        let id = grant["grant"].as_str().expect("a grant id");
        let record = ws.record_text(id);
        assert!(record.contains("extended by"), "{record}");
    }
    let human = ws
        .handover(&["extend", &batch.batch, "--ttl", "6h", "-i", &key])
        .run()
        .expect_code(0)
        .stdout;
    assert!(human.contains("2 of 2 grants extended"), "{human}");
    ws.handover(&["teardown", &batch.batch, "-i", &key])
        .run()
        .expect_code(0);
}
