//! The two HTTP front doors of the jobs route: `POST /code-generation/jobs` (validate exactly as
//! `PUT /code-generation` does, record the job, enqueue it, answer 202) and
//! `GET /code-generation/jobs/{job_id}` (read the record and, once succeeded, its code). Each runs
//! in its own function with its own role: the submitter cannot write code, the status reader
//! cannot write anything. Both identify the caller as a [`Principal`] first (refusing a request
//! whose IAM identity cannot be read); a job is its principal's alone (`docs/principals.md`).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use codegen_contract::principal::CognitoIdentity;
use codegen_contract::{
    ErrorCode, IDEMPOTENCY_HEADER, IamAuthorizerContext, JOB_STATUS_METHOD, JOB_STATUS_PATH,
    JOB_STATUS_ROUTE_KEY, JOBS_PATH, JobStatus, Principal, SubmitResponse, is_job_id,
};
use http::HeaderValue;
use http::header::LOCATION;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{info, warn};

use crate::deps::Deps;
use crate::error::ApiError;
use crate::jobs::{self, JobRecord, KeyMapping, RecordError, Tagged, Write};
use crate::request::{self, SUBMIT_ROUTE};
use crate::{response, storage};

/// How long after a submission its own invocation may still be sending the queue message: the
/// submit function's timeout (`JOBS_API_TIMEOUT_SECONDS` in the stack, 10 s) with a margin. A
/// replay finding the job `queued`, never enqueued and older than this, enqueues it; a younger
/// one is left to the invocation that created it.
pub const ENQUEUE_GRACE_SECONDS: i64 = 15;

/// The caller's principal (see [`Principal::from_authorizer`]); a context that does not identify
/// one is `403 unidentified_caller`, never a weaker identity.
pub fn principal_of(event: &ApiGatewayV2httpRequest) -> Result<Principal, ApiError> {
    let iam = event.request_context.authorizer.as_ref().map(|a| {
        a.iam.as_ref().map(|iam| IamAuthorizerContext {
            access_key: iam.access_key.clone(),
            account_id: iam.account_id.clone(),
            caller_id: iam.caller_id.clone(),
            cognito_identity: iam.cognito_identity.as_ref().map(|c| CognitoIdentity {
                amr: c.amr.clone(),
                identity_id: c.identity_id.clone(),
                identity_pool_id: c.identity_pool_id.clone(),
            }),
            principal_org_id: iam.principal_org_id.clone(),
            user_arn: iam.user_arn.clone(),
            user_id: iam.user_id.clone(),
        })
    });
    let principal = match iam {
        // No authorizer block: a route without auth.
        None => Principal::from_authorizer(None),
        // An authorizer block without IAM (a JWT or Lambda authorizer): nothing this service
        // reads as an owner.
        Some(None) => Err(codegen_contract::PrincipalError::NoIamIdentity),
        Some(Some(ctx)) => Principal::from_authorizer(Some(&ctx)),
    };
    principal.map_err(|e| {
        ApiError::new(
            ErrorCode::UnidentifiedCaller,
            format!("jobs belong to an IAM principal, and this request names none: {e}"),
        )
    })
}

