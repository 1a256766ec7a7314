//! The two HTTP front doors of the jobs route: `POST /code-generation/jobs` (validate exactly as
//! `PUT /code-generation` does, record the job, enqueue it, answer 202) and
//! `GET /code-generation/jobs/{job_id}` (read the record and, once succeeded, its code). Each runs
//! in its own function with its own role: the submitter cannot write code, the status reader
//! cannot write anything.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use codegen_contract::{
    ErrorCode, IDEMPOTENCY_HEADER, JOB_STATUS_METHOD, JOB_STATUS_PATH, JOB_STATUS_ROUTE_KEY,
    JOBS_PATH, JobStatus, SubmitResponse, is_job_id,
};
use http::HeaderValue;
use http::header::LOCATION;
use tracing::{info, warn};

use crate::error::ApiError;
use crate::handler::Deps;
use crate::jobs::{self, JobRecord, RecordError};
use crate::request::{self, SUBMIT_ROUTE};
use crate::{response, storage};

/// The caller API Gateway authenticated (IAM auth: the user or role ARN), or `anonymous` on a
/// route without auth.
pub fn caller_of(event: &ApiGatewayV2httpRequest) -> String {
    event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.iam.as_ref())
        .and_then(|iam| {
            iam.user_arn
                .clone()
                .or_else(|| iam.caller_id.clone())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// `POST /code-generation/jobs`.
pub async fn submit(
    deps: &Deps<'_>,
    event: &ApiGatewayV2httpRequest,
    request_id: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let config = deps.config;
    let req = request::validate_for(&SUBMIT_ROUTE, event, config)?;
    let body = request::decode_body(
        event.body.as_deref(),
        event.is_base64_encoded,
        config.max_body_bytes,
    )?;
    let caller = caller_of(event);
    let idempotency_key = match event.headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    "Idempotency-Key may contain visible ASCII characters only",
                )
            })?;
            jobs::check_idempotency_key(key)
                .map_err(|m| ApiError::new(ErrorCode::InvalidParameter, m))?;
            Some(key.to_owned())
        }
    };
    let job_id = match &idempotency_key {
        Some(key) => jobs::idempotent_job_id(&caller, key),
        None => jobs::random_job_id(),
    };
    let now = (deps.clock)();
    let code_key = storage::object_key(&config.prefix, now, &job_id, req.language);
    let record = JobRecord::queued(&job_id, now, &caller, &body, &code_key);

    let status = match jobs::put_record(deps.s3, &config.bucket, &record, true).await {
        Ok(()) => {
            enqueue(deps, &record).await?;
            JobStatus::Queued
        }
        Err(RecordError::Exists) => replay(deps, &record).await?,
        Err(e) => {
            warn!(request_id, job_id, error = %e, "could not record the job");
            return Err(unavailable("the job could not be recorded"));
        }
    };
    info!(
        request_id,
        job_id,
        language = req.language.name,
        idempotent = idempotency_key.is_some(),
        status = ?status,
        "job accepted"
    );
    let status_url = format!("{JOBS_PATH}/{job_id}");
    let mut resp = response::json(
        202,
        &SubmitResponse {
            job_id: job_id.clone(),
            status,
            status_url,
        },
    );
    // Resolved against the request's own URL, so it holds behind any stage or base path.
    let path = event
        .raw_path
        .as_deref()
        .unwrap_or(JOBS_PATH)
        .trim_end_matches('/');
    if let Ok(location) = HeaderValue::from_str(&format!("{path}/{job_id}")) {
        resp.headers.insert(LOCATION, location);
    }
    Ok(resp)
}

/// A submission whose job already exists: the same caller replaying the same body gets the job
/// (re-enqueued if it never left the queue, which is harmless: the worker skips finished jobs); a
/// different body under the same key is a conflict.
async fn replay(deps: &Deps<'_>, new: &JobRecord) -> Result<JobStatus, ApiError> {
    let existing = jobs::get_record(deps.s3, &deps.config.bucket, &new.job_id)
        .await
        .map_err(|_| unavailable("the existing job could not be read"))?;
    if existing.request_sha256 != new.request_sha256 || existing.caller != new.caller {
        return Err(ApiError::new(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was already used with a different request body: use a new key \
             for a new request",
        ));
    }
    if existing.status == JobStatus::Queued {
        enqueue(deps, &existing).await?;
    }
    Ok(existing.status)
}

