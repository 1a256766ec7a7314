//! The routes, their paths and headers, the S3 prefixes the grants are scoped to, and the job id's shape.

/// HTTP method of the one route the API serves.
pub const ROUTE_METHOD: &str = "PUT";
/// Path of the one route the API serves.
pub const ROUTE_PATH: &str = "/code-generation";
/// API Gateway v2 route key (`"<METHOD> <path>"`).
pub const ROUTE_KEY: &str = "PUT /code-generation";
/// Prefix under which generated code is stored. The IAM grant is scoped to `<prefix>*`.
pub const OUTPUT_PREFIX: &str = "code-output/";

/// Path of the asynchronous route: `POST` submits a job.
pub const JOBS_PATH: &str = "/code-generation/jobs";
/// Method that submits a job.
pub const JOBS_SUBMIT_METHOD: &str = "POST";
/// Route key of the submission route.
pub const JOBS_SUBMIT_ROUTE_KEY: &str = "POST /code-generation/jobs";
/// Method that reads a job.
pub const JOB_STATUS_METHOD: &str = "GET";
/// Path pattern of the status route (API Gateway path parameter `job_id`).
pub const JOB_STATUS_PATH: &str = "/code-generation/jobs/{job_id}";
/// Route key of the status route.
pub const JOB_STATUS_ROUTE_KEY: &str = "GET /code-generation/jobs/{job_id}";
/// Header that makes a retried submission return the same job.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Prefix of the job records in the code bucket (one JSON object per job).
pub const JOBS_PREFIX: &str = "jobs/";
/// Length of a job id: 32 lowercase hex digits (128 bits).
pub const JOB_ID_LEN: usize = 32;

/// Whether `id` has the shape of a job id. Anything else is refused before any lookup.
pub fn is_job_id(id: &str) -> bool {
    id.len() == JOB_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Response header carrying the build label of the running function (see [`BUILD_LABEL_ENV`]).
pub const BUILD_HEADER: &str = "x-codegen-build";
/// Build-time environment variable whose value is compiled into the function and reported in
/// [`BUILD_HEADER`]; lets a deployer prove which build the API is serving.
pub const BUILD_LABEL_ENV: &str = "CODEGEN_BUILD_LABEL";
