//! The contract between the code-generation function, the stack that deploys it, the deployer's
//! `invoke` command and the end-to-end tests.
//!
//! Everything two sides must agree on lives here once: the route, the environment variable names
//! the template sets and the function reads, the S3 key prefix the IAM grant is scoped to, and the
//! request/response JSON. Pure data: no IO.

use serde::{Deserialize, Serialize};

pub mod cost;
pub mod metrics;
pub mod models;
pub mod principal;
pub mod quota;

pub use principal::{IamAuthorizerContext, Principal, PrincipalError};

mod roles;

pub use roles::FunctionRole;

/// HTTP method of the one route the API serves.
pub const ROUTE_METHOD: &str = "PUT";
/// Path of the one route the API serves.
pub const ROUTE_PATH: &str = "/code-generation";
/// API Gateway v2 route key (`"<METHOD> <path>"`).
pub const ROUTE_KEY: &str = "PUT /code-generation";
/// Prefix under which generated code is stored. The IAM grant is scoped to `<prefix>*`.
pub const OUTPUT_PREFIX: &str = "code-output/";

/// Path of the asynchronous route: `POST` submits a job.
pub const JOBS_PATH: &str = "/code-generation/jobs";
/// Method that submits a job.
pub const JOBS_SUBMIT_METHOD: &str = "POST";
/// Route key of the submission route.
pub const JOBS_SUBMIT_ROUTE_KEY: &str = "POST /code-generation/jobs";
/// Method that reads a job.
pub const JOB_STATUS_METHOD: &str = "GET";
/// Path pattern of the status route (API Gateway path parameter `job_id`).
pub const JOB_STATUS_PATH: &str = "/code-generation/jobs/{job_id}";
/// Route key of the status route.
pub const JOB_STATUS_ROUTE_KEY: &str = "GET /code-generation/jobs/{job_id}";
/// Header that makes a retried submission return the same job.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Prefix of the job records in the code bucket (one JSON object per job).
pub const JOBS_PREFIX: &str = "jobs/";
/// Length of a job id: 32 lowercase hex digits (128 bits).
pub const JOB_ID_LEN: usize = 32;

/// Whether `id` has the shape of a job id. Anything else is refused before any lookup.
pub fn is_job_id(id: &str) -> bool {
    id.len() == JOB_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker is generating.
    Running,
    /// Done: `result` holds what the synchronous route would have answered.
    Succeeded,
    /// Given up: `error` holds what the synchronous route would have answered.
    Failed,
}

impl JobStatus {
    /// The status as the JSON says it (`queued`, `running`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// Answer to `POST /code-generation/jobs` (HTTP 202, with a `Location` header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// The job's id (unguessable; 32 hex digits).
    pub job_id: String,
    /// Where it stands (a replayed submission answers the job's current status).
    pub status: JobStatus,
    /// Path to poll, relative to the stage (`/code-generation/jobs/<id>`), also in `Location`.
    pub status_url: String,
}

/// Answer to `GET /code-generation/jobs/{job_id}` (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResponse {
    /// The job's id.
    pub job_id: String,
    /// Where it stands.
    pub status: JobStatus,
    /// When it was submitted (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Once `succeeded`: exactly the synchronous route's success body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<GenerateResponse>,
    /// Once `failed`: exactly the synchronous route's error object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}
/// Response header carrying the build label of the running function (see [`BUILD_LABEL_ENV`]).
pub const BUILD_HEADER: &str = "x-codegen-build";
/// Build-time environment variable whose value is compiled into the function and reported in
/// [`BUILD_HEADER`]; lets a deployer prove which build the API is serving.
pub const BUILD_LABEL_ENV: &str = "CODEGEN_BUILD_LABEL";

