//! One recorded session, summarised from its `log.json`, its `timing` file and the event log.

use super::Error;
use super::{events, sftp, timing};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What kind of session the vendor opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An interactive login shell (`ssh host`).
    Shell,
    /// One command (`ssh host 'cmd'`).
    Command,
    /// A file transfer (`sftp`, `scp` on OpenSSH 9).
    Sftp,
    /// A `sudo` to another user from inside another session.
    Sudo,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Shell => "shell",
            Kind::Command => "command",
            Kind::Sftp => "sftp",
            Kind::Sudo => "sudo",
        })
    }
}

/// A recorded session. Its `command`, `commands` and `files` are the vendor's own words:
/// sensitive, and raw (sanitize before printing to a terminal).
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    /// The session directory's path under `io/` without slashes (`000002`).
    pub id: String,
    pub kind: Kind,
    /// The user the session ran as.
    pub user: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// The time of the last recorded event; `None` while the session is still running.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    /// The client's address, from `SSH_CONNECTION`.
    pub source: Option<String>,
    /// The session's own command line.
    pub command: String,
    /// Whether the session had a terminal.
    pub tty: bool,
    /// The programs run inside the session, in order, where the host's sudo named them
    /// (`log_subcmds`; builtins such as `cd` or `echo` are not programs, so they are not here).
    pub commands: Vec<String>,
    /// What was typed at the session's terminal, line by line ([`super::typed_lines`]).
    pub typed: Vec<String>,
    /// For an sftp session, what it did to files (`uploaded /home/vend/a.txt (7 bytes)`).
    pub files: Vec<String>,
}

/// `log.json`: the part of sudo's session description used here.
#[derive(Deserialize)]
struct Info {
    timestamp: Timestamp,
    submituser: String,
    runuser: String,
    command: String,
    #[serde(default)]
    runargv: Vec<String>,
    #[serde(default)]
    runenv: Vec<String>,
    ttyname: Option<String>,
}

#[derive(Deserialize)]
struct Timestamp {
    seconds: i64,
    nanoseconds: u32,
}

/// Every session recorded in `dir` (the local copy holding `events.json` and `io/`), sorted
/// by id. A directory without `log.json` is not a session; without `events.json` no session
/// lists the programs run inside it.
pub fn load(dir: &Path) -> Result<Vec<Session>, Error> {
    let mut inside = events::commands_by_session(&dir.join("events.json"))?;
    session_dirs(dir)?
        .into_iter()
        .map(|(id, path)| {
            let argvs = inside
                .remove(&events::session_key(&path))
                .unwrap_or_default();
            let commands = argvs.iter().map(|argv| command_line(argv)).collect();
            read_session(id, &path, commands)
        })
        .collect()
}

/// The session directories under `dir/io/`, by id, sorted.
pub(super) fn session_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    // Listing `dir` first makes a wrong directory an error rather than an empty list; `io/`
    // itself only appears with the first session.
    std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let io = dir.join("io");
    let mut found = Vec::new();
    if io.is_dir() {
        collect_session_dirs(&io, &mut found)?;
    }
    let mut sessions: Vec<(String, PathBuf)> = found
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&io).unwrap_or(&path);
            let id: String = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            (id, path)
        })
        .collect();
    sessions.sort();
    Ok(sessions)
}

/// Walk `dir` for directories holding `log.json`. Symbolic links are not followed: the copy
/// came from a host the vendor had access to.
fn collect_session_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    if dir.join("log.json").is_file() {
        found.push(dir.to_path_buf());
        return Ok(());
    }
    let read_err = |source| Error::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        if entry.file_type().map_err(read_err)?.is_dir() {
            collect_session_dirs(&entry.path(), found)?;
        }
    }
    Ok(())
}

