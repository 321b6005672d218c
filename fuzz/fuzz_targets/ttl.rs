//! `--ttl`: `Ttl::parse` never panics; an accepted TTL is a whole number and one unit (`s`,
//! `m`, `h`, `d`), more than zero and at most 30 days, worth exactly that many seconds; the
//! same span written in seconds (or any whole unit) parses to the same TTL.

#![no_main]

use handover::input::Ttl;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ttl) = Ttl::parse(text) else {
        return;
    };
    let d = ttl.duration();
    assert!(d > Duration::ZERO && d <= Ttl::MAX, "{text:?} -> {d:?}");
    let (number, scale) = if let Some(n) = text.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600)
    } else if let Some(n) = text.strip_suffix('d') {
        (n, 86_400)
    } else {
        panic!("accepted {text:?} without a unit");
    };
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "accepted {text:?}"
    );
    let n: u64 = number.parse().expect("digits");
    assert_eq!(d, Duration::from_secs(n * scale), "{text:?}");
    let secs = d.as_secs();
    for (unit, scale) in [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)] {
        if secs % scale == 0 {
            let again = format!("{}{unit}", secs / scale);
            assert_eq!(Ttl::parse(&again).ok(), Some(ttl), "{text:?} vs {again:?}");
        }
    }
});
