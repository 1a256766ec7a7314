//! Sampling parameters: their ranges, and the exact set sent to each model.
//!
//! What a model accepts comes from the model catalogue ([`codegen_contract::models`]): Claude 3.x
//! takes `temperature`, `top_p` and `top_k` together; Opus 4.1 through 4.6 and Sonnet 4.5/4.6 reject
//! `temperature` with `top_p`; Opus 4.7 and later fix their sampling and reject any of them. A
//! model the catalogue does not know gets none of them. [`plan`] turns the configured defaults and
//! the caller's explicit values into what is sent, and says in `warnings` what was not sent and
//! why, so no explicit value is ever changed silently. Pure: no IO.

use codegen_contract::SentSampling;
use codegen_contract::models::{self, Effort, SamplingRule, ThinkingSetting};

/// Valid `temperature` range.
pub const TEMPERATURE_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;
/// Valid `top_p` range.
pub const TOP_P_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;
/// Valid `top_k` range.
pub const TOP_K_RANGE: std::ops::RangeInclusive<u32> = 1..=500;
/// Valid `max_tokens` range (the service's own cap; each model's limit is checked in [`plan`]).
pub const MAX_TOKENS_RANGE: std::ops::RangeInclusive<u32> = 1..=8192;

/// A full set of sampling parameters (the configured defaults, or defaults merged with a request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Sampling temperature.
    pub temperature: f64,
    /// Number of most likely tokens to sample from.
    pub top_k: u32,
    /// Nucleus sampling mass.
    pub top_p: f64,
    /// Largest number of tokens to generate.
    pub max_tokens: u32,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.1,
            top_k: 250,
            top_p: 0.2,
            max_tokens: 2048,
        }
    }
}

/// A sampling value outside its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} must be {expected} (got {got})")]
pub struct SamplingError {
    /// Field name as the caller spells it.
    pub field: &'static str,
    /// The accepted range, in words.
    pub expected: &'static str,
    /// The rejected value.
    pub got: String,
}

impl Sampling {
    /// Checks a temperature.
    pub fn check_temperature(v: f64) -> Result<f64, SamplingError> {
        check_f64("temperature", v, &TEMPERATURE_RANGE, "a number from 0 to 1")
    }

    /// Checks a top_p.
    pub fn check_top_p(v: f64) -> Result<f64, SamplingError> {
        check_f64("top_p", v, &TOP_P_RANGE, "a number from 0 to 1")
    }

    /// Checks a top_k.
    pub fn check_top_k(v: u32) -> Result<u32, SamplingError> {
        check_u32("top_k", v, &TOP_K_RANGE, "a whole number from 1 to 500")
    }

    /// Checks a max_tokens.
    pub fn check_max_tokens(v: u32) -> Result<u32, SamplingError> {
        check_u32(
            "max_tokens",
            v,
            &MAX_TOKENS_RANGE,
            "a whole number from 1 to 8192",
        )
    }

    /// The defaults with every value the caller set replaced.
    pub fn merged(self, overrides: &Overrides) -> Self {
        Self {
            temperature: overrides.temperature.unwrap_or(self.temperature),
            top_k: overrides.top_k.unwrap_or(self.top_k),
            top_p: overrides.top_p.unwrap_or(self.top_p),
            max_tokens: overrides.max_tokens.unwrap_or(self.max_tokens),
        }
    }
}

fn check_f64(
    field: &'static str,
    v: f64,
    range: &std::ops::RangeInclusive<f64>,
    expected: &'static str,
) -> Result<f64, SamplingError> {
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(SamplingError {
            field,
            expected,
            got: v.to_string(),
        })
    }
}

fn check_u32(
    field: &'static str,
    v: u32,
    range: &std::ops::RangeInclusive<u32>,
    expected: &'static str,
) -> Result<u32, SamplingError> {
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(SamplingError {
            field,
            expected,
            got: v.to_string(),
        })
    }
}

