//! Sampling parameters: their ranges, and which combinations each Bedrock model accepts.
//!
//! Current Claude models (Opus 4.1, Sonnet 4.5, Haiku 4.5 and later) reject a request that sets
//! both `temperature` and `top_p`; Claude 3.x accepts both, plus `top_k` as an additional model
//! request field. [`plan`] turns the requested values into the exact set sent to the model, so the
//! function never sends a combination the model rejects. Pure: no IO.

/// Valid `temperature` range.
pub const TEMPERATURE_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;
/// Valid `top_p` range.
pub const TOP_P_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;
/// Valid `top_k` range.
pub const TOP_K_RANGE: std::ops::RangeInclusive<u32> = 1..=500;
/// Valid `max_tokens` range.
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

/// Which sampling parameters a model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// temperature, top_p and (Anthropic) top_k, in any combination: Claude 3.x and older.
    All,
    /// temperature or top_p but not both, plus top_k: Claude Opus 4.1, Sonnet 4.5, Haiku 4.5 and
    /// later (and, conservatively, the Claude 4.0 models).
    TemperatureXorTopP,
    /// An Anthropic model this table does not know: temperature and top_k only.
    AnthropicUnknown,
    /// Amazon Nova: temperature and top_p (its top_k has a different request shape; not sent).
    TemperatureAndTopP,
    /// Any other model: temperature only.
    TemperatureOnly,
}

impl Support {
    fn top_p(self) -> bool {
        matches!(self, Self::All | Self::TemperatureAndTopP)
    }

    fn top_k(self) -> bool {
        matches!(
            self,
            Self::All | Self::TemperatureXorTopP | Self::AnthropicUnknown
        )
    }
}

/// Geographic prefixes of cross-region inference profiles (`us.anthropic...`).
const REGION_PREFIXES: [&str; 9] = [
    "us", "eu", "apac", "global", "us-gov", "jp", "au", "ca", "ap",
];

/// The base model id of a model id, inference-profile id or ARN: `anthropic.claude-sonnet-4-5-...`.
/// Lowercased; the ARN part and any geographic prefix are stripped.
pub fn base_model_id(model_id: &str) -> String {
    let id = model_id.trim().to_ascii_lowercase();
    let id = match id.rsplit_once('/') {
        Some((_, tail)) if id.starts_with("arn:") => tail.to_owned(),
        _ => id,
    };
    match id.split_once('.') {
        Some((region, rest)) if REGION_PREFIXES.contains(&region) && rest.contains('.') => {
            rest.to_owned()
        }
        _ => id,
    }
}

/// Looks up what a model accepts from its id (see [`base_model_id`]).
pub fn support_for(model_id: &str) -> Support {
    let base = base_model_id(model_id);
    let Some((provider, model)) = base.split_once('.') else {
        return Support::TemperatureOnly;
    };
    match provider {
        "anthropic" => anthropic_support(model),
        "amazon" if model.starts_with("nova") => Support::TemperatureAndTopP,
        _ => Support::TemperatureOnly,
    }
}

fn anthropic_support(model: &str) -> Support {
    // Legacy and Claude 3.x names: claude-v2, claude-instant-v1, claude-3-haiku, claude-3-5-sonnet,
    // claude-3-7-sonnet.
    if model.starts_with("claude-v2")
        || model.starts_with("claude-instant")
        || model.starts_with("claude-3-")
    {
        return Support::All;
    }
    // Claude 4 and later: claude-<family>-<major>[-<minor>]-<date>.
    let mut parts = model.split('-');
    let family = (parts.next(), parts.next());
    if let (Some("claude"), Some("opus" | "sonnet" | "haiku")) = family
        && let Some(major) = parts.next().and_then(|p| p.parse::<u32>().ok())
        && major >= 4
    {
        return Support::TemperatureXorTopP;
    }
    Support::AnthropicUnknown
}

/// The parameters actually sent to the model, plus what was dropped and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Temperature to send.
    pub temperature: Option<f32>,
    /// top_p to send.
    pub top_p: Option<f32>,
    /// top_k to send as the additional model request field `{"top_k": N}`.
    pub top_k: Option<u32>,
    /// max_tokens to send.
    pub max_tokens: u32,
    /// Warnings for the caller: explicitly set values that were not sent.
    pub warnings: Vec<String>,
    /// Every parameter not sent (explicit or default), for the logs.
    pub dropped: Vec<&'static str>,
}

