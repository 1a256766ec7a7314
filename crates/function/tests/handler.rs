//! Handler tests: API Gateway v2 fixtures from `tests/fixtures/apigw/` fed to the handler, with
//! Bedrock and S3 mocked at the SDK edge by `aws-smithy-mocks`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseInput};
use aws_sdk_bedrockruntime::types::error::ThrottlingException;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, StopReason, SystemContentBlock,
};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_types::{Document, Number};
use codegen_contract::{GenerateResponse, RepairReport, env};
use codegen_function::Config;
use common::{
    Answer, BUCKET, Outcome, Puts, REQUEST_ID, access_denied_exception, answering, bedrock_client,
    converse_error, converse_output, fixture, invoke, model_timeout_exception, put_ok,
    resource_not_found_exception, run, s3_client, service_unavailable_exception,
    throttling_exception, validation_exception,
};

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU_3: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const SONNET_46: &str = "us.anthropic.claude-sonnet-4-6";
const OPUS_47: &str = "global.anthropic.claude-opus-4-7";

const REPLY: &str = "Here is the function:\n\n```python\ndef is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]\n    return cleaned == cleaned[::-1]\n```\n\nIt ignores case and punctuation.";
const CODE: &str = "def is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]\n    return cleaned == cleaned[::-1]\n";

/// The palindrome request (`put-code-generation.json`) most tests send.
fn palindrome() -> ApiGatewayV2httpRequest {
    fixture("put-code-generation.json")
}

/// The palindrome request with another (text) body.
fn with_body(body: &str) -> ApiGatewayV2httpRequest {
    let mut ev = palindrome();
    ev.body = Some(body.to_owned());
    ev.is_base64_encoded = false;
    ev
}

/// The stage configuration with `model_id` as its model.
fn config(model_id: &str) -> Config {
    common::config(&[(env::MODEL_ID, model_id)])
}

/// A Converse rule answering [`REPLY`]: a valid Python function.
fn replying() -> Rule {
    answering(REPLY, StopReason::EndTurn)
}

/// Where a recording Converse rule keeps the last input it saw.
type ConverseSeen = Arc<Mutex<Option<ConverseInput>>>;

/// A Converse rule answering `reply`, recording its input in `seen`.
fn converse_ok(reply: &'static str, seen: ConverseSeen) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_compute_output(move |input| {
        *seen.lock().expect("lock") = Some(input.clone());
        converse_output(reply, StopReason::EndTurn)
    })
}

/// The last input a recording Converse rule saw.
fn last_input(seen: &ConverseSeen) -> ConverseInput {
    seen.lock().expect("lock").clone().expect("Converse called")
}

/// Asserts that at least one of a response's `warnings` satisfies `matches`.
#[track_caller]
fn assert_any_warning(warnings: &[String], matches: impl Fn(&str) -> bool) {
    assert!(warnings.iter().any(|w| matches(w)), "{warnings:?}");
}

/// Asserts that the repair report gives a reason and that it mentions `text`.
#[track_caller]
fn assert_reason_contains(repair: &RepairReport, text: &str) {
    assert!(
        repair.reason.as_deref().is_some_and(|r| r.contains(text)),
        "{repair:?}"
    );
}

/// One of the `additionalModelRequestFields` Converse was sent (which must be an object).
fn additional_field<'a>(input: &'a ConverseInput, name: &str) -> Option<&'a Document> {
    let Some(Document::Object(extra)) = input.additional_model_request_fields() else {
        panic!("additional fields missing");
    };
    extra.get(name)
}

