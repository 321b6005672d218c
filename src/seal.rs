//! Sealing the credentials to the vendor's SSH public key (age format, ASCII-armoured), so they
//! can travel by any channel: only the holder of the matching private key reads them, with the
//! standard `age` or `rage` tools (`age -d -i ~/.ssh/id_ed25519`).

use crate::input::InputError;
use crate::secret::Secret;
use std::io::Write;
use std::str::FromStr;

/// Largest key file read (public keys are a few hundred bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The vendor's public key: `ssh-ed25519`, or `ssh-rsa` of at least 2048 bits.
#[derive(Clone)]
pub struct VendorKey {
    recipient: age::ssh::Recipient,
    /// `SHA256:…`, shown so the customer can confirm it with the vendor.
    pub fingerprint: String,
    /// `TYPE BASE64`, without the comment: as an authorized_keys line takes it.
    pub openssh: String,
}

impl std::fmt::Debug for VendorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VendorKey({})", self.fingerprint)
    }
}

const EXPECTED: &str = "the vendor's SSH public key, ssh-ed25519 or ssh-rsa of at least 2048 bits: a .pub file or the key text";

impl VendorKey {
    /// `arg` is the key text (`ssh-ed25519 AAAA… comment`) or the path of a file holding it,
    /// given as `option` (`--seal-to`, `--vendor-key`).
    pub fn parse(option: &'static str, arg: &str) -> Result<VendorKey, InputError> {
        let err = |why: &str| InputError::new(option, arg, format!("{EXPECTED} ({why})"));
        let is_text = ["ssh-", "ecdsa-", "-----"]
            .iter()
            .any(|p| arg.starts_with(p))
            || arg.contains('\n');
        let text = if is_text {
            arg.to_owned()
        } else {
            let path = std::path::Path::new(arg);
            let meta = std::fs::metadata(path).map_err(|e| err(&format!("cannot read it: {e}")))?;
            if !meta.is_file() || meta.len() > MAX_KEY_FILE {
                return Err(err("not a key file"));
            }
            std::fs::read_to_string(path).map_err(|e| err(&format!("cannot read it: {e}")))?
        };
        if text.contains("PRIVATE KEY") {
            return Err(err(
                "this is a private key; give the public one, which ends in .pub",
            ));
        }
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| err("it is empty"))?;
        let recipient = age::ssh::Recipient::from_str(line).map_err(|e| {
            err(match e {
                age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                    "RSA key shorter than 2048 bits"
                }
                age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => "RSA key too large",
                age::ssh::ParseRecipientKeyError::Unsupported(_) => "unsupported key type",
                _ => "not a valid public key",
            })
        })?;
        let key = russh::keys::PublicKey::from_openssh(line)
            .map_err(|_| err("not a valid public key"))?;
        let mut openssh = key.clone();
        openssh.set_comment("");
        Ok(VendorKey {
            recipient,
            fingerprint: crate::ssh::fingerprint(&key),
            openssh: openssh
                .to_openssh()
                .map_err(|_| err("not a valid public key"))?
                .trim()
                .to_owned(),
        })
    }

    /// `document` encrypted to this key, ASCII-armoured.
    pub fn seal(&self, document: &Secret) -> std::io::Result<String> {
        let encryptor = age::Encryptor::with_recipients(std::iter::once(&self.recipient as _))
            .map_err(std::io::Error::other)?;
        let mut armored = Vec::new();
        let mut writer = encryptor.wrap_output(age::armor::ArmoredWriter::wrap_output(
            &mut armored,
            age::armor::Format::AsciiArmor,
        )?)?;
        writer.write_all(document.expose().as_bytes())?;
        writer.finish()?.finish()?;
        String::from_utf8(armored).map_err(std::io::Error::other)
    }
}

impl VendorKey {
    /// A binary age stream to this key, written to `out` (a file of any size, sealed as it is
    /// written); `finish` it.
    pub fn seal_writer<W: Write>(&self, out: W) -> std::io::Result<age::stream::StreamWriter<W>> {
        age::Encryptor::with_recipients(std::iter::once(&self.recipient as _))
            .map_err(std::io::Error::other)?
            .wrap_output(out)
    }
}

