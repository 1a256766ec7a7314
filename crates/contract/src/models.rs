//! The model catalogue: every Bedrock model the service knows, as data, each row citing the AWS or
//! Anthropic page it comes from. One table serves every side: the function plans the sampling
//! parameters it sends from it, the stack derives the IAM grant for an inference profile from it,
//! the deployer's preflight compares the profile's real destinations with it, and the Bedrock test
//! double enforces its rules. Pure data and lookups: no IO.
//!
//! A model id arrives in one of three forms, all resolved by [`resolve`]: a base model id
//! (`anthropic.claude-3-haiku-20240307-v1:0`), an inference-profile id with a geographic or global
//! prefix (`us.anthropic.claude-sonnet-4-6`, `global.anthropic.claude-opus-4-8`), or an ARN of
//! either. Ids the table does not know resolve to `None`; callers then take the safest path (send
//! no optional sampling parameter) and say so.

/// Which sampling parameters a model accepts, and in which combinations.
///
/// Sources: Bedrock "Anthropic Claude Messages API" request parameters
/// (<https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html>),
/// Anthropic "Migrating to Claude 4.5" (temperature and top_p together rejected from Opus 4.1 /
/// Sonnet 4.5 on) and "What's new in Claude Opus 4.7" (sampling parameters fixed from Opus 4.7 on);
/// see [`CATALOGUE`] for the page behind each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingRule {
    /// `temperature` (0-1), `top_p` (0-1) and `top_k` (0-500, an additional model request field),
    /// in any combination: Claude 3.x, Sonnet 4 and Opus 4.
    Any,
    /// `temperature` or `top_p`, never both; `top_k` accepted: Opus 4.1 through Opus 4.6 and
    /// Sonnet 4.6. Both together is a 400 ValidationException.
    TemperatureXorTopP,
    /// Sampling is fixed by the model: `temperature` other than 1, any `top_k`, and `top_p` below
    /// 0.99 are rejected with a 400 (Opus 4.7 and later). Nothing is worth sending.
    Fixed,
}

impl SamplingRule {
    /// Short name for tables and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::TemperatureXorTopP => "temperature_xor_top_p",
            Self::Fixed => "fixed",
        }
    }
}

/// A model's lifecycle on Bedrock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Current.
    Active,
    /// Still callable, scheduled for end of life (dates as published, `YYYY-MM-DD`). Bedrock
    /// refuses a Legacy model to an account that has not used it recently ("marked by provider as
    /// Legacy"), so a new account cannot start on one.
    Legacy {
        /// When the model entered its Legacy state, where published.
        since: Option<&'static str>,
        /// Published end-of-life date.
        end_of_life: &'static str,
    },
    /// Past its end of life: Bedrock answers "The provided model identifier is invalid." Kept in
    /// the table so the stage validation can say so instead of letting a deploy fail later.
    Retired {
        /// End-of-life date.
        since: &'static str,
    },
}

impl Lifecycle {
    /// What the stage validation and the preflight say about a model in this state, if anything.
    pub fn notice(self, name: &str) -> Option<String> {
        match self {
            Self::Active => None,
            Self::Legacy { since, end_of_life } => Some(format!(
                "{name} is Legacy on Bedrock{} (end of life {end_of_life}): Bedrock \
                 refuses a Legacy model to an account that has not used it recently, so a new \
                 account cannot start on it; plan the move to a current model (docs/models.md)",
                since.map_or_else(String::new, |d| format!(" since {d}"))
            )),
            Self::Retired { since } => {
                Some(format!("{name} is past its end of life since {since}"))
            }
        }
    }
}

/// Whether, and how, a model thinks before it answers (Bedrock "Adaptive thinking",
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html>,
/// and each model's card; checked 2026-12-07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingClass {
    /// No adaptive thinking: the function sends no thinking setting and no effort.
    None,
    /// Adaptive thinking on request (`thinking: {"type": "adaptive"}`), off when not asked for
    /// (Opus 4.6 through 4.8, Sonnet 4.6).
    Optional,
    /// Thinks unless told not to; `thinking: {"type": "disabled"}` is accepted at effort `high`
    /// or below (Opus 5, Haiku 5.5).
    OnByDefault,
    /// Always thinks: `disabled` (and manual `enabled` with `budget_tokens`) is a 400 (Opus 5.5,
    /// Sonnet 5.5, Fable, Mythos). Also used where a card says thinking is on by default but
    /// does not say it can be turned off: nothing the docs leave open is ever sent.
    AlwaysOn,
}

