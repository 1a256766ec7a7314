//! The jobs route's answers: where a job stands, the submission's answer and the status answer.

use serde::{Deserialize, Serialize};

use crate::{ErrorBody, GenerateResponse};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker is generating.
    Running,
    /// Done: `result` holds what the synchronous route would have answered.
    Succeeded,
    /// Given up: `error` holds what the synchronous route would have answered.
    Failed,
}

impl JobStatus {
    /// The status as the JSON says it (`queued`, `running`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// Answer to `POST /code-generation/jobs` (HTTP 202, with a `Location` header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// The job's id (unguessable; 32 hex digits).
    pub job_id: String,
    /// Where it stands (a replayed submission answers the job's current status).
    pub status: JobStatus,
    /// Path to poll, relative to the stage (`/code-generation/jobs/<id>`), also in `Location`.
    pub status_url: String,
}

/// Answer to `GET /code-generation/jobs/{job_id}` (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResponse {
    /// The job's id.
    pub job_id: String,
    /// Where it stands.
    pub status: JobStatus,
    /// When it was submitted (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Once `succeeded`: exactly the synchronous route's success body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<GenerateResponse>,
    /// Once `failed`: exactly the synchronous route's error object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}
