//! Thinking and effort for the route this instance serves: read from the environment the stack
//! sets (`infra/src/thinking.rs` validates the stage's values against the model catalogue), and
//! applied to a [`Plan`]: the `thinking` setting and `output_config.effort` to send, and the
//! thinking reservation added to the answer's `max_tokens`. Pure.
//!
//! How they travel: Converse has no field of its own for Claude's thinking, so both go in
//! `additionalModelRequestFields`, which carries "inference parameters specific to the model"
//! (<https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html>) in
//! the form the model's request body takes: `"thinking": {"type": "adaptive"}` and
//! `"output_config": {"effort": "low"}`, as Bedrock's "Adaptive thinking" page documents them
//! (<https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html>,
//! checked 2026-12-07). Newer SDKs also model a Converse `outputConfig.effort`
//! (<https://docs.aws.amazon.com/sdk-for-python/v1/reference/clients/bedrock-runtime/structures/OutputConfig/>);
//! the AWS pages read here do not say how the two interact, so only the body form is sent, and
//! the test double accepts only the documented forms.

use codegen_contract::env;
use codegen_contract::models::{self, Effort, ThinkingSetting};

use crate::error::ConfigError;
use crate::sampling::Plan;

/// What this route sends about thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteThinking {
    /// The thinking setting (`Default`: none sent).
    pub setting: ThinkingSetting,
    /// The effort (`None`: none sent).
    pub effort: Option<Effort>,
    /// Output tokens reserved for thinking on top of the answer's `max_tokens`.
    pub thinking_tokens: u32,
}

/// Which route's variables to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `PUT /code-generation`.
    Sync,
    /// The jobs worker.
    Jobs,
}

impl RouteThinking {
    /// Reads the route's variables through `get` (trimmed, empty as unset); unset is the default.
    pub fn from_lookup(
        route: Route,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (thinking, effort, tokens) = match route {
            Route::Sync => (
                env::SYNC_THINKING,
                env::SYNC_EFFORT,
                env::SYNC_THINKING_TOKENS,
            ),
            Route::Jobs => (
                env::JOBS_THINKING,
                env::JOBS_EFFORT,
                env::JOBS_THINKING_TOKENS,
            ),
        };
        let setting = match get(thinking) {
            None => ThinkingSetting::Default,
            Some(v) => ThinkingSetting::parse(&v).ok_or_else(|| ConfigError::Invalid {
                name: thinking,
                reason: format!("`{v}` is not one of default, adaptive, disabled"),
            })?,
        };
        let effort = match get(effort).as_deref() {
            None | Some("default") => None,
            Some(v) => Some(Effort::parse(v).ok_or_else(|| ConfigError::Invalid {
                name: effort,
                reason: format!("`{v}` is not one of default, low, medium, high, xhigh, max"),
            })?),
        };
        let thinking_tokens = match get(tokens) {
            None => 0,
            Some(v) => v.parse::<u32>().map_err(|_| ConfigError::Invalid {
                name: tokens,
                reason: format!("`{v}` is not a whole number of tokens"),
            })?,
        };
        Ok(Self {
            setting,
            effort,
            thinking_tokens,
        })
    }
}

