//! The bootstrap stack's logical ids, outputs and version: what the app stack and the deployer
//! refer to it by. Pure data.

/// Version of the bootstrap template; `deploy` refuses a bootstrap stack of another version
/// ("run `cargo xtask bootstrap` again"), as CDK checks its `BootstrapVersion`.
/// Version 2: the bootstrap owns the HTTP API and exports its id and endpoint.
pub const BOOTSTRAP_VERSION: u32 = 2;

/// Logical id of the stack's HTTP API.
pub const API: &str = "Api";
/// Logical id of the asset bucket.
pub const ASSET_BUCKET: &str = "AssetBucket";
/// Logical id of the permissions boundary policy.
pub const BOUNDARY: &str = "PermissionsBoundary";
/// Logical id of the CloudFormation execution role.
pub const EXECUTION_ROLE: &str = "ExecutionRole";
/// Logical id of the deploy role.
pub const DEPLOY_ROLE: &str = "DeployRole";
/// Logical id of the diff role.
pub const DIFF_ROLE: &str = "DiffRole";
/// Logical id of the plan role.
pub const PLAN_ROLE: &str = "PlanRole";

/// Output names of the bootstrap stack (the deployer reads these).
pub mod outputs {
    /// Asset bucket name.
    pub const ASSET_BUCKET: &str = "AssetBucketName";
    /// Execution role ARN.
    pub const EXECUTION_ROLE_ARN: &str = "ExecutionRoleArn";
    /// Deploy role ARN.
    pub const DEPLOY_ROLE_ARN: &str = "DeployRoleArn";
    /// Diff role ARN.
    pub const DIFF_ROLE_ARN: &str = "DiffRoleArn";
    /// Plan role ARN.
    pub const PLAN_ROLE_ARN: &str = "PlanRoleArn";
    /// Permissions boundary ARN.
    pub const BOUNDARY_ARN: &str = "PermissionsBoundaryArn";
    /// [`super::BOOTSTRAP_VERSION`].
    pub const VERSION: &str = "BootstrapVersion";
    /// The HTTP API's id (exported as [`crate::names::api_id_export`]).
    pub const API_ID: &str = "ApiId";
    /// The HTTP API's endpoint (exported as [`crate::names::api_endpoint_export`]).
    pub const API_ENDPOINT: &str = "ApiEndpoint";
    /// The stage's alarm topic ARN (exported; absent when the stage file names its own topic).
    pub const ALARM_TOPIC_ARN: &str = "AlarmTopicArn";
}
