//! Reaching a grant's host: the route (jump hosts first, then the host) with the command
//! line's credentials, every hop's key checked against known_hosts at provision and against
//! the key pinned in the record afterwards; and running a script there, asking for sudo's
//! password once on a terminal when sudo wants one.

use crate::error::Error;
use crate::input::Target;
use crate::progress::Progress;
use crate::record::Store;
use crate::record::{GrantRecord, JumpRecord, RecordError};
use crate::secret::Secret;
use crate::shell::Script;
use crate::ssh::config::{Hop, Route};
use crate::ssh::{self, AuthOptions, HostKeyPolicy, Jump, Output, Session, SshError};
use russh::keys::PublicKey;
use std::path::PathBuf;
use std::time::Duration;

/// How to log in to hosts and become root there: the command line's, the same for every host
/// of a batch. What differs per host (jump hosts, `IdentityFile`, `UserKnownHostsFile`) is in
/// its [`Route`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub auth: AuthOptions,
    /// `--become`: use sudo.
    pub become_root: bool,
    /// `HANDOVER_BECOME_PASSWORD`.
    pub become_password: Option<Secret>,
    /// `--known-hosts`, or `~/.ssh/known_hosts`.
    pub known_hosts: PathBuf,
    /// Whether `known_hosts` was given (`--known-hosts`): then it is used for every hop, and
    /// the ssh config's `UserKnownHostsFile` is not.
    pub known_hosts_given: bool,
    pub accept_new_host_key: bool,
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    /// The known_hosts file a hop's key is checked against: `--known-hosts`, else the hop's
    /// own `UserKnownHostsFile`, else `~/.ssh/known_hosts`. Never another host's file.
    pub fn known_hosts_for(&self, hop: &Hop) -> PathBuf {
        match &hop.known_hosts {
            Some(path) if !self.known_hosts_given => path.clone(),
            _ => self.known_hosts.clone(),
        }
    }

    /// The credentials for `hop`: the command line's (`-i`, agent, passwords), with the hop's
    /// own `IdentityFile`s from the ssh config.
    fn auth_for(&self, hop: &Hop) -> AuthOptions {
        AuthOptions {
            identities: hop.identities.clone(),
            identities_only: hop.identities_only,
            ..self.auth.clone()
        }
    }

    fn known_hosts_policy(&self, hop: &Hop) -> HostKeyPolicy {
        HostKeyPolicy::KnownHosts {
            path: self.known_hosts_for(hop),
            accept_new: self.accept_new_host_key,
        }
    }
}

/// How each hop's key is checked.
pub enum Keys {
    /// Against known_hosts (provision).
    KnownHosts,
    /// Against the keys pinned in the record: the jumps' in order, then the host's.
    Pinned {
        jumps: Vec<PublicKey>,
        host: PublicKey,
    },
}

/// Connect along `route`.
pub async fn connect(
    route: &Route,
    keys: Keys,
    options: &ConnectOptions,
    become_root: bool,
) -> Result<Session, Error> {
    let (jump_keys, host_policy) = match keys {
        Keys::KnownHosts => (None, options.known_hosts_policy(&route.host)),
        Keys::Pinned { jumps, host } => (Some(jumps), HostKeyPolicy::Pinned(host)),
    };
    Ok(Session::connect_via(
        &jumps(route, jump_keys.as_deref(), options),
        &route.host.target,
        host_policy,
        &options.auth_for(&route.host),
        become_root,
        options.become_password.clone(),
        options.connect_timeout,
    )
    .await?)
}

/// The route's jump hosts, each with its pinned key (when given) and the customer's credentials.
fn jumps(route: &Route, keys: Option<&[PublicKey]>, options: &ConnectOptions) -> Vec<Jump> {
    route
        .jumps
        .iter()
        .enumerate()
        .map(|(index, hop)| Jump {
            target: hop.target.clone(),
            policy: match keys.and_then(|keys| keys.get(index)) {
                Some(key) => HostKeyPolicy::Pinned(key.clone()),
                None => options.known_hosts_policy(hop),
            },
            auth: options.auth_for(hop),
        })
        .collect()
}