#[tokio::test]
async fn success_generates_stores_and_answers() {
    let converse_seen = ConverseSeen::default();
    let out = run(
        converse_ok(REPLY, converse_seen.clone()),
        palindrome(),
        &config(SONNET_45),
    )
    .await;
    let ok = out.answer.ok();

    let key = "code-output/2026/11/25/20261125T163012.123Z-8f5a7c1e-0b8e-4d3f-9a6b-2f1c0d9e8a7b.py";
    assert_eq!(ok.code, CODE);
    assert_eq!(ok.language, "python");
    assert_eq!(ok.model, SONNET_45);
    assert!(ok.stored);
    let loc = ok.s3.expect("location");
    assert_eq!(loc.bucket, BUCKET);
    assert_eq!(loc.key, key);
    assert_eq!(loc.uri, format!("s3://{BUCKET}/{key}"));
    assert_eq!(
        (
            ok.usage.input_tokens,
            ok.usage.output_tokens,
            ok.usage.total_tokens
        ),
        (120, 45, 165)
    );
    // The cost, worked by hand: Sonnet 4.5 through the `us.` profile pays the 10% regional
    // premium on $3 / $15 per MTok: 120 × 3.30 = 396 µ$, 45 × 16.50 = 742.5 µ$, 1138.5 µ$,
    // rounded up to 1139.
    let cost = ok.cost.as_ref().expect("every answer carries its cost");
    assert_eq!((cost.micro_usd, cost.usd.as_str()), (1139, "0.001139"));
    assert_eq!(cost.tokens, ok.usage);
    assert_eq!(cost.prices_as_of, "2026-12-07");
    assert_eq!(out.answer.json["cost"]["usd"], "0.001139");
    assert_eq!(ok.request_id, REQUEST_ID);
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
    assert_eq!(out.answer.retry_after(), None);

    // S3 saw exactly the extracted code, under the right key, type and metadata.
    assert_eq!(out.put.num_calls(), 1);
    let put_in = out.stored();
    assert_eq!(put_in.bucket, BUCKET);
    assert_eq!(put_in.key, key);
    assert_eq!(put_in.content_type, "text/x-python; charset=utf-8");
    assert_eq!(put_in.body, CODE.as_bytes());
    assert_eq!(put_in.meta("language"), Some("python"));
    assert_eq!(put_in.meta("model"), Some(SONNET_45));
    assert_eq!(put_in.meta("request-id"), Some(REQUEST_ID));

    // Bedrock saw the configured model, temperature and top_k but never top_p (Claude 4.5).
    assert_eq!(out.converse.num_calls(), 1);
    let input = last_input(&converse_seen);
    assert_eq!(input.model_id(), Some(SONNET_45));
    let inference = input.inference_config().expect("inference config");
    assert_eq!(inference.temperature(), Some(0.1));
    assert_eq!(inference.top_p(), None);
    assert_eq!(inference.max_tokens(), Some(2048));
    assert_eq!(
        additional_field(&input, "top_k"),
        Some(&Document::Number(Number::PosInt(250)))
    );
    let Some(SystemContentBlock::Text(system)) = input.system().first() else {
        panic!("system prompt missing");
    };
    assert!(system.contains("```python"));
    let (role, user_text) = text_of(&input, 0);
    assert_eq!(role, ConversationRole::User);
    assert!(
        user_text
            .contains("<request>\nWrite a function that checks whether a string is a palindrome")
    );
}

#[tokio::test]
async fn stage_prefixed_path_is_served() {
    let event = fixture("put-code-generation-stage.json");
    let out = run(replying(), event, &config(SONNET_45)).await;
    assert!(out.answer.ok().stored);
}

#[tokio::test]
async fn base64_body_with_alias_and_overrides_on_claude_3() {
    let converse_seen = ConverseSeen::default();
    let out = run(
        converse_ok("```rust\nfn main() {}\n```", converse_seen.clone()),
        fixture("put-code-generation-base64.json"),
        &config(HAIKU_3),
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(ok.language, "rust");
    assert_eq!(ok.code, "fn main() {}\n");
    let put_in = out.stored();
    assert!(
        put_in
            .key
            .ends_with("-8f5a7c1e-0b8e-4d3f-9a6b-2f1c0d9e8a7b.rs"),
        "{}",
        put_in.key
    );
    assert_eq!(put_in.content_type, "text/x-rust; charset=utf-8");

    // Claude 3 accepts all three sampling parameters.
    let input = last_input(&converse_seen);
    let inference = input.inference_config().expect("inference config");
    assert_eq!(inference.temperature(), Some(0.3));
    assert_eq!(inference.top_p(), Some(0.2));
    assert_eq!(inference.max_tokens(), Some(1024));
}

#[tokio::test]
async fn explicit_top_p_is_dropped_with_a_warning_on_claude_45() {
    let converse_seen = ConverseSeen::default();
    let event = with_body(
        r#"{"message":"palindrome","key":"py","top_p":0.9,"temperature":0.7,"top_k":20}"#,
    );
    let out = run(
        converse_ok(REPLY, converse_seen.clone()),
        event,
        &config(SONNET_45),
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(ok.warnings.len(), 1, "{:?}", ok.warnings);
    assert!(ok.warnings[0].contains("top_p"));
    let input = last_input(&converse_seen);
    let inference = input.inference_config().expect("inference config");
    assert_eq!(inference.temperature(), Some(0.7));
    assert_eq!(inference.top_p(), None);
    assert_eq!(
        additional_field(&input, "top_k"),
        Some(&Document::Number(Number::PosInt(20)))
    );
}

// ---------------------------------------------------------------------------------------------
// Bedrock errors: each maps to a status, a stable code and (where retrying helps) `Retry-After`.
// ---------------------------------------------------------------------------------------------

/// Runs the palindrome request against the failing Converse `rule`; asserts the model was called
/// once and nothing was stored.
async fn bedrock_failure(rule: Rule) -> Answer {
    let out = run(rule, palindrome(), &config(SONNET_45)).await;
    assert_eq!(out.converse.num_calls(), 1);
    assert_eq!(
        out.put.num_calls(),
        0,
        "nothing is stored when generation fails"
    );
    out.answer
}

/// A raw Bedrock error response, parsed by the SDK's own deserialiser.
fn bedrock_http_error(status: u16, error_type: Option<&'static str>, body: &'static str) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_http_response(move || {
        let mut resp = HttpResponse::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::from(body),
        );
        if let Some(t) = error_type {
            resp.headers_mut().insert("x-amzn-errortype", t);
        }
        resp.headers_mut()
            .insert("content-type", "application/json");
        resp
    })
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    let answer = bedrock_failure(throttling_exception("Too many requests")).await;
    answer.err(429, "throttled");
    assert_eq!(answer.retry_after(), Some("5"));
}

