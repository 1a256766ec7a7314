//! The deployer's own least-privilege IAM policy: what `cargo xtask deploy`, `diff`, `destroy`,
//! `outputs`, `logs` and `invoke` need for one stage, as an identity policy for the CI role (or a
//! person). Pure: no SDK, no IO; the committed copy for `dev` is `infra/deployer-policy/dev.json`.
//!
//! CloudFormation runs with the caller's credentials (the deployer passes no service role), so the
//! policy also grants what CloudFormation needs to create, update and delete the stack's resources.
//! Everything is scoped to the stage's stack name, except where AWS assigns the identifier at
//! creation or has no resource-level permissions: those statements are listed in
//! [`UNSCOPED_STATEMENTS`] with the reason.

use std::collections::BTreeMap;

use codegen_contract::{
    JOB_STATUS_METHOD, JOBS_PATH, JOBS_SUBMIT_METHOD, ROUTE_METHOD, ROUTE_PATH,
};
use serde::Serialize;
use serde_json::Value;

use crate::config::{ModelRoute, StageConfig};
use crate::stack;

/// Placeholder for the account id when the policy is rendered without one (the committed file).
pub const ACCOUNT_PLACEHOLDER: &str = "ACCOUNT_ID";

/// Name of the deployer's asset bucket for an account and region (`cargo xtask` creates it on
/// first deploy, as CDK's bootstrap does). Must match `xtask::assets::bucket_name`; the
/// end-to-end crate has a test that says so.
pub fn asset_bucket_name(account: &str, region: &str) -> String {
    format!("codegen-assets-{account}-{region}")
}

/// Where a stack's function packages live in the asset bucket: `codegen-function/<stack>/`. Each
/// stage's deployer may write only under its own stack's prefix, so one stage cannot replace the
/// package another stage deploys.
pub fn package_prefix(stack: &str) -> String {
    format!("codegen-function/{stack}/")
}

/// Prefix of the deploy records in the asset bucket (one per stack, see [`deployment_record_key`]).
pub const DEPLOYMENT_RECORDS_PREFIX: &str = "deployments/";

/// Key of the record of a stack's last fully successful deploy, in the asset bucket.
pub fn deployment_record_key(stack: &str) -> String {
    format!("{DEPLOYMENT_RECORDS_PREFIX}{stack}.json")
}

/// Statements whose resources are not named after the stack, by `Sid`, with the reason. A test
/// fails when any other statement names a resource without the stack name, or uses `*`.
pub const UNSCOPED_STATEMENTS: &[(&str, &str)] = &[
    (
        "AssetBucket",
        "the asset bucket is shared by every stage in the account and region (like CDK's \
         bootstrap bucket); it is named after the account and region",
    ),
    (
        "AssetBucketEmpty",
        "`destroy --all` empties and deletes the shared asset bucket",
    ),
    (
        "DescribeLogGroups",
        "DescribeLogGroups is a list operation: CloudFormation's log group handler and API \
         Gateway's access-log setup call it on `log-group:*` (see the API Gateway developer guide, \
         \"Configure logging for HTTP APIs\"); it reveals names, not events",
    ),
    (
        "ApiAccessLogDelivery",
        "API Gateway HTTP API access logging needs the log-delivery actions and the log resource \
         policy actions on `*`: they have no resource-level permissions (API Gateway developer \
         guide, \"Configure logging for HTTP APIs\")",
    ),
    (
        "HttpApi",
        "API Gateway assigns the API id at creation and its ARNs carry no name, so the API cannot \
         be named before it exists; limited to HTTP APIs (`/apis`) and their tags in this region",
    ),
    (
        "InvokeRoute",
        "`cargo xtask invoke` calls the route; the API id is assigned at creation, so the ARN \
         names the stage, method and path instead",
    ),
    (
        "ModelAccessPreflight",
        "deploy's preflight asks Bedrock whether the stage's model is usable \
         (GetFoundationModelAvailability); the action takes no resource ARN in the IAM reference, \
         it only reads the account's own model-access status, and a denial only skips the check",
    ),
    (
        "JobsEventSources",
        "CreateEventSourceMapping has no resource type in the IAM reference (a mapping gets its id \
         at creation); the condition lambda:FunctionArn limits every mapping action to the jobs \
         worker",
    ),
    (
        "ModelPreflight",
        "deploy's preflight reads the stage's model lifecycle (GetFoundationModel, LEGACY -> \
         warning); scoped to that foundation model in this region",
    ),
    (
        "ModelProfilePreflight",
        "deploy's preflight compares the inference profile's destinations with the function's \
         grant (GetInferenceProfile); scoped to that profile in this region",
    ),
    (
        "CallerIdentity",
        "sts:GetCallerIdentity has no resource type, so its resource can only be `*`; AWS \
         documents that it needs no permission at all (it cannot be denied), so this statement \
         only records that the deployer calls it",
    ),
];

