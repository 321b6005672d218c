//! Secrets: generation from the OS random generator, and a holder that cannot be printed.
//!
//! [`Secret`] has no `Display` and its `Debug` prints `[redacted]`, so a secret cannot slip into
//! a log line, an error message or the record by accident; its memory is zeroized on drop.

use rand::Rng;
use rand::TryRngCore;
use rand::distr::{Alphanumeric, Uniform};
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// Length of generated passwords: 22 characters from `[A-Za-z0-9]` are about 131 bits, and
/// survive every shell, URL and `chpasswd` separator.
pub const PASSWORD_LEN: usize = 22;

/// A secret string (password, passphrase). Not `Display`; `Debug` is redacted.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The value of environment variable `name`, when it is set and not empty.
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }

    /// The secret's text, for the few places that must send it (stdin of a remote command,
    /// SSH authentication, the one-time credentials output).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A fresh password of [`PASSWORD_LEN`] characters, sampled without bias from the OS generator.
pub fn generate_password() -> Secret {
    let mut rng = OsRng.unwrap_err();
    let value: String = (&mut rng)
        .sample_iter(Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect();
    Secret::new(value)
}

/// `len` characters from `[a-z0-9]`, unbiased, for account-name suffixes and grant ids (not
/// secrets: they only need to be unlikely to collide).
pub fn random_lower_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = OsRng.unwrap_err();
    let Ok(index) = Uniform::new(0, CHARS.len()) else {
        return String::new();
    };
    (0..len)
        .map(|_| char::from(CHARS[rng.sample(index)]))
        .collect()
}

/// What checks compare a password hash (or a database account's stored authentication) by:
/// the SHA-256 (hex) of the text and a newline, as `printf '%s\n' TEXT | sha256sum` prints it
/// on the host. Scripts are logged with `-vv`; a hash must not be, so checks never hold one.
pub fn line_digest(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{text}\n").as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn line_digest_is_what_sha256sum_prints() {
        let out = std::process::Command::new("/bin/sh")
            .args([
                "-c",
                "printf '%s\\n' \"$1\" | sha256sum | cut -c1-64",
                "sh",
                "$y$j9T$salt$hash",
            ])
            .output()
            .expect("run sh");
        let shell = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(shell.trim(), line_digest("$y$j9T$salt$hash"));
    }

    #[test]
    fn passwords_are_long_alphanumeric_and_distinct() {
        let passwords: HashSet<String> = (0..200)
            .map(|_| generate_password().expose().to_owned())
            .collect();
        assert_eq!(passwords.len(), 200);
        for p in &passwords {
            assert_eq!(p.len(), PASSWORD_LEN);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()), "{p}");
        }
        // Over 200 × 22 characters every class shows up; a generator stuck on one class fails.
        let all: String = passwords.into_iter().collect();
        assert!(all.chars().any(|c| c.is_ascii_uppercase()));
        assert!(all.chars().any(|c| c.is_ascii_lowercase()));
        assert!(all.chars().any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("topsecret".into());
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn lower_alnum_has_the_asked_length_and_alphabet() {
        let s = random_lower_alnum(6);
        assert_eq!(s.len(), 6);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