fn read_session(id: String, dir: &Path, commands: Vec<String>) -> Result<Session, Error> {
    let info_path = dir.join("log.json");
    let text = read_text(&info_path)?;
    let info: Info = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: info_path.clone(),
        source,
    })?;
    let started = OffsetDateTime::from_unix_timestamp(info.timestamp.seconds)
        .and_then(|t| t.replace_nanosecond(info.timestamp.nanoseconds))
        .map_err(|_| Error::Timestamp { path: info_path })?;
    let kind = kind(&info);
    let files = if kind == Kind::Sftp {
        sftp::file_operations(&read_stream_lossy(&dir.join("stderr"))?)
    } else {
        Vec::new()
    };
    Ok(Session {
        id,
        kind,
        ended: ended(dir, started)?,
        source: source(&info.runenv),
        command: command_line(&info.runargv),
        tty: info.ttyname.is_some() || has_bytes(&dir.join("ttyout")),
        typed: super::typed_lines(&read_bytes(&dir.join("ttyin"))?),
        user: info.runuser,
        started,
        commands,
        files,
    })
}

fn kind(info: &Info) -> Kind {
    let program = Path::new(&info.command).file_name();
    if info.runuser != info.submituser {
        Kind::Sudo
    } else if program.is_some_and(|name| name == "sftp-server") {
        Kind::Sftp
    } else if info.runargv.iter().any(|arg| arg == "-c") {
        Kind::Command
    } else {
        // sshd starts a login shell as `-bash`, with no `-c`.
        Kind::Shell
    }
}