/// Names of the environment variables the template sets on the function and the function reads.
pub mod env {
    /// Bucket that receives generated code.
    pub const BUCKET: &str = "CODEGEN_BUCKET";
    /// Key prefix inside the bucket (must match the IAM grant; defaults to `code-output/`).
    pub const PREFIX: &str = "CODEGEN_PREFIX";
    /// Bedrock model or inference-profile id used for Converse.
    pub const MODEL_ID: &str = "CODEGEN_MODEL_ID";
    /// Default sampling temperature.
    pub const TEMPERATURE: &str = "CODEGEN_TEMPERATURE";
    /// Default top_k (sent as an additional model request field).
    pub const TOP_K: &str = "CODEGEN_TOP_K";
    /// Default top_p.
    pub const TOP_P: &str = "CODEGEN_TOP_P";
    /// Default max output tokens.
    pub const MAX_TOKENS: &str = "CODEGEN_MAX_TOKENS";
    /// Largest accepted `message`, in bytes.
    pub const MAX_MESSAGE_BYTES: &str = "CODEGEN_MAX_MESSAGE_BYTES";
    /// Total time budget for the Bedrock call, in milliseconds (must fit API Gateway's 30 s).
    pub const MODEL_TIMEOUT_MS: &str = "CODEGEN_MODEL_TIMEOUT_MS";
    /// `true` to address S3 path-style (needed by local emulators reached via `AWS_ENDPOINT_URL`).
    pub const S3_FORCE_PATH_STYLE: &str = "CODEGEN_S3_FORCE_PATH_STYLE";
    /// Whether code that does not parse gets one follow-up model call to fix it:
    /// [`RepairMode`](crate::RepairMode)'s wire form, `off` or `once` (unset: `off`).
    pub const REPAIR: &str = "CODEGEN_REPAIR";

    /// Thinking on the synchronous route (`PUT /code-generation`): `default` (send no thinking
    /// setting), `adaptive` or `disabled`. See `infra/src/thinking.rs`.
    pub const SYNC_THINKING: &str = "CODEGEN_SYNC_THINKING";
    /// Effort on the synchronous route: `default` (send none) or an effort level.
    pub const SYNC_EFFORT: &str = "CODEGEN_SYNC_EFFORT";
    /// Output tokens reserved for thinking on the synchronous route, added to the answer's
    /// `max_tokens` (0 when the model does not think there).
    pub const SYNC_THINKING_TOKENS: &str = "CODEGEN_SYNC_THINKING_TOKENS";
    /// Thinking on the jobs route (the worker), as [`SYNC_THINKING`].
    pub const JOBS_THINKING: &str = "CODEGEN_JOBS_THINKING";
    /// Effort on the jobs route, as [`SYNC_EFFORT`].
    pub const JOBS_EFFORT: &str = "CODEGEN_JOBS_EFFORT";
    /// Thinking tokens on the jobs route, as [`SYNC_THINKING_TOKENS`].
    pub const JOBS_THINKING_TOKENS: &str = "CODEGEN_JOBS_THINKING_TOKENS";

    /// What this function instance serves: `sync` (PUT /code-generation, the default), `submit`
    /// (POST /code-generation/jobs), `status` (GET /code-generation/jobs/{job_id}) or `worker`
    /// (the jobs queue).
    pub const ROLE: &str = "CODEGEN_ROLE";
    /// The stage's name: the `Stage` dimension of the function's metrics.
    pub const STAGE: &str = "CODEGEN_STAGE";
    /// URL of the jobs queue (`submit` only).
    pub const JOBS_QUEUE_URL: &str = "CODEGEN_JOBS_QUEUE_URL";
    /// ARN of the jobs dead-letter queue (`worker`): its messages mark their jobs failed.
    pub const JOBS_DEAD_LETTER_ARN: &str = "CODEGEN_JOBS_DEAD_LETTER_ARN";
    /// Seconds after which a job still `queued` or `running` is reported `failed` (`status`): the
    /// worker's timeout times its bounded attempts, plus the queue's delays.
    pub const JOB_STALE_AFTER_SECONDS: &str = "CODEGEN_JOB_STALE_AFTER_SECONDS";

