//! At most one repair of code that does not parse: when it is allowed ([`repair_blocker`]: the
//! stage's setting, a cut answer, the time left), one follow-up model call with the parser's
//! diagnostics, and whichever version has fewer errors kept. The Bedrock call goes through the
//! borrowed client in [`Deps`].

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::types::StopReason;
use codegen_contract::{RepairMode, RepairReport, SyntaxCheck};
use tracing::{info, warn};

use crate::deps::Deps;
use crate::language::Language;
use crate::metrics::millis;
use crate::model::{self, Generation, Speaker, Turn, is_refusal};
use crate::prompt::{self, Prompt};
use crate::sampling::Plan;
use crate::{extract, syntax};

/// Extracted code with its syntax check and why the model stopped.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The code.
    pub(crate) code: String,
    /// Its syntax check.
    pub(crate) syntax: SyntaxCheck,
    /// Why the model stopped.
    pub(crate) stop_reason: StopReason,
}

/// What a repair needs from the first call.
pub(crate) struct RepairContext<'a> {
    pub(crate) deps: &'a Deps<'a>,
    pub(crate) model_id: &'a str,
    pub(crate) language: &'static Language,
    pub(crate) prompt: &'a Prompt,
    pub(crate) plan: &'a Plan,
    pub(crate) first_reply: &'a str,
    pub(crate) first_reasoning: &'a [aws_sdk_bedrockruntime::types::ContentBlock],
    pub(crate) first_duration: Duration,
    pub(crate) model_deadline: Instant,
    pub(crate) request_id: &'a str,
}

/// The least time a repair call is started with: a model's time to the first token alone is
/// about 1-2 s (the Bedrock test double's `Pacing::SONNET` uses 1.8 s, from third-party
/// measurements; AWS and Anthropic publish no figure).
pub const MIN_REPAIR_TIME: Duration = Duration::from_secs(2);

/// Why a repair is not attempted, if it is not: the stage's setting, a reply cut at max_tokens
/// (a second answer under the same limit would be cut again), or too little time left. The
/// follow-up is about as long as the first answer (the whole program again), so it needs about
/// as long as the first call took, and never less than [`MIN_REPAIR_TIME`].
pub fn repair_blocker(
    mode: RepairMode,
    first_stop: &StopReason,
    first_duration: Duration,
    remaining: Duration,
) -> Option<String> {
    if mode == RepairMode::Off {
        return Some("repair is off for this stage".to_owned());
    }
    if *first_stop == StopReason::MaxTokens {
        return Some(
            "the answer was cut at max_tokens, and a second answer under the same limit would be \
             cut again: raise max_tokens"
                .to_owned(),
        );
    }
    if remaining < first_duration.max(MIN_REPAIR_TIME) {
        return Some(format!(
            "not enough time left in this route's budget ({} ms left, the first answer took {} ms)",
            remaining.as_millis(),
            first_duration.as_millis()
        ));
    }
    None
}

