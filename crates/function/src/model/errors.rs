//! Bedrock failures classified into caller-facing errors (pure): one [`ModelError`] per thing
//! the caller can do about it, with the remedy the message names.

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata as _;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use codegen_contract::ErrorCode;

use crate::error::ApiError;

/// Seconds a throttled caller is asked to wait.
pub const THROTTLED_RETRY_AFTER_SECS: u32 = 5;
/// Seconds a caller is asked to wait when the model is temporarily unavailable or overloaded.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 10;
/// Seconds a caller is asked to wait while the account's model agreement is being created.
pub const AGREEMENT_RETRY_AFTER_SECS: u32 = 60;

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
}
