//! Hostile inputs fed straight to the handler: every row of the shared table
//! (`codegen_test_cases::hostile`, also sent through the deployed API by the end-to-end suite)
//! must be answered with its status and stable error code, without a panic and without any call
//! to Bedrock or S3; the hostile-looking but valid requests must be served normally, with object
//! keys built from time and request id only.

mod common;

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_bedrockruntime::types::StopReason;
use base64::Engine as _;
use codegen_contract::{ErrorResponse, GenerateResponse, ROUTE_KEY};
use codegen_function::Config;
use codegen_test_cases::apigw::HttpEvent;
use codegen_test_cases::hostile::{
    self, AcceptedCase, HostileCase, MAX_BODY_BYTES, MAX_MESSAGE_BYTES,
};
use common::{Outcome, REQUEST_ID, answering};

/// The default configuration: only the bucket is set.
fn config() -> Config {
    common::config(&[])
}

/// The API Gateway v2 event a case becomes. A request that matches the route carries its route
/// key, as API Gateway sets it; anything else arrives as if through a `$default` catch-all route.
fn event(case: &HostileCase) -> ApiGatewayV2httpRequest {
    let body = match (&case.event_body, &case.body) {
        (Some(raw), _) => Some(raw.clone()),
        (None, None) => None,
        (None, Some(bytes)) if case.is_base64 => {
            Some(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        (None, Some(bytes)) => Some(
            String::from_utf8(bytes.clone())
                .unwrap_or_else(|_| panic!("{}: a text row must be UTF-8", case.name)),
        ),
    };
    let event = HttpEvent {
        method: case.method,
        path: &case.path,
        route_key: if case.is_route() {
            ROUTE_KEY
        } else {
            "$default"
        },
        content_type: Some(case.content_type).filter(|ct| !ct.is_empty()),
        body,
        is_base64: case.is_base64,
        ..HttpEvent::default()
    };
    serde_json::from_value(event.to_json())
        .unwrap_or_else(|e| panic!("{}: invalid event: {e}", case.name))
}

/// Runs one event through the handler with fresh Bedrock and S3 mocks, Converse answering a line
/// of `language`.
async fn run(event: ApiGatewayV2httpRequest, language: &str) -> Outcome {
    let reply = format!("```{language}\nreturn 1\n```");
    common::run(answering(reply, StopReason::EndTurn), event, &config()).await
}

#[test]
fn the_table_matches_the_default_limits_and_is_large_enough() {
    let cfg = config();
    assert_eq!(cfg.max_message_bytes, MAX_MESSAGE_BYTES);
    assert_eq!(cfg.max_body_bytes, MAX_BODY_BYTES);
    let cases = hostile::cases();
    assert!(cases.len() >= 60, "only {} hostile cases", cases.len());
    let names: BTreeSet<_> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    for case in &cases {
        assert!(
            (400..500).contains(&case.expected.status),
            "{}: hostile rows are 4xx",
            case.name
        );
        assert_eq!(
            case.expected.status,
            case.expected.code.status(),
            "{}",
            case.name
        );
    }
}

#[tokio::test]
async fn every_hostile_request_is_rejected_without_touching_bedrock_or_s3() {
    let cases = hostile::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let out = run(event(case), "python").await;
        let json = &out.answer.json;
        let code = serde_json::from_value::<ErrorResponse>(json.clone())
            .map(|e| e.error.code)
            .unwrap_or_else(|_| format!("(not an error body: {json})"));
        let got = (
            out.answer.status,
            code.as_str(),
            out.converse.num_calls(),
            out.put.num_calls(),
        );
        let want = (
            i64::from(case.expected.status),
            case.expected.code.as_str(),
            0,
            0,
        );
        if got != want {
            failures.push(format!(
                "{}: got status {} code {} bedrock {} s3 {}, want {} {}",
                case.name, got.0, got.1, got.2, got.3, want.0, want.1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn accepted_event(case: &AcceptedCase) -> ApiGatewayV2httpRequest {
    event(&HostileCase {
        name: case.name,
        method: "PUT",
        path: codegen_contract::ROUTE_PATH.to_owned(),
        content_type: "application/json",
        body: Some(case.body.clone().into_bytes()),
        is_base64: false,
        event_body: None,
        expected: hostile::Expected::of(codegen_contract::ErrorCode::Internal),
        via_api: hostile::ViaApi::SameAsHandler,
    })
}

#[tokio::test]
async fn injection_inside_a_valid_message_changes_nothing() {
    for case in hostile::accepted_cases() {
        let out = run(accepted_event(&case), case.language).await;
        let json = &out.answer.json;
        assert_eq!(out.answer.status, 200, "{}: {json}", case.name);
        let ok: GenerateResponse = serde_json::from_value(json.clone()).expect("GenerateResponse");
        assert_eq!(ok.language, case.language, "{}", case.name);
        assert_eq!(ok.code, "return 1\n", "{}", case.name);
        assert_eq!(out.converse.num_calls(), 1, "{}", case.name);
        // The key is time + request id + the requested language's extension, nothing else.
        let want = format!(
            "code-output/2026/11/25/20261125T163012.123Z-{REQUEST_ID}.{}",
            case.extension
        );
        assert_eq!(out.stored_keys(), vec![want.clone()], "{}", case.name);
        assert_eq!(ok.s3.map(|l| l.key), Some(want.clone()), "{}", case.name);
        for text in &case.user_text {
            assert!(!want.contains(text), "{}: key holds user text", case.name);
        }
    }
}
