//! Progress as a person and as a runbook see it: bars redrawn in place on a terminal, one per
//! host of a batch; plain `handover: [host] …` lines without one; stdout only ever the result.

use crate::support::hosts_with_root_key;

#[test]
fn a_batch_draws_a_bar_per_host_on_a_terminal_and_plain_lines_without() {
    let Some((hosts, ws, key)) = hosts_with_root_key(2) else {
        return;
    };
    let targets: Vec<String> = hosts.iter().map(|h| h.target("root")).collect();

    let provision = |terminal: Option<&str>| {
        let run = ws.provision(
            &targets[0],
            &[
                &targets[1],
                "-i",
                &key,
                "--scope",
                "/var/www/cms",
                "--no-baseline",
                "--json",
            ],
        );
        match terminal {
            Some(term) => run.env("TERM", term).on_terminal(),
            None => run,
        }
        .run()
        .expect_code(0)
    };
    // Plain lines, one per step, prefixed with the host (`[target]`, or `[grant host]` at
    // teardown), and no escape sequence.
    let assert_plain = |what: &str, stderr: &str| {
        for host in &hosts {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("handover: [") && l.contains(&host.addr)),
                "{what}: no plain lines for {}:\n{stderr}",
                host.addr
            );
        }
        assert!(
            !stderr.contains("\x1b["),
            "{what}: escape sequences:\n{stderr:?}"
        );
    };

    let out = provision(Some("xterm"));
    // stdout is the JSON document alone, bars or not.
    let json = out.batch();
    assert_eq!(json.succeeded, 2, "{json}");
    let batch = &json.batch;
    let password = json.hosts[0].password();
    let screen = &out.stderr;
    // The bars are redrawn in place (carriage return, line erasure) ...
    assert!(
        screen.contains("\r\x1b[2K"),
        "no bars drawn on the terminal:\n{screen:?}"
    );
    // ... one per host, labelled with its target ...
    for target in &targets {
        assert!(
            screen.contains(target.as_str()),
            "no bar for {target}:\n{screen:?}"
        );
    }
    // ... and the password stays in the JSON on stdout.
    assert!(
        !screen.contains(password),
        "the password reached the terminal"
    );

    // A terminal that cannot draw (TERM=dumb) gets the plain lines, not nothing.
    let out = ws
        .handover(&["teardown", batch, "-i", &key])
        .env("TERM", "dumb")
        .on_terminal()
        .run()
        .expect_code(0);
    assert_plain("TERM=dumb", &out.stderr);

    // Without a terminal (a runbook): the same plain lines.
    let out = provision(None);
    assert_plain("no terminal", &out.stderr);
    let batch = out.batch().batch;
    ws.handover(&["teardown", &batch, "-i", &key])
        .run()
        .expect_code(0);
}
