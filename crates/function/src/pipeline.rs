//! The generation pipeline both front doors share: plan the sampling, build the prompt, call the
//! model, extract the code, check its syntax (and, when the stage allows it and the code does not
//! parse, ask the model once more with the diagnostics, [`repair`](crate::repair)), store it,
//! and shape the success body.
//! `PUT /code-generation` runs it inside the request; the jobs worker runs it for a queued job.
//! One pipeline, two front doors; each passes its own deadline, so a repair fits the route's
//! budget (the worker's is minutes, the synchronous route's under 30 s).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_bedrockruntime::types::StopReason;
use codegen_contract::{ErrorCode, GenerateResponse, RepairMode, RepairReport};
use tracing::{error, info, warn};

pub use crate::metrics::millis;
pub use crate::model::is_refusal;
pub use crate::repair::{MIN_REPAIR_TIME, repair_blocker};

use crate::deps::Deps;
use crate::error::ApiError;
use crate::language::Language;
use crate::model::Generation;
use crate::prompt::Prompt;
use crate::repair::{Answer, RepairContext, try_repair};
use crate::request::ValidRequest;
use crate::sampling::Plan;
use crate::storage::{self, CodeFacts, Stored, Target};
use crate::{extract, model, prompt, sampling, syntax, thinking};

/// Time kept free after the last model call, besides the S3 write's own budget: the response, the
/// log line, and the runtime's round trip.
pub const AFTER_MODEL_MARGIN: Duration = Duration::from_millis(500);

/// The invocation's deadline (Lambda's `deadline`, milliseconds since the Unix epoch) as an
/// [`Instant`]; `None` when it is unknown (0, as in a test context).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

/// The most `req` can cost on this route (its message's bytes, `maxTokens` as the plan will
/// send it, a repair when the stage allows one), for the budget reservation before the model
/// call. The same plan as [`generate_and_store`] makes ([`plan_for`]), so its errors are the same.
pub fn request_bound(
    deps: &Deps<'_>,
    req: &ValidRequest,
) -> Result<codegen_contract::quota::RequestBound, ApiError> {
    let config = deps.config;
    let plan = plan_for(deps, req)?;
    Ok(codegen_contract::quota::RequestBound {
        message_bytes: u32::try_from(req.message.len()).unwrap_or(u32::MAX),
        max_tokens: plan.max_tokens,
        repair: config.repair == RepairMode::Once,
    })
}

/// Generates code for `req` and stores it at `target`. Every expected failure is an [`ApiError`]
/// the caller can answer with; a failed S3 write is not one of them (the model call was paid for,
/// so the code is returned with `stored: false` and a warning). `deadline` is the invocation's
/// (Lambda's); model calls end before it, leaving room for the S3 write.
pub async fn generate_and_store(
    deps: &Deps<'_>,
    req: &ValidRequest,
    target: &Target<'_>,
    started: Instant,
    deadline: Option<Instant>,
) -> Result<GenerateResponse, ApiError> {
    let config = deps.config;
    let request_id = target.request_id;
    let model_id = config.model_id.as_str();

    let plan = plan_for(deps, req)?;
    if !plan.dropped.is_empty() {
        info!(
            request_id,
            model = model_id,
            rule = plan.rule.map_or("unknown model", |r| r.as_str()),
            dropped = ?plan.dropped,
            "sampling parameters not sent: the model does not accept them in this combination"
        );
    }
    let prompt = prompt::build(req.language, &req.message);
    let first = first_call(deps, req.language, &prompt, &plan, request_id).await?;
    let model_ms = first.model_ms;
    let mut generated = check_and_repair(
        deps,
        req.language,
        &prompt,
        &plan,
        first,
        deadline,
        request_id,
    )
    .await;
    let stored = store(deps, target, req.language, &mut generated).await;
    let Generated {
        answer: Answer {
            code,
            syntax,
            stop_reason,
        },
        usage,
        cost,
        repair,
        mut warnings,
        cut: _,
    } = generated;

    if cost.is_none() {
        warnings.push(format!(
            "no price is known for model {model_id}: this answer carries no cost (add the model's \
             prices to the catalogue, crates/contract/src/models/prices.rs)"
        ));
    }
    info!(
        request_id,
        language = req.language.name,
        model = model_id,
        cost_micro_usd = cost.as_ref().map_or(0, |c| c.micro_usd),
        message_bytes = req.message.len(),
        code_bytes = code.len(),
        input_tokens = usage.input_tokens,
        output_tokens = usage.output_tokens,
        total_tokens = usage.total_tokens,
        stop_reason = stop_reason.as_str(),
        syntax_checked = syntax.checked,
        syntax_errors = syntax.count(),
        repair_attempted = repair.as_ref().is_some_and(|r| r.attempted),
        repair_applied = repair.as_ref().is_some_and(|r| r.applied),
        stored = stored.s3.is_some(),
        model_ms,
        s3_ms = stored.s3_ms,
        total_ms = millis(started.elapsed()),
        "code generated"
    );

    Ok(GenerateResponse {
        code,
        language: req.language.name.to_owned(),
        model: stored.model.unwrap_or_else(|| model_id.to_owned()),
        stored: stored.s3.is_some(),
        s3: stored.s3,
        usage,
        cost,
        syntax,
        repair,
        sampling: plan.sent(),
        request_id: request_id.to_owned(),
        warnings,
    })
}

