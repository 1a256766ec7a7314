//! The stage file's `jobs:` section: the worker's timeout, the queue's bounds and when a job is
//! given up. Pure.

use serde::Deserialize;

use super::checks::check_range;
use super::error::StageError;
use super::function::MIN_FUNCTION_TIMEOUT_SECONDS;

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

/// Worker timeout, attempts and concurrency in range; a visibility timeout Lambda and SQS accept;
/// time for every attempt before the job is given up.
pub(super) fn validate_jobs(
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
