//! Shared by the function's test binaries (`handler.rs`, `hostile.rs`, `jobs.rs`): the pinned
//! clock and request id, the test configuration, API Gateway fixtures, Bedrock and S3 clients
//! mocked with `aws-smithy-mocks` and the rules they answer with, and one call through the handler
//! with the answer's invariants (JSON, the build header) checked in one place.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses the part it needs"
)]

use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::error::{
    AccessDeniedException, ModelTimeoutException, ResourceNotFoundException,
    ServiceUnavailableException, ThrottlingException, ValidationException,
};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, Message, StopReason, TokenUsage,
};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::retry::RetryConfig;
use codegen_contract::{BUILD_HEADER, ErrorResponse, GenerateResponse, env};
use codegen_function::{BUILD_LABEL, Config, Deps, handle};
use lambda_runtime::{Context, LambdaEvent};
use time::OffsetDateTime;
use time::macros::datetime;

/// Bucket the test configurations write to.
pub const BUCKET: &str = "codegen-test-bucket";
/// Lambda request id of every test invocation (part of the object key).
pub const REQUEST_ID: &str = "8f5a7c1e-0b8e-4d3f-9a6b-2f1c0d9e8a7b";

/// The clock every test handler sees.
pub fn fixed_clock() -> OffsetDateTime {
    datetime!(2026-11-25 16:30:12.123 UTC)
}

/// The configuration the template would set: the test bucket plus `vars` (name, value).
pub fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        if name == env::BUCKET {
            return Some(BUCKET.to_owned());
        }
        vars.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .expect("valid config")
}

/// The API Gateway v2 event in `tests/fixtures/apigw/<name>`.
pub fn fixture(name: &str) -> ApiGatewayV2httpRequest {
    let path = format!(
        "{}/../../tests/fixtures/apigw/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Mocked clients and the rules they answer with.
// ---------------------------------------------------------------------------------------------

/// A Bedrock Runtime client answered by `rules`, without retries.
pub fn bedrock_client(rules: &[&Rule]) -> aws_sdk_bedrockruntime::Client {
    mock_client!(aws_sdk_bedrockruntime, RuleMode::MatchAny, rules, |b| b
        .retry_config(RetryConfig::disabled()))
}

/// An S3 client answered by `rules`, without retries.
pub fn s3_client(rules: &[&Rule]) -> aws_sdk_s3::Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |b| b
        .retry_config(RetryConfig::disabled())
        .force_path_style(true))
}

/// A Converse answer with `text` as the assistant's reply.
pub fn converse_output(text: &str, stop: StopReason) -> ConverseOutput {
    let message = Message::builder()
        .role(ConversationRole::Assistant)
        .content(ContentBlock::Text(text.to_owned()))
        .build()
        .expect("message");
    ConverseOutput::builder()
        .output(aws_sdk_bedrockruntime::types::ConverseOutput::Message(
            message,
        ))
        .stop_reason(stop)
        .usage(
            TokenUsage::builder()
                .input_tokens(120)
                .output_tokens(45)
                .total_tokens(165)
                .build()
                .expect("usage"),
        )
        .build()
        .expect("output")
}

/// A Converse rule that always answers `text`, stopping for `stop`.
pub fn answering(text: impl Into<String>, stop: StopReason) -> Rule {
    let text = text.into();
    mock!(aws_sdk_bedrockruntime::Client::converse)
        .then_output(move || converse_output(&text, stop.clone()))
}

/// A Converse rule that always fails with the error `make` builds.
pub fn converse_error(make: impl Fn() -> ConverseError + Send + Sync + 'static) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_error(make)
}

/// A Converse rule failing with `ThrottlingException` (`message`).
pub fn throttling_exception(message: &'static str) -> Rule {
    converse_error(move || {
        ConverseError::ThrottlingException(ThrottlingException::builder().message(message).build())
    })
}

/// A Converse rule failing with `ValidationException` (`message`).
pub fn validation_exception(message: &'static str) -> Rule {
    converse_error(move || {
        ConverseError::ValidationException(ValidationException::builder().message(message).build())
    })
}

/// A Converse rule failing with `AccessDeniedException` (`message`).
pub fn access_denied_exception(message: &'static str) -> Rule {
    converse_error(move || {
        ConverseError::AccessDeniedException(
            AccessDeniedException::builder().message(message).build(),
        )
    })
}

/// A Converse rule failing with `ResourceNotFoundException` (`message`).
pub fn resource_not_found_exception(message: &'static str) -> Rule {
    converse_error(move || {
        ConverseError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message(message)
                .build(),
        )
    })
}

/// A Converse rule failing with `ServiceUnavailableException` (`message`).
pub fn service_unavailable_exception(message: &'static str) -> Rule {
    converse_error(move || {
        ConverseError::ServiceUnavailableException(
            ServiceUnavailableException::builder()
                .message(message)
                .build(),
        )
    })
}

/// A Converse rule failing with `ModelTimeoutException` (no message).
pub fn model_timeout_exception() -> Rule {
    converse_error(|| {
        ConverseError::ModelTimeoutException(ModelTimeoutException::builder().build())
    })
}

/// What the S3 mock saw of one `PutObject`.
#[derive(Debug, Clone, Default)]
pub struct PutSeen {
    /// Bucket written to.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `Content-Type` of the object.
    pub content_type: String,
    /// User metadata (`x-amz-meta-*`).
    pub metadata: std::collections::HashMap<String, String>,
    /// The object's bytes.
    pub body: Vec<u8>,
}

