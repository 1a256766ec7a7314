//! What the stack's resources are called, and what it hands out: logical ids, the template's
//! parameters and outputs, the names derived from the stage. Pure data.

use cfn_constructs::Expr;
use codegen_contract::FunctionRole;

use crate::names;

/// ARN of the permissions boundary the bootstrap stack creates for `stack` (a fixed name, so the
/// app stack names it without a lookup).
pub fn permissions_boundary_arn(stack: &str) -> Expr {
    Expr::sub(format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}",
        names::permissions_boundary(stack)
    ))
}

/// Logical id of the output bucket.
pub const CODE_BUCKET: &str = "CodeBucket";
/// Logical id of the function's execution role.
pub const FUNCTION_ROLE: &str = "FunctionRole";
/// Logical id of the function.
pub const FUNCTION: &str = "Function";
/// Logical id of the function's log group.
pub const FUNCTION_LOGS: &str = "FunctionLogGroup";
/// Logical id of the API access log group.
pub const ACCESS_LOGS: &str = "ApiAccessLogGroup";
/// Logical-id prefix of the HTTP API's routes, integrations and stage (the API itself is the
/// bootstrap stack's [`crate::bootstrap::API`]).
pub const API: &str = "Api";
/// Logical id of the jobs queue.
pub const JOBS_QUEUE: &str = "JobsQueue";
/// Logical id of the jobs dead-letter queue.
pub const JOBS_DEAD_LETTER_QUEUE: &str = "JobsDeadLetterQueue";
/// Logical id of the budget table (only with a `quotas` section).
pub const QUOTA_TABLE: &str = "QuotaTable";
/// Logical ids of the jobs functions' parts: `<prefix>Function`, `<prefix>Role`, `<prefix>LogGroup`.
pub const JOBS_SUBMIT: &str = "JobsSubmit";
/// See [`JOBS_SUBMIT`].
pub const JOBS_STATUS: &str = "JobsStatus";
/// See [`JOBS_SUBMIT`].
pub const JOBS_WORKER: &str = "JobsWorker";
/// Logical id of the function serving `role`. The deployer maps the stack's own resources back to
/// roles with it (hotswap, post-deploy check, `logs`).
pub fn function_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION.to_owned(),
        other => format!("{}Function", jobs_prefix(other)),
    }
}

/// Logical id of the log group of the function serving `role`.
pub fn log_group_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION_LOGS.to_owned(),
        other => format!("{}LogGroup", jobs_prefix(other)),
    }
}

/// Logical id of the execution role of the function serving `role`.
pub fn role_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION_ROLE.to_owned(),
        other => format!("{}Role", jobs_prefix(other)),
    }
}

fn jobs_prefix(role: FunctionRole) -> &'static str {
    match role {
        FunctionRole::Submit => JOBS_SUBMIT,
        FunctionRole::Status => JOBS_STATUS,
        FunctionRole::Worker | FunctionRole::Sync => JOBS_WORKER,
    }
}

/// Seconds the submit and status functions may take (two or three small S3/SQS calls).
pub const JOBS_API_TIMEOUT_SECONDS: u32 = 10;
/// Most concurrent workers on the dead-letter queue (the event source minimum, 2).
pub const DEAD_LETTER_CONCURRENCY: u32 = 2;
/// How long the dead-letter queue keeps a message: SQS's maximum, 14 days.
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 1_209_600;

/// Parameter: bucket holding the function package (the deployer's asset bucket).
pub const PARAM_CODE_BUCKET: &str = "CodeS3Bucket";
/// Parameter: key of the function package (`<sha256>.zip`).
pub const PARAM_CODE_KEY: &str = "CodeS3Key";
/// Parameter: the S3 version of the package object the deployer uploaded or verified.
pub const PARAM_CODE_VERSION: &str = "CodeS3ObjectVersion";
/// Parameter: the architecture the package was built for.
pub const PARAM_ARCHITECTURE: &str = "Architecture";

/// Output names (the deployer and the tests read these).
pub mod outputs {
    /// Stage base URL.
    pub const API_ENDPOINT: &str = "ApiEndpoint";
    /// Full URL of the route.
    pub const INVOKE_URL: &str = "InvokeUrl";
    /// Output bucket name.
    pub const BUCKET_NAME: &str = "BucketName";
    /// Function name.
    pub const FUNCTION_NAME: &str = "FunctionName";
    /// Function role ARN.
    pub const ROLE_ARN: &str = "FunctionRoleArn";
    /// API id.
    pub const API_ID: &str = "ApiId";
    /// Stage name.
    pub const STAGE_NAME: &str = "StageName";
    /// Function log group name.
    pub const LOG_GROUP: &str = "FunctionLogGroupName";
    /// URL of the jobs queue.
    pub const JOBS_QUEUE_URL: &str = "JobsQueueUrl";
    /// Name of the jobs worker function.
    pub const JOBS_WORKER_FUNCTION: &str = "JobsWorkerFunctionName";
}

/// Name of the dead-letter queue of the jobs queue `jobs_queue`.
pub fn dead_letter_queue_name(jobs_queue: &str) -> String {
    format!("{jobs_queue}-dlq")
}
