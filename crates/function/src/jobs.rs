//! Jobs for generations longer than API Gateway's 30 s: the record each job keeps in the code
//! bucket (`jobs/<id>.json`), job ids, and what a record says to a caller (pure); the S3 and SQS
//! calls that read, write and enqueue them are [`store`] (IO).
//!
//! Why S3 for the state: a job is written a handful of times and read by id, never queried, so
//! a JSON object per job is consistent (S3 is strongly read-after-write consistent,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel>), costs
//! nothing while idle, expires with a lifecycle rule like the code, and leaves with the bucket on
//! `destroy`. Creation is conditional (`If-None-Match: *`), so a replayed submission finds the job
//! instead of starting a second one; every later change is conditional on the ETag read
//! (`If-Match`), so two invocations never both claim one job (S3 conditional writes,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>, checked
//! 2026-12-07: `If-Match` fails with 412 when the ETag differs, and with 409
//! `ConditionalRequestConflict` when a conflicting write is under way; it needs `s3:GetObject` as
//! well as `s3:PutObject`, which every role writing records has on `jobs/*`).
//!
//! Who owns a job is a [`Principal`] (see `docs/principals.md`). An `Idempotency-Key` names a
//! job through a stored mapping, `jobs/keys/<sha256(principal, key)>.json`, created with
//! `If-None-Match: *` and holding a random job id: ids never derive from anything a caller knows.

use codegen_contract::{
    ErrorBody, GenerateResponse, JOBS_PREFIX, JobResponse, JobStatus, MAX_IDEMPOTENCY_KEY_LEN,
    Principal,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
    /// Who submitted it: only the same principal can read it. Absent in records written before
    /// principals existed, which carry [`JobRecord::caller`] instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Principal>,
    /// Records written before principals existed: the submitter's `userArn` (or `anonymous`).
    /// Read, never written (see [`JobRecord::is_owned_by`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
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
    /// Whether its queue message was sent (a replayed submission enqueues only a job whose first
    /// submission never did).
    #[serde(default)]
    pub enqueued: bool,
    /// While `running`: until when the invocation that claimed it can run (its Lambda deadline,
    /// RFC 3339). A delivery before then is a duplicate of a live attempt and is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<String>,
    /// What the submission reserved of its owner's budget, and whether it holds one of the
    /// owner's job slots (stages with `quotas`; see `crate::budget`). Settled and released when
    /// the job ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<JobBudget>,
}

/// A job's share of its owner's budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobBudget {
    /// The day item the reservation was made on (the submission's UTC day).
    pub key: String,
    /// Micro-dollars reserved.
    pub reserved_micro_usd: u64,
    /// Whether the job holds one of its owner's job slots.
    pub slot: bool,
}

/// The key of a job's record.
pub fn record_key(job_id: &str) -> String {
    format!("{JOBS_PREFIX}{job_id}.json")
}

