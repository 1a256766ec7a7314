//! The deploy role: CI's deploy job (a protected GitHub environment) and trusted principals. It
//! uploads packages under its stack's prefix, runs change sets on its stack with the execution
//! role only, deploys the API stage and reads what a deploy checks; no IAM, no direct Lambda code
//! or permission changes. Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::{Role, Statement};
use codegen_contract::{
    JOB_STATUS_METHOD, JOBS_PATH, JOBS_SUBMIT_METHOD, ROUTE_METHOD, ROUTE_PATH,
};

use super::assets::{Assets, read_asset_bucket};
use super::ids::{API, DEPLOY_ROLE};
use super::preparation::{
    execution_role_arn, model_preflight, pass_execution_role, with_execution_role,
};
use super::scope::{Scope, arn};
use super::trust::trust;
use crate::config::StageConfig;
use crate::{names, oidc};

/// Change-set and stack-operation actions that take a service role: the deploy role may call them
/// only with the execution role (`cloudformation:RoleArn`, Service Authorization Reference,
/// "Condition keys for AWS CloudFormation": "Filters access by the ARN of an IAM service role").
/// IAM authorises change-set actions against the stack (the change set's name is only the
/// condition key `cloudformation:ChangeSetName`), so they are granted on the stack's ARN.
pub const STACK_ACTIONS_WITH_ROLE: &[&str] = &[
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteStack",
];

/// Stack actions that take no role: reading, and executing or deleting a change set that was
/// created with the execution role. "CloudFormation uses this role for all future operations on
/// the stack" (CreateChangeSet `RoleARN`, CloudFormation API reference).
pub const STACK_ACTIONS: &[&str] = &[
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:GetTemplate",
    // The post-deploy check and `logs` find the stack's functions and log groups from its own
    // resources; `destroy` of a production-class stage lists what it keeps (its stateful ones).
    "cloudformation:ListStackResources",
    // Stack tags (the stage's tags and the deploy fingerprint) are set through the change set.
    "cloudformation:TagResource",
    // A production-class stage's deploy turns its termination protection on; its `destroy
    // --production` turns it off first (UpdateTerminationProtection takes no service role).
    "cloudformation:UpdateTerminationProtection",
];
/// Emptying a bucket before `destroy` deletes its stack: listing every version, delete marker and
/// unfinished upload (bucket actions), and deleting them (object actions).
pub const EMPTY_BUCKET_ACTIONS: &[&str] = &[
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
];
/// See [`EMPTY_BUCKET_ACTIONS`].
pub const EMPTY_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
];
/// CI's deploy identity: packages under its prefix, change sets with the execution role only,
/// the API stage, reads. No IAM, no direct Lambda changes.
pub(super) fn deploy_role(cfg: &StageConfig, scope: &Scope<'_>, assets: &Assets) -> Role {
    let subject = cfg
        .bootstrap
        .github
        .as_ref()
        .map(|gh| ("StringEquals", oidc::deploy_subject(gh)));
    let mut role = Role::assumed_by(
        DEPLOY_ROLE,
        &format!(
            "Deploy role of {}: packages under its prefix, change sets with the execution role \
             only, the API stage, reads",
            scope.stack
        ),
        trust(cfg, subject),
    )
    .with_name(Expr::str(names::deploy_role(scope.stack)))
    .with_tags(&cfg.tags);
    let statements = [
        stack_operations(cfg, scope),
        asset_access(assets),
        code_bucket_emptying(scope),
        vec![api_stage_deployment(cfg)],
        post_deploy_checks(scope),
        operator_access(cfg, scope),
        model_preflight(cfg),
    ];
    for statement in statements.into_iter().flatten() {
        role.add_to_policy(statement);
    }
    role
}

/// The stack: read it and run its change sets, creating them only with the execution role; the
/// bootstrap stack's outputs.
fn stack_operations(cfg: &StageConfig, scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow("Stack", STACK_ACTIONS, vec![scope.stack_arn()]),
        with_execution_role(
            cfg,
            Statement::allow(
                "StackWithExecutionRole",
                STACK_ACTIONS_WITH_ROLE,
                vec![scope.stack_arn()],
            ),
        ),
        Statement::allow(
            "BootstrapStack",
            &["cloudformation:DescribeStacks"],
            vec![scope.bootstrap_stack_arn()],
        ),
        pass_execution_role(execution_role_arn()),
    ]
}

