//! Playing a session back as `sudoreplay` does: the output streams, chunk by chunk, with the
//! recorded pauses between them.

use super::session::session_dirs;
use super::timing::{self, Chunk};
use super::{Error, jail};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Play session `id` of the recordings in `dir` to `out`, `speed` times faster than it
/// happened, pausing at most `max_pause` seconds between chunks when given. The bytes are the
/// session's raw terminal output: written to a terminal, its escape sequences take effect.
pub fn replay(
    dir: &Path,
    id: &str,
    speed: f64,
    max_pause: Option<f64>,
    out: &mut impl Write,
) -> Result<(), Error> {
    if speed.is_nan() || speed <= 0.0 {
        return Err(Error::Speed(speed));
    }
    let max_pause = max_pause
        .map(|seconds| Duration::try_from_secs_f64(seconds).map_err(|_| Error::MaxPause(seconds)))
        .transpose()?;
    // A jailed sftp session is log lines, not a terminal: shown at once.
    if let Some(lines) = jail::transcript(dir, id)? {
        return out.write_all(&lines).map_err(Error::Write);
    }
    let session = find_session(dir, id)?;
    play(&session, out, |delay| {
        // As sudoreplay: scale first, then cap.
        let pause = Duration::try_from_secs_f64(delay.as_secs_f64() / speed)
            .unwrap_or(Duration::MAX)
            .min(max_pause.unwrap_or(Duration::MAX));
        std::thread::sleep(pause);
    })
}

/// The bytes [`replay`] writes, without the pauses.
pub fn transcript(dir: &Path, id: &str) -> Result<Vec<u8>, Error> {
    if let Some(lines) = jail::transcript(dir, id)? {
        return Ok(lines);
    }
    let session = find_session(dir, id)?;
    let mut out = Vec::new();
    play(&session, &mut out, |_| {})?;
    Ok(out)
}

/// The directory of session `id`, or an error naming the sessions there are.
fn find_session(dir: &Path, id: &str) -> Result<PathBuf, Error> {
    let sessions = session_dirs(dir)?;
    if let Some((_, path)) = sessions.iter().find(|(known, _)| known == id) {
        return Ok(path.clone());
    }
    let mut known: Vec<String> = sessions.into_iter().map(|(known, _)| known).collect();
    known.extend(jail::ids(dir)?);
    Err(Error::UnknownSession {
        id: id.to_string(),
        dir: dir.to_path_buf(),
        known: if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        },
    })
}

/// Walk the session's timing file: `wait` for each event's delay (typed input and window
/// changes take time too), and write each output chunk to `out`.
fn play(session: &Path, out: &mut impl Write, mut wait: impl FnMut(Duration)) -> Result<(), Error> {
    let timing::Timing(events) = timing::read(&session.join("timing"))?;
    let mut streams = Streams::new(session);
    for event in events {
        wait(event.delay);
        if let Some(chunk) = event.data
            && chunk.stream.is_output()
        {
            let bytes = streams.read(chunk)?;
            out.write_all(&bytes).map_err(Error::Write)?;
            out.flush().map_err(Error::Write)?;
        }
    }
    Ok(())
}

/// The session's stream files, opened when first needed and read in order.
struct Streams {
    dir: PathBuf,
    open: [Option<BufReader<File>>; 5],
}

impl Streams {
    fn new(dir: &Path) -> Streams {
        Streams {
            dir: dir.to_path_buf(),
            open: Default::default(),
        }
    }

    /// The chunk's bytes: the next `len` bytes of its stream's file.
    fn read(&mut self, chunk: Chunk) -> Result<Vec<u8>, Error> {
        let path = self.dir.join(chunk.stream.file_name());
        let read_err = |source| Error::Read {
            path: path.clone(),
            source,
        };
        let reader = match &mut self.open[chunk.stream as usize] {
            Some(reader) => reader,
            slot => slot.insert(BufReader::new(File::open(&path).map_err(read_err)?)),
        };
        // `take` rather than a buffer of `len`: the length comes from the file, not from us.
        let mut bytes = Vec::new();
        reader
            .take(chunk.len)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        let missing = chunk.len - bytes.len() as u64;
        if missing > 0 {
            return Err(Error::ShortStream { path, missing });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recordings::sample;

    #[test]
    fn the_shell_transcript_shows_what_the_vendor_saw() {
        let dir = sample();
        let text = transcript(dir.path(), "000002").unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains("hello from the vendor"), "{text}");
        assert!(text.ends_with("logout\r\n"), "{text}");
        // Typed input is not played: it is in the output as the terminal's echo.
        assert_eq!(text.matches("echo hello from the vendor").count(), 1);
    }

    #[test]
    fn a_command_transcript_is_its_stdout() {
        let dir = sample();
        let stdout = std::fs::read(dir.path().join("io/00/00/01/stdout")).unwrap();
        assert_eq!(stdout, b"6.18.44-fc-v1272\ndone\n");
        assert_eq!(transcript(dir.path(), "000001").unwrap(), stdout);
    }

    #[test]
    fn an_sftp_transcript_is_the_server_log_on_stderr() {
        let dir = sample();
        let stderr = std::fs::read(dir.path().join("io/00/00/04/stderr")).unwrap();
        assert_eq!(transcript(dir.path(), "000004").unwrap(), stderr);
    }

    #[test]
    fn replay_writes_the_transcript() {
        let dir = sample();
        for id in ["000001", "000002", "000003", "000004"] {
            let mut out = Vec::new();
            replay(dir.path(), id, 1000.0, None, &mut out).unwrap();
            assert_eq!(out, transcript(dir.path(), id).unwrap(), "session {id}");
        }
    }

    #[test]
    fn replay_caps_pauses_at_max_pause() {
        let dir = sample();
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        // At real speed session 000002 takes about 4.7 s; 27 events capped at 1 ms do not.
        replay(dir.path(), "000002", 1.0, Some(0.001), &mut out).unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!out.is_empty());
    }

    #[test]
    fn an_unknown_session_is_an_error_naming_the_sessions_there_are() {
        let dir = sample();
        let err = transcript(dir.path(), "000009").unwrap_err().to_string();
        assert!(err.contains("`000009`"), "{err}");
        assert!(err.contains("000001, 000002, 000003, 000004"), "{err}");
        let err = replay(dir.path(), "nope", 1.0, None, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::UnknownSession { .. }));
    }

    #[test]
    fn speed_and_max_pause_must_make_sense() {
        let dir = sample();
        for speed in [0.0, -1.0, f64::NAN] {
            let err = replay(dir.path(), "000001", speed, None, &mut Vec::new()).unwrap_err();
            assert!(matches!(err, Error::Speed(_)), "{err}");
        }
        for pause in [-1.0, f64::NAN] {
            let err = replay(dir.path(), "000001", 1.0, Some(pause), &mut Vec::new());
            assert!(matches!(err, Err(Error::MaxPause(_))));
        }
    }

    #[test]
    fn a_short_stream_file_is_an_error_naming_it() {
        let dir = sample();
        let stdout = dir.path().join("io/00/00/01/stdout");
        std::fs::write(&stdout, b"6.18").unwrap();
        let err = transcript(dir.path(), "000001").unwrap_err().to_string();
        assert!(
            err.contains("00/00/01/stdout") && err.contains("13 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_stream_file_is_an_error_naming_it() {
        let dir = sample();
        std::fs::remove_file(dir.path().join("io/00/00/02/ttyout")).unwrap();
        let err = transcript(dir.path(), "000002").unwrap_err().to_string();
        assert!(err.contains("00/00/02/ttyout"), "{err}");
    }
}
