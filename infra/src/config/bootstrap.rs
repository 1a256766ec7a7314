//! The stage file's `bootstrap:` section: who may assume the bootstrap's deploy and diff roles
//! (principals of the account, a GitHub repository's workflows). Pure.

use serde::Deserialize;

use super::error::StageError;

/// Who may use the stage's bootstrap roles (`bootstrap:` in the stage file). The bootstrap stack
/// (`cargo xtask bootstrap`, see `infra/src/bootstrap/`) creates the deploy role and the diff
/// role with these trust policies.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Principals of this account that may assume the deploy and diff roles with their own
    /// credentials (`sts:AssumeRole`): IAM role ARNs, or `account` for any principal of this
    /// account whose own policy allows it (AWS CDK's default trust for its bootstrap roles).
    /// Empty: `account`.
    #[serde(default)]
    pub trusted_principals: Vec<String>,
    /// GitHub Actions OIDC trust; unset: no workflow can assume the roles.
    #[serde(default)]
    pub github: Option<GitHubTrust>,
}

/// GitHub Actions may assume the deploy role from one protected environment of one repository,
/// and the diff role from that repository's pull requests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubTrust {
    /// `owner/name`.
    pub repository: String,
    /// The GitHub environment (with required reviewers) whose jobs may deploy: the deploy role's
    /// trust requires `sub` = `repo:<repository>:environment:<deploy_environment>`.
    pub deploy_environment: String,
}

impl BootstrapConfig {
    /// The trusted principals, `account` when none are listed.
    pub fn principals(&self) -> Vec<String> {
        if self.trusted_principals.is_empty() {
            vec![TRUST_ACCOUNT.to_owned()]
        } else {
            self.trusted_principals.clone()
        }
    }
}

/// `bootstrap.trusted_principals` entry meaning "this account".
pub const TRUST_ACCOUNT: &str = "account";

/// Trusted principals are `account` or role ARNs; the GitHub repository is `owner/name` and the
/// environment a plain name, as they go verbatim into a trust policy's `sub` condition.
pub(super) fn validate_bootstrap(
    b: &BootstrapConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    for p in &b.trusted_principals {
        let role_arn = p.starts_with("arn:aws:iam::")
            && p.split(':')
                .nth(4)
                .is_some_and(|a| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()))
            && p.split(':')
                .nth(5)
                .is_some_and(|r| r.starts_with("role/") && r.len() > 5);
        if p != TRUST_ACCOUNT && !role_arn {
            return Err(invalid(
                "bootstrap.trusted_principals",
                format!(
                    "has `{p}`: expected `{TRUST_ACCOUNT}` or an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"
                ),
            ));
        }
    }
    if let Some(gh) = &b.github {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        };
        let repo_ok = gh
            .repository
            .split_once('/')
            .is_some_and(|(owner, name)| plain(owner) && plain(name));
        if !repo_ok {
            return Err(invalid(
                "bootstrap.github.repository",
                format!("is `{}`: expected `owner/name`", gh.repository),
            ));
        }
        if !plain(&gh.deploy_environment) {
            return Err(invalid(
                "bootstrap.github.deploy_environment",
                format!(
                    "is `{}`: expected a GitHub environment name (letters, digits, `-`, `_`, `.`)",
                    gh.deploy_environment
                ),
            ));
        }
    }
    Ok(())
}