/// The asset bucket: check it, put and read the stack's packages and its deploy record.
fn asset_access(assets: &Assets) -> Vec<Statement> {
    vec![
        read_asset_bucket(&assets.bucket),
        // `destroy` removes the stack's deploy record with the stack.
        Statement::allow(
            "DeployRecord",
            &["s3:DeleteObject"],
            vec![assets.record.clone()],
        ),
        Statement::allow(
            "AssetPackages",
            &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            vec![assets.packages.clone(), assets.record.clone()],
        ),
    ]
}

/// Emptying the code bucket before `destroy` deletes its stack.
fn code_bucket_emptying(scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow(
            "CodeBucketEmpty",
            EMPTY_BUCKET_ACTIONS,
            vec![scope.code_bucket()],
        ),
        Statement::allow(
            "CodeBucketEmptyObjects",
            EMPTY_OBJECT_ACTIONS,
            vec![scope.code_bucket_objects()],
        ),
    ]
}

/// After the change set: deploy the stage when the routes changed or it was never deployed
/// (GetStage). CreateDeployment is authorised on `/apis/<id>/deployments` and its stage name
/// is a body parameter (`stageName`, API Gateway v2 API reference, CreateDeployment;
/// https://docs.aws.amazon.com/cli/latest/reference/apigatewayv2/create-deployment.html,
/// checked 2026-12-07), so the API id is the only scope: this stack's own.
fn api_stage_deployment(cfg: &StageConfig) -> Statement {
    Statement::allow(
        "ApiStageDeployment",
        &["apigateway:GET", "apigateway:POST"],
        vec![
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/apis/${{{API}}}/deployments"
            )),
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/apis/${{{API}}}/stages/{}",
                cfg.name
            )),
        ],
    )
}

/// Post-deploy checks (the function runs the uploaded package with its role), and before every
/// deploy, roles named like the stack's that are not its resources.
fn post_deploy_checks(scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        Statement::allow(
            "VerifyFunctions",
            &["lambda:GetFunction", "lambda:GetFunctionConfiguration"],
            scope.function_arns(),
        ),
        Statement::allow(
            "VerifyFunctionRoles",
            &["iam:GetRole"],
            scope.function_role_arns(),
        ),
        // Before every deploy: roles named like the stack's that are not its resources (a
        // template's `DeletionPolicy: Retain` leftovers; xtask/src/orphans.rs).
        Statement::allow("OrphanRoles", &["iam:ListRoles"], vec![Expr::str("*")]),
    ]
}

/// What an operator with the deploy role reads and calls: the logs, the routes, who they are.
fn operator_access(cfg: &StageConfig, scope: &Scope<'_>) -> Vec<Statement> {
    vec![
        // `logs` reads every function's log group and the API's access log (they hold callers'
        // prompts: the deploy role and operators read them, the diff role never does).
        Statement::allow(
            "ReadLogs",
            &["logs:FilterLogEvents"],
            scope
                .function_names()
                .iter()
                .map(|f| names::function_log_group(f))
                .chain([names::access_log_group(&cfg.stack_name)])
                .flat_map(|group| {
                    [
                        arn("logs", true, true, &format!("log-group:{group}")),
                        arn("logs", true, true, &format!("log-group:{group}:*")),
                    ]
                })
                .collect(),
        ),
        Statement::allow(
            "InvokeRoute",
            &["execute-api:Invoke"],
            vec![
                arn(
                    "execute-api",
                    true,
                    true,
                    &format!("${{{API}}}/{}/{ROUTE_METHOD}{ROUTE_PATH}", cfg.name),
                ),
                arn(
                    "execute-api",
                    true,
                    true,
                    &format!("${{{API}}}/{}/{JOBS_SUBMIT_METHOD}{JOBS_PATH}", cfg.name),
                ),
                arn(
                    "execute-api",
                    true,
                    true,
                    &format!("${{{API}}}/{}/{JOB_STATUS_METHOD}{JOBS_PATH}/*", cfg.name),
                ),
            ],
        ),
        Statement::allow(
            "CallerIdentity",
            &["sts:GetCallerIdentity"],
            vec![Expr::str("*")],
        ),
    ]
}
