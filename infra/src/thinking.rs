//! The stage file's `thinking` section: what each route sends about thinking and effort, and how
//! many output tokens it reserves for thinking, validated against the model catalogue. Pure: the
//! section arrives parsed, the result is a value the stack turns into environment variables.
//!
//! ```yaml
//! thinking:
//!   sync:               # PUT /code-generation: under API Gateway's 30 s
//!     thinking: default # default | adaptive | disabled
//!     effort: low       # default | low | medium | high | xhigh | max
//!     thinking_tokens: 2048
//!   jobs:               # the jobs worker: minutes per attempt
//!     effort: high
//!     thinking_tokens: 16000
//! ```
//!
//! The `max_tokens` policy is a separate answer budget on top of the thinking budget: the
//! function sends `maxTokens = max_tokens + thinking_tokens`, where `max_tokens` is the answer's
//! (the stage's `sampling.max_tokens` or the caller's) and `thinking_tokens` is this route's
//! reservation. Thinking counts toward `max_tokens` on Claude ("max_tokens remains a hard limit on
//! total output, thinking plus response text",
//! <https://platform.claude.com/docs/en/models/opus-5/migration-guide>, checked 2026-12-07), and
//! adaptive thinking takes no budget of its own (`budget_tokens` is refused on the models that
//! only think adaptively, <https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html>).
//! Chosen over a validated floor on `max_tokens` because the caller's `max_tokens` keeps its
//! meaning (how long the answer may be) on every model, old and new, and the response reports both
//! numbers; a floor would silently change what an existing request gets. It cannot guarantee an
//! answer (adaptive thinking may still spend more than the reservation), so a reply that stops at
//! the limit with no code is answered with the stable error `thinking_exhausted`, which names both
//! settings.

use codegen_contract::env;
use codegen_contract::models::{Effort, ModelSpec, ThinkingSetting};
use serde::Deserialize;

/// Thinking tokens reserved when a route thinks and the stage does not say how many: enough for a
/// short think before a small program on the synchronous route, more for jobs.
pub const DEFAULT_SYNC_THINKING_TOKENS: u32 = 2048;
/// See [`DEFAULT_SYNC_THINKING_TOKENS`].
pub const DEFAULT_JOBS_THINKING_TOKENS: u32 = 16_000;
/// The least reservation a thinking route may set: Anthropic's smallest thinking budget
/// (`budget_tokens` "minimum: 1,024" on the models that took one).
pub const MIN_THINKING_TOKENS: u32 = 1024;
/// The largest answer `max_tokens` the function accepts (its own cap, `sampling.max_tokens`).
pub const MAX_ANSWER_TOKENS: u32 = 8192;

/// One route's section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    effort: Option<String>,
    #[serde(default)]
    thinking_tokens: Option<u32>,
}

/// The `thinking` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThinkingFile {
    #[serde(default)]
    sync: RouteFile,
    #[serde(default)]
    jobs: RouteFile,
}

/// What one route sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteThinking {
    /// The thinking setting sent.
    pub thinking: ThinkingSetting,
    /// The effort sent (`None`: none, the model's default applies).
    pub effort: Option<Effort>,
    /// Output tokens added to the answer's `max_tokens` for thinking (0: the route does not
    /// think).
    pub thinking_tokens: u32,
}

/// Validated thinking settings, per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThinkingConfig {
    /// `PUT /code-generation`.
    pub sync: RouteThinking,
    /// The jobs worker.
    pub jobs: RouteThinking,
}

