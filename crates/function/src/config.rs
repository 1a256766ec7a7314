//! Function configuration: the environment variables the template sets, read once at cold start
//! into a typed [`Config`]. Pure apart from [`Config::from_env`], which reads the process
//! environment.

use std::time::Duration;

use codegen_contract::{OUTPUT_PREFIX, RepairMode, env};

pub use crate::error::ConfigError;
use crate::sampling::{Sampling, SamplingError};
use crate::thinking::{Route, RouteThinking};

/// Default Bedrock model: the US cross-region inference profile of Claude Sonnet 4.6 (why: see
/// `infra/stages/dev.yaml`).
pub const DEFAULT_MODEL_ID: &str = "us.anthropic.claude-sonnet-4-6";
/// Default largest accepted `message`, in bytes (8 KiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Upper bound for `CODEGEN_MAX_MESSAGE_BYTES`; well below Lambda's 6 MB synchronous payload.
pub const MAX_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Smallest body limit, applied before any parsing (64 KiB).
pub const MIN_BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Default budget for the whole Bedrock call, retries included.
pub const DEFAULT_MODEL_TIMEOUT_MS: u64 = 25_000;
/// Smallest accepted model budget.
pub const MIN_MODEL_TIMEOUT_MS: u64 = 1_000;
/// Largest accepted model budget: API Gateway gives an integration 30 s, and the S3 write
/// ([`S3_TIMEOUT`]) plus a safety margin must still fit after the model call.
pub const MAX_MODEL_TIMEOUT_MS: u64 = 26_000;
/// Largest model budget for the jobs worker: Lambda's 900 s limit less the S3 writes and margin.
pub const MAX_WORKER_MODEL_TIMEOUT_MS: u64 = 890_000;
/// Budget for the S3 PutObject call, retries included.
pub const S3_TIMEOUT: Duration = Duration::from_secs(3);

/// What a function instance serves (`CODEGEN_ROLE`). One binary, one package; the stack gives
/// each role its own function and its own least-privilege role. The type is the contract's, shared
/// with the stack that sets the variable and the deployer that names log lines after it.
pub use codegen_contract::FunctionRole as Role;

/// Typed function configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Bucket receiving generated code (`CODEGEN_BUCKET`, required).
    pub bucket: String,
    /// Key prefix, always ending in `/` (`CODEGEN_PREFIX`, default `code-output/`).
    pub prefix: String,
    /// Bedrock model or inference-profile id (`CODEGEN_MODEL_ID`).
    pub model_id: String,
    /// Default sampling parameters, used for every field the caller does not set.
    pub defaults: Sampling,
    /// Largest accepted `message`, in bytes (`CODEGEN_MAX_MESSAGE_BYTES`).
    pub max_message_bytes: usize,
    /// Largest accepted (decoded) request body, in bytes; derived from `max_message_bytes`.
    pub max_body_bytes: usize,
    /// Budget for the Bedrock call, retries included (`CODEGEN_MODEL_TIMEOUT_MS`).
    pub model_timeout: Duration,
    /// Budget for the S3 write, retries included.
    pub s3_timeout: Duration,
    /// Address S3 path-style (`CODEGEN_S3_FORCE_PATH_STYLE=true`), for local emulators.
    pub s3_force_path_style: bool,
    /// What this instance serves (`CODEGEN_ROLE`, default `sync`).
    pub role: Role,
    /// The jobs queue (`CODEGEN_JOBS_QUEUE_URL`; required for `submit`).
    pub jobs_queue_url: Option<String>,
    /// The jobs dead-letter queue (`CODEGEN_JOBS_DEAD_LETTER_ARN`; `worker`).
    pub jobs_dead_letter_arn: Option<String>,
    /// When an unfinished job counts as failed (`CODEGEN_JOB_STALE_AFTER_SECONDS`; `status`).
    pub job_stale_after: Duration,
    /// Whether code that does not parse gets one follow-up model call (`CODEGEN_REPAIR`, default
    /// `off`).
    pub repair: RepairMode,
    /// Thinking and effort for the route this instance serves (the jobs route's for the worker
    /// and the submitter, the synchronous route's otherwise; `CODEGEN_{SYNC,JOBS}_*`).
    pub thinking: RouteThinking,
    /// The stage's name (`CODEGEN_STAGE`), the `Stage` dimension of the metrics (`unknown` when
    /// unset, as in a test).
    pub stage: String,
    /// Budgets per caller (`CODEGEN_QUOTA_*`); `None`: the stage has none.
    pub quotas: Option<Quotas>,
}