impl ThinkingClass {
    /// Short name for tables and messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Optional => "optional",
            Self::OnByDefault => "on by default",
            Self::AlwaysOn => "always on",
        }
    }

    /// Whether a request that says nothing about thinking gets thinking.
    pub const fn thinks_by_default(self) -> bool {
        matches!(self, Self::OnByDefault | Self::AlwaysOn)
    }

    /// Whether `thinking: {"type": "adaptive"}` is accepted.
    pub const fn takes_adaptive(self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether `thinking: {"type": "disabled"}` is accepted (with an effort of `high` or below).
    pub const fn takes_disabled(self) -> bool {
        matches!(self, Self::Optional | Self::OnByDefault)
    }
}

/// An effort level (`output_config.effort`): how much a thinking model thinks. Bedrock's Converse
/// `OutputConfig` documents the same five values ("Supported values are low, medium, high, xhigh,
/// and max"; "When extended thinking is disabled, the effort level is capped at high"),
/// <https://docs.aws.amazon.com/sdk-for-python/v1/reference/clients/bedrock-runtime/structures/OutputConfig/>,
/// checked 2026-12-07. Which levels a model takes is per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effort {
    /// Least thinking; may skip thinking on simple problems.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Extra high.
    XHigh,
    /// The deepest reasoning.
    Max,
}

impl Effort {
    /// Every level, lowest first.
    pub const ALL: [Effort; 5] = [Self::Low, Self::Medium, Self::High, Self::XHigh, Self::Max];

    /// The wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::XHigh => "xhigh",
            Self::Max => "max",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// What a route sends about thinking: nothing (the model's own default), adaptive thinking, or
/// thinking turned off. The wire forms are the stage file's and the environment variables'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThinkingSetting {
    /// Send no `thinking` field: the model's default (no thinking for `Optional` models, adaptive
    /// thinking for the ones that think by default).
    #[default]
    Default,
    /// `thinking: {"type": "adaptive"}`.
    Adaptive,
    /// `thinking: {"type": "disabled"}` (only where the model takes it).
    Disabled,
}

impl ThinkingSetting {
    /// Every setting.
    pub const ALL: [ThinkingSetting; 3] = [Self::Default, Self::Adaptive, Self::Disabled];

    /// The wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Adaptive => "adaptive",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a model of `class` thinks with this setting.
    pub const fn thinks(self, class: ThinkingClass) -> bool {
        match self {
            Self::Default => class.thinks_by_default(),
            Self::Adaptive => class.takes_adaptive(),
            Self::Disabled => false,
        }
    }
}

/// Every effort level.
pub const ALL_EFFORTS: &[Effort] = &Effort::ALL;

/// Something the account must do before the model answers at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prerequisite {
    /// The account's data-retention mode must allow the provider to retain and share inference
    /// data (`provider_data_share`, set with `PutAccountDataRetention`); otherwise every request is
    /// a 400 ValidationException ("data retention mode 'default' is not available for this
    /// model"). Bedrock "Data retention",
    /// <https://docs.aws.amazon.com/bedrock/latest/userguide/data-retention.html>, checked
    /// 2026-12-07.
    DataRetention,
    /// Offered only to organisations Anthropic has verified (Mythos: the Cyber Verification
    /// Program), <https://platform.claude.com/docs/en/models/fable-5/migration-guide>.
    GatedAccess,
}

impl Prerequisite {
    /// What to do about it, for messages and the model reference.
    pub const fn remedy(self) -> &'static str {
        match self {
            Self::DataRetention => {
                "set the account's Bedrock data-retention mode to provider_data_share \
                 (PutAccountDataRetention) first; the provider retains prompts and outputs for up \
                 to 30 days"
            }
            Self::GatedAccess => "available only to organisations Anthropic has verified",
        }
    }
}

