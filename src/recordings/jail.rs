//! An sftp-only account's sessions, from `sftp-jail.log`: the lines `internal-sftp -l INFO`
//! logged to the host's system log, which teardown collected (`Recording::collect_jail_log`).
//! Each sshd session is one process: its lines run from "session opened for local user … from
//! [ADDR]" to "session closed …", and what it did to files is read as for any sftp session.
//!
//! Two line formats reach here: RFC 3339 times (the journal's `short-iso-precise`, rsyslog
//! since Debian 12), and the older syslog `Dec  5 01:19:46`, without year or zone, which the
//! header line supplies (`since=EPOCH zone=+0000`).

use super::session::{Kind, Session};
use super::{Error, sftp};
use std::path::Path;
use time::{OffsetDateTime, UtcOffset};

/// The file teardown collects into the grant's recordings.
pub const FILE: &str = "sftp-jail.log";

/// One sshd session's lines.
struct Lines {
    pid: String,
    user: String,
    source: Option<String>,
    started: OffsetDateTime,
    ended: Option<OffsetDateTime>,
    /// `TIME message` lines, as a transcript shows them.
    transcript: String,
    /// The messages alone, for the file operations.
    messages: String,
}

/// Every jailed sftp session in `dir`, in the order they started; none without the file.
pub(super) fn sessions(dir: &Path) -> Result<Vec<Session>, Error> {
    Ok(read(dir)?
        .into_iter()
        .map(|(id, lines)| Session {
            id,
            kind: Kind::Sftp,
            user: lines.user,
            started: lines.started,
            ended: lines.ended,
            source: lines.source,
            command: "internal-sftp".to_owned(),
            tty: false,
            commands: Vec::new(),
            typed: Vec::new(),
            files: sftp::file_operations(&lines.messages),
        })
        .collect())
}

/// The ids of the jailed sessions in `dir`.
pub(super) fn ids(dir: &Path) -> Result<Vec<String>, Error> {
    Ok(read(dir)?.into_iter().map(|(id, _)| id).collect())
}

/// Session `id`'s log lines, if it is a jailed session.
pub(super) fn transcript(dir: &Path, id: &str) -> Result<Option<Vec<u8>>, Error> {
    Ok(read(dir)?
        .into_iter()
        .find(|(known, _)| known == id)
        .map(|(_, lines)| lines.transcript.into_bytes()))
}

/// The sessions by id (`sftp-PID`, `sftp-PID-2` for a process id seen again).
fn read(dir: &Path) -> Result<Vec<(String, Lines)>, Error> {
    let path = dir.join(FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let field = |name: &str| {
        header
            .split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
    };
    let since = field("since")
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| Error::Timestamp { path: path.clone() })?;
    let zone = field("zone")
        .and_then(parse_offset)
        .unwrap_or(UtcOffset::UTC);
    let mut sessions: Vec<(String, Lines)> = Vec::new();
    for line in lines {
        let Some((at, pid, message)) = parse_line(line, since, zone) else {
            continue;
        };
        let shown = format!("{} {message}\n", crate::text::rfc3339(at));
        if let Some(rest) = message.strip_prefix("session opened for local user ") {
            let (user, source) = match rest.split_once(" from [") {
                Some((user, addr)) => (user, addr.strip_suffix(']').map(str::to_owned)),
                None => (rest, None),
            };
            let seen = sessions.iter().filter(|(_, s)| s.pid == pid).count();
            let id = match seen {
                0 => format!("sftp-{pid}"),
                n => format!("sftp-{pid}-{}", n + 1),
            };
            sessions.push((
                id,
                Lines {
                    pid: pid.to_owned(),
                    user: user.to_owned(),
                    source,
                    started: at,
                    ended: None,
                    transcript: shown,
                    messages: String::new(),
                },
            ));
            continue;
        }
        // The latest session of this process: a line before its opening is not one of ours.
        let Some((_, session)) = sessions.iter_mut().rev().find(|(_, s)| s.pid == pid) else {
            continue;
        };
        session.transcript.push_str(&shown);
        if message.starts_with("session closed for local user ") {
            session.ended = Some(at);
        } else {
            session.messages.push_str(message);
            session.messages.push('\n');
        }
    }
    Ok(sessions)
}