/// The sampling values a caller set explicitly (already range-checked).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// Explicit temperature.
    pub temperature: Option<f64>,
    /// Explicit top_k.
    pub top_k: Option<u32>,
    /// Explicit top_p.
    pub top_p: Option<f64>,
    /// Explicit max_tokens.
    pub max_tokens: Option<u32>,
}

/// What the caller asked for cannot be sent to this model at all (the request is refused with a
/// 400 before any model call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("max_tokens {requested} is above the limit of model {model} ({limit} output tokens)")]
pub struct OverLimit {
    /// The model id as configured.
    pub model: String,
    /// What was asked.
    pub requested: u32,
    /// The model's largest output.
    pub limit: u32,
}

/// The parameters actually sent to the model, plus what was not sent and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The catalogue's rule for the model (`None`: not in the catalogue).
    pub rule: Option<SamplingRule>,
    /// Temperature to send.
    pub temperature: Option<f64>,
    /// top_p to send.
    pub top_p: Option<f64>,
    /// top_k to send as the additional model request field `{"top_k": N}`.
    pub top_k: Option<u32>,
    /// max_tokens to send: the answer's budget plus [`thinking_tokens`](Self::thinking_tokens).
    pub max_tokens: u32,
    /// The thinking setting to send (`None`: none, the model's default).
    pub thinking: Option<ThinkingSetting>,
    /// The effort to send as `output_config.effort` (`None`: none, the model's default).
    pub effort: Option<Effort>,
    /// Output tokens reserved for thinking, included in `max_tokens` (0: the model does not think
    /// on this route).
    pub thinking_tokens: u32,
    /// Whether the model thinks on this route (its thinking counts toward `max_tokens`).
    pub thinks: bool,
    /// Warnings for the caller: explicit values that were not sent, unknown models, clamping.
    pub warnings: Vec<String>,
    /// Every parameter not sent (explicit or default), for the logs.
    pub dropped: Vec<&'static str>,
}

impl Plan {
    /// What was sent, as the response reports it.
    pub fn sent(&self) -> SentSampling {
        SentSampling {
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            max_tokens: self.max_tokens,
            thinking: self.thinking.map(|t| t.as_str().to_owned()),
            effort: self.effort.map(|e| e.as_str().to_owned()),
            thinking_tokens: (self.thinking_tokens > 0).then_some(self.thinking_tokens),
        }
    }

    /// The answer's own budget: what is left of `max_tokens` after the thinking reservation.
    pub fn answer_tokens(&self) -> u32 {
        self.max_tokens.saturating_sub(self.thinking_tokens)
    }
}