/// Passphrases for an encrypted private key: `HANDOVER_KEY_PASSPHRASE`, else a prompt on the
/// terminal.
#[derive(Clone, Copy)]
struct Passphrase;

impl age::Callbacks for Passphrase {
    fn display_message(&self, message: &str) {
        eprintln!("handover: {message}");
    }
    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        let given = std::env::var("HANDOVER_KEY_PASSPHRASE")
            .ok()
            .or_else(|| rpassword::prompt_password(format!("{description}: ")).ok())?;
        Some(age::secrecy::SecretString::from(given))
    }
}

/// Why a sealed file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    #[error("could not read `{}`", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a private SSH key age can use (ssh-ed25519 or ssh-rsa)", path.display())]
    Key { path: std::path::PathBuf },
    #[error("`{}` does not open with `{}`: not the key it was sealed to, or a wrong passphrase", sealed.display(), key.display())]
    Decrypt {
        sealed: std::path::PathBuf,
        key: std::path::PathBuf,
    },
}

/// Open the age file `sealed` with the private SSH key in `key`: its plain bytes as they are
/// read.
pub fn open_sealed(
    sealed: &std::path::Path,
    key: &std::path::Path,
) -> Result<impl std::io::Read, UnsealError> {
    let read = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| UnsealError::Read { path, source }
    };
    let text = std::fs::read(key).map_err(read(key))?;
    let identity = age::ssh::Identity::from_buffer(
        std::io::BufReader::new(text.as_slice()),
        Some(key.display().to_string()),
    )
    .map_err(|_| UnsealError::Key {
        path: key.to_path_buf(),
    })?;
    if matches!(identity, age::ssh::Identity::Unsupported(_)) {
        return Err(UnsealError::Key {
            path: key.to_path_buf(),
        });
    }
    let identity = identity.with_callbacks(Passphrase);
    let file = std::fs::File::open(sealed).map_err(read(sealed))?;
    let decryptor =
        age::Decryptor::new(std::io::BufReader::new(file)).map_err(|_| UnsealError::Decrypt {
            sealed: sealed.to_path_buf(),
            key: key.to_path_buf(),
        })?;
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|_| UnsealError::Decrypt {
            sealed: sealed.to_path_buf(),
            key: key.to_path_buf(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYk0Corj4I8/U08Ld8GaS9jOmWatS+wfDgKXzhMrg0M vendor@example";

    #[test]
    fn accepts_ed25519_text_and_seals() {
        let key = VendorKey::parse("--seal-to", ED25519).expect("valid key");
        assert!(key.fingerprint.starts_with("SHA256:"));
        let sealed = key
            .seal(&Secret::new("password: hunter2".into()))
            .expect("seal");
        assert!(
            sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "{sealed}"
        );
        assert!(!sealed.contains("hunter2"));
    }

    #[test]
    fn refuses_private_malformed_and_unsupported_keys() {
        for bad in [
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "ssh-ed25519 not-base64!",
            "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
            "",
            "/nonexistent/vendor.pub",
        ] {
            assert!(VendorKey::parse("--seal-to", bad).is_err(), "{bad:?}");
        }
        let private = VendorKey::parse(
            "--seal-to",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
        );
        assert!(
            private
                .expect_err("private")
                .to_string()
                .contains("private key")
        );
        // A real 1024-bit RSA key: too weak.
        let weak = VendorKey::parse(
            "--seal-to",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDq1a52/7udvnC2P/jgWSLNqEKs2rmkxSsr8YTfcq7F74rJ1FI4bpfjVSUi4AZkwx0uIYHY6Ii1wthYjRn24iWWa6Rsnk6geMe75QPwk4a92lplcnR02gFMFnr4yUFdl1KPlAu5MNQojBqlA+yeI5PKFtz4LHHF5qc08ahiC1/KAw== root@vm",
        );
        assert!(
            weak.expect_err("weak")
                .to_string()
                .contains("shorter than 2048")
        );
    }
}