    /// The AWS SDK's own service-specific endpoint variable for Bedrock Runtime. Set only in
    /// emulator stages that route Bedrock to a test double (`bedrock_endpoint` in the stage file).
    pub const BEDROCK_RUNTIME_ENDPOINT: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";

    /// Where the X-Ray daemon listens (`host:port`, UDP). Lambda sets it on AWS; the template sets
    /// it only in emulator stages that name a stand-in (`xray_daemon` in the stage file).
    pub const XRAY_DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";

    /// The variables every function instance gets from the template (the role-specific ones,
    /// [`ROLE`], [`JOBS_QUEUE_URL`], [`JOBS_DEAD_LETTER_ARN`], [`JOB_STALE_AFTER_SECONDS`] and
    /// [`BEDROCK_RUNTIME_ENDPOINT`], are set per function), for templates and tests that must cover
    /// all of them.
    pub const ALL: [&str; 18] = [
        BUCKET,
        PREFIX,
        MODEL_ID,
        TEMPERATURE,
        TOP_K,
        TOP_P,
        MAX_TOKENS,
        MAX_MESSAGE_BYTES,
        MODEL_TIMEOUT_MS,
        S3_FORCE_PATH_STYLE,
        REPAIR,
        SYNC_THINKING,
        SYNC_EFFORT,
        SYNC_THINKING_TOKENS,
        JOBS_THINKING,
        JOBS_EFFORT,
        JOBS_THINKING_TOKENS,
        STAGE,
    ];
}

/// Whether the function asks the model once more when the code it returned does not parse (the
/// stage's `function.repair`, passed to the function as [`env::REPAIR`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairMode {
    /// Never: code that does not parse is stored and returned with its diagnostics.
    #[default]
    Off,
    /// At most one follow-up model call with the diagnostics, when the route's time budget
    /// allows it; the version with fewer syntax errors is kept.
    Once,
}

impl RepairMode {
    /// Every mode.
    pub const ALL: [RepairMode; 2] = [Self::Off, Self::Once];

    /// The wire form (stage file, environment variable).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Once => "once",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Body of `PUT /code-generation`, as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// What to implement, in plain words.
    pub message: String,
    /// Target language (`python`, `rust`, `ts`, ...). `language` is accepted as an alias.
    #[serde(alias = "language")]
    pub key: String,
    /// Sampling temperature override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// top_k override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// top_p override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Max output tokens override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// Where the generated code was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key (always under [`OUTPUT_PREFIX`]).
    pub key: String,
    /// `s3://bucket/key`.
    pub uri: String,
}

/// Token usage reported by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// Sum of both.
    pub total_tokens: u32,
    /// Prompt tokens read from Bedrock's prompt cache (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u32,
    /// Prompt tokens written to Bedrock's prompt cache (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Usage {
    /// The usage of two calls together (saturating).
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
            cache_read_input_tokens: self
                .cache_read_input_tokens
                .saturating_add(other.cache_read_input_tokens),
            cache_write_input_tokens: self
                .cache_write_input_tokens
                .saturating_add(other.cache_write_input_tokens),
        }
    }
}

/// The sampling parameters actually sent to the model (`null`: not sent, the model's own default
/// applied). Which ones a model accepts is in [`models::CATALOGUE`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentSampling {
    /// Temperature sent.
    pub temperature: Option<f64>,
    /// top_p sent.
    pub top_p: Option<f64>,
    /// top_k sent (as the additional model request field `top_k`).
    pub top_k: Option<u32>,
    /// max_tokens sent: the answer's budget plus [`thinking_tokens`](Self::thinking_tokens).
    pub max_tokens: u32,
    /// The thinking setting sent (`adaptive` or `disabled`; absent: none sent, the model's
    /// default applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// The effort sent (absent: none sent, the model's default applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// The part of `max_tokens` reserved for thinking on this route (absent: the model does not
    /// think here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_tokens: Option<u32>,
}

