//! The whole stage file ([`StageFile`], as written) and the validated [`StageConfig`]:
//! [`parse_stage`] checks the top-level keys here and hands each section to its own validator. Pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::alarms::AlarmsConfig;
use super::api::{ApiConfig, validate_auth, validate_throttling};
use super::bootstrap::{BootstrapConfig, validate_bootstrap};
use super::checks::{is_region, is_valid_stack_name};
use super::error::StageError;
use super::function::{FunctionConfig, validate_function};
use super::jobs::{JobsConfig, validate_jobs};
use super::loopback::{is_loopback_http, is_loopback_socket};
use super::model::{
    ModelConfig, ModelFile, SamplingConfig, model_warnings, validate_model, validate_sampling,
};
use super::retention::{BucketConfig, LogsConfig, validate_bucket, validate_logs};
use crate::protection::{AccountId, Protection};

/// A local emulator a stage targets, and so which of its known differences from AWS to handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Emulator {
    /// ministack: authorises Converse as `bedrock:Converse` (AWS: `bedrock:InvokeModel`) and
    /// serves plain HTTP only, so `aws:SecureTransport` is always false there.
    Ministack,
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
    alarms: AlarmsConfig,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

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
    pub alarms: AlarmsConfig,
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
    // The order of the checks is the order in which a file with several mistakes reports them.
    let stack_name = validate_placement(stage, &raw, &invalid)?;
    validate_endpoints(&raw, &invalid)?;
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
    validate_sampling(&raw.sampling, &model, &invalid)?;
    validate_function(&raw.function, &invalid)?;
    validate_throttling(&raw.api.throttling, &invalid)?;
    validate_jobs(&raw.jobs, &invalid)?;
    validate_logs(&raw.logs, &invalid)?;
    validate_bucket(&raw.bucket, &invalid)?;
    validate_bootstrap(&raw.bootstrap, &invalid)?;
    raw.alarms.validate(&invalid)?;
    validate_tags(&raw.tags, &invalid)?;
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

/// The stack's name (`codegen-<stage>` unless set) and the region it lives in.
fn validate_placement(
    stage: &str,
    raw: &StageFile,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<String, StageError> {
    let stack_name = raw
        .stack_name
        .clone()
        .unwrap_or_else(|| format!("codegen-{stage}"));
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
    Ok(stack_name)
}

/// Emulator stages name a loopback endpoint and the emulator behind it, and only they may send
/// Bedrock calls or trace segments to a loopback address of their own.
fn validate_endpoints(
    raw: &StageFile,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
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
    Ok(())
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

/// Tag keys and values within AWS's limits, none in the reserved `aws:` namespace.
fn validate_tags(
    tags: &BTreeMap<String, String>,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    if let Some((k, _)) = tags
        .iter()
        .find(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:"))
    {
        return Err(invalid(
            &format!("tags.{k}"),
            "must be 1-128 characters, not start with `aws:`, value at most 256".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{DEV, LOCAL, parse};
    use crate::config::{Architecture, AuthMode};

    #[test]
    fn checked_in_stages_parse() {
        let dev = parse(DEV).expect("dev parses");
        assert_eq!(dev.stack_name, "codegen-dev");
        assert_eq!(dev.api.auth, AuthMode::AwsIam);
        assert!(!dev.is_local());
        let local = parse_stage("local", "local.yaml", LOCAL).expect("local parses");
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
    fn hotswap_is_a_stage_setting() {
        assert!(parse(DEV).expect("dev").allows_hotswap(), "dev opts in");
        let off = parse(&DEV.replace("  allow_hotswap: true\n", "")).expect("valid");
        assert!(!off.allows_hotswap(), "AWS stages default to no hotswap");
        let local = parse_stage("local", "local.yaml", LOCAL).expect("local parses");
        assert!(local.allows_hotswap(), "emulator stages always may");
    }

    #[test]
    fn xray_daemon_only_on_emulator_stages_and_on_loopback() {
        let local = LOCAL;
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
        let local = LOCAL;
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

    #[test]
    fn non_loopback_endpoint_is_rejected() {
        let text = format!("{DEV}\nendpoint: http://10.0.0.1:4566\n");
        let err = parse(&text).expect_err("non-loopback").to_string();
        assert!(err.contains("endpoint"), "{err}");
    }
}
