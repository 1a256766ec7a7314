//! Names of the environment variables the template sets on the function and the function reads.

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
