//! What every entry point borrows ([`Deps`]): the SDK clients and the configuration built once
//! per cold start, and the clock. The handler, the jobs routes, the worker, the pipeline and the
//! budgets all take it, so it lives below all of them. No IO of its own.

use time::OffsetDateTime;

use crate::config::Config;

/// Source of the current time (UTC); a plain function so tests can pin it.
pub type Clock = fn() -> OffsetDateTime;

/// What the handler borrows: clients and configuration built once per cold start.
#[derive(Debug, Clone, Copy)]
pub struct Deps<'a> {
    /// Bedrock Runtime client.
    pub bedrock: &'a aws_sdk_bedrockruntime::Client,
    /// S3 client.
    pub s3: &'a aws_sdk_s3::Client,
    /// SQS client (the `submit` role enqueues jobs with it).
    pub sqs: Option<&'a aws_sdk_sqs::Client>,
    /// DynamoDB client (the budget table; `None` when the stage has no budgets).
    pub dynamodb: Option<&'a aws_sdk_dynamodb::Client>,
    /// Function configuration.
    pub config: &'a Config,
    /// Current time, for object keys.
    pub clock: Clock,
}
