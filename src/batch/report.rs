//! What a batch prints: one JSON document with a result per host (`--json`), or credentials and
//! a table of hosts; teardown reports one after the other, then a summary.

use super::{HostOutcome, TeardownOutcome, combined_status};
use crate::engine::Provisioned;
use crate::error::{Error, ExitStatus};
use crate::ids::{BatchId, GrantId};
use crate::output::{self, Sealing, print_json};
use crate::record::Store;
use crate::secret::Secret;
use crate::text::{rfc3339, sanitize};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// The grant a failed provision left a record of (rolled back, or partial).
fn grant_of(error: &Error) -> Option<&str> {
    match error {
        Error::ApplyFailed { grant, .. }
        | Error::ProvisionInterrupted { grant, .. }
        | Error::Handover { grant, .. } => Some(grant),
        _ => None,
    }
}

/// The state a failed host's grant record was left in, if it has one.
fn state_of(store: &Store, grant: Option<&str>) -> Option<&'static str> {
    let id = GrantId::parse(grant?).ok()?;
    store.load(&id).ok().map(|r| r.state.as_str())
}

fn status_of(outcome: &HostOutcome) -> ExitStatus {
    match &outcome.result {
        Ok(_) => ExitStatus::Success,
        Err(e) => e.exit_status(),
    }
}

/// Every host's credentials in one document, sealed before anything secret is printed: the
/// armoured text, and the file it went to with `--seal-out`.
fn seal_all(
    sealing: Option<Sealing>,
    provisioned: &[&Provisioned],
) -> std::io::Result<(Option<String>, Option<PathBuf>)> {
    let sealed = match &sealing {
        Some(s) if !provisioned.is_empty() => {
            let mut doc = String::new();
            for p in provisioned {
                doc.push_str(output::credentials(p).expose());
                doc.push('\n');
            }
            Some(s.key.seal(&Secret::new(doc))?)
        }
        _ => None,
    };
    let sealed_file = match (sealing, &sealed) {
        (
            Some(Sealing {
                out: Some((path, mut file)),
                ..
            }),
            Some(text),
        ) => {
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            Some(path)
        }
        _ => None,
    };
    Ok((sealed, sealed_file))
}

/// Print a batch provision's results; returns the batch's exit status.
pub fn print_provisioned(
    store: &Store,
    batch: &BatchId,
    outcomes: &[HostOutcome],
    json: bool,
    sealing: Option<Sealing>,
    distinct: bool,
) -> std::io::Result<ExitStatus> {
    let status = combined_status(outcomes.iter().map(status_of));
    let provisioned: Vec<&Provisioned> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .collect();
    let (sealed, sealed_file) = seal_all(sealing, &provisioned)?;
    let show_passwords = sealed.is_none();
    if json {
        let mut value = json!({
            "batch": batch.as_str(),
            "ok": status == ExitStatus::Success,
            "exit_code": status.code(),
            "succeeded": provisioned.len(),
            "failed": outcomes.len() - provisioned.len(),
            "hosts": provisioned_hosts_json(store, outcomes, show_passwords),
        });
        if let Some(text) = &sealed {
            match &sealed_file {
                Some(path) => value["sealed_file"] = json!(path),
                None => value["sealed"] = json!(text),
            }
        }
        print_json(&value);
        return Ok(status);
    }
    for o in outcomes {
        match &o.result {
            Err(e) => eprintln!("handover: error: [{}] {}", o.label, e.report()),
            Ok(p) => {
                for warning in output::warnings(&p.record) {
                    eprintln!("handover: warning: [{}] {warning}", o.label);
                }
            }
        }
    }
    if let (Some(text), None) = (&sealed, &sealed_file) {
        // The sealed document alone on stdout, so `> credentials.age` captures exactly it.
        print!("{text}");
    }
    let out = provisioned_summary(batch, outcomes, &provisioned, distinct, show_passwords);
    if sealed_file.is_some() || sealed.is_none() {
        print!("{out}");
    } else {
        // stdout holds the sealed document: the summary goes to stderr.
        eprint!("{out}");
    }
    Ok(status)
}