#[tokio::test]
async fn service_quota_exceeded_is_429() {
    let answer = bedrock_failure(converse_error(|| {
        ConverseError::generic(
            ErrorMetadata::builder()
                .code("ServiceQuotaExceededException")
                .message("quota")
                .build(),
        )
    }))
    .await;
    answer.err(429, "throttled");
    assert!(answer.retry_after().is_some());
}

#[tokio::test]
async fn throttling_over_http_is_parsed_and_classified() {
    // The real wire shape: 429 with the error type header, parsed by the SDK's deserialiser.
    bedrock_failure(bedrock_http_error(
        429,
        Some("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        r#"{"message":"Too many requests, please wait before trying again."}"#,
    ))
    .await
    .err(429, "throttled");
}

#[tokio::test]
async fn access_denied_is_502_model_access() {
    let answer = bedrock_failure(access_denied_exception(
        "User: arn:aws:sts::123456789012:assumed-role/fn/x is not authorized",
    ))
    .await;
    let e = answer.err(502, "model_access");
    assert!(e.error.message.contains(SONNET_45));
    assert!(e.error.message.contains("us-east-1"));
    assert!(e.error.message.contains("Bedrock console"));
    assert!(
        !e.error.message.contains("123456789012"),
        "no account ids leak"
    );
    assert_eq!(answer.retry_after(), None);
}

#[tokio::test]
async fn resource_not_found_is_502_model_access() {
    bedrock_failure(resource_not_found_exception("Model not found"))
        .await
        .err(502, "model_access");
}

#[tokio::test]
async fn invalid_model_id_is_502_model_access_other_validation_is_model_error() {
    bedrock_failure(validation_exception(
        "The provided model identifier is invalid.",
    ))
    .await
    .err(502, "model_access");
    let e = bedrock_failure(validation_exception(
        "messages: text content blocks must be non-empty",
    ))
    .await
    .err(502, "model_error");
    assert!(e.error.message.contains("non-empty"));
}

#[tokio::test]
async fn service_unavailable_is_503_with_retry_after() {
    let answer = bedrock_failure(service_unavailable_exception("busy")).await;
    answer.err(503, "model_unavailable");
    assert_eq!(answer.retry_after(), Some("10"));
}

#[tokio::test]
async fn model_timeout_exception_is_504() {
    bedrock_failure(model_timeout_exception())
        .await
        .err(504, "model_timeout");
}

/// An HTTP client whose requests never complete, to trip the operation timeout.
#[derive(Debug)]
struct NeverAnswers;

impl HttpConnector for NeverAnswers {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(std::future::pending())
    }
}

impl HttpClient for NeverAnswers {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NeverAnswers)
    }
}