/// The stage's budgets and where they are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// The budget table (`CODEGEN_QUOTA_TABLE`).
    pub table: String,
    /// The budgets, in micro-dollars.
    pub limits: codegen_contract::quota::Limits,
}

fn quotas_from(get: impl Fn(&str) -> Option<String>) -> Result<Option<Quotas>, ConfigError> {
    use codegen_contract::quota::{Limits, env as qenv, parse_overrides};
    let Some(table) = get(qenv::TABLE) else {
        return Ok(None);
    };
    let daily = get(qenv::DAILY_MICRO_USD).ok_or(ConfigError::Missing(qenv::DAILY_MICRO_USD))?;
    let daily = parse_ranged(qenv::DAILY_MICRO_USD, &daily, 1, u64::MAX)?;
    let request_max = get(qenv::REQUEST_MAX_MICRO_USD)
        .map(|v| parse_ranged(qenv::REQUEST_MAX_MICRO_USD, &v, 1, u64::MAX))
        .transpose()?;
    let max_jobs_per_caller = get(qenv::MAX_JOBS_PER_CALLER)
        .map(|v| parse_ranged(qenv::MAX_JOBS_PER_CALLER, &v, 1, u32::MAX))
        .transpose()?;
    let overrides =
        parse_overrides(&get(qenv::OVERRIDES).unwrap_or_default()).map_err(|reason| {
            ConfigError::Invalid {
                name: qenv::OVERRIDES,
                reason,
            }
        })?;
    Ok(Some(Quotas {
        table,
        limits: Limits {
            daily,
            request_max,
            overrides,
            max_jobs_per_caller,
        },
    }))
}

