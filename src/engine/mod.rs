//! Provision, teardown and audit: the flow of DESIGN.md, with the record written ahead of every
//! change and a rollback when a step fails.
//!
//! A provision is two remote executions (facts + preflight + baseline, then apply + verify), with
//! the scope's backup between them when there is a scope, a
//! teardown one (cut off, undo, verify, drift check; with a backup, a second compares the site
//! with it), an audit one; everything runs over one SSH
//! connection. Each script's results come back as tagged protocol lines
//! ([`crate::shell::protocol`]).

mod audit;
pub mod connect;
mod extend;
mod live;
mod provision;
mod prune;
pub mod recordings;
mod restore;
mod rotate;
mod scripts;
mod suspend;
mod teardown;

pub use crate::shell::protocol::CheckResult;
pub use audit::{AuditReport, audit};
pub use connect::ConnectOptions;
pub use extend::{ExtendReport, extend};
pub use provision::{ProvisionRequest, Provisioned, preview, provision};
pub use prune::{BACKUP_DIR, PruneReport, PrunedBackup, prune};
pub use recordings::export;
pub use restore::{
    Confirm, DiffDocument, FilesRestore, RestoreCheck, RestoreParts, RestoreReport, diff, restore,
    restore_check,
};
pub use rotate::{RotateReport, rotate};
pub use suspend::{SuspendReport, suspend};
pub use teardown::{TeardownReport, teardown};

/// The companion file of a grant record holding its baseline.
const BASELINE_FILE: &str = "baseline.json";
