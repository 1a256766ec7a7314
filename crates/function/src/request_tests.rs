//! Unit tests for request parsing and validation: every rejected input asserts its HTTP status
//! and its error code.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use codegen_contract::{ErrorCode, GenerateRequest};
use codegen_test_cases::apigw::HttpEvent;

use crate::config::Config;
use crate::request::{ALLOWED_FIELDS, ValidRequest, parse_body, validate};

fn config() -> Config {
    Config::from_lookup(|name| (name == codegen_contract::env::BUCKET).then(|| "b".to_owned()))
        .expect("valid config")
}

/// The typed event API Gateway would hand the function for `ev`.
fn event(ev: &HttpEvent) -> ApiGatewayV2httpRequest {
    serde_json::from_value(ev.to_json()).expect("valid event")
}

/// Validates `ev` (route, method, content type, body) under the default configuration.
fn check(ev: &HttpEvent) -> Result<ValidRequest, crate::ApiError> {
    validate(&event(ev), &config())
}

/// A valid `PUT /code-generation` whose body is `bytes`, base64-encoded as API Gateway does for
/// binary bodies.
fn base64_event(bytes: impl AsRef<[u8]>) -> HttpEvent<'static> {
    HttpEvent {
        body: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        is_base64: true,
        ..HttpEvent::default()
    }
}

