//! The jobs worker: consumes the jobs queue (SQS event source mapping, batch size 1, partial batch
//! responses) and runs the same generation [`pipeline`](crate::pipeline) as
//! `PUT /code-generation`, with a budget far above API Gateway's 30 s.
//!
//! Delivery is at least once, and a replayed submission may add a message, so every step is safe
//! to repeat:
//! - a job already `succeeded` or `failed` is acknowledged without a model call;
//! - a job is claimed with a conditional write (`running`, `If-Match` on the ETag it was read
//!   with, and `claimed_until` = this invocation's Lambda deadline): of two deliveries only one
//!   claim succeeds, and a delivery that finds a live claim is a duplicate and is dropped (the
//!   claimant's own message comes back if it dies, after the visibility timeout, which the stage
//!   keeps at least the worker timeout, so after the claim has lapsed);
//! - the code goes to the key fixed at submission, written only if free (`If-None-Match: *`), so
//!   two deliveries never make two objects; if an earlier attempt stored it, the job's result
//!   describes that stored object (its code and metadata), not the answer this attempt got;
//! - a retryable failure (throttling, model unavailable, timeout, S3 write failed) is reported as
//!   a batch item failure: SQS delivers it again after the visibility timeout, at most
//!   `maxReceiveCount` times, then moves it to the dead-letter queue;
//! - the dead-letter queue is consumed by this same function, which marks the job `failed` with
//!   its last error, so no job stays `running` forever (and the status route reports a job with
//!   no progress past the stage's bound as failed even if that consumer never ran).
//!
//! The event and response shapes are SQS's (`Records[].messageId/body/eventSourceARN`,
//! `batchItemFailures[].itemIdentifier`,
//! <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>); they are
//! written out here rather than taken from `aws_lambda_events`' `sqs` feature, which brings 20
//! crates (serde_with, darling, jiff) into the function for four fields.

use std::time::{Duration, Instant};

use codegen_contract::{ErrorBody, JobStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::deps::Deps;
use crate::error::ApiError;
use crate::jobs::{self, JobMessage, JobRecord, RecordError, Tagged, Write};
use crate::request;
use crate::storage::Target;
use crate::{metrics, pipeline};

/// The SQS event (the fields the worker reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsEvent {
    /// The messages (one: the mapping's batch size is 1).
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

/// One SQS message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    /// Message id (what a batch item failure names).
    #[serde(default)]
    pub message_id: String,
    /// Body: a [`JobMessage`].
    #[serde(default)]
    pub body: String,
    /// Queue the message came from.
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: String,
}

/// The partial batch response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Messages to deliver again.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A message to deliver again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// Its message id.
    pub item_identifier: String,
}

/// What to do with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done (or nothing to do): delete it.
    Done,
    /// Deliver it again later.
    Retry,
}

/// Whether an error is worth another attempt: throttling, an unavailable or overloaded model, a
/// timeout, the jobs store unavailable.
pub fn is_retryable(err: &ApiError) -> bool {
    matches!(err.status(), 429 | 503 | 504)
}

/// Handles one SQS event; `deadline` is the invocation's (Lambda's), which bounds a repair call.
pub async fn handle(deps: &Deps<'_>, event: SqsEvent, deadline: Option<Instant>) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in event.records {
        let dead_letter = deps
            .config
            .jobs_dead_letter_arn
            .as_deref()
            .is_some_and(|arn| arn == record.event_source_arn);
        let outcome = match serde_json::from_str::<JobMessage>(&record.body) {
            Ok(m) if codegen_contract::is_job_id(&m.job_id) => {
                if dead_letter {
                    measured(deps, &m.job_id, give_up_measured(deps, &m.job_id)).await
                } else {
                    measured(deps, &m.job_id, run_job(deps, &m.job_id, deadline)).await
                }
            }
            _ => {
                // Not ours, or malformed: retrying cannot fix it.
                warn!(message_id = %record.message_id, "dropping a message that is not a job");
                Outcome::Done
            }
        };
        if outcome == Outcome::Retry {
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: record.message_id,
            });
        }
    }
    response
}

/// How many times a claim is retried when the record changed between read and write (the submit
/// function marking it enqueued, or another delivery's claim): each retry reads it again and
/// decides afresh.
const CLAIM_ATTEMPTS: u32 = 3;

/// Until when this invocation can run: its Lambda deadline, or without one (tests) the model and
/// S3 budgets from now.
fn claim_deadline(deps: &Deps<'_>, deadline: Option<Instant>, now: OffsetDateTime) -> String {
    let left = deadline.map_or_else(
        || deps.config.model_timeout + deps.config.s3_timeout * 2,
        |d| d.saturating_duration_since(Instant::now()),
    );
    jobs::timestamp(now + left.max(Duration::from_secs(1)))
}

