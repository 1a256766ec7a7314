//! Stage configuration: one YAML file per stage under `infra/stages/`, parsed strictly (unknown
//! keys are errors) and validated into a typed [`StageConfig`]. Reads files only in
//! [`load_stage`]; [`parse_stage`] is pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cfn_constructs::logs::RETENTION_DAYS;
use codegen_contract::RepairMode;
use codegen_contract::models::{self, Lifecycle, ModelSpec};
use serde::Deserialize;

use crate::protection::{AccountId, Protection};

/// API Gateway's hard limit for a synchronous integration, in seconds. The function must finish
/// before it, or the caller gets a bare 503 instead of the function's own error.
pub const API_GATEWAY_TIMEOUT_SECONDS: u32 = 30;

/// Milliseconds the function keeps after the model call for the S3 write and its response.
pub const AFTER_MODEL_BUDGET_MS: u32 = 4000;

/// The shortest function timeout that leaves the model at least a second after that budget.
pub const MIN_FUNCTION_TIMEOUT_SECONDS: u32 = AFTER_MODEL_BUDGET_MS / 1000 + 1;

/// What can go wrong loading a stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// No such stage file.
    #[error("unknown stage `{stage}`: no file {path} (available stages: {available})")]
    UnknownStage {
        /// The stage asked for.
        stage: String,
        /// Where it was looked for.
        path: PathBuf,
        /// Stages that exist.
        available: String,
    },
    /// The file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown keys or wrong types.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (names the key and, for unknown keys, the allowed ones).
        message: String,
    },
    /// A value is out of range.
    #[error("{file}: `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted key path, e.g. `function.timeout_seconds`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// CPU architecture of the function (and of the binary that is built for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Architecture {
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
    /// Graviton.
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The Rust target triple cargo-lambda builds for it.
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// Route authorization mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// SigV4 with IAM (the default).
    AwsIam,
    /// Open to anyone who can reach the URL. Must be chosen explicitly.
    None,
}

/// A local emulator a stage targets, and so which of its known differences from AWS to handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Emulator {
    /// ministack: authorises Converse as `bedrock:Converse` (AWS: `bedrock:InvokeModel`) and
    /// serves plain HTTP only, so `aws:SecureTransport` is always false there.
    Ministack,
}

/// Model settings as written in the stage file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    /// Model or inference-profile id passed to Converse.
    id: String,
    /// Foundation model behind `id`: derived from the model catalogue; only for models the
    /// catalogue does not know yet.
    #[serde(default)]
    foundation_model: Option<String>,
    /// Regions a geographic profile routes to from the stage's region: derived from the
    /// catalogue; only for models it does not know yet.
    #[serde(default)]
    regions: Option<Vec<String>>,
}

/// How the function reaches its model, and so what the IAM grant must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRoute {
    /// The base model id, on demand in the stage's region.
    Direct,
    /// A geographic inference profile (`us.`, `eu.`, ...) and the regions it routes to from the
    /// stage's region.
    Geographic {
        /// Destination regions from this source region.
        regions: Vec<String>,
    },
    /// A global inference profile (`global.`): any commercial region.
    Global,
}

/// Validated model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Model or inference-profile id passed to Converse.
    pub id: String,
    /// Foundation model id behind `id`.
    pub foundation_model: String,
    /// How it is reached.
    pub route: ModelRoute,
    /// The catalogue row, when the model is known (`None`: the function sends no optional
    /// sampling parameter and warns).
    pub spec: Option<&'static ModelSpec>,
}

/// Default sampling settings (callers may override per request).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// 0..=1.
    pub temperature: f64,
    /// 1..=500.
    pub top_k: u32,
    /// 0..=1.
    pub top_p: f64,
    /// 1..=8192.
    pub max_tokens: u32,
}

/// Function settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Preferred architecture; the deployer falls back to `x86_64` when it cannot build arm64.
    pub architecture: Architecture,
    /// 128..=10240.
    pub memory_mb: u32,
    /// 1..API Gateway's 30 s.
    pub timeout_seconds: u32,
    /// Reserved concurrency: a ceiling on parallel model calls (cost control).
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// Largest accepted `message`, in bytes.
    pub max_message_bytes: u32,
    /// Whether `deploy --hotswap` may replace the function code directly, bypassing
    /// CloudFormation (the stack drifts until the next normal deploy). Emulator stages always
    /// may; a real AWS stage only when its file says `allow_hotswap: true`.
    #[serde(default)]
    pub allow_hotswap: bool,
    /// When the generated code does not parse: `once` asks the model one more time with the
    /// parser's diagnostics (one extra model call at most, inside the route's time budget, the
    /// version with fewer errors kept); `off` (the default) stores and returns it with its
    /// diagnostics. Passed to the function as `CODEGEN_REPAIR`.
    #[serde(default)]
    pub repair: RepairMode,
}

/// The asynchronous jobs route: its worker, queue and bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// The worker's timeout: how long one generation may take (5..=900 s; Lambda's maximum is
    /// 900). Anything at or below API Gateway's 30 s only makes sense in tests.
    pub worker_timeout_seconds: u32,
    /// Deliveries of a job before its message moves to the dead-letter queue and the job is
    /// marked failed (SQS `maxReceiveCount`, 1..=10).
    pub max_attempts: u32,
    /// How long a delivered job stays hidden before SQS delivers it again. Default: six times the
    /// worker timeout, as AWS recommends for Lambda event sources; never below the worker timeout
    /// (Lambda refuses such a mapping).
    #[serde(default)]
    pub visibility_timeout_seconds: Option<u32>,
    /// A job not finished this long after its last change is failed (the queue keeps its message
    /// this long, and the status route reports it failed after it).
    pub give_up_after_seconds: u32,
    /// Most workers at once (event source mapping `MaximumConcurrency`, 2..=1000): a ceiling on
    /// parallel model calls.
    pub max_concurrency: u32,
}

