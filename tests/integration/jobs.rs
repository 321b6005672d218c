//! What the temporary account scheduled goes with it: its crontab and at jobs.

use crate::support::{TestHost, text};

/// Teardown used to hand the account's crontab and at jobs to root and leave them in the
/// spool: cron would run the crontab again for the next account of that name, and atd runs a
/// job whose spool file root owns as root.
#[test]
fn the_accounts_crontab_and_at_jobs_go_with_it() {
    let Some((host, ws)) = TestHost::builder().service("cron").service("atd").trusted() else {
        return;
    };
    let grant = ws.grant(&host, &[]);
    let name = grant.account();
    // The vendor schedules jobs through its own login, as anyone could during the window.
    let out = host.ssh_as(
        name,
        grant.password(),
        "echo '0 3 * * * touch /tmp/from-cron' | crontab - && echo 'touch /tmp/from-at' | at now + 1 hour",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let crontab = format!("/var/spool/cron/crontabs/{name}");
    assert!(
        host.ok(&format!("test -s {crontab}")),
        "no crontab was written"
    );
    // Where cronie (the RHEL family) keeps a crontab: the spool itself, by the account's name.
    let rhel_crontab = format!("/var/spool/cron/{name}");
    host.sh(&format!(
        "echo '0 4 * * * true' > {rhel_crontab} && chown {name} {rhel_crontab} && chmod 600 {rhel_crontab}"
    ));
    let uid = host.uid_of(name);
    let at_jobs = format!("find /var/spool/cron/atjobs -type f -uid {uid}");
    assert!(!host.sh(&at_jobs).trim().is_empty(), "no at job was queued");

    let report = ws.revoke_report(&host, &grant.id);
    let jobs = report
        .checks
        .iter()
        .find(|c| c.check.contains(&format!("no crontab of `{name}`")))
        .unwrap_or_else(|| panic!("no check of the account's jobs: {report:?}"));
    assert!(jobs.ok, "{report:?}");
    assert!(
        host.ok(&format!("test ! -e {crontab} && test ! -e {rhel_crontab}")),
        "a crontab is left"
    );
    assert_eq!(
        host.sh("find /var/spool/cron/atjobs -type f ! -name .SEQ")
            .trim(),
        "",
        "an at job is left in the spool"
    );
}