/// Puts the route's thinking into `plan`: what to send, and the reservation added to
/// `max_tokens` when the model thinks here. A model the catalogue does not know gets nothing (its
/// thinking is not documented here); a setting the model refuses (a stage file edited by hand
/// past its validation) is not sent, with a warning, so the request is never one Bedrock refuses.
pub fn apply(plan: &mut Plan, model_id: &str, route: &RouteThinking) {
    let Some(spec) = models::resolve(model_id).spec else {
        return;
    };
    let class = spec.thinking;
    plan.thinking = match route.setting {
        ThinkingSetting::Default => None,
        ThinkingSetting::Adaptive if class.takes_adaptive() => Some(ThinkingSetting::Adaptive),
        ThinkingSetting::Disabled if class.takes_disabled() => Some(ThinkingSetting::Disabled),
        other => {
            plan.warnings.push(format!(
                "thinking `{}` was not sent: model {model_id} does not take it",
                other.as_str()
            ));
            None
        }
    };
    let thinks = plan
        .thinking
        .unwrap_or(ThinkingSetting::Default)
        .thinks(class);
    plan.thinks = thinks;
    // Thinking takes no sampling changes: "temperature may only be set to 1 when thinking is
    // enabled or in adaptive mode", and top_k is refused with it (Anthropic's extended thinking
    // "feature compatibility"; the 400's wording as reported in BuilderIO/agent-native
    // 0.164.25). Fixed-sampling models were sent none already; a model that takes sampling (Sonnet
    // 4.6) gets none while it thinks, and the caller is told.
    if thinks {
        let dropped: Vec<&'static str> = [
            ("temperature", plan.temperature.take().is_some()),
            ("top_p", plan.top_p.take().is_some()),
            ("top_k", plan.top_k.take().is_some()),
        ]
        .into_iter()
        .filter_map(|(name, was)| was.then_some(name))
        .collect();
        if !dropped.is_empty() {
            plan.warnings.push(format!(
                "{} not sent: model {model_id} thinks on this route, and thinking takes no \
                 sampling changes",
                dropped.join(", ")
            ));
            plan.dropped.extend(dropped);
        }
    }
    plan.effort = route.effort.filter(|e| {
        let ok = spec.takes_effort(*e) && (thinks || *e <= Effort::High);
        if !ok {
            plan.warnings.push(format!(
                "effort `{}` was not sent: model {model_id} does not take it here",
                e.as_str()
            ));
        }
        ok
    });
    if thinks && route.thinking_tokens > 0 {
        let answer = plan.max_tokens;
        let total = answer
            .saturating_add(route.thinking_tokens)
            .min(spec.max_output_tokens);
        plan.thinking_tokens = total - answer.min(total);
        plan.max_tokens = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::{self, Overrides, Sampling};

    fn planned(id: &str, route: &RouteThinking) -> Plan {
        let mut plan =
            sampling::plan(id, Sampling::default(), &Overrides::default()).expect("plan");
        apply(&mut plan, id, route);
        plan
    }

    #[test]
    fn reads_each_route_from_its_own_variables() {
        let vars = |name: &str| match name {
            "CODEGEN_SYNC_EFFORT" => Some("low".to_owned()),
            "CODEGEN_SYNC_THINKING_TOKENS" => Some("2048".to_owned()),
            "CODEGEN_JOBS_THINKING" => Some("adaptive".to_owned()),
            "CODEGEN_JOBS_EFFORT" => Some("default".to_owned()),
            _ => None,
        };
        let sync = RouteThinking::from_lookup(Route::Sync, vars).expect("valid");
        assert_eq!(
            sync,
            RouteThinking {
                setting: ThinkingSetting::Default,
                effort: Some(Effort::Low),
                thinking_tokens: 2048
            }
        );
        let jobs = RouteThinking::from_lookup(Route::Jobs, vars).expect("valid");
        assert_eq!(jobs.setting, ThinkingSetting::Adaptive);
        assert_eq!(jobs.effort, None);
        let bad = RouteThinking::from_lookup(Route::Sync, |n: &str| {
            (n == "CODEGEN_SYNC_EFFORT").then(|| "extreme".to_owned())
        });
        assert!(
            matches!(bad, Err(ConfigError::Invalid { name, .. }) if name == "CODEGEN_SYNC_EFFORT")
        );
    }

    #[test]
    fn thinking_models_get_the_reservation_on_top_of_the_answer() {
        let route = RouteThinking {
            setting: ThinkingSetting::Default,
            effort: Some(Effort::Low),
            thinking_tokens: 2048,
        };
        let p = planned("global.anthropic.claude-opus-5-5", &route);
        assert_eq!((p.max_tokens, p.thinking_tokens), (2048 + 2048, 2048));
        assert_eq!(p.answer_tokens(), 2048);
        assert_eq!(p.effort, Some(Effort::Low));
        assert_eq!(p.thinking, None, "omitted: adaptive is the default there");
        // No sampling field for a fixed-sampling model.
        assert_eq!((p.temperature, p.top_p, p.top_k), (None, None, None));
        let sent = p.sent();
        assert_eq!(sent.effort.as_deref(), Some("low"));
        assert_eq!(sent.thinking_tokens, Some(2048));
        // Sonnet 4.6 does not think unless asked: no reservation, the effort still goes.
        let p = planned("us.anthropic.claude-sonnet-4-6", &route);
        assert_eq!((p.max_tokens, p.thinking_tokens), (2048, 0));
        assert_eq!(p.effort, Some(Effort::Low));
        // Asked for adaptive thinking, it thinks.
        let adaptive = RouteThinking {
            setting: ThinkingSetting::Adaptive,
            ..route
        };
        let p = planned("us.anthropic.claude-sonnet-4-6", &adaptive);
        assert_eq!(p.thinking, Some(ThinkingSetting::Adaptive));
        assert_eq!(p.thinking_tokens, 2048);
        // ... and then takes no sampling changes.
        assert_eq!((p.temperature, p.top_p, p.top_k), (None, None, None));
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("temperature, top_k not sent")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn nothing_refused_is_sent() {
        let disabled = RouteThinking {
            setting: ThinkingSetting::Disabled,
            effort: Some(Effort::Max),
            thinking_tokens: 4096,
        };
        // Opus 5.5 refuses disabled thinking: not sent, it thinks, max effort is fine then.
        let p = planned("global.anthropic.claude-opus-5-5", &disabled);
        assert_eq!(p.thinking, None);
        assert_eq!(p.effort, Some(Effort::Max));
        assert!(p.warnings.iter().any(|w| w.contains("disabled")));
        // Opus 5 takes disabled, but caps the effort at high then.
        let p = planned("us.anthropic.claude-opus-5", &disabled);
        assert_eq!(p.thinking, Some(ThinkingSetting::Disabled));
        assert_eq!((p.effort, p.thinking_tokens), (None, 0));
        // Haiku 4.5 has neither; unknown models get nothing.
        for id in [
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-mystery-9",
        ] {
            let p = planned(id, &disabled);
            assert_eq!(
                (p.thinking, p.effort, p.thinking_tokens),
                (None, None, 0),
                "{id}"
            );
        }
    }
}
