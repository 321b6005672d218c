//! SSH targets: `Target::parse` never panics. An accepted target's host and login are never
//! option-like (no leading `-`), hold only letters, digits, `.`, `-` (host; `:` only in an
//! IPv6 address) and `.`, `_`, `-` (login), so no whitespace, control or shell characters;
//! the port is not 0; and the target prints (`Display`) as text that parses back to itself.
//!
//! Input: the target, then optionally a NUL byte and the default login (the CLI takes it from
//! `$USER` unchecked, so it is fuzzed too; `root` otherwise).

#![no_main]

use handover::input::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (value, default_login) = text.split_once('\0').unwrap_or((text, "root"));
    let Ok(t) = Target::parse(value, default_login) else {
        return;
    };
    assert!(!t.host.is_empty() && !t.login.is_empty(), "{t:?}");
    assert!(
        !t.host.starts_with('-') && !t.login.starts_with('-'),
        "{t:?}"
    );
    assert!(!t.host.starts_with('.'), "{t:?}");
    assert!(t.port > 0, "{t:?}");
    for c in t.host.chars() {
        assert!(
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'),
            "host {t:?}"
        );
    }
    if t.host.contains(':') {
        assert!(t.host.parse::<std::net::Ipv6Addr>().is_ok(), "host {t:?}");
    }
    for c in t.login.chars() {
        assert!(
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
            "login {t:?}"
        );
    }
    let shown = t.to_string();
    let again = Target::parse(&shown, "unused");
    assert_eq!(
        again.ok().as_ref(),
        Some(&t),
        "{value:?} shows as {shown:?}"
    );
});
