//! What the user sees: human text, `--json` documents, progress lines.
//!
//! stdout carries the result only (credentials, reports, one JSON document with `--json`);
//! progress goes to stderr. Text that came from the host is stripped of control sequences.

use crate::audit::Drift;
use crate::engine::{AuditReport, Provisioned, TeardownReport};
use crate::error::Error;
use crate::record::{GrantRecord, RecordError};
use crate::seal::VendorKey;
use crate::secret::Secret;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

pub use crate::progress::Progress;
use crate::text::{rfc3339, sanitize};

pub(crate) fn print_json(value: &serde_json::Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut stdout, value);
    let _ = writeln!(stdout);
}

/// The day the host's own account expiry takes effect, from the user action.
fn disabled_from(record: &GrantRecord) -> Option<&str> {
    record.actions.iter().find_map(|a| match &a.action {
        crate::actions::Action::User(user) => Some(user.expire_date.as_str()),
        _ => None,
    })
}

/// `--allow-from` of the grant, canonical, from its sshd-match action.
fn allow_from(record: &GrantRecord) -> Vec<String> {
    record
        .actions
        .iter()
        .find_map(|a| match &a.action {
            crate::actions::Action::SshdMatch(m) => {
                Some(m.allow_from.iter().map(ToString::to_string).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// How the host removes the grant by itself at the expiry (`at`, `cron`, `systemd`), from
/// the expiry guard's facts.
fn guard_backend(record: &GrantRecord) -> Option<&str> {
    record.actions.iter().find_map(|a| match &a.action {
        crate::actions::Action::ExpiryGuard(_) => a.facts.get("backend").map(String::as_str),
        _ => None,
    })
}

/// What the account may do, in words.
fn allowed(record: &GrantRecord) -> String {
    let jail = record.actions.iter().find_map(|a| match &a.action {
        crate::actions::Action::SftpJail(jail) => Some(jail),
        _ => None,
    });
    let mut parts = vec![match jail {
        Some(jail) => format!(
            "transfer files with SFTP only (no shell, no commands), seeing only /{}",
            jail.dir_name
        ),
        None => "log in over SSH with the password".to_owned(),
    }];
    let from = allow_from(record);
    if !from.is_empty() {
        parts.push(format!("only from {}", from.join(", ")));
    }
    if let Some(scope) = &record.scope {
        parts.push(format!("read and write {scope}"));
    }
    if record
        .actions
        .iter()
        .any(|a| matches!(a.action, crate::actions::Action::SshdMatch(_)))
    {
        parts.push("no port forwarding or tunnels".to_owned());
    }
    parts.push(match record.level.as_str() {
        "root" => "run commands as root with sudo".to_owned(),
        _ => "no root access".to_owned(),
    });
    parts.join("; ")
}

/// `handover playbooks`: the built-ins with their level and description.
pub fn playbooks() -> Result<(), Error> {
    for name in crate::playbook::Playbook::built_in_names() {
        let playbook = crate::playbook::Playbook::load(name)?;
        println!(
            "{name:<18} {:<5} {}",
            playbook.level.as_str(),
            playbook.description
        );
    }
    Ok(())
}

/// Where sealed credentials go (`--seal-to`, `--seal-out`). The output file is opened before
/// the host is touched, so a bad path fails early.
pub struct Sealing {
    pub key: VendorKey,
    pub out: Option<(PathBuf, std::fs::File)>,
}

impl Sealing {
    /// `document` sealed to the vendor's key: the armoured text, and the file it was written
    /// to with `--seal-out` (then the text is not for stdout).
    fn seal(self, document: &Secret) -> std::io::Result<(Option<String>, Option<PathBuf>)> {
        let text = self.key.seal(document)?;
        match self.out {
            Some((path, mut file)) => {
                file.write_all(text.as_bytes())?;
                file.sync_all()?;
                Ok((Some(text), Some(path)))
            }
            None => Ok((Some(text), None)),
        }
    }
}

/// The fingerprint of the vendor's key the account logs in with (`--vendor-key`), if any.
fn vendor_key(r: &GrantRecord) -> Option<String> {
    r.actions.iter().find_map(|a| match &a.action {
        crate::actions::Action::SshdMatch(m) => m.key_fingerprint(),
        _ => None,
    })
}

/// The credentials document: everything the vendor needs, password included. It is what is
/// printed, or sealed to the vendor's key.
pub fn credentials(p: &Provisioned) -> Secret {
    let r = &p.record;
    let mut doc = String::new();
    let mut line = |label: &str, value: &str| {
        doc.push_str(&format!("{label:<11}{}\n", sanitize(value)));
    };
    line("grant", r.id.as_str());
    line("host", &r.host.host);
    line("port", &r.host.port.to_string());
    line("host key", &r.host.host_key_fingerprint);
    for (label, value) in &p.credentials.lines {
        line(label, value.expose());
    }
    if let Some(fingerprint) = vendor_key(r) {
        line(
            "key",
            &format!("{fingerprint} (your SSH key logs in too; the password stays for sudo)"),
        );
    }
    line("expires", &rfc3339(r.expires_at));
    line("level", &r.level);
    if let Some(scope) = &r.scope {
        line("scope", scope);
    }
    if r.has_account() {
        line("may", &allowed(r));
    }
    line("playbook", &r.playbook);
    doc.push_str("gives:\n");
    for a in &r.actions {
        doc.push_str(&format!(
            "  - {}\n",
            sanitize(&crate::actions::Step::describe(&a.action))
        ));
        if let Some(note) = a.facts.get("note") {
            doc.push_str(&format!("    ({})\n", sanitize(note)));
        }
    }
    Secret::new(doc)
}

/// The temporary database accounts: engine, database, where its name came from, user and
/// password (only when not sealed).
fn databases(p: &Provisioned, show: bool) -> serde_json::Value {
    let list: Vec<serde_json::Value> = p
        .credentials
        .databases
        .iter()
        .map(|db| {
            json!({
                "engine": db.engine,
                "database": db.database,
                "database_from": db.database_from,
                "user": db.user,
                "host": "localhost",
                "password": show.then(|| db.password.expose()),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// The temporary CMS accounts: the CMS, its login page, user and password (only when not
/// sealed).
fn cms_accounts(p: &Provisioned, show: bool) -> serde_json::Value {
    let list: Vec<serde_json::Value> = p
        .credentials
        .cms
        .iter()
        .map(|cms| {
            json!({
                "cms": cms.cms,
                "login_url": cms.login_url,
                "user": cms.user,
                "password": show.then(|| cms.password.expose()),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// `{account: password}` of the lent accounts (`--rotate`); passwords only when not sealed.
fn lent_passwords(p: &Provisioned, show: bool) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (lent, pw) in &p.credentials.lent {
        map.insert(lent.clone(), json!(show.then(|| pw.expose())));
    }
    serde_json::Value::Object(map)
}

/// The `--json` document of one provisioned grant; passwords only when `show_passwords`.
pub(crate) fn provisioned_value(p: &Provisioned, show_passwords: bool) -> serde_json::Value {
    let r = &p.record;
    json!({
        "grant": r.id.as_str(),
        "host": r.host.host,
        "port": r.host.port,
        "host_key_fingerprint": r.host.host_key_fingerprint,
        "account": r.has_account().then(|| r.account.as_str()),
        "password": show_passwords
            .then(|| p.credentials.password.as_ref().map(Secret::expose))
            .flatten(),
        "vendor_key": vendor_key(r),
        "backup": r.backup,
        "lent": lent_passwords(p, show_passwords),
        "databases": databases(p, show_passwords),
        "cms_accounts": cms_accounts(p, show_passwords),
        "expires_at": rfc3339(r.expires_at),
        "level": r.level,
        "scope": r.scope,
        "playbook": r.playbook,
        "allow_from": allow_from(r),
        // What the host said about a step, e.g. that it has no firewall to open.
        "notes": r
            .actions
            .iter()
            .filter_map(|a| a.facts.get("note").map(|n| sanitize(n)))
            .collect::<Vec<_>>(),
        "warnings": warnings(r),
    })
}

/// What the host said the customer must know, and the vendor need not (so never in the
/// credentials): e.g. that teardown will not be able to end the window's sessions.
pub(crate) fn warnings(r: &GrantRecord) -> Vec<String> {
    let mut warnings: Vec<String> = r
        .actions
        .iter()
        .filter_map(|a| a.facts.get("warning").map(|w| sanitize(w)))
        .collect();
    let dump = r.backup.as_ref().and_then(|b| b.database.as_ref());
    if let Some(d) = dump {
        warnings.extend(
            crate::backup::database::non_transactional_warning(&d.name, &d.non_transactional)
                .map(|w| sanitize(&w)),
        );
    }
    warnings
}

pub fn provisioned(p: &Provisioned, json: bool, sealing: Option<Sealing>) -> std::io::Result<()> {
    let r = &p.record;
    let account = r.has_account();
    // Seal first: if that fails, nothing secret has been printed.
    let (sealed, sealed_file) = match sealing {
        Some(s) => s.seal(&credentials(p))?,
        None => (None, None),
    };
    if json {
        let mut value = provisioned_value(p, sealed.is_none());
        if let Some(text) = &sealed {
            match &sealed_file {
                Some(path) => value["sealed_file"] = json!(path),
                None => value["sealed"] = json!(text),
            }
        }
        print_json(&value);
        return Ok(());
    }
    match (&sealed, &sealed_file) {
        // The sealed document alone on stdout, so `> credentials.age` captures exactly it.
        (Some(text), None) => {
            print!("{text}");
            eprintln!(
                "handover: grant {} provisioned; credentials sealed to the vendor's key",
                r.id
            );
            eprintln!(
                "handover: when the work is done: handover teardown {}",
                r.id
            );
            for warning in warnings(r) {
                eprintln!("handover: warning: {warning}");
            }
            return Ok(());
        }
        (Some(_), Some(path)) => {
            let doc = credentials(p);
            for l in doc.expose().lines() {
                if l.starts_with("password") || l.starts_with("db pass") {
                    println!(
                        "password   (sealed to the vendor's key, in {})",
                        path.display()
                    );
                } else {
                    println!("{l}");
                }
            }
        }
        (None, _) => print!("{}", credentials(p).expose()),
    }
    println!();
    if let Some(backend) = guard_backend(r) {
        let job = match backend {
            "systemd" => "a systemd timer",
            "at" => "an at job",
            _ => "a cron job",
        };
        println!(
            "At {} the host removes the account and everything above by itself ({job}), even if teardown never runs.",
            rfc3339(r.expires_at)
        );
    }
    if let Some(day) = disabled_from(r) {
        println!(
            "The host itself refuses the account from {day} (UTC), even if teardown never runs."
        );
    }
    match (&r.backup, &r.scope) {
        (Some(b), _) => println!(
            "The scope was backed up before any change: {} ({} entries, {} bytes compressed).",
            b.dir.display(),
            b.entries,
            b.archive_bytes
        ),
        (None, Some(_)) => println!("No backup of the scope was taken (--no-backup)."),
        (None, None) => {}
    }
    match r
        .backup
        .as_ref()
        .map(|b| (&b.database, &b.database_skipped))
    {
        Some((Some(d), _)) => println!(
            "Its {} database `{}` was dumped with it: {} ({} tables, {} bytes compressed).",
            d.engine.label(),
            d.name,
            d.file,
            d.tables.len() + d.changed_during_dump.len(),
            d.archive_bytes
        ),
        Some((None, Some(why))) => println!("Note: {}.", sanitize(why)),
        _ => {}
    }
    if r.backup.as_ref().is_some_and(|b| b.verified) {
        println!(
            "The backup was proved to restore (--verify-backup): every file and table as taken."
        );
    }
    if account && sealed.is_none() {
        println!("The password is shown once and not stored. Hand it over privately.");
    }
    println!("When the work is done: handover teardown {}", r.id);
    for warning in warnings(r) {
        eprintln!("handover: warning: {warning}");
    }
    Ok(())
}

pub fn teardown(
    report: &TeardownReport,
    json: bool,
    sealing: Option<Sealing>,
) -> std::io::Result<()> {
    // New passwords of lent accounts (`--after rotate`): printed once, or sealed.
    let mut doc = String::new();
    for (account, password) in &report.new_passwords {
        doc.push_str(&format!(
            "grant      {}\naccount    {account}\npassword   {}\n",
            report.grant,
            password.expose()
        ));
    }
    let doc = Secret::new(doc);
    let (sealed, sealed_file) = match sealing {
        Some(s) if !report.new_passwords.is_empty() => s.seal(&doc)?,
        _ => (None, None),
    };
    let new_passwords: serde_json::Map<String, serde_json::Value> = report
        .new_passwords
        .iter()
        .map(|(a, p)| {
            (
                a.clone(),
                if sealed.is_some() {
                    json!(null)
                } else {
                    json!(p.expose())
                },
            )
        })
        .collect();
    if json {
        print_json(&json!({
            "grant": report.grant,
            "state": report.state.as_str(),
            "already_revoked": report.already_revoked,
            "verified": report.verified,
            "checks": report.checks,
            "reassigned": report.reassigned,
            "new_passwords": new_passwords,
            "sealed": if sealed_file.is_none() { sealed.as_deref() } else { None },
            "sealed_file": sealed_file,
            "reassigned_to_root": report.reassigned_to_root,
            "processes_ended": report.ended,
            "left_running": report.left_running,
            "warnings": report.warnings,
            "site": report.site,
            "drift": report.drift,
            "sessions": report.sessions,
            "requester": report.requester,
        }));
        return Ok(());
    }
    // With the sealed document on stdout, it stays alone there (`> new-passwords.age` captures
    // exactly it) and the report goes to stderr.
    let mut out: Box<dyn Write> = if sealed.is_some() && sealed_file.is_none() {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    if report.already_revoked {
        writeln!(
            out,
            "grant {} was already revoked; nothing to do (`handover audit {}` compares the host with its baseline again)",
            report.grant, report.grant
        )?;
        return Ok(());
    }
    if let Some(who) = &report.requester {
        writeln!(
            out,
            "grant {} was asked for by {}: {}",
            report.grant,
            sanitize(&who.who()),
            sanitize(&who.reason)
        )?;
    }
    write_checks(&mut out, &report.checks)?;
    if !report.reassigned.is_empty() {
        writeln!(
            out,
            "files the account left in the scope, handed to the scope's owner:"
        )?;
        for path in &report.reassigned {
            writeln!(out, "    {path}")?;
        }
    }
    if !report.reassigned_to_root.is_empty() {
        writeln!(
            out,
            "files the account left elsewhere, handed to root (no later account with its uid gets them):"
        )?;
        for path in &report.reassigned_to_root {
            writeln!(out, "    {}", sanitize(path))?;
        }
    }
    if !report.ended.is_empty() {
        writeln!(
            out,
            "processes of the window ended (started from its logins, whatever user they ran as):"
        )?;
        for p in &report.ended {
            writeln!(out, "    {}", p.text())?;
        }
    }
    for p in &report.left_running {
        writeln!(
            out,
            "left running: {} — a system service restarted during the window; restart it cleanly with `{}`",
            p.text(),
            p.restart.as_deref().unwrap_or("its service manager")
        )?;
    }
    for warning in &report.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    match &report.site {
        Some(site) if site.is_empty() => {
            writeln!(out, "the site is as its backup has it (files and database)")?;
        }
        Some(site) => writeln!(
            out,
            "the site changed since its backup: {}; `handover diff {}` shows the changes, `handover restore {}` takes them back",
            site.summary(),
            report.grant,
            report.grant
        )?,
        None => {}
    }
    if let Some(sessions) = &report.sessions {
        write_sessions(&mut out, &report.grant, sessions)?;
    }
    match (&sealed, &sealed_file) {
        (Some(_), Some(path)) => writeln!(
            out,
            "new passwords of lent accounts: sealed in {}",
            path.display()
        )?,
        (Some(text), None) => print!("{text}"),
        (None, _) => {
            for (account, password) in &report.new_passwords {
                writeln!(
                    out,
                    "new password for `{account}` (shown once): {}",
                    password.expose()
                )?;
            }
        }
    }
    if let Some(drift) = &report.drift {
        write_drift(&mut out, drift)?;
    }
    let drifted = report.drift.as_ref().is_some_and(Drift::found);
    if report.verified && drifted {
        writeln!(
            out,
            "grant {} revoked: everything it applied was removed and verified absent, but the host's persistence surface changed during the window: check the items marked ✗ (`handover audit {}` compares again)",
            report.grant, report.grant
        )?;
    } else if report.verified {
        writeln!(
            out,
            "grant {} revoked: everything it applied was removed and verified absent",
            report.grant
        )?;
    } else {
        writeln!(
            out,
            "grant {} is partial: the items marked ✗ remain; fix the cause and run `handover teardown {}` again",
            report.grant, report.grant
        )?;
    }
    Ok(())
}

/// Each check made on the host, `✓` or `✗`, with its details.
pub(crate) fn write_checks(
    out: &mut dyn Write,
    checks: &[crate::engine::CheckResult],
) -> std::io::Result<()> {
    for check in checks {
        let mark = if check.ok { "✓" } else { "✗" };
        writeln!(out, "{mark} {}", check.check)?;
        for detail in &check.details {
            writeln!(out, "    {detail}")?;
        }
    }
    Ok(())
}

/// `handover extend`: each check, then where the expiry now is.
pub fn extended(report: &crate::engine::ExtendReport, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!(report));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    write_checks(&mut out, &report.checks)?;
    if report.verified {
        writeln!(
            out,
            "grant {} now expires at {} (was {})",
            report.grant,
            crate::text::rfc3339(report.expires_at),
            crate::text::rfc3339(report.previous_expires_at)
        )
    } else {
        writeln!(
            out,
            "grant {}: the new expiry could not be verified on the host (items marked ✗); the record keeps {}: run extend again",
            report.grant,
            crate::text::rfc3339(report.previous_expires_at)
        )
    }
}

/// `handover rotate`: the new credentials as provision hands them over (printed, or sealed to
/// the vendor's key), the checks on stderr so that stdout is the document alone.
pub fn rotated(
    report: &crate::engine::RotateReport,
    json: bool,
    sealing: Option<Sealing>,
) -> std::io::Result<()> {
    let p = &report.provisioned;
    // Seal first: if that fails, nothing secret has been printed.
    let (sealed, sealed_file) = match sealing {
        Some(s) => s.seal(&credentials(p))?,
        None => (None, None),
    };
    if json {
        let mut value = provisioned_value(p, sealed.is_none());
        value["rotated"] = json!(report.rotated);
        value["verified"] = json!(report.verified);
        value["checks"] = json!(report.checks);
        match (&sealed, &sealed_file) {
            (_, Some(path)) => value["sealed_file"] = json!(path),
            (Some(text), None) => value["sealed"] = json!(text),
            (None, None) => {}
        }
        print_json(&value);
        return Ok(());
    }
    write_checks(&mut std::io::stderr().lock(), &report.checks)?;
    match (&sealed, &sealed_file) {
        (Some(text), None) => print!("{text}"),
        (_, Some(path)) => println!(
            "new credentials sealed to the vendor's key in {}",
            path.display()
        ),
        (None, None) => print!("{}", credentials(p).expose()),
    }
    if report.verified {
        eprintln!(
            "handover: new passwords for {}: the old ones are refused from now on and their sessions were ended",
            report.rotated.join(", ")
        );
    } else {
        eprintln!(
            "handover: the new passwords could not all be verified on the host (items marked ✗); the ones above are what was set: run rotate again"
        );
    }
    Ok(())
}

/// `handover suspend` / `resume`: each check, then where the grant stands.
pub fn suspended(
    report: &crate::engine::SuspendReport,
    resume: bool,
    json: bool,
) -> std::io::Result<()> {
    if json {
        print_json(&json!(report));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    write_checks(&mut out, &report.checks)?;
    match (resume, report.verified) {
        (false, true) => writeln!(
            out,
            "grant {} is suspended: its accounts are locked and their sessions ended (its firewall rules, if it opened any, closed); nothing was removed (`handover resume {}` opens it again)",
            report.grant, report.grant
        ),
        (true, true) => writeln!(out, "grant {} is active again", report.grant),
        (false, false) => writeln!(
            out,
            "grant {}: the suspension could not be verified on the host (items marked ✗); run suspend again, or teardown",
            report.grant
        ),
        (true, false) => writeln!(
            out,
            "grant {}: resuming could not be verified on the host (items marked ✗); the grant stays suspended: run resume again",
            report.grant
        ),
    }
}

/// `handover sessions`: the grant's recorded sessions.
pub fn sessions(
    record: &GrantRecord,
    sessions: &[crate::recordings::Session],
    json: bool,
) -> std::io::Result<()> {
    if json {
        print_json(&json!({
            "grant": record.id.as_str(),
            "account": record.account.as_str(),
            "copied_at": record.recordings.as_ref().map(|c| crate::text::rfc3339(c.copied_at)),
            "sessions": sessions,
        }));
        return Ok(());
    }
    write_sessions(&mut std::io::stdout().lock(), record.id.as_str(), sessions)
}

/// How many typed lines (or programs) of a session the report shows before it says how many
/// more.
const LINES_SHOWN: usize = 20;

/// The recorded sessions, each with what was typed in it and the files it transferred.
pub(crate) fn write_sessions(
    out: &mut dyn Write,
    grant: &str,
    sessions: &[crate::recordings::Session],
) -> std::io::Result<()> {
    if sessions.is_empty() {
        return writeln!(out, "sessions recorded: none (the vendor did not log in)");
    }
    writeln!(
        out,
        "sessions recorded ({}; `handover replay {grant} ID` plays one back):",
        sessions.len()
    )?;
    for s in sessions {
        // To the second: enough to read, the JSON has the rest.
        let second =
            |t: time::OffsetDateTime| crate::text::rfc3339(t.replace_nanosecond(0).unwrap_or(t));
        let end = s.ended.map_or_else(|| "running".to_owned(), second);
        writeln!(
            out,
            "  {}  {:<7} {} from {}  {} → {}  {}",
            s.id,
            s.kind.to_string(),
            sanitize(&s.user),
            sanitize(s.source.as_deref().unwrap_or("?")),
            second(s.started),
            end,
            sanitize(&s.command)
        )?;
        for (word, lines) in [("typed", &s.typed), ("ran", &s.commands)] {
            for line in lines.iter().take(LINES_SHOWN) {
                writeln!(out, "      {word:<5} {}", sanitize(line))?;
            }
            if lines.len() > LINES_SHOWN {
                writeln!(
                    out,
                    "      … and {} more (`handover sessions {grant} --json` lists all, `handover replay {grant} {}` shows them)",
                    lines.len() - LINES_SHOWN,
                    s.id
                )?;
            }
        }
        for file in &s.files {
            writeln!(out, "      file  {}", sanitize(file))?;
        }
    }
    Ok(())
}

/// The drift report: the persistence surface, then the CMS directory.
fn write_drift(out: &mut dyn Write, drift: &Drift) -> std::io::Result<()> {
    if !drift.checked {
        writeln!(
            out,
            "drift: not checked ({})",
            drift.reason.as_deref().unwrap_or("no baseline")
        )?;
        return Ok(());
    }
    match &drift.baseline_taken_at {
        Some(at) => writeln!(out, "drift since the baseline of {at}:")?,
        None => writeln!(out, "drift since the baseline:")?,
    }
    for warning in &drift.warnings {
        writeln!(out, "  warning: {}", sanitize(warning))?;
    }
    if drift.found() {
        writeln!(
            out,
            "  persistence surface: {} (each a possible back-door):",
            if drift.persistence.len() == 1 {
                "1 change".to_owned()
            } else {
                format!("{} changes", drift.persistence.len())
            }
        )?;
        for item in &drift.persistence {
            writeln!(out, "    ✗ {}", sanitize(&item.text))?;
        }
    } else {
        writeln!(out, "  persistence surface: {}", crate::audit::NO_DRIFT)?;
    }
    if let Some(cms) = &drift.cms {
        let scope = sanitize(&cms.scope);
        if !cms.content.is_empty() {
            writeln!(
                out,
                "  site content (what changed during the window, for your information):"
            )?;
            for line in &cms.content {
                writeln!(out, "    {}", sanitize(line))?;
            }
        }
        if cms.added.is_empty() && cms.changed.is_empty() && cms.removed.is_empty() {
            writeln!(
                out,
                "  CMS directory {scope}: nothing added, changed or removed"
            )?;
            return Ok(());
        }
        writeln!(
            out,
            "  CMS directory {scope} (what changed during the window, for your information):"
        )?;
        let review = |path: &String| {
            if cms.review.contains(path) {
                "   ← review: the web server runs or obeys it"
            } else {
                ""
            }
        };
        for (word, paths) in [
            ("added", &cms.added),
            ("changed", &cms.changed),
            ("removed", &cms.removed),
        ] {
            for path in paths {
                writeln!(out, "    {word:<8} {}{}", sanitize(path), review(path))?;
            }
        }
    }
    Ok(())
}

/// `handover prune`: each backup removed (or that would be) and each kept, with why.
pub fn prune(report: &crate::engine::PruneReport, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!(report));
        return Ok(());
    }
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = std::io::stdout().lock();
    for b in &report.removed {
        writeln!(
            out,
            "{verb} {} ({}): {}",
            b.dir.display(),
            indicatif::HumanBytes(b.bytes),
            sanitize(&b.why)
        )?;
    }
    for b in &report.kept {
        writeln!(
            out,
            "kept {} ({}): {}",
            b.dir.display(),
            indicatif::HumanBytes(b.bytes),
            sanitize(&b.why)
        )?;
    }
    writeln!(
        out,
        "{} backup(s) {verb}, {} freed{}",
        report.removed.len(),
        indicatif::HumanBytes(report.freed_bytes),
        if report.dry_run { " (dry run)" } else { "" }
    )
}

pub fn audit(report: &AuditReport, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!({
            "grant": report.grant,
            "state": report.state.as_str(),
            "drift": report.drift,
        }));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "grant {} ({})", report.grant, report.state.as_str())?;
    write_drift(&mut out, &report.drift)
}

/// The grant's temporary CMS accounts (no passwords: those are handed over once).
fn cms_logins(r: &GrantRecord) -> Vec<serde_json::Value> {
    r.actions
        .iter()
        .filter_map(|a| match &a.action {
            crate::actions::Action::WpAdmin(wp) => Some(json!({
                "cms": "wordpress",
                "user": wp.login,
                "login_url": wp.login_url,
            })),
            _ => None,
        })
        .collect()
}

fn summary(r: &GrantRecord) -> serde_json::Value {
    json!({
        "grant": r.id.as_str(),
        "state": r.state.as_str(),
        "host": r.host.host,
        "port": r.host.port,
        "account": r.account.as_str(),
        "playbook": r.playbook,
        "level": r.level,
        "scope": r.scope,
        "created_at": rfc3339(r.created_at),
        "expires_at": rfc3339(r.expires_at),
        "batch": r.batch.as_ref().map(crate::ids::BatchId::as_str),
        "cms_accounts": cms_logins(r),
        "requester": r.requester,
    })
}

pub fn list(records: &[Result<GrantRecord, RecordError>], json: bool) {
    if json {
        let grants: Vec<_> = records
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| {
                let mut value = summary(r);
                value["backup_bytes"] = json!(backup_bytes(r));
                value
            })
            .collect();
        let errors: Vec<_> = records
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| crate::error::chain(e))
            .collect();
        print_json(&json!({ "grants": grants, "errors": errors }));
        return;
    }
    if records.is_empty() {
        println!("no grants");
        return;
    }
    println!(
        "{:<16} {:<12} {:<28} {:<16} {:<21} BACKUP",
        "GRANT", "STATE", "HOST", "ACCOUNT", "EXPIRES"
    );
    for record in records {
        match record {
            Ok(r) => println!(
                "{:<16} {:<12} {:<28} {:<16} {:<21} {}",
                r.id,
                r.state.as_str(),
                format!("{}:{}", r.host.host, r.host.port),
                r.account,
                rfc3339(r.expires_at),
                // One word, so that the column stays one for `awk` and `cut`.
                backup_bytes(r).map_or_else(
                    || "-".to_owned(),
                    |b| indicatif::HumanBytes(b).to_string().replace(' ', "")
                )
            ),
            Err(e) => eprintln!("handover: skipped: {}", crate::error::chain(e)),
        }
    }
}

/// The bytes a grant's backup takes on this machine, if it has one.
fn backup_bytes(r: &GrantRecord) -> Option<u64> {
    r.backup.as_ref().map(|b| crate::backup::disk_bytes(&b.dir))
}

pub fn show(r: &GrantRecord, json: bool) {
    if json {
        let mut value = summary(r);
        value["host_key_fingerprint"] = json!(r.host.host_key_fingerprint);
        value["login"] = json!(r.host.login);
        value["actions"] = json!(
            r.actions
                .iter()
                .map(|a| json!({
                    "kind": a.action.kind(),
                    "status": a.status,
                    "what": crate::actions::Step::describe(&a.action),
                }))
                .collect::<Vec<_>>()
        );
        value["events"] = json!(r.events);
        value["baseline"] = json!(r.baseline);
        value["backup"] = json!(r.backup);
        value["alias"] = json!(r.host.alias);
        value["jumps"] = json!(
            r.host
                .jumps
                .iter()
                .map(|j| json!({
                    "host": j.host,
                    "port": j.port,
                    "login": j.login,
                    "host_key_fingerprint": j.host_key_fingerprint,
                }))
                .collect::<Vec<_>>()
        );
        print_json(&value);
        return;
    }
    println!("grant      {}", r.id);
    println!("state      {}", r.state.as_str());
    if let Some(who) = &r.requester {
        println!("asked by   {}", sanitize(&who.who()));
        println!("reason     {}", sanitize(&who.reason));
    }
    println!(
        "host       {}@{}:{} ({})",
        r.host.login, r.host.host, r.host.port, r.host.host_key_fingerprint
    );
    if let Some(alias) = &r.host.alias {
        println!("alias      {alias}");
    }
    for jump in &r.host.jumps {
        println!(
            "via        {}@{}:{} ({})",
            jump.login, jump.host, jump.port, jump.host_key_fingerprint
        );
    }
    if let Some(batch) = &r.batch {
        println!("batch      {batch}");
    }
    println!("account    {}", r.account);
    for cms in cms_logins(r) {
        println!(
            "{:<10} {} at {}",
            cms["cms"].as_str().unwrap_or_default(),
            sanitize(cms["user"].as_str().unwrap_or_default()),
            sanitize(cms["login_url"].as_str().unwrap_or("(its login page)"))
        );
    }
    println!("playbook   {} (level {})", r.playbook, r.level);
    if let Some(scope) = &r.scope {
        println!("scope      {scope}");
    }
    println!("created    {}", rfc3339(r.created_at));
    println!("expires    {}", rfc3339(r.expires_at));
    println!(
        "baseline   {}",
        if r.baseline {
            "taken before the first change (`handover audit` compares with it)"
        } else {
            "none (provisioned with --no-baseline, or by a handover without baselines)"
        }
    );
    println!("actions:");
    for a in &r.actions {
        let status = match a.status {
            crate::record::ActionStatus::Pending => "pending",
            crate::record::ActionStatus::Applied => "applied",
            crate::record::ActionStatus::Undone => "undone",
        };
        println!(
            "  [{status:<7}] {}",
            crate::actions::Step::describe(&a.action)
        );
    }
    println!("events:");
    for e in &r.events {
        println!("  {}  {}", rfc3339(e.at), sanitize(&e.what));
    }
}

/// An error for a `--json` caller: on stdout as a JSON document, besides the text on stderr.
pub fn error(e: &Error, json: bool) {
    let text = e.report();
    eprintln!("handover: error: {text}");
    if json {
        print_json(&json!({
            "error": text,
            "exit_code": e.exit_status().code(),
        }));
    }
}

// --- restore, restore --check, diff (#17) ---

/// One line for a change in a restore plan: `+` added, `~` changed (and what), `-` removed.
fn plan_lines(
    out: &mut dyn Write,
    plan: &crate::backup::Plan,
    indent: &str,
) -> std::io::Result<()> {
    for change in &plan.added {
        writeln!(out, "{indent}added    {}", sanitize(&change.path))?;
    }
    for change in &plan.changed {
        writeln!(
            out,
            "{indent}changed  {} ({})",
            sanitize(&change.path),
            change.what.join(", ")
        )?;
    }
    for change in &plan.removed {
        writeln!(out, "{indent}removed  {}", sanitize(&change.path))?;
    }
    Ok(())
}

/// Ask on the terminal whether to restore; `true` to go on.
/// `provision --request`: the vendor's request in plain words, then the question.
pub fn confirm_request(
    access: &crate::access::AccessRequest,
    request: &crate::engine::ProvisionRequest,
    hosts: &[&str],
    preview: &[String],
) -> std::io::Result<bool> {
    let mut err = std::io::stderr().lock();
    let who = &access.requester;
    writeln!(err, "Access request from {}", sanitize(&who.who()))?;
    writeln!(err, "  reason:    {}", sanitize(&who.reason))?;
    writeln!(
        err,
        "  hosts:     {} (made with your credentials)",
        sanitize(&hosts.join(", "))
    )?;
    writeln!(
        err,
        "  for:       {} (until about {}; then the host removes it all by itself)",
        sanitize(&access.ttl),
        rfc3339(
            crate::record::now()
                + time::Duration::try_from(request.ttl.duration()).unwrap_or(time::Duration::ZERO)
        )
    )?;
    writeln!(
        err,
        "  level:     {} (playbook {}: {})",
        request.playbook.level.as_str(),
        sanitize(&request.playbook.name),
        sanitize(&request.playbook.description)
    )?;
    let from: Vec<String> = request.allow_from.iter().map(ToString::to_string).collect();
    writeln!(
        err,
        "  from:      {}",
        if from.is_empty() {
            "anywhere (the request names no addresses)".to_owned()
        } else {
            from.join(", ")
        }
    )?;
    writeln!(
        err,
        "  sealed to: {} (only that key opens the credentials)",
        sanitize(&access.key)
    )?;
    writeln!(err, "What changes on each host:")?;
    for line in preview {
        writeln!(err, "  - {}", sanitize(line))?;
    }
    write!(err, "Provision this? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

pub fn confirm_restore(confirm: &crate::engine::Confirm<'_>) -> std::io::Result<bool> {
    crate::progress::suspend(|| {
        let mut err = std::io::stderr().lock();
        let plan = confirm.plan;
        if !plan.is_empty() {
            writeln!(
                err,
                "restore of grant {} puts {} on {} back as the backup has it:",
                confirm.grant,
                sanitize(confirm.scope),
                sanitize(confirm.host)
            )?;
            plan_lines(&mut err, plan, "  ")?;
            writeln!(
                err,
                "{} added entries are removed, {} changed and {} removed are restored.",
                plan.added.len(),
                plan.changed.len(),
                plan.removed.len()
            )?;
        }
        if let Some((database, tables)) = confirm.database {
            writeln!(
                err,
                "restore of grant {} puts database `{database}` on {} back as the backup has it (tables added since are dropped):",
                confirm.grant,
                sanitize(confirm.host)
            )?;
            for line in tables.lines() {
                writeln!(err, "  {}", sanitize(&line))?;
            }
        }
        write!(err, "Restore? [y/N] ")?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    })
}

pub fn restore(report: &crate::engine::RestoreReport, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!(report));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if let Some(files) = &report.files {
        let scope = sanitize(&files.scope);
        if files.plan.is_empty() {
            writeln!(
                out,
                "{scope} on {} is as the backup has it: nothing to restore",
                report.host
            )?;
        } else if report.dry_run {
            writeln!(
                out,
                "restore would change {} entries of {scope} on {} (dry run, nothing changed):",
                files.plan.len(),
                report.host
            )?;
            plan_lines(&mut out, &files.plan, "  ")?;
        } else {
            writeln!(
                out,
                "restored {} entries of {scope} on {}:",
                files.plan.len(),
                report.host
            )?;
            plan_lines(&mut out, &files.plan, "  ")?;
            match &files.remaining {
                Some(remaining) if !remaining.is_empty() => {
                    writeln!(
                        out,
                        "✗ not verified: {} entries still differ from the backup:",
                        remaining.len()
                    )?;
                    plan_lines(&mut out, remaining, "  ")?;
                }
                _ => writeln!(out, "✓ verified: {scope} is as the backup has it")?,
            }
        }
    }
    if let Some(db) = &report.database {
        let name = &db.database;
        if db.plan.is_empty() {
            writeln!(
                out,
                "database `{name}` on {} is as the backup has it: nothing to restore",
                report.host
            )?;
        } else {
            writeln!(
                out,
                "{} database `{name}` on {}{}:",
                if report.dry_run {
                    "restore would put back"
                } else {
                    "restored"
                },
                report.host,
                if report.dry_run {
                    " (dry run, nothing changed)"
                } else {
                    ""
                }
            )?;
            for line in db.plan.lines() {
                writeln!(out, "  {}", sanitize(&line))?;
            }
            match &db.remaining {
                Some(remaining) if !remaining.is_empty() => {
                    writeln!(
                        out,
                        "✗ not verified: database `{name}` still differs from the backup:"
                    )?;
                    for line in remaining.lines() {
                        writeln!(out, "  {}", sanitize(&line))?;
                    }
                }
                Some(_) => writeln!(
                    out,
                    "✓ verified: every table of `{name}` has the backup's row count and checksum"
                )?,
                None => {}
            }
        }
    }
    Ok(())
}

pub fn restore_check(check: &crate::engine::RestoreCheck, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!(check));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if let Some(files) = &check.files {
        if files.ok() {
            writeln!(
                out,
                "✓ the backup's files restore: {} of {} entries unpacked equal to the manifest, the archive's SHA-256 is the manifest's",
                files.matched, files.entries
            )?;
        } else {
            writeln!(
                out,
                "✗ the backup's files do not restore as the manifest says: {} of {} entries equal, {} differ:",
                files.matched,
                files.entries,
                files.mismatches.len()
            )?;
            for m in &files.mismatches {
                writeln!(out, "  {}: {}", sanitize(&m.path), sanitize(&m.what))?;
            }
        }
    }
    if let Some(db) = &check.database {
        if db.differences.is_empty() {
            writeln!(
                out,
                "✓ the backup's database `{}` restores: loaded into a temporary database, its {} tables have the recorded row counts and checksums",
                db.database, db.tables
            )?;
        } else {
            writeln!(
                out,
                "✗ the backup's database `{}` does not restore as recorded:",
                db.database
            )?;
            for line in db.differences.lines() {
                writeln!(out, "  {}", sanitize(&line))?;
            }
        }
    }
    Ok(())
}

pub fn diff(document: &crate::engine::DiffDocument, json: bool) -> std::io::Result<()> {
    if json {
        print_json(&json!(document));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if document.files.files.is_empty() {
        writeln!(
            out,
            "no change in {} on {} since the backup",
            sanitize(&document.scope),
            document.host
        )?;
    }
    for file in &document.files.files {
        let path = sanitize(&file.change.path);
        writeln!(out, "diff --handover a/{path} b/{path}")?;
        let (before, after) = (&file.change.before, &file.change.after);
        match file.status {
            "added" => writeln!(out, "new {}", kind_word(after))?,
            "removed" => writeln!(out, "deleted {}", kind_word(before))?,
            _ => {}
        }
        if let (Some(b), Some(a)) = (before, after) {
            if b.kind != a.kind {
                writeln!(out, "kind {} → {}", b.kind, a.kind)?;
            }
            if b.mode != a.mode && b.kind == a.kind {
                writeln!(out, "mode {:o} → {:o}", b.mode, a.mode)?;
            }
            if (b.uid, b.gid) != (a.uid, a.gid) {
                writeln!(out, "owner {}:{} → {}:{}", b.uid, b.gid, a.uid, a.gid)?;
            }
            if b.link != a.link && b.kind == "symlink" && a.kind == "symlink" {
                writeln!(
                    out,
                    "link {} → {}",
                    sanitize(b.link.as_deref().unwrap_or("")),
                    sanitize(a.link.as_deref().unwrap_or(""))
                )?;
            }
            if b.acl != a.acl && b.kind == a.kind {
                writeln!(
                    out,
                    "acl {} → {}",
                    sanitize(&b.acl.join(",")),
                    sanitize(&a.acl.join(","))
                )?;
            }
        }
        if file.binary {
            let side = |s: &Option<crate::backup::State>| match s {
                Some(s) if s.kind == "file" => format!(
                    "{} bytes, sha256 {}",
                    s.size,
                    s.sha256.map_or_else(|| "?".to_owned(), |d| d.to_string())
                ),
                Some(_) => "not a file".to_owned(),
                None => "none".to_owned(),
            };
            writeln!(
                out,
                "Binary file {path}: {} → {}",
                side(before),
                side(after)
            )?;
        }
        if let Some(text) = &file.diff {
            write!(out, "{}", sanitize_diff(text))?;
        }
    }
    if let Some(db) = &document.database {
        if db.schema_diff.is_empty() && db.tables.is_empty() {
            writeln!(
                out,
                "no change in database `{}` since the backup",
                db.database
            )?;
        }
        write!(out, "{}", sanitize_diff(&db.schema_diff))?;
        for line in db.tables.lines() {
            writeln!(out, "{}", sanitize(&line))?;
        }
    }
    Ok(())
}

fn kind_word(state: &Option<crate::backup::State>) -> String {
    match state {
        Some(s) if s.kind == "file" => format!("file mode {:o}", s.mode),
        Some(s) if s.kind == "dir" => format!("directory mode {:o}", s.mode),
        Some(s) => s.kind.to_owned(),
        None => String::new(),
    }
}

/// A diff's text with control characters removed line by line (the newlines stay).
fn sanitize_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&sanitize(line.trim_end_matches('\n')));
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_escape_sequences() {
        assert_eq!(sanitize("a\u{1b}[2Jb\u{1b}[31;1mc"), "abc");
        assert_eq!(sanitize("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(sanitize("bell\u{7} cr\r ok\n"), "bell cr ok\n");
        assert_eq!(sanitize("plain ünïcode\tand tab"), "plain ünïcode\tand tab");
    }
}
