//! Who is calling, checked before anything is built or written: the credentials resolve (with a
//! message that says what to do when they do not, instead of the SDK's chain of provider errors
//! after minutes of compiling), and the caller's account (STS `GetCallerIdentity`) is the one the
//! stage file names. Every command reaches AWS through [`crate::aws::try_connect`], which calls
//! [`require_credentials`] and [`accept_account`], so a deploy with the wrong profile stops before
//! its build, its upload and its change set.

use std::time::Duration;

use anyhow::bail;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use codegen_infra::StageConfig;
use codegen_infra::protection::AccountId;

use crate::report::progress;

/// How long the credential chain may take: SSO and web-identity providers make one HTTPS call;
/// anything slower is a chain stuck on a provider that cannot answer here.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(20);

/// What to do when no credentials resolve (the AWS CLI's own commands for the two common setups).
pub(crate) const NO_CREDENTIALS_HELP: &str = "no AWS credentials found: set AWS_PROFILE (a profile of \
     `aws configure` or `aws configure sso`, then `aws sso login`), or AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY; in GitHub Actions, configure-aws-credentials with the bootstrap's role";

/// Resolves the credentials of `sdk` once, so that a missing or expired login fails here, with
/// [`NO_CREDENTIALS_HELP`], before the command builds or writes anything.
pub(crate) async fn require_credentials(sdk: &SdkConfig) -> anyhow::Result<()> {
    let Some(provider) = sdk.credentials_provider() else {
        bail!("{NO_CREDENTIALS_HELP}");
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        // No provider had anything: the help says it all. A provider that had something and
        // failed (an expired SSO token, a refused role) adds the first line of its reason.
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => bail!("{NO_CREDENTIALS_HELP}"),
        Ok(Err(err)) => bail!(
            "{NO_CREDENTIALS_HELP} (the SDK's credential chain said: {})",
            first_line(&chain(&err))
        ),
        Err(_) => bail!(
            "{NO_CREDENTIALS_HELP} (the SDK's credential chain gave no answer in {} s)",
            CREDENTIALS_TIMEOUT.as_secs()
        ),
    }
}

/// The error and its sources, joined as anyhow's `{:#}` joins them.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Whether the caller's `actual` account may run commands on `stage`. Pure.
///
/// - The stage names an account: it must be `actual`; the error names both.
/// - It names none: allowed, with a warning on AWS stages (production-class stages cannot get
///   here: their stage file must name one).
pub(crate) fn compare_account(stage: &StageConfig, actual: &str) -> Result<Option<String>, String> {
    match &stage.account {
        Some(expected) if expected.as_str() == actual => Ok(None),
        Some(expected) => Err(mismatch(stage, expected, actual)),
        None if stage.emulator.is_none() => Ok(Some(format!(
            "warning: stage `{}` names no `account`, so nothing stops it from being deployed into \
             the wrong one; these credentials are for account {actual}: add `account: \"{actual}\"` \
             to infra/stages/{}.yaml if that is the stage's account",
            stage.name, stage.name
        ))),
        None => Ok(None),
    }
}

fn mismatch(stage: &StageConfig, expected: &AccountId, actual: &str) -> String {
    format!(
        "refusing stage `{}`: its stage file names account {expected}, but these credentials are \
         for account {actual}. Use credentials of account {expected} (AWS_PROFILE, \
         --profile, --assume-role), or fix `account:` in infra/stages/{}.yaml",
        stage.name, stage.name
    )
}

/// Checks the caller's account `actual` (as STS reported it) against the stage (see
/// [`compare_account`]): an error refuses, a warning is printed. The STS call is
/// `crate::aws::check_account`'s, so this module needs no client.
pub(crate) fn accept_account(stage: &StageConfig, actual: &str) -> anyhow::Result<()> {
    if actual.is_empty() {
        bail!("sts:GetCallerIdentity returned no account");
    }
    match compare_account(stage, actual) {
        Ok(Some(warning)) => progress(warning),
        Ok(None) => {}
        Err(refusal) => bail!("{refusal}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen_infra::config::parse_stage;

    fn stage(name: &str, edit: impl FnOnce(String) -> String) -> StageConfig {
        let path = crate::project_root()
            .join("infra/stages")
            .join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&path).expect("stage file");
        parse_stage(name, "test.yaml", &edit(text)).expect("valid stage")
    }

    #[test]
    fn a_named_account_must_match_and_the_refusal_names_both() {
        let dev = stage("dev", |t| format!("account: \"111111111111\"\n{t}"));
        assert_eq!(compare_account(&dev, "111111111111"), Ok(None));
        let refusal = compare_account(&dev, "222222222222").expect_err("refused");
        assert!(refusal.contains("111111111111"), "{refusal}");
        assert!(refusal.contains("222222222222"), "{refusal}");
    }

    #[test]
    fn an_aws_stage_without_an_account_warns_and_an_emulator_stage_does_not() {
        let dev = stage("dev", |t| t);
        let warning = compare_account(&dev, "333333333333")
            .expect("allowed")
            .expect("a warning");
        assert!(warning.contains("account: \"333333333333\""), "{warning}");
        let local = stage("local", |t| t);
        assert_eq!(compare_account(&local, "000000000000"), Ok(None));
    }

    #[tokio::test]
    async fn no_credentials_fail_with_what_to_do() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let err = require_credentials(&sdk).await.expect_err("no provider");
        assert!(
            err.to_string()
                .starts_with("no AWS credentials found: set AWS_PROFILE")
        );
    }

    #[tokio::test]
    async fn a_failing_provider_is_reported_with_what_to_do_and_its_first_line() {
        use aws_credential_types::provider::future::ProvideCredentials as Future;

        #[derive(Debug)]
        struct Expired;
        impl ProvideCredentials for Expired {
            fn provide_credentials<'a>(&'a self) -> Future<'a>
            where
                Self: 'a,
            {
                Future::ready(Err(CredentialsError::provider_error(
                    "the SSO session has expired\nsecond line",
                )))
            }
        }
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Expired),
            )
            .build();
        let err = require_credentials(&sdk)
            .await
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("no AWS credentials found"), "{err}");
        assert!(err.contains("the SSO session has expired"), "{err}");
        assert!(!err.contains("second line"), "{err}");
    }
}