/// What a claim attempt found.
enum Claim {
    /// This invocation owns the job now; the record and the ETag of the claim.
    Won(Box<Tagged<JobRecord>>),
    /// Nothing to run (finished, claimed by a live attempt, or gone).
    Skip,
    /// Give up on it (past the give-up bound).
    GiveUp,
    /// Try the message again later.
    Retry,
}

async fn claim(deps: &Deps<'_>, job_id: &str, deadline: Option<Instant>) -> Claim {
    let bucket = &deps.config.bucket;
    for _ in 0..CLAIM_ATTEMPTS {
        let Tagged {
            value: mut record,
            etag,
        } = match jobs::get_record_tagged(deps.s3, bucket, job_id).await {
            Ok(r) => r,
            Err(RecordError::NotFound) => {
                warn!(job_id, "no record for this job (expired?); dropping it");
                return Claim::Skip;
            }
            Err(e) => {
                warn!(job_id, error = %e, "could not read the job record");
                return Claim::Retry;
            }
        };
        let now = (deps.clock)();
        if record.status.is_final() {
            info!(job_id, status = ?record.status, "job already finished; delivered again, skipped");
            return Claim::Skip;
        }
        if record.is_claimed_at(now) {
            info!(
                job_id,
                claimed_until = record.claimed_until.as_deref().unwrap_or_default(),
                "job is running in another invocation; this delivery is a duplicate, dropped"
            );
            return Claim::Skip;
        }
        if jobs::is_past_give_up(&record, now, deps.config.job_stale_after) {
            // The status route already reports it failed: do not start (and pay for) it now.
            return Claim::GiveUp;
        }
        record.status = JobStatus::Running;
        record.attempts += 1;
        record.updated_at = jobs::timestamp(now);
        record.claimed_until = Some(claim_deadline(deps, deadline, now));
        match jobs::put_record(deps.s3, bucket, &record, Write::Replace(&etag)).await {
            Ok(etag) => {
                return Claim::Won(Box::new(Tagged {
                    value: record,
                    etag,
                }));
            }
            Err(RecordError::Changed) => {
                info!(
                    job_id,
                    "the job record changed while claiming it; reading it again"
                );
            }
            Err(e) => {
                warn!(job_id, error = %e, "could not mark the job running");
                return Claim::Retry;
            }
        }
    }
    Claim::Retry
}

/// Runs a job's delivery (`attempt`) and writes its metric line: how the attempt ended, with the
/// model's time and tokens. No line when no attempt was made.
async fn measured(
    deps: &Deps<'_>,
    job_id: &str,
    attempt: impl std::future::Future<Output = (Outcome, Option<metrics::JobEnd>)> + Send,
) -> Outcome {
    let started = Instant::now();
    let ((outcome, end), figures) = metrics::scoped(attempt).await;
    if let Some(end) = end {
        let config = deps.config;
        let mut line = metrics::Line::new(
            &config.stage,
            config.role,
            &config.model_id,
            metrics::now_ms(),
        );
        line.job(end)
            .set(
                codegen_contract::metrics::TIME_TO_ANSWER,
                pipeline::millis(started.elapsed()),
            )
            .figures(figures)
            .property("job_id", job_id);
        metrics::emit(&line);
    }
    outcome
}

