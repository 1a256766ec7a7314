//! The diff role: what pull requests may read (the deployed template and parameters). Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::{Role, Statement};

use super::ids::DIFF_ROLE;
use super::scope::Scope;
use super::trust::trust;
use crate::config::StageConfig;
use crate::{names, oidc};

/// What the diff role may read of the stack: the deployed template and its parameters.
pub const DIFF_STACK_ACTIONS: &[&str] = &[
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
];
/// The pull-request identity: reads the deployed template and parameters; changes nothing.
pub(super) fn diff_role(cfg: &StageConfig, scope: &Scope<'_>) -> Role {
    // `StringLike`: any pull request's number (`refs/pull/*/merge`); the role only reads.
    let subject = cfg
        .bootstrap
        .github
        .as_ref()
        .map(|gh| ("StringLike", oidc::diff_subject(gh)));
    let mut role = Role::assumed_by(
        DIFF_ROLE,
        &format!(
            "Read-only diff role of {}: the deployed template and parameters, nothing else",
            scope.stack
        ),
        trust(cfg, subject),
    )
    .with_name(Expr::str(names::diff_role(scope.stack)))
    .with_tags(&cfg.tags);
    role.add_to_policy(Statement::allow(
        "ReadStack",
        DIFF_STACK_ACTIONS,
        vec![scope.stack_arn()],
    ));
    role.add_to_policy(Statement::allow(
        "ReadBootstrapStack",
        &["cloudformation:DescribeStacks"],
        vec![scope.bootstrap_stack_arn()],
    ));
    role.add_to_policy(Statement::allow(
        "CallerIdentity",
        &["sts:GetCallerIdentity"],
        vec![Expr::str("*")],
    ));
    role
}
