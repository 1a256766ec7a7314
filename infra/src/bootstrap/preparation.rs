//! What both roles that prepare a deploy (the deploy role and the plan role) need: creating change
//! sets that run with the execution role, passing it to CloudFormation, and the model preflight.
//! Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::Statement;
use serde_json::json;

use super::ids::EXECUTION_ROLE;
use super::scope::arn;
use crate::config::{Emulator, ModelRoute, StageConfig};

/// `statement` only for requests that name the execution role as the stack's service role
/// (`cloudformation:RoleArn`).
pub(super) fn with_execution_role(cfg: &StageConfig, statement: Statement) -> Statement {
    match cfg.emulator {
        // Emulator difference: ministack never sets the `cloudformation:RoleArn` condition key
        // (an affirmative condition on it never matches there) and ignores RoleARN altogether, so
        // the emulator stage grants these actions on the stack without it. AWS stages require it.
        Some(Emulator::Ministack) => statement,
        None => statement.with_condition(
            "StringEquals",
            "cloudformation:RoleArn",
            execution_role_arn().to_json(),
        ),
    }
}

/// The execution role's ARN, from this template.
pub(super) fn execution_role_arn() -> Expr {
    Expr::get_att(EXECUTION_ROLE, "Arn")
}

/// Passing the execution role, to CloudFormation only: "Before you specify a service role,
/// ensure that you have permission to pass it (iam:PassRole)" (CloudFormation user guide,
/// "CloudFormation service role"). The deploy and plan roles both create change sets with it.
pub(super) fn pass_execution_role(execution_role_arn: Expr) -> Statement {
    Statement::allow(
        "PassExecutionRole",
        &["iam:PassRole"],
        vec![execution_role_arn],
    )
    .with_condition(
        "StringEquals",
        "iam:PassedToService",
        json!("cloudformation.amazonaws.com"),
    )
}

/// What the deploy's model preflight reads (`xtask/src/preflight.rs`): the account's access to
/// the stage's model, the model, and its inference profile. Both roles that run a deploy's
/// preparation (the deploy role and the plan role) need it.
pub(super) fn model_preflight(cfg: &StageConfig) -> Vec<Statement> {
    let mut statements = vec![
        Statement::allow(
            "ModelAccessPreflight",
            &["bedrock:GetFoundationModelAvailability"],
            vec![Expr::str("*")],
        ),
        Statement::allow(
            "ModelPreflight",
            &["bedrock:GetFoundationModel"],
            vec![arn(
                "bedrock",
                true,
                false,
                &format!("foundation-model/{}", cfg.model.foundation_model),
            )],
        ),
    ];
    if cfg.model.route != ModelRoute::Direct {
        statements.push(Statement::allow(
            "ModelProfilePreflight",
            &["bedrock:GetInferenceProfile"],
            vec![arn(
                "bedrock",
                true,
                true,
                &format!("inference-profile/{}", cfg.model.id),
            )],
        ));
    }
    statements
}