/// A cross-region inference profile family: the id prefix and the regions it may route to from
/// each source region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileRoutes {
    /// Id prefix without the dot: `us`, `eu`, `apac`, `jp`, `au`, `global`.
    pub prefix: &'static str,
    /// Per source region (where the caller runs), the regions a request may be served in. For a
    /// `global` profile this lists the source regions only; AWS routes to any commercial region
    /// and the IAM grant uses the region-less foundation-model ARN.
    pub routes: &'static [(&'static str, &'static [&'static str])],
}

impl ProfileRoutes {
    /// Whether this is the global profile (destinations: any commercial region).
    pub fn is_global(&self) -> bool {
        self.prefix == GLOBAL_PREFIX
    }

    /// The destination regions for a call made from `source_region`, if AWS documents that
    /// source for this profile.
    pub fn destinations(&self, source_region: &str) -> Option<&'static [&'static str]> {
        self.routes
            .iter()
            .find(|(source, _)| *source == source_region)
            .map(|(_, d)| *d)
    }

    /// Source regions AWS documents for this profile.
    pub fn sources(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.routes.iter().map(|(s, _)| *s)
    }
}

/// The prefix of global cross-region inference profiles.
pub const GLOBAL_PREFIX: &str = "global";

/// One model of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Marketing name, for messages and tables.
    pub name: &'static str,
    /// Bedrock base model id (`anthropic.claude-...`).
    pub base_id: &'static str,
    /// What it accepts.
    pub sampling: SamplingRule,
    /// The largest `max_tokens` (maxTokens) it accepts.
    pub max_output_tokens: u32,
    /// Whether ConverseStream is supported.
    pub streaming: bool,
    /// Lifecycle.
    pub lifecycle: Lifecycle,
    /// Whether the base id may be called directly (on-demand) in the regions that offer it;
    /// newer models are only reachable through an inference profile.
    pub on_demand: bool,
    /// Inference profiles that exist for it.
    pub profiles: &'static [ProfileRoutes],
    /// Whether and how the model thinks.
    pub thinking: ThinkingClass,
    /// The effort levels it takes (empty: it takes no effort).
    pub efforts: &'static [Effort],
    /// The effort it uses when none is sent (`None`: no effort, or not published).
    pub default_effort: Option<Effort>,
    /// The context window, in tokens.
    pub context_window: u32,
    /// What the account must do first.
    pub prerequisites: &'static [Prerequisite],
    /// The page this row comes from.
    pub source: &'static str,
}

impl ModelSpec {
    /// Whether the model takes `effort`.
    pub fn takes_effort(&self, effort: Effort) -> bool {
        self.efforts.contains(&effort)
    }

    /// The model's on-demand prices (`None`: no published price was found for it).
    pub fn prices(&self) -> Option<&'static Prices> {
        prices_of(self.base_id)
    }
}

/// A model's on-demand prices per token class, in micro-dollars (USD 10^-6) per million tokens,
/// with the date they were read and the page they come from ([`prices::PRICES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// Input tokens.
    pub input: u64,
    /// Output tokens, thinking included (thinking is billed as output).
    pub output: u64,
    /// Cache writes (5-minute).
    pub cache_write: u64,
    /// Cache reads.
    pub cache_read: u64,
    /// Whether a geographic profile or the base id costs 10% more than the global profile.
    pub regional_premium: bool,
    /// A higher tier for long prompts, where the model has one.
    pub long_prompt: Option<LongPrompt>,
    /// When the row was read (`YYYY-MM-DD`).
    pub as_of: &'static str,
    /// The page it comes from.
    pub source: &'static str,
}

/// A long-prompt tier: a request whose prompt (input plus cache reads and writes) is over
/// `over_tokens` pays `factor` times every rate, output included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPrompt {
    /// The prompt size above which the tier applies.
    pub over_tokens: u32,
    /// The multiplier on every rate.
    pub factor: u64,
}

mod data;
pub mod prices;

pub use data::CATALOGUE;

/// The prices of a base model id.
pub fn prices_of(base_id: &str) -> Option<&'static Prices> {
    prices::PRICES
        .iter()
        .find(|(id, _)| *id == base_id)
        .map(|(_, p)| p)
}