#[tokio::test]
async fn sdk_operation_timeout_is_504() {
    let bedrock = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::Config::builder()
            .with_test_defaults_v2()
            .http_client(NeverAnswers)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(100))
                    .build(),
            )
            .build(),
    );
    let put = put_ok(Puts::default());
    let answer = invoke(
        palindrome(),
        &bedrock,
        &s3_client(&[&put]),
        &config(SONNET_45),
    )
    .await;
    answer.err(504, "model_timeout");
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn throttling_is_retried_within_the_budget() {
    // One throttle, then success: the SDK's standard retry handles it and the caller sees 200.
    let converse = mock!(aws_sdk_bedrockruntime::Client::converse)
        .sequence()
        .error(|| {
            ConverseError::ThrottlingException(
                ThrottlingException::builder()
                    .message("slow down")
                    .meta(ErrorMetadata::builder().code("ThrottlingException").build())
                    .build(),
            )
        })
        .output(|| converse_output(REPLY, StopReason::EndTurn))
        .build();
    let put = put_ok(Puts::default());
    let bedrock = mock_client!(
        aws_sdk_bedrockruntime,
        RuleMode::MatchAny,
        &[&converse],
        |b| b.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    );
    let ok = invoke(
        palindrome(),
        &bedrock,
        &s3_client(&[&put]),
        &config(SONNET_45),
    )
    .await
    .ok();
    assert_eq!(ok.code, CODE);
    assert_eq!(converse.num_calls(), 2);
}

#[tokio::test]
async fn reply_without_code_is_502_and_nothing_is_stored() {
    for reply in ["", "   \n", "```python\n\n```"] {
        let out = run(
            answering(reply, StopReason::EndTurn),
            palindrome(),
            &config(SONNET_45),
        )
        .await;
        out.answer.err(502, "empty_generation");
        assert_eq!(out.put.num_calls(), 0);
    }
}

#[tokio::test]
async fn truncated_reply_is_returned_with_a_warning() {
    let converse = answering("```python\ndef f(:\n", StopReason::MaxTokens);
    let ok = run(converse, palindrome(), &config(SONNET_45))
        .await
        .answer
        .ok();
    assert_eq!(ok.code, "def f(:\n");
    assert_any_warning(&ok.warnings, |w| w.contains("max_tokens"));
}

/// Runs the palindrome request with Converse answering [`REPLY`] and S3 answering with `put`.
async fn with_s3(put: &Rule) -> Answer {
    let converse = replying();
    invoke(
        palindrome(),
        &bedrock_client(&[&converse]),
        &s3_client(&[put]),
        &config(SONNET_45),
    )
    .await
}

#[tokio::test]
async fn s3_failure_still_returns_the_code() {
    // The wire shape of an S3 AccessDenied, parsed by the SDK.
    let put = mock!(aws_sdk_s3::Client::put_object).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).expect("status"),
            SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>",
            ),
        )
    });
    let answer = with_s3(&put).await;
    let ok = answer.ok();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(ok.code, CODE);
    assert!(!ok.stored);
    assert_eq!(ok.s3, None);
    assert_eq!(answer.json["s3"], serde_json::Value::Null);
    assert_eq!(ok.warnings.len(), 1, "{:?}", ok.warnings);
    assert!(ok.warnings[0].contains("not stored"), "{}", ok.warnings[0]);
    assert!(
        ok.warnings[0].contains("AccessDenied"),
        "{}",
        ok.warnings[0]
    );
    assert!(
        !ok.warnings[0].contains("HostId"),
        "no debug dump: {}",
        ok.warnings[0]
    );
}

#[tokio::test]
async fn s3_modeled_error_code_is_reported() {
    let put = mock!(aws_sdk_s3::Client::put_object).then_error(|| {
        PutObjectError::generic(
            ErrorMetadata::builder()
                .code("NoSuchBucket")
                .message("The specified bucket does not exist")
                .build(),
        )
    });
    let ok = with_s3(&put).await.ok();
    assert!(!ok.stored);
    assert!(ok.warnings[0].contains("NoSuchBucket"), "{:?}", ok.warnings);
}

