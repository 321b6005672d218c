//! `--allow-from`: `AllowFrom::parse` never panics; an accepted value prints (`Display`, as it
//! is written into sshd's `Match Address`) as an address or `ADDR/PREFIX` of hex digits, `.`,
//! `:` and `/` only, which parses back to the same value and prints the same again; the
//! network contains its own address; deserializing (grant records) accepts exactly what the
//! parser accepts.

#![no_main]

use handover::input::AllowFrom;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = AllowFrom::parse(text);
    let json = serde_json::Value::String(text.to_owned());
    let deserialized = serde_json::from_value::<AllowFrom>(json);
    assert_eq!(parsed.as_ref().ok(), deserialized.as_ref().ok(), "{text:?}");
    let Ok(allow) = parsed else {
        return;
    };
    let shown = allow.to_string();
    assert!(
        shown
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/')),
        "{text:?} shows as {shown:?}"
    );
    let again = AllowFrom::parse(&shown).expect("its own form parses");
    assert_eq!(again, allow, "{text:?} shows as {shown:?}");
    assert_eq!(again.to_string(), shown);
    assert!(allow.contains(allow.network()), "{shown}");
});
