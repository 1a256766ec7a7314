//! Code generation with Amazon Bedrock through the Converse API (IO), and the classification of
//! Bedrock failures into caller-facing errors (pure).

use std::collections::HashMap;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata as _;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, StopReason, SystemContentBlock,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::{Document, Number};
use codegen_contract::{ErrorCode, Usage};
use tracing::Instrument;

use crate::error::ApiError;
use crate::prompt::Prompt;
use crate::sampling::Plan;

/// Seconds a throttled caller is asked to wait.
pub const THROTTLED_RETRY_AFTER_SECS: u32 = 5;
/// Seconds a caller is asked to wait when the model is temporarily unavailable or overloaded.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 10;
/// Seconds a caller is asked to wait while the account's model agreement is being created.
pub const AGREEMENT_RETRY_AFTER_SECS: u32 = 60;

/// A model reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The text content of the reply (text blocks joined by newlines). Reasoning blocks never
    /// reach it: only `text` blocks are read.
    pub text: String,
    /// The reply's reasoning blocks, verbatim, in order: passed back unmodified when the
    /// conversation continues (a repair), never shown, stored or logged.
    pub reasoning: Vec<ContentBlock>,
    /// Token usage.
    pub usage: Usage,
    /// Why the model stopped.
    pub stop_reason: StopReason,
}

/// Why Bedrock did not produce a reply, one variant per thing the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Throttled or over quota: retry later.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Temporarily unavailable (model not ready, service unavailable, internal error): retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The model is overloaded (Anthropic's `overloaded_error`, HTTP 529): retry later.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// The account's Marketplace agreement for the model is still being created (first use of
    /// the model); it clears within minutes.
    #[error("agreement pending: {0}")]
    AgreementPending(String),
    /// The model id is wrong, or the account/role may not use it in this region.
    #[error("model access: {0}")]
    Access(String),
    /// The account may not use this model until it changes a setting (the data-retention mode
    /// Fable and Mythos require) or because the model is Legacy and the account has not used it
    /// recently.
    #[error("not for this account: {0}")]
    NotForThisAccount(String),
    /// Bedrock refused a parameter value the caller chose (max_tokens above the model's limit).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Bedrock rejected the request for a reason that is not about model access.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The model failed while processing.
    #[error("model failed: {0}")]
    Failed(String),
    /// No answer within the time budget.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The function built an invalid request: a bug.
    #[error("internal: {0}")]
    Internal(String),
}

impl ModelError {
    /// The caller-facing error. `region` and `model_id` make the access message actionable; AWS's
    /// own message is logged, not returned (it can contain account ids and role ARNs).
    pub fn to_api_error(&self, model_id: &str, region: &str) -> ApiError {
        match self {
            Self::Throttled(_) => ApiError::new(
                ErrorCode::Throttled,
                "Bedrock is throttling requests for this model: retry after the Retry-After delay",
            )
            .retry_after(THROTTLED_RETRY_AFTER_SECS),
            Self::Unavailable(_) => ApiError::new(
                ErrorCode::ModelUnavailable,
                "the model is temporarily unavailable: retry after the Retry-After delay",
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER_SECS),
            Self::Overloaded(_) => ApiError::new(
                ErrorCode::ModelUnavailable,
                "the model is overloaded right now: retry after the Retry-After delay",
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER_SECS),
            Self::AgreementPending(_) => ApiError::new(
                ErrorCode::ModelUnavailable,
                format!(
                    "the AWS Marketplace agreement for model `{model_id}` is still being created for \
                     this account (first use of the model); it usually completes within minutes: \
                     retry after the Retry-After delay"
                ),
            )
            .retry_after(AGREEMENT_RETRY_AFTER_SECS),
            Self::Access(_) => ApiError::new(ErrorCode::ModelAccess, access_remedy(model_id, region)),
            Self::NotForThisAccount(detail) => ApiError::new(
                ErrorCode::ModelAccess,
                account_remedy(model_id, region, detail),
            ),
            Self::InvalidParameter(detail) => ApiError::new(
                ErrorCode::InvalidParameter,
                format!("Bedrock rejected a parameter: {}", truncate(detail, 300)),
            ),
            Self::Rejected(detail) => ApiError::new(
                ErrorCode::ModelError,
                format!("Bedrock rejected the request: {}", truncate(detail, 300)),
            ),
            Self::Failed(_) => ApiError::new(
                ErrorCode::ModelError,
                "the model failed while generating: try again, or rephrase the message",
            ),
            Self::Timeout(_) => ApiError::new(ErrorCode::ModelTimeout, TIMEOUT_REMEDY),
            Self::Internal(_) => ApiError::new(
                ErrorCode::Internal,
                "the function could not build the model request; this is a bug",
            ),
        }
    }
}

