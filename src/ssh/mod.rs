//! The SSH transport: connect with a verified host key, authenticate with the customer's own
//! credentials, and run scripts as root (directly or through sudo).

mod auth;
mod client;
pub mod config;
mod jump;
mod known_hosts;
mod session;

pub use auth::AuthOptions;
pub use jump::Jump;
pub use known_hosts::{HostKeyPolicy, fingerprint, parse_openssh_public_key};
pub use session::{Elevation, Output, Session};

use std::path::PathBuf;

/// Why talking to a host failed. All of these map to exit code 4 (could not connect,
/// authenticate or verify the host key), except where a caller decides otherwise.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("could not connect to `{address}`")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {seconds}s connecting to `{address}`")]
    ConnectTimeout { address: String, seconds: u64 },
    #[error(
        "host key of `{host}` is not known ({fingerprint}): check the fingerprint with the host's administrator, then pass --accept-new-host-key to record it in `{path}`"
    )]
    HostKeyUnknown {
        host: String,
        fingerprint: String,
        path: PathBuf,
    },
    #[error(
        "host key of `{host}` is not the one recorded in `{path}` line {line} (it offered {fingerprint}): the host was reinstalled or someone is intercepting the connection; refusing to connect"
    )]
    HostKeyChanged {
        host: String,
        fingerprint: String,
        path: PathBuf,
        line: usize,
    },
    #[error(
        "`{path}` holds keys of another type for `{host}`, which offered {fingerprint}: refusing to learn a new key automatically; check it and add it with ssh-keyscan if it is right"
    )]
    HostKeyOtherType {
        host: String,
        fingerprint: String,
        path: PathBuf,
    },
    #[error(
        "host key of `{host}` changed since the grant was made: expected {expected}, got {actual}; refusing to connect"
    )]
    HostKeyNotPinned {
        host: String,
        expected: String,
        actual: String,
    },
    #[error("`{host}` offered a host certificate; only plain host keys are supported")]
    HostCertificate { host: String },
    #[error("could not read known hosts file `{path}`")]
    KnownHosts {
        path: PathBuf,
        #[source]
        source: russh::keys::Error,
    },
    #[error("could not load private key `{path}`")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: russh::keys::Error,
    },
    #[error(
        "private key `{path}` is encrypted and there is no terminal to ask for its passphrase: set HANDOVER_KEY_PASSPHRASE"
    )]
    KeyPassphraseMissing { path: PathBuf },
    #[error("could not read a secret from the terminal")]
    Prompt(#[source] std::io::Error),
    #[error("authentication as `{login}` on `{host}` failed (tried: {tried})")]
    AuthFailed {
        login: String,
        host: String,
        tried: String,
    },
    #[error("SSH protocol error with `{host}`")]
    Protocol {
        host: String,
        #[source]
        source: russh::Error,
    },
    #[error("jump host `{jump}` could not open a connection to `{target}`")]
    JumpChannel {
        jump: String,
        target: String,
        #[source]
        source: Box<russh::Error>,
    },
    #[error("the connection to `{host}` was lost while running a command")]
    ConnectionLost { host: String },
    #[error(
        "sudo on `{host}` needs a password: set HANDOVER_BECOME_PASSWORD (or log in with a password, which sudo then reuses)"
    )]
    SudoPasswordRequired { host: String },
    #[error("sudo on `{host}` {reason}")]
    Sudo { host: String, reason: String },
}