/// When the session ended: sudo makes `timing` read-only when the session ends, so a
/// writable one means the session is still running.
fn ended(dir: &Path, started: OffsetDateTime) -> Result<Option<OffsetDateTime>, Error> {
    let path = dir.join("timing");
    let metadata = std::fs::metadata(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    if metadata.permissions().mode() & 0o200 != 0 {
        return Ok(None);
    }
    timing::read(&path)?
        .total_delay()
        .and_then(|length| time::Duration::try_from(length).ok())
        .and_then(|length| started.checked_add(length))
        .map(Some)
        .ok_or(Error::Timestamp { path })
}

/// The client's address: the first field of `SSH_CONNECTION=CLIENT PORT SERVER PORT`.
fn source(runenv: &[String]) -> Option<String> {
    runenv
        .iter()
        .find_map(|var| var.strip_prefix("SSH_CONNECTION="))
        .and_then(|value| value.split_whitespace().next())
        .map(str::to_string)
}

/// An argument vector as one line a reader could paste into a shell: arguments with spaces,
/// quotes or other special characters are single-quoted.
fn command_line(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    argv.iter()
        .map(|arg| {
            if !arg.is_empty() && arg.chars().all(plain) {
                arg.clone()
            } else {
                crate::shell::quote(arg)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_bytes(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A stream file's bytes, none when sudo did not record that stream.
fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A stream file as text, empty when sudo did not record that stream.
fn read_stream_lossy(path: &Path) -> Result<String, Error> {
    Ok(String::from_utf8_lossy(&read_bytes(path)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recordings::sample;

    fn by_id<'a>(sessions: &'a [Session], id: &str) -> &'a Session {
        sessions.iter().find(|s| s.id == id).unwrap()
    }

    #[test]
    fn the_sample_has_its_four_sessions_with_kind_user_and_source() {
        let dir = sample();
        let sessions = load(dir.path()).unwrap();
        let summary: Vec<(&str, Kind, &str, Option<&str>)> = sessions
            .iter()
            .map(|s| (s.id.as_str(), s.kind, s.user.as_str(), s.source.as_deref()))
            .collect();
        let from = Some("10.200.1.1");
        assert_eq!(
            summary,
            [
                ("000001", Kind::Command, "vend", from),
                ("000002", Kind::Shell, "vend", from),
                ("000003", Kind::Sudo, "root", from),
                ("000004", Kind::Sftp, "vend", from),
            ]
        );
    }

    #[test]
    fn command_lines_quote_arguments_with_spaces() {
        let sessions = load(sample().path()).unwrap();
        let commands: Vec<&str> = sessions.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                "/bin/bash -c 'uname -r; echo done'",
                "-bash",
                "-bash",
                "/usr/lib/openssh/sftp-server -e -l INFO",
            ]
        );
        let quote = ["it's".to_string(), String::new(), "a\"b".to_string()];
        assert_eq!(command_line(&quote), r#"'it'\''s' '' 'a"b'"#);
    }

    #[test]
    fn only_the_login_shells_had_a_terminal() {
        let sessions = load(sample().path()).unwrap();
        let tty: Vec<bool> = sessions.iter().map(|s| s.tty).collect();
        assert_eq!(tty, [false, true, true, false]);
    }

    #[test]
    fn programs_run_inside_a_session_are_listed_in_order() {
        let sessions = load(sample().path()).unwrap();
        assert_eq!(by_id(&sessions, "000001").commands, ["/usr/bin/uname -r"]);
        // The shell's own start-up (`id -u`, `dircolors -b`) and logout (`clear_console`)
        // run programs too; `echo` is a builtin and `ls` an alias, as sudo saw them.
        assert_eq!(
            by_id(&sessions, "000002").commands,
            [
                "/usr/bin/id -u",
                "/usr/bin/dircolors -b",
                "/usr/bin/ls --color=auto /etc/hostname",
                "/usr/bin/sudo -i",
                "/usr/bin/clear_console -q",
            ]
        );
        assert!(
            by_id(&sessions, "000003")
                .commands
                .contains(&"/usr/bin/cat /etc/hostname".to_string())
        );
        assert!(by_id(&sessions, "000004").commands.is_empty());
    }

    #[test]
    fn the_sftp_session_lists_its_file_operations() {
        let sessions = load(sample().path()).unwrap();
        assert_eq!(
            by_id(&sessions, "000004").files,
            [
                "uploaded /home/vend/up.txt (7 bytes)",
                "downloaded /home/vend/up.txt (7 bytes)",
                "renamed /home/vend/up.txt → /home/vend/up2.txt",
                "removed /home/vend/up2.txt",
            ]
        );
        assert!(by_id(&sessions, "000002").files.is_empty());
    }

    #[test]
    fn a_session_ends_at_its_last_event() {
        let sessions = load(sample().path()).unwrap();
        let command = by_id(&sessions, "000001");
        // Delays 0.003950115 + 0.000296096 after 1796425255.383641022.
        let ended = OffsetDateTime::from_unix_timestamp_nanos(1_796_425_255_387_887_233).unwrap();
        assert_eq!(command.ended, Some(ended));
        assert!(sessions.iter().all(|s| s.ended.is_some()));
    }

    #[test]
    fn a_session_whose_timing_file_is_writable_is_still_running() {
        let dir = sample();
        let timing = dir.path().join("io/00/00/02/timing");
        std::fs::set_permissions(&timing, std::fs::Permissions::from_mode(0o600)).unwrap();
        let sessions = load(dir.path()).unwrap();
        assert_eq!(by_id(&sessions, "000002").ended, None);
        assert!(by_id(&sessions, "000001").ended.is_some());
    }

    #[test]
    fn without_the_event_log_no_session_lists_programs() {
        let dir = sample();
        std::fs::remove_file(dir.path().join("events.json")).unwrap();
        let sessions = load(dir.path()).unwrap();
        assert_eq!(sessions.len(), 4);
        assert!(sessions.iter().all(|s| s.commands.is_empty()));
    }

    #[test]
    fn a_directory_without_log_json_is_not_a_session() {
        let dir = sample();
        std::fs::remove_file(dir.path().join("io/00/00/03/log.json")).unwrap();
        let ids: Vec<String> = load(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["000001", "000002", "000004"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_and_a_copy_without_io_has_no_sessions() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
        let missing = dir.path().join("nope");
        let err = load(&missing).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn a_corrupt_log_json_is_an_error_naming_it() {
        let dir = sample();
        std::fs::write(dir.path().join("io/00/00/02/log.json"), "{").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("00/00/02/log.json"), "{err}");
    }

    #[test]
    fn sessions_serialize_with_lowercase_kinds_and_rfc3339_times() {
        let sessions = load(sample().path()).unwrap();
        let json = serde_json::to_value(&sessions[1]).unwrap();
        assert_eq!(json["kind"], "shell");
        assert_eq!(json["started"], "2026-12-04T23:00:55.59037276Z");
        assert_eq!(Kind::Sftp.to_string(), "sftp");
    }
}