/// A model id resolved against the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The id as given (ARN stripped to its id).
    pub id: &'a str,
    /// The base model id behind it, lowercased form as written in the catalogue when known.
    pub base_id: &'a str,
    /// The profile prefix (`us`, `global`, ...), if the id is an inference profile.
    pub prefix: Option<&'a str>,
    /// The catalogue row, if the model is known.
    pub spec: Option<&'static ModelSpec>,
}

impl Resolved<'_> {
    /// The profile family of this id in the catalogue (known model and known prefix).
    pub fn profile(&self) -> Option<&'static ProfileRoutes> {
        let prefix = self.prefix?;
        self.spec?.profiles.iter().find(|p| p.prefix == prefix)
    }
}

/// Profile prefixes Bedrock uses (`us.anthropic...`). `us-gov` and `ca` are listed so that such ids
/// are recognised as profiles even though the catalogue has no rows for them.
pub const PROFILE_PREFIXES: [&str; 9] = [
    "us",
    "eu",
    "apac",
    "jp",
    "au",
    "ca",
    "us-gov",
    "ap",
    GLOBAL_PREFIX,
];

/// Splits an id, inference-profile id or ARN into its parts and looks it up. Matching is exact on
/// the base id (Bedrock ids are case-sensitive); an ARN is reduced to the id after the last `/`.
pub fn resolve(model_id: &str) -> Resolved<'_> {
    let id = model_id.trim();
    let id = if id.starts_with("arn:") {
        id.rsplit_once('/').map_or(id, |(_, tail)| tail)
    } else {
        id
    };
    let (prefix, base_id) = match id.split_once('.') {
        Some((p, rest)) if PROFILE_PREFIXES.contains(&p) && rest.contains('.') => (Some(p), rest),
        _ => (None, id),
    };
    // A `:1m` context variant (`anthropic.claude-sonnet-4-6:1m`) is the same model with a larger
    // context window: it resolves to the base row.
    let base_id = base_id.strip_suffix(CONTEXT_1M_SUFFIX).unwrap_or(base_id);
    Resolved {
        id,
        base_id,
        prefix,
        spec: CATALOGUE.iter().find(|m| m.base_id == base_id),
    }
}

/// The suffix of a 1M-token context variant of a model or profile id.
pub const CONTEXT_1M_SUFFIX: &str = ":1m";

