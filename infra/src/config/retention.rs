//! How long the stage keeps what it writes: the `logs:` and `bucket:` sections. Pure.

use cfn_constructs::logs::RETENTION_DAYS;
use serde::Deserialize;

use super::checks::check_range;
use super::error::StageError;

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

/// One of CloudWatch Logs' retention periods.
pub(super) fn validate_logs(
    logs: &LogsConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    if !RETENTION_DAYS.contains(&logs.retention_days) {
        return Err(invalid(
            "logs.retention_days",
            format!(
                "is {}: allowed values are {RETENTION_DAYS:?}",
                logs.retention_days
            ),
        ));
    }
    Ok(())
}

/// Expiry of code and of noncurrent versions within ten years.
pub(super) fn validate_bucket(
    bucket: &BucketConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    check_range(
        invalid,
        "bucket.code_expiry_days",
        f64::from(bucket.code_expiry_days),
        1.0,
        3650.0,
    )?;
    check_range(
        invalid,
        "bucket.noncurrent_expiry_days",
        f64::from(bucket.noncurrent_expiry_days),
        1.0,
        3650.0,
    )?;
    Ok(())
}
