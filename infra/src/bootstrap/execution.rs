//! The CloudFormation execution role: every change set of the stack runs with it, so it may create,
//! change and delete exactly this stack's resources, and roles only with the stage's permissions
//! boundary. Its action lists, one per resource type, are the resource types' handler
//! permissions. Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::{Role, Statement};
use serde_json::json;

use super::ids::EXECUTION_ROLE;
use super::scope::{Scope, arn};
use crate::config::StageConfig;
use crate::names;

/// The stack's code bucket: what CloudFormation needs to create, configure, read back and delete
/// it. Tags: the AWS::S3::Bucket resource schema's handlers (CloudFormation registry; cfn-lint's
/// copy in `data/schemas`) list `s3:TagResource` for create and update, `s3:UntagResource` for
/// update and `s3:ListTagsForResource` for read, besides `s3:PutBucketTagging` /
/// `s3:GetBucketTagging`.
pub const CODE_BUCKET_ACTIONS: &[&str] = &[
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
/// Role actions whose request carries the role's permissions boundary, so that IAM can check
/// `iam:PermissionsBoundary` ("Filters access if the specified policy is set as permissions
/// boundary on the IAM entity (user or role)", Service Authorization Reference for IAM; the IAM
/// user guide's example "Delegating responsibility to others using permissions boundaries"
/// conditions CreateRole, PutRolePolicy and PutRolePermissionsBoundary on it).
pub const ROLE_ACTIONS_WITH_BOUNDARY: &[&str] = &[
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// The other role actions CloudFormation's AWS::IAM::Role handlers call (read-back, tags, trust
/// policy, description, deletion).
pub const ROLE_ACTIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
];

/// Denied to the execution role on every role unless the request carries the boundary.
pub const DENIED_WITHOUT_BOUNDARY: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// Denied to the execution role on the boundary policy itself: editing it would widen every role
/// (the IAM user guide's "Delegating responsibility to others using permissions boundaries" denies
/// these four on the boundary policy for the same reason).
pub const BOUNDARY_EDIT_ACTIONS: &[&str] = &[
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
];

/// The functions: CloudFormation's create/update/delete and read-back. The read-back is the
/// AWS::Lambda::Function schema's read handler (CloudFormation registry; cfn-lint's copy).
/// AddPermission is separate ([`PERMISSION_ACTIONS`]).
pub const FUNCTION_ACTIONS: &[&str] = &[
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
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
];

/// The functions' resource policies: only API Gateway may be allowed to invoke them
/// (`lambda:Principal`, "Filters access by the AWS service or account that is allowed to invoke
/// the function" for AddPermission and RemovePermission; Lambda developer guide, "How Lambda works
/// with IAM", condition keys). A template that adds a public permission (`Principal: "*"`) fails.
pub const PERMISSION_ACTIONS: &[&str] = &["lambda:AddPermission", "lambda:RemovePermission"];

/// The log groups: CloudFormation's lifecycle. The AWS::Logs::LogGroup schema's read handler also
/// reads the data protection policy and the field index policies of each group.
pub const LOG_GROUP_ACTIONS: &[&str] = &[
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:DescribeIndexPolicies",
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
pub const LOG_DELIVERY_ACTIONS: &[&str] = &[
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
];

/// The jobs queue and its dead-letter queue: CloudFormation's create, read-back, update, delete.
pub const QUEUE_ACTIONS: &[&str] = &[
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];

/// The budget table (`AWS::DynamoDB::Table`, infra/src/quotas.rs): CloudFormation's create,
/// read-back, update (TTL, tags) and delete. From the table type's registry schema
/// (`handlers.*.permissions`, as copied in cfn-lint's `cfnlint/data/schemas`) for the properties
/// the stack sets; every action takes the `table` resource type (Service Authorization Reference,
/// DynamoDB, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>,
/// checked 2026-12-07).
pub const TABLE_ACTIONS: &[&str] = &[
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
];

/// The worker's two SQS event source mappings.
pub const EVENT_SOURCE_ACTIONS: &[&str] = &[
    "lambda:CreateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
    "lambda:GetEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
];

/// API Gateway management: HTTP verbs on resource paths. API Gateway authorises a v2 management
/// call on the path it names, `arn:<partition>:apigateway:<region>::/apis/<api-id>/routes/...`
/// (API Gateway developer guide, "API Gateway Amazon Resource Name (ARN) reference",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html, checked
/// 2026-12-07), so granting them on `/apis/*` would reach every HTTP API of the region; they are
/// granted on this stack's API id only ([`Scope::api_arns`]). No `/tags/*`: in the v2 API only
/// APIs, domain names, stages and VPC links take tags ("API Gateway resources that can be
/// tagged"), and tag-based access control is documented for REST APIs ("Using tags to control
/// access to API Gateway REST API resources"), so a tag condition could not hold routes,
/// integrations or deployments; the app stack's stage carries no tags instead.
pub const API_ACTIONS: &[&str] = &[
    "apigateway:DELETE",
    "apigateway:GET",
    "apigateway:PATCH",
    "apigateway:POST",
    "apigateway:PUT",
];
/// CloudFormation's own role for the stack: exactly this stack's resources.
pub(super) fn execution_role(cfg: &StageConfig, scope: &Scope<'_>, package_objects: &Expr) -> Role {
    // CloudFormation assumes the service role ("Specify CloudFormation (cloudformation.amazonaws.com)
    // as the service that can assume the role", CloudFormation user guide, "CloudFormation service
    // role").
    let trust = Statement::allow("CloudFormation", &["sts:AssumeRole"], Vec::new())
        .with_principal(json!({ "Service": "cloudformation.amazonaws.com" }));
    let mut role = Role::assumed_by(
        EXECUTION_ROLE,
        &format!(
            "CloudFormation execution role of {}: creates, updates and deletes exactly this \
             stack's resources; roles only with the stage's permissions boundary",
            scope.stack
        ),
        vec![trust],
    )
    .with_name(Expr::str(names::execution_role(scope.stack)))
    .with_tags(&cfg.tags);
    let statements = [
        code(scope, package_objects),
        roles_only_with_boundary(scope),
        functions(scope),
        data(scope),
        monitoring(cfg, scope),
        vec![worker_event_sources(cfg)],
        api(scope),
    ];
    for statement in statements.into_iter().flatten() {
        role.add_to_policy(statement);
    }
    role
}

/// The function package (read when Lambda creates or updates a function) and the code bucket.
fn code(scope: &Scope<'_>, package_objects: &Expr) -> Vec<Statement> {
    vec![
        // Lambda reads the package with the caller's (this role's) permissions: the
        // AWS::Lambda::Function create and update handlers list s3:GetObject and
        // s3:GetObjectVersion.
        Statement::allow(
            "ReadPackages",
            &["s3:GetObject", "s3:GetObjectVersion"],
            vec![package_objects.clone()],
        ),
        Statement::allow("CodeBucket", CODE_BUCKET_ACTIONS, vec![scope.code_bucket()]),
    ]
}

/// The function roles, created and changed only with the boundary attached, never without it,
/// and passed to Lambda only.
fn roles_only_with_boundary(scope: &Scope<'_>) -> Vec<Statement> {
    let account_roles = arn("iam", false, true, "role/*");
    let boundary = scope.boundary_arn();
    vec![
        Statement::allow(
            "FunctionRolesWithBoundary",
            ROLE_ACTIONS_WITH_BOUNDARY,
            scope.function_role_arns(),
        )
        .with_condition(
            "StringEquals",
            "iam:PermissionsBoundary",
            boundary.to_json(),
        ),
        Statement::allow("FunctionRoles", ROLE_ACTIONS, scope.function_role_arns()),
        // Explicit denies win over any allow, in this policy or any other attached later.
        Statement::deny(
            "NoRoleWithoutBoundary",
            DENIED_WITHOUT_BOUNDARY,
            vec![account_roles.clone()],
        )
        .with_condition(
            "StringNotEquals",
            "iam:PermissionsBoundary",
            boundary.to_json(),
        ),
        // "Deleting the permissions boundary for a role might increase its permissions" (IAM API
        // reference, DeleteRolePermissionsBoundary).
        Statement::deny(
            "NoBoundaryRemoval",
            &["iam:DeleteRolePermissionsBoundary"],
            vec![account_roles],
        ),
        Statement::deny("NoBoundaryEdit", BOUNDARY_EDIT_ACTIONS, vec![boundary]),
        // Only Lambda may receive the function roles.
        Statement::allow(
            "PassFunctionRoles",
            &["iam:PassRole"],
            scope.function_role_arns(),
        )
        .with_condition(
            "StringEquals",
            "iam:PassedToService",
            json!("lambda.amazonaws.com"),
        ),
    ]
}

/// The functions, and their resource policies (API Gateway only).
fn functions(scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow("Functions", FUNCTION_ACTIONS, scope.function_arns()),
        Statement::allow(
            "FunctionPermissions",
            PERMISSION_ACTIONS,
            scope.function_arns(),
        )
        .with_condition(
            "StringEquals",
            "lambda:Principal",
            json!("apigateway.amazonaws.com"),
        ),
    ]
}

/// The log groups, the jobs queues and the budget table.
fn data(scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow("LogGroups", LOG_GROUP_ACTIONS, scope.log_group_arns()),
        Statement::allow("JobsQueues", QUEUE_ACTIONS, scope.queue_arns()),
        // Granted whether or not the stage has budgets yet, so that adding a `quotas` section is
        // an app change, not a bootstrap change; it names one table, `<stack>-quotas`.
        Statement::allow("QuotaTable", TABLE_ACTIONS, vec![scope.quota_table_arn()]),
    ]
}