/// Each host's part of the batch's `--json` document.
fn provisioned_hosts_json(
    store: &Store,
    outcomes: &[HostOutcome],
    show_passwords: bool,
) -> Vec<serde_json::Value> {
    outcomes
        .iter()
        .map(|o| {
            let code = status_of(o).code();
            match &o.result {
                Ok(p) => {
                    let mut value = output::provisioned_value(p, show_passwords);
                    value["target"] = json!(o.label);
                    value["alias"] = json!(p.record.host.alias);
                    value["ok"] = json!(true);
                    value["exit_code"] = json!(code);
                    value["error"] = json!(null);
                    value
                }
                Err(e) => json!({
                    "target": o.label,
                    "host": o.route.host.target.host,
                    "port": o.route.host.target.port,
                    "grant": grant_of(e),
                    // `revoked` when rolled back, `partial` when something remains.
                    "state": state_of(store, grant_of(e)),
                    "ok": false,
                    "exit_code": code,
                    "error": e.report(),
                }),
            }
        })
        .collect()
}

/// The human summary of a batch provision: the credentials (unless sealed), then a line a host.
fn provisioned_summary(
    batch: &BatchId,
    outcomes: &[HostOutcome],
    provisioned: &[&Provisioned],
    distinct: bool,
    show_passwords: bool,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "batch {batch}: {} of {} hosts provisioned\n",
        provisioned.len(),
        outcomes.len()
    ));
    // Lent, database and CMS accounts are each host's own (a site's login page, a lent
    // password): then every host's document is shown, as with distinct credentials.
    let own_per_host = provisioned.iter().any(|p| {
        let c = &p.credentials;
        !(c.lent.is_empty() && c.databases.is_empty() && c.cms.is_empty())
    });
    if let Some(first) = provisioned.first() {
        if distinct || own_per_host {
            out.push_str(if distinct {
                "credentials (one account and password per host):\n\n"
            } else {
                "credentials (each host's own logins):\n\n"
            });
            if show_passwords {
                for p in provisioned {
                    out.push_str(output::credentials(p).expose());
                    out.push('\n');
                }
            }
        } else {
            let r = &first.record;
            let password = first.credentials.password.as_ref().map(Secret::expose);
            out.push_str(&format!("account    {}\n", r.account));
            if let Some(password) = password {
                if show_passwords {
                    out.push_str(&format!("password   {password}\n"));
                } else {
                    out.push_str("password   (sealed to the vendor's key)\n");
                }
            }
            out.push_str(&format!(
                "expires    {}   (the same account and password on every host below)\n",
                rfc3339(r.expires_at)
            ));
        }
    }
    out.push_str(&format!(
        "\n{:<28} {:<16} {:<8} DETAIL\n",
        "HOST", "GRANT", "RESULT"
    ));
    for o in outcomes {
        let (grant, result, detail) = match &o.result {
            Ok(p) => (
                p.record.id.to_string(),
                "ok".to_owned(),
                format!(
                    "{}:{} host key {}",
                    p.record.host.host, p.record.host.port, p.record.host.host_key_fingerprint
                ),
            ),
            Err(e) => {
                let report = e.report();
                let mut detail = report.lines().next().unwrap_or("").to_owned();
                // What became of the host: rolled back, or what remains.
                if let Some(outcome) = report
                    .lines()
                    .find(|l| l.starts_with("rolled back") || l.starts_with("rollback"))
                {
                    detail.push_str("; ");
                    detail.push_str(outcome);
                }
                (
                    grant_of(e).unwrap_or("-").to_owned(),
                    format!("exit {}", e.exit_status().code()),
                    detail,
                )
            }
        };
        out.push_str(&format!(
            "{:<28} {grant:<16} {result:<8} {}\n",
            sanitize(&o.label),
            sanitize(&detail)
        ));
    }
    if !provisioned.is_empty() {
        if show_passwords {
            out.push_str("\nThe password is shown once and not stored. Hand it over privately.\n");
        }
        out.push_str(&format!(
            "When the work is done: handover teardown {batch}\n"
        ));
    }
    out
}