/// Longest list of syntax errors a response or an object's metadata carries (`error_count` has
/// the full count).
pub const MAX_SYNTAX_ERRORS: usize = 10;

/// The syntax check of the returned code: `{"checked": true, "ok": bool, "error_count": n,
/// "errors": [...]}` for a language with a grammar, `{"checked": false, "reason": "..."}`
/// otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxCheck {
    /// Whether the code was parsed at all.
    pub checked: bool,
    /// Checked: whether it parsed without any error or missing token. Absent when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// Checked: how many errors the parser found (`errors` lists at most
    /// [`MAX_SYNTAX_ERRORS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_count: Option<u32>,
    /// Checked: the first errors in source order (empty when `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<SyntaxError>>,
    /// Not checked: why (no grammar for the language, input too large, parser budget spent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SyntaxCheck {
    /// A check that was not made, and why.
    pub fn unchecked(reason: impl Into<String>) -> Self {
        Self {
            checked: false,
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// A check that was made; `error_count` is the full count, `errors` the first ones.
    pub fn checked(error_count: u32, mut errors: Vec<SyntaxError>) -> Self {
        errors.truncate(MAX_SYNTAX_ERRORS);
        Self {
            checked: true,
            ok: Some(error_count == 0),
            error_count: Some(error_count),
            errors: Some(errors),
            reason: None,
        }
    }

    /// Checked and found no error.
    pub fn is_ok(&self) -> bool {
        self.checked && self.ok == Some(true)
    }

    /// Checked and found errors.
    pub fn has_errors(&self) -> bool {
        self.checked && self.ok == Some(false)
    }

    /// The number of errors found (0 when not checked).
    pub fn count(&self) -> u32 {
        self.error_count.unwrap_or(0)
    }

    /// The first error, if any.
    pub fn first_error(&self) -> Option<&SyntaxError> {
        self.errors.as_ref().and_then(|e| e.first())
    }
}

/// One syntax error: where it is (1-based line, and column in characters) and what the parser
/// expected or did not expect there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxError {
    /// Line, from 1.
    pub line: u32,
    /// Column in Unicode characters, from 1.
    pub column: u32,
    /// What is wrong, naming the construct (`missing `)` in parameters`).
    pub message: String,
}

/// What the follow-up model call for code that did not parse did (present only when the first
/// answer did not parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairReport {
    /// The stage's repair setting.
    pub mode: RepairMode,
    /// Whether a follow-up model call was made.
    pub attempted: bool,
    /// Whether the returned (and stored) code is the follow-up's.
    pub applied: bool,
    /// Syntax errors of the first answer.
    pub errors_before: u32,
    /// Syntax errors of the follow-up's answer; absent when none was made or it gave no code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_after: Option<u32>,
    /// Tokens the follow-up call cost; already included in the response's `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why no follow-up was made, or why its answer was not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Successful answer (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateResponse {
    /// The generated code, without markdown fences or commentary.
    pub code: String,
    /// Canonical language name (e.g. `python`).
    pub language: String,
    /// Model id the code came from.
    pub model: String,
    /// Whether the code was written to S3. `false` only when S3 failed after generation.
    pub stored: bool,
    /// Where the code was stored; `None` when `stored` is `false`.
    pub s3: Option<S3Location>,
    /// Token usage, of every model call the answer took (a repair included).
    pub usage: Usage,
    /// What those calls cost, from `usage` and the catalogue's dated prices; absent only for a
    /// model the catalogue has no price for (a warning says so) and in records written before
    /// costs existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::Cost>,
    /// The syntax check of `code` (answers recorded before the check existed read as unchecked).
    #[serde(default)]
    pub syntax: SyntaxCheck,
    /// The repair of code that did not parse; absent when the first answer parsed or was not
    /// checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairReport>,
    /// The sampling parameters sent to the model; `warnings` says what was not sent and why.
    pub sampling: SentSampling,
    /// Lambda request id, also part of the S3 key and the logs.
    pub request_id: String,
    /// Non-fatal problems (e.g. why the code was not stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

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