/// A fresh, unguessable job id: 128 random bits (UUID v4 from the OS generator), as 32 hex digits.
pub fn random_job_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Prefix of the `Idempotency-Key` mappings (inside [`JOBS_PREFIX`], so the records' lifecycle
/// rule expires them too; never a job id's shape, so the status route cannot read them).
pub const KEYS_PREFIX: &str = "jobs/keys/";

/// Where a principal's `Idempotency-Key` is mapped to its job. The name is a digest so any key
/// text makes a safe object name; it is not an id anyone outside the stack sees, and a job id is
/// never derived from it.
pub fn key_mapping_key(owner: &Principal, idempotency_key: &str) -> String {
    let digest = Sha256::digest(
        format!("codegen-idempotency/v2\n{}\n{idempotency_key}", owner.key()).as_bytes(),
    );
    format!("{KEYS_PREFIX}{}.json", hex::encode(digest))
}

/// What an `Idempotency-Key` mapping holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMapping {
    /// The job (a random id).
    pub job_id: String,
    /// Who used the key.
    pub owner: Principal,
    /// SHA-256 of the body first submitted with it.
    pub request_sha256: String,
    /// When (RFC 3339, UTC).
    pub created_at: String,
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
        owner: &Principal,
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
            owner: Some(owner.clone()),
            caller: None,
            request_sha256: body_sha256(body),
            request: body.to_owned(),
            code_key: code_key.to_owned(),
            result: None,
            error: None,
            last_error: None,
            enqueued: false,
            claimed_until: None,
            budget: None,
        }
    }

    /// Whether `principal` owns this record. A record written before principals existed names its
    /// submitter by `userArn` only; `legacy_caller` is that form of the current caller, and such a
    /// record is its owner's only when the two are equal, exactly as before the change (see
    /// `docs/principals.md`, "Records written before principals").
    pub fn is_owned_by(&self, principal: &Principal, legacy_caller: Option<&str>) -> bool {
        match (&self.owner, &self.caller) {
            (Some(owner), _) => owner == principal,
            (None, Some(caller)) => legacy_caller == Some(caller.as_str()),
            (None, None) => false,
        }
    }

    /// Whether a worker's claim on this `running` record is still live at `now`.
    pub fn is_claimed_at(&self, now: OffsetDateTime) -> bool {
        self.status == JobStatus::Running
            && self
                .claimed_until
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .is_some_and(|until| until > now)
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

mod store;

pub use store::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use time::macros::datetime;

    fn role(id: &str) -> Principal {
        Principal::Role {
            account: "123456789012".into(),
            role_id: id.into(),
        }
    }

    #[test]
    fn ids_are_random_and_key_mappings_are_per_principal_and_key() {
        let a = random_job_id();
        assert!(codegen_contract::is_job_id(&a), "{a}");
        assert_ne!(a, random_job_id());
        let alice = role("AROAAAAAAAAAAAAAAAAAA");
        let bob = role("AROABBBBBBBBBBBBBBBBB");
        let k = key_mapping_key(&alice, "order-7");
        assert!(k.starts_with(KEYS_PREFIX) && k.ends_with(".json"), "{k}");
        assert_eq!(k, key_mapping_key(&alice, "order-7"));
        assert_ne!(k, key_mapping_key(&bob, "order-7"));
        assert_ne!(k, key_mapping_key(&alice, "order-8"));
        // Never a record's key, so the status route (which reads `jobs/<32 hex>.json`) cannot
        // reach a mapping.
        let name = k.trim_start_matches(JOBS_PREFIX).trim_end_matches(".json");
        assert!(!codegen_contract::is_job_id(name), "{k}");
        assert!(check_idempotency_key("order-7").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"x".repeat(256)] {
            assert!(check_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ownership_follows_the_principal_and_legacy_records_their_arn() {
        let t0 = datetime!(2026-12-02 10:00:00 UTC);
        let alice = role("AROAAAAAAAAAAAAAAAAAA");
        let r = JobRecord::queued(&"0".repeat(32), t0, &alice, "{}", "k");
        assert!(r.is_owned_by(&alice, None));
        assert!(!r.is_owned_by(&role("AROABBBBBBBBBBBBBBBBB"), None));
        assert!(!r.is_owned_by(&Principal::Anonymous, Some("anonymous")));
        // A record written before principals: `caller` is the userArn, no `owner`.
        let arn = "arn:aws:sts::123456789012:assumed-role/developer/alice";
        let mut json = serde_json::to_value(&r).expect("json");
        json.as_object_mut().expect("object").remove("owner");
        json["caller"] = arn.into();
        let legacy: JobRecord = serde_json::from_value(json).expect("legacy record reads");
        assert_eq!(
            (legacy.owner.as_ref(), legacy.caller.as_deref()),
            (None, Some(arn))
        );
        assert!(
            legacy.is_owned_by(&alice, Some(arn)),
            "its submitter still reads it"
        );
        assert!(
            !legacy.is_owned_by(
                &alice,
                Some("arn:aws:sts::123456789012:assumed-role/developer/mallory")
            ),
            "another ARN does not"
        );
        assert!(!legacy.is_owned_by(&alice, None));
        // New records never carry the legacy field.
        assert!(
            serde_json::to_value(&r)
                .expect("json")
                .get("caller")
                .is_none()
        );
    }

    #[test]
    fn a_claim_is_live_until_its_deadline() {
        let t0 = datetime!(2026-12-02 10:00:00 UTC);
        let mut r = JobRecord::queued(&"0".repeat(32), t0, &Principal::Anonymous, "{}", "k");
        assert!(!r.is_claimed_at(t0));
        r.status = JobStatus::Running;
        r.claimed_until = Some(timestamp(t0 + Duration::from_secs(300)));
        assert!(r.is_claimed_at(t0 + Duration::from_secs(299)));
        assert!(!r.is_claimed_at(t0 + Duration::from_secs(300)));
        r.claimed_until = None;
        assert!(
            !r.is_claimed_at(t0),
            "a running record without a claim (older code) is not live"
        );
    }

    #[test]
    fn unfinished_jobs_go_stale_and_say_why() {
        let t0 = datetime!(2026-12-02 10:00:00.123 UTC);
        let mut r = JobRecord::queued(
            "0".repeat(32).as_str(),
            t0,
            &Principal::Anonymous,
            "{}",
            "code-output/x.py",
        );
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
        let mut r = JobRecord::queued(&"a".repeat(32), t0, &Principal::Anonymous, "{}", "k");
        r.status = JobStatus::Succeeded;
        r.result = Some(GenerateResponse {
            code: String::new(),
            language: "python".into(),
            model: "m".into(),
            stored: true,
            s3: None,
            usage: codegen_contract::Usage::default(),
            cost: None,
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