/// The sampling plan for `req` on this route: the model's rules applied to the stage's defaults
/// and the request's overrides, then the route's thinking.
fn plan_for(deps: &Deps<'_>, req: &ValidRequest) -> Result<Plan, ApiError> {
    let config = deps.config;
    let mut plan = sampling::plan(&config.model_id, config.defaults, &req.overrides)
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?;
    thinking::apply(&mut plan, &config.model_id, &config.thinking);
    Ok(plan)
}

/// The first model call, and the code in its reply.
struct FirstCall {
    generation: Generation,
    code: String,
    started: Instant,
    model_ms: u64,
}

/// Calls the model once and extracts the code: a failed call, a refusal or a reply without code
/// is an [`ApiError`] (carrying what the call cost, once it was answered).
async fn first_call(
    deps: &Deps<'_>,
    language: &'static Language,
    prompt: &Prompt,
    plan: &Plan,
    request_id: &str,
) -> Result<FirstCall, ApiError> {
    let model_id = deps.config.model_id.as_str();
    let started = Instant::now();
    let generation = model::generate(deps.bedrock, model_id, prompt, plan).await;
    let model_ms = millis(started.elapsed());
    crate::metrics::record_model_ms(model_ms);
    let generation = generation.map_err(|e| {
        let region = deps
            .bedrock
            .config()
            .region()
            .map_or_else(|| "(no region)".to_owned(), ToString::to_string);
        error!(
            request_id,
            model = model_id,
            language = language.name,
            model_ms,
            error = %e,
            "Bedrock Converse failed"
        );
        e.to_api_error(model_id, &region)
    })?;

    // Paid for whatever happens next: a failure below still settles a budget to this.
    let first_cost =
        codegen_contract::cost::of_call(model_id, generation.usage).map(|c| c.micro_usd);
    if is_refusal(&generation.stop_reason) {
        warn!(
            request_id,
            model = model_id,
            stop_reason = generation.stop_reason.as_str(),
            output_tokens = generation.usage.output_tokens,
            "the model declined the request"
        );
        return Err(ApiError::new(
            ErrorCode::ModelRefused,
            format!(
                "the model declined this request (stop reason `{}`): rephrase it as a concrete \
                 programming task",
                generation.stop_reason.as_str()
            ),
        )
        .spent(first_cost));
    }
    let Some(code) = extract::extract_code(&generation.text, language) else {
        // Only sizes and the stop reason are logged: neither the reply nor its reasoning.
        warn!(
            request_id,
            model = model_id,
            reply_bytes = generation.text.len(),
            reasoning_blocks = generation.reasoning.len(),
            output_tokens = generation.usage.output_tokens,
            stop_reason = generation.stop_reason.as_str(),
            "model reply contained no code"
        );
        if generation.stop_reason == StopReason::MaxTokens && plan.thinks {
            return Err(thinking_exhausted(plan, deps.config.role).spent(first_cost));
        }
        return Err(ApiError::new(
            ErrorCode::EmptyGeneration,
            "the model answered without any code: rephrase the message as a concrete programming \
             task and try again",
        )
        .spent(first_cost));
    };
    Ok(FirstCall {
        generation,
        code,
        started,
        model_ms,
    })
}