#[tokio::test]
async fn invalid_requests_never_reach_bedrock_or_s3() {
    let cases: Vec<(ApiGatewayV2httpRequest, i64, &str)> = vec![
        (
            fixture("get-code-generation.json"),
            405,
            "method_not_allowed",
        ),
        (fixture("put-wrong-route.json"), 404, "not_found"),
        (fixture("put-no-body.json"), 400, "missing_body"),
        (
            fixture("put-wrong-content-type.json"),
            415,
            "unsupported_media_type",
        ),
        (with_body("{not json"), 400, "invalid_json"),
        (with_body("[1]"), 400, "invalid_json"),
        (with_body(r#"{"key":"py"}"#), 400, "missing_message"),
        (
            with_body(r#"{"message":"","key":"py"}"#),
            400,
            "invalid_message",
        ),
        (with_body(r#"{"message":"m"}"#), 400, "missing_language"),
        (
            with_body(r#"{"message":"m","key":"cobol"}"#),
            400,
            "unsupported_language",
        ),
        (
            with_body(r#"{"message":"m","key":"py","top_k":0}"#),
            400,
            "invalid_parameter",
        ),
        (
            with_body(r#"{"message":"m","key":"py","extra":1}"#),
            400,
            "unknown_field",
        ),
        (
            with_body(r#"{"message":"m","message":"n","key":"py"}"#),
            400,
            "invalid_json",
        ),
        (
            with_body(&format!(
                r#"{{"message":"{}","key":"py"}}"#,
                "a".repeat(9000)
            )),
            413,
            "message_too_large",
        ),
        (with_body(&"x".repeat(70_000)), 413, "payload_too_large"),
        (
            {
                let mut ev = fixture("put-code-generation-base64.json");
                ev.body = Some("%%%".to_owned());
                ev
            },
            400,
            "invalid_encoding",
        ),
    ];
    for (event, status, code) in cases {
        let out = run(replying(), event, &config(SONNET_45)).await;
        out.answer.err(status, code);
        assert_eq!(out.converse.num_calls(), 0, "{code}: no Bedrock call");
        assert_eq!(out.put.num_calls(), 0, "{code}: no S3 call");
        if status == 405 {
            assert_eq!(out.answer.headers["allow"], "PUT");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What real Bedrock answers that the emulator's mock never does (model catalogue issue).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn overloaded_529_is_503_with_retry_after() {
    // Anthropic's `overloaded_error` (HTTP 529) has no Bedrock exception type: the SDK sees an
    // unmodeled error, and the status is what tells.
    let answer = bedrock_failure(bedrock_http_error(
        529,
        None,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    ))
    .await;
    let e = answer.err(503, "model_unavailable");
    assert!(
        e.error.message.contains("overloaded"),
        "{}",
        e.error.message
    );
    assert_eq!(answer.retry_after(), Some("10"));
}

#[tokio::test]
async fn agreement_being_created_is_503_retry_later_not_model_access() {
    // "MPAgreementBeingCreated": 403 while the account's Marketplace subscription is processed;
    // it clears within minutes.
    let answer = bedrock_failure(bedrock_http_error(
        403,
        Some("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        r#"{"message":"MPAgreementBeingCreated: Your account is not authorized to access this model because your AWS Marketplace subscription for the model is still being processed."}"#,
    ))
    .await;
    let e = answer.err(503, "model_unavailable");
    assert!(
        e.error.message.contains("Marketplace"),
        "{}",
        e.error.message
    );
    assert_eq!(answer.retry_after(), Some("60"));
}

/// A body asking for more output tokens than the known models allow.
const MAX_TOKENS_8000: &str = r#"{"message":"palindrome","key":"py","max_tokens":8000}"#;

#[tokio::test]
async fn bedrock_max_tokens_validation_is_400_invalid_parameter() {
    // For a model the catalogue does not know, Bedrock itself refuses the limit.
    let rule = bedrock_http_error(
        400,
        Some("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        r#"{"message":"The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096."}"#,
    );
    let out = run(
        rule,
        with_body(MAX_TOKENS_8000),
        &config("anthropic.claude-mystery-1"),
    )
    .await;
    let e = out.answer.err(400, "invalid_parameter");
    assert!(e.error.message.contains("4096"), "{}", e.error.message);
    assert_eq!(out.put.num_calls(), 0);
}

#[tokio::test]
async fn max_tokens_above_a_known_limit_is_400_before_any_model_call() {
    let out = run(replying(), with_body(MAX_TOKENS_8000), &config(HAIKU_3)).await;
    let e = out.answer.err(400, "invalid_parameter");
    assert!(
        e.error.message.contains("8000") && e.error.message.contains("4096"),
        "{}",
        e.error.message
    );
    assert_eq!((out.converse.num_calls(), out.put.num_calls()), (0, 0));
}

#[tokio::test]
async fn refusal_is_422_and_nothing_is_stored() {
    let converse = answering("I can't help with that.", StopReason::from("refusal"));
    let out = run(converse, palindrome(), &config(SONNET_46)).await;
    let e = out.answer.err(422, "model_refused");
    assert!(e.error.message.contains("refusal"), "{}", e.error.message);
    assert_eq!(out.put.num_calls(), 0);
}

#[tokio::test]
async fn fixed_sampling_models_get_no_sampling_parameter_and_the_response_says_so() {
    let converse_seen = ConverseSeen::default();
    let event = with_body(r#"{"message":"palindrome","key":"py","temperature":0.2,"top_k":5}"#);
    let out = run(
        converse_ok(REPLY, converse_seen.clone()),
        event,
        &config(OPUS_47),
    )
    .await;
    let ok = out.answer.ok();
    let input = last_input(&converse_seen);
    let inference = input.inference_config().expect("inference config");
    assert_eq!((inference.temperature(), inference.top_p()), (None, None));
    assert_eq!(inference.max_tokens(), Some(2048));
    assert!(input.additional_model_request_fields().is_none());
    assert_eq!(ok.sampling.temperature, None);
    assert_eq!(ok.sampling.top_k, None);
    assert_eq!(ok.sampling.max_tokens, 2048);
    assert_eq!(ok.warnings.len(), 2, "{:?}", ok.warnings);
    assert_any_warning(&ok.warnings, |w| w.starts_with("temperature was not sent"));
    assert_any_warning(&ok.warnings, |w| w.starts_with("top_k was not sent"));
}

#[tokio::test]
async fn the_response_reports_what_was_sent() {
    let ok = run(replying(), palindrome(), &config(SONNET_46))
        .await
        .answer
        .ok();
    assert_eq!(ok.sampling.temperature, Some(0.1));
    assert_eq!(ok.sampling.top_p, None);
    assert_eq!(ok.sampling.top_k, Some(250));
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
}

// ---------------------------------------------------------------------------------------------
// Syntax check and repair (issue #16).
// ---------------------------------------------------------------------------------------------

const BROKEN_REPLY: &str =
    "Here it is:\n\n```python\ndef is_palindrome(s: str) -> bool:\n    return s == s[::-1\n```\n";
const BROKEN_CODE: &str = "def is_palindrome(s: str) -> bool:\n    return s == s[::-1\n";
const FIXED_REPLY: &str =
    "```python\ndef is_palindrome(s: str) -> bool:\n    return s == s[::-1]\n```";
const FIXED_CODE: &str = "def is_palindrome(s: str) -> bool:\n    return s == s[::-1]\n";

/// The stage configuration with Claude Sonnet 4.6 and the repair setting `repair`.
fn config_with_repair(repair: &str) -> Config {
    common::config(&[(env::MODEL_ID, SONNET_46), (env::REPAIR, repair)])
}

/// What Converse answers, in order: a reply (text, stop reason) or an error.
type Replies = Vec<Result<(&'static str, StopReason), ConverseError>>;

/// Every input a Converse rule saw, in order.
type Inputs = Arc<Mutex<Vec<ConverseInput>>>;

/// A Converse mock answering `replies` in order (the last one again after that), recording every
/// input it saw.
fn converse_replies(replies: Replies, seen: Inputs) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_compute_response(move |input| {
        let mut seen = seen.lock().expect("lock");
        seen.push(input.clone());
        let i = (seen.len() - 1).min(replies.len() - 1);
        match &replies[i] {
            Ok((text, stop)) => MockResponse::Output(converse_output(text, stop.clone())),
            Err(_) => MockResponse::Error(ConverseError::ThrottlingException(
                ThrottlingException::builder().message("slow down").build(),
            )),
        }
    })
}

/// The palindrome request on the synchronous route under the stage setting `repair`, with
/// Converse answering `replies` in order: what the syntax and repair tests look at (the outcome
/// and every Converse input).
async fn run_with_replies(replies: Replies, repair: &str) -> (Outcome, Inputs) {
    let seen = Inputs::default();
    let converse = converse_replies(replies, seen.clone());
    let out = run(converse, palindrome(), &config_with_repair(repair)).await;
    (out, seen)
}

/// The role and text of message `i` of a Converse input.
fn text_of(input: &ConverseInput, i: usize) -> (ConversationRole, String) {
    let m = &input.messages()[i];
    let Some(ContentBlock::Text(t)) = m.content().first() else {
        panic!("message {i} has no text");
    };
    (m.role().clone(), t.clone())
}

#[tokio::test]
async fn valid_code_is_reported_ok_and_the_object_says_so() {
    let (out, _) = run_with_replies(vec![Ok((REPLY, StopReason::EndTurn))], "once").await;
    let ok = out.answer.ok();
    assert!(ok.syntax.is_ok(), "{:?}", ok.syntax);
    assert_eq!(ok.repair, None, "nothing to repair");
    assert_eq!(out.converse.num_calls(), 1);
    assert_eq!(
        out.answer.json["syntax"],
        serde_json::json!({"checked": true, "ok": true, "error_count": 0, "errors": []})
    );
    assert!(
        out.answer.json.get("repair").is_none(),
        "{}",
        out.answer.json
    );
    let stored = out.stored();
    assert_eq!(stored.meta("syntax"), Some("ok"));
    assert_eq!(stored.meta("syntax-errors"), Some("0"));
    assert!(!stored.metadata.contains_key("repair"));
}

#[tokio::test]
async fn with_repair_off_broken_code_is_stored_and_returned_with_its_diagnostics() {
    let (out, _) = run_with_replies(vec![Ok((BROKEN_REPLY, StopReason::EndTurn))], "off").await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 1, "no second model call");
    assert_eq!(ok.code, BROKEN_CODE);
    assert!(ok.syntax.has_errors(), "{:?}", ok.syntax);
    let first = ok.syntax.first_error().expect("an error");
    assert_eq!(first.line, 2, "{first:?}");
    assert!(first.message.contains('['), "{first:?}");
    let repair = ok.repair.expect("a repair report");
    assert!(!repair.attempted && !repair.applied);
    assert_eq!(
        repair.reason.as_deref(),
        Some("repair is off for this stage")
    );
    assert_eq!(repair.usage, None);
    assert_eq!(
        (ok.usage.input_tokens, ok.usage.output_tokens),
        (120, 45),
        "one call's usage"
    );
    assert_eq!(ok.warnings.len(), 1, "{:?}", ok.warnings);
    assert!(
        ok.warnings[0].starts_with(
            "the code does not parse as Python 3: 1 syntax error, the first at line 2"
        ),
        "{:?}",
        ok.warnings
    );
    let put_in = out.stored();
    assert_eq!(
        put_in.body,
        BROKEN_CODE.as_bytes(),
        "the broken code is stored"
    );
    assert_eq!(put_in.meta("syntax"), Some("errors"));
    assert!(
        put_in
            .meta("syntax-first-error")
            .is_some_and(|v| v.starts_with("2:")),
        "{:?}",
        put_in.metadata
    );
    assert_eq!(put_in.meta("repair"), Some("not-attempted"));
}

#[tokio::test]
async fn one_repair_turns_broken_code_into_the_stored_fixed_code() {
    let (out, seen) = run_with_replies(
        vec![
            Ok((BROKEN_REPLY, StopReason::EndTurn)),
            Ok((FIXED_REPLY, StopReason::EndTurn)),
        ],
        "once",
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 2, "exactly one extra model call");
    assert_eq!(ok.code, FIXED_CODE);
    assert!(ok.syntax.is_ok(), "{:?}", ok.syntax);
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
    let repair = ok.repair.expect("a repair report");
    assert!(repair.attempted && repair.applied, "{repair:?}");
    assert_eq!((repair.errors_before, repair.errors_after), (1, Some(0)));
    let repair_usage = repair.usage.expect("the repair's usage");
    assert_eq!(repair_usage.total_tokens, 165);
    assert_eq!(
        (
            ok.usage.input_tokens,
            ok.usage.output_tokens,
            ok.usage.total_tokens
        ),
        (240, 90, 330),
        "usage counts both calls"
    );
    // Both calls are paid for; each is priced on its own and rounded once (see
    // `success_generates_stores_and_answers` for the hand computation of one call: 1139 µ$).
    assert_eq!(ok.cost.as_ref().map(|c| c.micro_usd), Some(2 * 1139));
    assert_eq!(out.answer.json["repair"]["applied"], true);
    assert_eq!(out.answer.json["repair"]["usage"]["total_tokens"], 165);

    // The follow-up: the original prompt, the model's own answer, then the diagnostics.
    let inputs = seen.lock().expect("lock").clone();
    let follow_up = &inputs[1];
    assert_eq!(follow_up.messages().len(), 3);
    let (r0, t0) = text_of(follow_up, 0);
    let (r1, t1) = text_of(follow_up, 1);
    let (r2, t2) = text_of(follow_up, 2);
    assert_eq!(
        (r0, r1, r2),
        (
            ConversationRole::User,
            ConversationRole::Assistant,
            ConversationRole::User
        )
    );
    assert_eq!(t0, text_of(&inputs[0], 0).1, "the same first turn");
    assert_eq!(t1, BROKEN_REPLY);
    assert!(t2.contains("does not parse as Python 3"), "{t2}");
    assert!(t2.contains("- line 2, column "), "{t2}");
    assert!(t2.contains("```python"), "{t2}");
    // Same model, same sampling.
    assert_eq!(follow_up.model_id(), Some(SONNET_46));
    assert_eq!(
        follow_up.inference_config().and_then(|c| c.max_tokens()),
        Some(2048)
    );

    let put_in = out.stored();
    assert_eq!(out.put.num_calls(), 1);
    assert_eq!(
        put_in.body,
        FIXED_CODE.as_bytes(),
        "the fixed code is stored"
    );
    assert_eq!(put_in.meta("syntax"), Some("ok"));
    assert_eq!(put_in.meta("repair"), Some("applied"));
}

#[tokio::test]
async fn a_repair_that_is_not_better_is_not_kept() {
    // The follow-up is worse (two errors): the first answer stays, and the caller is told.
    let worse = "```python\ndef is_palindrome(s: str) -> bool:\n    return s == = s[::-1\n```";
    let (out, _) = run_with_replies(
        vec![
            Ok((BROKEN_REPLY, StopReason::EndTurn)),
            Ok((worse, StopReason::EndTurn)),
        ],
        "once",
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 2);
    assert_eq!(ok.code, BROKEN_CODE);
    let repair = ok.repair.expect("report");
    assert!(repair.attempted && !repair.applied, "{repair:?}");
    assert!(repair.errors_after.is_some_and(|n| n >= 1), "{repair:?}");
    assert_eq!(ok.usage.total_tokens, 330, "the follow-up was paid for");
    assert_any_warning(&ok.warnings, |w| {
        w.starts_with("one repair was attempted and not kept")
    });
    let put_in = out.stored();
    assert_eq!(put_in.body, BROKEN_CODE.as_bytes());
    assert_eq!(put_in.meta("repair"), Some("not-kept"));
}

#[tokio::test]
async fn a_failed_repair_call_keeps_the_first_answer() {
    let (out, _) = run_with_replies(
        vec![
            Ok((BROKEN_REPLY, StopReason::EndTurn)),
            Err(ConverseError::unhandled("throttled")),
        ],
        "once",
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 2);
    assert_eq!(ok.code, BROKEN_CODE);
    assert!(ok.stored);
    let repair = ok.repair.expect("report");
    assert!(repair.attempted && !repair.applied);
    assert_reason_contains(&repair, "throttled");
    assert_eq!(ok.usage.total_tokens, 165, "a failed call costs no tokens");
}

#[tokio::test]
async fn a_cut_answer_is_not_repaired() {
    let (out, _) = run_with_replies(
        vec![
            Ok(("```python\ndef f(:\n", StopReason::MaxTokens)),
            Ok((FIXED_REPLY, StopReason::EndTurn)),
        ],
        "once",
    )
    .await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 1);
    let repair = ok.repair.expect("report");
    assert!(!repair.attempted);
    assert_reason_contains(&repair, "max_tokens");
    assert_any_warning(&ok.warnings, |w| w.contains("does not parse"));
    assert_any_warning(&ok.warnings, |w| w.contains("stopped at max_tokens"));
}

#[tokio::test]
async fn no_repair_when_the_route_has_no_time_left() {
    // The invocation ends in 3.4 s: less than the S3 write's 3 s budget and the margin leave for
    // a second model call, however fast the first one was.
    let converse = converse_replies(
        vec![
            Ok((BROKEN_REPLY, StopReason::EndTurn)),
            Ok((FIXED_REPLY, StopReason::EndTurn)),
        ],
        Inputs::default(),
    );
    let put = put_ok(Puts::default());
    let (bedrock, s3) = (bedrock_client(&[&converse]), s3_client(&[&put]));
    let cfg = config_with_repair("once");
    let mut context = common::context();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    context.deadline = u64::try_from(now_ms).expect("ms") + 3_400;
    let (_, json) =
        common::call_in(&common::deps(&bedrock, &s3, &cfg), palindrome(), context).await;
    let ok: GenerateResponse = serde_json::from_value(json).expect("success body");
    assert_eq!(
        converse.num_calls(),
        1,
        "no second call without time for it"
    );
    let repair = ok.repair.expect("report");
    assert!(!repair.attempted);
    assert_reason_contains(&repair, "not enough time");
    assert_any_warning(&ok.warnings, |w| w.starts_with("no repair was attempted"));
}

#[tokio::test]
async fn languages_without_a_grammar_are_not_checked_nor_repaired() {
    let converse = answering("```kotlin\nfun main( {\n```", StopReason::EndTurn);
    let event = with_body(r#"{"message":"hello","key":"kotlin"}"#);
    let out = run(converse, event, &config_with_repair("once")).await;
    let ok = out.answer.ok();
    assert_eq!(out.converse.num_calls(), 1);
    assert!(!ok.syntax.checked && ok.repair.is_none());
    assert_eq!(out.answer.json["syntax"]["checked"], false);
    assert!(out.answer.json["syntax"].get("ok").is_none());
    assert_eq!(out.stored().meta("syntax"), Some("unchecked"));
}