/// Decides which parameters to send to `model_id`, given the configured defaults and what the
/// caller set explicitly. Never yields a combination [`support_for`] says the model rejects.
pub fn plan(model_id: &str, defaults: Sampling, overrides: &Overrides) -> Plan {
    let support = support_for(model_id);
    let merged = defaults.merged(overrides);
    let mut plan = Plan {
        // Narrowing to f32 is what the SDK accepts; values are within 0..=1.
        temperature: Some(merged.temperature as f32),
        top_p: Some(merged.top_p as f32),
        top_k: Some(merged.top_k),
        max_tokens: merged.max_tokens,
        warnings: Vec::new(),
        dropped: Vec::new(),
    };
    if !support.top_p() {
        plan.top_p = None;
        plan.dropped.push("top_p");
        if overrides.top_p.is_some() {
            let why = if support == Support::TemperatureXorTopP {
                "does not accept temperature and top_p together; temperature was sent"
            } else {
                "does not support it"
            };
            plan.warnings
                .push(format!("top_p was ignored: model {model_id} {why}"));
        }
    }
    if !support.top_k() {
        plan.top_k = None;
        plan.dropped.push("top_k");
        if overrides.top_k.is_some() {
            plan.warnings.push(format!(
                "top_k was ignored: model {model_id} does not support it"
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: [&str; 8] = [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "US.Anthropic.Claude-Opus-4-5-20251101-v1:0",
    ];

    const CLAUDE_3: [&str; 5] = [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-opus-20240229-v1:0",
    ];

    #[test]
    fn base_model_id_strips_region_prefix_and_arn() {
        assert_eq!(
            base_model_id("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(
            base_model_id(
                "arn:aws:bedrock:eu-west-1:1:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0"
            ),
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(
            base_model_id("anthropic.claude-v2"),
            "anthropic.claude-v2",
            "no prefix to strip"
        );
    }

    #[test]
    fn current_claude_never_gets_temperature_and_top_p_together() {
        let all_explicit = Overrides {
            temperature: Some(0.3),
            top_k: Some(10),
            top_p: Some(0.5),
            max_tokens: Some(100),
        };
        for id in CURRENT {
            assert_eq!(support_for(id), Support::TemperatureXorTopP, "{id}");
            for overrides in [Overrides::default(), all_explicit] {
                let p = plan(id, Sampling::default(), &overrides);
                assert!(
                    !(p.temperature.is_some() && p.top_p.is_some()),
                    "{id}: {p:?}"
                );
                assert!(p.temperature.is_some(), "{id}");
                assert!(p.top_k.is_some(), "{id}: top_k is still sent");
            }
            // Dropping an explicit top_p is reported; dropping the default is not.
            assert_eq!(
                plan(id, Sampling::default(), &all_explicit).warnings.len(),
                1
            );
            assert!(
                plan(id, Sampling::default(), &Overrides::default())
                    .warnings
                    .is_empty()
            );
        }
    }

    #[test]
    fn claude_3_gets_all_three() {
        for id in CLAUDE_3 {
            assert_eq!(support_for(id), Support::All, "{id}");
            let p = plan(id, Sampling::default(), &Overrides::default());
            assert_eq!(p.temperature, Some(0.1));
            assert_eq!(p.top_p, Some(0.2));
            assert_eq!(p.top_k, Some(250));
            assert_eq!(p.max_tokens, 2048);
            assert!(p.warnings.is_empty() && p.dropped.is_empty());
        }
        assert_eq!(support_for("anthropic.claude-v2"), Support::All);
    }

    #[test]
    fn unknown_models_are_conservative() {
        let p = plan(
            "anthropic.claude-mystery-1",
            Sampling::default(),
            &Overrides::default(),
        );
        assert_eq!(
            (p.temperature.is_some(), p.top_p, p.top_k),
            (true, None, Some(250))
        );

        for id in [
            "meta.llama3-70b-instruct-v1:0",
            "mistral.mistral-large",
            "nonsense",
        ] {
            assert_eq!(support_for(id), Support::TemperatureOnly, "{id}");
            let explicit = Overrides {
                top_k: Some(5),
                top_p: Some(0.5),
                ..Overrides::default()
            };
            let p = plan(id, Sampling::default(), &explicit);
            assert_eq!((p.top_p, p.top_k), (None, None));
            assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        }
        assert_eq!(
            support_for("us.amazon.nova-pro-v1:0"),
            Support::TemperatureAndTopP
        );
    }

    #[test]
    fn overrides_replace_defaults() {
        let p = plan(
            CLAUDE_3[0],
            Sampling::default(),
            &Overrides {
                temperature: Some(1.0),
                top_k: Some(1),
                top_p: Some(0.0),
                max_tokens: Some(8192),
            },
        );
        assert_eq!(p.temperature, Some(1.0));
        assert_eq!(p.top_p, Some(0.0));
        assert_eq!(p.top_k, Some(1));
        assert_eq!(p.max_tokens, 8192);
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
