//! Crash points for the fault tests (cargo feature `failpoints`; never in release builds).
//!
//! With the feature, `HANDOVER_FAILPOINT=NAME:N` makes the process exit at once, as if killed,
//! when it reaches point `NAME` for the `N`th item: `before-exec:N` / `after-exec:N` around the
//! Nth remote execution, `after-record:0` once the write-ahead record is stored, `after-step:N`
//! once step N is journaled as applied, `teardown-after-exec:0` after the teardown script ran
//! but before the record learned its outcome. No destructor runs and nothing more is saved:
//! the record holds exactly what it held at that instant. Without the feature, [`hit`] is
//! empty and the variable is never read.

#[cfg(all(feature = "failpoints", not(debug_assertions)))]
compile_error!("the `failpoints` feature is for test builds only, never for release builds");

/// The exit code of a failpoint, so a test tells it from every real outcome.
pub const EXIT_CODE: i32 = 86;

/// Exit here if `HANDOVER_FAILPOINT` names this point.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str, n: usize) {
    if std::env::var("HANDOVER_FAILPOINT").is_ok_and(|p| p == format!("{name}:{n}")) {
        eprintln!("handover: failpoint {name}:{n} reached; exiting as if killed");
        std::process::exit(EXIT_CODE);
    }
}

/// Without the `failpoints` feature: nothing.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str, _n: usize) {}
