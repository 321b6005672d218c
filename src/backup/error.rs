//! Why a backup could not be restored, checked or compared.

use crate::ssh::SshError;
use std::path::PathBuf;

/// Why a backup could not be restored, checked or compared.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("grant `{grant}` has no backup: {why}")]
    NoBackup { grant: String, why: String },
    #[error(
        "the backup in {dir} is incomplete ({why}); it cannot be restored or checked (nothing was changed)"
    )]
    Incomplete { dir: PathBuf, why: String },
    #[error("reading the backup's archive {path} failed (nothing of it was restored)")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{step} on `{host}` failed: exit status {status}{stderr}")]
    Remote {
        host: String,
        step: String,
        status: String,
        stderr: String,
    },
    #[error("the temporary directory {path} could not be used")]
    Temp {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the restore was not confirmed; nothing was changed")]
    NotConfirmed,
    #[error(transparent)]
    Ssh(#[from] SshError),
}
