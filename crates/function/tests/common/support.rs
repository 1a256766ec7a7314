//! Shared by the handler test binaries (`handler.rs`, `hostile.rs`): the pinned clock and request
//! id, a Converse reply, and one call through the handler with its JSON body decoded.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, Message, StopReason, TokenUsage,
};
use codegen_function::{Deps, handle};
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

/// Runs `event` through the handler with `deps` and the fixed request id; returns the response and
/// its body parsed as JSON.
#[allow(dead_code)] // Not every test binary that includes this module uses it.
pub async fn call_with(
    deps: &Deps<'_>,
    event: ApiGatewayV2httpRequest,
) -> (ApiGatewayV2httpResponse, serde_json::Value) {
    let mut context = Context::default();
    context.request_id = REQUEST_ID.to_owned();
    let resp: ApiGatewayV2httpResponse = handle(deps, LambdaEvent::new(event, context))
        .await
        .expect("the handler answers every expected failure with Ok");
    let json = match &resp.body {
        Some(Body::Text(t)) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (resp, json)
}

/// Runs `event` through the handler with the fixed clock and request id; returns the response
/// and its body parsed as JSON.
#[allow(dead_code)] // Not every test binary that includes this module uses it.
pub async fn call(
    bedrock: &aws_sdk_bedrockruntime::Client,
    s3: &aws_sdk_s3::Client,
    config: &codegen_function::Config,
    event: ApiGatewayV2httpRequest,
) -> (ApiGatewayV2httpResponse, serde_json::Value) {
    let deps = Deps {
        bedrock,
        s3,
        sqs: None,
        config,
        clock: fixed_clock,
    };
    call_with(&deps, event).await
}
