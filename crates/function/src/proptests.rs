//! Property tests: request parsing and code extraction never panic on arbitrary input, and object
//! keys always match the documented pattern.

use proptest::prelude::*;

use crate::config::Config;
use crate::language::LANGUAGES;
use crate::storage::tests::key_matches;

fn config() -> Config {
    Config::from_lookup(|name| (name == codegen_contract::env::BUCKET).then(|| "b".to_owned()))
        .expect("valid config")
}

/// JSON-ish text: mostly structural characters, so the parser gets deep into its states.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}\":,a-z0-9 .\\-\\\\eEtrufalsn]{0,200}",
        (
            "[a-z_]{0,12}",
            any::<String>(),
            prop_oneof![Just("py"), Just("rust"), Just("C#"), Just("x")],
        )
            .prop_map(|(field, value, lang)| {
                serde_json::json!({ "message": value, "key": lang, field: 1 }).to_string()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics(text in jsonish(), b64 in any::<bool>()) {
        let cfg = config();
        let _ = crate::request::parse_body(&text, cfg.max_message_bytes);
        let _ = crate::request::decode_body(Some(&text), b64, cfg.max_body_bytes);
    }

    #[test]
    fn valid_requests_round_trip(message in "[^\u{0}]{1,200}", idx in 0..LANGUAGES.len()) {
        prop_assume!(!message.trim().is_empty());
        let lang = &LANGUAGES[idx];
        let body = serde_json::json!({ "message": message, "key": lang.name.to_uppercase() }).to_string();
        let v = crate::request::parse_body(&body, 8192).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(v.message, message);
        prop_assert_eq!(v.language.name, lang.name);
    }

    #[test]
    fn extraction_never_panics_and_is_tidy(reply in prop_oneof![
        any::<String>(),
        "[`~a-z\n \t\r]{0,300}",
        ("[a-z]{0,8}", any::<String>()).prop_map(|(tag, code)| format!("Here:\n```{tag}\n{code}\n```\nDone.")),
    ], idx in 0..LANGUAGES.len()) {
        if let Some(code) = crate::extract::extract_code(&reply, &LANGUAGES[idx]) {
            prop_assert!(code.ends_with('\n'));
            prop_assert!(!code.trim().is_empty());
        }
    }

    #[test]
    fn keys_always_match_the_pattern(
        request_id in any::<String>(),
        millis in 0_i64..253_402_300_799_999,
        idx in 0..LANGUAGES.len(),
    ) {
        let now = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lang = &LANGUAGES[idx];
        let key = crate::storage::object_key("code-output/", now, &request_id, lang);
        prop_assert!(key_matches(&key, lang.extension), "{}", key);
    }

    #[test]
    fn distinct_request_ids_give_distinct_keys(a in "[A-Za-z0-9-]{1,64}", b in "[A-Za-z0-9-]{1,64}") {
        prop_assume!(a != b);
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let l = &LANGUAGES[0];
        prop_assert_ne!(
            crate::storage::object_key("code-output/", now, &a, l),
            crate::storage::object_key("code-output/", now, &b, l)
        );
    }
}
