//! Who may assume the deploy, diff and plan roles: the stage's trusted principals and, when the
//! stage names a repository, GitHub Actions through its OIDC provider (subjects in `crate::oidc`).
//! Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::Statement;
use serde_json::{Value, json};

use crate::config::{StageConfig, TRUST_ACCOUNT};
use crate::names;

/// Trust statements of the deploy and diff roles: the stage's trusted principals
/// (`sts:AssumeRole`) and, when configured, one GitHub Actions subject.
pub(super) fn trust(cfg: &StageConfig, github_subject: Option<(&str, String)>) -> Vec<Statement> {
    let principals: Vec<Value> = cfg
        .bootstrap
        .principals()
        .iter()
        .map(|p| {
            if p == TRUST_ACCOUNT {
                Expr::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").to_json()
            } else {
                json!(p)
            }
        })
        .collect();
    let mut statements = vec![
        Statement::allow("TrustedPrincipals", &["sts:AssumeRole"], Vec::new())
            .with_principal(json!({ "AWS": principals })),
    ];
    if let Some((operator, subject)) = github_subject {
        // "IAM recommends that users evaluate the IAM condition key,
        // token.actions.githubusercontent.com:sub, in the trust policy of any role that trusts
        // GitHub's OIDC identity provider" with `aud` = sts.amazonaws.com (GitHub docs,
        // "Configuring OpenID Connect in Amazon Web Services"). AWS supports no custom claims, so
        // the `ref` and `job_workflow_ref` pins live in the subject, through the repository's OIDC
        // subject template (crate::oidc, one scheme for every role).
        let host = names::GITHUB_OIDC_HOST;
        statements.push(
            Statement::allow(
                "GitHubActions",
                &["sts:AssumeRoleWithWebIdentity"],
                Vec::new(),
            )
            .with_principal(json!({
                "Federated": Expr::sub(format!(
                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{host}"
                ))
                .to_json()
            }))
            .with_condition(
                "StringEquals",
                &format!("{host}:aud"),
                json!("sts.amazonaws.com"),
            )
            .with_condition(operator, &format!("{host}:sub"), json!(subject)),
        );
    }
    statements
}
