//! Many hosts at once: `handover provision HOST1 HOST2 …` (or `--hosts FILE`) runs the playbook
//! on every host concurrently, one grant per host, grouped under a batch id kept in each
//! record; `handover teardown BATCH` and `handover reap` tear grants down the same way.
//!
//! Each host is on its own: one failing (unreachable, a failed step) never stops the others,
//! and a failed provision is rolled back on that host by the engine as for a single host. The
//! exit status is the most severe of the hosts' (see [`combined_status`]).

mod report;

pub use report::{print_changed, print_provisioned, print_teardowns};

use crate::engine::{
    self, CheckResult, ConnectOptions, ExtendReport, ProvisionRequest, Provisioned, SuspendReport,
    TeardownReport,
};
use crate::error::{Error, ExitStatus};
use crate::ids::{BatchId, GrantId};
use crate::input::{AccountName, InputError};
use crate::progress::Progress;
use crate::record::{GrantRecord, GrantState, RecordError, Store};
use crate::secret::generate_password;
use crate::ssh::config::{Route, SshConfig};
use futures::StreamExt;
use futures::future::LocalBoxFuture;

use std::path::Path;
use time::OffsetDateTime;

/// `--parallel` default and ceiling.
pub const DEFAULT_PARALLEL: usize = 16;
const MAX_PARALLEL: usize = 256;
/// Most targets one batch takes.
const MAX_HOSTS: usize = 1000;

/// The exit status of many hosts: 0 when all succeeded; else 4 if any host could not be
/// reached (connect, authenticate, become root, host key); else 1 if any failed (a failed
/// provision, rolled back; a usage problem of one host such as a non-root login); else 3 (a
/// teardown not verified, or drift).
pub fn combined_status(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
    let statuses: Vec<ExitStatus> = statuses.into_iter().collect();
    let any = |s: ExitStatus| statuses.contains(&s);
    if any(ExitStatus::Unreachable) {
        ExitStatus::Unreachable
    } else if any(ExitStatus::Failed) || any(ExitStatus::Usage) {
        ExitStatus::Failed
    } else if any(ExitStatus::NotVerified) {
        ExitStatus::NotVerified
    } else {
        ExitStatus::Success
    }
}

/// `--parallel N`, checked.
pub fn parallel(value: usize) -> Result<usize, Error> {
    if (1..=MAX_PARALLEL).contains(&value) {
        Ok(value)
    } else {
        Err(InputError::new(
            "--parallel",
            &value.to_string(),
            format!("a number of hosts from 1 to {MAX_PARALLEL}"),
        )
        .into())
    }
}

/// Every target (see `listed_targets`), each resolved; a bad target from `--hosts FILE` is named
/// with its line.
pub fn resolve_targets(
    given: &[String],
    file: Option<&Path>,
    config: Option<&SshConfig>,
    default_login: &str,
) -> Result<Vec<(String, Route)>, Error> {
    listed_targets(given, file)?
        .into_iter()
        .map(|(target, line)| {
            let route =
                resolve(&target, config, default_login).map_err(|e| match (file, line) {
                    (Some(path), Some(n)) if e.exit_status() == ExitStatus::Usage => {
                        Error::from(InputError::new(
                            "--hosts",
                            &format!("{} line {n}", path.display()),
                            e.report(),
                        ))
                    }
                    _ => e,
                })?;
            Ok((target, route))
        })
        .collect()
}

/// The targets of a provision: those on the command line, then those of `--hosts FILE` (one
/// per line; blank lines and `#` comments are skipped), each with the file line it came from
/// (`None`: the command line). Each target once.
fn listed_targets(
    given: &[String],
    file: Option<&Path>,
) -> Result<Vec<(String, Option<usize>)>, Error> {
    let mut all: Vec<(String, Option<usize>)> = given.iter().map(|t| (t.clone(), None)).collect();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(
                "--hosts",
                &path.display().to_string(),
                format!("a readable file of targets, one per line ({e})"),
            )
        })?;
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.split_whitespace().count() > 1 {
                return Err(InputError::new(
                    "--hosts",
                    &format!("{} line {}", path.display(), index + 1),
                    "one [LOGIN@]HOST[:PORT] per line",
                )
                .into());
            }
            all.push((line.to_owned(), Some(index + 1)));
        }
    }
    if all.is_empty() {
        return Err(InputError::new(
            "target",
            "",
            "at least one [LOGIN@]HOST[:PORT], or --hosts FILE",
        )
        .into());
    }
    if all.len() > MAX_HOSTS {
        return Err(InputError::new(
            "target",
            &all.len().to_string(),
            format!("at most {MAX_HOSTS} hosts in one batch"),
        )
        .into());
    }
    let mut seen: Vec<&String> = Vec::new();
    for (target, _) in &all {
        if seen.contains(&target) {
            return Err(InputError::new("target", target, "each host once").into());
        }
        seen.push(target);
    }
    Ok(all)
}