impl JobsConfig {
    /// The queue's visibility timeout.
    pub fn visibility_timeout(&self) -> u32 {
        self.visibility_timeout_seconds
            .unwrap_or(self.worker_timeout_seconds.saturating_mul(6))
    }
}

/// Stage throttling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingConfig {
    /// Steady requests per second.
    pub rate_limit: f64,
    /// Burst size.
    pub burst_limit: u32,
}

/// What `api.unauthenticated_acknowledged` must say, word for word, for a stage on AWS to use
/// `api.auth: none`: whoever writes it has read what it means.
pub const UNAUTHENTICATED_ACKNOWLEDGEMENT: &str =
    "anyone who can reach the URL can spend this account's Bedrock budget";

/// API settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Route authorization.
    pub auth: AuthMode,
    /// With `auth: none` on a stage without `emulator:` (real AWS): required, and exactly
    /// [`UNAUTHENTICATED_ACKNOWLEDGEMENT`]. Refused with `auth: aws_iam`, where it would only
    /// mislead a reader of the file.
    #[serde(default)]
    pub unauthenticated_acknowledged: Option<String>,
    /// Stage throttling.
    pub throttling: ThrottlingConfig,
}

/// Log settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// One of CloudWatch's allowed retention periods.
    pub retention_days: u32,
}

/// Bucket settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Days before generated code expires.
    pub code_expiry_days: u32,
    /// Days before overwritten or deleted versions expire.
    pub noncurrent_expiry_days: u32,
}

/// The file's shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    #[serde(default)]
    stack_name: Option<String>,
    region: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    protection: Protection,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    emulator: Option<Emulator>,
    #[serde(default)]
    bedrock_endpoint: Option<String>,
    #[serde(default)]
    xray_daemon: Option<String>,
    model: ModelFile,
    sampling: SamplingConfig,
    #[serde(default)]
    thinking: Option<crate::thinking::ThinkingFile>,
    #[serde(default)]
    quotas: Option<crate::quotas::QuotasFile>,
    function: FunctionConfig,
    api: ApiConfig,
    jobs: JobsConfig,
    logs: LogsConfig,
    bucket: BucketConfig,
    #[serde(default)]
    bootstrap: BootstrapConfig,
    #[serde(default)]
    alarms: crate::alarms::AlarmsConfig,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// Who may use the stage's bootstrap roles (`bootstrap:` in the stage file). The bootstrap stack
/// (`cargo xtask bootstrap`, see `infra/src/bootstrap.rs`) creates the deploy role and the diff
/// role with these trust policies.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Principals of this account that may assume the deploy and diff roles with their own
    /// credentials (`sts:AssumeRole`): IAM role ARNs, or `account` for any principal of this
    /// account whose own policy allows it (AWS CDK's default trust for its bootstrap roles).
    /// Empty: `account`.
    #[serde(default)]
    pub trusted_principals: Vec<String>,
    /// GitHub Actions OIDC trust; unset: no workflow can assume the roles.
    #[serde(default)]
    pub github: Option<GitHubTrust>,
}

/// GitHub Actions may assume the deploy role from one protected environment of one repository,
/// and the diff role from that repository's pull requests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubTrust {
    /// `owner/name`.
    pub repository: String,
    /// The GitHub environment (with required reviewers) whose jobs may deploy: the deploy role's
    /// trust requires `sub` = `repo:<repository>:environment:<deploy_environment>`.
    pub deploy_environment: String,
}

impl BootstrapConfig {
    /// The trusted principals, `account` when none are listed.
    pub fn principals(&self) -> Vec<String> {
        if self.trusted_principals.is_empty() {
            vec![TRUST_ACCOUNT.to_owned()]
        } else {
            self.trusted_principals.clone()
        }
    }
}

/// `bootstrap.trusted_principals` entry meaning "this account".
pub const TRUST_ACCOUNT: &str = "account";

/// A validated stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageConfig {
    /// Stage name (the file stem); also the API stage name.
    pub name: String,
    /// CloudFormation stack name (`codegen-<stage>` unless set).
    pub stack_name: String,
    /// AWS region.
    pub region: String,
    /// The account the stage must be deployed into: every command checks the caller's account
    /// (STS) against it before any build or write. Required on production-class stages.
    pub account: Option<AccountId>,
    /// How much the stage protects what it holds ([`Protection`]).
    pub protection: Protection,
    /// Endpoint of a local emulator, if this stage targets one.
    pub endpoint: Option<String>,
    /// The emulator behind `endpoint`, whose differences from AWS the stack accounts for.
    pub emulator: Option<Emulator>,
    /// Emulator stages only: where the function sends its Bedrock Runtime calls (a Bedrock test
    /// double on loopback), through the SDK's `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`. Unset: the
    /// emulator's own Bedrock mock.
    pub bedrock_endpoint: Option<String>,
    /// Emulator stages only: the UDP address (`127.x.x.x:port`) the functions send their trace
    /// segments to, through `AWS_XRAY_DAEMON_ADDRESS`, which Lambda itself sets on AWS (to its
    /// X-Ray daemon) and the emulator does not. A test listens there in the daemon's place.
    pub xray_daemon: Option<String>,
    /// Model.
    pub model: ModelConfig,
    /// Sampling defaults.
    pub sampling: SamplingConfig,
    /// Thinking and effort per route (`infra/src/thinking.rs`).
    pub thinking: crate::thinking::ThinkingConfig,
    /// Budgets per caller (`infra/src/quotas.rs`); `None`: no budgets, no table.
    pub quotas: Option<crate::quotas::QuotasConfig>,
    /// What the validation accepted but the deployer should say out loud (a Legacy model, an
    /// account prerequisite).
    pub warnings: Vec<String>,
    /// Function.
    pub function: FunctionConfig,
    /// API.
    pub api: ApiConfig,
    /// The jobs route.
    pub jobs: JobsConfig,
    /// Logs.
    pub logs: LogsConfig,
    /// Bucket.
    pub bucket: BucketConfig,
    /// Who may use the bootstrap roles.
    pub bootstrap: BootstrapConfig,
    /// Alarms and their topic (`alarms:`; every key optional).
    pub alarms: crate::alarms::AlarmsConfig,
    /// Tags for every taggable resource.
    pub tags: BTreeMap<String, String>,
}

