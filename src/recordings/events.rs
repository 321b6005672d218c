//! sudo's JSON event log (`events.json`): which programs ran inside each session.
//!
//! sudo writes the log as one JSON object whose members all have the same few names
//! (`"accept"`, `"reject"`, …), one per event. Duplicate keys are valid JSON but collapse in a
//! map, so the object is read member by member.

use super::Error;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// An `accept` event: sudo let a command run.
#[derive(Deserialize)]
struct Accept {
    /// The session directory on the host; absent when the command was not logged.
    iolog_path: Option<String>,
    /// Where in the session the command ran; absent for the session's own command.
    iolog_offset: Option<Offset>,
    #[serde(default)]
    runargv: Vec<String>,
}

#[derive(Deserialize)]
struct Offset {
    seconds: u64,
    nanoseconds: u32,
}

/// Every `accept` member of the log, in file order.
struct Accepted(Vec<Accept>);

impl<'de> Deserialize<'de> for Accepted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AcceptedVisitor)
    }
}

struct AcceptedVisitor;

impl<'de> Visitor<'de> for AcceptedVisitor {
    type Value = Accepted;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of sudo events")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Accepted, A::Error> {
        let mut accepted = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "accept" {
                accepted.push(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Accepted(accepted))
    }
}

/// The key matching an event to a session: the session directory's last three path
/// components (`00/00/02`), since the local copy is not where the host had it.
pub(super) fn session_key(path: &Path) -> String {
    let components: Vec<_> = path.components().map(|c| c.as_os_str()).collect();
    let tail = &components[components.len().saturating_sub(3)..];
    tail.iter()
        .map(|c| c.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The argument vectors of the programs run inside each session, by [`session_key`], in the
/// order they ran. A missing log lists none.
pub(super) fn commands_by_session(path: &Path) -> Result<HashMap<String, Vec<Vec<String>>>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let Accepted(accepted) = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;

    let mut timed: HashMap<String, Vec<(Duration, Vec<String>)>> = HashMap::new();
    for event in accepted {
        // Only a program run inside a session has an offset into it.
        let (Some(iolog_path), Some(offset)) = (event.iolog_path, event.iolog_offset) else {
            continue;
        };
        let at = Duration::new(offset.seconds, 0)
            .saturating_add(Duration::from_nanos(u64::from(offset.nanoseconds)));
        timed
            .entry(session_key(Path::new(&iolog_path)))
            .or_default()
            .push((at, event.runargv));
    }
    // sudo logs a program when it starts, and nested sessions interleave in the file.
    Ok(timed
        .into_iter()
        .map(|(key, mut commands)| {
            commands.sort_by_key(|(at, _)| *at);
            (key, commands.into_iter().map(|(_, c)| c).collect())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recordings::sample;

    #[test]
    fn every_duplicate_accept_member_is_kept() {
        let dir = sample();
        let text = std::fs::read_to_string(dir.path().join("events.json")).unwrap();
        let Accepted(accepted) = serde_json::from_str(&text).unwrap();
        assert_eq!(accepted.len(), 15);
        let sessions = accepted.iter().filter(|a| a.iolog_offset.is_none()).count();
        assert_eq!(sessions, 4);
    }

    #[test]
    fn other_events_are_skipped() {
        let text = r#"{"reject": {"runargv": ["/bin/su"]}, "accept": {"runargv": ["/bin/ls"]},
            "exit": {"exit_value": 0}}"#;
        let Accepted(accepted) = serde_json::from_str(text).unwrap();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].runargv, ["/bin/ls"]);
    }

    #[test]
    fn sessions_are_matched_by_the_last_three_path_components() {
        assert_eq!(
            session_key(Path::new("/var/log/handover/G1/io/00/00/02")),
            "00/00/02"
        );
        assert_eq!(session_key(Path::new("/tmp/copy/io/00/00/02")), "00/00/02");
        assert_eq!(session_key(Path::new("02")), "02");
    }

    #[test]
    fn programs_are_ordered_by_their_offset_in_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        let event = |argv: &str, seconds: u32| {
            format!(
                r#""accept": {{"iolog_path": "/h/io/00/00/01", "runargv": ["{argv}"],
                    "iolog_offset": {{"seconds": {seconds}, "nanoseconds": 0}}}}"#
            )
        };
        let text = format!("{{{}, {}}}", event("/bin/late", 2), event("/bin/early", 1));
        std::fs::write(&path, text).unwrap();
        let commands = commands_by_session(&path).unwrap();
        assert_eq!(commands["00/00/01"], [["/bin/early"], ["/bin/late"]]);
    }

    #[test]
    fn a_truncated_log_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        std::fs::write(&path, r#"{"accept": {"runargv": ["#).unwrap();
        let err = commands_by_session(&path).unwrap_err();
        assert!(err.to_string().contains("events.json"), "{err}");
    }
}