/// Resolve a target through the ssh config (when there is one).
pub fn resolve(
    spec: &str,
    config: Option<&SshConfig>,
    default_login: &str,
) -> Result<Route, Error> {
    Ok(match config {
        Some(config) => config.resolve(spec, default_login)?,
        None => Route::direct(crate::input::Target::parse(spec, default_login)?),
    })
}

/// How a batch provision goes beyond the template request.
pub struct BatchOptions {
    pub parallel: usize,
    /// `--distinct-credentials`: a password (and, unless `--account`, an account name) per host.
    pub distinct: bool,
    /// `--account` was given: the same name everywhere even with distinct credentials.
    pub account_given: bool,
}

/// One host's provision.
pub struct HostOutcome {
    /// The target as given (an alias, `root@10.0.0.5`, …).
    pub label: String,
    pub route: Route,
    pub result: Result<Provisioned, Error>,
}

/// Provision `template` on every route concurrently, one grant per host, under a new batch id.
pub async fn provision(
    store: &Store,
    template: ProvisionRequest,
    hosts: Vec<(String, Route)>,
    options: &BatchOptions,
    progress: &Progress,
) -> (BatchId, Vec<HostOutcome>) {
    let batch = BatchId::generate(crate::record::now());
    let shared_password = (!options.distinct).then(generate_password);
    progress.say(format!(
        "batch {batch}: provisioning {} hosts, {} at a time",
        hosts.len(),
        options.parallel.min(hosts.len())
    ));
    let requests: Vec<(String, Route, ProvisionRequest)> = hosts
        .into_iter()
        .map(|(label, route)| {
            // Many hosts at once cannot share a terminal for prompts: secrets come from the
            // environment, a key or the agent.
            let mut connect = template.connect.clone();
            connect.auth.interactive = false;
            let account = if options.distinct && !options.account_given {
                AccountName::generate()
            } else {
                template.account.clone()
            };
            let request = ProvisionRequest {
                route: route.clone(),
                account,
                connect,
                batch: Some(batch.clone()),
                password: shared_password.clone(),
                ..template.clone()
            };
            (label, route, request)
        })
        .collect();
    let outcomes = futures::stream::iter(requests.into_iter().enumerate())
        .map(|(index, (label, route, request))| async move {
            let host_progress = progress.host(&label);
            let result = engine::provision(store, request, &host_progress).await;
            match &result {
                Ok(p) => host_progress.done(format!("✓ grant {}", p.record.id)),
                Err(e) => host_progress.done(format!(
                    "✗ exit {}: {}",
                    e.exit_status().code(),
                    first_line(&e.report())
                )),
            }
            (
                index,
                HostOutcome {
                    label,
                    route,
                    result,
                },
            )
        })
        .buffer_unordered(options.parallel)
        .collect::<Vec<_>>()
        .await;
    (batch, in_order(outcomes))
}

/// One grant of a batch and what an operation on it (teardown, extend) gave.
pub struct GrantOutcome<R> {
    pub grant: GrantId,
    /// `host:port` of the grant (with its alias).
    pub host: String,
    pub result: Result<R, Error>,
}

/// One grant's teardown.
pub type TeardownOutcome = GrantOutcome<TeardownReport>;

/// What a change to a live grant (`extend`, `suspend`, `resume`) reports, as a batch shows it.
pub trait Change: serde::Serialize {
    fn verified(&self) -> bool;
    fn checks(&self) -> &[CheckResult];
    /// Where the grant now stands, in a few words (`expires at …`, `suspended`).
    fn outcome(&self) -> String;
}

