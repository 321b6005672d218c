//! Sealed handover: credentials encrypted to the vendor's SSH key, decrypted with the real
//! `age` tool and used to log in.

use crate::docs::labelled as value;
use crate::support::{fingerprint, keygen, text, trusted_host};
use std::path::Path;
use std::process::Command;

/// Decrypt with the real age CLI and the vendor's SSH private key.
pub fn age_decrypt(identity: &Path, armored: &[u8]) -> String {
    let out = age_try_decrypt(identity, armored);
    assert!(out.status.success(), "age -d failed: {}", text(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn age_try_decrypt(identity: &Path, armored: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run age (apt-get install age)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(armored)
        .expect("write");
    child.wait_with_output().expect("age")
}

#[test]
fn credentials_sealed_to_an_ed25519_key_open_with_age_and_log_in() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let key = keygen(ws.dir.path(), "vendor_ed25519", &["-t", "ed25519"]);
    let public = key.with_extension("pub");
    let other = keygen(ws.dir.path(), "someone_else", &["-t", "ed25519"]);
    // The vendor logs in from the test machine's address on the host's link.
    let allowed = host.gateway.clone();

    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--allow-from",
                &allowed,
                "--seal-to",
                public.to_str().expect("utf-8"),
            ],
        )
        .run()
        .expect_code(0);
    assert!(
        out.stdout.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("password"),
        "plain credentials on stdout"
    );

    let doc = age_decrypt(&key, out.stdout.as_bytes());
    let (grant, account, password) = (
        value(&doc, "grant"),
        value(&doc, "account"),
        value(&doc, "password"),
    );
    assert!(
        !out.stderr.contains(password),
        "the password leaked to stderr"
    );
    // What the vendor needs to check and to know, from the host itself.
    assert_eq!(value(&doc, "host key"), fingerprint(&host.host_key()));
    assert_eq!(value(&doc, "host"), host.addr);
    assert_eq!(value(&doc, "port"), "22");
    assert_eq!(value(&doc, "scope"), host.scope);
    assert_eq!(value(&doc, "level"), "user");
    assert!(
        value(&doc, "may").contains(&format!("only from {allowed}")),
        "{doc}"
    );
    value(&doc, "expires");
    // Someone else's key opens nothing.
    let wrong = age_try_decrypt(&other, out.stdout.as_bytes());
    assert!(
        !wrong.status.success(),
        "another key decrypted the document"
    );
    assert!(!String::from_utf8_lossy(&wrong.stdout).contains(password));
    assert!(
        host.logs_in(account, password),
        "the sealed password does not log in"
    );
    ws.revoke(&host, grant);
}

#[test]
fn credentials_sealed_to_an_rsa_key_in_a_file_with_json() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let key = keygen(ws.dir.path(), "vendor_rsa", &["-t", "rsa", "-b", "3072"]);
    let key_text = std::fs::read_to_string(key.with_extension("pub")).expect("read pub");
    let sealed = ws.dir.path().join("credentials.age");
    // An existing world-readable file is narrowed to 0600 as well.
    std::fs::write(&sealed, "old").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
                "--seal-to",
                key_text.trim(),
                "--seal-out",
                sealed.to_str().expect("utf-8"),
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let grant = out.provisioned();
    assert!(
        grant.password.is_none(),
        "password printed despite sealing: {grant}"
    );
    assert_eq!(
        grant.sealed_file.as_deref(),
        Some(sealed.to_str().expect("utf-8"))
    );
    assert_eq!(
        std::fs::metadata(&sealed)
            .expect("sealed file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let doc = age_decrypt(&key, &std::fs::read(&sealed).expect("read sealed"));
    assert_eq!(value(&doc, "grant"), grant.id);
    assert!(host.logs_in(value(&doc, "account"), value(&doc, "password")));
}

#[test]
fn new_passwords_at_teardown_are_sealed_alone_on_stdout() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let key = keygen(ws.dir.path(), "customer", &["-t", "ed25519"]);
    let public = key.with_extension("pub");
    let admin = host.admin_user.clone();
    let grant = ws.lend(&host, &admin, &["--after", "rotate"]);

    let out = ws
        .teardown_as_root(
            &host,
            &grant.id,
            &["--seal-to", public.to_str().expect("utf-8")],
        )
        .run()
        .expect_code(0);
    // Only the armour on stdout, so `> new-passwords.age` is a file age can open; the report
    // goes to stderr.
    assert!(
        out.stdout.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
            && out
                .stdout
                .trim_end()
                .ends_with("-----END AGE ENCRYPTED FILE-----"),
        "{}",
        out.stdout
    );
    out.assert_stderr_contains("revoked");
    let doc = age_decrypt(&key, out.stdout.as_bytes());
    assert_eq!(value(&doc, "account"), admin);
    let fresh = value(&doc, "password");
    assert!(
        !out.stderr.contains(fresh),
        "the new password leaked to stderr"
    );
    assert!(
        host.logs_in(&admin, fresh),
        "the sealed new password does not log in"
    );
}
