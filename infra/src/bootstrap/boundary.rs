//! The permissions boundary every role of the app stack carries: the most those roles may ever do,
//! read from the app stack's own grants ([`super::app_role_actions`]). Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::{ManagedPolicy, Statement};
use serde_json::json;

use super::app_actions::app_role_actions;
use super::ids::BOUNDARY;
use super::scope::{Scope, arn};
use crate::config::{Emulator, StageConfig};
use crate::{app_grants, names};

/// The most any role of the app stack may do: each action its grants write, on this stack's
/// resources. The action list is read from the app stack itself, so a new grant without a
/// boundary entry fails the boundary test instead of failing at run time on AWS.
pub(super) fn permissions_boundary(cfg: &StageConfig, scope: &Scope<'_>) -> ManagedPolicy {
    let mut policy = ManagedPolicy::new(
        BOUNDARY,
        Expr::str(names::permissions_boundary(scope.stack)),
        &format!(
            "Permissions boundary of every role of {}: the functions' own actions on this \
             stack's resources, nothing else",
            scope.stack
        ),
    );
    let by_service = app_role_actions(cfg);
    let actions = |service: &str| -> Vec<&str> {
        by_service
            .get(service)
            .map(|set| set.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    // The boundary's S3 and Bedrock resources are the app roles' own grants (the key patterns
    // and model ARNs the grants name), not every object or every Anthropic model.
    let key_patterns = match app_grants::code_bucket_key_patterns(cfg) {
        Ok(p) => p,
        Err(r) => unreachable!("an app role's S3 grant is not on the code bucket: {r}"),
    };
    policy.add_statement(Statement::allow(
        "BoundaryCodeBucket",
        &actions("s3"),
        key_patterns
            .iter()
            .map(|p| scope.code_bucket_keys(p))
            .collect(),
    ));
    let models = match app_grants::bedrock_resources(cfg) {
        Ok(m) => m,
        Err(r) => unreachable!("an app role's Bedrock grant names an app resource: {r}"),
    };
    policy.add_statement(Statement::allow(
        "BoundaryModels",
        &actions("bedrock"),
        models,
    ));
    if cfg.emulator == Some(Emulator::Ministack) {
        policy.ignore_cfn_lint(
            "W3037",
            "bedrock:Converse is not an IAM action on AWS; only the ministack emulator checks it \
             (emulator stages only; the function roles carry it, so their boundary does too).",
        );
    }
    policy.add_statement(Statement::allow(
        "BoundaryJobsQueues",
        &actions("sqs"),
        scope.queue_arns(),
    ));
    // The budget table, when the stage has budgets: the app roles' DynamoDB actions on exactly
    // the stack's table.
    if !actions("dynamodb").is_empty() {
        policy.add_statement(Statement::allow(
            "BoundaryQuotaTable",
            &actions("dynamodb"),
            vec![scope.quota_table_arn()],
        ));
    }
    policy.add_statement(Statement::allow(
        "BoundaryLogs",
        &actions("logs"),
        scope.function_log_group_arns(),
    ));
    // X-Ray's write actions have no resource type: `*` is the only resource they take
    // (cfn_constructs::lambda::XRAY_WRITE_ACTIONS).
    policy.add_statement(Statement::allow(
        "BoundaryTraces",
        &actions("xray"),
        vec![Expr::str("*")],
    ));
    // A function role's credentials are useless outside the stack's functions: every action but
    // the ones Lambda itself calls with the role outside the execution environment is denied
    // unless the request carries `lambda:SourceFunctionArn` of one of the stack's functions.
    // "Lambda injects the source function ARN into the credentials context if the request is an
    // AWS API request that comes from within your execution environment" (and for the logs it
    // writes itself); "Other AWS API calls that Lambda makes outside of your execution
    // environment on your behalf using the same execution role don't contain the source function
    // ARN", for example KMS decryption of environment variables and reading "from an event source
    // that's set up as an event source mapping" (Lambda developer guide, "Using source function ARN
    // to control function access behavior",
    // https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html, checked
    // 2026-12-07). So the worker's SQS polling actions are exempted by action (no KMS action is
    // granted: the environment is encrypted with Lambda's AWS-managed key). A role a hostile
    // template made assumable from another account (trust policies cannot be conditioned) then
    // yields credentials that can poll the jobs queues and nothing else.
    let keyed: Vec<&str> = by_service
        .values()
        .flatten()
        .map(String::as_str)
        .filter(|a| !LAMBDA_CALLS_WITHOUT_SOURCE_FUNCTION.contains(a))
        .collect();
    match cfg.emulator {
        // Emulator difference: ministack never sets lambda:SourceFunctionArn (and does not apply
        // boundaries to the roles CloudFormation creates), so the emulator stages leave the deny
        // out; the evaluator proves it for AWS stages (infra/tests/hostile_templates.rs).
        Some(Emulator::Ministack) => {}
        None => policy.add_statement(
            Statement::deny("OnlyFromTheStacksFunctions", &keyed, vec![Expr::str("*")])
                .with_condition(
                    "ArnNotLike",
                    "lambda:SourceFunctionArn",
                    // The function's ARN, and qualified by a version or alias should Lambda ever
                    // report it so (the guide's examples show the unqualified ARN).
                    json!(
                        scope
                            .function_names()
                            .iter()
                            .flat_map(|f| [
                                arn("lambda", true, true, &format!("function:{f}")),
                                arn("lambda", true, true, &format!("function:{f}:*")),
                            ])
                            .map(|a| a.to_json())
                            .collect::<Vec<_>>()
                    ),
                ),
        ),
    }
    policy
}

/// Actions of the function roles that Lambda itself calls outside the execution environment, so
/// without `lambda:SourceFunctionArn`: an SQS event source mapping's polling (the permissions the
/// Lambda developer guide lists for an SQS event source: ReceiveMessage, DeleteMessage,
/// GetQueueAttributes). And the X-Ray daemon's two writes: Lambda runs the daemon, and the guide's
/// page on the source function ARN does not say whether its calls carry the key; a deny that
/// silently drops every trace is worse than what the exemption allows, which is writing trace
/// data into the account's X-Ray (no read, no other service).
pub const LAMBDA_CALLS_WITHOUT_SOURCE_FUNCTION: &[&str] = &[
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
];
