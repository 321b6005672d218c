//! Access requests (GitHub issue #21): `handover request` writes the template a vendor fills
//! in; `provision --request FILE` refuses a malformed request or one asking for more than the
//! playbook gives, naming the line, before touching the host; it needs a confirmation (or
//! `--yes`), provisions exactly what was asked, seals the credentials to the key in the request,
//! and keeps who asked and why in the record and the teardown report.

use crate::docs::labelled;
use crate::seal::age_decrypt;
use crate::support::{keygen, trusted_host};

#[test]
fn a_vendors_request_is_checked_confirmed_provisioned_sealed_and_remembered() {
    let Some((host, ws)) = trusted_host() else {
        return;
    };
    let file = ws.dir.path().join("request.toml");
    let path = file.to_str().expect("utf-8").to_owned();
    ws.handover(&["request", "-o", &path]).run().expect_code(0);
    // Never over an existing file.
    ws.handover(&["request", "-o", &path]).run().expect_code(1);
    let template = std::fs::read_to_string(&file).expect("the template");
    let before = host.snapshot();
    // As written, the template names the first field to fill in, and its line.
    ws.provision_as_root(&host, &["--request", &path, "--yes"])
        .run()
        .expect_code(2)
        .assert_stderr_contains("line 7");

    let key = keygen(ws.dir.path(), "vendor", &["-t", "ed25519"]);
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let filled = template
        .replace("name = \"\"", "name = \"Ana Vendor\"")
        .replace("organisation = \"\"", "organisation = \"Mail Co\"")
        .replace(
            "reason = \"\"",
            "reason = \"ticket 4711: the queue is stuck\"",
        )
        .replace("scope = \"\"", &format!("scope = \"{}\"", host.scope))
        .replace("from = []", &format!("from = [\"{}\"]", host.gateway))
        .replace("ttl = \"4h\"", "ttl = \"1h\"")
        .replace("key = \"\"", &format!("key = \"{}\"", public.trim()));
    let request = ws.file("filled.toml", &filled);
    // Without a terminal to confirm on, only with --yes.
    ws.provision_as_root(&host, &["--request", &request])
        .run()
        .expect_code(2)
        .assert_stderr_contains("--yes");
    // Options the request fills in are refused beside it.
    ws.provision_as_root(&host, &["--request", &request, "--yes", "--ttl", "30d"])
        .run()
        .expect_code(2);
    // Root, from the default user-level playbook: refused at the line that asks for it.
    let root = ws.file(
        "root.toml",
        &filled.replace("level = \"user\"", "level = \"root\""),
    );
    let refused = ws
        .provision_as_root(&host, &["--request", &root, "--yes"])
        .run()
        .expect_code(2);
    refused.assert_stderr_contains("line 13");
    refused.assert_stderr_contains("--playbook linux-root");
    let malformed = ws.file(
        "bad.toml",
        &filled.replace("ttl = \"1h\"", "ttl = \"a while\""),
    );
    ws.provision_as_root(&host, &["--request", &malformed, "--yes"])
        .run()
        .expect_code(2)
        .assert_stderr_contains("line 19");
    // On a terminal the customer reads the request in plain words and may say no.
    let declined = ws
        .provision_as_root(&host, &["--request", &request])
        .stdin(b"n\n")
        .on_terminal()
        .run()
        .expect_code(1);
    for shown in [
        "Access request from Ana Vendor (Mail Co)",
        "ticket 4711: the queue is stuck",
        "1h (until about",
        host.gateway.as_str(),
        "What changes on each host:",
        "Provision this? [y/N]",
        "not confirmed; nothing was changed",
    ] {
        declined.assert_stderr_contains(shown);
    }
    assert_eq!(
        host.snapshot(),
        before,
        "a refused request changed the host"
    );

    let out = ws
        .provision_as_root(&host, &["--request", &request, "--yes", "--json"])
        .run()
        .expect_code(0)
        .json();
    assert!(out["password"].is_null(), "a plain password in {out}");
    assert_eq!(
        out["allow_from"],
        serde_json::json!([host.gateway]),
        "{out}"
    );
    assert_eq!(out["scope"], host.scope.as_str(), "{out}");
    let grant = out["grant"].as_str().expect("grant").to_owned();
    let doc = age_decrypt(&key, out["sealed"].as_str().expect("sealed").as_bytes());
    let (account, password) = (labelled(&doc, "account"), labelled(&doc, "password"));
    assert!(
        host.logs_in(account, password),
        "the sealed credentials do not log in"
    );

    let shown = ws
        .handover(&["show", &grant, "--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(shown["requester"]["name"], "Ana Vendor", "{shown}");
    assert_eq!(
        shown["requester"]["reason"],
        "ticket 4711: the queue is stuck"
    );
    let expires = time::OffsetDateTime::parse(
        shown["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let hour = expires - time::OffsetDateTime::now_utc();
    assert!(
        hour <= time::Duration::HOUR && hour > time::Duration::minutes(50),
        "{shown}"
    );
    ws.handover(&["show", &grant])
        .run()
        .expect_code(0)
        .assert_stdout_contains("Ana Vendor (Mail Co)");
    let report = ws
        .teardown_as_root(&host, &grant, &["--json"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(report["requester"]["organisation"], "Mail Co", "{report}");
}
