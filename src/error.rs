//! The top-level error: every failure a command can end with, and its exit code.

use crate::audit::AuditError;
use crate::backup::{BackupError, RestoreError};
use crate::input::InputError;
use crate::playbook::PlaybookError;
use crate::record::RecordError;
use crate::ssh::SshError;
use crate::ssh::config::SshConfigError;

/// Exit codes, documented in the README; runbooks depend on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done and verified.
    Success = 0,
    /// The operation failed; the host is as it was, or the record says what remains.
    Failed = 1,
    /// Bad command line or input; nothing was changed.
    Usage = 2,
    /// Teardown finished but something could not be verified absent, or the host's persistence
    /// surface drifted from the baseline (teardown, audit).
    NotVerified = 3,
    /// Could not connect, authenticate or verify the host key.
    Unreachable = 4,
}

impl ExitStatus {
    /// `Success` when what was done is verified on the host, else `NotVerified`.
    pub fn verified(verified: bool) -> ExitStatus {
        if verified {
            ExitStatus::Success
        } else {
            ExitStatus::NotVerified
        }
    }
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Playbook(#[from] PlaybookError),
    #[error(transparent)]
    Request(#[from] crate::access::RequestError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    SshConfig(#[from] SshConfigError),
    #[error(
        "login `{login}` on `{host}` is not root: pass --become to use sudo, or log in as root"
    )]
    NotRoot { login: String, host: String },
    #[error("preflight on `{host}` failed, nothing was changed:\n{failures}")]
    Preflight { host: String, failures: String },
    #[error(
        "scope `{scope}` resolves to `{resolved}`, a system directory: give the CMS directory itself"
    )]
    ScopeForbidden { scope: String, resolved: String },
    #[error("provision of grant `{grant}` on `{host}` failed at {step}{stderr}\n{outcome}")]
    ApplyFailed {
        grant: String,
        host: String,
        step: String,
        stderr: String,
        outcome: String,
    },
    #[error(
        "the connection to `{host}` was lost during provision of grant `{grant}`; it is recorded as partial: run `handover teardown {grant}` once the host is reachable"
    )]
    ProvisionInterrupted { grant: String, host: String },
    #[error(
        "grant `{grant}` was provisioned but its credentials could not be handed over; run `handover teardown {grant}` and try again"
    )]
    Handover {
        grant: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write the output")]
    Output(#[source] std::io::Error),
    #[error("no terminal to ask for {what}: {hint}")]
    NoTerminal { what: String, hint: String },
    #[error("{what} was not confirmed; nothing was changed")]
    Declined { what: String },
    #[error("could not write `{}`", path.display())]
    Local {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Remote(String),
    #[error(transparent)]
    Recordings(#[from] crate::recordings::Error),
    #[error(transparent)]
    Unseal(#[from] crate::seal::UnsealError),
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Input(_)
            | Error::SshConfig(_)
            | Error::Playbook(_)
            | Error::Request(_)
            | Error::NotRoot { .. }
            | Error::NoTerminal { .. } => ExitStatus::Usage,
            Error::Record(RecordError::NotFound { .. })
            | Error::Audit(AuditError::NoBaseline { .. }) => ExitStatus::Usage,
            Error::Ssh(SshError::Sudo { .. } | SshError::SudoPasswordRequired { .. }) => {
                ExitStatus::Unreachable
            }
            Error::Ssh(SshError::ConnectionLost { .. }) | Error::ProvisionInterrupted { .. } => {
                ExitStatus::Unreachable
            }
            Error::Ssh(_) | Error::Backup(BackupError::Ssh(_)) => ExitStatus::Unreachable,
            Error::Backup(_) => ExitStatus::Failed,
            Error::Restore(RestoreError::NoBackup { .. }) => ExitStatus::Usage,
            Error::Restore(RestoreError::Ssh(_)) => ExitStatus::Unreachable,
            Error::Restore(_) => ExitStatus::Failed,
            Error::Record(_)
            | Error::Audit(_)
            | Error::Preflight { .. }
            | Error::ScopeForbidden { .. }
            | Error::ApplyFailed { .. }
            | Error::Handover { .. }
            | Error::Output(_)
            | Error::Local { .. }
            | Error::Remote(_)
            | Error::Declined { .. }
            | Error::Recordings(_) => ExitStatus::Failed,
            Error::Unseal(_) => ExitStatus::Usage,
        }
    }

    /// The message with its chain of causes, `: `-separated, control characters removed.
    pub fn report(&self) -> String {
        chain(self)
    }
}

/// An error's message followed by its causes, `: `-separated, control characters removed.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // `transparent` variants share their inner error's text; skip repeats.
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    crate::text::sanitize(&text)
}
