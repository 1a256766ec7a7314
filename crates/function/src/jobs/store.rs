//! The jobs' IO: reading and writing records and key mappings in the code bucket (conditional
//! writes, ETag-tagged reads) and enqueueing a job (SQS). The records themselves are
//! `crate::jobs` (pure).

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde::{Deserialize, Serialize};

use super::{JobRecord, KeyMapping, record_key};
use crate::storage::{self, failure_reason};

/// Why a record could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No record under that id.
    #[error("no such job")]
    NotFound,
    /// A conditional create lost: a record already exists.
    #[error("the job already exists")]
    Exists,
    /// A conditional replace lost: the record changed (or went) since it was read.
    #[error("the job record changed since it was read")]
    Changed,
    /// S3 or the record itself failed.
    #[error("job record: {0}")]
    Failed(String),
}

/// The condition a write is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// Only if nothing is there (`If-None-Match: *`); losing is [`RecordError::Exists`].
    Create,
    /// Only if the object still has this ETag (`If-Match`); losing is [`RecordError::Changed`].
    Replace(&'a str),
}

/// A record and the ETag it was read with (the condition of the next write).
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged<T> {
    /// What was read.
    pub value: T,
    /// Its ETag.
    pub etag: String,
}

/// Writes a record under `condition`; returns the new ETag.
pub async fn put_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    record: &JobRecord,
    condition: Write<'_>,
) -> Result<String, RecordError> {
    put_json(s3, bucket, &record_key(&record.job_id), record, condition).await
}

/// Writes `value` as JSON to `key` under `condition`; returns the new ETag.
pub async fn put_json<T: Serialize>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    value: &T,
    condition: Write<'_>,
) -> Result<String, RecordError> {
    let body = serde_json::to_vec(value).map_err(|e| RecordError::Failed(e.to_string()))?;
    let req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    let req = match condition {
        Write::Create => req.if_none_match("*"),
        Write::Replace(etag) => req.if_match(etag),
    };
    match req.send().await {
        Ok(out) => Ok(out.e_tag().unwrap_or_default().to_owned()),
        Err(e) if storage::is_precondition_failed(&e) || is_conditional_conflict(&e) => {
            Err(match condition {
                Write::Create => RecordError::Exists,
                Write::Replace(_) => RecordError::Changed,
            })
        }
        // `If-Match` on a key that is gone: 404 NoSuchKey.
        Err(e) if matches!(condition, Write::Replace(_)) && is_status(&e, 404) => {
            Err(RecordError::Changed)
        }
        Err(e) => Err(RecordError::Failed(failure_reason(&e))),
    }
}

/// Whether a conditional write met a concurrent conflicting one (409 `ConditionalRequestConflict`,
/// "On a 409 failure you should fetch the object's ETag and retry": PutObject `If-Match`,
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>).
fn is_conditional_conflict<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    err.code() == Some("ConditionalRequestConflict") || is_status(err, 409)
}

fn is_status<E>(err: &SdkError<E, HttpResponse>, status: u16) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == status)
}

/// Reads a record.
pub async fn get_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    job_id: &str,
) -> Result<JobRecord, RecordError> {
    get_record_tagged(s3, bucket, job_id).await.map(|t| t.value)
}

/// Reads a record with its ETag.
pub async fn get_record_tagged(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    job_id: &str,
) -> Result<Tagged<JobRecord>, RecordError> {
    get_json(s3, bucket, &record_key(job_id)).await
}

/// Reads an `Idempotency-Key` mapping.
pub async fn get_mapping(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<KeyMapping, RecordError> {
    get_json(s3, bucket, key).await.map(|t| t.value)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Tagged<T>, RecordError> {
    let (text, etag) = get_text_tagged(s3, bucket, key).await?;
    let value = serde_json::from_str(&text)
        .map_err(|e| RecordError::Failed(format!("unreadable record: {e}")))?;
    Ok(Tagged { value, etag })
}

/// Reads an object as UTF-8 text (a record, or a job's code).
pub async fn get_text(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, RecordError> {
    get_text_tagged(s3, bucket, key).await.map(|(text, _)| text)
}

async fn get_text_tagged(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(String, String), RecordError> {
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
    let etag = out.e_tag().unwrap_or_default().to_owned();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| RecordError::Failed(e.to_string()))?
        .into_bytes();
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| RecordError::Failed(e.to_string()))?;
    Ok((text, etag))
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
