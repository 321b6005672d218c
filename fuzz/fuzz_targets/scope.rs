//! `--scope`: `ScopeDir::parse` never panics; an accepted scope is an absolute path below `/`
//! without a trailing `/`, `.` or `..` components, glob characters (`*?[]`) or control
//! characters (so no newline: the scope is written into a comment line of an sshd drop-in);
//! it is the input without its trailing slashes, and parsing it again gives it back.
//! Spaces, quotes and `$` are allowed: the scope is always quoted (see the `quote` target).

#![no_main]

use handover::input::{ScopeDir, forbidden_scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scope) = ScopeDir::parse(text) else {
        return;
    };
    let s = scope.as_str();
    assert!(
        s.starts_with('/') && s.len() > 1 && !s.ends_with('/'),
        "{s:?}"
    );
    assert!(s.len() <= 4096);
    assert!(
        !s.chars()
            .any(|c| c.is_control() || matches!(c, '*' | '?' | '[' | ']')),
        "{s:?}"
    );
    assert!(!s.split('/').any(|p| p == "." || p == ".."), "{s:?}");
    assert_eq!(s, text.trim_end_matches('/'));
    assert_eq!(ScopeDir::parse(s).ok().as_ref(), Some(&scope));
    let _ = forbidden_scope(s);
});
