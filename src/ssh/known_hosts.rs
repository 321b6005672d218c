//! Host key verification: known_hosts at provision (with an explicit accept-new), and the key
//! pinned in the grant record at teardown. Never accepts a key blindly.

use super::SshError;
use russh::keys::known_hosts::{known_host_keys_path, learn_known_hosts_path};
use russh::keys::{HashAlg, PublicKey};
use std::path::PathBuf;

/// How the server's host key is judged.
#[derive(Clone, Debug)]
pub enum HostKeyPolicy {
    /// Look the key up in a known_hosts file. An unknown host is refused unless `accept_new`,
    /// in which case its key is appended (like OpenSSH's `StrictHostKeyChecking=accept-new`).
    KnownHosts { path: PathBuf, accept_new: bool },
    /// Only this exact key is accepted (teardown: the key pinned in the record).
    Pinned(PublicKey),
}

/// What the check found; kept so the connection error can say exactly why.
#[derive(Clone, Debug)]
pub(super) enum Verdict {
    Trusted,
    Refused(RefusedKey),
}

#[derive(Clone, Debug)]
pub(super) enum RefusedKey {
    Unknown(PathBuf),
    Changed(PathBuf, usize),
    OtherType(PathBuf),
    NotPinned(PublicKey),
    Certificate,
    Unreadable(PathBuf, String),
}

/// `SHA256:…` fingerprint, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Parse an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`).
pub fn parse_openssh_public_key(text: &str) -> Option<PublicKey> {
    PublicKey::from_openssh(text.trim()).ok()
}

impl HostKeyPolicy {
    /// Host key algorithms to offer first: those the known_hosts file already has for this
    /// host, so a host known by its ECDSA key is not asked for its Ed25519 key and refused.
    pub(super) fn known_algorithms(&self, host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
        let keys = match self {
            HostKeyPolicy::KnownHosts { path, .. } => {
                known_host_keys_path(host, port, path).unwrap_or_default()
            }
            HostKeyPolicy::Pinned(key) => vec![(0, key.clone())],
        };
        let mut algorithms = Vec::new();
        for (_, key) in keys {
            let algorithm = key.algorithm();
            if let russh::keys::Algorithm::Rsa { .. } = algorithm {
                for hash in [Some(HashAlg::Sha512), Some(HashAlg::Sha256)] {
                    let rsa = russh::keys::Algorithm::Rsa { hash };
                    if !algorithms.contains(&rsa) {
                        algorithms.push(rsa);
                    }
                }
            } else if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        algorithms
    }

    pub(super) fn judge(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        match self {
            HostKeyPolicy::Pinned(pinned) => {
                if pinned.key_data() == key.key_data() {
                    Verdict::Trusted
                } else {
                    Verdict::Refused(RefusedKey::NotPinned(pinned.clone()))
                }
            }
            HostKeyPolicy::KnownHosts { path, accept_new } => {
                let known = match known_host_keys_path(host, port, path) {
                    Ok(known) => known,
                    Err(e) => {
                        return Verdict::Refused(RefusedKey::Unreadable(
                            path.clone(),
                            e.to_string(),
                        ));
                    }
                };
                if known.iter().any(|(_, k)| k.key_data() == key.key_data()) {
                    return Verdict::Trusted;
                }
                if let Some((line, _)) =
                    known.iter().find(|(_, k)| k.algorithm() == key.algorithm())
                {
                    return Verdict::Refused(RefusedKey::Changed(path.clone(), *line));
                }
                if !known.is_empty() {
                    return Verdict::Refused(RefusedKey::OtherType(path.clone()));
                }
                if !accept_new {
                    return Verdict::Refused(RefusedKey::Unknown(path.clone()));
                }
                match learn_known_hosts_path(host, port, key, path) {
                    Ok(()) => {
                        tracing::info!(host, fingerprint = %fingerprint(key), "recorded new host key");
                        Verdict::Trusted
                    }
                    Err(e) => Verdict::Refused(RefusedKey::Unreadable(path.clone(), e.to_string())),
                }
            }
        }
    }
}

impl RefusedKey {
    pub(super) fn into_error(self, host: &str, offered: Option<&PublicKey>) -> SshError {
        let host = host.to_owned();
        let fingerprint = offered.map_or_else(
            || "unknown key".to_owned(),
            |k| format!("{} key {}", k.algorithm().as_str(), super::fingerprint(k)),
        );
        match self {
            RefusedKey::Unknown(path) => SshError::HostKeyUnknown {
                host,
                fingerprint,
                path,
            },
            RefusedKey::Changed(path, line) => SshError::HostKeyChanged {
                host,
                fingerprint,
                path,
                line,
            },
            RefusedKey::OtherType(path) => SshError::HostKeyOtherType {
                host,
                fingerprint,
                path,
            },
            RefusedKey::NotPinned(pinned) => SshError::HostKeyNotPinned {
                host,
                expected: super::fingerprint(&pinned),
                actual: fingerprint,
            },
            RefusedKey::Certificate => SshError::HostCertificate { host },
            RefusedKey::Unreadable(path, reason) => SshError::KnownHosts {
                path,
                source: russh::keys::Error::IO(std::io::Error::other(reason)),
            },
        }
    }
}
