//! The one place SDK clients are built: Bedrock Runtime and S3 from a shared `aws_config`
//! [`SdkConfig`] (region, credentials and `AWS_ENDPOINT_URL` come from the environment), with
//! timeouts and bounded retries that fit API Gateway's 30 s integration limit.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::config::Config;

/// Attempts per call, first one included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Standard retries with short backoff, so that retries stay inside each call's operation
/// timeout (which covers every attempt and every backoff).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(2))
}

/// Bedrock: the whole call, retries included, must end within the model budget.
pub fn bedrock_timeouts(config: &Config) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(config.model_timeout)
        .build()
}

/// S3: a small PutObject; each attempt gets a third of the budget so a retry still fits.
pub fn s3_timeouts(config: &Config) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(config.s3_timeout / MAX_ATTEMPTS)
        .operation_timeout(config.s3_timeout)
        .build()
}

/// Builds the Bedrock Runtime client.
pub fn bedrock_client(sdk: &SdkConfig, config: &Config) -> aws_sdk_bedrockruntime::Client {
    let conf = aws_sdk_bedrockruntime::config::Builder::from(sdk)
        .timeout_config(bedrock_timeouts(config))
        .retry_config(retry_config())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(conf)
}

/// Builds the SQS client (the jobs submitter's), with the same bounded retries.
pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(retry_config())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// Builds the DynamoDB client (the budget table), with short timeouts: a reservation is on the
/// request path, before the model call.
pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .retry_config(retry_config())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Builds the S3 client, path-style when configured (local emulators).
pub fn s3_client(sdk: &SdkConfig, config: &Config) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .timeout_config(s3_timeouts(config))
        .retry_config(retry_config())
        .force_path_style(config.s3_force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};

    fn config() -> Config {
        Config::from_lookup(|name| (name == codegen_contract::env::BUCKET).then(|| "b".to_owned()))
            .expect("valid")
    }

    fn sdk() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build()
    }

    #[test]
    fn budgets_fit_api_gateway() {
        let c = config();
        let b = bedrock_timeouts(&c);
        let s = s3_timeouts(&c);
        let total = b.operation_timeout().unwrap_or(Duration::MAX)
            + s.operation_timeout().unwrap_or(Duration::MAX);
        assert!(total < Duration::from_secs(30), "{total:?}");
        assert!(s.operation_attempt_timeout() < s.operation_timeout());
    }

    #[test]
    fn clients_carry_timeouts_retries_and_path_style() {
        let mut c = config();
        c.s3_force_path_style = true;
        let bedrock = bedrock_client(&sdk(), &c);
        let timeouts = bedrock.config().timeout_config().cloned();
        assert_eq!(
            timeouts.and_then(|t| t.operation_timeout()),
            Some(Duration::from_millis(25_000))
        );
        assert_eq!(
            bedrock
                .config()
                .retry_config()
                .map(RetryConfig::max_attempts),
            Some(MAX_ATTEMPTS)
        );
        let s3 = s3_client(&sdk(), &c);
        assert_eq!(
            s3.config()
                .timeout_config()
                .and_then(|t| t.operation_timeout()),
            Some(Duration::from_secs(3))
        );
    }
}
