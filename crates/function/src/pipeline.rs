//! The generation pipeline both front doors share: plan the sampling, build the prompt, call the
//! model, extract the code, store it, and shape the success body. `PUT /code-generation` runs it
//! inside the request; the jobs worker runs it for a queued job. One pipeline, two front doors.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::types::StopReason;
use codegen_contract::{ErrorCode, GenerateResponse};
use tracing::{error, info, warn};

use crate::error::ApiError;
use crate::handler::Deps;
use crate::request::ValidRequest;
use crate::storage::{self, Stored, Target};
use crate::{extract, model, prompt, sampling};

/// Generates code for `req` and stores it at `target`. Every expected failure is an [`ApiError`]
/// the caller can answer with; a failed S3 write is not one of them (the model call was paid for,
/// so the code is returned with `stored: false` and a warning).
pub async fn generate_and_store(
    deps: &Deps<'_>,
    req: &ValidRequest,
    target: &Target<'_>,
    started: Instant,
) -> Result<GenerateResponse, ApiError> {
    let config = deps.config;
    let request_id = target.request_id;
    let language = req.language;
    let model_id = config.model_id.as_str();

    let plan = sampling::plan(model_id, config.defaults, &req.overrides)
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?;
    if !plan.dropped.is_empty() {
        info!(
            request_id,
            model = model_id,
            rule = plan.rule.map_or("unknown model", |r| r.as_str()),
            dropped = ?plan.dropped,
            "sampling parameters not sent: the model does not accept them in this combination"
        );
    }
    let mut warnings = plan.warnings.clone();
    let prompt = prompt::build(language, &req.message);

    let model_started = Instant::now();
    let generation = model::generate(deps.bedrock, model_id, &prompt, &plan).await;
    let model_ms = millis(model_started.elapsed());
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
        ));
    }
    let Some(code) = extract::extract_code(&generation.text, language) else {
        warn!(
            request_id,
            model = model_id,
            reply_bytes = generation.text.len(),
            stop_reason = generation.stop_reason.as_str(),
            "model reply contained no code"
        );
        return Err(ApiError::new(
            ErrorCode::EmptyGeneration,
            "the model answered without any code: rephrase the message as a concrete programming \
             task and try again",
        ));
    };
    if generation.stop_reason == StopReason::MaxTokens {
        warnings.push(format!(
            "the model stopped at max_tokens ({}): the code may be incomplete; raise max_tokens or \
             ask for less",
            plan.max_tokens
        ));
    }

    let s3_started = Instant::now();
    let stored = storage::put_code(deps.s3, target, &code, language, model_id).await;
    let s3_ms = millis(s3_started.elapsed());
    let s3 = match stored {
        Ok(Stored::Written) => Some(storage::location(target.bucket, target.key)),
        Ok(Stored::AlreadyThere) => {
            // A redelivered job whose earlier attempt stored its code: that object stays.
            warn!(request_id, key = %target.key, "code already stored by an earlier attempt; kept it");
            Some(storage::location(target.bucket, target.key))
        }
        Err(e) => {
            warn!(request_id, bucket = %target.bucket, key = %target.key, s3_ms, error = %e, "could not store generated code");
            warnings.push(format!("the code was not stored: {e}"));
            None
        }
    };

    info!(
        request_id,
        language = language.name,
        model = model_id,
        message_bytes = req.message.len(),
        code_bytes = code.len(),
        input_tokens = generation.usage.input_tokens,
        output_tokens = generation.usage.output_tokens,
        total_tokens = generation.usage.total_tokens,
        stop_reason = generation.stop_reason.as_str(),
        stored = s3.is_some(),
        model_ms,
        s3_ms,
        total_ms = millis(started.elapsed()),
        "code generated"
    );

    Ok(GenerateResponse {
        code,
        language: language.name.to_owned(),
        model: model_id.to_owned(),
        stored: s3.is_some(),
        s3,
        usage: generation.usage,
        sampling: plan.sent(),
        request_id: request_id.to_owned(),
        warnings,
    })
}

/// Whether the model declined to answer: Claude's `refusal` stop reason (Claude 4.5 and later;
/// the SDK has no variant for it yet, so it arrives as an unknown value), or a content filter or
/// guardrail that stopped it.
/// <https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons>
pub fn is_refusal(stop: &StopReason) -> bool {
    matches!(
        stop,
        StopReason::ContentFiltered | StopReason::GuardrailIntervened
    ) || stop.as_str() == "refusal"
}

/// Milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
