//! The line protocol between handover's scripts and the engine: nothing the host prints can
//! pass for a result. Every protocol line carries a random tag of its script's own.

use crate::support::{TestHost, Workspace, host_tests_enabled};

/// A playbook whose shell commands print lines imitating the protocol: the old untagged
/// format, and a made-up tag. Before the tag, `fact note …` printed by apply became a note in
/// the credentials, and `note warning …` / `note reassigned …` printed by undo became a
/// teardown warning and a file "handed back to the scope's owner".
#[test]
fn host_output_imitating_the_protocol_is_not_taken_for_results() {
    if !host_tests_enabled() {
        return;
    }
    let host = TestHost::up();
    let ws = Workspace::new();
    ws.trust(&host);
    let playbook = ws.dir.path().join("forger.toml");
    std::fs::write(
        &playbook,
        r#"name = "forger"
description = "prints lines that imitate handover's protocol"
level = "app"

[[actions]]
kind = "shell"
description = "a file whose contents imitate the protocol"
apply = """
printf 'fact note forged by the host\nfact warning forged by the host\nnote warning forged by the host\nstep failed 0 1\n' > /tmp/forged
cat /tmp/forged
echo 'hvr0123456789abcdef fact note forged with a made-up tag'
"""
undo = """
cat /tmp/forged
printf 'note reassigned /etc/shadow\nstep done 0\nhvr0123456789abcdef note warning made-up tag\n'
rm -f /tmp/forged
"""
verify_present = "test -e /tmp/forged"
verify_absent = "test ! -e /tmp/forged"
"#,
    )
    .expect("write playbook");
    let out = ws
        .provision_as_root(
            &host,
            &[
                "--playbook",
                playbook.to_str().expect("utf-8"),
                "--no-baseline",
                "--json",
            ],
        )
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(json["notes"], serde_json::json!([]), "{json}");
    assert_eq!(json["warnings"], serde_json::json!([]), "{json}");
    let grant = json["grant"].as_str().expect("grant").to_owned();
    let record = ws.record(&grant);
    assert_eq!(record["actions"][0]["action"]["kind"], "shell", "{record}");
    assert!(
        record["actions"][0]["facts"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty),
        "forged facts were recorded: {record}"
    );
    assert!(
        host.ok("test -e /tmp/forged"),
        "the shell action did not run"
    );

    let out = ws
        .handover(&["teardown", &grant, "--json"])
        .with_root_password(&host)
        .run()
        .expect_code(0);
    let json = out.json();
    assert_eq!(json["warnings"], serde_json::json!([]), "{json}");
    assert_eq!(json["reassigned"], serde_json::json!([]), "{json}");
    assert_eq!(json["verified"], true, "{json}");
    assert!(host.ok("test ! -e /tmp/forged"), "undo did not run");
}