/// The answer to return and store, what its model calls used and cost, and what to warn about.
struct Generated {
    answer: Answer,
    usage: codegen_contract::Usage,
    cost: Option<codegen_contract::cost::Cost>,
    repair: Option<RepairReport>,
    warnings: Vec<String>,
    /// The answer stopped at max_tokens.
    cut: bool,
}

/// Checks the first answer's syntax and, when it does not parse, tries one repair
/// ([`try_repair`]); collects the warnings the answer carries.
async fn check_and_repair(
    deps: &Deps<'_>,
    language: &'static Language,
    prompt: &Prompt,
    plan: &Plan,
    first: FirstCall,
    deadline: Option<Instant>,
    request_id: &str,
) -> Generated {
    let config = deps.config;
    let model_id = config.model_id.as_str();
    let FirstCall {
        generation,
        code,
        started: model_started,
        model_ms,
    } = first;
    let mut warnings = plan.warnings.clone();
    // The model calls of this request share one budget: the configured Bedrock timeout from the
    // first call's start, and never past the invocation's deadline less the S3 write.
    let mut model_deadline = model_started + config.model_timeout;
    if let Some(d) = deadline {
        model_deadline = model_deadline.min(
            d.checked_sub(config.s3_timeout + AFTER_MODEL_MARGIN)
                .unwrap_or(model_started),
        );
    }
    let first = Answer {
        syntax: syntax::check(&code, language),
        code,
        stop_reason: generation.stop_reason.clone(),
    };
    let mut usage = generation.usage;
    let mut cost = codegen_contract::cost::of_call(model_id, generation.usage);
    let mut repair = None;
    let answer = if first.syntax.has_errors() {
        let context = RepairContext {
            deps,
            model_id,
            language,
            prompt,
            plan,
            first_reply: &generation.text,
            first_reasoning: &generation.reasoning,
            first_duration: Duration::from_millis(model_ms),
            model_deadline,
            request_id,
        };
        let (kept, report) = try_repair(&context, first).await;
        if let Some(u) = report.usage {
            usage = usage.plus(u);
            // Each call is priced on its own (a long-prompt tier applies per request).
            let repair_cost = codegen_contract::cost::of_call(model_id, u);
            cost = cost.zip(repair_cost).map(|(a, b)| a.plus(&b));
        }
        if report.attempted && !report.applied {
            warnings.push(format!(
                "one repair was attempted and not kept: {}",
                report
                    .reason
                    .as_deref()
                    .unwrap_or("it did not have fewer errors")
            ));
        } else if !report.attempted && report.mode == RepairMode::Once {
            warnings.push(format!(
                "no repair was attempted: {}",
                report.reason.as_deref().unwrap_or("repair is off")
            ));
        }
        repair = Some(report);
        kept
    } else {
        first
    };
    if let Some(w) = syntax::warning(&answer.syntax, language) {
        warnings.insert(0, w);
    }
    let cut = answer.stop_reason == StopReason::MaxTokens;
    if cut {
        warnings.push(cut_warning(plan));
    }
    Generated {
        answer,
        usage,
        cost,
        repair,
        warnings,
        cut,
    }
}

/// What an answer cut at max_tokens says.
fn cut_warning(plan: &Plan) -> String {
    if plan.thinks {
        format!(
            "the model stopped at max_tokens ({}, of which {} reserved for thinking; thinking \
             counts toward the limit): the code may be incomplete; raise max_tokens, lower \
             the route's effort, or ask for less",
            plan.max_tokens, plan.thinking_tokens
        )
    } else {
        format!(
            "the model stopped at max_tokens ({}): the code may be incomplete; raise \
             max_tokens or ask for less",
            plan.max_tokens
        )
    }
}

/// Where the code went.
struct Storage {
    /// The object, when it is stored (by this attempt or an earlier one).
    s3: Option<codegen_contract::S3Location>,
    /// The model recorded on an object an earlier attempt stored.
    model: Option<String>,
    s3_ms: u64,
}

