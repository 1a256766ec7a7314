//! Hostile inputs fed straight to the handler: every row of the shared table
//! (`tests/common/hostile_cases.rs`, also sent through the deployed API by the end-to-end suite)
//! must be answered with its status and stable error code, without a panic and without any call
//! to Bedrock or S3; the hostile-looking but valid requests must be served normally, with object
//! keys built from time and request id only.

#[allow(
    dead_code,
    reason = "shared with the end-to-end crate, which uses the API half of the table"
)]
#[path = "common/hostile_cases.rs"]
mod hostile_cases;
#[path = "common/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_bedrockruntime::types::StopReason;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::retry::RetryConfig;
use base64::Engine as _;
use codegen_contract::{ErrorResponse, GenerateResponse, ROUTE_KEY, env};
use codegen_function::Config;
use hostile_cases::{AcceptedCase, HostileCase, MAX_BODY_BYTES, MAX_MESSAGE_BYTES};
use serde_json::json;
use support::{BUCKET, REQUEST_ID, converse_output};

fn config() -> Config {
    Config::from_lookup(|name| (name == env::BUCKET).then(|| BUCKET.to_owned()))
        .expect("valid config")
}

/// The API Gateway v2 event a case becomes. A request that matches the route carries its route
/// key, as API Gateway sets it; anything else arrives as if through a `$default` catch-all route.
fn event(case: &HostileCase) -> ApiGatewayV2httpRequest {
    let route_key = if case.is_route() {
        ROUTE_KEY
    } else {
        "$default"
    };
    let mut headers = serde_json::Map::new();
    if !case.content_type.is_empty() {
        headers.insert("content-type".to_owned(), json!(case.content_type));
    }
    let mut v = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": case.path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "requestId": "gw-request-id",
            "routeKey": route_key,
            "stage": "$default",
            "time": "25/Nov/2026:16:30:12 +0000",
            "timeEpoch": 1795710612123_i64,
            "http": {
                "method": case.method,
                "path": case.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "hostile"
            }
        },
        "isBase64Encoded": case.is_base64
    });
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
    if let Some(body) = body {
        v["body"] = json!(body);
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{}: invalid event: {e}", case.name))
}

fn converse_rule(language: &str) -> Rule {
    let reply = format!("```{language}\nreturn 1\n```");
    mock!(aws_sdk_bedrockruntime::Client::converse)
        .then_compute_output(move |_| converse_output(&reply, StopReason::EndTurn))
}

fn put_rule(keys: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |input| {
        keys.lock()
            .expect("lock")
            .push(input.key().unwrap_or_default().to_owned());
        PutObjectOutput::builder().build()
    })
}

struct Outcome {
    status: i64,
    json: serde_json::Value,
    converse_calls: usize,
    put_keys: Vec<String>,
}

/// Runs one event through the handler with fresh Bedrock and S3 mocks.
async fn run(event: ApiGatewayV2httpRequest, language: &str) -> Outcome {
    let converse = converse_rule(language);
    let keys = Arc::new(Mutex::new(Vec::new()));
    let put = put_rule(keys.clone());
    let bedrock = mock_client!(
        aws_sdk_bedrockruntime,
        RuleMode::MatchAny,
        &[&converse],
        |b| b.retry_config(RetryConfig::disabled())
    );
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put], |b| b
        .retry_config(RetryConfig::disabled())
        .force_path_style(true));
    let cfg = config();
    let (resp, json) = support::call(&bedrock, &s3, &cfg, event).await;
    assert_eq!(put.num_calls(), keys.lock().expect("lock").len());
    let put_keys = keys.lock().expect("lock").clone();
    Outcome {
        status: resp.status_code,
        json,
        converse_calls: converse.num_calls(),
        put_keys,
    }
}

#[test]
fn the_table_matches_the_default_limits_and_is_large_enough() {
    let cfg = config();
    assert_eq!(cfg.max_message_bytes, MAX_MESSAGE_BYTES);
    assert_eq!(cfg.max_body_bytes, MAX_BODY_BYTES);
    let cases = hostile_cases::cases();
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
    let cases = hostile_cases::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let out = run(event(case), "python").await;
        let code = serde_json::from_value::<ErrorResponse>(out.json.clone())
            .map(|e| e.error.code)
            .unwrap_or_else(|_| format!("(not an error body: {})", out.json));
        let got = (
            out.status,
            code.as_str(),
            out.converse_calls,
            out.put_keys.len(),
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
        expected: hostile_cases::Expected::of(codegen_contract::ErrorCode::Internal),
        via_api: hostile_cases::ViaApi::SameAsHandler,
    })
}

#[tokio::test]
async fn injection_inside_a_valid_message_changes_nothing() {
    for case in hostile_cases::accepted_cases() {
        let out = run(accepted_event(&case), case.language).await;
        assert_eq!(out.status, 200, "{}: {}", case.name, out.json);
        let ok: GenerateResponse =
            serde_json::from_value(out.json.clone()).expect("GenerateResponse");
        assert_eq!(ok.language, case.language, "{}", case.name);
        assert_eq!(ok.code, "return 1\n", "{}", case.name);
        assert_eq!(out.converse_calls, 1, "{}", case.name);
        // The key is time + request id + the requested language's extension, nothing else.
        let want = format!(
            "code-output/2026/11/25/20261125T163012.123Z-{REQUEST_ID}.{}",
            case.extension
        );
        assert_eq!(out.put_keys, vec![want.clone()], "{}", case.name);
        assert_eq!(ok.s3.map(|l| l.key), Some(want.clone()), "{}", case.name);
        for text in &case.user_text {
            assert!(!want.contains(text), "{}: key holds user text", case.name);
        }
    }
}
