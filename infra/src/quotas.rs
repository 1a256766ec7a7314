//! The stage file's `quotas` section: a budget per caller per UTC day, an optional ceiling per
//! request, overrides for named principals, and a cap on one caller's jobs queued or running.
//! Pure: the section arrives parsed; the result is a value the stack turns into a table, grants
//! and environment variables (names in `codegen_contract::quota::env`).
//!
//! ```yaml
//! quotas:
//!   daily_usd: 5.00            # per caller per UTC day (default for every caller)
//!   request_max_usd: 0.50      # optional: the most one request may reserve
//!   max_jobs_per_caller: 3     # optional: jobs queued or running per caller
//!   overrides:                 # optional: by principal key (docs/principals.md)
//!     "user:123456789012:AIDAEXAMPLEEXAMPLE": 20.00
//! ```
//!
//! Why USD and not tokens: tokens of different models and classes do not compare (an output
//! token of Opus costs 250 input tokens of Haiku 5.5), so a token budget would be unfair across
//! a model change and meaningless against the bill; the function prices every call from the
//! catalogue (`codegen_contract::cost`) and budgets the money. Without the section there are no
//! budgets, no table and no grant.

use std::collections::BTreeMap;

use codegen_contract::quota::{self, env};
use serde::Deserialize;

/// The largest daily budget accepted (a typo guard): $100 000 per caller per day.
pub const MAX_DAILY_USD: f64 = 100_000.0;

/// The section as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotasFile {
    daily_usd: f64,
    #[serde(default)]
    request_max_usd: Option<f64>,
    #[serde(default)]
    max_jobs_per_caller: Option<u32>,
    #[serde(default)]
    overrides: BTreeMap<String, f64>,
}

/// Validated budgets, in micro-dollars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotasConfig {
    /// Per caller per UTC day.
    pub daily_micro_usd: u64,
    /// The most one request may reserve.
    pub request_max_micro_usd: Option<u64>,
    /// Jobs queued or running per caller.
    pub max_jobs_per_caller: Option<u32>,
    /// By principal key.
    pub overrides: Vec<(String, u64)>,
}

impl QuotasConfig {
    /// The environment variables the stack sets on every function, besides the table's name.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(env::DAILY_MICRO_USD, self.daily_micro_usd.to_string())];
        if !self.overrides.is_empty() {
            out.push((env::OVERRIDES, quota::format_overrides(&self.overrides)));
        }
        if let Some(m) = self.request_max_micro_usd {
            out.push((env::REQUEST_MAX_MICRO_USD, m.to_string()));
        }
        if let Some(j) = self.max_jobs_per_caller {
            out.push((env::MAX_JOBS_PER_CALLER, j.to_string()));
        }
        out
    }
}

fn micro(key: &str, usd: f64) -> Result<u64, (String, String)> {
    if !(usd.is_finite() && usd > 0.0 && usd <= MAX_DAILY_USD) {
        return Err((
            key.to_owned(),
            format!("is {usd}: a budget is a positive number of USD up to {MAX_DAILY_USD}"),
        ));
    }
    // In range, so the product fits; rounding to the micro-dollar is the budget's resolution.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok((usd * 1_000_000.0).round() as u64)
}

/// Validates the section (`None`: no budgets) against the stage's model (`None`: a model the
/// catalogue does not know): budgets need the model's prices. Errors are `(key, message)`.
pub fn validate(
    file: Option<&QuotasFile>,
    spec: Option<&codegen_contract::models::ModelSpec>,
) -> Result<Option<QuotasConfig>, (String, String)> {
    let Some(file) = file else {
        return Ok(None);
    };
    if spec.and_then(|s| s.prices()).is_none() {
        return Err((
            "quotas".into(),
            "budgets are in USD and the catalogue has no price for this stage's model, so no \
             request could be reserved: add the model's prices to \
             crates/contract/src/models/prices.rs or remove the section"
                .into(),
        ));
    }
    let daily = micro("quotas.daily_usd", file.daily_usd)?;
    let request_max = file
        .request_max_usd
        .map(|u| micro("quotas.request_max_usd", u))
        .transpose()?;
    if file.max_jobs_per_caller == Some(0) {
        return Err((
            "quotas.max_jobs_per_caller".into(),
            "is 0: a caller could never submit a job; leave it out for no cap".into(),
        ));
    }
    let mut overrides = Vec::new();
    for (principal, usd) in &file.overrides {
        let key = format!("quotas.overrides.{principal}");
        principal
            .parse::<codegen_contract::Principal>()
            .map_err(|e| (key.clone(), format!("is not a principal key: {e}")))?;
        overrides.push((principal.clone(), micro(&key, *usd)?));
    }
    Ok(Some(QuotasConfig {
        daily_micro_usd: daily,
        request_max_micro_usd: request_max,
        max_jobs_per_caller: file.max_jobs_per_caller,
        overrides,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Option<QuotasConfig>, (String, String)> {
        let file: QuotasFile = serde_saphyr::from_str(yaml).expect("yaml");
        validate(
            Some(&file),
            codegen_contract::models::find("anthropic.claude-sonnet-4-6"),
        )
    }

    #[test]
    fn budgets_in_usd_become_micro_dollars() {
        let q = parse(
            "daily_usd: 5\nrequest_max_usd: 0.25\nmax_jobs_per_caller: 2\noverrides:\n  \
             \"user:123456789012:AIDAEXAMPLE1\": 20.5\n",
        )
        .expect("valid")
        .expect("some");
        assert_eq!(q.daily_micro_usd, 5_000_000);
        assert_eq!(q.request_max_micro_usd, Some(250_000));
        assert_eq!(
            q.overrides,
            vec![("user:123456789012:AIDAEXAMPLE1".to_owned(), 20_500_000)]
        );
        let env = q.env();
        assert!(env.contains(&(env::DAILY_MICRO_USD, "5000000".to_owned())));
        assert!(env.contains(&(env::MAX_JOBS_PER_CALLER, "2".to_owned())));
        assert!(env.contains(&(
            env::OVERRIDES,
            "user:123456789012:AIDAEXAMPLE1=20500000".to_owned()
        )));
        assert_eq!(validate(None, None), Ok(None));
        // An unknown model has no price: budgets cannot be reserved for it.
        let file: QuotasFile = serde_saphyr::from_str("daily_usd: 5\n").expect("yaml");
        assert_eq!(
            validate(Some(&file), None).map_err(|e| e.0),
            Err("quotas".to_owned())
        );
    }

    #[test]
    fn nonsense_is_refused_with_its_key() {
        for (yaml, key) in [
            ("daily_usd: 0\n", "quotas.daily_usd"),
            ("daily_usd: -1\n", "quotas.daily_usd"),
            ("daily_usd: 1e9\n", "quotas.daily_usd"),
            (
                "daily_usd: 1\nmax_jobs_per_caller: 0\n",
                "quotas.max_jobs_per_caller",
            ),
            (
                "daily_usd: 1\noverrides:\n  bob: 2\n",
                "quotas.overrides.bob",
            ),
        ] {
            let err = parse(yaml).expect_err(yaml);
            assert_eq!(err.0, key, "{yaml}");
        }
        assert!(serde_saphyr::from_str::<QuotasFile>("daily_usd: 1\ndaily_tokens: 3\n").is_err());
    }
}
