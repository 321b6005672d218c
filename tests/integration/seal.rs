//! Sealed handover: credentials encrypted to the vendor's SSH key, decrypted with the real
//! `age` tool and used to log in.

use crate::support::{keygen, trusted_host};
use std::path::Path;
use std::process::Command;

/// Decrypt with the real age CLI and the vendor's SSH private key.
fn age_decrypt(identity: &Path, armored: &[u8]) -> String {
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
    let out = child.wait_with_output().expect("age");
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn value<'a>(doc: &'a str, label: &str) -> &'a str {
    doc.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{doc}"))
}

#[test]
fn credentials_sealed_to_an_ed25519_key_open_with_age_and_log_in() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let key = keygen(ws.dir.path(), "vendor_ed25519", &["-t", "ed25519"]);
    let public = key.with_extension("pub");

    let out = ws
        .provision_as_root(
            &host,
            &[
                "--scope",
                &host.scope,
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
    assert!(value(&doc, "host key").starts_with("SHA256:"));
    for label in ["host", "port", "expires", "level", "scope", "may"] {
        value(&doc, label);
    }
    assert!(
        host.ssh_as(account, password, "true").status.success(),
        "the sealed password does not log in"
    );
    ws.handover(&["teardown", grant])
        .with_root_password(&host)
        .run()
        .expect_code(0);
}

#[test]
fn credentials_sealed_to_an_rsa_key_in_a_file_with_json() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let key = keygen(ws.dir.path(), "vendor_rsa", &["-t", "rsa", "-b", "3072"]);
    let key_text = std::fs::read_to_string(key.with_extension("pub")).expect("read pub");
    let sealed = ws.dir.path().join("credentials.age");

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
    let json = out.json();
    assert!(
        json["password"].is_null(),
        "password printed despite sealing: {json}"
    );
    assert_eq!(json["sealed_file"], sealed.to_str().expect("utf-8"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sealed)
            .expect("sealed file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let doc = age_decrypt(&key, &std::fs::read(&sealed).expect("read sealed"));
    assert_eq!(value(&doc, "grant"), json["grant"].as_str().expect("grant"));
    assert!(
        host.ssh_as(value(&doc, "account"), value(&doc, "password"), "true")
            .status
            .success()
    );
}