/// CloudFormation actions on the stack: execution with events, rollback recovery, deletion, and
/// `destroy` finding the code bucket through the stack's resources (DescribeStackResource, whose
/// IAM resource type is the stack: Service Authorization Reference, "Actions, resources, and
/// condition keys for AWS CloudFormation"). `ListStacks` is not used by the deployer and not
/// granted.
const STACK_ACTIONS: &[&str] = &[
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    // Stack tags (the stage's tags and the deploy fingerprint) are set through the change set.
    "cloudformation:TagResource",
];

/// Change set actions. IAM authorises them against the stack (the Service Authorization
/// Reference lists `CreateChangeSet` with the required resource type `stack*`, the change set's
/// name being only a condition key, `cloudformation:ChangeSetName`), so a statement on a
/// `changeSet/...` ARN pattern grants nothing; they are granted on the stack's ARN.
const CHANGE_SET_ACTIONS: &[&str] = &[
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
];

/// The asset bucket: created on first use (`assets::ensure_bucket`), checked with HeadBucket
/// (authorised as ListBucket), versioned (GetBucketVersioning / PutBucketVersioning, authorised
/// as `s3:GetBucketVersioning` / `s3:PutBucketVersioning` in the Service Authorization Reference
/// for Amazon S3) so that the template can pin the package's object version, its deploy records
/// listed by `destroy --all` (ListObjectsV2, authorised as ListBucket), emptied and deleted by
/// `destroy --all`.
const ASSET_BUCKET_ACTIONS: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:GetBucketVersioning",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
];

/// Packages and deploy records in the asset bucket. GetObject also authorises HeadObject;
/// GetObjectVersion a read of one version (the deployer's HeadObject/GetObject with a version id,
/// and Lambda's read of the pinned `S3ObjectVersion`: the AWS::Lambda::Function create and update
/// handlers list both `s3:GetObject` and `s3:GetObjectVersion`). CloudFormation (as the caller)
/// has Lambda read the package with these permissions.
const ASSET_OBJECT_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"];

/// Emptying a bucket: every version, delete marker and unfinished upload.
const EMPTY_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
];

/// The stack's code bucket: what CloudFormation needs to create, configure, read back and delete
/// it (its properties: encryption, lifecycle, ownership, public access block, versioning, tags,
/// the TLS-only bucket policy), and what `destroy` needs to empty it first.
///
/// Tags: the AWS::S3::Bucket resource schema's handlers (CloudFormation registry; the copy cfn-lint
/// ships in `data/schemas`) list `s3:TagResource` for create and update, `s3:UntagResource` for
/// update and `s3:ListTagsForResource` for read, besides the older `s3:PutBucketTagging` /
/// `s3:GetBucketTagging`; the S3 API reference (TagResource, ListTagsForResource) says general
/// purpose buckets need exactly these permissions.
const CODE_BUCKET_ACTIONS: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListTagsForResource",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:TagResource",
    "s3:UntagResource",
];

/// The function's execution role (generated name `<stack>-FunctionRole-<suffix>`), created,
/// updated and deleted by CloudFormation; `deploy` reads it back after the change set.
const ROLE_ACTIONS: &[&str] = &[
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
];

