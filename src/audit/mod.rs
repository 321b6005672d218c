//! Proving nothing was left behind: a baseline of the host's persistence surface taken at
//! provision, and the drift report against it at teardown and on `handover audit`.
//!
//! The collector ([`collect.sh`](collect)) is POSIX sh appended to a script the engine sends
//! anyway (the preflight at provision, the teardown script, or the audit's only script), so the
//! audit costs no extra round trip. It prints `b KIND …` lines: digests, modes, owners and
//! listings, never file contents or password hashes. [`Surface`] is what they describe,
//! [`Baseline`] the copy stored with the grant (`STATE_DIR/grants/ID.baseline.json`), and
//! [`compare`] turns two surfaces into a [`Drift`]: the persistence surface (any change is a
//! possible back-door) and the CMS directory (what support touched; informational).

mod classify;
mod collect;
mod drift;
mod surface;

pub use collect::{collect, sweep};
pub use drift::{Change, CmsChanges, Drift, DriftItem, Footprint, NO_DRIFT, compare};
pub use surface::{BASELINE_VERSION, Baseline, Collected, Surface, kind};

/// Why the audit could not be done.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the baseline collection on `{host}` did not finish (its output ended early){stderr}")]
    Incomplete { host: String, stderr: String },
    #[error(
        "grant `{grant}` has no baseline (it was provisioned with --no-baseline, or its baseline file `{path}` is gone): there is nothing to compare with"
    )]
    NoBaseline {
        grant: String,
        path: std::path::PathBuf,
    },
    #[error("baseline file `{path}` is corrupt or was edited by hand")]
    Corrupt {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
}
