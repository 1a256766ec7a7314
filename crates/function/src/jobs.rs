//! Jobs for generations longer than API Gateway's 30 s: the record each job keeps in the code
//! bucket (`jobs/<id>.json`), job ids, and what a record says to a caller (pure), plus the S3 and
//! SQS calls that read, write and enqueue them (IO).
//!
//! Why S3 for the state: a job is written a handful of times and read by id, never queried, so
//! a JSON object per job is consistent (S3 is strongly read-after-write consistent,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel>), costs
//! nothing while idle, expires with a lifecycle rule like the code, and leaves with the bucket on
//! `destroy`. Creation is conditional (`If-None-Match: *`), so a replayed submission finds the job
//! instead of starting a second one.

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use codegen_contract::{
    ErrorBody, GenerateResponse, JOBS_PREFIX, JobResponse, JobStatus, MAX_IDEMPOTENCY_KEY_LEN,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::storage::{self, failure_reason};

/// What the bucket keeps for one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The id (32 hex digits).
    pub job_id: String,
    /// Where it stands.
    pub status: JobStatus,
    /// Submission time (RFC 3339, UTC).
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Who submitted it (the IAM caller, or `anonymous` on an unauthenticated route): only the
    /// same caller can read it.
    pub caller: String,
    /// SHA-256 of the submitted body, to tell a replay from a reused `Idempotency-Key`.
    pub request_sha256: String,
    /// The submitted body, validated again by the worker.
    pub request: String,
    /// Where the worker stores the code (fixed at submission, so every attempt writes one key).
    pub code_key: String,
    /// Once succeeded: the success body without its code (the code is the object at `code_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<GenerateResponse>,
    /// Once failed: the error object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// The last retryable failure, reported if the job runs out of attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ErrorBody>,
}

/// The key of a job's record.
pub fn record_key(job_id: &str) -> String {
    format!("{JOBS_PREFIX}{job_id}.json")
}

/// A fresh, unguessable job id: 128 random bits (UUID v4 from the OS generator), as 32 hex digits.
pub fn random_job_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The job id a caller's `Idempotency-Key` names: the same caller and key always give the same
/// id, and nobody can derive it without knowing both.
pub fn idempotent_job_id(caller: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("codegen-job/v1\n{caller}\n{key}").as_bytes());
    hex::encode(&digest[..16])
}

/// SHA-256 of a body, hex.
pub fn body_sha256(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Checks an `Idempotency-Key`: 1-255 visible ASCII characters.
pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters (got {})",
            key.len()
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("Idempotency-Key may contain visible ASCII characters only".to_owned());
    }
    Ok(())
}