/// Only with a permissions boundary in the stage file.
const BOUNDARY_ACTIONS: &[&str] = &[
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
];

/// The function: CloudFormation's create/update/delete and read-back, `deploy`'s post-deploy
/// check, `deploy --hotswap` (UpdateFunctionCode and the GetFunction waiter). The read-back is the
/// AWS::Lambda::Function schema's read handler (CloudFormation registry; cfn-lint's copy):
/// `lambda:GetFunction`, `lambda:GetFunctionCodeSigningConfig`,
/// `lambda:GetFunctionRecursionConfig`, `lambda:GetRuntimeManagementConfig` and
/// `lambda:GetFunctionScalingConfig` (plus `kms:Decrypt`, used only with a customer managed key,
/// which this stack does not configure).
const FUNCTION_ACTIONS: &[&str] = &[
    "lambda:AddPermission",
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:DeleteFunctionConcurrency",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConfiguration",
    "lambda:GetFunctionRecursionConfig",
    "lambda:GetFunctionScalingConfig",
    "lambda:GetPolicy",
    "lambda:GetRuntimeManagementConfig",
    "lambda:ListTags",
    "lambda:PutFunctionConcurrency",
    "lambda:RemovePermission",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
];

/// The log groups: CloudFormation's lifecycle, and `logs` reading the function's events. The
/// AWS::Logs::LogGroup schema's read handler (CloudFormation registry; cfn-lint's copy) also reads
/// each group's data protection policy (`logs:GetDataProtectionPolicy`, which the CloudWatch Logs
/// guide, "IAM permissions required to create or work with a data protection policy", lists for
/// a single log group on that group) and field index policies (`logs:DescribeIndexPolicies`,
/// which takes the log group's identifier); create and update read the data protection policy
/// too.
const LOG_GROUP_ACTIONS: &[&str] = &[
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:DescribeIndexPolicies",
    "logs:FilterLogEvents",
    "logs:GetDataProtectionPolicy",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "logs:PutRetentionPolicy",
    "logs:TagLogGroup",
    "logs:TagResource",
    "logs:UntagLogGroup",
    "logs:UntagResource",
];

/// Access logging of an HTTP API stage (no resource-level permissions).
const LOG_DELIVERY_ACTIONS: &[&str] = &[
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
];

/// The jobs queue and its dead-letter queue (named `<stack>-jobs` and `<stack>-jobs-dlq`):
/// CloudFormation's create, read-back, update and delete.
const QUEUE_ACTIONS: &[&str] = &[
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];

/// The worker's two SQS event source mappings.
const EVENT_SOURCE_ACTIONS: &[&str] = &[
    "lambda:CreateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
    "lambda:GetEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
];

/// API Gateway management: HTTP verbs on resource paths.
const API_ACTIONS: &[&str] = &[
    "apigateway:DELETE",
    "apigateway:GET",
    "apigateway:PATCH",
    "apigateway:POST",
    "apigateway:PUT",
];

/// One IAM policy statement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: &'static str,
    effect: &'static str,
    action: Vec<&'static str>,
    resource: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<&'static str, BTreeMap<&'static str, String>>,
}

impl Statement {
    fn allow(sid: &'static str, actions: &[&'static str], resources: Vec<String>) -> Self {
        Self {
            sid,
            effect: "Allow",
            action: actions.to_vec(),
            resource: resources,
            condition: BTreeMap::new(),
        }
    }

    fn when(mut self, operator: &'static str, key: &'static str, value: &str) -> Self {
        self.condition
            .entry(operator)
            .or_default()
            .insert(key, value.to_owned());
        self
    }
}

/// The policy document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: &'static str,
    statement: Vec<Statement>,
}

