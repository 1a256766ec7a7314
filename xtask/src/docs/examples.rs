//! Example values of the contract types, shown by the OpenAPI document and checked by its tests.
//! Pure.

use codegen_contract::{
    ErrorBody, ErrorCode, ErrorResponse, GenerateRequest, GenerateResponse, JOBS_PATH, JobResponse,
    JobStatus, S3Location, SentSampling, SubmitResponse, SyntaxCheck, Usage,
};

/// A request body.
pub fn request() -> GenerateRequest {
    GenerateRequest {
        message: "implement the binary search".into(),
        key: "python".into(),
        temperature: None,
        top_k: None,
        top_p: None,
        max_tokens: Some(1024),
    }
}

/// A success body.
pub fn response() -> GenerateResponse {
    GenerateResponse {
        code: "def binary_search(items, target):\n    ...\n".into(),
        language: "python".into(),
        model: "us.anthropic.claude-sonnet-4-6".into(),
        stored: true,
        s3: Some(S3Location {
            bucket: "codegen-dev-codebucket-abc123".into(),
            key: "code-output/2026/12/07/20261207T101500Z-0d3b7c0e.py".into(),
            uri: "s3://codegen-dev-codebucket-abc123/code-output/2026/12/07/20261207T101500Z-0d3b7c0e.py".into(),
        }),
        usage: Usage {
            input_tokens: 212,
            output_tokens: 180,
            total_tokens: 392,
            cache_read_input_tokens: 0,
            cache_write_input_tokens: 0,
        },
        cost: codegen_contract::cost::of_call(
            "us.anthropic.claude-sonnet-4-6",
            Usage {
                input_tokens: 212,
                output_tokens: 180,
                total_tokens: 392,
                cache_read_input_tokens: 0,
                cache_write_input_tokens: 0,
            },
        ),
        syntax: SyntaxCheck::checked(0, vec![]),
        repair: None,
        sampling: SentSampling {
            temperature: Some(0.1),
            top_p: None,
            top_k: Some(250),
            max_tokens: 1024,
            thinking: None,
            effort: None,
            thinking_tokens: None,
        },
        request_id: "0d3b7c0e-4f1a-4c51-9a57-2d0c6c1b2a11".into(),
        warnings: vec![],
    }
}

/// An error body.
pub fn error() -> ErrorResponse {
    ErrorResponse {
        error: ErrorBody {
            code: ErrorCode::UnsupportedLanguage.as_str().into(),
            message: "`cobol` is not a supported language: use one of python, ...".into(),
        },
    }
}

/// A job id.
pub const JOB_ID: &str = "5f0c3a9e2b7d4e1f8a6c0b9d3e2f1a7c";

/// A submission answer.
pub fn submitted() -> SubmitResponse {
    SubmitResponse {
        job_id: JOB_ID.into(),
        status: JobStatus::Queued,
        status_url: format!("{JOBS_PATH}/{JOB_ID}"),
    }
}

/// A finished job.
pub fn job() -> JobResponse {
    JobResponse {
        job_id: JOB_ID.into(),
        status: JobStatus::Succeeded,
        created_at: "2026-12-07T10:15:00Z".into(),
        updated_at: "2026-12-07T10:15:41Z".into(),
        attempts: 1,
        result: Some(response()),
        error: None,
    }
}
