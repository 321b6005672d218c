//! `--account`: `AccountName::parse` never panics; an accepted name matches
//! `^[a-z_][a-z0-9_-]{0,31}$` exactly as given (so no `-` first, no `.`/`..`, `/`, whitespace,
//! control or shell characters) and is no reserved system account; deserializing it (grant
//! records) accepts exactly what the parser accepts.

#![no_main]

use handover::input::AccountName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = AccountName::parse("--account", text);
    let json = serde_json::Value::String(text.to_owned());
    let deserialized = serde_json::from_value::<AccountName>(json);
    assert_eq!(parsed.as_ref().ok(), deserialized.as_ref().ok(), "{text:?}");
    let Ok(name) = parsed else {
        return;
    };
    let s = name.as_str();
    assert_eq!(s, text);
    assert_eq!(name.to_string(), text);
    assert!((1..=32).contains(&s.len()), "{s:?}");
    let mut chars = s.chars();
    let first = chars.next().expect("not empty");
    assert!(first.is_ascii_lowercase() || first == '_', "{s:?}");
    assert!(
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')),
        "{s:?}"
    );
    assert!(
        ![
            "root", "daemon", "bin", "sys", "nobody", "sshd", "sudo", "wheel", "adm", "shadow"
        ]
        .contains(&s),
        "reserved {s:?}"
    );
});