/// Log in once as `login` with `password` alone, as the vendor will: through the same jump
/// hosts (with the customer's credentials) to the host with the keys the first login saw, by password
/// or keyboard-interactive, no key and no agent. The connection closes at once.
pub async fn prove_login(
    route: &Route,
    jump_keys: &[PublicKey],
    host_key: &PublicKey,
    options: &ConnectOptions,
    login: &str,
    password: &Secret,
) -> Result<(), Error> {
    let vendor = AuthOptions {
        identity: None,
        identities: Vec::new(),
        identities_only: true,
        key_passphrase: None,
        password: Some(password.clone()),
        interactive: false,
    };
    let target = Target {
        login: login.to_owned(),
        ..route.host.target.clone()
    };
    Session::connect_via(
        &jumps(route, Some(jump_keys), options),
        &target,
        HostKeyPolicy::Pinned(host_key.clone()),
        &vendor,
        false,
        None,
        options.connect_timeout,
    )
    .await?;
    Ok(())
}

/// The route of a grant's host as the record has it, and its pinned keys.
pub fn recorded_route(store: &Store, record: &GrantRecord) -> Result<(Route, Keys), Error> {
    let corrupt = |what: &str| RecordError::Corrupt {
        path: store.dir().join(format!("{}.json", record.id)),
        source: serde::de::Error::custom(format!("{what} is not an OpenSSH public key")),
    };
    let host =
        ssh::parse_openssh_public_key(&record.host.host_key).ok_or_else(|| corrupt("host_key"))?;
    let jumps = record
        .host
        .jumps
        .iter()
        .map(|jump| {
            ssh::parse_openssh_public_key(&jump.host_key)
                .ok_or_else(|| corrupt("a jump host's key"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let route = Route {
        host: Hop {
            target: record.host.target(),
            identities: record.host.identities.clone(),
            identities_only: record.host.identities_only,
            known_hosts: None,
            alias: record.host.alias.clone(),
        },
        jumps: record.host.jumps.iter().map(JumpRecord::hop).collect(),
    };
    Ok((route, Keys::Pinned { jumps, host }))
}

/// Connect to a grant's host with its pinned keys, the way it was provisioned.
pub async fn connect_pinned(
    store: &Store,
    record: &GrantRecord,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<Session, Error> {
    let (route, keys) = recorded_route(store, record)?;
    let target = &route.host.target;
    if route.jumps.is_empty() {
        progress.say(format!(
            "connecting to {target} (pinned key {})",
            record.host.host_key_fingerprint
        ));
    } else {
        let via: Vec<String> = route.jumps.iter().map(|j| j.target.to_string()).collect();
        progress.say(format!(
            "connecting to {target} through {} (pinned keys)",
            via.join(", ")
        ));
    }
    let become_root = options.become_root || record.host.become_root;
    connect(&route, keys, options, become_root).await
}

/// Run a script, asking for sudo's password on the terminal once if sudo wants one.
pub async fn run(
    session: &mut Session,
    script: &Script,
    interactive: bool,
    mut on_line: impl FnMut(&str),
) -> Result<Output, Error> {
    match session.run(script, &mut on_line).await {
        Err(SshError::SudoPasswordRequired { .. })
            if interactive && session.needs_become_password() =>
        {
            let target = session.target();
            let prompt = format!("[sudo] password for {}@{}: ", target.login, target.host);
            let password = crate::progress::suspend(|| rpassword::prompt_password(&prompt))
                .map(Secret::new)
                .map_err(|e| Error::Ssh(SshError::Prompt(e)))?;
            session.set_become_password(password);
            Ok(session.run(script, &mut on_line).await?)
        }
        other => Ok(other?),
    }
}
