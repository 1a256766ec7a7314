//! The stage file's `model:` and `sampling:` sections, resolved against the model catalogue into
//! what the IAM grant must name ([`ModelRoute`]) and what the deployer should warn about. Pure.

use codegen_contract::models::{self, Lifecycle, ModelSpec};
use serde::Deserialize;

use super::checks::{check_range, is_region};
use super::error::StageError;

/// Model settings as written in the stage file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelFile {
    /// Model or inference-profile id passed to Converse.
    id: String,
    /// Foundation model behind `id`: derived from the model catalogue; only for models the
    /// catalogue does not know yet.
    #[serde(default)]
    foundation_model: Option<String>,
    /// Regions a geographic profile routes to from the stage's region: derived from the
    /// catalogue; only for models it does not know yet.
    #[serde(default)]
    regions: Option<Vec<String>>,
}

/// How the function reaches its model, and so what the IAM grant must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRoute {
    /// The base model id, on demand in the stage's region.
    Direct,
    /// A geographic inference profile (`us.`, `eu.`, ...) and the regions it routes to from the
    /// stage's region.
    Geographic {
        /// Destination regions from this source region.
        regions: Vec<String>,
    },
    /// A global inference profile (`global.`): any commercial region.
    Global,
}

/// Validated model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Model or inference-profile id passed to Converse.
    pub id: String,
    /// Foundation model id behind `id`.
    pub foundation_model: String,
    /// How it is reached.
    pub route: ModelRoute,
    /// The catalogue row, when the model is known (`None`: the function sends no optional
    /// sampling parameter and warns).
    pub spec: Option<&'static ModelSpec>,
}

/// Default sampling settings (callers may override per request).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// 0..=1.
    pub temperature: f64,
    /// 1..=500.
    pub top_k: u32,
    /// 0..=1.
    pub top_p: f64,
    /// 1..=8192.
    pub max_tokens: u32,
}

/// Each setting in range, and `max_tokens` within what the model writes.
pub(super) fn validate_sampling(
    s: &SamplingConfig,
    model: &ModelConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    check_range(invalid, "sampling.temperature", s.temperature, 0.0, 1.0)?;
    check_range(invalid, "sampling.top_p", s.top_p, 0.0, 1.0)?;
    check_range(invalid, "sampling.top_k", f64::from(s.top_k), 1.0, 500.0)?;
    check_range(
        invalid,
        "sampling.max_tokens",
        f64::from(s.max_tokens),
        1.0,
        8192.0,
    )?;
    if let Some(spec) = model.spec
        && s.max_tokens > spec.max_output_tokens
    {
        return Err(invalid(
            "sampling.max_tokens",
            format!(
                "is {}: {} writes at most {} output tokens",
                s.max_tokens, spec.name, spec.max_output_tokens
            ),
        ));
    }
    Ok(())
}

/// What a deploy of this model should say: a Legacy model's dates and what a new account sees,
/// and what the account must set up first.
pub(super) fn model_warnings(model: &ModelConfig) -> Vec<String> {
    let Some(spec) = model.spec else {
        return Vec::new();
    };
    let mut warnings: Vec<String> = spec
        .lifecycle
        .notice(spec.name)
        .map(|n| format!("model.id: {n}"))
        .into_iter()
        .collect();
    warnings.extend(spec.prerequisites.iter().map(|p| {
        format!(
            "model.id: {} needs account setup: {}",
            spec.name,
            p.remedy()
        )
    }));
    warnings
}

