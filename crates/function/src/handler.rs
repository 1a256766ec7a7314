//! The Lambda handler: validate the API Gateway v2 request, build the prompt, call Bedrock, extract
//! the code, store it in S3 and answer. IO goes through the borrowed clients in [`Deps`]; every
//! expected failure becomes an `Ok` JSON error response.

use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_sdk_bedrockruntime::types::StopReason;
use codegen_contract::{ErrorCode, GenerateResponse};
use lambda_runtime::LambdaEvent;
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::error::ApiError;
use crate::{extract, model, prompt, request, response, sampling, storage};

/// Source of the current time (UTC); a plain function so tests can pin it.
pub type Clock = fn() -> OffsetDateTime;

/// What the handler borrows: clients and configuration built once per cold start.
#[derive(Debug, Clone, Copy)]
pub struct Deps<'a> {
    /// Bedrock Runtime client.
    pub bedrock: &'a aws_sdk_bedrockruntime::Client,
    /// S3 client.
    pub s3: &'a aws_sdk_s3::Client,
    /// Function configuration.
    pub config: &'a Config,
    /// Current time, for object keys.
    pub clock: Clock,
}

/// Handles one `PUT /code-generation` invocation. Returns `Err` only for bugs; every expected
/// failure is an `Ok` 4xx/5xx JSON response.
pub async fn handle(
    deps: &Deps<'_>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let started = Instant::now();
    let payload = event.payload;
    let request_id = if event.context.request_id.is_empty() {
        payload
            .request_context
            .request_id
            .clone()
            .unwrap_or_default()
    } else {
        event.context.request_id
    };
    match run(deps, &payload, &request_id, started).await {
        Ok(body) => Ok(response::success(&body)),
        Err(err) => {
            let status = err.status();
            if status >= 500 {
                warn!(
                    request_id = %request_id,
                    code = err.code.as_str(),
                    status,
                    total_ms = millis(started.elapsed()),
                    "request failed"
                );
            } else {
                info!(
                    request_id = %request_id,
                    code = err.code.as_str(),
                    status,
                    reason = %err.message,
                    "request rejected"
                );
            }
            Ok(response::error(&err))
        }
    }
}

/// Whether the model declined to answer: Claude's `refusal` stop reason (Claude 4.5 and later;
/// the SDK has no variant for it yet, so it arrives as an unknown value), or a content filter or
/// guardrail that stopped it.
/// <https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals>
pub fn is_refusal(stop: &StopReason) -> bool {
    matches!(
        stop,
        StopReason::ContentFiltered | StopReason::GuardrailIntervened
    ) || stop.as_str() == "refusal"
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn run(
    deps: &Deps<'_>,
    payload: &ApiGatewayV2httpRequest,
    request_id: &str,
    started: Instant,
) -> Result<GenerateResponse, ApiError> {
    let config = deps.config;
    let req = request::validate(payload, config)?;
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

    let now = (deps.clock)();
    let key = storage::object_key(&config.prefix, now, request_id, language);
    let s3_started = Instant::now();
    let stored = storage::put_code(
        deps.s3,
        &config.bucket,
        &key,
        &code,
        language,
        model_id,
        request_id,
    )
    .await;
    let s3_ms = millis(s3_started.elapsed());
    let s3 = match stored {
        Ok(()) => Some(storage::location(&config.bucket, &key)),
        Err(e) => {
            warn!(request_id, bucket = %config.bucket, key = %key, s3_ms, error = %e, "could not store generated code");
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