/// What a caller can do about a timeout. API Gateway HTTP APIs end every integration at 30 s, and
/// Claude writes roughly 40-60 output tokens per second, so about 1,200 tokens is what fits.
pub const TIMEOUT_REMEDY: &str = "the model did not answer within the synchronous route's time \
    budget (API Gateway allows 30 s; at typical model speeds that is about 1,200 output tokens): \
    lower max_tokens or ask for less code, or submit long generations to the asynchronous route \
    POST /code-generation/jobs";

/// What to check when Bedrock refuses the model. Model access on Bedrock is automatic since AWS
/// retired the "Model access" page; what remains per account is Anthropic's one-time use-case form
/// and the AWS Marketplace agreement that the first call creates (the caller needs
/// `aws-marketplace:Subscribe` for that).
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html>
pub fn access_remedy(model_id: &str, region: &str) -> String {
    format!(
        "Bedrock refused model `{model_id}` in region {region}. Check that CODEGEN_MODEL_ID is a \
         model or inference profile offered in {region}; that the account has submitted \
         Anthropic's one-time use-case form (Bedrock console, model catalog) and has the model's \
         AWS Marketplace agreement (created on the first call by a principal allowed \
         aws-marketplace:Subscribe, `cargo xtask deploy` checks it); and that the \
         function's role may call bedrock:InvokeModel on the inference profile and the foundation \
         models it routes to"
    )
}