/// Default for [`Config::job_stale_after`]: an hour.
pub const DEFAULT_JOB_STALE_AFTER_SECONDS: u64 = 3600;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (variable name to value), so tests need not touch
    /// the process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let bucket = get(env::BUCKET).ok_or(ConfigError::Missing(env::BUCKET))?;
        let prefix = normalise_prefix(get(env::PREFIX).as_deref().unwrap_or(OUTPUT_PREFIX));
        let model_id = get(env::MODEL_ID).unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned());

        let mut defaults = Sampling::default();
        if let Some(v) = get(env::TEMPERATURE) {
            defaults.temperature = parse_with(env::TEMPERATURE, &v, Sampling::check_temperature)?;
        }
        if let Some(v) = get(env::TOP_P) {
            defaults.top_p = parse_with(env::TOP_P, &v, Sampling::check_top_p)?;
        }
        if let Some(v) = get(env::TOP_K) {
            defaults.top_k = parse_with(env::TOP_K, &v, Sampling::check_top_k)?;
        }
        if let Some(v) = get(env::MAX_TOKENS) {
            defaults.max_tokens = parse_with(env::MAX_TOKENS, &v, Sampling::check_max_tokens)?;
        }

        let max_message_bytes = match get(env::MAX_MESSAGE_BYTES) {
            None => DEFAULT_MAX_MESSAGE_BYTES,
            Some(v) => parse_ranged(env::MAX_MESSAGE_BYTES, &v, 1, MAX_MAX_MESSAGE_BYTES)?,
        };
        let role = match get(env::ROLE) {
            None => Role::Sync,
            Some(v) => Role::parse(&v).ok_or_else(|| ConfigError::Invalid {
                name: env::ROLE,
                reason: format!("`{v}` is not one of sync, submit, status, worker"),
            })?,
        };
        // Only the worker runs outside API Gateway's 30 s.
        let max_model_timeout = if role == Role::Worker {
            MAX_WORKER_MODEL_TIMEOUT_MS
        } else {
            MAX_MODEL_TIMEOUT_MS
        };
        let model_timeout_ms = match get(env::MODEL_TIMEOUT_MS) {
            None => DEFAULT_MODEL_TIMEOUT_MS,
            Some(v) => parse_ranged(
                env::MODEL_TIMEOUT_MS,
                &v,
                MIN_MODEL_TIMEOUT_MS,
                max_model_timeout,
            )?,
        };
        let jobs_queue_url = get(env::JOBS_QUEUE_URL);
        if role == Role::Submit && jobs_queue_url.is_none() {
            return Err(ConfigError::Missing(env::JOBS_QUEUE_URL));
        }
        let job_stale_after = match get(env::JOB_STALE_AFTER_SECONDS) {
            None => DEFAULT_JOB_STALE_AFTER_SECONDS,
            Some(v) => parse_ranged(env::JOB_STALE_AFTER_SECONDS, &v, 1, 14 * 24 * 3600)?,
        };
        let s3_force_path_style = match get(env::S3_FORCE_PATH_STYLE) {
            None => false,
            Some(v) => parse_bool(env::S3_FORCE_PATH_STYLE, &v)?,
        };
        let repair = match get(env::REPAIR) {
            None => RepairMode::default(),
            Some(v) => RepairMode::parse(&v).ok_or_else(|| ConfigError::Invalid {
                name: env::REPAIR,
                reason: format!("`{v}` is not one of off, once"),
            })?,
        };

        // The submitter reserves a job's budget with the jobs route's thinking reservation.
        let route = if matches!(role, Role::Worker | Role::Submit) {
            Route::Jobs
        } else {
            Route::Sync
        };
        let thinking = RouteThinking::from_lookup(route, get)?;
        let stage = get(env::STAGE).unwrap_or_else(|| "unknown".to_owned());
        let quotas = quotas_from(get)?;

        Ok(Self {
            stage,
            bucket,
            prefix,
            model_id,
            defaults,
            max_message_bytes,
            max_body_bytes: body_limit(max_message_bytes),
            model_timeout: Duration::from_millis(model_timeout_ms),
            s3_timeout: S3_TIMEOUT,
            s3_force_path_style,
            role,
            jobs_queue_url,
            jobs_dead_letter_arn: get(env::JOBS_DEAD_LETTER_ARN),
            job_stale_after: Duration::from_secs(job_stale_after),
            repair,
            thinking,
            quotas,
        })
    }
}

/// The body limit for a given message limit: at least 64 KiB, and room for a message whose every
/// character JSON-escapes to six bytes (`\u0001`).
pub fn body_limit(max_message_bytes: usize) -> usize {
    MIN_BODY_LIMIT_BYTES.max(max_message_bytes.saturating_mul(6).saturating_add(4096))
}

/// Strips leading slashes and guarantees one trailing slash, so keys never start with `/` nor
/// glue the prefix to the date (`code-output2026/...`).
fn normalise_prefix(raw: &str) -> String {
    let trimmed = raw.trim_start_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

fn parse_with<T: std::str::FromStr>(
    name: &'static str,
    raw: &str,
    check: impl Fn(T) -> Result<T, SamplingError>,
) -> Result<T, ConfigError> {
    let value = raw.parse::<T>().map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("`{raw}` is not a number"),
    })?;
    check(value).map_err(|e| ConfigError::Invalid {
        name,
        reason: e.to_string(),
    })
}

fn parse_ranged<T>(name: &'static str, raw: &str, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let value = raw.parse::<T>().map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("`{raw}` is not a whole number"),
    })?;
    if value < min || value > max {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{value} is outside {min}..={max}"),
        });
    }
    Ok(value)
}