/// The deployer's IAM policy for a stage. `account: None` writes [`ACCOUNT_PLACEHOLDER`] (replace
/// it before attaching the policy). Deterministic: the same stage gives the same document.
pub fn deployer_policy(cfg: &StageConfig, account: Option<&str>) -> Value {
    let account = account.unwrap_or(ACCOUNT_PLACEHOLDER);
    let region = cfg.region.as_str();
    let stack = cfg.stack_name.as_str();
    // CloudFormation lower-cases the stack name in generated bucket names.
    let bucket_prefix = format!("{}-codebucket-", stack.to_ascii_lowercase());
    // CloudFormation names each role `<stack>-<logical id>-<suffix>`.
    let role_arns: Vec<String> = [
        stack::FUNCTION_ROLE.to_owned(),
        format!("{}Role", stack::JOBS_SUBMIT),
        format!("{}Role", stack::JOBS_STATUS),
        format!("{}Role", stack::JOBS_WORKER),
    ]
    .iter()
    .map(|id| format!("arn:aws:iam::{account}:role/{stack}-{id}-*"))
    .collect();
    let function_name = cfg.function_name();
    let function_names = [
        function_name.clone(),
        cfg.jobs_function_name("submit"),
        cfg.jobs_function_name("status"),
        cfg.jobs_function_name("worker"),
    ];
    let queue_arn = format!("arn:aws:sqs:{region}:{account}:{}*", cfg.jobs_queue_name());
    let asset_bucket = asset_bucket_name(account, region);
    let log_group = |name: &str| format!("arn:aws:logs:{region}:{account}:log-group:{name}");
    let access_logs = format!("/aws/apigateway/{stack}-access");

    let mut statements = vec![
        Statement::allow(
            "CloudFormationStack",
            STACK_ACTIONS,
            vec![format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"
            )],
        ),
        Statement::allow(
            "CloudFormationChangeSets",
            CHANGE_SET_ACTIONS,
            vec![format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"
            )],
        ),
        Statement::allow(
            "AssetBucket",
            ASSET_BUCKET_ACTIONS,
            vec![format!("arn:aws:s3:::{asset_bucket}")],
        ),
        Statement::allow(
            "AssetBucketPackages",
            ASSET_OBJECT_ACTIONS,
            vec![
                format!("arn:aws:s3:::{asset_bucket}/{}*", package_prefix(stack)),
                format!(
                    "arn:aws:s3:::{asset_bucket}/{}",
                    deployment_record_key(stack)
                ),
            ],
        ),
        Statement::allow(
            "AssetBucketEmpty",
            EMPTY_OBJECT_ACTIONS,
            vec![format!("arn:aws:s3:::{asset_bucket}/*")],
        ),
        Statement::allow(
            "CodeBucket",
            CODE_BUCKET_ACTIONS,
            vec![format!("arn:aws:s3:::{bucket_prefix}*")],
        ),
        Statement::allow(
            "CodeBucketEmpty",
            EMPTY_OBJECT_ACTIONS,
            vec![format!("arn:aws:s3:::{bucket_prefix}*/*")],
        ),
        Statement::allow("FunctionRole", ROLE_ACTIONS, role_arns.clone()),
        // Only Lambda may receive the roles: the deployer cannot hand them to anything else.
        Statement::allow("PassFunctionRole", &["iam:PassRole"], role_arns.clone()).when(
            "StringEquals",
            "iam:PassedToService",
            "lambda.amazonaws.com",
        ),
        Statement::allow(
            "Function",
            FUNCTION_ACTIONS,
            function_names
                .iter()
                .map(|f| format!("arn:aws:lambda:{region}:{account}:function:{f}"))
                .collect(),
        ),
        Statement::allow(
            "LogGroups",
            LOG_GROUP_ACTIONS,
            function_names
                .iter()
                .map(|f| format!("/aws/lambda/{f}"))
                .chain([access_logs.clone()])
                .flat_map(|g| [log_group(&g), log_group(&format!("{g}:*"))])
                .collect(),
        ),
        Statement::allow("JobsQueues", QUEUE_ACTIONS, vec![queue_arn]),
        // Event source mappings have no name: CreateEventSourceMapping is authorised on `*`, and
        // every mapping action is limited to the worker function by `lambda:FunctionArn`.
        Statement::allow(
            "JobsEventSources",
            EVENT_SOURCE_ACTIONS,
            vec!["*".to_owned()],
        )
        .when(
            "ArnLike",
            "lambda:FunctionArn",
            &format!(
                "arn:aws:lambda:{region}:{account}:function:{}",
                cfg.jobs_function_name("worker")
            ),
        ),
        Statement::allow(
            "DescribeLogGroups",
            &["logs:DescribeLogGroups"],
            vec![log_group("*")],
        ),
        Statement::allow(
            "ApiAccessLogDelivery",
            LOG_DELIVERY_ACTIONS,
            vec!["*".to_owned()],
        ),
        Statement::allow(
            "HttpApi",
            API_ACTIONS,
            vec![
                format!("arn:aws:apigateway:{region}::/apis"),
                format!("arn:aws:apigateway:{region}::/apis/*"),
                format!("arn:aws:apigateway:{region}::/tags/*"),
            ],
        ),
        Statement::allow(
            "InvokeRoute",
            &["execute-api:Invoke"],
            vec![
                format!(
                    "arn:aws:execute-api:{region}:{account}:*/{}/{ROUTE_METHOD}{ROUTE_PATH}",
                    cfg.name
                ),
                format!(
                    "arn:aws:execute-api:{region}:{account}:*/{}/{JOBS_SUBMIT_METHOD}{JOBS_PATH}",
                    cfg.name
                ),
                format!(
                    "arn:aws:execute-api:{region}:{account}:*/{}/{JOB_STATUS_METHOD}{JOBS_PATH}/*",
                    cfg.name
                ),
            ],
        ),
        Statement::allow(
            "CallerIdentity",
            &["sts:GetCallerIdentity"],
            vec!["*".to_owned()],
        ),
        Statement::allow(
            "ModelAccessPreflight",
            &["bedrock:GetFoundationModelAvailability"],
            vec!["*".to_owned()],
        ),
        Statement::allow(
            "ModelPreflight",
            &["bedrock:GetFoundationModel"],
            vec![format!(
                "arn:aws:bedrock:{region}::foundation-model/{}",
                cfg.model.foundation_model
            )],
        ),
    ];
    if cfg.model.route != ModelRoute::Direct {
        statements.push(Statement::allow(
            "ModelProfilePreflight",
            &["bedrock:GetInferenceProfile"],
            vec![format!(
                "arn:aws:bedrock:{region}:{account}:inference-profile/{}",
                cfg.model.id
            )],
        ));
    }
    if let Some(boundary) = &cfg.permissions_boundary {
        // The role may only be created or changed with the stage's boundary attached.
        statements.push(
            Statement::allow("FunctionRoleBoundary", BOUNDARY_ACTIONS, role_arns).when(
                "StringEquals",
                "iam:PermissionsBoundary",
                boundary,
            ),
        );
    }
    let doc = PolicyDocument {
        version: "2012-10-17",
        statement: statements,
    };
    // Plain strings, vectors and maps always serialise.
    let mut value = serde_json::to_value(doc).unwrap_or(Value::Null);
    // Sorted keys whatever serde_json features the build enables (see `canonicalize`).
    cfn_constructs::template::canonicalize(&mut value);
    value
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::config::parse_stage;

    const DEV_TEXT: &str = include_str!("../stages/dev.yaml");

    fn dev() -> StageConfig {
        parse_stage("dev", "infra/stages/dev.yaml", DEV_TEXT).expect("dev.yaml parses")
    }

    fn statements(policy: &Value) -> &[Value] {
        policy["Statement"]
            .as_array()
            .map(Vec::as_slice)
            .expect("a Statement list")
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string"))
            .collect()
    }

    fn by_sid<'a>(policy: &'a Value, sid: &str) -> &'a Value {
        statements(policy)
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"))
    }

    fn unscoped_reason(sid: &str) -> Option<&'static str> {
        UNSCOPED_STATEMENTS
            .iter()
            .find(|(s, _)| *s == sid)
            .map(|(_, r)| *r)
    }

    #[test]
    fn is_a_2012_policy_of_allow_statements_with_unique_sids() {
        let policy = deployer_policy(&dev(), Some("123456789012"));
        assert_eq!(policy["Version"], "2012-10-17");
        let mut sids = BTreeSet::new();
        for s in statements(&policy) {
            assert_eq!(s["Effect"], "Allow", "{s}");
            let sid = s["Sid"].as_str().expect("every statement has a Sid");
            assert!(
                sid.chars().all(|c| c.is_ascii_alphanumeric()),
                "IAM Sids are alphanumeric: {sid}"
            );
            assert!(sids.insert(sid), "duplicate Sid {sid}");
            assert!(!strings(&s["Action"]).is_empty(), "{sid} has no actions");
            assert!(
                !strings(&s["Resource"]).is_empty(),
                "{sid} has no resources"
            );
        }
    }

    #[test]
    fn no_action_uses_a_wildcard() {
        let policy = deployer_policy(&dev(), None);
        for s in statements(&policy) {
            for action in strings(&s["Action"]) {
                assert!(
                    !action.contains('*'),
                    "{}: wildcard action {action}",
                    s["Sid"]
                );
                assert!(
                    action.contains(':'),
                    "{}: `{action}` has no service",
                    s["Sid"]
                );
            }
        }
    }

    #[test]
    fn every_star_resource_is_allow_listed_with_a_reason() {
        let policy = deployer_policy(&dev(), None);
        for s in statements(&policy) {
            let sid = s["Sid"].as_str().expect("sid");
            if strings(&s["Resource"]).contains(&"*") {
                let reason = unscoped_reason(sid)
                    .unwrap_or_else(|| panic!("{sid} uses Resource `*` without a listed reason"));
                assert!(reason.len() > 40, "{sid}: say why `*` is required");
            }
        }
        for (sid, _) in UNSCOPED_STATEMENTS {
            by_sid(&policy, sid);
        }
    }

    #[test]
    fn the_stack_name_scopes_every_other_statement() {
        let text = DEV_TEXT.replace(
            "region: us-east-1",
            "region: us-east-1\nstack_name: Other-Stack",
        );
        let cfg = parse_stage("dev", "infra/stages/dev.yaml", &text).expect("stage parses");
        let policy = deployer_policy(&cfg, Some("123456789012"));
        let text = policy.to_string();
        assert!(
            !text.contains("codegen-dev"),
            "the default stack name leaked into a policy for another stack: {text}"
        );
        for s in statements(&policy) {
            let sid = s["Sid"].as_str().expect("sid");
            if unscoped_reason(sid).is_some() {
                continue;
            }
            for resource in strings(&s["Resource"]) {
                assert!(
                    resource.contains("Other-Stack") || resource.contains("other-stack"),
                    "{sid}: `{resource}` is not scoped to the stack"
                );
            }
        }
    }

    #[test]
    fn resources_name_the_account_and_region() {
        let policy = deployer_policy(&dev(), Some("123456789012"));
        for s in statements(&policy) {
            for resource in strings(&s["Resource"]) {
                if resource == "*" || resource.starts_with("arn:aws:s3:::") {
                    // S3 bucket ARNs carry neither; the asset bucket's name carries both.
                    continue;
                }
                if !resource.starts_with("arn:aws:iam::") {
                    assert!(resource.contains(":us-east-1:"), "{resource}: no region");
                }
                // API Gateway ARNs and AWS-owned foundation models carry no account.
                if !resource.starts_with("arn:aws:apigateway:")
                    && !resource.contains("::foundation-model/")
                {
                    assert!(resource.contains("123456789012"), "{resource}: no account");
                }
            }
        }
        let assets = strings(&by_sid(&policy, "AssetBucket")["Resource"]);
        assert_eq!(
            assets,
            ["arn:aws:s3:::codegen-assets-123456789012-us-east-1"]
        );
    }

    #[test]
    fn pass_role_is_for_lambda_only_and_on_the_function_roles_only() {
        let policy = deployer_policy(&dev(), Some("123456789012"));
        let passing: Vec<&Value> = statements(&policy)
            .iter()
            .filter(|s| strings(&s["Action"]).contains(&"iam:PassRole"))
            .collect();
        assert_eq!(passing.len(), 1, "exactly one statement may pass roles");
        let s = passing[0];
        assert_eq!(strings(&s["Action"]), ["iam:PassRole"]);
        assert_eq!(
            strings(&s["Resource"]),
            [
                "arn:aws:iam::123456789012:role/codegen-dev-FunctionRole-*",
                "arn:aws:iam::123456789012:role/codegen-dev-JobsSubmitRole-*",
                "arn:aws:iam::123456789012:role/codegen-dev-JobsStatusRole-*",
                "arn:aws:iam::123456789012:role/codegen-dev-JobsWorkerRole-*",
            ]
        );
        assert_eq!(
            s["Condition"]["StringEquals"]["iam:PassedToService"],
            "lambda.amazonaws.com"
        );
    }

    #[test]
    fn grants_what_each_command_calls() {
        let policy = deployer_policy(&dev(), None);
        let granted: BTreeSet<&str> = statements(&policy)
            .iter()
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        // (command, actions its SDK calls need)
        let needs: &[(&str, &[&str])] = &[
            (
                "deploy",
                &[
                    "sts:GetCallerIdentity",
                    "bedrock:GetFoundationModelAvailability",
                    "bedrock:GetFoundationModel",
                    "bedrock:GetInferenceProfile",
                    "s3:ListBucket",
                    "s3:CreateBucket",
                    "s3:PutObject",
                    "s3:GetObject",
                    "cloudformation:CreateChangeSet",
                    "cloudformation:DescribeChangeSet",
                    "cloudformation:ExecuteChangeSet",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:GetTemplate",
                    "cloudformation:DeleteStack",
                    "cloudformation:ContinueUpdateRollback",
                    "apigateway:GET",
                    "apigateway:POST",
                    "lambda:GetFunction",
                    "lambda:UpdateFunctionCode",
                    "iam:GetRole",
                    "iam:PassRole",
                ],
            ),
            (
                "diff",
                &[
                    "cloudformation:DeleteChangeSet",
                    "cloudformation:DescribeStacks",
                ],
            ),
            (
                "destroy",
                &[
                    "s3:ListBucketVersions",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:ListBucketMultipartUploads",
                    "s3:AbortMultipartUpload",
                    "s3:DeleteBucket",
                    "cloudformation:DescribeStackResource",
                ],
            ),
            ("logs", &["logs:FilterLogEvents"]),
            ("invoke", &["execute-api:Invoke"]),
        ];
        for (command, actions) in needs {
            for action in *actions {
                assert!(granted.contains(action), "`{command}` needs {action}");
            }
        }
        assert!(
            !granted.contains("cloudformation:ListStacks"),
            "the deployer never lists stacks"
        );
    }

    fn actions_of<'a>(policy: &'a Value, sid: &str) -> Vec<&'a str> {
        strings(&by_sid(policy, sid)["Action"])
    }

    #[test]
    fn change_set_actions_are_granted_on_the_stack_not_on_change_set_names() {
        let policy = deployer_policy(&dev(), Some("123456789012"));
        let stack_arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/codegen-dev/*";
        assert_eq!(
            strings(&by_sid(&policy, "CloudFormationChangeSets")["Resource"]),
            [stack_arn]
        );
        for s in statements(&policy) {
            for action in CHANGE_SET_ACTIONS {
                if strings(&s["Action"]).contains(action) {
                    assert_eq!(strings(&s["Resource"]), [stack_arn], "{}", s["Sid"]);
                }
            }
            for resource in strings(&s["Resource"]) {
                assert!(!resource.contains(":changeSet/"), "{resource}");
            }
        }
    }

    #[test]
    fn packages_are_written_only_under_the_stacks_own_prefix() {
        let policy = deployer_policy(&dev(), Some("123456789012"));
        let writers: Vec<&Value> = statements(&policy)
            .iter()
            .filter(|s| strings(&s["Action"]).contains(&"s3:PutObject"))
            .collect();
        assert_eq!(writers.len(), 1, "one statement may write the asset bucket");
        assert_eq!(
            strings(&writers[0]["Resource"]),
            [
                "arn:aws:s3:::codegen-assets-123456789012-us-east-1/codegen-function/codegen-dev/*",
                "arn:aws:s3:::codegen-assets-123456789012-us-east-1/deployments/codegen-dev.json",
            ]
        );
        assert_eq!(
            package_prefix("codegen-dev"),
            "codegen-function/codegen-dev/"
        );
        assert_eq!(
            deployment_record_key("codegen-dev"),
            "deployments/codegen-dev.json"
        );
        assert!(deployment_record_key("x").starts_with(DEPLOYMENT_RECORDS_PREFIX));
    }

    #[test]
    fn grants_what_the_cloudformation_handlers_read_back() {
        let policy = deployer_policy(&dev(), None);
        let bucket = actions_of(&policy, "CodeBucket");
        for action in [
            "s3:TagResource",
            "s3:UntagResource",
            "s3:ListTagsForResource",
        ] {
            assert!(bucket.contains(&action), "code bucket needs {action}");
        }
        let logs = actions_of(&policy, "LogGroups");
        for action in ["logs:GetDataProtectionPolicy", "logs:DescribeIndexPolicies"] {
            assert!(logs.contains(&action), "log groups need {action}");
        }
        assert!(actions_of(&policy, "Function").contains(&"lambda:GetFunctionScalingConfig"));
        let assets = actions_of(&policy, "AssetBucket");
        for action in ["s3:GetBucketVersioning", "s3:PutBucketVersioning"] {
            assert!(assets.contains(&action), "asset bucket needs {action}");
        }
    }

    #[test]
    fn a_permissions_boundary_is_required_on_the_role_when_configured() {
        let boundary = "arn:aws:iam::123456789012:policy/boundary";
        let text = DEV_TEXT.replace(
            "region: us-east-1",
            &format!("region: us-east-1\npermissions_boundary: {boundary}"),
        );
        let cfg = parse_stage("dev", "infra/stages/dev.yaml", &text).expect("stage parses");
        let policy = deployer_policy(&cfg, None);
        let s = by_sid(&policy, "FunctionRoleBoundary");
        assert_eq!(
            s["Condition"]["StringEquals"]["iam:PermissionsBoundary"],
            boundary
        );
        assert!(
            statements(&deployer_policy(&dev(), None))
                .iter()
                .all(|s| s["Sid"] != "FunctionRoleBoundary")
        );
    }

    #[test]
    fn is_deterministic_and_uses_the_placeholder_without_an_account() {
        let a = deployer_policy(&dev(), None);
        assert_eq!(a, deployer_policy(&dev(), None));
        assert!(a.to_string().contains(ACCOUNT_PLACEHOLDER));
        assert!(
            !deployer_policy(&dev(), Some("123456789012"))
                .to_string()
                .contains(ACCOUNT_PLACEHOLDER)
        );
    }

    /// The committed `infra/deployer-policy/dev.json` matches the code. Set
    /// `CODEGEN_UPDATE_DEPLOYER_POLICY=1` to rewrite it.
    #[test]
    fn committed_dev_policy_is_fresh() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("deployer-policy")
            .join("dev.json");
        let rendered = serde_json::to_string_pretty(&deployer_policy(&dev(), None))
            .expect("a JSON value serialises")
            + "\n";
        if std::env::var_os("CODEGEN_UPDATE_DEPLOYER_POLICY").is_some() {
            std::fs::write(&path, &rendered).expect("write infra/deployer-policy/dev.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            rendered == committed,
            "{} is stale or missing: run `CODEGEN_UPDATE_DEPLOYER_POLICY=1 cargo test -p \
             codegen-infra --lib deployer_policy` and commit",
            path.display()
        );
    }
}