async fn enqueue(deps: &Deps<'_>, record: &JobRecord) -> Result<(), ApiError> {
    let (Some(sqs), Some(queue)) = (deps.sqs, deps.config.jobs_queue_url.as_deref()) else {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "the submit function has no jobs queue configured",
        ));
    };
    if let Err(e) = jobs::enqueue(sqs, queue, &record.job_id).await {
        warn!(job_id = %record.job_id, error = %e, "could not enqueue the job");
        // Never leave a job `queued` with nothing on the queue: mark it failed (best effort; the
        // status route also reports it failed once it goes stale).
        let mut failed = record.clone();
        failed.status = JobStatus::Failed;
        failed.error = Some(codegen_contract::ErrorBody {
            code: ErrorCode::JobsUnavailable.as_str().to_owned(),
            message: "the job could not be queued".to_owned(),
        });
        let _ignored_best_effort =
            jobs::put_record(deps.s3, &deps.config.bucket, &failed, false).await;
        return Err(unavailable("the job could not be queued"));
    }
    Ok(())
}

fn unavailable(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::JobsUnavailable,
        format!("{what}: retry after the Retry-After delay (with the same Idempotency-Key)"),
    )
    .retry_after(crate::model::UNAVAILABLE_RETRY_AFTER_SECS)
}

/// `GET /code-generation/jobs/{job_id}`.
pub async fn status(
    deps: &Deps<'_>,
    event: &ApiGatewayV2httpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let job_id = job_id_of(event)?;
    let config = deps.config;
    let record = match jobs::get_record(deps.s3, &config.bucket, &job_id).await {
        Ok(r) => r,
        Err(RecordError::NotFound) => return Err(not_found()),
        Err(e) => {
            warn!(job_id, error = %e, "could not read the job record");
            return Err(unavailable("the job could not be read"));
        }
    };
    // Another caller's job is answered exactly like a missing one.
    if record.caller != caller_of(event) {
        return Err(not_found());
    }
    let code = if record.status == JobStatus::Succeeded {
        match jobs::get_text(deps.s3, &config.bucket, &record.code_key).await {
            Ok(code) => Some(code),
            Err(RecordError::NotFound) => None,
            Err(e) => {
                warn!(job_id, error = %e, "could not read the job's code");
                return Err(unavailable("the job's code could not be read"));
            }
        }
    } else {
        None
    };
    let body = record.to_response((deps.clock)(), config.job_stale_after, code);
    Ok(response::json(200, &body))
}

fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::JobNotFound,
        "no such job (job records expire with the generated code)",
    )
}

/// The job id from the path parameter (or the last path segment), checked for shape before any
/// lookup. A route or method this function does not serve is a 404/405 as elsewhere.
pub fn job_id_of(event: &ApiGatewayV2httpRequest) -> Result<String, ApiError> {
    let ctx = &event.request_context;
    let route_key = event.route_key.as_deref().or(ctx.route_key.as_deref());
    let path = event.raw_path.as_deref().or(ctx.http.path.as_deref());
    let under_jobs = path.is_some_and(|p| p.contains(&format!("{JOBS_PATH}/")));
    if route_key != Some(JOB_STATUS_ROUTE_KEY) && !under_jobs {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no route here: this function serves {JOB_STATUS_ROUTE_KEY}"),
        ));
    }
    if ctx.http.method.as_str() != JOB_STATUS_METHOD {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("use {JOB_STATUS_METHOD} on {JOB_STATUS_PATH}"),
        ));
    }
    let raw = event
        .path_parameters
        .get("job_id")
        .cloned()
        .or_else(|| path.and_then(|p| p.rsplit('/').next()).map(str::to_owned))
        .unwrap_or_default();
    if !is_job_id(&raw) {
        let shown: String = raw.chars().take(40).collect();
        return Err(ApiError::new(
            ErrorCode::InvalidJobId,
            format!(
                "`{}` is not a job id: job ids are the 32 lowercase hex digits that \
                 POST /code-generation/jobs returned",
                shown.escape_default()
            ),
        ));
    }
    Ok(raw)
}
