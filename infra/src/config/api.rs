//! The stage file's `api:` section: route authorization (and the acknowledgement that open routes
//! on AWS need) and stage throttling. Pure.

use serde::Deserialize;

use super::checks::check_range;
use super::error::StageError;

/// Route authorization mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// SigV4 with IAM (the default).
    AwsIam,
    /// Open to anyone who can reach the URL. Must be chosen explicitly.
    None,
}
/// Stage throttling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingConfig {
    /// Steady requests per second.
    pub rate_limit: f64,
    /// Burst size.
    pub burst_limit: u32,
}

/// What `api.unauthenticated_acknowledged` must say, word for word, for a stage on AWS to use
/// `api.auth: none`: whoever writes it has read what it means.
pub const UNAUTHENTICATED_ACKNOWLEDGEMENT: &str =
    "anyone who can reach the URL can spend this account's Bedrock budget";

/// API settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Route authorization.
    pub auth: AuthMode,
    /// With `auth: none` on a stage without `emulator:` (real AWS): required, and exactly
    /// [`UNAUTHENTICATED_ACKNOWLEDGEMENT`]. Refused with `auth: aws_iam`, where it would only
    /// mislead a reader of the file.
    #[serde(default)]
    pub unauthenticated_acknowledged: Option<String>,
    /// Stage throttling.
    pub throttling: ThrottlingConfig,
}

/// Open routes on AWS need the stage file to say, in so many words, what they cost; the key is
/// refused where it does not apply, so that a file never claims an exposure it does not have.
pub(super) fn validate_auth(
    api: &ApiConfig,
    emulator: bool,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    const KEY: &str = "api.unauthenticated_acknowledged";
    let given = api.unauthenticated_acknowledged.as_deref();
    match (api.auth, given) {
        (AuthMode::AwsIam, Some(_)) => Err(invalid(
            KEY,
            "is set but api.auth is aws_iam: it only acknowledges api.auth: none; remove it".into(),
        )),
        (AuthMode::None, None) if !emulator => Err(invalid(
            KEY,
            format!(
                "is required: api.auth is none on a stage on AWS (no `emulator:`), so every route \
                 is open to anyone who can reach the URL. Keep api.auth: aws_iam, or acknowledge \
                 it under `api:` with exactly `unauthenticated_acknowledged: \"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"`"
            ),
        )),
        (AuthMode::None, Some(text)) if text != UNAUTHENTICATED_ACKNOWLEDGEMENT => Err(invalid(
            KEY,
            format!("is `{text}`: it must be exactly \"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\""),
        )),
        _ => Ok(()),
    }
}

/// Steady rate and burst within what API Gateway accepts for a stage.
pub(super) fn validate_throttling(
    t: &ThrottlingConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    check_range(
        invalid,
        "api.throttling.rate_limit",
        t.rate_limit,
        0.1,
        10000.0,
    )?;
    check_range(
        invalid,
        "api.throttling.burst_limit",
        f64::from(t.burst_limit),
        1.0,
        5000.0,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_stage;
    use crate::config::testing::{DEV, LOCAL, parse};

    /// The dev stage with `api.auth: none` and, when given, an acknowledgement line under `api:`.
    fn open_dev(acknowledgement: Option<&str>) -> String {
        let auth = match acknowledgement {
            Some(text) => format!("auth: none\n  unauthenticated_acknowledged: {text}"),
            None => "auth: none".to_owned(),
        };
        assert!(
            DEV.contains("auth: aws_iam"),
            "dev.yaml changed: update the test"
        );
        DEV.replace("auth: aws_iam", &auth)
    }

    #[test]
    fn open_routes_on_aws_need_the_exact_acknowledgement() {
        let key = "api.unauthenticated_acknowledged";
        let err = parse(&open_dev(None))
            .expect_err("auth: none on AWS without the acknowledgement")
            .to_string();
        assert!(err.contains(key) && err.contains("is required"), "{err}");
        assert!(
            err.contains(UNAUTHENTICATED_ACKNOWLEDGEMENT),
            "the error quotes the line to add: {err}"
        );

        let exact = format!("\"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"");
        let open = parse(&open_dev(Some(&exact))).expect("acknowledged");
        assert_eq!(open.api.auth, AuthMode::None);
        assert_eq!(
            open.api.unauthenticated_acknowledged.as_deref(),
            Some(UNAUTHENTICATED_ACKNOWLEDGEMENT)
        );

        for wrong in [
            "\"\"",
            "\"yes\"",
            "\"Anyone who can reach the URL can spend this account's Bedrock budget\"",
            "\"anyone who can reach the URL can spend this account's Bedrock budget \"",
        ] {
            let err = parse(&open_dev(Some(wrong))).expect_err(wrong).to_string();
            assert!(
                err.contains(key) && err.contains("exactly"),
                "{wrong}: {err}"
            );
        }
    }

    #[test]
    fn acknowledgement_is_refused_where_routes_are_not_open() {
        let exact = format!("\"{UNAUTHENTICATED_ACKNOWLEDGEMENT}\"");
        let text = DEV.replace(
            "auth: aws_iam",
            &format!("auth: aws_iam\n  unauthenticated_acknowledged: {exact}"),
        );
        let err = parse(&text)
            .expect_err("aws_iam with an acknowledgement")
            .to_string();
        assert!(
            err.contains("api.unauthenticated_acknowledged") && err.contains("remove it"),
            "{err}"
        );
    }

    #[test]
    fn emulator_stages_may_open_routes_without_acknowledgement() {
        let local = LOCAL.replace("auth: aws_iam", "auth: none");
        let cfg = parse_stage("local", "local.yaml", &local).expect("emulator stage");
        assert_eq!(cfg.api.auth, AuthMode::None);
        // A wrong acknowledgement is still refused: the file must not say something else.
        let wrong = local.replace(
            "auth: none",
            "auth: none\n  unauthenticated_acknowledged: ok",
        );
        assert!(parse_stage("local", "local.yaml", &wrong).is_err());
    }
}