/// The owner form of records written before principals existed: the caller's `userArn` (or
/// `callerId`), or `anonymous` on a route without auth. Read only to match those records, which
/// expire with the bucket's lifecycle rule (`bucket.code_expiry_days`).
pub fn legacy_caller_of(event: &ApiGatewayV2httpRequest) -> String {
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
    let owner = principal_of(event)?;
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
    let now = (deps.clock)();
    let fresh_id = jobs::random_job_id();
    let mut job_id = fresh_id.clone();
    if let Some(key) = &idempotency_key {
        job_id = claim_key(deps, &owner, key, &job_id, &body, now).await?;
    }
    let code_key = storage::object_key(&config.prefix, now, &job_id, req.language);
    let mut record = JobRecord::queued(&job_id, now, &owner, &body, &code_key);
    // Budgets: a job slot and the job's bound, before the job exists (crate::budget).
    // A key that names an existing job replays it: that job already holds its budget and slot
    // (a caller at its cap can still retry a submission).
    if config.quotas.is_some() && job_id == fresh_id {
        let bound = crate::pipeline::request_bound(deps, &req)?;
        record.budget = crate::budget::admit_job(deps, &owner, bound, now).await?;
    }

    let status = match jobs::put_record(deps.s3, &config.bucket, &record, Write::Create).await {
        Ok(etag) => {
            enqueue(
                deps,
                Tagged {
                    value: record,
                    etag,
                },
            )
            .await?;
            JobStatus::Queued
        }
        Err(RecordError::Exists) => {
            // A replay: the first submission holds the job's budget; give this one's back.
            if let Some(b) = &record.budget {
                crate::budget::end_job(deps, &owner, b, Some(0), 0, None).await;
            }
            replay(deps, &owner, &record).await?
        }
        Err(e) => {
            if let Some(b) = &record.budget {
                crate::budget::end_job(deps, &owner, b, Some(0), 0, None).await;
            }
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

/// The job an `Idempotency-Key` names for `owner`: `fresh_id` if this is the key's first use (the
/// mapping is created only if absent), else the job the first use recorded. The same key with
/// another body is `409 idempotency_conflict`; the mapping is per principal, so another
/// principal's use of the same key text is never seen, let alone reported.
async fn claim_key(
    deps: &Deps<'_>,
    owner: &Principal,
    key: &str,
    fresh_id: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    let bucket = &deps.config.bucket;
    let mapping_key = jobs::key_mapping_key(owner, key);
    let mapping = KeyMapping {
        job_id: fresh_id.to_owned(),
        owner: owner.clone(),
        request_sha256: jobs::body_sha256(body),
        created_at: jobs::timestamp(now),
    };
    match jobs::put_json(deps.s3, bucket, &mapping_key, &mapping, Write::Create).await {
        Ok(_) => Ok(fresh_id.to_owned()),
        Err(RecordError::Exists) => {
            let existing = jobs::get_mapping(deps.s3, bucket, &mapping_key)
                .await
                .map_err(|_| unavailable("the Idempotency-Key could not be read"))?;
            if existing.owner != *owner || existing.request_sha256 != mapping.request_sha256 {
                return Err(conflict());
            }
            Ok(existing.job_id)
        }
        Err(e) => {
            warn!(error = %e, "could not record the Idempotency-Key");
            Err(unavailable("the Idempotency-Key could not be recorded"))
        }
    }
}

fn conflict() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyConflict,
        "this Idempotency-Key was already used with a different request body: use a new key \
         for a new request",
    )
}

/// A submission whose job already exists (its key was used before): the same principal replaying
/// the same body gets the job. It is enqueued again only if its first submission never sent the
/// message and has had time to (the invocation that created it stopped in between); otherwise
/// the message already on the queue carries it.
async fn replay(
    deps: &Deps<'_>,
    owner: &Principal,
    new: &JobRecord,
) -> Result<JobStatus, ApiError> {
    let existing = jobs::get_record_tagged(deps.s3, &deps.config.bucket, &new.job_id)
        .await
        .map_err(|_| unavailable("the existing job could not be read"))?;
    let record = &existing.value;
    if !record.is_owned_by(owner, None) || record.request_sha256 != new.request_sha256 {
        return Err(conflict());
    }
    let now = (deps.clock)();
    let orphaned = record.status == JobStatus::Queued
        && !record.enqueued
        && record.attempts == 0
        && OffsetDateTime::parse(&record.created_at, &Rfc3339)
            .is_ok_and(|t| (now - t).whole_seconds() > ENQUEUE_GRACE_SECONDS);
    let status = record.status;
    if orphaned {
        info!(job_id = %record.job_id, "replayed job was never enqueued; enqueuing it");
        enqueue(deps, existing).await?;
    }
    Ok(status)
}

/// Sends the job's message, then marks the record `enqueued` (conditional on the ETag the record
/// was written with, best effort: a lost mark only lets a late replay send a duplicate message,
/// which the worker's claim drops).
async fn enqueue(deps: &Deps<'_>, record: Tagged<JobRecord>) -> Result<(), ApiError> {
    let (Some(sqs), Some(queue)) = (deps.sqs, deps.config.jobs_queue_url.as_deref()) else {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "the submit function has no jobs queue configured",
        ));
    };
    let Tagged {
        value: mut record,
        etag,
    } = record;
    let bucket = &deps.config.bucket;
    if let Err(e) = jobs::enqueue(sqs, queue, &record.job_id).await {
        warn!(job_id = %record.job_id, error = %e, "could not enqueue the job");
        // Never leave a job `queued` with nothing on the queue: mark it failed (best effort; the
        // status route also reports it failed once it goes stale).
        record.status = JobStatus::Failed;
        record.error = Some(codegen_contract::ErrorBody {
            code: ErrorCode::JobsUnavailable.as_str().to_owned(),
            message: "the job could not be queued".to_owned(),
        });
        let _ignored_best_effort =
            jobs::put_record(deps.s3, bucket, &record, Write::Replace(&etag)).await;
        return Err(unavailable("the job could not be queued"));
    }
    record.enqueued = true;
    if let Err(e) = jobs::put_record(deps.s3, bucket, &record, Write::Replace(&etag)).await {
        // A worker may already have claimed it (its write changed the ETag): nothing to mark.
        info!(job_id = %record.job_id, error = %e, "enqueued; the record was not marked");
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
    let principal = principal_of(event)?;
    let config = deps.config;
    let record = match jobs::get_record(deps.s3, &config.bucket, &job_id).await {
        Ok(r) => r,
        Err(RecordError::NotFound) => return Err(not_found()),
        Err(e) => {
            warn!(job_id, error = %e, "could not read the job record");
            return Err(unavailable("the job could not be read"));
        }
    };
    // Another principal's job is answered exactly like a missing one (same status, code and
    // message).
    if !record.is_owned_by(&principal, Some(&legacy_caller_of(event))) {
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
