//! The plan role: CI's prepare step, which uploads packages and creates change sets with the
//! execution role but can never execute one. Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::{Role, Statement};

use super::assets::{Assets, read_asset_bucket};
use super::ids::PLAN_ROLE;
use super::preparation::{
    execution_role_arn, model_preflight, pass_execution_role, with_execution_role,
};
use super::scope::Scope;
use super::trust::trust;
use crate::config::StageConfig;
use crate::{names, oidc};

/// Actions the plan role may never call, denied explicitly so that no policy attached later can
/// grant them: a change set it prepared is executed by the deploy role, after the environment's
/// reviewers approved the run.
pub const PLAN_DENIED_ACTIONS: &[&str] = &[
    "cloudformation:CreateStack",
    "cloudformation:DeleteStack",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:UpdateStack",
];
/// The "prepare" identity: uploads the package under its stack's prefix and creates change sets
/// with the execution role; it can never execute one ([`PLAN_DENIED_ACTIONS`]).
pub(super) fn plan_role(cfg: &StageConfig, scope: &Scope<'_>, assets: &Assets) -> Role {
    let subject = cfg
        .bootstrap
        .github
        .as_ref()
        .map(|gh| ("StringEquals", oidc::plan_subject(gh)));
    let mut role = Role::assumed_by(
        PLAN_ROLE,
        &format!(
            "Plan role of {}: packages under its prefix, change sets with the execution role; \
             never executes one",
            scope.stack
        ),
        trust(cfg, subject),
    )
    .with_name(Expr::str(names::plan_role(scope.stack)))
    .with_tags(&cfg.tags);
    // Emulator stages: without the `cloudformation:RoleArn` condition (see with_execution_role).
    let change_sets = with_execution_role(
        cfg,
        Statement::allow(
            "ChangeSetsWithExecutionRole",
            &["cloudformation:CreateChangeSet"],
            vec![scope.stack_arn()],
        ),
    );
    for statement in [
        change_sets,
        Statement::allow(
            "ReadStack",
            &[
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:GetTemplate",
            ],
            vec![scope.stack_arn()],
        ),
        Statement::allow(
            "ReadBootstrapStack",
            &["cloudformation:DescribeStacks"],
            vec![scope.bootstrap_stack_arn()],
        ),
        pass_execution_role(execution_role_arn()),
        read_asset_bucket(&assets.bucket),
        Statement::allow(
            "AssetPackages",
            &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            vec![assets.packages.clone()],
        ),
        Statement::allow(
            "CallerIdentity",
            &["sts:GetCallerIdentity"],
            vec![Expr::str("*")],
        ),
        Statement::deny("NeverExecute", PLAN_DENIED_ACTIONS, vec![Expr::str("*")]),
    ]
    .into_iter()
    // `deploy --prepare` runs the deploy's model preflight before it creates the change set.
    .chain(model_preflight(cfg))
    {
        role.add_to_policy(statement);
    }
    role
}