/// Resolves `model.id` against the model catalogue: the foundation model behind it, and the
/// regions a geographic profile routes to from `region`. A model the catalogue does not know must
/// name both itself; a known one must not contradict the catalogue.
pub(super) fn validate_model(
    file: &ModelFile,
    region: &str,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<ModelConfig, StageError> {
    let id = file.id.trim();
    if !id.contains("anthropic.claude") {
        return Err(invalid(
            "model.id",
            format!("is `{id}`: expected an Anthropic Claude model or inference profile id"),
        ));
    }
    if id == "anthropic.claude-v2" || id.starts_with("anthropic.claude-v2:") {
        return Err(invalid(
            "model.id",
            "is the legacy Claude v2: choose a current Claude model".into(),
        ));
    }
    let resolved = models::resolve(id);
    if let Some(bad) = file.regions.iter().flatten().find(|r| !is_region(r)) {
        return Err(invalid(
            "model.regions",
            format!("contains `{bad}`: expected region names"),
        ));
    }
    let Some(spec) = resolved.spec else {
        return unknown_model(file, &resolved, invalid);
    };
    if let Lifecycle::Retired { since } = spec.lifecycle {
        return Err(invalid(
            "model.id",
            format!(
                "is {} (`{}`), past its end of life on Bedrock since {since}: choose a current \
                 model (see README, \"Models\")",
                spec.name, spec.base_id
            ),
        ));
    }
    if let Some(f) = &file.foundation_model
        && f != spec.base_id
    {
        return Err(invalid(
            "model.foundation_model",
            format!("is `{f}` but model.id `{id}` routes to `{}`", spec.base_id),
        ));
    }
    let route = match resolved.prefix {
        None if spec.on_demand => ModelRoute::Direct,
        None => {
            return Err(invalid(
                "model.id",
                format!(
                    "is the base id of {}, which Bedrock serves only through an inference \
                     profile: use one of {}",
                    spec.name,
                    profile_ids(spec)
                ),
            ));
        }
        Some(prefix) => {
            let Some(profile) = resolved.profile() else {
                return Err(invalid(
                    "model.id",
                    format!(
                        "is `{id}`: the model catalogue has no `{prefix}.` profile for {} (known: {})",
                        spec.name,
                        profile_ids(spec)
                    ),
                ));
            };
            let Some(destinations) = profile.destinations(region) else {
                return Err(invalid(
                    "model.id",
                    format!(
                        "is `{id}`, whose destinations from region {region} are not documented in \
                         the model catalogue (documented source regions: {}); choose one of those \
                         regions or another profile",
                        profile.sources().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            if profile.is_global() {
                ModelRoute::Global
            } else {
                let regions: Vec<String> = destinations.iter().map(|r| (*r).to_owned()).collect();
                if let Some(given) = &file.regions
                    && given != &regions
                {
                    return Err(invalid(
                        "model.regions",
                        format!(
                            "is {given:?} but the catalogue says `{id}` routes from {region} to \
                             {regions:?}: remove the key (it is derived)"
                        ),
                    ));
                }
                ModelRoute::Geographic { regions }
            }
        }
    };
    Ok(ModelConfig {
        id: id.to_owned(),
        foundation_model: spec.base_id.to_owned(),
        route,
        spec: Some(spec),
    })
}

/// A model the catalogue does not know: accepted only when the stage names the foundation model
/// and, for a geographic profile, the regions it routes to (the IAM grant needs both).
fn unknown_model(
    file: &ModelFile,
    resolved: &models::Resolved<'_>,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<ModelConfig, StageError> {
    let Some(foundation_model) = &file.foundation_model else {
        return Err(invalid(
            "model.id",
            format!(
                "is `{}`, which is not in the model catalogue (crates/contract/src/models/data.rs): \
                 add a row with its source, or set model.foundation_model (and model.regions for a \
                 geographic profile) to deploy it with the safest sampling (none sent)",
                resolved.id
            ),
        ));
    };
    if foundation_model != resolved.base_id {
        return Err(invalid(
            "model.foundation_model",
            format!(
                "is `{foundation_model}` but model.id `{}` does not route to it",
                resolved.id
            ),
        ));
    }
    let route = match (resolved.prefix, &file.regions) {
        (None, _) => ModelRoute::Direct,
        (Some(models::GLOBAL_PREFIX), _) => ModelRoute::Global,
        (Some(_), Some(regions)) if !regions.is_empty() => ModelRoute::Geographic {
            regions: regions.clone(),
        },
        (Some(prefix), _) => {
            return Err(invalid(
                "model.regions",
                format!(
                    "is required: `{}` is a `{prefix}.` profile the catalogue does not know, and \
                     the grant must name every region it routes to",
                    resolved.id
                ),
            ));
        }
    };
    Ok(ModelConfig {
        id: resolved.id.to_owned(),
        foundation_model: foundation_model.clone(),
        route,
        spec: None,
    })
}

fn profile_ids(spec: &ModelSpec) -> String {
    spec.profiles
        .iter()
        .map(|p| format!("`{}.{}`", p.prefix, spec.base_id))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{DEV, parse};

    #[test]
    fn models_resolve_through_the_catalogue() {
        let dev = parse(DEV).expect("dev parses");
        assert_eq!(dev.model.foundation_model, "anthropic.claude-sonnet-4-6");
        assert_eq!(
            dev.model.route,
            ModelRoute::Geographic {
                regions: vec!["us-east-1".into(), "us-east-2".into(), "us-west-2".into()]
            }
        );
        let global = parse(&DEV.replace(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: global.anthropic.claude-opus-4-8",
        ))
        .expect("global profile");
        assert_eq!(global.model.route, ModelRoute::Global);
        assert_eq!(global.model.foundation_model, "anthropic.claude-opus-4-8");
    }

    #[test]
    fn model_errors_name_the_key_and_the_way_out() {
        let cases = [
            // A source region whose destinations the catalogue does not know.
            (
                DEV.replace("region: us-east-1", "region: us-west-1"),
                "model.id",
                "not documented",
            ),
            (
                DEV.replace("region: us-east-1", "region: ca-central-1"),
                "model.id",
                "us-east-1, us-east-2, us-west-2",
            ),
            // A profile the model does not have, a base id that needs a profile.
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: apac.anthropic.claude-sonnet-4-6"),
                "model.id",
                "no `apac.` profile",
            ),
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: anthropic.claude-sonnet-4-6"),
                "model.id",
                "only through an inference profile",
            ),
            // Past end of life.
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-3-haiku-20240307-v1:0",
                )
                .replace("region: us-east-1", "region: us-east-2"),
                "model.id",
                "end of life",
            ),
            // Contradicting the catalogue.
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-sonnet-4-6\n  regions: [us-east-1]",
                ),
                "model.regions",
                "derived",
            ),
            // Unknown model without the keys the grant needs.
            (
                DEV.replace("id: us.anthropic.claude-sonnet-4-6", "id: us.anthropic.claude-mystery-9"),
                "model.id",
                "not in the model catalogue",
            ),
            (
                DEV.replace(
                    "id: us.anthropic.claude-sonnet-4-6",
                    "id: us.anthropic.claude-mystery-9\n  foundation_model: anthropic.claude-mystery-9",
                ),
                "model.regions",
                "is required",
            ),
        ];
        for (text, key, needle) in cases {
            let err = parse(&text).expect_err(key).to_string();
            assert!(err.contains(key) && err.contains(needle), "{err}");
        }
        // Without budgets: budgets need the model's prices (infra/src/quotas.rs).
        let unknown = parse(
            &DEV.replace(
                "id: us.anthropic.claude-sonnet-4-6",
                "id: us.anthropic.claude-mystery-9\n  foundation_model: anthropic.claude-mystery-9\n  regions: [us-east-1, us-west-2]",
            )
            .replace(
                "quotas:\n  daily_usd: 20\n  request_max_usd: 1\n  max_jobs_per_caller: 5\n",
                "",
            ),
        )
        .expect("an unknown model with its routes is accepted");
        assert_eq!(unknown.model.spec, None);
    }
}
