//! Jump hosts (`ProxyJump`): the next hop is reached through a `direct-tcpip` channel of the
//! jump host before it, and the SSH client runs over that channel's stream. Every jump host's
//! key is verified like the target's (known_hosts at provision, the pinned key afterwards) and
//! every jump is authenticated with the same credential sources as the target.

use super::client::{Client, Transport};
use super::known_hosts::HostKeyPolicy;
use super::{AuthOptions, SshError};
use crate::input::Target;
use russh::client::Handle;

/// One jump host on the way to the target.
#[derive(Clone, Debug)]
pub struct Jump {
    pub target: Target,
    pub policy: HostKeyPolicy,
    pub auth: AuthOptions,
}

/// How to reach `next`: TCP when there is no jump before it, else a `direct-tcpip` channel
/// from the last jump host (`via`, already connected) to `next`.
pub(super) async fn transport(
    via: Option<(&Handle<Client>, &Target)>,
    next: &Target,
) -> Result<Transport, SshError> {
    let Some((handle, jump)) = via else {
        return Ok(Transport::Tcp);
    };
    let channel = handle
        .channel_open_direct_tcpip(next.host.clone(), u32::from(next.port), "127.0.0.1", 0)
        .await
        .map_err(|source| SshError::JumpChannel {
            jump: jump.to_string(),
            target: next.to_string(),
            source: Box::new(source),
        })?;
    Ok(Transport::Channel(Box::new(channel.into_stream())))
}
