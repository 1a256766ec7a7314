//! One home for every name the app stack, the bootstrap stack, the deployer and the bootstrap's
//! IAM policies share. A name written twice drifts, and a drift between a policy and the call it
//! should authorise is an AccessDenied on real AWS that no emulator test catches; so the stack,
//! the policies and `xtask` all call these functions. Pure.

/// Name of the bootstrap stack of an app stack: `<stack>-bootstrap`.
pub fn bootstrap_stack(stack: &str) -> String {
    format!("{stack}-bootstrap")
}

/// Export of the bootstrap stack that carries the id of the stack's HTTP API. The bootstrap owns
/// the API so that its roles can name `/apis/<id>` (the id exists only once the API does); the app
/// stack imports it and adds the routes, integrations and stage.
pub fn api_id_export(stack: &str) -> String {
    format!("{}-ApiId", bootstrap_stack(stack))
}

/// Export of the bootstrap stack that carries the ARN of the stage's alarm topic. The bootstrap
/// (an administrator) owns the topic and the key that encrypts it, so that the CloudFormation
/// execution role needs no SNS or KMS permission at all; the app stack's alarms notify it.
pub fn alarm_topic_export(stack: &str) -> String {
    format!("{}-AlarmTopicArn", bootstrap_stack(stack))
}

/// Export of the bootstrap stack that carries the HTTP API's endpoint
/// (`https://<id>.execute-api.<region>.amazonaws.com`).
pub fn api_endpoint_export(stack: &str) -> String {
    format!("{}-ApiEndpoint", bootstrap_stack(stack))
}

/// Name of the CloudFormation execution role (the service role every change set runs with).
pub fn execution_role(stack: &str) -> String {
    format!("{stack}-cfn-exec")
}

/// Name of the deploy role (CI's `deploy`/`destroy`, or a person's).
pub fn deploy_role(stack: &str) -> String {
    format!("{stack}-deploy")
}

/// Name of the plan role (creates change sets, never executes them).
pub fn plan_role(stack: &str) -> String {
    format!("{stack}-plan")
}

/// Name of the read-only diff role (pull requests).
pub fn diff_role(stack: &str) -> String {
    format!("{stack}-diff")
}

/// Name of the managed policy every role the app stack creates must carry as its permissions
/// boundary.
pub fn permissions_boundary(stack: &str) -> String {
    format!("{stack}-boundary")
}

/// Pattern of the physical name CloudFormation generates for the app stack's role `logical_id`:
/// `<stack>-<logical id>-<suffix>`.
pub fn generated_role_pattern(stack: &str, logical_id: &str) -> String {
    format!("{stack}-{logical_id}-*")
}

/// Pattern of the app stack's code bucket name: CloudFormation generates
/// `<stack>-<logical id>-<suffix>`, lower-cased for buckets.
pub fn code_bucket_pattern(stack: &str) -> String {
    format!("{}-codebucket-*", stack.to_ascii_lowercase())
}

/// Where a stack's function packages live in its asset bucket: `codegen-function/<stack>/`.
pub fn package_prefix(stack: &str) -> String {
    format!("codegen-function/{stack}/")
}

/// Prefix of the deploy records in the asset bucket (see [`deployment_record_key`]).
pub const DEPLOYMENT_RECORDS_PREFIX: &str = "deployments/";

/// Key of the record of a stack's last fully successful deploy, in the asset bucket.
pub fn deployment_record_key(stack: &str) -> String {
    format!("{DEPLOYMENT_RECORDS_PREFIX}{stack}.json")
}

/// Prefix of the change sets the deployer creates (a unique suffix follows).
pub const CHANGE_SET_PREFIX: &str = "codegen-";

/// Name of the API access log group of a stack.
pub fn access_log_group(stack: &str) -> String {
    format!("/aws/apigateway/{stack}-access")
}

/// Name of a function's log group.
pub fn function_log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// The GitHub Actions OIDC provider's host, which is also the prefix of its IAM condition keys
/// (`token.actions.githubusercontent.com:sub`, `:aud`; GitHub docs, "Configuring OpenID Connect
/// in Amazon Web Services").
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_their_iam_and_cloudformation_limits() {
        // Stack names are at most 50 characters (stage validation); IAM role names at most 64,
        // managed policy names at most 128, stack names at most 128.
        let stack = "s".repeat(50);
        assert!(execution_role(&stack).len() <= 64);
        assert!(deploy_role(&stack).len() <= 64);
        assert!(diff_role(&stack).len() <= 64);
        assert!(plan_role(&stack).len() <= 64);
        assert!(permissions_boundary(&stack).len() <= 128);
        assert!(bootstrap_stack(&stack).len() <= 128);
    }

    #[test]
    fn patterns_follow_cloudformation_generated_names() {
        assert_eq!(
            code_bucket_pattern("Codegen-Dev"),
            "codegen-dev-codebucket-*"
        );
        assert_eq!(
            generated_role_pattern("codegen-dev", "FunctionRole"),
            "codegen-dev-FunctionRole-*"
        );
        assert_eq!(
            package_prefix("codegen-dev"),
            "codegen-function/codegen-dev/"
        );
        assert_eq!(
            deployment_record_key("codegen-dev"),
            "deployments/codegen-dev.json"
        );
        assert_eq!(api_id_export("codegen-dev"), "codegen-dev-bootstrap-ApiId");
        assert_eq!(
            api_endpoint_export("codegen-dev"),
            "codegen-dev-bootstrap-ApiEndpoint"
        );
    }
}