/// What to do when Bedrock serves the model, but not to this account yet. The data-retention
/// refusal reads "data retention mode 'default' is not available for this model" (Bedrock "Data
/// retention", <https://docs.aws.amazon.com/bedrock/latest/userguide/data-retention.html>); the
/// Legacy one names the model as "marked by provider as Legacy" (Bedrock "Model lifecycle",
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html>), both checked
/// 2026-12-07.
pub fn account_remedy(model_id: &str, region: &str, detail: &str) -> String {
    if detail.to_ascii_lowercase().contains("data retention") {
        format!(
            "Bedrock serves model `{model_id}` in {region} only to accounts whose data-retention \
             mode lets the provider retain and share inference data: set it to \
             provider_data_share (PutAccountDataRetention) if that is acceptable, or choose \
             another model (docs/models.md)"
        )
    } else {
        format!(
            "Bedrock lists model `{model_id}` as Legacy and refuses it to accounts that have not \
             used it recently: choose a current model (docs/models.md)"
        )
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

/// HTTP status Anthropic uses for `overloaded_error`; Bedrock passes it through unmodeled.
pub const OVERLOADED_STATUS: u16 = 529;

/// Classifies a Converse failure by its typed variant (error code for errors the SDK version does
/// not model), and by HTTP status for the unmodeled 529 overloaded answer.
pub fn classify(err: &SdkError<ConverseError, HttpResponse>) -> ModelError {
    match err {
        SdkError::TimeoutError(_) => return ModelError::Timeout("operation timeout".to_owned()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            return ModelError::Timeout("connect or read timeout".to_owned());
        }
        SdkError::DispatchFailure(_) => {
            return ModelError::Unavailable("could not reach Bedrock".to_owned());
        }
        SdkError::ConstructionFailure(_) => {
            return ModelError::Internal("request construction failed".to_owned());
        }
        SdkError::ResponseError(_) => {
            return ModelError::Failed("unreadable response from Bedrock".to_owned());
        }
        _ => {}
    }
    let Some(service) = err.as_service_error() else {
        return ModelError::Failed("unknown SDK error".to_owned());
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    if status == Some(OVERLOADED_STATUS) {
        let message = message_of(service).unwrap_or_default();
        return ModelError::Overloaded(format!("HTTP {OVERLOADED_STATUS}: {message}"));
    }
    classify_service_error(service)
}

/// Classifies a modeled Converse service error.
pub fn classify_service_error(err: &ConverseError) -> ModelError {
    let message = message_of(err).unwrap_or_default();
    let detail = format!("{}: {message}", err.code().unwrap_or("Unknown"));
    let lower = message.to_ascii_lowercase();
    if lower.contains("mpagreementbeingcreated") || lower.contains("agreement is being created") {
        ModelError::AgreementPending(detail)
    } else if lower.contains("overloaded") {
        ModelError::Overloaded(detail)
    } else if err.is_throttling_exception() || err.code() == Some("ServiceQuotaExceededException") {
        ModelError::Throttled(detail)
    } else if err.is_model_not_ready_exception()
        || err.is_service_unavailable_exception()
        || err.is_internal_server_exception()
    {
        ModelError::Unavailable(detail)
    } else if lower.contains("marked by provider as legacy") || lower.contains("data retention") {
        // The Legacy refusal arrives as a ResourceNotFoundException ("Access denied. This Model
        // is marked by provider as Legacy and you have not been actively using the model in the
        // last 30 days. Please upgrade to an active model on Amazon Bedrock", as reported in
        // awslabs/llmeter#35 and fourTheorem/podwhisperer#24); the data-retention one as a
        // ValidationException.
        ModelError::NotForThisAccount(message.to_owned())
    } else if err.is_access_denied_exception() || err.is_resource_not_found_exception() {
        ModelError::Access(detail)
    } else if err.is_model_timeout_exception() {
        ModelError::Timeout(detail)
    } else if err.is_validation_exception() {
        if is_about_max_tokens(&lower) {
            ModelError::InvalidParameter(message.to_owned())
        } else if is_about_the_model(message) {
            ModelError::Access(detail)
        } else if message.is_empty() {
            ModelError::Rejected("validation failed".to_owned())
        } else {
            ModelError::Rejected(message.to_owned())
        }
    } else {
        ModelError::Failed(detail)
    }
}

/// Whether a ValidationException is about the output-token limit: Bedrock's "The maximum tokens
/// you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is
/// lower than 4096." (seen on Claude 3.5 Haiku and 3.5 Sonnet; AWS's troubleshooting page lists
/// ValidationException as 400, <https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html>),
/// or Anthropic's own `max_tokens: 8000 > 4096, ...`. The caller's value, so a 400.
fn is_about_max_tokens(lower_message: &str) -> bool {
    lower_message.contains("maximum tokens")
        || lower_message.contains("max_tokens")
        || lower_message.contains("maxtokens")
}

/// The service's message: the modeled field, else the error metadata.
fn message_of(err: &ConverseError) -> Option<&str> {
    let modeled = match err {
        ConverseError::AccessDeniedException(e) => e.message(),
        ConverseError::InternalServerException(e) => e.message(),
        ConverseError::ModelErrorException(e) => e.message(),
        ConverseError::ModelNotReadyException(e) => e.message(),
        ConverseError::ModelTimeoutException(e) => e.message(),
        ConverseError::ResourceNotFoundException(e) => e.message(),
        ConverseError::ServiceUnavailableException(e) => e.message(),
        ConverseError::ThrottlingException(e) => e.message(),
        ConverseError::ValidationException(e) => e.message(),
        _ => None,
    };
    modeled.or_else(|| err.message())
}

/// Whether a ValidationException is about the model id itself (wrong id, unsupported on-demand
/// invocation, no inference profile). Bedrock models all of these as one ValidationException, so
/// the message is the only signal.
fn is_about_the_model(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "model identifier",
        "model id",
        "inference profile",
        "on-demand throughput",
        "model is not supported",
        "doesn't support the model",
        "does not support the model",
        "access to the model",
        "end of its life",
        "legacy",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// The additional model request fields for a plan: `top_k` when it is sent, and the thinking
/// setting and effort in the model's own request-body form (`crate::thinking` says why there):
/// `{"top_k": N, "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}`.
pub fn additional_fields(plan: &Plan) -> Option<Document> {
    let mut fields = HashMap::new();
    if let Some(k) = plan.top_k {
        fields.insert(
            "top_k".to_owned(),
            Document::Number(Number::PosInt(u64::from(k))),
        );
    }
    if let Some(t) = plan.thinking {
        fields.insert(
            "thinking".to_owned(),
            Document::Object(HashMap::from([(
                "type".to_owned(),
                Document::String(t.as_str().to_owned()),
            )])),
        );
    }
    if let Some(e) = plan.effort {
        fields.insert(
            "output_config".to_owned(),
            Document::Object(HashMap::from([(
                "effort".to_owned(),
                Document::String(e.as_str().to_owned()),
            )])),
        );
    }
    (!fields.is_empty()).then_some(Document::Object(fields))
}

/// Splits a reply's content blocks into its text (text blocks joined by newlines) and its
/// reasoning blocks (kept verbatim for a follow-up turn). Anything else (a tool use, which the
/// function never asks for) is dropped.
pub fn split_reply(content: Vec<ContentBlock>) -> (String, Vec<ContentBlock>) {
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    for block in content {
        match block {
            ContentBlock::Text(t) => texts.push(t),
            b @ ContentBlock::ReasoningContent(_) => reasoning.push(b),
            _ => {}
        }
    }
    (texts.join("\n"), reasoning)
}

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The caller's side (the prompt, a follow-up).
    User,
    /// The model's earlier answer.
    Assistant,
}

/// One turn of a conversation sent to Converse.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// An assistant turn's reasoning blocks, sent before its text exactly as Bedrock returned
    /// them: "If you pass a reasoning block back to the API in a multi-turn conversation, include
    /// the text and its signature unmodified"
    /// (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ReasoningTextBlock.html>,
    /// checked 2026-12-07). Anthropic's models ignore earlier turns' thinking outside tool use
    /// ("The Anthropic API automatically ignores thinking blocks from previous turns",
    /// <https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html>),
    /// but the 5.5 models bind thinking blocks to the conversation that produced them, so an
    /// edited or re-ordered block is an error: they go back untouched or not at all.
    pub reasoning: Vec<ContentBlock>,
}

impl Turn {
    /// A turn of plain text.
    pub fn text(speaker: Speaker, text: impl Into<String>) -> Self {
        Self {
            speaker,
            text: text.into(),
            reasoning: Vec::new(),
        }
    }
}

/// Calls Converse with `prompt` and the planned sampling parameters.
pub async fn generate(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    prompt: &Prompt,
    plan: &Plan,
) -> Result<Generation, ModelError> {
    let turns = [Turn::text(Speaker::User, prompt.user.clone())];
    converse(client, model_id, &prompt.system, &turns, plan).await
}

/// Calls Converse with a conversation (user first, alternating, user last: what Converse
/// requires) and the planned sampling parameters.
pub async fn converse(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    system: &str,
    turns: &[Turn],
    plan: &Plan,
) -> Result<Generation, ModelError> {
    let messages = turns
        .iter()
        .map(|turn| {
            Message::builder()
                .role(match turn.speaker {
                    Speaker::User => ConversationRole::User,
                    Speaker::Assistant => ConversationRole::Assistant,
                })
                .set_content(Some(
                    turn.reasoning
                        .iter()
                        .cloned()
                        .chain([ContentBlock::Text(turn.text.clone())])
                        .collect(),
                ))
                .build()
                .map_err(|e| ModelError::Internal(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut inference = InferenceConfiguration::builder()
        .max_tokens(i32::try_from(plan.max_tokens).unwrap_or(i32::MAX));
    // The SDK takes f32; the values are within 0..=1, so narrowing only rounds.
    #[allow(clippy::cast_possible_truncation)]
    if let Some(t) = plan.temperature {
        inference = inference.temperature(t as f32);
    }
    #[allow(clippy::cast_possible_truncation)]
    if let Some(p) = plan.top_p {
        inference = inference.top_p(p as f32);
    }
    let output = client
        .converse()
        .model_id(model_id)
        .system(SystemContentBlock::Text(system.to_owned()))
        .set_messages(Some(messages))
        .inference_config(inference.build())
        .set_additional_model_request_fields(additional_fields(plan))
        .send()
        .instrument(crate::aws_call_span!("BedrockRuntime", "Converse"))
        .await
        .map_err(|e| classify(&e))?;

    let content = output
        .output()
        .and_then(|o| o.as_message().ok())
        .map(|m| m.content().to_vec())
        .unwrap_or_default();
    let (text, reasoning) = split_reply(content);
    // Converse's TokenUsage has input, output and total tokens (and cache figures) but no count of
    // thinking tokens (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html>,
    // checked 2026-12-07): `output_tokens` includes the thinking, and no separate figure is
    // reported, nor estimated from the reasoning text (which is empty or summarised by default).
    let usage = output
        .usage()
        .map(|u| {
            let input = u32::try_from(u.input_tokens()).unwrap_or(0);
            let out = u32::try_from(u.output_tokens()).unwrap_or(0);
            // The cache figures are absent unless the request set a cache point (the function
            // sets none); they are kept so that `cost` prices whatever Bedrock reports.
            let cache = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            Usage {
                input_tokens: input,
                output_tokens: out,
                total_tokens: u32::try_from(u.total_tokens())
                    .unwrap_or(0)
                    .max(input.saturating_add(out)),
                cache_read_input_tokens: cache(u.cache_read_input_tokens()),
                cache_write_input_tokens: cache(u.cache_write_input_tokens()),
            }
        })
        .unwrap_or_default();
    Ok(Generation {
        text,
        reasoning,
        usage,
        stop_reason: output.stop_reason().clone(),
    })
}

/// Whether the model declined to answer: Claude's `refusal` stop reason (Claude 4.5 and later;
/// the SDK has no variant for it yet, so it arrives as an unknown value), or a content filter or
/// guardrail that stopped it.
/// <https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons>
pub fn is_refusal(stop: &StopReason) -> bool {
    matches!(
        stop,
        StopReason::ContentFiltered | StopReason::GuardrailIntervened
    ) || stop.as_str() == "refusal"
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_bedrockruntime::types::error::{
        AccessDeniedException, InternalServerException, ModelErrorException,
        ModelNotReadyException, ModelTimeoutException, ResourceNotFoundException,
        ServiceUnavailableException, ThrottlingException, ValidationException,
    };
    use aws_smithy_types::error::ErrorMetadata;

    fn code_of(err: ConverseError) -> ErrorCode {
        classify_service_error(&err)
            .to_api_error("m", "us-east-1")
            .code
    }

    #[test]
    fn service_errors_map_to_codes() {
        let cases = [
            (
                ConverseError::ThrottlingException(ThrottlingException::builder().build()),
                ErrorCode::Throttled,
            ),
            (
                ConverseError::generic(
                    ErrorMetadata::builder()
                        .code("ServiceQuotaExceededException")
                        .build(),
                ),
                ErrorCode::Throttled,
            ),
            (
                ConverseError::ModelNotReadyException(ModelNotReadyException::builder().build()),
                ErrorCode::ModelUnavailable,
            ),
            (
                ConverseError::ServiceUnavailableException(
                    ServiceUnavailableException::builder().build(),
                ),
                ErrorCode::ModelUnavailable,
            ),
            (
                ConverseError::InternalServerException(InternalServerException::builder().build()),
                ErrorCode::ModelUnavailable,
            ),
            (
                ConverseError::AccessDeniedException(AccessDeniedException::builder().build()),
                ErrorCode::ModelAccess,
            ),
            (
                ConverseError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                ),
                ErrorCode::ModelAccess,
            ),
            (
                ConverseError::ValidationException(
                    ValidationException::builder()
                        .message("The provided model identifier is invalid.")
                        .build(),
                ),
                ErrorCode::ModelAccess,
            ),
            (
                ConverseError::ValidationException(
                    ValidationException::builder()
                        .message("Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
                        .build(),
                ),
                ErrorCode::ModelAccess,
            ),
            (
                ConverseError::ValidationException(
                    ValidationException::builder()
                        .message("temperature and top_p cannot both be specified for this model")
                        .build(),
                ),
                ErrorCode::ModelError,
            ),
            (
                ConverseError::ModelErrorException(ModelErrorException::builder().build()),
                ErrorCode::ModelError,
            ),
            (
                ConverseError::ModelTimeoutException(ModelTimeoutException::builder().build()),
                ErrorCode::ModelTimeout,
            ),
            (
                ConverseError::generic(ErrorMetadata::builder().code("Weird").build()),
                ErrorCode::ModelError,
            ),
        ];
        for (err, expected) in cases {
            let shown = format!("{err:?}");
            assert_eq!(code_of(err), expected, "{shown}");
        }
    }

    #[test]
    fn retry_after_is_set_for_retryable_errors() {
        let e = ModelError::Throttled(String::new()).to_api_error("m", "r");
        assert_eq!(
            (e.status(), e.retry_after),
            (429, Some(THROTTLED_RETRY_AFTER_SECS))
        );
        let e = ModelError::Unavailable(String::new()).to_api_error("m", "r");
        assert_eq!(
            (e.status(), e.retry_after),
            (503, Some(UNAVAILABLE_RETRY_AFTER_SECS))
        );
        let e = ModelError::Access(String::new()).to_api_error("m", "r");
        assert_eq!((e.status(), e.retry_after), (502, None));
    }

    #[test]
    fn access_message_says_what_to_check_without_aws_detail() {
        let e = ModelError::Access("User: arn:aws:sts::123456789012:assumed-role/x".to_owned())
            .to_api_error("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-west-1");
        assert!(e.message.contains("use-case form"));
        assert!(e.message.contains("aws-marketplace:Subscribe"));
        assert!(!e.message.contains("Model access"), "AWS retired that page");
        assert!(
            e.message
                .contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        assert!(e.message.contains("eu-west-1"));
        assert!(e.message.contains("inference profile"));
        assert!(!e.message.contains("123456789012"));
    }

    #[test]
    fn transport_errors_are_classified() {
        let timeout: SdkError<ConverseError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(matches!(classify(&timeout), ModelError::Timeout(_)));
        let construction: SdkError<ConverseError, HttpResponse> =
            SdkError::construction_failure("bad");
        assert!(matches!(classify(&construction), ModelError::Internal(_)));
    }

    #[test]
    fn account_refusals_say_what_to_set() {
        let retention = classify_service_error(&ConverseError::ValidationException(
            ValidationException::builder()
                .message("data retention mode 'default' is not available for this model")
                .build(),
        ));
        assert!(matches!(retention, ModelError::NotForThisAccount(_)));
        let e = retention.to_api_error("us.anthropic.claude-fable-5", "us-east-1");
        assert_eq!(e.code, ErrorCode::ModelAccess);
        assert!(e.message.contains("provider_data_share"), "{}", e.message);
        let legacy = classify_service_error(&ConverseError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days. Please upgrade to an active model on Amazon Bedrock")
                .build(),
        ));
        assert!(matches!(legacy, ModelError::NotForThisAccount(_)));
        let e = legacy.to_api_error("m", "r");
        assert!(e.message.contains("Legacy") && e.message.contains("current model"));
    }

    #[test]
    fn thinking_and_effort_go_into_additional_fields() {
        let plan = Plan {
            rule: Some(codegen_contract::models::SamplingRule::Fixed),
            temperature: None,
            top_p: None,
            top_k: None,
            max_tokens: 4096,
            thinking: Some(codegen_contract::models::ThinkingSetting::Adaptive),
            effort: Some(codegen_contract::models::Effort::Low),
            thinking_tokens: 2048,
            thinks: true,
            warnings: vec![],
            dropped: vec![],
        };
        let Some(Document::Object(map)) = additional_fields(&plan) else {
            panic!("expected an object")
        };
        assert_eq!(map.len(), 2, "{map:?}");
        assert_eq!(
            map.get("thinking"),
            Some(&Document::Object(HashMap::from([(
                "type".to_owned(),
                Document::String("adaptive".to_owned())
            )])))
        );
        assert_eq!(
            map.get("output_config"),
            Some(&Document::Object(HashMap::from([(
                "effort".to_owned(),
                Document::String("low".to_owned())
            )])))
        );
        // Nothing to send: no field at all (not an empty object).
        let nothing = Plan {
            thinking: None,
            effort: None,
            ..plan
        };
        assert_eq!(additional_fields(&nothing), None);
    }

    #[test]
    fn reasoning_never_reaches_the_text_and_is_kept_verbatim() {
        use aws_sdk_bedrockruntime::types::{ReasoningContentBlock, ReasoningTextBlock};
        let reasoning = ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text("secret plan: ```python\nprint('not the answer')\n```")
                .signature("sig-1")
                .build()
                .expect("block"),
        ));
        let (text, kept) = split_reply(vec![
            reasoning.clone(),
            ContentBlock::Text("```python\nprint(1)\n```".to_owned()),
        ]);
        assert_eq!(text, "```python\nprint(1)\n```");
        assert!(!text.contains("secret"));
        assert_eq!(kept, vec![reasoning]);
    }

    #[test]
    fn top_k_goes_into_additional_fields() {
        let plan = Plan {
            rule: None,
            temperature: Some(0.1),
            top_p: None,
            top_k: Some(250),
            max_tokens: 10,
            thinking: None,
            effort: None,
            thinking_tokens: 0,
            thinks: false,
            warnings: vec![],
            dropped: vec![],
        };
        let doc = additional_fields(&plan).expect("present");
        let Document::Object(map) = doc else {
            panic!("expected object")
        };
        assert_eq!(
            map.get("top_k"),
            Some(&Document::Number(Number::PosInt(250)))
        );
        assert_eq!(map.len(), 1);
        assert_eq!(
            additional_fields(&Plan {
                top_k: None,
                ..plan
            }),
            None
        );
    }
}
