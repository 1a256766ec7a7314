//! The Lambda handler for API Gateway v2 events: by the function's role, `PUT /code-generation`
//! (validate, then the generation [`pipeline`](crate::pipeline) inside the request), or the jobs
//! routes ([`jobs_api`](crate::jobs_api)). IO goes through the borrowed clients in [`Deps`](crate::deps::Deps); every
//! expected failure becomes an `Ok` JSON error response.

use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use codegen_contract::ErrorCode;
use lambda_runtime::LambdaEvent;
use tracing::{info, warn};

pub use crate::deps::{Clock, Deps};

use crate::config::{Config, Role};
use crate::error::ApiError;
use crate::storage::Target;
use crate::{budget, jobs_api, metrics, pipeline, request, response, storage};

/// Handles one API invocation. Returns `Err` only for bugs; every expected failure is an `Ok`
/// 4xx/5xx JSON response.
pub async fn handle(
    deps: &Deps<'_>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let started = Instant::now();
    let payload = event.payload;
    let deadline = pipeline::deadline_from_epoch_ms(event.context.deadline);
    let request_id = if event.context.request_id.is_empty() {
        payload
            .request_context
            .request_id
            .clone()
            .unwrap_or_default()
    } else {
        event.context.request_id
    };
    let (answered, figures) =
        metrics::scoped(run(deps, &payload, &request_id, started, deadline)).await;
    let response = match answered {
        Ok(response) => response,
        Err(err) => {
            let status = err.status();
            if status >= 500 {
                warn!(
                    request_id = %request_id,
                    code = err.code.as_str(),
                    status,
                    total_ms = pipeline::millis(started.elapsed()),
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
            response::error(&err)
        }
    };
    let job_id = job_of(deps.config.role, &payload, &response);
    emit_metrics(
        deps.config,
        &request_id,
        job_id.as_deref(),
        &response,
        figures,
        started,
    );
    Ok(response)
}

/// The job a jobs-route request was about (its path parameter, or the id a submission answered),
/// so that `logs --job` finds the request's metric line.
fn job_of(
    role: Role,
    payload: &ApiGatewayV2httpRequest,
    response: &ApiGatewayV2httpResponse,
) -> Option<String> {
    match role {
        Role::Status => payload
            .path_parameters
            .get("job_id")
            .filter(|id| codegen_contract::is_job_id(id))
            .cloned(),
        Role::Submit => match &response.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => {
                serde_json::from_str::<codegen_contract::SubmitResponse>(text)
                    .ok()
                    .map(|r| r.job_id)
            }
            _ => None,
        },
        Role::Sync | Role::Worker => None,
    }
}

/// The request's metric line (see [`metrics`]).
fn emit_metrics(
    config: &Config,
    request_id: &str,
    job_id: Option<&str>,
    response: &ApiGatewayV2httpResponse,
    figures: metrics::Figures,
    started: Instant,
) {
    let status = u16::try_from(response.status_code).unwrap_or(500);
    let mut line = metrics::Line::new(
        &config.stage,
        config.role,
        &config.model_id,
        metrics::now_ms(),
    );
    line.answered(status, pipeline::millis(started.elapsed()))
        .figures(figures)
        .property("request_id", request_id);
    if let Some(job_id) = job_id {
        line.property("job_id", job_id);
    }
    if config.role == Role::Submit && status == 202 {
        line.set(codegen_contract::metrics::JOBS_QUEUED, 1);
    }
    metrics::emit(&line);
}

async fn run(
    deps: &Deps<'_>,
    payload: &ApiGatewayV2httpRequest,
    request_id: &str,
    started: Instant,
    deadline: Option<Instant>,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    match deps.config.role {
        Role::Sync => {
            let req = request::validate(payload, deps.config)?;
            let key = storage::object_key(
                &deps.config.prefix,
                (deps.clock)(),
                request_id,
                req.language,
            );
            let target = Target {
                bucket: &deps.config.bucket,
                key: &key,
                request_id,
                create_only: false,
            };
            // Budgets: reserve the most this request can cost before any model call, settle
            // to what it cost after (crate::budget).
            let held = match &deps.config.quotas {
                None => None,
                Some(_) => {
                    let principal = jobs_api::principal_of(payload)?;
                    let bound = pipeline::request_bound(deps, &req)?;
                    budget::admit(deps, &principal, bound, (deps.clock)()).await?
                }
            };
            let result = pipeline::generate_and_store(deps, &req, &target, started, deadline).await;
            if let Some(held) = &held {
                let (spent, tokens, failure) = match &result {
                    Ok(body) => (
                        body.cost.as_ref().map(|c| c.micro_usd),
                        u64::from(body.usage.total_tokens),
                        None,
                    ),
                    Err(e) => (e.spent_micro_usd, 0, Some(e.code)),
                };
                budget::settle(deps, held, spent, tokens, failure).await;
            }
            let body = result?;
            metrics::record_answer(&body);
            Ok(response::success(&body))
        }
        Role::Submit => jobs_api::submit(deps, payload, request_id).await,
        Role::Status => jobs_api::status(deps, payload).await,
        Role::Worker => Err(ApiError::new(
            ErrorCode::Internal,
            "this function is the jobs worker: it serves the queue, not HTTP",
        )),
    }
}