impl PutSeen {
    /// One user metadata value.
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).map(String::as_str)
    }
}

/// Every `PutObject` the S3 mock accepted, in order.
pub type Puts = Arc<Mutex<Vec<PutSeen>>>;

/// An S3 rule that accepts every `PutObject` and records it in `seen`.
pub fn put_ok(seen: Puts) -> Rule {
    mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |input| {
        seen.lock().expect("lock").push(PutSeen {
            bucket: input.bucket().unwrap_or_default().to_owned(),
            key: input.key().unwrap_or_default().to_owned(),
            content_type: input.content_type().unwrap_or_default().to_owned(),
            metadata: input.metadata().cloned().unwrap_or_default(),
            body: input.body().bytes().unwrap_or_default().to_vec(),
        });
        PutObjectOutput::builder().e_tag("\"etag\"").build()
    })
}

// ---------------------------------------------------------------------------------------------
// Calls through the handler.
// ---------------------------------------------------------------------------------------------

/// The dependencies of a synchronous-route call: no queue, the fixed clock.
pub fn deps<'a>(
    bedrock: &'a aws_sdk_bedrockruntime::Client,
    s3: &'a aws_sdk_s3::Client,
    config: &'a Config,
) -> Deps<'a> {
    Deps {
        bedrock,
        s3,
        sqs: None,
        dynamodb: None,
        config,
        clock: fixed_clock,
    }
}

/// The Lambda context of a test invocation: the fixed request id, no deadline.
pub fn context() -> Context {
    let mut context = Context::default();
    context.request_id = REQUEST_ID.to_owned();
    context
}

/// Runs `event` through the handler with `deps` and `context`; returns the response and its body
/// parsed as JSON.
pub async fn call_in(
    deps: &Deps<'_>,
    event: ApiGatewayV2httpRequest,
    context: Context,
) -> (ApiGatewayV2httpResponse, serde_json::Value) {
    let resp: ApiGatewayV2httpResponse = handle(deps, LambdaEvent::new(event, context))
        .await
        .expect("the handler answers every expected failure with Ok");
    let json = match &resp.body {
        Some(Body::Text(t)) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (resp, json)
}

/// Runs `event` through the handler with `deps` and the fixed request id; returns the response and
/// its body parsed as JSON.
pub async fn call_with(
    deps: &Deps<'_>,
    event: ApiGatewayV2httpRequest,
) -> (ApiGatewayV2httpResponse, serde_json::Value) {
    call_in(deps, event, context()).await
}

/// The handler's answer to one request on the synchronous route.
pub struct Answer {
    /// HTTP status.
    pub status: i64,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body, parsed as JSON.
    pub json: serde_json::Value,
}

impl Answer {
    /// The success body; fails unless the status is 200.
    #[track_caller]
    pub fn ok(&self) -> GenerateResponse {
        assert_eq!(self.status, 200, "{}", self.json);
        serde_json::from_value(self.json.clone()).expect("GenerateResponse")
    }

    /// The error body; fails unless it has `status` and the stable error `code`.
    #[track_caller]
    pub fn err(&self, status: i64, code: &str) -> ErrorResponse {
        assert_eq!(self.status, status, "{}", self.json);
        let e: ErrorResponse = serde_json::from_value(self.json.clone()).expect("ErrorResponse");
        assert_eq!(e.error.code, code, "{}", e.error.message);
        e
    }

    /// The `Retry-After` header, if any.
    pub fn retry_after(&self) -> Option<&str> {
        self.headers
            .get("retry-after")
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

/// Runs `event` through the handler with these clients and the fixed clock and request id. Every
/// answer is JSON and names the build.
pub async fn invoke(
    event: ApiGatewayV2httpRequest,
    bedrock: &aws_sdk_bedrockruntime::Client,
    s3: &aws_sdk_s3::Client,
    config: &Config,
) -> Answer {
    let (resp, json) = call_with(&deps(bedrock, s3, config), event).await;
    assert_eq!(resp.headers["content-type"], "application/json");
    assert_eq!(resp.headers[BUILD_HEADER], BUILD_LABEL);
    Answer {
        status: resp.status_code,
        headers: resp.headers,
        json,
    }
}

/// One request through the handler with Converse answering by a given rule and S3 accepting every
/// object: the answer, both rules (for their call counts) and the objects stored.
pub struct Outcome {
    /// What the caller got.
    pub answer: Answer,
    /// The Converse rule the request ran against.
    pub converse: Rule,
    /// The S3 rule (accepts every `PutObject`).
    pub put: Rule,
    /// Every object S3 was asked to store.
    pub puts: Puts,
}

impl Outcome {
    /// The last object S3 was asked to store; fails if there was none.
    pub fn stored(&self) -> PutSeen {
        self.puts
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("PutObject called")
    }

    /// The keys of every object S3 was asked to store.
    pub fn stored_keys(&self) -> Vec<String> {
        let puts = self.puts.lock().expect("lock");
        puts.iter().map(|p| p.key.clone()).collect()
    }
}

/// Runs `event` through the handler under `config`, with Converse answering by `converse` and S3
/// accepting and recording every object.
pub async fn run(converse: Rule, event: ApiGatewayV2httpRequest, config: &Config) -> Outcome {
    let puts = Puts::default();
    let put = put_ok(puts.clone());
    let answer = invoke(
        event,
        &bedrock_client(&[&converse]),
        &s3_client(&[&put]),
        config,
    )
    .await;
    assert_eq!(put.num_calls(), puts.lock().expect("lock").len());
    Outcome {
        answer,
        converse,
        put,
        puts,
    }
}