impl Change for ExtendReport {
    fn verified(&self) -> bool {
        self.verified
    }
    fn checks(&self) -> &[CheckResult] {
        &self.checks
    }
    fn outcome(&self) -> String {
        format!("expires at {}", crate::text::rfc3339(self.expires_at))
    }
}

impl Change for SuspendReport {
    fn verified(&self) -> bool {
        self.verified
    }
    fn checks(&self) -> &[CheckResult] {
        &self.checks
    }
    fn outcome(&self) -> String {
        self.state.to_owned()
    }
}

impl TeardownOutcome {
    pub fn status(&self) -> ExitStatus {
        match &self.result {
            Ok(report) if report.success() => ExitStatus::Success,
            Ok(_) => ExitStatus::NotVerified,
            Err(e) => e.exit_status(),
        }
    }
}

impl<R: Change> GrantOutcome<R> {
    pub fn status(&self) -> ExitStatus {
        match &self.result {
            Ok(report) if report.verified() => ExitStatus::Success,
            Ok(_) => ExitStatus::NotVerified,
            Err(e) => e.exit_status(),
        }
    }
}

/// Run `work` on every grant, `parallel` at a time, each with a progress line of its own that
/// ends with `said` of its result; the outcomes in the grants' order. Prompts only for one
/// grant (a password prompt per host would interleave).
async fn each_grant<R>(
    store: &Store,
    grants: &[GrantRecord],
    connect: &ConnectOptions,
    parallel: usize,
    progress: &Progress,
    work: impl for<'b> Fn(
        &'b Store,
        &'b GrantRecord,
        &'b ConnectOptions,
        &'b Progress,
    ) -> LocalBoxFuture<'b, Result<R, Error>>,
    said: fn(&R) -> &'static str,
) -> Vec<GrantOutcome<R>> {
    let mut connect = connect.clone();
    connect.auth.interactive = grants.len() <= 1 && connect.auth.interactive;
    let connect = &connect;
    let work = &work;
    let outcomes = futures::stream::iter(grants.iter().enumerate())
        .map(|(index, record)| async move {
            let host = host_label(record);
            let host_progress = progress.host(&format!("{} {host}", record.id));
            let result = work(store, record, connect, &host_progress).await;
            match &result {
                Ok(report) => host_progress.done(said(report)),
                Err(e) => host_progress.done(format!(
                    "✗ exit {}: {}",
                    e.exit_status().code(),
                    first_line(&e.report())
                )),
            }
            (
                index,
                GrantOutcome {
                    grant: record.id.clone(),
                    host,
                    result,
                },
            )
        })
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await;
    in_order(outcomes)
}

/// Tear down `grants` concurrently.
pub async fn teardown(
    store: &Store,
    grants: &[GrantRecord],
    connect: &ConnectOptions,
    parallel: usize,
    progress: &Progress,
) -> Vec<TeardownOutcome> {
    each_grant(
        store,
        grants,
        connect,
        parallel,
        progress,
        |store, record, connect, progress| {
            Box::pin(engine::teardown(store, &record.id, connect, progress))
        },
        |report| {
            if report.success() {
                "✓ revoked"
            } else if report.verified {
                "✗ revoked, but drift found"
            } else {
                "✗ partial: something remains"
            }
        },
    )
    .await
}

/// Suspend (or `resume`) every grant of a batch, `parallel` at a time, like [`teardown`].
pub async fn suspend(
    store: &Store,
    grants: &[GrantRecord],
    resume: bool,
    connect: &ConnectOptions,
    parallel: usize,
    progress: &Progress,
) -> Vec<GrantOutcome<SuspendReport>> {
    each_grant(
        store,
        grants,
        connect,
        parallel,
        progress,
        |store, record, connect, progress| {
            Box::pin(engine::suspend(
                store, &record.id, resume, connect, progress,
            ))
        },
        |report| match (report.verified, report.state) {
            (true, "suspended") => "✓ suspended",
            (true, _) => "✓ resumed",
            (false, _) => "✗ not verified",
        },
    )
    .await
}