impl StageConfig {
    /// Physical name of the function.
    pub fn function_name(&self) -> String {
        format!("{}-generator", self.stack_name)
    }

    /// Physical name of a jobs function (`submit`, `status`, `worker`).
    pub fn jobs_function_name(&self, role: &str) -> String {
        format!("{}-jobs-{role}", self.stack_name)
    }

    /// Physical name of the jobs queue (`-dlq` appended for its dead-letter queue).
    pub fn jobs_queue_name(&self) -> String {
        format!("{}-jobs", self.stack_name)
    }

    /// Name of the budget table (`infra/src/quotas.rs`).
    pub fn quota_table_name(&self) -> String {
        format!("{}-quotas", self.stack_name)
    }

    /// Whether this stage targets a local emulator.
    pub fn is_local(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Whether `deploy --hotswap` is allowed (see [`FunctionConfig::allow_hotswap`]).
    pub fn allows_hotswap(&self) -> bool {
        !self.protection.is_production() && (self.emulator.is_some() || self.function.allow_hotswap)
    }
}

/// Directory of the stage files.
pub fn stages_dir(workspace_root: &Path) -> PathBuf {
    workspace_root.join("infra").join("stages")
}

/// Names of the stages that have a file, sorted.
pub fn list_stages(workspace_root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(stages_dir(workspace_root))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "yaml")
                .then(|| path.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .collect();
    names.sort();
    names
}

/// Reads and validates `infra/stages/<stage>.yaml`.
pub fn load_stage(workspace_root: &Path, stage: &str) -> Result<StageConfig, StageError> {
    let valid_name = !stage.is_empty()
        && stage
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let path = stages_dir(workspace_root).join(format!("{stage}.yaml"));
    if !valid_name || !path.is_file() {
        return Err(StageError::UnknownStage {
            stage: stage.to_owned(),
            path,
            available: list_stages(workspace_root).join(", "),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| StageError::Read {
        path: path.clone(),
        source,
    })?;
    let file = format!("infra/stages/{stage}.yaml");
    parse_stage(stage, &file, &text)
}

/// Parses and validates a stage file's text. `file` is only used in error messages.
pub fn parse_stage(stage: &str, file: &str, text: &str) -> Result<StageConfig, StageError> {
    let raw: StageFile = serde_saphyr::from_str(text).map_err(|e| StageError::Parse {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    let invalid = |key: &str, message: String| StageError::Invalid {
        file: file.to_owned(),
        key: key.to_owned(),
        message,
    };
    let stack_name = raw.stack_name.unwrap_or_else(|| format!("codegen-{stage}"));
    if !is_valid_stack_name(&stack_name) || stack_name.len() > 50 {
        return Err(invalid(
            "stack_name",
            format!(
                "is `{stack_name}`: use 1-50 letters, digits and hyphens, starting with a letter"
            ),
        ));
    }
    if !is_region(&raw.region) {
        return Err(invalid(
            "region",
            format!("is `{}`: expected a region like us-east-1", raw.region),
        ));
    }
    if let Some(endpoint) = &raw.endpoint
        && !is_loopback_http(endpoint)
    {
        return Err(invalid(
            "endpoint",
            format!(
                "is `{endpoint}`: only loopback emulator endpoints (http://127.x.x.x:port) are allowed"
            ),
        ));
    }
    if raw.emulator.is_some() != raw.endpoint.is_some() {
        return Err(invalid(
            "emulator",
            "and `endpoint` go together: set both for a local emulator stage, neither for AWS"
                .into(),
        ));
    }
    if let Some(endpoint) = &raw.bedrock_endpoint
        && (raw.emulator.is_none() || !is_loopback_http(endpoint))
    {
        return Err(invalid(
            "bedrock_endpoint",
            format!(
                "is `{endpoint}`: only emulator stages may redirect Bedrock, and only to a \
                 loopback address (http://127.x.x.x:port)"
            ),
        ));
    }
    if let Some(daemon) = &raw.xray_daemon
        && (raw.emulator.is_none() || !is_loopback_socket(daemon))
    {
        return Err(invalid(
            "xray_daemon",
            format!(
                "is `{daemon}`: only emulator stages may name the X-Ray daemon (on AWS, Lambda \
                 sets it), and only a loopback address (127.x.x.x:port)"
            ),
        ));
    }
    let account = validate_identity(
        raw.account.as_deref(),
        raw.protection,
        &raw.function,
        &invalid,
    )?;
    validate_auth(&raw.api, raw.emulator.is_some(), &invalid)?;
    let model = validate_model(&raw.model, &raw.region, &invalid)?;
    let thinking = crate::thinking::validate(raw.thinking.as_ref(), model.spec)
        .map_err(|(key, message)| invalid(&key, message))?;
    let quotas = crate::quotas::validate(raw.quotas.as_ref(), model.spec)
        .map_err(|(key, message)| invalid(&key, message))?;
    let s = &raw.sampling;
    check_range(&invalid, "sampling.temperature", s.temperature, 0.0, 1.0)?;
    check_range(&invalid, "sampling.top_p", s.top_p, 0.0, 1.0)?;
    check_range(&invalid, "sampling.top_k", f64::from(s.top_k), 1.0, 500.0)?;
    check_range(
        &invalid,
        "sampling.max_tokens",
        f64::from(s.max_tokens),
        1.0,
        8192.0,
    )?;
    if let Some(spec) = model.spec
        && s.max_tokens > spec.max_output_tokens
    {
        return Err(invalid(
            "sampling.max_tokens",
            format!(
                "is {}: {} writes at most {} output tokens",
                s.max_tokens, spec.name, spec.max_output_tokens
            ),
        ));
    }
    let f = &raw.function;
    check_range(
        &invalid,
        "function.memory_mb",
        f64::from(f.memory_mb),
        128.0,
        10240.0,
    )?;
    if f.timeout_seconds < MIN_FUNCTION_TIMEOUT_SECONDS
        || f.timeout_seconds >= API_GATEWAY_TIMEOUT_SECONDS
    {
        return Err(invalid(
            "function.timeout_seconds",
            format!(
                "is {}: must be {MIN_FUNCTION_TIMEOUT_SECONDS}..={} to finish before API Gateway's \
                 {API_GATEWAY_TIMEOUT_SECONDS} s limit while leaving the model at least 1 s and S3 {} s",
                f.timeout_seconds,
                API_GATEWAY_TIMEOUT_SECONDS - 1,
                AFTER_MODEL_BUDGET_MS / 1000
            ),
        ));
    }
    if let Some(rc) = f.reserved_concurrency {
        check_range(
            &invalid,
            "function.reserved_concurrency",
            f64::from(rc),
            1.0,
            1000.0,
        )?;
    }
    check_range(
        &invalid,
        "function.max_message_bytes",
        f64::from(f.max_message_bytes),
        1.0,
        32768.0,
    )?;
    let t = &raw.api.throttling;
    check_range(
        &invalid,
        "api.throttling.rate_limit",
        t.rate_limit,
        0.1,
        10000.0,
    )?;
    check_range(
        &invalid,
        "api.throttling.burst_limit",
        f64::from(t.burst_limit),
        1.0,
        5000.0,
    )?;
    validate_jobs(&raw.jobs, &invalid)?;
    if !RETENTION_DAYS.contains(&raw.logs.retention_days) {
        return Err(invalid(
            "logs.retention_days",
            format!(
                "is {}: allowed values are {RETENTION_DAYS:?}",
                raw.logs.retention_days
            ),
        ));
    }
    check_range(
        &invalid,
        "bucket.code_expiry_days",
        f64::from(raw.bucket.code_expiry_days),
        1.0,
        3650.0,
    )?;
    check_range(
        &invalid,
        "bucket.noncurrent_expiry_days",
        f64::from(raw.bucket.noncurrent_expiry_days),
        1.0,
        3650.0,
    )?;
    validate_bootstrap(&raw.bootstrap, &invalid)?;
    raw.alarms.validate(&invalid)?;
    if let Some((k, _)) = raw
        .tags
        .iter()
        .find(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:"))
    {
        return Err(invalid(
            &format!("tags.{k}"),
            "must be 1-128 characters, not start with `aws:`, value at most 256".into(),
        ));
    }
    Ok(StageConfig {
        name: stage.to_owned(),
        stack_name,
        region: raw.region,
        account,
        protection: raw.protection,
        endpoint: raw.endpoint,
        emulator: raw.emulator,
        bedrock_endpoint: raw.bedrock_endpoint,
        xray_daemon: raw.xray_daemon,
        warnings: model_warnings(&model),
        model,
        sampling: raw.sampling,
        thinking,
        quotas,
        function: raw.function,
        api: raw.api,
        jobs: raw.jobs,
        logs: raw.logs,
        bucket: raw.bucket,
        bootstrap: raw.bootstrap,
        alarms: raw.alarms,
        tags: raw.tags,
    })
}

/// The stage's `account` (12 digits) and `protection`: a production-class stage names its
/// account and never allows hotswap (its code changes only through reviewed change sets).
fn validate_identity(
    account: Option<&str>,
    protection: Protection,
    function: &FunctionConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<Option<AccountId>, StageError> {
    let account = account
        .map(AccountId::parse)
        .transpose()
        .map_err(|message| invalid("account", message))?;
    if protection.is_production() {
        if account.is_none() {
            return Err(invalid(
                "account",
                "is missing: a production-class stage (`protection: production`) must name the \
                 12-digit account it is deployed into, so that no command runs it with another \
                 account's credentials"
                    .into(),
            ));
        }
        if function.allow_hotswap {
            return Err(invalid(
                "function.allow_hotswap",
                "is true on a production-class stage: production code changes only through a \
                 reviewed change set; remove the key"
                    .into(),
            ));
        }
    }
    Ok(account)
}

/// Trusted principals are `account` or role ARNs; the GitHub repository is `owner/name` and the
/// environment a plain name, as they go verbatim into a trust policy's `sub` condition.
fn validate_bootstrap(
    b: &BootstrapConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    for p in &b.trusted_principals {
        let role_arn = p.starts_with("arn:aws:iam::")
            && p.split(':')
                .nth(4)
                .is_some_and(|a| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()))
            && p.split(':')
                .nth(5)
                .is_some_and(|r| r.starts_with("role/") && r.len() > 5);
        if p != TRUST_ACCOUNT && !role_arn {
            return Err(invalid(
                "bootstrap.trusted_principals",
                format!(
                    "has `{p}`: expected `{TRUST_ACCOUNT}` or an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"
                ),
            ));
        }
    }
    if let Some(gh) = &b.github {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        };
        let repo_ok = gh
            .repository
            .split_once('/')
            .is_some_and(|(owner, name)| plain(owner) && plain(name));
        if !repo_ok {
            return Err(invalid(
                "bootstrap.github.repository",
                format!("is `{}`: expected `owner/name`", gh.repository),
            ));
        }
        if !plain(&gh.deploy_environment) {
            return Err(invalid(
                "bootstrap.github.deploy_environment",
                format!(
                    "is `{}`: expected a GitHub environment name (letters, digits, `-`, `_`, `.`)",
                    gh.deploy_environment
                ),
            ));
        }
    }
    Ok(())
}

/// Open routes on AWS need the stage file to say, in so many words, what they cost; the key is
/// refused where it does not apply, so that a file never claims an exposure it does not have.
fn validate_auth(
    api: &ApiConfig,
    emulator: bool,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    const KEY: &str = "api.unauthenticated_acknowledged";
    let given = api.unauthenticated_acknowledged.as_deref();
    match (api.auth, given) {
        (AuthMode::AwsIam, Some(_)) => Err(invalid(
            KEY,
            "is set but api.auth is aws_iam: it only acknowledges api.auth: none; remove it".into(),
        )),
        (AuthMode::None, None) if !emulator => Err(invalid(
            KEY,
            format!(
                "is required: api.auth is none on a stage on AWS (no `emulator:`), so every route \
                 is open to anyone who can reach the URL. Keep api.auth: aws_iam, or acknowledge \
                 it under `api:` with exactly `unauthenticated_acknowledged: \"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"`"
            ),
        )),
        (AuthMode::None, Some(text)) if text != UNAUTHENTICATED_ACKNOWLEDGEMENT => Err(invalid(
            KEY,
            format!("is `{text}`: it must be exactly \"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\""),
        )),
        _ => Ok(()),
    }
}

fn validate_jobs(
    j: &JobsConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    check_range(
        invalid,
        "jobs.worker_timeout_seconds",
        f64::from(j.worker_timeout_seconds),
        f64::from(MIN_FUNCTION_TIMEOUT_SECONDS),
        900.0,
    )?;
    check_range(
        invalid,
        "jobs.max_attempts",
        f64::from(j.max_attempts),
        1.0,
        10.0,
    )?;
    check_range(
        invalid,
        "jobs.max_concurrency",
        f64::from(j.max_concurrency),
        2.0,
        1000.0,
    )?;
    let visibility = j.visibility_timeout();
    if visibility < j.worker_timeout_seconds || visibility > 43_200 {
        return Err(invalid(
            "jobs.visibility_timeout_seconds",
            format!(
                "is {visibility}: must be at least jobs.worker_timeout_seconds ({}; Lambda refuses \
                 a shorter one) and at most 43200 (SQS); AWS recommends six times the timeout",
                j.worker_timeout_seconds
            ),
        ));
    }
    // Every attempt must be able to run its course (and be redelivered) before the job is given up.
    let needed = visibility
        .saturating_mul(j.max_attempts)
        .saturating_add(j.worker_timeout_seconds);
    if j.give_up_after_seconds < needed || j.give_up_after_seconds > 1_209_600 {
        return Err(invalid(
            "jobs.give_up_after_seconds",
            format!(
                "is {}: must be at least visibility timeout x max attempts + worker timeout \
                 ({needed} s) and at most 1209600 (SQS's 14-day retention)",
                j.give_up_after_seconds
            ),
        ));
    }
    Ok(())
}

/// What a deploy of this model should say: a Legacy model's dates and what a new account sees,
/// and what the account must set up first.
fn model_warnings(model: &ModelConfig) -> Vec<String> {
    let Some(spec) = model.spec else {
        return Vec::new();
    };
    let mut warnings: Vec<String> = spec
        .lifecycle
        .notice(spec.name)
        .map(|n| format!("model.id: {n}"))
        .into_iter()
        .collect();
    warnings.extend(spec.prerequisites.iter().map(|p| {
        format!(
            "model.id: {} needs account setup: {}",
            spec.name,
            p.remedy()
        )
    }));
    warnings
}

/// Resolves `model.id` against the model catalogue: the foundation model behind it, and the
/// regions a geographic profile routes to from `region`. A model the catalogue does not know must
/// name both itself; a known one must not contradict the catalogue.
fn validate_model(
    file: &ModelFile,
    region: &str,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<ModelConfig, StageError> {
    let id = file.id.trim();
    if !id.contains("anthropic.claude") {
        return Err(invalid(
            "model.id",
            format!("is `{id}`: expected an Anthropic Claude model or inference profile id"),
        ));
    }
    if id == "anthropic.claude-v2" || id.starts_with("anthropic.claude-v2:") {
        return Err(invalid(
            "model.id",
            "is the legacy Claude v2: choose a current Claude model".into(),
        ));
    }
    let resolved = models::resolve(id);
    if let Some(bad) = file.regions.iter().flatten().find(|r| !is_region(r)) {
        return Err(invalid(
            "model.regions",
            format!("contains `{bad}`: expected region names"),
        ));
    }
    let Some(spec) = resolved.spec else {
        return unknown_model(file, &resolved, invalid);
    };
    if let Lifecycle::Retired { since } = spec.lifecycle {
        return Err(invalid(
            "model.id",
            format!(
                "is {} (`{}`), past its end of life on Bedrock since {since}: choose a current \
                 model (see README, \"Models\")",
                spec.name, spec.base_id
            ),
        ));
    }
    if let Some(f) = &file.foundation_model
        && f != spec.base_id
    {
        return Err(invalid(
            "model.foundation_model",
            format!("is `{f}` but model.id `{id}` routes to `{}`", spec.base_id),
        ));
    }
    let route = match resolved.prefix {
        None if spec.on_demand => ModelRoute::Direct,
        None => {
            return Err(invalid(
                "model.id",
                format!(
                    "is the base id of {}, which Bedrock serves only through an inference \
                     profile: use one of {}",
                    spec.name,
                    profile_ids(spec)
                ),
            ));
        }
        Some(prefix) => {
            let Some(profile) = resolved.profile() else {
                return Err(invalid(
                    "model.id",
                    format!(
                        "is `{id}`: the model catalogue has no `{prefix}.` profile for {} (known: {})",
                        spec.name,
                        profile_ids(spec)
                    ),
                ));
            };
            let Some(destinations) = profile.destinations(region) else {
                return Err(invalid(
                    "model.id",
                    format!(
                        "is `{id}`, whose destinations from region {region} are not documented in \
                         the model catalogue (documented source regions: {}); choose one of those \
                         regions or another profile",
                        profile.sources().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            if profile.is_global() {
                ModelRoute::Global
            } else {
                let regions: Vec<String> = destinations.iter().map(|r| (*r).to_owned()).collect();
                if let Some(given) = &file.regions
                    && given != &regions
                {
                    return Err(invalid(
                        "model.regions",
                        format!(
                            "is {given:?} but the catalogue says `{id}` routes from {region} to \
                             {regions:?}: remove the key (it is derived)"
                        ),
                    ));
                }
                ModelRoute::Geographic { regions }
            }
        }
    };
    Ok(ModelConfig {
        id: id.to_owned(),
        foundation_model: spec.base_id.to_owned(),
        route,
        spec: Some(spec),
    })
}

/// A model the catalogue does not know: accepted only when the stage names the foundation model
/// and, for a geographic profile, the regions it routes to (the IAM grant needs both).
fn unknown_model(
    file: &ModelFile,
    resolved: &models::Resolved<'_>,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<ModelConfig, StageError> {
    let Some(foundation_model) = &file.foundation_model else {
        return Err(invalid(
            "model.id",
            format!(
                "is `{}`, which is not in the model catalogue (crates/contract/src/models/data.rs): \
                 add a row with its source, or set model.foundation_model (and model.regions for a \
                 geographic profile) to deploy it with the safest sampling (none sent)",
                resolved.id
            ),
        ));
    };
    if foundation_model != resolved.base_id {
        return Err(invalid(
            "model.foundation_model",
            format!(
                "is `{foundation_model}` but model.id `{}` does not route to it",
                resolved.id
            ),
        ));
    }
    let route = match (resolved.prefix, &file.regions) {
        (None, _) => ModelRoute::Direct,
        (Some(models::GLOBAL_PREFIX), _) => ModelRoute::Global,
        (Some(_), Some(regions)) if !regions.is_empty() => ModelRoute::Geographic {
            regions: regions.clone(),
        },
        (Some(prefix), _) => {
            return Err(invalid(
                "model.regions",
                format!(
                    "is required: `{}` is a `{prefix}.` profile the catalogue does not know, and \
                     the grant must name every region it routes to",
                    resolved.id
                ),
            ));
        }
    };
    Ok(ModelConfig {
        id: resolved.id.to_owned(),
        foundation_model: foundation_model.clone(),
        route,
        spec: None,
    })
}

fn profile_ids(spec: &ModelSpec) -> String {
    spec.profiles
        .iter()
        .map(|p| format!("`{}.{}`", p.prefix, spec.base_id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `addr` is `127.x.x.x:port`: an IPv4 loopback socket address with a port.
pub fn is_loopback_socket(addr: &str) -> bool {
    addr.parse::<std::net::SocketAddrV4>()
        .is_ok_and(|a| a.ip().is_loopback() && a.port() != 0)
}

/// An `http://` URL whose host is a loopback address (127.0.0.0/8, `localhost` or `[::1]`), with
/// nothing after the port but an optional `/`. Parsed, not prefix-matched: `http://localhost.evil`
/// and `http://127.0.0.1@evil` are refused.
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '@', '?', '#']) {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return false;
    }
    match host {
        "localhost" | "[::1]" => true,
        h => h
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
    }
}

fn check_range(
    invalid: &impl Fn(&str, String) -> StageError,
    key: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), StageError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("is {value}: allowed range is {min}..={max}"),
        ))
    }
}

fn is_valid_stack_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = include_str!("../stages/dev.yaml");

    fn parse(text: &str) -> Result<StageConfig, StageError> {
        parse_stage("dev", "infra/stages/dev.yaml", text)
    }

    #[test]
    fn checked_in_stages_parse() {
        let dev = parse(DEV).expect("dev parses");
        assert_eq!(dev.stack_name, "codegen-dev");
        assert_eq!(dev.api.auth, AuthMode::AwsIam);
        assert!(!dev.is_local());
        let local = parse_stage("local", "local.yaml", include_str!("../stages/local.yaml"))
            .expect("local parses");
        assert!(local.is_local());
        assert_eq!(local.function.architecture, Architecture::X86_64);
    }

    #[test]
    fn unknown_key_names_file_key_and_allowed_keys() {
        let text = DEV.replace("memory_mb: 512", "memory_mb: 512\n  memroy: 3");
        let err = parse(&text).expect_err("unknown key").to_string();
        assert!(err.starts_with("infra/stages/dev.yaml"), "{err}");
        assert!(err.contains("memroy"), "{err}");
        assert!(err.contains("memory_mb"), "lists allowed keys: {err}");
    }

    #[test]
    fn models_resolve_through_the_catalogue() {
        let dev = parse(DEV).expect("dev parses");
        assert_eq!(dev.model.foundation_model, "anthropic.claude-sonnet-4-6");
        assert_eq!(
            dev.model.route,
            ModelRoute::Geographic {
                regions: vec!["us-east-1".into(), "us-east-2".into(), "us-west-2".into()]
            }
        );
        let global = parse(&DEV.replace(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: global.anthropic.claude-opus-4-8",
        ))
        .expect("global profile");
        assert_eq!(global.model.route, ModelRoute::Global);
        assert_eq!(global.model.foundation_model, "anthropic.claude-opus-4-8");
    }

    #[test]
    fn model_errors_name_the_key_and_the_way_out() {
        let cases = [
            // A source region whose destinations the catalogue does not know.
            (
                DEV.replace("region: us-east-1", "region: us-west-1"),
                "model.id",
                "not documented",
            ),
            (
                DEV.replace("region: us-east-1", "region: ca-central-1"),
                "model.id",
                "us-east-1, us-east-2, us-west-2",
            ),
            // A profile the model does not have, a base id that needs a profile.
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: apac.anthropic.claude-sonnet-4-6"),
                "model.id",
                "no `apac.` profile",
            ),
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: anthropic.claude-sonnet-4-6"),
                "model.id",
                "only through an inference profile",
            ),
            // Past end of life.
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-3-haiku-20240307-v1:0",
                )
                .replace("region: us-east-1", "region: us-east-2"),
                "model.id",
                "end of life",
            ),
            // Contradicting the catalogue.
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-sonnet-4-6\n  regions: [us-east-1]",
                ),
                "model.regions",
                "derived",
            ),
            // Unknown model without the keys the grant needs.
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: us.anthropic.claude-mystery-9"),
                "model.id",
                "not in the model catalogue",
            ),
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-mystery-9\n  foundation_model: anthropic.claude-mystery-9",
                ),
                "model.regions",
                "is required",
            ),
        ];
        for (text, key, needle) in cases {
            let err = parse(&text).expect_err(key).to_string();
            assert!(err.contains(key) && err.contains(needle), "{err}");
        }
        // Without budgets: budgets need the model's prices (infra/src/quotas.rs).
        let unknown = parse(
            &DEV.replace(
                "id: us.anthropic.claude-sonnet-4-6",
                "id: us.anthropic.claude-mystery-9\n  foundation_model: anthropic.claude-mystery-9\n  regions: [us-east-1, us-west-2]",
            )
            .replace(
                "quotas:\n  daily_usd: 20\n  request_max_usd: 1\n  max_jobs_per_caller: 5\n",
                "",
            ),
        )
        .expect("an unknown model with its routes is accepted");
        assert_eq!(unknown.model.spec, None);
    }

    #[test]
    fn repair_is_a_typed_stage_setting() {
        assert_eq!(parse(DEV).expect("dev").function.repair, RepairMode::Once);
        let local = parse_stage("local", "local.yaml", include_str!("../stages/local.yaml"))
            .expect("local parses");
        assert_eq!(local.function.repair, RepairMode::Once, "local mirrors dev");
        let off = parse(&DEV.replace("  repair: once\n", "  repair: off\n")).expect("valid");
        assert_eq!(off.function.repair, RepairMode::Off);
        let absent = parse(&DEV.replace("  repair: once\n", "")).expect("valid");
        assert_eq!(
            absent.function.repair,
            RepairMode::Off,
            "off unless a stage opts in"
        );
        let err = parse(&DEV.replace("  repair: once\n", "  repair: twice\n"))
            .expect_err("not a mode")
            .to_string();
        assert!(err.contains("repair") || err.contains("twice"), "{err}");
    }

    #[test]
    fn hotswap_is_a_stage_setting() {
        assert!(parse(DEV).expect("dev").allows_hotswap(), "dev opts in");
        let off = parse(&DEV.replace("  allow_hotswap: true\n", "")).expect("valid");
        assert!(!off.allows_hotswap(), "AWS stages default to no hotswap");
        let local = parse_stage("local", "local.yaml", include_str!("../stages/local.yaml"))
            .expect("local parses");
        assert!(local.allows_hotswap(), "emulator stages always may");
    }

    #[test]
    fn loopback_urls_are_parsed_not_prefix_matched() {
        for ok in [
            "http://127.0.0.1:4566",
            "http://127.1.2.3:80/",
            "http://localhost:4566",
            "http://[::1]:4566",
        ] {
            assert!(is_loopback_http(ok), "{ok}");
        }
        for bad in [
            "http://localhost.evil.tld:4566",
            "http://127.0.0.1.evil.tld",
            "http://127.0.0.1@evil.tld",
            "http://127.0.0.1:4566/../x",
            "https://127.0.0.1:4566",
            "http://10.0.0.1:4566",
            "http://127.0.0.1:0",
            "http://127.0.0.1:99999",
        ] {
            assert!(!is_loopback_http(bad), "{bad}");
        }
    }

    #[test]
    fn xray_daemon_only_on_emulator_stages_and_on_loopback() {
        let local = include_str!("../stages/local.yaml");
        let with = |daemon: &str| format!("{local}\nxray_daemon: {daemon}\n");
        let cfg = parse_stage("local", "local.yaml", &with("127.0.0.1:2000")).expect("valid");
        assert_eq!(cfg.xray_daemon.as_deref(), Some("127.0.0.1:2000"));
        for bad in [
            "10.0.0.1:2000",
            "127.0.0.1",
            "localhost:2000",
            "127.0.0.1:0",
        ] {
            let err = parse_stage("local", "local.yaml", &with(bad))
                .expect_err(bad)
                .to_string();
            assert!(err.contains("xray_daemon"), "{err}");
        }
        let err = parse(&format!("{DEV}\nxray_daemon: 127.0.0.1:2000\n"))
            .expect_err("dev")
            .to_string();
        assert!(err.contains("Lambda"), "{err}");
    }

    #[test]
    fn bedrock_endpoint_only_on_emulator_stages() {
        let local = include_str!("../stages/local.yaml");
        let with = format!("{local}\nbedrock_endpoint: http://127.0.0.1:9999\n");
        let cfg = parse_stage("local", "local.yaml", &with).expect("emulator stage");
        assert_eq!(
            cfg.bedrock_endpoint.as_deref(),
            Some("http://127.0.0.1:9999")
        );
        let err = parse(&format!("{DEV}\nbedrock_endpoint: http://127.0.0.1:9999\n"))
            .expect_err("not on AWS stages")
            .to_string();
        assert!(err.contains("bedrock_endpoint"), "{err}");
        let err = parse_stage(
            "local",
            "local.yaml",
            &format!("{local}\nbedrock_endpoint: http://localhost.evil.tld:9999\n"),
        )
        .expect_err("loopback only")
        .to_string();
        assert!(err.contains("bedrock_endpoint"), "{err}");
    }

    /// The dev stage with `api.auth: none` and, when given, an acknowledgement line under `api:`.
    fn open_dev(acknowledgement: Option<&str>) -> String {
        let auth = match acknowledgement {
            Some(text) => format!("auth: none\n  unauthenticated_acknowledged: {text}"),
            None => "auth: none".to_owned(),
        };
        assert!(
            DEV.contains("auth: aws_iam"),
            "dev.yaml changed: update the test"
        );
        DEV.replace("auth: aws_iam", &auth)
    }

    #[test]
    fn open_routes_on_aws_need_the_exact_acknowledgement() {
        let key = "api.unauthenticated_acknowledged";
        let err = parse(&open_dev(None))
            .expect_err("auth: none on AWS without the acknowledgement")
            .to_string();
        assert!(err.contains(key) && err.contains("is required"), "{err}");
        assert!(
            err.contains(UNAUTHENTICATED_ACKNOWLEDGEMENT),
            "the error quotes the line to add: {err}"
        );

        let exact = format!("\"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"");
        let open = parse(&open_dev(Some(&exact))).expect("acknowledged");
        assert_eq!(open.api.auth, AuthMode::None);
        assert_eq!(
            open.api.unauthenticated_acknowledged.as_deref(),
            Some(UNAUTHENTICATED_ACKNOWLEDGEMENT)
        );

        for wrong in [
            "\"\"",
            "\"yes\"",
            "\"Anyone who can reach the URL can spend this account's Bedrock budget\"",
            "\"anyone who can reach the URL can spend this account's Bedrock budget \"",
        ] {
            let err = parse(&open_dev(Some(wrong))).expect_err(wrong).to_string();
            assert!(
                err.contains(key) && err.contains("exactly"),
                "{wrong}: {err}"
            );
        }
    }

    #[test]
    fn acknowledgement_is_refused_where_routes_are_not_open() {
        let exact = format!("\"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"");
        let text = DEV.replace(
            "auth: aws_iam",
            &format!("auth: aws_iam\n  unauthenticated_acknowledged: {exact}"),
        );
        let err = parse(&text)
            .expect_err("aws_iam with an acknowledgement")
            .to_string();
        assert!(
            err.contains("api.unauthenticated_acknowledged") && err.contains("remove it"),
            "{err}"
        );
    }

    #[test]
    fn emulator_stages_may_open_routes_without_acknowledgement() {
        let local = include_str!("../stages/local.yaml").replace("auth: aws_iam", "auth: none");
        let cfg = parse_stage("local", "local.yaml", &local).expect("emulator stage");
        assert_eq!(cfg.api.auth, AuthMode::None);
        // A wrong acknowledgement is still refused: the file must not say something else.
        let wrong = local.replace(
            "auth: none",
            "auth: none\n  unauthenticated_acknowledged: ok",
        );
        assert!(parse_stage("local", "local.yaml", &wrong).is_err());
    }

    #[test]
    fn non_loopback_endpoint_is_rejected() {
        let text = format!("{DEV}\nendpoint: http://10.0.0.1:4566\n");
        let err = parse(&text).expect_err("non-loopback").to_string();
        assert!(err.contains("endpoint"), "{err}");
    }
}
