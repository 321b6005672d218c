//! Property tests of the pure parts: quoting (against a real `sh`), TTL and target parsing,
//! playbook parsing and parameter substitution. Bounded case counts keep CI fast; raise them
//! with PROPTEST_CASES=100000 for a longer local run (see the README).

use handover::input::{Target, Ttl};
use handover::playbook::{Playbook, substitute};
use handover::shell::quote;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::process::Command;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Whatever the value (NUL aside, which no C string holds), `sh` reads `quote(value)` back
    /// as exactly that one word. Runs a real /bin/sh per case.
    #[test]
    fn quoted_values_round_trip_through_sh(value in "[^\u{0}]{0,40}") {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf '%s' {}", quote(&value)))
            .output()
            .expect("run /bin/sh");
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), value);
    }
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn ttl_parser_never_panics_and_stays_in_bounds(text in "\\PC{0,12}") {
        if let Ok(ttl) = Ttl::parse(&text) {
            prop_assert!(ttl.duration() > std::time::Duration::ZERO);
            prop_assert!(ttl.duration() <= Ttl::MAX);
        }
    }

    #[test]
    fn valid_ttls_parse_to_their_value(n in 1u64..=30, unit in prop::sample::select(vec!["s", "m", "h", "d"])) {
        let seconds = n * match unit { "s" => 1, "m" => 60, "h" => 3600, _ => 86_400 };
        let parsed = Ttl::parse(&format!("{n}{unit}")).map(Ttl::duration).ok();
        prop_assert_eq!(parsed, Some(std::time::Duration::from_secs(seconds)));
    }

    /// A parsed target never yields a host or login that could be read as an option or that
    /// carries shell or control characters.
    #[test]
    fn targets_are_never_option_like(text in "\\PC{0,30}") {
        if let Ok(t) = Target::parse(&text, "root") {
            prop_assert!(!t.host.starts_with('-') && !t.login.starts_with('-'));
            prop_assert!(t.port > 0);
            for c in t.host.chars().chain(t.login.chars()) {
                prop_assert!(c.is_ascii_alphanumeric() || ".-_:".contains(c), "{:?}", c);
            }
        }
    }

    #[test]
    fn playbook_parser_never_panics(text in "\\PC{0,300}") {
        let _ = Playbook::parse("fuzz", &text);
    }

    #[test]
    fn quoted_substitution_keeps_values_as_single_words(value in "\\PC{0,30}") {
        let values: BTreeMap<String, String> = [("v".to_owned(), value.clone())].into();
        let code = substitute("printf '%s' {v}", &values, true).expect("declared");
        prop_assert_eq!(code, format!("printf '%s' {}", quote(&value)));
    }
}