fn parse_bool(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("`{raw}` is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_bucket_is_set() {
        let c = from(&[(env::BUCKET, "b")]).expect("valid");
        assert_eq!(c.bucket, "b");
        assert_eq!(c.prefix, "code-output/");
        assert_eq!(c.model_id, DEFAULT_MODEL_ID);
        assert_eq!(c.defaults, Sampling::default());
        assert_eq!(c.max_message_bytes, 8192);
        assert_eq!(c.max_body_bytes, 64 * 1024);
        assert_eq!(c.model_timeout, Duration::from_millis(25_000));
        assert!(!c.s3_force_path_style);
        assert_eq!(c.repair, RepairMode::Off);
        // The whole budget fits in API Gateway's 30 s integration timeout.
        assert!(c.model_timeout + c.s3_timeout < Duration::from_secs(30));
    }

    #[test]
    fn bucket_is_required() {
        assert_eq!(from(&[]), Err(ConfigError::Missing(env::BUCKET)));
        assert_eq!(
            from(&[(env::BUCKET, "  ")]),
            Err(ConfigError::Missing(env::BUCKET))
        );
    }

    #[test]
    fn every_variable_is_read() {
        let c = from(&[
            (env::BUCKET, "bucket"),
            (env::PREFIX, "/custom"),
            (env::MODEL_ID, "anthropic.claude-3-haiku-20240307-v1:0"),
            (env::TEMPERATURE, "0.5"),
            (env::TOP_K, "40"),
            (env::TOP_P, "0.9"),
            (env::MAX_TOKENS, "1000"),
            (env::MAX_MESSAGE_BYTES, "100000"),
            (env::MODEL_TIMEOUT_MS, "20000"),
            (env::S3_FORCE_PATH_STYLE, "TRUE"),
            (env::REPAIR, "once"),
        ])
        .expect("valid");
        assert_eq!(c.prefix, "custom/");
        assert_eq!(c.model_id, "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(
            c.defaults,
            Sampling {
                temperature: 0.5,
                top_k: 40,
                top_p: 0.9,
                max_tokens: 1000
            }
        );
        assert_eq!(c.max_message_bytes, 100_000);
        assert!(c.max_body_bytes >= 600_000);
        assert_eq!(c.model_timeout, Duration::from_secs(20));
        assert!(c.s3_force_path_style);
        assert_eq!(c.repair, RepairMode::Once);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (name, value) in [
            (env::TEMPERATURE, "2"),
            (env::TEMPERATURE, "hot"),
            (env::TOP_P, "-0.1"),
            (env::TOP_K, "0"),
            (env::MAX_TOKENS, "9000"),
            (env::MAX_MESSAGE_BYTES, "0"),
            (env::MODEL_TIMEOUT_MS, "29000"),
            (env::MODEL_TIMEOUT_MS, "500"),
            (env::S3_FORCE_PATH_STYLE, "maybe"),
            (env::REPAIR, "twice"),
            (env::REPAIR, "ONCE"),
        ] {
            match from(&[(env::BUCKET, "b"), (name, value)]) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name, "{name}={value}"),
                other => panic!("{name}={value}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn roles_and_their_settings() {
        let worker = from(&[
            (env::BUCKET, "b"),
            (env::ROLE, "worker"),
            (env::MODEL_TIMEOUT_MS, "290000"),
        ])
        .expect("the worker may wait far beyond 30 s");
        assert_eq!(worker.role, Role::Worker);
        assert_eq!(worker.model_timeout, Duration::from_secs(290));
        assert!(matches!(
            from(&[(env::BUCKET, "b"), (env::MODEL_TIMEOUT_MS, "290000")]),
            Err(ConfigError::Invalid { .. })
        ));
        assert_eq!(
            from(&[(env::BUCKET, "b"), (env::ROLE, "submit")]),
            Err(ConfigError::Missing(env::JOBS_QUEUE_URL))
        );
        assert!(matches!(
            from(&[(env::BUCKET, "b"), (env::ROLE, "admin")]),
            Err(ConfigError::Invalid {
                name: env::ROLE,
                ..
            })
        ));
        let status = from(&[
            (env::BUCKET, "b"),
            (env::ROLE, "status"),
            (env::JOB_STALE_AFTER_SECONDS, "600"),
        ])
        .expect("valid");
        assert_eq!(status.job_stale_after, Duration::from_secs(600));
    }

    #[test]
    fn prefix_is_normalised() {
        assert_eq!(normalise_prefix("code-output/"), "code-output/");
        assert_eq!(normalise_prefix("code-output"), "code-output/");
        assert_eq!(normalise_prefix("//a/b"), "a/b/");
        assert_eq!(normalise_prefix("/"), "");
    }
}
