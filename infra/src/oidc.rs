//! One GitHub Actions OIDC subject scheme for every role the pipeline assumes. Pure.
//!
//! GitHub's default subject (`repo:<owner/name>:environment:<env>`) is the same for every job that
//! names the environment, including a pull request's own edited workflow; the environment's
//! protection rules are then the only gate, and nothing configures them. The repository's OIDC
//! subject template can add `ref` and `job_workflow_ref`, which come from the run and cannot be
//! chosen by a job: with `include_claim_keys` = [`SUBJECT_CLAIM_KEYS`], the subject is the claims
//! joined as `key:value` pairs, e.g. "repo:octo-org/octo-repo:environment:prod:job_workflow_ref:
//! octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main" for `repo`, `context`,
//! `job_workflow_ref` (GitHub docs, "OpenID Connect reference" / "Customizing the subject claims
//! for an organization or repository",
//! https://docs.github.com/en/actions/reference/security/oidc, checked 2026-12-07). `context` is
//! `environment:<name>` for a job in an environment, `pull_request` for a pull request's job, and
//! `ref:<ref>` otherwise. The template is repository-wide, so it changes every role's subject at
//! once; this module writes all of them:
//!
//! | role | job | subject |
//! |---|---|---|
//! | diff (read-only) | pull requests | `repo:R:pull_request:ref:refs/pull/*/merge:job_workflow_ref:R/<workflow>@refs/pull/*/merge` (`StringLike`: any pull request) |
//! | plan (change sets, never executed) | pushes to main, no environment | `repo:R:ref:refs/heads/main:ref:refs/heads/main:job_workflow_ref:R/<workflow>@refs/heads/main` |
//! | deploy | pushes to main, protected environment | `repo:R:environment:<env>:ref:refs/heads/main:job_workflow_ref:R/<workflow>@refs/heads/main` |
//!
//! A pull request's run has `ref` = `refs/pull/<n>/merge` and its `job_workflow_ref` names that
//! ref, so it can never match the plan or deploy subject, whatever its edited workflow declares.

use crate::config::GitHubTrust;

/// The repository's OIDC subject template (`PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`
/// with `use_default: false`).
pub const SUBJECT_CLAIM_KEYS: &[&str] = &["repo", "context", "ref", "job_workflow_ref"];

/// The workflow every role's subject names (relative to the repository root).
pub const WORKFLOW_PATH: &str = ".github/workflows/deploy.yml";

/// The only branch that plans and deploys.
pub const DEPLOY_REF: &str = "refs/heads/main";

/// A pull request's merge ref, any number.
const PULL_REQUEST_REF: &str = "refs/pull/*/merge";

fn workflow_ref(gh: &GitHubTrust, git_ref: &str) -> String {
    format!("{}/{WORKFLOW_PATH}@{git_ref}", gh.repository)
}

fn subject(gh: &GitHubTrust, context: &str, git_ref: &str) -> String {
    format!(
        "repo:{}:{context}:ref:{git_ref}:job_workflow_ref:{}",
        gh.repository,
        workflow_ref(gh, git_ref)
    )
}

/// The deploy role's subject: the protected environment, `main`, this workflow at `main`.
pub fn deploy_subject(gh: &GitHubTrust) -> String {
    subject(
        gh,
        &format!("environment:{}", gh.deploy_environment),
        DEPLOY_REF,
    )
}

/// The plan role's subject: a job on `main` outside any environment, this workflow at `main`.
pub fn plan_subject(gh: &GitHubTrust) -> String {
    subject(gh, &format!("ref:{DEPLOY_REF}"), DEPLOY_REF)
}

/// The diff role's subject pattern (`StringLike`): any pull request's run of this workflow.
pub fn diff_subject(gh: &GitHubTrust) -> String {
    subject(gh, "pull_request", PULL_REQUEST_REF)
}

/// A role the pipeline assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineRole {
    /// Read-only diff (pull requests).
    Diff,
    /// Creates change sets, never executes them (the production "prepare" job).
    Plan,
    /// Deploys (the protected environment's job).
    Deploy,
}

impl PipelineRole {
    /// Every role, in the order the bootstrap prints them.
    pub const ALL: [PipelineRole; 3] = [Self::Diff, Self::Plan, Self::Deploy];

    fn as_upper(self) -> &'static str {
        match self {
            Self::Diff => "DIFF",
            Self::Plan => "PLAN",
            Self::Deploy => "DEPLOY",
        }
    }
}

/// The repository variable that holds `stage`'s `role` ARN in the workflow:
/// `AWS_<STAGE>_<ROLE>_ROLE_ARN` (`AWS_DEV_DEPLOY_ROLE_ARN`, `AWS_PROD_PLAN_ROLE_ARN`): each
/// stage's roles live in its own account, so each has its own variables.
pub fn role_variable(stage: &str, role: PipelineRole) -> String {
    let stage: String = stage
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("AWS_{stage}_{}_ROLE_ARN", role.as_upper())
}

/// The GitHub settings the roles' trust relies on, as `cargo xtask bootstrap` prints them. IAM
/// cannot check any of them; the subject template is what makes the subjects above exist at all.
pub fn required_settings(stage: &str, gh: &GitHubTrust) -> Vec<String> {
    let repo = &gh.repository;
    let keys = SUBJECT_CLAIM_KEYS
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        format!(
            "OIDC subject template of {repo}: gh api -X PUT repos/{repo}/actions/oidc/customization/sub \
             --input - <<< '{{\"use_default\":false,\"include_claim_keys\":[{keys}]}}'"
        ),
        format!(
            "environment `{}` of {repo}: required reviewers (at least one), \"Prevent self-review\" on, \
             deployment branches: `main` only",
            gh.deploy_environment
        ),
        format!("branch protection of `main` in {repo}: pull requests with review before merging"),
        format!(
            "repository variables of {repo}: {} (the bootstrap's outputs)",
            PipelineRole::ALL
                .iter()
                .map(|r| role_variable(stage, *r))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh() -> GitHubTrust {
        GitHubTrust {
            repository: "octo-org/octo-repo".into(),
            deploy_environment: "prod".into(),
        }
    }

    #[test]
    fn subjects_follow_githubs_joined_claim_format() {
        assert_eq!(
            deploy_subject(&gh()),
            "repo:octo-org/octo-repo:environment:prod:ref:refs/heads/main:job_workflow_ref:\
             octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
        );
        assert_eq!(
            plan_subject(&gh()),
            "repo:octo-org/octo-repo:ref:refs/heads/main:ref:refs/heads/main:job_workflow_ref:\
             octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
        );
        assert_eq!(
            diff_subject(&gh()),
            "repo:octo-org/octo-repo:pull_request:ref:refs/pull/*/merge:job_workflow_ref:\
             octo-org/octo-repo/.github/workflows/deploy.yml@refs/pull/*/merge"
        );
    }

    #[test]
    fn the_settings_name_the_template_and_the_environment_rules() {
        let s = required_settings("prod", &gh()).join("\n");
        assert!(
            s.contains("AWS_PROD_DIFF_ROLE_ARN, AWS_PROD_PLAN_ROLE_ARN, AWS_PROD_DEPLOY_ROLE_ARN")
        );
        assert_eq!(
            role_variable("dev-2", PipelineRole::Deploy),
            "AWS_DEV_2_DEPLOY_ROLE_ARN"
        );
        assert!(s.contains(r#""include_claim_keys":["repo","context","ref","job_workflow_ref"]"#));
        assert!(s.contains("Prevent self-review"));
        assert!(s.contains("`main` only"));
    }
}
