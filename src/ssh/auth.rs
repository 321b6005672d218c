//! Authentication with the customer's own credentials: a key file (`-i`), else the ssh-agent,
//! then a password. Secrets come from the environment or a terminal prompt, never from argv;
//! without a terminal a missing secret is an error, never a blocking prompt.

use super::SshError;
use super::client::Client;
use crate::secret::Secret;
use russh::MethodKind;
use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
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
        // Known only once the server has refused a method and listed what remains.
        let mut kbd_allowed = false;

        if let Some(path) = &self.identity {
            let key = self.load_key(path)?;
            let result = try_key(handle, login, key).await.map_err(protocol)?;
            if result.success() {
                return Ok(None);
            }
            password_allowed = allows(&result, MethodKind::Password);
            kbd_allowed = allows(&result, MethodKind::KeyboardInteractive);
            tried.push(format!("key `{}`", path.display()));
        } else {
            if !self.identities_only && std::env::var_os("SSH_AUTH_SOCK").is_some() {
                match try_agent(handle, login).await {
                    Ok(AgentOutcome::Success) => return Ok(None),
                    Ok(AgentOutcome::Rejected {
                        offered,
                        password,
                        kbd,
                    }) => {
                        password_allowed = password;
                        kbd_allowed = kbd;
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
                password_allowed = allows(&result, MethodKind::Password);
                kbd_allowed = allows(&result, MethodKind::KeyboardInteractive);
                tried.push(format!("key `{}`", path.display()));
            }
        }

        if password_allowed || kbd_allowed {
            let password = match &self.password {
                Some(p) => Some(p.clone()),
                None if self.interactive => Some(prompt(&format!("{login}@{host}'s password: "))?),
                None => None,
            };
            if let Some(password) = password {
                if password_allowed {
                    let result = handle
                        .authenticate_password(login, password.expose())
                        .await
                        .map_err(protocol)?;
                    if result.success() {
                        return Ok(Some(password));
                    }
                    kbd_allowed = allows(&result, MethodKind::KeyboardInteractive);
                    tried.push("password".to_owned());
                }
                // Where sshd asks for the password through PAM only (PasswordAuthentication no,
                // KbdInteractiveAuthentication yes), as OpenSSH's and PuTTY's clients answer it.
                if kbd_allowed {
                    if keyboard_interactive(handle, login, &password)
                        .await
                        .map_err(protocol)?
                    {
                        return Ok(Some(password));
                    }
                    tried.push("keyboard-interactive".to_owned());
                }
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

/// Whether the server, refusing a method, still offers `kind`.
fn allows(result: &AuthResult, kind: MethodKind) -> bool {
    match result {
        AuthResult::Success => false,
        AuthResult::Failure {
            remaining_methods, ..
        } => remaining_methods.contains(&kind),
    }
}

/// keyboard-interactive with `password`: each hidden prompt is answered with it, each shown
/// one (a message, a question PAM echoes) with nothing; whether the server let the login in.
async fn keyboard_interactive(
    handle: &mut Handle<Client>,
    login: &str,
    password: &Secret,
) -> Result<bool, russh::Error> {
    let mut reply = handle
        .authenticate_keyboard_interactive_start(login, None::<String>)
        .await?;
    // PAM asks once for a password, maybe after a message or two: a server asking on and on
    // is not let to keep the client.
    for _ in 0..8 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.expose().to_owned()
                        }
                    })
                    .collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Ok(false)
}

enum AgentOutcome {
    Success,
    Rejected {
        offered: usize,
        password: bool,
        kbd: bool,
    },
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
    let (mut password, mut kbd) = (true, false);
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
            Ok(result) => {
                password = allows(&result, MethodKind::Password);
                kbd = allows(&result, MethodKind::KeyboardInteractive);
            }
            Err(e) => tracing::debug!("agent could not sign: {e}"),
        }
    }
    Ok(AgentOutcome::Rejected {
        offered,
        password,
        kbd,
    })
}

/// Ask on the terminal without echo. Only called when stdin is a terminal.
pub(crate) fn prompt(text: &str) -> Result<Secret, SshError> {
    crate::progress::suspend(|| rpassword::prompt_password(text))
        .map(Secret::new)
        .map_err(SshError::Prompt)
}