/// Stores the code at `target`, only if the key is free. When an earlier attempt of the job
/// stored its code there, `generated` is made to describe that object; a failed write is a
/// warning, not an error.
async fn store(
    deps: &Deps<'_>,
    target: &Target<'_>,
    language: &'static Language,
    generated: &mut Generated,
) -> Storage {
    let request_id = target.request_id;
    let model_id = deps.config.model_id.as_str();
    let facts = CodeFacts {
        syntax: &generated.answer.syntax,
        repair: generated.repair.as_ref(),
        cut: generated.cut,
    };
    let s3_started = Instant::now();
    let mut model = None;
    let stored = storage::put_code(
        deps.s3,
        target,
        &generated.answer.code,
        language,
        model_id,
        facts,
    )
    .await;
    let s3_ms = millis(s3_started.elapsed());
    let warnings = &mut generated.warnings;
    let s3 = match stored {
        Ok(Stored::Written) => Some(storage::location(target.bucket, target.key)),
        Ok(Stored::AlreadyThere) => {
            // A redelivered job whose earlier attempt stored its code: that object stays, and the
            // answer describes it (its code, its syntax, its model), not this attempt's answer.
            warn!(request_id, key = %target.key, "code already stored by an earlier attempt; kept it");
            match storage::read_code(deps.s3, target.bucket, target.key).await {
                Ok(stored) => {
                    generated.answer.syntax = syntax::check(&stored.code, language);
                    generated.answer.code = stored.code;
                    model = stored.model;
                    generated.repair = None;
                    warnings.push(
                        "an earlier attempt of this job stored its code: this result describes \
                         that stored object; usage counts this attempt's model calls"
                            .to_owned(),
                    );
                }
                Err(e) => {
                    warn!(request_id, key = %target.key, error = %e, "could not read the stored code");
                    warnings.push(format!(
                        "an earlier attempt of this job stored its code, which could not be read \
                         back ({e}): `code` is this attempt's answer, the stored object may differ"
                    ));
                }
            }
            Some(storage::location(target.bucket, target.key))
        }
        Err(e) => {
            warn!(request_id, bucket = %target.bucket, key = %target.key, s3_ms, error = %e, "could not store generated code");
            warnings.push(format!("the code was not stored: {e}"));
            None
        }
    };
    Storage { s3, model, s3_ms }
}

/// The answer to a reply that stopped at max_tokens before any code, on a model that thinks: its
/// thinking used the budget. Says what to set, per route (the stage file's `thinking` section).
pub fn thinking_exhausted(plan: &Plan, role: crate::config::Role) -> ApiError {
    let route = if role == crate::config::Role::Worker {
        "jobs"
    } else {
        "sync"
    };
    ApiError::new(
        ErrorCode::ThinkingExhausted,
        format!(
            "the model stopped at max_tokens ({} output tokens, {} of them reserved for thinking) \
             before writing any code: its thinking used the budget, and nothing was stored. Raise \
             thinking.{route}.thinking_tokens or lower thinking.{route}.effort in the stage file, \
             or raise max_tokens in the request",
            plan.max_tokens, plan.thinking_tokens
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_exhausted_names_the_route_settings() {
        let mut plan = sampling::plan(
            "global.anthropic.claude-opus-5-5",
            sampling::Sampling::default(),
            &sampling::Overrides::default(),
        )
        .expect("plan");
        thinking::apply(
            &mut plan,
            "global.anthropic.claude-opus-5-5",
            &thinking::RouteThinking {
                setting: codegen_contract::models::ThinkingSetting::Default,
                effort: Some(codegen_contract::models::Effort::Low),
                thinking_tokens: 2048,
            },
        );
        let e = thinking_exhausted(&plan, crate::config::Role::Sync);
        assert_eq!(e.code, ErrorCode::ThinkingExhausted);
        assert_eq!(e.status(), 502);
        assert!(
            e.message.contains("4096 output tokens, 2048 of them"),
            "{}",
            e.message
        );
        assert!(e.message.contains("thinking.sync.thinking_tokens"));
        assert!(e.message.contains("nothing was stored"));
        let e = thinking_exhausted(&plan, crate::config::Role::Worker);
        assert!(e.message.contains("thinking.jobs.effort"));
    }

    #[test]
    fn deadlines_from_the_lambda_context() {
        assert_eq!(deadline_from_epoch_ms(0), None);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let d = deadline_from_epoch_ms(now_ms + 10_000).expect("known");
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(9) && left <= Duration::from_secs(10),
            "{left:?}"
        );
        // A deadline in the past is "now": no time left, not a panic.
        let past = deadline_from_epoch_ms(1).expect("known");
        assert!(past <= Instant::now() + Duration::from_millis(1));
    }
}
