//! Authentication with the customer's own credentials: a key file (`-i`), else the ssh-agent,
//! then a password. Secrets come from the environment or a terminal prompt, never from argv;
//! without a terminal a missing secret is an error, never a blocking prompt.

use super::SshError;
use super::client::Client;
use crate::secret::Secret;
use russh::MethodKind;
use russh::client::{AuthResult, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use std::path::PathBuf;
use std::sync::Arc;

/// The customer's credentials and where secrets may come from.
#[derive(Clone, Debug, Default)]
pub struct AuthOptions {
    /// `-i FILE`: a private key; when given, the agent is not used.
    pub identity: Option<PathBuf>,
    /// `IdentityFile` of the host in the ssh config: tried after the agent (files that do not
    /// exist are skipped, as ssh does).
    pub identities: Vec<PathBuf>,
    /// `IdentitiesOnly yes` in the ssh config: the agent is not asked.
    pub identities_only: bool,
    /// `HANDOVER_KEY_PASSPHRASE`.
    pub key_passphrase: Option<Secret>,
    /// `HANDOVER_SSH_PASSWORD`.
    pub password: Option<Secret>,
    /// Standard input is a terminal: missing secrets may be prompted for.
    pub interactive: bool,
}

impl AuthOptions {
    /// Try the configured methods in order; returns the password when one was used (sudo may
    /// need it again).
    pub(super) async fn authenticate(
        &self,
        handle: &mut Handle<Client>,
        login: &str,
        host: &str,
    ) -> Result<Option<Secret>, SshError> {
        let protocol = |source| SshError::Protocol {
            host: host.to_owned(),
            source,
        };
        let mut tried: Vec<String> = Vec::new();
        let mut password_allowed = true;

        if let Some(path) = &self.identity {
            let key = self.load_key(path)?;
            let result = try_key(handle, login, key).await.map_err(protocol)?;
            if result.success() {
                return Ok(None);
            }
            password_allowed = allows_password(&result);
            tried.push(format!("key `{}`", path.display()));
        } else {
            if !self.identities_only && std::env::var_os("SSH_AUTH_SOCK").is_some() {
                match try_agent(handle, login).await {
                    Ok(AgentOutcome::Success) => return Ok(None),
                    Ok(AgentOutcome::Rejected { offered, password }) => {
                        password_allowed = password;
                        tried.push(format!("{offered} agent key(s)"));
                    }
                    Err(reason) => {
                        tracing::debug!("ssh-agent not usable: {reason}");
                        tried.push("ssh-agent (unreachable)".to_owned());
                    }
                }
            }
            for path in self.identities.iter().filter(|p| p.exists()) {
                let key = match self.load_key(path) {
                    Ok(key) => key,
                    Err(e) => {
                        tracing::debug!("skipping IdentityFile `{}`: {e}", path.display());
                        tried.push(format!("key `{}` (not usable: {e})", path.display()));
                        continue;
                    }
                };
                let result = try_key(handle, login, key).await.map_err(protocol)?;
                if result.success() {
                    return Ok(None);
                }
                password_allowed = allows_password(&result);
                tried.push(format!("key `{}`", path.display()));
            }
        }

        if password_allowed {
            let password = match &self.password {
                Some(p) => Some(p.clone()),
                None if self.interactive => Some(prompt(&format!("{login}@{host}'s password: "))?),
                None => None,
            };
            if let Some(password) = password {
                let result = handle
                    .authenticate_password(login, password.expose())
                    .await
                    .map_err(protocol)?;
                if result.success() {
                    return Ok(Some(password));
                }
                tried.push("password".to_owned());
            } else {
                tried.push(
                    "password (none given: set HANDOVER_SSH_PASSWORD, or use -i or an ssh-agent)"
                        .to_owned(),
                );
            }
        } else {
            tried.push("password (not offered by the server)".to_owned());
        }

        Err(SshError::AuthFailed {
            login: login.to_owned(),
            host: host.to_owned(),
            tried: tried.join(", "),
        })
    }

    fn load_key(&self, path: &PathBuf) -> Result<russh::keys::PrivateKey, SshError> {
        let key_error = |source| SshError::KeyFile {
            path: path.clone(),
            source,
        };
        match russh::keys::load_secret_key(path, None) {
            Ok(key) => Ok(key),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let passphrase = match &self.key_passphrase {
                    Some(p) => p.clone(),
                    None if self.interactive => {
                        prompt(&format!("passphrase for `{}`: ", path.display()))?
                    }
                    None => return Err(SshError::KeyPassphraseMissing { path: path.clone() }),
                };
                russh::keys::load_secret_key(path, Some(passphrase.expose())).map_err(key_error)
            }
            Err(e) => Err(key_error(e)),
        }
    }
}

/// Offer one private key (RSA signed with the best hash the server supports).
async fn try_key(
    handle: &mut Handle<Client>,
    login: &str,
    key: russh::keys::PrivateKey,
) -> Result<AuthResult, russh::Error> {
    let hash = handle.best_supported_rsa_hash().await?.flatten();
    handle
        .authenticate_publickey(login, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
}

fn allows_password(result: &AuthResult) -> bool {
    match result {
        AuthResult::Success => false,
        AuthResult::Failure {
            remaining_methods, ..
        } => remaining_methods.contains(&MethodKind::Password),
    }
}

enum AgentOutcome {
    Success,
    Rejected { offered: usize, password: bool },
}

async fn try_agent(handle: &mut Handle<Client>, login: &str) -> Result<AgentOutcome, String> {
    let mut agent = AgentClient::connect_env()
        .await
        .map_err(|e| e.to_string())?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| e.to_string())?;
    let mut offered = 0;
    let mut password = true;
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let hash = if key.algorithm().is_rsa() {
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| e.to_string())?
                .flatten()
        } else {
            None
        };
        offered += 1;
        match handle
            .authenticate_publickey_with(login, key, hash, &mut agent)
            .await
        {
            Ok(AuthResult::Success) => return Ok(AgentOutcome::Success),
            Ok(result) => password = allows_password(&result),
            Err(e) => tracing::debug!("agent could not sign: {e}"),
        }
    }
    Ok(AgentOutcome::Rejected { offered, password })
}

/// Ask on the terminal without echo. Only called when stdin is a terminal.
pub(crate) fn prompt(text: &str) -> Result<Secret, SshError> {
    crate::progress::suspend(|| rpassword::prompt_password(text))
        .map(Secret::new)
        .map_err(SshError::Prompt)
}
