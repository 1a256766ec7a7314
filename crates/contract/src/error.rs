//! The error answer: a stable code, its HTTP status, and a message that says what to fix.

use serde::{Deserialize, Serialize};

/// Error answer (any 4xx/5xx the function returns itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// Machine-readable code plus a message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable error code, one of [`ErrorCode`]'s `as_str` values.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Stable error codes and the HTTP status each maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Body is not valid JSON (or not a JSON object).
    InvalidJson,
    /// Body is not valid UTF-8 or not valid base64.
    InvalidEncoding,
    /// `message` missing.
    MissingMessage,
    /// `message` empty, not a string or contains forbidden characters.
    InvalidMessage,
    /// `message` longer than the configured limit.
    MessageTooLarge,
    /// `key`/`language` missing.
    MissingLanguage,
    /// Language not in the supported table.
    UnsupportedLanguage,
    /// A sampling or limit parameter is out of range or has the wrong type.
    InvalidParameter,
    /// An unknown field was sent.
    UnknownField,
    /// Body missing.
    MissingBody,
    /// Body over the size limit.
    PayloadTooLarge,
    /// Content type is not JSON.
    UnsupportedMediaType,
    /// Wrong method on the route.
    MethodNotAllowed,
    /// Unknown route.
    NotFound,
    /// Bedrock throttled the request.
    Throttled,
    /// Bedrock is temporarily unavailable.
    ModelUnavailable,
    /// The model id is wrong or access to it is not enabled.
    ModelAccess,
    /// Bedrock returned an error that is not the caller's fault.
    ModelError,
    /// Bedrock did not answer within the time budget.
    ModelTimeout,
    /// The model answered without any code.
    EmptyGeneration,
    /// The model declined the request (stop reason `refusal`, or a content filter).
    ModelRefused,
    /// The model stopped at the output-token limit before writing any code: its thinking used the
    /// budget (thinking counts toward `max_tokens`).
    ThinkingExhausted,
    /// A job id that cannot exist (wrong shape).
    InvalidJobId,
    /// No job with that id (never existed, or expired).
    JobNotFound,
    /// An `Idempotency-Key` reused with a different request body.
    IdempotencyConflict,
    /// The job could not be recorded or queued (S3 or SQS unavailable): retry.
    JobsUnavailable,
    /// The request's IAM identity is missing, malformed, or of a kind that cannot own jobs
    /// (see [`principal`]).
    UnidentifiedCaller,
    /// The caller's budget for the UTC day is spent (or the request's maximum cost would pass
    /// it): no model call was made; `Retry-After` says when the day resets.
    QuotaExceeded,
    /// The caller already has as many jobs queued or running as the stage allows.
    TooManyJobs,
    /// The budget store could not be reached, so no model call was made: retry.
    BudgetUnavailable,
    /// A bug or misconfiguration in the function.
    Internal,
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 31] = [
        Self::InvalidJson,
        Self::InvalidEncoding,
        Self::MissingMessage,
        Self::InvalidMessage,
        Self::MessageTooLarge,
        Self::MissingLanguage,
        Self::UnsupportedLanguage,
        Self::InvalidParameter,
        Self::UnknownField,
        Self::MissingBody,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::MethodNotAllowed,
        Self::NotFound,
        Self::Throttled,
        Self::ModelUnavailable,
        Self::ModelAccess,
        Self::ModelError,
        Self::ModelTimeout,
        Self::EmptyGeneration,
        Self::ModelRefused,
        Self::ThinkingExhausted,
        Self::InvalidJobId,
        Self::JobNotFound,
        Self::IdempotencyConflict,
        Self::JobsUnavailable,
        Self::UnidentifiedCaller,
        Self::QuotaExceeded,
        Self::TooManyJobs,
        Self::BudgetUnavailable,
        Self::Internal,
    ];

    /// The stable wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidEncoding => "invalid_encoding",
            Self::MissingMessage => "missing_message",
            Self::InvalidMessage => "invalid_message",
            Self::MessageTooLarge => "message_too_large",
            Self::MissingLanguage => "missing_language",
            Self::UnsupportedLanguage => "unsupported_language",
            Self::InvalidParameter => "invalid_parameter",
            Self::UnknownField => "unknown_field",
            Self::MissingBody => "missing_body",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::Throttled => "throttled",
            Self::ModelUnavailable => "model_unavailable",
            Self::ModelAccess => "model_access",
            Self::ModelError => "model_error",
            Self::ModelTimeout => "model_timeout",
            Self::EmptyGeneration => "empty_generation",
            Self::ModelRefused => "model_refused",
            Self::ThinkingExhausted => "thinking_exhausted",
            Self::InvalidJobId => "invalid_job_id",
            Self::JobNotFound => "job_not_found",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::JobsUnavailable => "jobs_unavailable",
            Self::UnidentifiedCaller => "unidentified_caller",
            Self::QuotaExceeded => "quota_exceeded",
            Self::TooManyJobs => "too_many_jobs",
            Self::BudgetUnavailable => "budget_unavailable",
            Self::Internal => "internal_error",
        }
    }

    /// The HTTP status the function answers with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidJson
            | Self::InvalidEncoding
            | Self::MissingMessage
            | Self::InvalidMessage
            | Self::MissingLanguage
            | Self::UnsupportedLanguage
            | Self::InvalidParameter
            | Self::UnknownField
            | Self::MissingBody
            | Self::InvalidJobId => 400,
            Self::NotFound | Self::JobNotFound => 404,
            Self::UnidentifiedCaller => 403,
            Self::IdempotencyConflict => 409,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge | Self::MessageTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            // The request was well formed, and the model declined to answer it: rephrasing is the
            // caller's remedy, retrying the same request is not.
            Self::ModelRefused => 422,
            Self::Throttled | Self::QuotaExceeded | Self::TooManyJobs => 429,
            // Like an empty generation, the model answered without code; what to change is the
            // stage's token budget or effort (the message says which), not the request's shape.
            Self::ModelAccess
            | Self::ModelError
            | Self::EmptyGeneration
            | Self::ThinkingExhausted => 502,
            Self::ModelUnavailable | Self::JobsUnavailable | Self::BudgetUnavailable => 503,
            Self::ModelTimeout => 504,
            Self::Internal => 500,
        }
    }

    /// Parses the wire form back (used by clients and tests).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}