/// RFC 3339 UTC with milliseconds.
pub fn timestamp(now: OffsetDateTime) -> String {
    now.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

impl JobRecord {
    /// A new, queued job.
    pub fn queued(
        job_id: &str,
        now: OffsetDateTime,
        caller: &str,
        body: &str,
        code_key: &str,
    ) -> Self {
        let at = timestamp(now);
        Self {
            job_id: job_id.to_owned(),
            status: JobStatus::Queued,
            created_at: at.clone(),
            updated_at: at,
            attempts: 0,
            caller: caller.to_owned(),
            request_sha256: body_sha256(body),
            request: body.to_owned(),
            code_key: code_key.to_owned(),
            result: None,
            error: None,
            last_error: None,
        }
    }

    /// What the status route answers for this record at `now`: a job that stayed `queued` or
    /// `running` longer than `stale_after` since its last change is reported `failed`, so no
    /// caller ever waits on a job whose worker is gone. `code` is the stored code of a succeeded
    /// job.
    pub fn to_response(
        &self,
        now: OffsetDateTime,
        stale_after: std::time::Duration,
        code: Option<String>,
    ) -> JobResponse {
        let mut response = JobResponse {
            job_id: self.job_id.clone(),
            status: self.status,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            attempts: self.attempts,
            result: None,
            error: self.error.clone(),
        };
        match self.status {
            JobStatus::Succeeded => {
                response.result = self.result.clone().map(|mut r| {
                    match code {
                        Some(c) => r.code = c,
                        None => r.warnings.push(
                            "the stored code is no longer available (expired or deleted)"
                                .to_owned(),
                        ),
                    }
                    r
                });
            }
            JobStatus::Queued | JobStatus::Running => {
                let updated = OffsetDateTime::parse(&self.updated_at, &Rfc3339).ok();
                let stale = updated.is_some_and(|u| {
                    (now - u).whole_seconds()
                        > i64::try_from(stale_after.as_secs()).unwrap_or(i64::MAX)
                });
                if stale {
                    response.status = JobStatus::Failed;
                    response.error = Some(stalled_error(self, stale_after));
                }
            }
            JobStatus::Failed => {}
        }
        response
    }
}

/// Whether a job submitted at `record.created_at` is older than the give-up bound at `now`.
pub fn is_past_give_up(
    record: &JobRecord,
    now: OffsetDateTime,
    give_up_after: std::time::Duration,
) -> bool {
    OffsetDateTime::parse(&record.created_at, &Rfc3339).is_ok_and(|created| {
        (now - created).whole_seconds() > i64::try_from(give_up_after.as_secs()).unwrap_or(i64::MAX)
    })
}

/// The error of a job that stopped making progress (its worker timed out or crashed on every
/// attempt, or the job was never picked up).
pub fn stalled_error(record: &JobRecord, stale_after: std::time::Duration) -> ErrorBody {
    record.last_error.clone().unwrap_or_else(|| ErrorBody {
        code: codegen_contract::ErrorCode::ModelTimeout
            .as_str()
            .to_owned(),
        message: format!(
            "the job did not finish after {} attempt(s) (the worker timed out or stopped; a job \
             without progress for {} s counts as failed): submit it again, perhaps with a lower \
             max_tokens",
            record.attempts,
            stale_after.as_secs()
        ),
    })
}

/// Why a record could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No record under that id.
    #[error("no such job")]
    NotFound,
    /// A conditional create lost: a record already exists.
    #[error("the job already exists")]
    Exists,
    /// S3 or the record itself failed.
    #[error("job record: {0}")]
    Failed(String),
}

/// Writes a record; `create_only` refuses to replace an existing one.
pub async fn put_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    record: &JobRecord,
    create_only: bool,
) -> Result<(), RecordError> {
    let body = serde_json::to_vec(record).map_err(|e| RecordError::Failed(e.to_string()))?;
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(record_key(&record.job_id))
        .content_type("application/json")
        .body(ByteStream::from(body));
    if create_only {
        req = req.if_none_match("*");
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if create_only && storage::is_precondition_failed(&e) => Err(RecordError::Exists),
        Err(e) => Err(RecordError::Failed(failure_reason(&e))),
    }
}

/// Reads a record.
pub async fn get_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    job_id: &str,
) -> Result<JobRecord, RecordError> {
    let text = get_text(s3, bucket, &record_key(job_id)).await?;
    serde_json::from_str(&text).map_err(|e| RecordError::Failed(format!("unreadable record: {e}")))
}

/// Reads an object as UTF-8 text (a record, or a job's code).
pub async fn get_text(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, RecordError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            if is_missing(&e) {
                RecordError::NotFound
            } else {
                RecordError::Failed(failure_reason(&e))
            }
        })?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| RecordError::Failed(e.to_string()))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|e| RecordError::Failed(e.to_string()))
}

/// Whether a GetObject failed because there is no such object. S3 answers a missing key with 404
/// only to a caller allowed `s3:ListBucket`, and with 403 AccessDenied to everyone else ("If you
/// don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403",
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>). The roles reading job
/// records and code may read their prefix and may not list it (listing would reveal every job
/// id), so a 403 on a key under that prefix means "missing"; the AUTH=true suite proves the
/// roles can read what exists.
fn is_missing(
    err: &SdkError<aws_sdk_s3::operation::get_object::GetObjectError, HttpResponse>,
) -> bool {
    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    err.as_service_error().is_some_and(|e| e.is_no_such_key())
        || err
            .raw_response()
            .is_some_and(|r| matches!(r.status().as_u16(), 403 | 404))
        || err.code() == Some("AccessDenied")
}