/// Decides which parameters to send to `model_id`, given the configured defaults and what the
/// caller set explicitly. Never yields a combination the catalogue says the model rejects; a
/// `max_tokens` the caller set above the model's limit is an error, a configured default above it
/// is lowered to the limit with a warning.
pub fn plan(model_id: &str, defaults: Sampling, overrides: &Overrides) -> Result<Plan, OverLimit> {
    let spec = models::resolve(model_id).spec;
    let merged = defaults.merged(overrides);
    let mut plan = Plan {
        rule: spec.map(|s| s.sampling),
        temperature: Some(merged.temperature),
        top_p: Some(merged.top_p),
        top_k: Some(merged.top_k),
        max_tokens: merged.max_tokens,
        thinking: None,
        effort: None,
        thinking_tokens: 0,
        thinks: false,
        warnings: Vec::new(),
        dropped: Vec::new(),
    };
    if let Some(spec) = spec
        && merged.max_tokens > spec.max_output_tokens
    {
        if overrides.max_tokens.is_some() {
            return Err(OverLimit {
                model: model_id.to_owned(),
                requested: merged.max_tokens,
                limit: spec.max_output_tokens,
            });
        }
        plan.max_tokens = spec.max_output_tokens;
        plan.warnings.push(format!(
            "max_tokens was lowered from the configured {} to {}, the limit of model {model_id}",
            merged.max_tokens, spec.max_output_tokens
        ));
    }
    match plan.rule {
        Some(SamplingRule::Any) => {}
        Some(SamplingRule::TemperatureXorTopP) => {
            // One of the two: top_p when the caller asked for top_p alone, else temperature.
            let why = format!("model {model_id} does not accept temperature and top_p together");
            if overrides.top_p.is_some() && overrides.temperature.is_none() {
                plan.temperature = None;
                plan.dropped.push("temperature");
            } else {
                plan.top_p = None;
                plan.dropped.push("top_p");
                if overrides.top_p.is_some() {
                    plan.warnings
                        .push(format!("top_p was not sent: {why}; temperature was sent"));
                }
            }
        }
        Some(SamplingRule::Fixed) => {
            let why = format!(
                "model {model_id} fixes its sampling (it rejects temperature other than 1, top_p \
                 below 0.99 and any top_k)"
            );
            plan.temperature = None;
            plan.top_p = None;
            plan.top_k = None;
            plan.dropped.extend(["temperature", "top_p", "top_k"]);
            // An explicit value equal to the model's own setting loses nothing by not being sent.
            let explicit = [
                (
                    "temperature",
                    overrides.temperature.filter(|t| *t != 1.0).is_some(),
                ),
                ("top_p", overrides.top_p.filter(|p| *p != 1.0).is_some()),
                ("top_k", overrides.top_k.is_some()),
            ];
            for (name, set) in explicit {
                if set {
                    plan.warnings.push(format!("{name} was not sent: {why}"));
                }
            }
        }
        None => {
            plan.temperature = None;
            plan.top_p = None;
            plan.top_k = None;
            plan.dropped.extend(["temperature", "top_p", "top_k"]);
            plan.warnings.push(format!(
                "model {model_id} is not in the model catalogue: no temperature, top_p or top_k was \
                 sent (the model's own defaults apply), because an unknown model may reject them"
            ));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Models of the `temperature xor top_p` class, in every id form.
    const XOR: [&str; 6] = [
        "us.anthropic.claude-sonnet-4-6",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "us.anthropic.claude-opus-4-6-v1",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ];
    const FIXED: [&str; 3] = [
        "us.anthropic.claude-opus-4-7",
        "global.anthropic.claude-opus-4-8",
        "anthropic.claude-opus-4-7",
    ];
    const ANY: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn all_explicit() -> Overrides {
        Overrides {
            temperature: Some(0.3),
            top_k: Some(10),
            top_p: Some(0.5),
            max_tokens: Some(100),
        }
    }

    fn planned(id: &str, overrides: &Overrides) -> Plan {
        plan(id, Sampling::default(), overrides).expect("within the model's limit")
    }

    #[test]
    fn xor_models_never_get_temperature_and_top_p_together() {
        for id in XOR {
            for overrides in [Overrides::default(), all_explicit()] {
                let p = planned(id, &overrides);
                assert_eq!(p.rule, Some(SamplingRule::TemperatureXorTopP), "{id}");
                assert!(
                    !(p.temperature.is_some() && p.top_p.is_some()),
                    "{id}: {p:?}"
                );
                assert_eq!(p.temperature, overrides.temperature.or(Some(0.1)), "{id}");
                assert!(p.top_k.is_some(), "{id}: top_k is still sent");
            }
            // Dropping an explicit top_p is reported; dropping the default is not.
            assert_eq!(planned(id, &all_explicit()).warnings.len(), 1, "{id}");
            assert!(planned(id, &Overrides::default()).warnings.is_empty());
            // top_p alone is honoured: temperature (a default) is what is left out, silently.
            let top_p_only = Overrides {
                top_p: Some(0.9),
                ..Overrides::default()
            };
            let p = planned(id, &top_p_only);
            assert_eq!((p.temperature, p.top_p), (None, Some(0.9)), "{id}");
            assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        }
    }

    #[test]
    fn fixed_models_get_no_sampling_parameter_and_explicit_values_are_reported() {
        for id in FIXED {
            let p = planned(id, &Overrides::default());
            assert_eq!(p.rule, Some(SamplingRule::Fixed), "{id}");
            assert_eq!(
                (p.temperature, p.top_p, p.top_k),
                (None, None, None),
                "{id}"
            );
            assert!(
                p.warnings.is_empty(),
                "defaults are dropped silently: {:?}",
                p.warnings
            );
            assert_eq!(p.max_tokens, 2048);
            let p = planned(id, &all_explicit());
            assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
            assert!(p.warnings.iter().all(|w| w.contains("fixes its sampling")));
            // The model's own values lose nothing by not being sent.
            let own = Overrides {
                temperature: Some(1.0),
                top_p: Some(1.0),
                ..Overrides::default()
            };
            assert!(planned(id, &own).warnings.is_empty());
        }
    }

    #[test]
    fn any_models_get_all_three() {
        let p = planned(ANY, &Overrides::default());
        assert_eq!(p.rule, Some(SamplingRule::Any));
        assert_eq!(
            (p.temperature, p.top_p, p.top_k, p.max_tokens),
            (Some(0.1), Some(0.2), Some(250), 2048)
        );
        assert!(p.warnings.is_empty() && p.dropped.is_empty());
        let p = planned(ANY, &all_explicit());
        assert_eq!(
            (p.temperature, p.top_p, p.top_k),
            (Some(0.3), Some(0.5), Some(10))
        );
        assert_eq!(
            p.sent(),
            SentSampling {
                temperature: Some(0.3),
                top_p: Some(0.5),
                top_k: Some(10),
                max_tokens: 100,
                ..SentSampling::default()
            }
        );
    }

    #[test]
    fn unknown_models_get_nothing_optional_and_a_warning() {
        for id in [
            "anthropic.claude-mystery-1",
            "us.anthropic.claude-sonnet-9",
            "meta.llama3-70b-instruct-v1:0",
            "nonsense",
        ] {
            let p = planned(id, &Overrides::default());
            assert_eq!(p.rule, None);
            assert_eq!(
                (p.temperature, p.top_p, p.top_k),
                (None, None, None),
                "{id}"
            );
            assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
            assert!(p.warnings[0].contains("not in the model catalogue"));
        }
    }

    #[test]
    fn max_tokens_above_the_model_limit() {
        let over = Overrides {
            max_tokens: Some(8000),
            ..Overrides::default()
        };
        let err = plan(ANY, Sampling::default(), &over).expect_err("explicit: refused");
        assert_eq!((err.requested, err.limit), (8000, 4096));
        assert!(err.to_string().contains("4096"), "{err}");
        let defaults = Sampling {
            max_tokens: 8000,
            ..Sampling::default()
        };
        let p = plan(ANY, defaults, &Overrides::default()).expect("configured: lowered");
        assert_eq!(p.max_tokens, 4096);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        // Unknown models have no known limit: the service cap (range check) is all that applies.
        assert!(plan("anthropic.claude-mystery", Sampling::default(), &over).is_ok());
    }

    #[test]
    fn range_checks() {
        assert!(Sampling::check_temperature(0.0).is_ok());
        assert!(Sampling::check_temperature(1.0).is_ok());
        assert!(Sampling::check_temperature(1.01).is_err());
        assert!(Sampling::check_temperature(f64::NAN).is_err());
        assert!(Sampling::check_top_p(-0.01).is_err());
        assert!(Sampling::check_top_k(0).is_err());
        assert!(Sampling::check_top_k(500).is_ok());
        assert!(Sampling::check_top_k(501).is_err());
        assert!(Sampling::check_max_tokens(8193).is_err());
        let e = Sampling::check_top_k(0).expect_err("out of range");
        assert_eq!(
            e.to_string(),
            "top_k must be a whole number from 1 to 500 (got 0)"
        );
    }
}