#[cfg(test)]
mod tests {

    #[test]
    fn job_status_words_are_the_json_words() {
        for status in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
        ] {
            let json = serde_json::to_value(status).expect("serialises");
            assert_eq!(json, status.as_str());
        }
    }
    use super::*;

    #[test]
    fn error_codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn request_accepts_language_alias() {
        let r: GenerateRequest =
            serde_json::from_str(r#"{"message":"m","language":"rust"}"#).expect("parses");
        assert_eq!(r.key, "rust");
        let out = serde_json::to_string(&r).expect("serialises");
        assert_eq!(out, r#"{"message":"m","key":"rust"}"#);
    }

    #[test]
    fn repair_modes_round_trip() {
        for m in RepairMode::ALL {
            assert_eq!(RepairMode::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).expect("serialises");
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(RepairMode::parse("twice"), None);
        assert_eq!(RepairMode::default(), RepairMode::Off);
    }

    #[test]
    fn syntax_check_shapes() {
        let unchecked = serde_json::to_value(SyntaxCheck::unchecked("no grammar")).expect("json");
        assert_eq!(
            unchecked,
            serde_json::json!({"checked": false, "reason": "no grammar"})
        );
        let errors = (1..=12)
            .map(|line| SyntaxError {
                line,
                column: 1,
                message: "missing `)`".into(),
            })
            .collect();
        let bad = SyntaxCheck::checked(12, errors);
        assert!(bad.has_errors() && !bad.is_ok());
        assert_eq!(bad.errors.as_ref().map(Vec::len), Some(MAX_SYNTAX_ERRORS));
        assert_eq!(bad.count(), 12);
        let ok = serde_json::to_value(SyntaxCheck::checked(0, vec![])).expect("json");
        assert_eq!(
            ok,
            serde_json::json!({"checked": true, "ok": true, "error_count": 0, "errors": []})
        );
        // A record written before the check existed still reads.
        let old: GenerateResponse = serde_json::from_value(serde_json::json!({
            "code": "x", "language": "python", "model": "m", "stored": true, "s3": null,
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            "sampling": {"temperature": null, "top_p": null, "top_k": null, "max_tokens": 5},
            "request_id": "r"
        }))
        .expect("old shape");
        assert!(!old.syntax.checked && old.repair.is_none());
    }

    #[test]
    fn usage_adds_up() {
        let a = Usage {
            input_tokens: 1,
            output_tokens: 2,
            total_tokens: 3,
            cache_read_input_tokens: 4,
            cache_write_input_tokens: 0,
        };
        assert_eq!(
            a.plus(a),
            Usage {
                input_tokens: 2,
                output_tokens: 4,
                total_tokens: 6,
                cache_read_input_tokens: 8,
                cache_write_input_tokens: 0,
            }
        );
        // Zero cache figures are left out of the JSON: the shape clients know stays.
        let json = serde_json::to_value(Usage {
            cache_read_input_tokens: 0,
            ..a
        })
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
        );
    }

    #[test]
    fn route_key_matches_method_and_path() {
        assert_eq!(ROUTE_KEY, format!("{ROUTE_METHOD} {ROUTE_PATH}"));
        assert_eq!(
            JOBS_SUBMIT_ROUTE_KEY,
            format!("{JOBS_SUBMIT_METHOD} {JOBS_PATH}")
        );
        assert_eq!(
            JOB_STATUS_ROUTE_KEY,
            format!("{JOB_STATUS_METHOD} {JOB_STATUS_PATH}")
        );
        assert!(JOB_STATUS_PATH.starts_with(JOBS_PATH));
    }

    #[test]
    fn job_ids_have_one_shape() {
        assert!(is_job_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "../../../../etc/passwd",
            "0123456789abcdef0123456789abcde/",
            "0123456789abcdef0123456789abcdeé",
        ] {
            assert!(!is_job_id(bad), "{bad}");
        }
    }
}