/// At most one follow-up call with the diagnostics; keeps whichever version has fewer errors
/// (the first one on a tie, a failure or a timeout), so the result is never worse.
pub(crate) async fn try_repair(ctx: &RepairContext<'_>, first: Answer) -> (Answer, RepairReport) {
    let mode = ctx.deps.config.repair;
    let errors_before = first.syntax.count();
    let mut report = RepairReport {
        mode,
        attempted: false,
        applied: false,
        errors_before,
        errors_after: None,
        usage: None,
        reason: None,
    };
    let remaining = ctx.model_deadline.saturating_duration_since(Instant::now());
    if let Some(reason) = repair_blocker(mode, &first.stop_reason, ctx.first_duration, remaining) {
        info!(request_id = ctx.request_id, reason = %reason, "code does not parse; no repair");
        report.reason = Some(reason);
        return (first, report);
    }
    // The earlier answer goes back whole: its reasoning blocks first, unmodified, then its text.
    let turns = [
        Turn::text(Speaker::User, ctx.prompt.user.clone()),
        Turn {
            reasoning: ctx.first_reasoning.to_vec(),
            ..Turn::text(Speaker::Assistant, ctx.first_reply)
        },
        Turn::text(Speaker::User, prompt::repair(ctx.language, &first.syntax)),
    ];
    report.attempted = true;
    let started = Instant::now();
    let call = model::converse(
        ctx.deps.bedrock,
        ctx.model_id,
        &ctx.prompt.system,
        &turns,
        ctx.plan,
    );
    let result = match tokio::time::timeout(remaining, call).await {
        Ok(r) => r,
        Err(_) => Err(model::ModelError::Timeout(
            "the route's time budget ran out".to_owned(),
        )),
    };
    let repair_ms = millis(started.elapsed());
    crate::metrics::record_model_ms(repair_ms);
    let generation: Generation = match result {
        Ok(g) => g,
        Err(e) => {
            warn!(request_id = ctx.request_id, repair_ms, error = %e, "the repair call failed; keeping the first answer");
            report.reason = Some(format!("the follow-up call failed ({})", short(&e)));
            return (first, report);
        }
    };
    report.usage = Some(generation.usage);
    if is_refusal(&generation.stop_reason) {
        report.reason = Some("the model declined the follow-up".to_owned());
        return (first, report);
    }
    let Some(code) = extract::extract_code(&generation.text, ctx.language) else {
        report.reason = Some("the follow-up answered without code".to_owned());
        return (first, report);
    };
    let second = Answer {
        syntax: syntax::check(&code, ctx.language),
        code,
        stop_reason: generation.stop_reason,
    };
    let errors_after = second.syntax.count();
    report.errors_after = second.syntax.checked.then_some(errors_after);
    info!(
        request_id = ctx.request_id,
        repair_ms,
        errors_before,
        errors_after,
        output_tokens = generation.usage.output_tokens,
        "repair answered"
    );
    if second.syntax.checked && errors_after < errors_before {
        report.applied = true;
        (second, report)
    } else {
        report.reason = Some(format!(
            "its code had {errors_after} syntax error{}, not fewer than {errors_before}",
            if errors_after == 1 { "" } else { "s" }
        ));
        (first, report)
    }
}

/// A model failure in a few words, for the repair's reason.
fn short(e: &model::ModelError) -> &'static str {
    use model::ModelError as E;
    match e {
        E::Throttled(_) => "throttled",
        E::Unavailable(_) | E::Overloaded(_) | E::AgreementPending(_) => "model unavailable",
        E::Timeout(_) => "timed out",
        E::Access(_)
        | E::NotForThisAccount(_)
        | E::InvalidParameter(_)
        | E::Rejected(_)
        | E::Internal(_) => "rejected",
        E::Failed(_) => "model error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_is_blocked_by_the_setting_a_cut_answer_or_the_clock() {
        let s = Duration::from_secs;
        let end = StopReason::EndTurn;
        assert_eq!(repair_blocker(RepairMode::Once, &end, s(5), s(20)), None);
        assert!(
            repair_blocker(RepairMode::Off, &end, s(5), s(20)).is_some_and(|r| r.contains("off"))
        );
        assert!(
            repair_blocker(RepairMode::Once, &StopReason::MaxTokens, s(5), s(20))
                .is_some_and(|r| r.contains("max_tokens"))
        );
        // The synchronous route: a 15 s first answer leaves 10 s of the 25 s budget.
        assert!(
            repair_blocker(RepairMode::Once, &end, s(15), s(10))
                .is_some_and(|r| r.contains("not enough time"))
        );
        // A fast first answer still needs the minimum.
        assert!(repair_blocker(RepairMode::Once, &end, Duration::ZERO, s(1)).is_some());
        assert_eq!(
            repair_blocker(RepairMode::Once, &end, Duration::ZERO, MIN_REPAIR_TIME),
            None
        );
    }
}