/// Runs one delivery of a job; the second value says how the attempt ended (`None`: no attempt
/// was made, e.g. the job had already finished or another invocation runs it).
async fn run_job(
    deps: &Deps<'_>,
    job_id: &str,
    deadline: Option<Instant>,
) -> (Outcome, Option<metrics::JobEnd>) {
    let started = Instant::now();
    let bucket = &deps.config.bucket;
    let Tagged {
        value: mut record,
        etag,
    } = match claim(deps, job_id, deadline).await {
        Claim::Won(claimed) => *claimed,
        Claim::Skip => return (Outcome::Done, None),
        Claim::GiveUp => return give_up_measured(deps, job_id).await,
        Claim::Retry => return (Outcome::Retry, Some(metrics::JobEnd::Retried)),
    };
    info!(job_id, attempt = record.attempts, "job started");

    let result = match request::parse_body(&record.request, deps.config.max_message_bytes) {
        Ok(req) => {
            let target = Target {
                bucket,
                key: &record.code_key,
                request_id: job_id,
                create_only: true,
            };
            pipeline::generate_and_store(deps, &req, &target, started, deadline).await
        }
        Err(e) => Err(e),
    };
    let now = jobs::timestamp((deps.clock)());
    // What this attempt's model calls cost, for the budget when the job ends here.
    let (spent, tokens, failure) = match &result {
        Ok(body) => (
            body.cost.as_ref().map(|c| c.micro_usd),
            u64::from(body.usage.total_tokens),
            None,
        ),
        Err(e) => (e.spent_micro_usd, 0, Some(e.code)),
    };
    let outcome = match result {
        Ok(mut body) if body.stored => {
            metrics::record_answer(&body);
            body.code.clear();
            record.status = JobStatus::Succeeded;
            record.result = Some(body);
            record.error = None;
            Outcome::Done
        }
        Ok(body) => {
            metrics::record_answer(&body);
            // The model answered but S3 refused the code: the job's answer *is* the stored code,
            // so try again.
            record.status = JobStatus::Queued;
            record.last_error = Some(ErrorBody {
                code: codegen_contract::ErrorCode::JobsUnavailable
                    .as_str()
                    .to_owned(),
                message: body.warnings.join("; "),
            });
            Outcome::Retry
        }
        Err(e) if is_retryable(&e) => {
            record.status = JobStatus::Queued;
            record.last_error = Some(error_body(&e));
            Outcome::Retry
        }
        Err(e) => {
            record.status = JobStatus::Failed;
            record.error = Some(error_body(&e));
            Outcome::Done
        }
    };
    record.updated_at = now;
    record.claimed_until = None;
    // Conditional on the claim: nobody else writes a record while its claim is live.
    if let Err(e) = jobs::put_record(deps.s3, bucket, &record, Write::Replace(&etag)).await {
        error!(job_id, error = %e, "could not record the job's outcome");
        return (Outcome::Retry, Some(metrics::JobEnd::Retried));
    }
    info!(
        job_id,
        status = ?record.status,
        attempt = record.attempts,
        total_ms = pipeline::millis(started.elapsed()),
        "job attempt finished"
    );
    // The job ended: settle its reservation to this attempt's cost, give its slot back. (An
    // attempt handed back to the queue keeps both for the next one.)
    if matches!(outcome, Outcome::Done)
        && let (Some(b), Some(owner)) = (&record.budget, &record.owner)
    {
        crate::budget::end_job(deps, owner, b, spent, tokens, failure).await;
    }
    let end = match (&outcome, record.status) {
        (Outcome::Retry, _) => metrics::JobEnd::Retried,
        (Outcome::Done, JobStatus::Succeeded) => metrics::JobEnd::Succeeded,
        (Outcome::Done, _) => metrics::JobEnd::Failed,
    };
    (outcome, Some(end))
}

/// [`give_up`], and the metric a job that failed for good counts in when it marked one failed.
async fn give_up_measured(deps: &Deps<'_>, job_id: &str) -> (Outcome, Option<metrics::JobEnd>) {
    let (outcome, failed) = give_up(deps, job_id).await;
    (outcome, failed.then_some(metrics::JobEnd::Failed))
}

/// A message that ran out of deliveries: the job failed with its last error. A job a live
/// attempt is still running is left to it (the message comes back after the visibility timeout).
/// The second value: whether this call marked the job failed.
async fn give_up(deps: &Deps<'_>, job_id: &str) -> (Outcome, bool) {
    let bucket = &deps.config.bucket;
    let Tagged {
        value: mut record,
        etag,
    } = match jobs::get_record_tagged(deps.s3, bucket, job_id).await {
        Ok(r) => r,
        Err(RecordError::NotFound) => return (Outcome::Done, false),
        Err(_) => return (Outcome::Retry, false),
    };
    if record.status.is_final() {
        return (Outcome::Done, false);
    }
    if record.is_claimed_at((deps.clock)()) {
        return (Outcome::Retry, false);
    }
    record.status = JobStatus::Failed;
    record.error = Some(jobs::stalled_error(&record, deps.config.job_stale_after));
    record.updated_at = jobs::timestamp((deps.clock)());
    record.claimed_until = None;
    match jobs::put_record(deps.s3, bucket, &record, Write::Replace(&etag)).await {
        Ok(_) => {
            warn!(
                job_id,
                attempts = record.attempts,
                "job gave up after its last delivery"
            );
            // Its attempts' costs are unknown here: the reservation stays counted (the caller
            // is over-charged until midnight, never under-charged); the slot is given back.
            if let (Some(b), Some(owner)) = (&record.budget, &record.owner) {
                crate::budget::end_job(deps, owner, b, None, 0, None).await;
            }
            (Outcome::Done, true)
        }
        Err(_) => (Outcome::Retry, false),
    }
}

fn error_body(e: &ApiError) -> ErrorBody {
    ErrorBody {
        code: e.code.as_str().to_owned(),
        message: e.message.clone(),
    }
}