/// Extend every grant of a batch to `until`, `parallel` at a time, like [`teardown`].
pub async fn extend(
    store: &Store,
    grants: &[GrantRecord],
    until: OffsetDateTime,
    connect: &ConnectOptions,
    parallel: usize,
    progress: &Progress,
) -> Vec<GrantOutcome<ExtendReport>> {
    each_grant(
        store,
        grants,
        connect,
        parallel,
        progress,
        |store, record, connect, progress| {
            Box::pin(engine::extend(store, &record.id, until, connect, progress))
        },
        |report| {
            if report.verified {
                "✓ extended"
            } else {
                "✗ not verified"
            }
        },
    )
    .await
}

/// The progress line of a batch operation starting: `batch ID: VERB N grants, P at a time`.
pub fn announce(progress: &Progress, batch: &BatchId, verb: &str, grants: usize, parallel: usize) {
    progress.say(format!(
        "batch {batch}: {verb} {grants} grants, {} at a time",
        parallel.min(grants)
    ));
}

/// The grants of `batch`, oldest first; none is an error (exit 2).
pub fn grants_of(store: &Store, batch: &BatchId) -> Result<Vec<GrantRecord>, Error> {
    let grants: Vec<GrantRecord> = store
        .list()?
        .into_iter()
        .filter_map(Result::ok)
        .filter(|r| r.batch.as_ref() == Some(batch))
        .collect();
    if grants.is_empty() {
        return Err(RecordError::NotFound {
            id: batch.to_string(),
            dir: store.dir().to_owned(),
        }
        .into());
    }
    Ok(grants)
}

/// What `reap` finds in the store: grants whose TTL has passed and that are not revoked, the
/// live ones, and records it could not read.
pub struct Expired {
    pub expired: Vec<GrantRecord>,
    pub live: Vec<GrantRecord>,
    pub unreadable: Vec<String>,
}

pub fn expired(store: &Store, now: OffsetDateTime) -> Result<Expired, Error> {
    let mut found = Expired {
        expired: Vec::new(),
        live: Vec::new(),
        unreadable: Vec::new(),
    };
    for record in store.list()? {
        match record {
            Ok(r) if r.state == GrantState::Revoked => {}
            Ok(r) if r.expires_at <= now => found.expired.push(r),
            Ok(r) => found.live.push(r),
            Err(e) => found.unreadable.push(crate::error::chain(&e)),
        }
    }
    Ok(found)
}

/// `host:port` of a grant, with the alias it was provisioned as.
pub fn host_label(record: &GrantRecord) -> String {
    let host = if record.host.host.contains(':') {
        format!("[{}]:{}", record.host.host, record.host.port)
    } else {
        format!("{}:{}", record.host.host, record.host.port)
    };
    match &record.host.alias {
        Some(alias) => format!("{alias} ({host})"),
        None => host,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn in_order<T>(mut outcomes: Vec<(usize, T)>) -> Vec<T> {
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_are_not_grant_ids() {
        let id = BatchId::generate(OffsetDateTime::now_utc());
        assert!(BatchId::parse(id.as_str()).is_ok(), "{id}");
        assert!(GrantId::parse(id.as_str()).is_err());
        for bad in ["20261123-abcdef", "b-20261123-ABCDEF", "b-", "b-../../x"] {
            assert!(BatchId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_severe_status_wins() {
        use ExitStatus::*;
        assert_eq!(combined_status([Success, Success]), Success);
        assert_eq!(combined_status([Success, NotVerified]), NotVerified);
        assert_eq!(combined_status([NotVerified, Failed]), Failed);
        assert_eq!(combined_status([Usage, Success]), Failed);
        assert_eq!(combined_status([Failed, Unreachable, Success]), Unreachable);
        assert_eq!(combined_status([]), Success);
    }

    #[test]
    fn host_files_skip_comments_and_blank_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hosts");
        std::fs::write(&path, "# web\nweb1\n\n  root@10.0.0.2:22  # db\nweb1x\n").expect("write");
        let all = listed_targets(&["cms".into()], Some(&path)).expect("targets");
        let expected = [
            ("cms", None),
            ("web1", Some(2)),
            ("root@10.0.0.2:22", Some(4)),
            ("web1x", Some(5)),
        ]
        .map(|(t, line)| (t.to_owned(), line));
        assert_eq!(all, expected);
        assert!(listed_targets(&["a".into(), "a".into()], None).is_err());
        std::fs::write(&path, "a b\n").expect("write");
        assert!(listed_targets(&[], Some(&path)).is_err());
        assert!(listed_targets(&[], None).is_err());
    }
}