/// The stage's alarms and dashboard.
fn monitoring(cfg: &StageConfig, scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        // The stage's alarms and dashboard, by name (infra/src/alarms.rs); their topic and its key
        // are this bootstrap's, so the execution role has no SNS or KMS action.
        Statement::allow(
            "Alarms",
            crate::alarms::ALARM_ACTIONS,
            vec![arn(
                "cloudwatch",
                true,
                true,
                &format!("alarm:{}-*", scope.stack),
            )],
        ),
        // An alarm's actions run when its state changes (SNS, but also EC2 stop/terminate and
        // Systems Manager): the stack's alarms may only notify the stage's own topic
        // (`cloudwatch:AlarmActions`, CloudWatch user guide, "Using condition keys to limit alarm
        // actions", checked 2026-12-07).
        Statement::allow(
            "AlarmsNotifyOnlyTheStageTopic",
            &["cloudwatch:PutMetricAlarm"],
            vec![arn(
                "cloudwatch",
                true,
                true,
                &format!("alarm:{}-*", scope.stack),
            )],
        )
        .with_condition(
            "ForAllValues:StringLike",
            "cloudwatch:AlarmActions",
            crate::alarms::alarm_topic_arn(cfg).to_json(),
        ),
        Statement::allow(
            "Dashboard",
            crate::alarms::DASHBOARD_ACTIONS,
            vec![arn(
                "cloudwatch",
                false,
                true,
                &format!("dashboard/{}", scope.stack),
            )],
        ),
    ]
}

/// Event source mappings have no name: CreateEventSourceMapping is authorised on `*`, and
/// every mapping action is limited to the worker function by `lambda:FunctionArn`.
fn worker_event_sources(cfg: &StageConfig) -> Statement {
    Statement::allow(
        "JobsEventSources",
        EVENT_SOURCE_ACTIONS,
        vec![Expr::str("*")],
    )
    .with_condition(
        "ArnLike",
        "lambda:FunctionArn",
        arn(
            "lambda",
            true,
            true,
            &format!("function:{}", cfg.jobs_function_name("worker")),
        )
        .to_json(),
    )
}

/// The API's access logging and the API itself (its id only).
fn api(scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow(
            "DescribeLogGroups",
            &["logs:DescribeLogGroups"],
            vec![arn("logs", true, true, "log-group:*")],
        ),
        Statement::allow(
            "ApiAccessLogDelivery",
            LOG_DELIVERY_ACTIONS,
            vec![Expr::str("*")],
        ),
        Statement::allow("HttpApi", API_ACTIONS, scope.api_arns()),
    ]
}