/// A body with `message` (inserted as is into a JSON string) and `"key":"py"`.
fn with_message(message: &str) -> String {
    format!(r#"{{"message":"{message}","key":"py"}}"#)
}

fn body(b: &str) -> Result<ValidRequest, crate::ApiError> {
    parse_body(b, config().max_message_bytes)
}

#[track_caller]
fn assert_rejected(
    result: Result<ValidRequest, crate::ApiError>,
    status: u16,
    code: ErrorCode,
) -> String {
    match result {
        Ok(v) => panic!("expected {} ({status}), got Ok({v:?})", code.as_str()),
        Err(e) => {
            assert_eq!((e.status(), e.code), (status, code), "{}", e.message);
            assert!(!e.message.is_empty());
            e.message
        }
    }
}

#[test]
fn a_valid_request_passes() {
    let v = check(&HttpEvent::default()).expect("valid");
    assert_eq!(v.message, "reverse a string");
    assert_eq!(v.language.name, "python");
    assert_eq!(v.overrides, crate::sampling::Overrides::default());
}

#[test]
fn language_alias_and_optional_fields() {
    let v = body(r#"{"message":"m","language":"TS","temperature":0.5,"top_k":40,"top_p":1,"max_tokens":100}"#)
        .expect("valid");
    assert_eq!(v.language.name, "typescript");
    assert_eq!(v.overrides.temperature, Some(0.5));
    assert_eq!(v.overrides.top_k, Some(40));
    assert_eq!(v.overrides.top_p, Some(1.0));
    assert_eq!(v.overrides.max_tokens, Some(100));
    // Explicit nulls mean "use the default".
    let v = body(r#"{"message":"m","key":"go","temperature":null,"top_k":null}"#).expect("valid");
    assert_eq!(v.overrides, crate::sampling::Overrides::default());
}

#[test]
fn contract_requests_are_accepted() {
    // What `invoke` and the end-to-end tests send must parse here.
    let req = GenerateRequest {
        message: "sum two numbers".to_owned(),
        key: "rust".to_owned(),
        temperature: Some(0.2),
        top_k: Some(5),
        top_p: Some(0.9),
        max_tokens: Some(512),
    };
    let text = serde_json::to_string(&req).expect("serialises");
    let v = body(&text).expect("valid");
    assert_eq!(v.language.name, "rust");
    assert_eq!(v.overrides.max_tokens, Some(512));
    let names: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .expect("object")
            .keys()
            .cloned()
            .collect();
    for n in names {
        assert!(ALLOWED_FIELDS.contains(&n.as_str()), "{n}");
    }
}

#[test]
fn stage_prefixed_path_and_matched_route_key() {
    check(&HttpEvent {
        path: "/dev/code-generation",
        stage: "dev",
        ..HttpEvent::default()
    })
    .expect("stage prefix accepted");
    check(&HttpEvent {
        path: "/api/code-generation",
        route_key: "PUT /code-generation",
        ..HttpEvent::default()
    })
    .expect("route key matched by API Gateway");
}

#[test]
fn wrong_route_is_404() {
    for (path, stage) in [
        ("/", "$default"),
        ("/code-generation/extra", "$default"),
        ("/prod/code-generation", "dev"),
        ("/code-generations", "$default"),
        ("/$default/code-generation", "$default"),
    ] {
        let ev = HttpEvent {
            path,
            stage,
            ..HttpEvent::default()
        };
        assert_rejected(check(&ev), 404, ErrorCode::NotFound);
    }
}

#[test]
fn wrong_method_is_405() {
    for method in ["GET", "POST", "DELETE", "PATCH", "OPTIONS"] {
        let ev = HttpEvent {
            method,
            ..HttpEvent::default()
        };
        let msg = assert_rejected(check(&ev), 405, ErrorCode::MethodNotAllowed);
        assert!(msg.contains("PUT"), "{msg}");
    }
    // The route is checked first.
    let ev = HttpEvent {
        method: "GET",
        path: "/nope",
        ..HttpEvent::default()
    };
    assert_rejected(check(&ev), 404, ErrorCode::NotFound);
}

#[test]
fn content_type_rules() {
    let with_type = |content_type| HttpEvent {
        content_type,
        ..HttpEvent::default()
    };
    for ok in [
        None,
        Some("application/json"),
        Some("Application/JSON; charset=UTF-8"),
        Some("application/json;charset=\"utf-8\""),
        Some(""),
    ] {
        check(&with_type(ok)).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    for bad in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
        "application/jsonx",
        "multipart/form-data; boundary=x",
    ] {
        assert_rejected(
            check(&with_type(Some(bad))),
            415,
            ErrorCode::UnsupportedMediaType,
        );
    }
}

#[test]
fn header_names_are_case_insensitive() {
    let mut ev = event(&HttpEvent {
        content_type: None,
        ..HttpEvent::default()
    });
    ev.headers
        .insert("CONTENT-TYPE", http::HeaderValue::from_static("text/plain"));
    assert_rejected(
        validate(&ev, &config()),
        415,
        ErrorCode::UnsupportedMediaType,
    );
}

#[test]
fn missing_body_is_400() {
    for body in [None, Some(String::new())] {
        let ev = HttpEvent {
            body,
            ..HttpEvent::default()
        };
        assert_rejected(check(&ev), 400, ErrorCode::MissingBody);
    }
}

#[test]
fn base64_bodies() {
    let v = check(&base64_event(r#"{"message":"m","key":"rb"}"#)).expect("valid");
    assert_eq!(v.language.name, "ruby");

    let not_base64 = HttpEvent {
        body: Some("not base64!!".to_owned()),
        is_base64: true,
        ..HttpEvent::default()
    };
    assert_rejected(check(&not_base64), 400, ErrorCode::InvalidEncoding);
    let latin1 = base64_event(b"{\"message\":\"caf\xe9\",\"key\":\"py\"}");
    assert_rejected(check(&latin1), 400, ErrorCode::InvalidEncoding);
}

#[test]
fn body_too_large_is_413_before_parsing() {
    let limit = config().max_body_bytes;
    let big = with_message(&"a".repeat(limit));
    let text = |body: String| HttpEvent {
        body: Some(body),
        ..HttpEvent::default()
    };
    assert_rejected(check(&text(big.clone())), 413, ErrorCode::PayloadTooLarge);
    assert_rejected(check(&base64_event(&big)), 413, ErrorCode::PayloadTooLarge);
    // Not even JSON: the size is checked first.
    assert_rejected(
        check(&text("x".repeat(limit + 1))),
        413,
        ErrorCode::PayloadTooLarge,
    );
}

#[test]
fn malformed_json_is_invalid_json() {
    for b in [
        "{",
        "{\"message\":}",
        "nope",
        "{\"message\":\"m\",\"key\":\"py\"} trailing",
        "{'message':'m'}",
        "{\"message\":\"m\",}",
        "{\"message\":\"\\ud800\",\"key\":\"py\"}",
        "{\"top_k\":1e999,\"message\":\"m\",\"key\":\"py\"}",
    ] {
        assert_rejected(body(b), 400, ErrorCode::InvalidJson);
    }
}

#[test]
fn non_objects_are_invalid_json() {
    for (b, kind) in [
        ("[]", "array"),
        ("[1,2]", "array"),
        ("\"m\"", "string"),
        ("42", "number"),
        ("-1.5", "number"),
        ("true", "boolean"),
        ("null", "null"),
    ] {
        let msg = assert_rejected(body(b), 400, ErrorCode::InvalidJson);
        assert!(msg.contains(kind), "{msg}");
    }
}

#[test]
fn deep_nesting_is_invalid_json_not_a_panic() {
    for depth in [200, 10_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_rejected(body(&nested), 400, ErrorCode::InvalidJson);
        let in_field = format!(
            "{{\"message\":{}{},\"key\":\"py\"}}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        );
        assert_rejected(body(&in_field), 400, ErrorCode::InvalidJson);
    }
}

#[test]
fn duplicate_keys_are_rejected() {
    let msg = assert_rejected(
        body(r#"{"message":"a","message":"b","key":"py"}"#),
        400,
        ErrorCode::InvalidJson,
    );
    assert!(
        msg.contains("`message`") && msg.contains("duplicate"),
        "{msg}"
    );
    assert_rejected(
        body(r#"{"message":"a","key":"py","key":"rs"}"#),
        400,
        ErrorCode::InvalidJson,
    );
    // `key` and its alias together are ambiguous.
    assert_rejected(
        body(r#"{"message":"a","key":"py","language":"rs"}"#),
        400,
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn unknown_fields_list_the_allowed_ones() {
    let msg = assert_rejected(
        body(r#"{"message":"m","key":"py","prompt":"x","Key":"y"}"#),
        400,
        ErrorCode::UnknownField,
    );
    assert!(msg.contains("`prompt`") && msg.contains("`Key`"), "{msg}");
    for allowed in [
        "message",
        "key",
        "language",
        "temperature",
        "top_k",
        "top_p",
        "max_tokens",
    ] {
        assert!(msg.contains(allowed), "{msg}");
    }
}

#[test]
fn message_rules() {
    assert_rejected(body(r#"{"key":"py"}"#), 400, ErrorCode::MissingMessage);
    for m in [
        r#""""#,
        r#""   \n\t ""#,
        "null",
        "1",
        "true",
        "[\"a\"]",
        "{\"a\":1}",
    ] {
        assert_rejected(
            body(&format!(r#"{{"message":{m},"key":"py"}}"#)),
            400,
            ErrorCode::InvalidMessage,
        );
    }
    let msg = assert_rejected(
        body(r#"{"message":"a\u0000b","key":"py"}"#),
        400,
        ErrorCode::InvalidMessage,
    );
    assert!(msg.contains("NUL"), "{msg}");
}

#[test]
fn message_size_limit() {
    let max = config().max_message_bytes;
    body(&with_message(&"a".repeat(max))).expect("exactly at the limit");
    let msg = assert_rejected(
        body(&with_message(&"a".repeat(max + 1))),
        413,
        ErrorCode::MessageTooLarge,
    );
    assert!(msg.contains(&max.to_string()), "{msg}");
    // Bytes, not characters: 'é' is two bytes.
    assert_rejected(
        body(&with_message(&"é".repeat(max / 2 + 1))),
        413,
        ErrorCode::MessageTooLarge,
    );
    // The limit is configurable.
    assert!(parse_body(r#"{"message":"abcdef","key":"py"}"#, 5).is_err());
}

#[test]
fn language_rules() {
    let msg = assert_rejected(body(r#"{"message":"m"}"#), 400, ErrorCode::MissingLanguage);
    assert!(msg.contains("python") && msg.contains("rust"), "{msg}");
    assert_rejected(
        body(r#"{"message":"m","key":""}"#),
        400,
        ErrorCode::MissingLanguage,
    );
    assert_rejected(
        body(r#"{"message":"m","key":null}"#),
        400,
        ErrorCode::MissingLanguage,
    );
    let msg = assert_rejected(
        body(r#"{"message":"m","key":"cobol"}"#),
        400,
        ErrorCode::UnsupportedLanguage,
    );
    assert!(msg.contains("cobol"), "{msg}");
    for name in crate::language::LANGUAGES.iter().map(|l| l.name) {
        assert!(msg.contains(name), "{name} missing from {msg}");
    }
    assert_rejected(
        body(r#"{"message":"m","key":3}"#),
        400,
        ErrorCode::UnsupportedLanguage,
    );
    assert_rejected(
        body(r#"{"message":"m","language":["py"]}"#),
        400,
        ErrorCode::UnsupportedLanguage,
    );
}

#[test]
fn sampling_ranges_and_types() {
    let cases = [
        ("temperature", "-0.1"),
        ("temperature", "1.01"),
        ("temperature", "\"0.5\""),
        ("temperature", "true"),
        ("top_p", "1.5"),
        ("top_p", "-1"),
        ("top_p", "[0.5]"),
        ("top_k", "0"),
        ("top_k", "501"),
        ("top_k", "2.5"),
        ("top_k", "-3"),
        ("top_k", "\"40\""),
        ("top_k", "99999999999"),
        ("max_tokens", "0"),
        ("max_tokens", "8193"),
        ("max_tokens", "100.5"),
        ("max_tokens", "{}"),
    ];
    for (field, value) in cases {
        let msg = assert_rejected(
            body(&format!(
                r#"{{"message":"m","key":"py","{field}":{value}}}"#
            )),
            400,
            ErrorCode::InvalidParameter,
        );
        assert!(msg.contains(field), "{field}={value}: {msg}");
    }
    for (field, value) in [
        ("temperature", "0"),
        ("temperature", "1"),
        ("top_p", "0.0"),
        ("top_k", "1"),
        ("top_k", "500"),
        ("max_tokens", "1"),
        ("max_tokens", "8192"),
    ] {
        body(&format!(
            r#"{{"message":"m","key":"py","{field}":{value}}}"#
        ))
        .unwrap_or_else(|e| panic!("{field}={value}: {e}"));
    }
}

#[test]
fn every_request_error_code_is_covered() {
    // A guard against adding a request-side error code without a test above.
    let covered = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidEncoding,
        ErrorCode::MissingMessage,
        ErrorCode::InvalidMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::MissingLanguage,
        ErrorCode::UnsupportedLanguage,
        ErrorCode::InvalidParameter,
        ErrorCode::UnknownField,
        ErrorCode::MissingBody,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotFound,
    ];
    for code in ErrorCode::ALL {
        // Throttled and ModelRefused come from the model (tests/handler.rs); the jobs codes from
        // the jobs routes (tests/jobs.rs); the budget codes from the budget store
        // (crates/function/src/budget.rs and tests/tests/quotas.rs).
        let elsewhere = matches!(
            code,
            ErrorCode::QuotaExceeded
                | ErrorCode::TooManyJobs
                | ErrorCode::BudgetUnavailable
                | ErrorCode::Throttled
                | ErrorCode::ModelRefused
                | ErrorCode::InvalidJobId
                | ErrorCode::JobNotFound
                | ErrorCode::IdempotencyConflict
                | ErrorCode::UnidentifiedCaller
        );
        if code.status() < 500 && !elsewhere {
            assert!(
                covered.contains(&code),
                "{} has no request test",
                code.as_str()
            );
        }
    }
}

#[test]
fn caller_chosen_field_names_are_quoted_within_a_fixed_size() {
    // The error message is returned and logged: thousands of unknown (or long) field names must
    // not make it grow with the body.
    let many = (0..3000)
        .map(|i| format!(r#""field{i}":{i}"#))
        .collect::<Vec<_>>()
        .join(",");
    let msg = assert_rejected(
        body(&format!(r#"{{"message":"m","key":"py",{many}}}"#)),
        400,
        ErrorCode::UnknownField,
    );
    assert!(
        msg.contains("`field0`") && msg.contains("`field9`"),
        "{msg}"
    );
    assert!(!msg.contains("`field10`"), "{msg}");
    assert!(msg.contains("and 2990 more"), "{msg}");
    assert!(msg.len() < 400, "{} bytes: {msg}", msg.len());

    let long = "x".repeat(50_000);
    let msg = assert_rejected(
        body(&format!(
            r#"{{"message":"m","key":"py","{long}":1,"{long}":2}}"#
        )),
        400,
        ErrorCode::InvalidJson,
    );
    assert!(msg.contains(&format!("`{}...`", "x".repeat(40))), "{msg}");
    assert!(msg.len() < 200, "{} bytes", msg.len());
}