/// Looks a base model id up.
pub fn find(base_id: &str) -> Option<&'static ModelSpec> {
    CATALOGUE.iter().find(|m| m.base_id == base_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_id_form() {
        let r = resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(r.prefix, Some("us"));
        assert_eq!(r.base_id, "anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert!(r.spec.is_some());
        let r = resolve(
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0",
        );
        assert_eq!(
            (r.prefix, r.base_id),
            (Some("eu"), "anthropic.claude-3-haiku-20240307-v1:0")
        );
        let r = resolve(
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        );
        assert_eq!(r.prefix, None);
        assert!(r.spec.is_some());
        let r = resolve("anthropic.claude-mystery-9");
        assert!(r.spec.is_none());
        assert_eq!(r.profile(), None);
    }

    #[test]
    fn rows_are_unique_and_complete() {
        let mut seen = std::collections::BTreeSet::new();
        for m in CATALOGUE {
            assert!(seen.insert(m.base_id), "duplicate {}", m.base_id);
            assert!(m.base_id.starts_with("anthropic.claude-"), "{}", m.base_id);
            assert!(m.max_output_tokens >= 4096, "{}", m.base_id);
            assert!(m.source.starts_with("https://"), "{}", m.base_id);
            assert!(
                m.on_demand || !m.profiles.is_empty(),
                "{} is unreachable",
                m.base_id
            );
            for p in m.profiles {
                assert!(PROFILE_PREFIXES.contains(&p.prefix), "{}", p.prefix);
                assert!(!p.routes.is_empty(), "{} {}", m.base_id, p.prefix);
                for (source, destinations) in p.routes {
                    if !p.is_global() {
                        assert!(
                            destinations.contains(source),
                            "{} {}: a geographic profile serves its source region too ({source})",
                            m.base_id,
                            p.prefix
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn context_variants_resolve_to_their_base_row() {
        let r = resolve("global.anthropic.claude-sonnet-4-6:1m");
        assert_eq!(r.base_id, "anthropic.claude-sonnet-4-6");
        assert_eq!(r.prefix, Some("global"));
        assert_eq!(r.spec.map(|s| s.name), Some("Claude Sonnet 4.6"));
        let r = resolve("us.anthropic.claude-opus-5-5:1m");
        assert_eq!(r.spec.map(|s| s.name), Some("Claude Opus 5.5"));
        // `:0` is part of a base id, not a variant.
        assert!(
            resolve("anthropic.claude-3-haiku-20240307-v1:0")
                .spec
                .is_some()
        );
    }

    #[test]
    fn thinking_columns_are_consistent() {
        for class in [
            ThinkingClass::None,
            ThinkingClass::Optional,
            ThinkingClass::OnByDefault,
            ThinkingClass::AlwaysOn,
        ] {
            assert!(
                CATALOGUE.iter().any(|m| m.thinking == class),
                "no model with {class:?}"
            );
        }
        for m in CATALOGUE {
            if let Some(d) = m.default_effort {
                assert!(m.takes_effort(d), "{}: default effort not listed", m.name);
            }
            if m.thinking.takes_adaptive() {
                assert!(!m.efforts.is_empty(), "{}: adaptive without effort", m.name);
            }
            if m.thinking.thinks_by_default() {
                // Thinking counts toward max_tokens: every such model leaves room for a
                // reservation on top of the largest answer.
                assert!(m.max_output_tokens >= 64_000, "{}", m.name);
                assert_eq!(m.sampling, SamplingRule::Fixed, "{}", m.name);
            }
            assert!(m.context_window >= 200_000, "{}", m.name);
        }
        let opus55 = find("anthropic.claude-opus-5-5").expect("row");
        assert_eq!(
            (opus55.thinking, opus55.default_effort, opus55.on_demand),
            (ThinkingClass::AlwaysOn, Some(Effort::Medium), false)
        );
        assert!(!ThinkingClass::AlwaysOn.takes_disabled());
        assert!(ThinkingClass::OnByDefault.takes_disabled());
        assert!(ThinkingSetting::Default.thinks(ThinkingClass::AlwaysOn));
        assert!(!ThinkingSetting::Default.thinks(ThinkingClass::Optional));
        for e in Effort::ALL {
            assert_eq!(Effort::parse(e.as_str()), Some(e));
        }
    }

    #[test]
    fn prerequisites_and_legacy_are_said() {
        let fable = find("anthropic.claude-fable-5").expect("row");
        assert_eq!(fable.prerequisites, &[Prerequisite::DataRetention]);
        let sonnet45 = find("anthropic.claude-sonnet-4-5-20250929-v1:0").expect("row");
        let notice = sonnet45.lifecycle.notice(sonnet45.name).expect("legacy");
        assert!(
            notice.contains("2026-10-08") && notice.contains("2027-04-08"),
            "{notice}"
        );
        assert!(notice.contains("new account"), "{notice}");
        assert_eq!(Lifecycle::Active.notice("x"), None);
    }

    #[test]
    fn every_model_has_dated_prices() {
        for m in CATALOGUE {
            let p = m
                .prices()
                .unwrap_or_else(|| panic!("{} has no price", m.base_id));
            assert!(p.input > 0 && p.output > p.input, "{}", m.base_id);
            assert!(
                p.cache_read < p.input && p.cache_write > p.input,
                "{}",
                m.base_id
            );
            assert_eq!(p.as_of.len(), 10, "{}", m.base_id);
            assert!(p.source.starts_with("https://"), "{}", m.base_id);
        }
        for (id, _) in prices::PRICES {
            assert!(
                find(id).is_some(),
                "price for a model not in the catalogue: {id}"
            );
        }
    }

    #[test]
    fn every_rule_class_has_a_model() {
        for rule in [
            SamplingRule::Any,
            SamplingRule::TemperatureXorTopP,
            SamplingRule::Fixed,
        ] {
            assert!(
                CATALOGUE.iter().any(|m| m.sampling == rule),
                "no model with {rule:?}"
            );
        }
    }
}