/// `TIME HOST internal-sftp[PID]: MESSAGE` as its time, process id and message.
fn parse_line(
    line: &str,
    since: OffsetDateTime,
    zone: UtcOffset,
) -> Option<(OffsetDateTime, &str, &str)> {
    let tag = line.find(" internal-sftp[")?;
    let (pid, message) = line[tag + " internal-sftp[".len()..].split_once("]: ")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let before = &line[..tag];
    // The host name is the last word before the tag.
    let stamp = before
        .rsplit_once(' ')
        .map_or(before, |(stamp, _)| stamp)
        .trim();
    let at = parse_rfc3339(stamp).or_else(|| parse_traditional(stamp, since, zone))?;
    Some((at.to_offset(UtcOffset::UTC), pid, message))
}

/// `2026-12-05T01:19:46.770054+00:00`, the zone with or without its colon.
fn parse_rfc3339(stamp: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = OffsetDateTime::parse(stamp, &Rfc3339) {
        return Some(at);
    }
    // `+0000` → `+00:00`
    let split = stamp.len().checked_sub(5)?;
    let (head, zone) = stamp.split_at_checked(split)?;
    if !zone.starts_with(['+', '-']) {
        return None;
    }
    OffsetDateTime::parse(&format!("{head}{}:{}", &zone[..3], &zone[3..]), &Rfc3339).ok()
}

/// `Dec  5 01:19:46` in `zone`, in the year that puts it at or after `since` (less a day, for
/// clocks that differ) and least far from it.
fn parse_traditional(
    stamp: &str,
    since: OffsetDateTime,
    zone: UtcOffset,
) -> Option<OffsetDateTime> {
    let mut words = stamp.split_whitespace();
    let month = match words.next()? {
        "Jan" => time::Month::January,
        "Feb" => time::Month::February,
        "Mar" => time::Month::March,
        "Apr" => time::Month::April,
        "May" => time::Month::May,
        "Jun" => time::Month::June,
        "Jul" => time::Month::July,
        "Aug" => time::Month::August,
        "Sep" => time::Month::September,
        "Oct" => time::Month::October,
        "Nov" => time::Month::November,
        "Dec" => time::Month::December,
        _ => return None,
    };
    let day: u8 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':').map(|n| n.parse::<u8>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    let earliest = since - time::Duration::DAY;
    let year = since.to_offset(zone).year();
    [year, year + 1].into_iter().find_map(|year| {
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        let at = date.with_hms(h, m, s).ok()?.assume_offset(zone);
        (at >= earliest).then_some(at)
    })
}

