//! Reading a grant's session recordings: the local copy of `/var/log/handover/GRANT`, which
//! sudo's I/O logging filled while the vendor was logged in.
//!
//! A recording is one sudo session: a directory under `io/` (`io/00/00/02`, id `000002`) with
//! `log.json` (who, what, when), `timing` (one line per event) and the raw bytes of each stream
//! (`stdin`, `stdout`, `stderr`, `ttyin`, `ttyout`). `events.json` is sudo's event log, which
//! also names every program run inside a session (`log_subcmds`). [`load`] summarises the
//! sessions; [`replay`] and [`transcript`] play one back. An sftp-only account's sessions are
//! lines of the host's system log instead (`sftp-jail.log`, see `jail`).
//!
//! Recordings hold what the vendor typed and saw, passwords and keys included: treat everything
//! read here as sensitive, and never log it.

mod events;
mod jail;
mod replay;
mod session;
mod sftp;
mod timing;
mod typed;

pub use replay::{replay, transcript};
pub use session::{Kind, Session};
pub use typed::typed_lines;

use std::path::{Path, PathBuf};

/// Every session recorded in `dir` (the local copy of the grant's recordings): sudo's, sorted
/// by id, then the jailed sftp sessions.
pub fn load(dir: &Path) -> Result<Vec<Session>, Error> {
    let mut sessions = session::load(dir)?;
    sessions.extend(jail::sessions(dir)?);
    Ok(sessions)
}

/// Why a recording could not be read or played.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not the JSON sudo writes")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}` gives a time out of range")]
    Timestamp { path: PathBuf },
    #[error("timing file `{path}` line {line}: {problem}")]
    Timing {
        path: PathBuf,
        line: usize,
        problem: &'static str,
    },
    #[error("`{path}` ends {missing} bytes before its timing file says")]
    ShortStream { path: PathBuf, missing: u64 },
    #[error("no session `{id}` in `{dir}`; the sessions there are: {known}")]
    UnknownSession {
        id: String,
        dir: PathBuf,
        known: String,
    },
    #[error("replay speed `{0}` is not a positive number")]
    Speed(f64),
    #[error("maximum pause `{0}` is not a number of seconds")]
    MaxPause(f64),
    #[error("could not write the replay")]
    Write(#[source] std::io::Error),
}

/// The sample in `testdata/`, made by real sudo, copied to a temporary directory with the
/// modes sudo leaves (git does not keep them): `timing` read-only once a session has ended.
#[cfg(test)]
fn sample() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;

    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
                if entry.file_name() == "timing" {
                    let read_only = std::fs::Permissions::from_mode(0o400);
                    std::fs::set_permissions(&target, read_only).unwrap();
                }
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/recordings/testdata/sample"
    );
    copy(std::path::Path::new(sample), dir.path());
    dir
}