/// The message a job's queue entry carries: only the id (the record holds the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job.
    pub job_id: String,
}

/// Puts a job on the queue.
pub async fn enqueue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    job_id: &str,
) -> Result<(), String> {
    let body = serde_json::to_string(&JobMessage {
        job_id: job_id.to_owned(),
    })
    .map_err(|e| e.to_string())?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            use aws_sdk_sqs::error::ProvideErrorMetadata as _;
            e.code().unwrap_or("SQS SendMessage failed").to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use time::macros::datetime;

    #[test]
    fn ids_are_hex_unguessable_and_stable_per_caller_and_key() {
        let a = random_job_id();
        assert!(codegen_contract::is_job_id(&a), "{a}");
        assert_ne!(a, random_job_id());
        let k = idempotent_job_id("arn:aws:iam::1:user/a", "order-7");
        assert!(codegen_contract::is_job_id(&k), "{k}");
        assert_eq!(k, idempotent_job_id("arn:aws:iam::1:user/a", "order-7"));
        assert_ne!(k, idempotent_job_id("arn:aws:iam::1:user/b", "order-7"));
        assert_ne!(k, idempotent_job_id("arn:aws:iam::1:user/a", "order-8"));
        assert!(check_idempotency_key("order-7").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"x".repeat(256)] {
            assert!(check_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unfinished_jobs_go_stale_and_say_why() {
        let t0 = datetime!(2026-12-02 10:00:00.123 UTC);
        let mut r = JobRecord::queued("0".repeat(32).as_str(), t0, "c", "{}", "code-output/x.py");
        assert_eq!(r.created_at, "2026-12-02T10:00:00.123Z");
        let fresh = r.to_response(t0 + Duration::from_secs(59), Duration::from_secs(60), None);
        assert_eq!(fresh.status, JobStatus::Queued);
        let stale = r.to_response(t0 + Duration::from_secs(61), Duration::from_secs(60), None);
        assert_eq!(stale.status, JobStatus::Failed);
        assert_eq!(
            stale.error.as_ref().map(|e| e.code.as_str()),
            Some("model_timeout")
        );
        r.status = JobStatus::Running;
        r.last_error = Some(ErrorBody {
            code: "throttled".into(),
            message: "m".into(),
        });
        let stale = r.to_response(t0 + Duration::from_secs(61), Duration::from_secs(60), None);
        assert_eq!(stale.error.map(|e| e.code), Some("throttled".to_owned()));
        assert!(!is_past_give_up(
            &r,
            t0 + Duration::from_secs(60),
            Duration::from_secs(60)
        ));
        assert!(is_past_give_up(
            &r,
            t0 + Duration::from_secs(61),
            Duration::from_secs(60)
        ));
    }

    #[test]
    fn succeeded_jobs_carry_the_stored_code() {
        let t0 = datetime!(2026-12-02 10:00:00 UTC);
        let mut r = JobRecord::queued(&"a".repeat(32), t0, "c", "{}", "k");
        r.status = JobStatus::Succeeded;
        r.result = Some(GenerateResponse {
            code: String::new(),
            language: "python".into(),
            model: "m".into(),
            stored: true,
            s3: None,
            usage: codegen_contract::Usage::default(),
            syntax: codegen_contract::SyntaxCheck::checked(0, vec![]),
            repair: None,
            sampling: codegen_contract::SentSampling::default(),
            request_id: "a".repeat(32),
            warnings: vec![],
        });
        let later = t0 + Duration::from_secs(86_400);
        let ok = r.to_response(later, Duration::from_secs(60), Some("print(1)".into()));
        assert_eq!(ok.status, JobStatus::Succeeded, "final jobs never go stale");
        assert_eq!(ok.result.map(|r| r.code), Some("print(1)".to_owned()));
        let gone = r.to_response(later, Duration::from_secs(60), None);
        assert_eq!(gone.result.map(|r| r.warnings.len()), Some(1));
    }
}