/// Print the teardown reports of many grants; returns their exit status. `extra` adds fields
/// to the JSON document (`batch`, the live grants of `reap`, …).
pub fn print_teardowns(
    what: &str,
    outcomes: &[TeardownOutcome],
    json: bool,
    extra: serde_json::Map<String, serde_json::Value>,
) -> std::io::Result<ExitStatus> {
    let status = combined_status(outcomes.iter().map(TeardownOutcome::status));
    if json {
        let grants: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                let mut value = json!({
                    "grant": o.grant.as_str(),
                    "host": o.host,
                    "ok": o.status() == ExitStatus::Success,
                    "exit_code": o.status().code(),
                    "error": o.result.as_ref().err().map(Error::report),
                });
                if let Ok(report) = &o.result {
                    let mut report_value = serde_json::to_value(report).unwrap_or_default();
                    report_value["new_passwords"] = report
                        .new_passwords
                        .iter()
                        .map(|(a, p)| (a.clone(), json!(p.expose())))
                        .collect::<serde_json::Map<_, _>>()
                        .into();
                    value["state"] = json!(report.state.as_str());
                    value["report"] = report_value;
                }
                value
            })
            .collect();
        let mut value = json!({
            "ok": status == ExitStatus::Success,
            "exit_code": status.code(),
            "grants": grants,
        });
        for (k, v) in extra {
            value[k] = v;
        }
        print_json(&value);
        return Ok(status);
    }
    for o in outcomes {
        println!("== grant {} on {} ==", o.grant, sanitize(&o.host));
        match &o.result {
            Ok(report) => output::teardown(report, false, None)?,
            Err(e) => {
                eprintln!("handover: error: [{}] {}", o.grant, e.report());
                println!("✗ {}", e.report().lines().next().unwrap_or(""));
            }
        }
        println!();
    }
    let ok = outcomes
        .iter()
        .filter(|o| o.status() == ExitStatus::Success)
        .count();
    println!(
        "{what}: {ok} of {} grants torn down and verified",
        outcomes.len()
    );
    for o in outcomes
        .iter()
        .filter(|o| o.status() != ExitStatus::Success)
    {
        println!(
            "  ✗ {} on {} (exit {}): run `handover teardown {}` again once fixed",
            o.grant,
            sanitize(&o.host),
            o.status().code(),
            o.grant
        );
    }
    Ok(status)
}

/// `handover extend|suspend|resume BATCH`: each grant's result, then how many were `done`
/// (`extended`).
pub fn print_changed<R: super::Change>(
    batch: &crate::ids::BatchId,
    outcomes: &[super::GrantOutcome<R>],
    status: crate::error::ExitStatus,
    json: bool,
    done: &str,
) -> std::io::Result<()> {
    if json {
        let grants: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                let mut value = match &o.result {
                    Ok(report) => json!(report),
                    Err(e) => json!({"grant": o.grant.as_str(), "error": e.report()}),
                };
                value["host"] = json!(o.host);
                value["exit_code"] = json!(o.status().code());
                value
            })
            .collect();
        crate::output::print_json(&json!({
            "batch": batch.as_str(),
            "ok": status == crate::error::ExitStatus::Success,
            "exit_code": status.code(),
            "grants": grants,
        }));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let mut changed = 0;
    for o in outcomes {
        match &o.result {
            Ok(report) if report.verified() => {
                changed += 1;
                writeln!(
                    out,
                    "✓ {} {}: {}",
                    o.grant,
                    crate::text::sanitize(&o.host),
                    report.outcome()
                )?;
            }
            Ok(report) => {
                writeln!(
                    out,
                    "✗ {} {}: not verified",
                    o.grant,
                    crate::text::sanitize(&o.host)
                )?;
                crate::output::write_checks(&mut out, report.checks())?;
            }
            Err(e) => writeln!(
                out,
                "✗ {} {}: {}",
                o.grant,
                crate::text::sanitize(&o.host),
                e.report()
            )?,
        }
    }
    writeln!(
        out,
        "batch {batch}: {changed} of {} grants {done}",
        outcomes.len()
    )
}
