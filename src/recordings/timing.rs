//! A session's `timing` file: one line per event, `EVENT DELAY …`, DELAY being the seconds
//! since the previous event (sudo's `iolog_timing.c`).

use super::Error;
use std::path::Path;
use std::time::Duration;

/// The recorded streams, numbered as in the timing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    TtyIn = 3,
    TtyOut = 4,
}

impl Stream {
    pub(super) const ALL: [Stream; 5] = [
        Stream::Stdin,
        Stream::Stdout,
        Stream::Stderr,
        Stream::TtyIn,
        Stream::TtyOut,
    ];

    /// The stream's file in the session directory.
    pub(super) fn file_name(self) -> &'static str {
        match self {
            Stream::Stdin => "stdin",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::TtyIn => "ttyin",
            Stream::TtyOut => "ttyout",
        }
    }

    /// Whether the stream is what the session showed, as opposed to what was typed into it
    /// (which a terminal echoes into the output anyway).
    pub(super) fn is_output(self) -> bool {
        matches!(self, Stream::Stdout | Stream::Stderr | Stream::TtyOut)
    }
}

/// One line of the timing file.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Event {
    /// Time since the previous event.
    pub delay: Duration,
    /// The bytes the event added to a stream; `None` for a window change or a suspend.
    pub data: Option<Chunk>,
}

/// The next `len` bytes of a stream file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Chunk {
    pub stream: Stream,
    pub len: u64,
}

/// The events of a timing file.
pub(super) struct Timing(pub Vec<Event>);

impl Timing {
    /// The time from the session's start to its last event; `None` if it overflows.
    pub(super) fn total_delay(&self) -> Option<Duration> {
        self.0
            .iter()
            .try_fold(Duration::ZERO, |sum, event| sum.checked_add(event.delay))
    }
}

/// Read and parse the timing file at `path`. A last line without its newline is one sudo was
/// still writing when the copy was taken, so it is left out.
pub(super) fn read(path: &Path) -> Result<Timing, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let events = complete
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_line(line).map_err(|problem| Error::Timing {
                path: path.to_path_buf(),
                line: index + 1,
                problem,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Timing(events))
}

fn parse_line(line: &str) -> Result<Event, &'static str> {
    let mut fields = line.split_ascii_whitespace();
    let event: u8 = fields
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or("the event number is not a number")?;
    let delay = fields
        .next()
        .and_then(parse_delay)
        .ok_or("the delay is not a number of seconds")?;
    let data = match event {
        0..=4 => {
            let len = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or("the byte count is not a number")?;
            let stream = Stream::ALL[usize::from(event)];
            Some(Chunk { stream, len })
        }
        // A window change (`5 DELAY ROWS COLS`) or a suspend (`7 DELAY SIGNAL`): time passes.
        5 | 7 => None,
        // 6 is sudo 1.8.7's mis-numbered output, which sudo 1.9 never writes.
        _ => return Err("unknown event number"),
    };
    Ok(Event { delay, data })
}

/// `S.NNNNNNNNN` (older sudo wrote fewer digits, and a comma in some locales).
fn parse_delay(text: &str) -> Option<Duration> {
    let (seconds, fraction) = text.split_once(['.', ',']).unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if seconds.is_empty() || !digits(seconds) || !digits(fraction) {
        return None;
    }
    let seconds: u64 = seconds.parse().ok()?;
    // The first nine digits are nanoseconds; any beyond are below sudo's resolution.
    let nine: String = fraction
        .chars()
        .chain("000000000".chars())
        .take(9)
        .collect();
    let nanos: u32 = nine.parse().ok()?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Event>, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timing");
        std::fs::write(&path, text).unwrap();
        read(&path).map(|t| t.0)
    }

    fn io(stream: Stream, delay: Duration, len: u64) -> Event {
        Event {
            delay,
            data: Some(Chunk { stream, len }),
        }
    }

    #[test]
    fn events_are_read_with_their_stream_delay_and_length() {
        let events = parse("4 0.008537104 36\n3 1.5 2\n5 0.000000010 40 120\n7 2,25 TSTP\n");
        assert_eq!(
            events.unwrap(),
            [
                io(Stream::TtyOut, Duration::from_nanos(8_537_104), 36),
                io(Stream::TtyIn, Duration::from_millis(1500), 2),
                Event {
                    delay: Duration::from_nanos(10),
                    data: None
                },
                Event {
                    delay: Duration::from_millis(2250),
                    data: None
                },
            ]
        );
    }

    #[test]
    fn a_last_line_without_its_newline_is_left_out() {
        let events = parse("1 0.1 5\n1 0.2").unwrap();
        assert_eq!(events, [io(Stream::Stdout, Duration::from_millis(100), 5)]);
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_the_file_and_line() {
        for bad in [
            "1 0.1 5\n9 0.1 5\n",
            "1 0.1 5\n1 -1 5\n",
            "1 0.1 5\n1 0.1\n",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("timing") && err.contains("line 2"), "{err}");
        }
    }

    #[test]
    fn delays_that_overflow_are_an_error() {
        let events = parse("1 18446744073709551615.9 1\n1 1 1\n").unwrap();
        assert_eq!(Timing(events).total_delay(), None);
    }

    #[test]
    fn delays_keep_nanoseconds_and_ignore_finer_digits() {
        assert_eq!(parse_delay("0.000296096"), Some(Duration::new(0, 296_096)));
        assert_eq!(parse_delay("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_delay("1.0000000019"), Some(Duration::new(1, 1)));
        assert_eq!(parse_delay(".5"), None);
        assert_eq!(parse_delay("1.5e3"), None);
    }
}
