//! `shell::quote` against a real shell: for any value without NUL (argv cannot carry one),
//! `sh -c 'set -- QUOTED; printf "%s[%s]" "$#" "$1"'` prints `1[VALUE]`: the quoted text is
//! exactly one word, and that word is the value. Spawns a shell per input, so expect a few
//! hundred to a few thousand executions a second, far fewer than the other targets.
//!
//! The shell is `/bin/sh` (dash on Debian); set `HANDOVER_FUZZ_SH=/bin/bash` to check
//! another one.

#![no_main]

use handover::shell::quote;
use libfuzzer_sys::fuzz_target;
use std::process::Command;
use std::sync::OnceLock;

fn shell() -> &'static str {
    static SHELL: OnceLock<String> = OnceLock::new();
    SHELL.get_or_init(|| std::env::var("HANDOVER_FUZZ_SH").unwrap_or_else(|_| "/bin/sh".to_owned()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if value.contains('\0') {
        return;
    }
    let quoted = quote(value);
    let out = Command::new(shell())
        .arg("-c")
        .arg(format!("set -- {quoted}; printf '%s[%s]' \"$#\" \"$1\""))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run the shell");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{value:?} quoted as {quoted:?}: exit {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!("1[{value}]"),
        "{value:?} quoted as {quoted:?}"
    );
});
