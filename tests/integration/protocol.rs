//! The line protocol between handover's scripts and the engine: nothing the host prints can
//! pass for a result. Every protocol line carries a random tag of its script's own.

use crate::support::TestHost;

/// A playbook whose shell commands print lines imitating the protocol: the old untagged
/// format, and a made-up tag. Before the tag, `fact note …` printed by apply became a note in
/// the credentials, and `note warning …` / `note reassigned …` printed by undo became a
/// teardown warning and a file "handed back to the scope's owner".
#[test]
fn host_output_imitating_the_protocol_is_not_taken_for_results() {
    let Some((host, ws)) = TestHost::builder().trusted() else {
        return;
    };
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
    let grant = ws.provisioned(
        &host,
        &[
            "--playbook",
            playbook.to_str().expect("utf-8"),
            "--no-baseline",
        ],
    );
    assert!(grant.notes.is_empty(), "{grant:?}");
    assert!(grant.warnings.is_empty(), "{grant:?}");
    let record = ws.record(&grant.id);
    let shell = record.action("shell").expect("the shell action");
    assert!(
        shell.facts.is_empty(),
        "forged facts were recorded: {record}"
    );
    assert!(
        host.ok("test -e /tmp/forged"),
        "the shell action did not run"
    );

    let report = ws.revoke_report(&host, &grant.id);
    assert!(report.warnings.is_empty(), "{report:?}");
    assert!(report.reassigned.is_empty(), "{report:?}");
    assert!(report.verified, "{report:?}");
    assert!(host.ok("test ! -e /tmp/forged"), "undo did not run");
}
