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
    /// Still callable, scheduled for end of life (date as published, `YYYY-MM-DD`).
    Legacy {
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
    /// The page this row comes from.
    pub source: &'static str,
}

mod data;

pub use data::CATALOGUE;

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
    Resolved {
        id,
        base_id,
        prefix,
        spec: CATALOGUE.iter().find(|m| m.base_id == base_id),
    }
}

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
