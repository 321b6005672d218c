//! One SSH handshake: russh's event handler, which judges the host key, and how a hop is
//! reached (TCP, or a channel of the jump host before it).

use super::SshError;
use super::known_hosts::{HostKeyPolicy, RefusedKey, Verdict};
use crate::input::Target;
use russh::client::{self, Handle};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// russh's event handler: only judges the host key, and remembers what it saw.
pub(crate) struct Client {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    seen: Arc<Mutex<Option<(PublicKey, Verdict)>>>,
    cert_offered: Arc<Mutex<bool>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    /// The host's pre-login banner (sshd's `Banner`), shown with `-v`, stripped of terminal
    /// control sequences like everything else the host sends.
    async fn auth_banner(
        &mut self,
        banner: &str,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(
            "banner of {}:\n{}",
            self.host,
            crate::text::sanitize(banner.trim_end())
        );
        Ok(())
    }

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            if let Ok(mut flag) = self.cert_offered.lock() {
                *flag = true;
            }
            return Ok(false);
        };
        let verdict = self.policy.judge(&self.host, self.port, key);
        let trusted = matches!(verdict, Verdict::Trusted);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((key.clone(), verdict));
        }
        Ok(trusted)
    }
}

/// How a hop is reached: TCP from here, or a channel of the jump host before it.
pub(crate) enum Transport {
    Tcp,
    Channel(Box<russh::ChannelStream<client::Msg>>),
}

/// The SSH handshake with one hop: the key exchange and the host key check under `policy`.
pub(super) async fn handshake(
    target: &Target,
    policy: HostKeyPolicy,
    connect_timeout: Duration,
    transport: Transport,
) -> Result<(Handle<Client>, PublicKey), SshError> {
    let address = format!("{target}");
    let mut preferred = russh::Preferred {
        // AES-GCM first: ring's runs on the CPU's AES instructions, faster than the
        // ChaCha20-Poly1305 russh prefers, which bounds a backup's or a restore's stream.
        cipher: std::borrow::Cow::Borrowed(&[
            russh::cipher::AES_256_GCM,
            russh::cipher::CHACHA20_POLY1305,
            russh::cipher::AES_256_CTR,
            russh::cipher::AES_192_CTR,
            russh::cipher::AES_128_CTR,
        ]),
        ..russh::Preferred::default()
    };
    let known = policy.known_algorithms(&target.host, target.port);
    if !known.is_empty() {
        let mut order = known;
        for algorithm in preferred.key.iter() {
            if !order.contains(algorithm) {
                order.push(algorithm.clone());
            }
        }
        preferred.key = order.into();
    }
    let config = Arc::new(client::Config {
        preferred,
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 4,
        nodelay: true,
        ..Default::default()
    });
    let seen = Arc::new(Mutex::new(None));
    let cert_offered = Arc::new(Mutex::new(false));
    let handler = Client {
        host: target.host.clone(),
        port: target.port,
        policy,
        seen: seen.clone(),
        cert_offered: cert_offered.clone(),
    };
    let result = match transport {
        Transport::Tcp => {
            let connect = client::connect(config, (target.host.as_str(), target.port), handler);
            tokio::time::timeout(connect_timeout, connect).await
        }
        Transport::Channel(stream) => {
            let connect = client::connect_stream(config, *stream, handler);
            tokio::time::timeout(connect_timeout, connect).await
        }
    };
    let seen_key = seen.lock().ok().and_then(|s| s.clone());
    let handle = match result {
        Err(_) => {
            return Err(SshError::ConnectTimeout {
                address,
                seconds: connect_timeout.as_secs(),
            });
        }
        Ok(Ok(handle)) => handle,
        Ok(Err(error)) => {
            if let Some((key, Verdict::Refused(refused))) = seen_key {
                return Err(refused.into_error(&target.host, Some(&key)));
            }
            if cert_offered.lock().map(|f| *f).unwrap_or(false) {
                return Err(RefusedKey::Certificate.into_error(&target.host, None));
            }
            return Err(match error {
                russh::Error::IO(source) => SshError::Connect { address, source },
                source => SshError::Protocol {
                    host: target.host.clone(),
                    source,
                },
            });
        }
    };
    let Some((host_key, Verdict::Trusted)) = seen_key else {
        // russh only completes the handshake after check_server_key accepted the key.
        return Err(SshError::ConnectionLost {
            host: target.host.clone(),
        });
    };
    Ok((handle, host_key))
}