impl ThinkingConfig {
    /// The environment variables the stack sets on every function (names in the contract).
    pub fn env(&self) -> [(&'static str, String); 6] {
        let effort = |e: Option<Effort>| e.map_or("default", Effort::as_str).to_owned();
        [
            (env::SYNC_THINKING, self.sync.thinking.as_str().to_owned()),
            (env::SYNC_EFFORT, effort(self.sync.effort)),
            (
                env::SYNC_THINKING_TOKENS,
                self.sync.thinking_tokens.to_string(),
            ),
            (env::JOBS_THINKING, self.jobs.thinking.as_str().to_owned()),
            (env::JOBS_EFFORT, effort(self.jobs.effort)),
            (
                env::JOBS_THINKING_TOKENS,
                self.jobs.thinking_tokens.to_string(),
            ),
        ]
    }
}

/// Validates the section against the model (`None`: a model the catalogue does not know, which
/// gets nothing it might refuse: no thinking setting, no effort, no reservation). Errors are
/// `(key, message)`.
pub fn validate(
    file: Option<&ThinkingFile>,
    spec: Option<&ModelSpec>,
) -> Result<ThinkingConfig, (String, String)> {
    let file = file.cloned().unwrap_or_default();
    Ok(ThinkingConfig {
        sync: route("sync", &file.sync, spec, DEFAULT_SYNC_THINKING_TOKENS)?,
        jobs: route("jobs", &file.jobs, spec, DEFAULT_JOBS_THINKING_TOKENS)?,
    })
}

fn route(
    name: &str,
    file: &RouteFile,
    spec: Option<&ModelSpec>,
    default_tokens: u32,
) -> Result<RouteThinking, (String, String)> {
    let key = |k: &str| format!("thinking.{name}.{k}");
    let thinking = match file.thinking.as_deref() {
        None => ThinkingSetting::Default,
        Some(t) => ThinkingSetting::parse(t).ok_or_else(|| {
            (
                key("thinking"),
                format!("is `{t}`: expected default, adaptive or disabled"),
            )
        })?,
    };
    let effort = match file.effort.as_deref() {
        None | Some("default") => None,
        Some(e) => Some(Effort::parse(e).ok_or_else(|| {
            (
                key("effort"),
                format!("is `{e}`: expected default, low, medium, high, xhigh or max"),
            )
        })?),
    };
    let Some(spec) = spec else {
        if thinking != ThinkingSetting::Default
            || effort.is_some()
            || file.thinking_tokens.is_some()
        {
            return Err((
                key("thinking"),
                "is set for a model the catalogue does not know: its thinking and effort are \
                 not documented here, so nothing is sent; remove the section or add the model's \
                 row"
                .to_owned(),
            ));
        }
        return Ok(RouteThinking::default());
    };
    let class = spec.thinking;
    if thinking == ThinkingSetting::Adaptive && !class.takes_adaptive() {
        return Err((
            key("thinking"),
            format!(
                "is adaptive, which {} does not take (thinking: {}): remove it",
                spec.name,
                class.as_str()
            ),
        ));
    }
    if thinking == ThinkingSetting::Disabled && !class.takes_disabled() {
        return Err((
            key("thinking"),
            format!(
                "is disabled, which {} refuses with a 400 (thinking: {}): lower the effort \
                 instead",
                spec.name,
                class.as_str()
            ),
        ));
    }
    if let Some(e) = effort {
        if !spec.takes_effort(e) {
            let levels: Vec<&str> = spec.efforts.iter().map(|e| e.as_str()).collect();
            return Err((
                key("effort"),
                format!(
                    "is {}, which {} does not take (documented levels: {})",
                    e.as_str(),
                    spec.name,
                    if levels.is_empty() {
                        "none".to_owned()
                    } else {
                        levels.join(", ")
                    }
                ),
            ));
        }
        // "When extended thinking is disabled, the effort level is capped at high."
        if e > Effort::High && !thinking.thinks(class) {
            return Err((
                key("effort"),
                format!(
                    "is {} with thinking off, and Bedrock caps the effort at high when thinking \
                     is disabled",
                    e.as_str()
                ),
            ));
        }
    }
    let thinks = thinking.thinks(class);
    let thinking_tokens = match (thinks, file.thinking_tokens) {
        (false, Some(n)) if n > 0 => {
            return Err((
                key("thinking_tokens"),
                format!(
                    "is {n}, but {} does not think on this route (thinking: {}, setting: {}): \
                     remove it",
                    spec.name,
                    class.as_str(),
                    thinking.as_str()
                ),
            ));
        }
        (false, _) => 0,
        (true, Some(n)) if n < MIN_THINKING_TOKENS => {
            return Err((
                key("thinking_tokens"),
                format!(
                    "is {n}: a route whose model thinks reserves at least {MIN_THINKING_TOKENS} \
                     tokens for it, on top of the answer's max_tokens (thinking counts toward \
                     max_tokens)"
                ),
            ));
        }
        (true, Some(n)) => n,
        (true, None) => default_tokens,
    };
    let total = u64::from(MAX_ANSWER_TOKENS) + u64::from(thinking_tokens);
    if thinking_tokens > 0 && total > u64::from(spec.max_output_tokens) {
        return Err((
            key("thinking_tokens"),
            format!(
                "is {thinking_tokens}: with the largest answer ({MAX_ANSWER_TOKENS} tokens) the \
                 request would ask for {total} output tokens, above {}'s limit of {}",
                spec.name, spec.max_output_tokens
            ),
        ));
    }
    Ok(RouteThinking {
        thinking,
        effort,
        thinking_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen_contract::models;

    fn spec(id: &str) -> &'static ModelSpec {
        models::find(id).expect("catalogue row")
    }

    fn file(sync: RouteFile, jobs: RouteFile) -> ThinkingFile {
        ThinkingFile { sync, jobs }
    }

    fn effort(e: &str) -> RouteFile {
        RouteFile {
            effort: Some(e.to_owned()),
            ..RouteFile::default()
        }
    }

    #[test]
    fn thinking_models_get_a_reservation_per_route_and_old_ones_none() {
        let opus55 = spec("anthropic.claude-opus-5-5");
        let cfg =
            validate(Some(&file(effort("low"), effort("high"))), Some(opus55)).expect("valid");
        assert_eq!(cfg.sync.effort, Some(Effort::Low));
        assert_eq!(cfg.jobs.effort, Some(Effort::High));
        assert_eq!(cfg.sync.thinking_tokens, DEFAULT_SYNC_THINKING_TOKENS);
        assert_eq!(cfg.jobs.thinking_tokens, DEFAULT_JOBS_THINKING_TOKENS);
        // Sonnet 4.6 does not think unless asked: no reservation.
        let cfg = validate(None, Some(spec("anthropic.claude-sonnet-4-6"))).expect("valid");
        assert_eq!(cfg, ThinkingConfig::default());
        let env = cfg.env();
        assert!(env.contains(&(env::SYNC_EFFORT, "default".to_owned())));
        assert!(env.contains(&(env::JOBS_THINKING_TOKENS, "0".to_owned())));
    }

    #[test]
    fn refuses_what_the_model_refuses() {
        let disabled = RouteFile {
            thinking: Some("disabled".into()),
            ..RouteFile::default()
        };
        // Opus 5.5 cannot turn thinking off; Opus 5 can (at high effort or below).
        let (key, message) = validate(
            Some(&file(disabled.clone(), RouteFile::default())),
            Some(spec("anthropic.claude-opus-5-5")),
        )
        .expect_err("always on");
        assert_eq!(key, "thinking.sync.thinking");
        assert!(message.contains("400"), "{message}");
        let ok = validate(
            Some(&file(disabled.clone(), RouteFile::default())),
            Some(spec("anthropic.claude-opus-5")),
        )
        .expect("Opus 5 takes disabled");
        assert_eq!(ok.sync.thinking_tokens, 0);
        // xhigh with thinking off: capped at high.
        let xhigh_off = RouteFile {
            effort: Some("xhigh".into()),
            ..disabled
        };
        let (key, _) = validate(
            Some(&file(xhigh_off, RouteFile::default())),
            Some(spec("anthropic.claude-opus-5")),
        )
        .expect_err("capped");
        assert_eq!(key, "thinking.sync.effort");
        // An effort the row does not list; an unknown word.
        let (key, message) = validate(
            Some(&file(RouteFile::default(), effort("max"))),
            Some(spec("anthropic.claude-fable-5")),
        )
        .expect_err("not listed");
        assert_eq!(key, "thinking.jobs.effort");
        assert!(message.contains("low, medium, high"), "{message}");
        assert!(
            validate(
                Some(&file(effort("extreme"), RouteFile::default())),
                Some(spec("anthropic.claude-opus-5"))
            )
            .is_err()
        );
        // Adaptive on a model without adaptive thinking; effort on one without effort.
        let adaptive = RouteFile {
            thinking: Some("adaptive".into()),
            ..RouteFile::default()
        };
        assert!(
            validate(
                Some(&file(adaptive, RouteFile::default())),
                Some(spec("anthropic.claude-haiku-4-5-20251001-v1:0"))
            )
            .is_err()
        );
        // A reservation too small, and one on a route that does not think.
        let tiny = RouteFile {
            thinking_tokens: Some(100),
            ..RouteFile::default()
        };
        assert!(
            validate(
                Some(&file(tiny.clone(), RouteFile::default())),
                Some(spec("anthropic.claude-opus-5-5"))
            )
            .is_err()
        );
        let (key, _) = validate(
            Some(&file(
                RouteFile {
                    thinking_tokens: Some(4096),
                    ..RouteFile::default()
                },
                RouteFile::default(),
            )),
            Some(spec("anthropic.claude-sonnet-4-6")),
        )
        .expect_err("no thinking");
        assert_eq!(key, "thinking.sync.thinking_tokens");
        // Above the model's output limit.
        let huge = RouteFile {
            thinking_tokens: Some(127_000),
            ..RouteFile::default()
        };
        assert!(
            validate(
                Some(&file(RouteFile::default(), huge)),
                Some(spec("anthropic.claude-opus-5-5"))
            )
            .is_err()
        );
        // Unknown models get nothing.
        assert!(validate(Some(&file(effort("low"), RouteFile::default())), None).is_err());
        assert_eq!(
            validate(None, None).expect("valid"),
            ThinkingConfig::default()
        );
    }
}