/// `+0100` or `+01:00`.
fn parse_offset(text: &str) -> Option<UtcOffset> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let sign = match text.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    if digits.len() != 4 {
        return None;
    }
    let hours: i8 = digits[..2].parse().ok()?;
    let minutes: i8 = digits[2..].parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINCE: i64 = 1_796_000_000; // 2026-11-30

    fn write(body: &str, zone: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "# handover sftp-jail log: account=vend since={SINCE} source=/var/log/auth.log zone={zone}\n{body}"
        );
        std::fs::write(dir.path().join(FILE), text).unwrap();
        dir
    }

    /// Real lines, as rsyslog on Debian 12 wrote them for an upload, rename, download, removal.
    const RSYSLOG: &str = "\
2026-12-05T01:19:46.769342+00:00 ho1 internal-sftp[124]: session opened for local user vend from [10.200.1.1]
2026-12-05T01:19:46.769923+00:00 ho1 internal-sftp[124]: sent status No such file
2026-12-05T01:19:46.770054+00:00 ho1 internal-sftp[124]: open \"/d/x.txt\" flags WRITE,CREATE,TRUNCATE mode 0644
2026-12-05T01:19:46.770305+00:00 ho1 internal-sftp[124]: close \"/d/x.txt\" bytes read 0 written 6
2026-12-05T01:19:46.770407+00:00 ho1 internal-sftp[124]: posix-rename old \"/d/x.txt\" new \"/d/y.txt\"
2026-12-05T01:19:46.770757+00:00 ho1 internal-sftp[124]: open \"/d/y.txt\" flags READ mode 0666
2026-12-05T01:19:46.771275+00:00 ho1 internal-sftp[124]: close \"/d/y.txt\" bytes read 6 written 0
2026-12-05T01:19:46.771549+00:00 ho1 internal-sftp[124]: remove name \"/d/y.txt\"
2026-12-05T01:19:46.771704+00:00 ho1 internal-sftp[124]: session closed for local user vend from [10.200.1.1]
";

    #[test]
    fn a_session_has_its_source_times_and_file_operations() {
        let dir = write(RSYSLOG, "+0000");
        let sessions = sessions(dir.path()).unwrap();
        assert_eq!(sessions.len(), 1);
        let s = &sessions[0];
        assert_eq!(s.id, "sftp-124");
        assert_eq!(s.kind, Kind::Sftp);
        assert_eq!(s.user, "vend");
        assert_eq!(s.source.as_deref(), Some("10.200.1.1"));
        assert_eq!(
            crate::text::rfc3339(s.started),
            "2026-12-05T01:19:46.769342Z"
        );
        assert!(s.ended.is_some_and(|e| e > s.started));
        assert_eq!(
            s.files,
            [
                "uploaded /d/x.txt (6 bytes)",
                "renamed /d/x.txt → /d/y.txt",
                "downloaded /d/y.txt (6 bytes)",
                "removed /d/y.txt"
            ]
        );
        let shown =
            String::from_utf8(transcript(dir.path(), "sftp-124").unwrap().unwrap()).unwrap();
        assert!(shown.contains("remove name \"/d/y.txt\""), "{shown}");
        assert!(transcript(dir.path(), "sftp-9").unwrap().is_none());
    }

    #[test]
    fn old_syslog_times_take_year_and_zone_from_the_header() {
        let body = "Dec 31 23:59:00 h internal-sftp[7]: session opened for local user vend from [192.0.2.9]\n\
                    Jan  1 00:00:30 h internal-sftp[7]: session closed for local user vend from [192.0.2.9]\n";
        let dir = write(body, "+0100");
        let s = &sessions(dir.path()).unwrap()[0];
        assert_eq!(crate::text::rfc3339(s.started), "2026-12-31T22:59:00Z");
        assert_eq!(
            crate::text::rfc3339(s.ended.unwrap()),
            "2026-12-31T23:00:30Z"
        );
    }

    #[test]
    fn a_reused_process_id_is_a_new_session_and_open_sessions_have_no_end() {
        let body = "2026-12-05T01:00:00+0000 h internal-sftp[5]: session opened for local user vend from [192.0.2.1]\n\
                    2026-12-05T01:00:01+0000 h internal-sftp[5]: session closed for local user vend from [192.0.2.1]\n\
                    2026-12-05T02:00:00+0000 h internal-sftp[5]: session opened for local user vend from [192.0.2.2]\n\
                    2026-12-05T02:00:01+0000 h internal-sftp[5]: mkdir name \"/d/new\" mode 0755\n\
                    2026-12-05T02:00:02+0000 h internal-sftp[6]: remove name \"/d/not-ours\"\n";
        let dir = write(body, "+0000");
        let sessions = sessions(dir.path()).unwrap();
        let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["sftp-5", "sftp-5-2"]);
        assert!(sessions[1].ended.is_none());
        assert_eq!(sessions[1].files, ["made directory /d/new"]);
        assert_eq!(sessions[1].source.as_deref(), Some("192.0.2.2"));
    }

    #[test]
    fn no_file_means_no_sessions_and_a_bad_header_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sessions(dir.path()).unwrap().is_empty());
        std::fs::write(dir.path().join(FILE), "garbage\n").unwrap();
        assert!(matches!(sessions(dir.path()), Err(Error::Timestamp { .. })));
    }
}
