//! The jobs routes as a client: submit (`POST /code-generation/jobs`, with an idempotency key),
//! read a job (`GET /code-generation/jobs/{job_id}`) and wait for it to end, polling with backoff
//! and honouring `Retry-After`.

use std::time::Duration;

use anyhow::{Context, bail};
use codegen_contract::{
    GenerateRequest, IDEMPOTENCY_HEADER, JOB_STATUS_METHOD, JOBS_PATH, JOBS_SUBMIT_METHOD,
    JobResponse, JobStatus, ROUTE_PATH,
};
use codegen_infra::config::AuthMode;

use super::{ApiResponse, send};
use crate::aws::Clients;

/// The jobs route's URL for a stage whose synchronous route is at `invoke_url`.
pub fn jobs_url(invoke_url: &str) -> String {
    format!(
        "{}{}",
        invoke_url
            .trim_end_matches('/')
            .strip_suffix(ROUTE_PATH)
            .unwrap_or(invoke_url),
        JOBS_PATH
    )
}

/// Submits a generation job (`POST /code-generation/jobs`), with an `Idempotency-Key` if given.
pub async fn submit_job(
    clients: &Clients,
    auth: AuthMode,
    invoke_url: &str,
    request: &GenerateRequest,
    idempotency_key: Option<&str>,
) -> anyhow::Result<ApiResponse> {
    let body = serde_json::to_vec(request).context("failed to encode the request")?;
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = idempotency_key {
        headers.push((IDEMPOTENCY_HEADER, key));
    }
    send(
        clients,
        &jobs_url(invoke_url),
        JOBS_SUBMIT_METHOD,
        body,
        &headers,
        auth == AuthMode::AwsIam,
    )
    .await
}

/// Reads a job (`GET /code-generation/jobs/{job_id}`).
pub async fn job_status(
    clients: &Clients,
    auth: AuthMode,
    invoke_url: &str,
    job_id: &str,
) -> anyhow::Result<ApiResponse> {
    send(
        clients,
        &format!("{}/{job_id}", jobs_url(invoke_url)),
        JOB_STATUS_METHOD,
        Vec::new(),
        &[],
        auth == AuthMode::AwsIam,
    )
    .await
}

/// The delay before the `attempt`-th poll (0-based): 1 s, growing by half each time, at most
/// 10 s, or what the API asked for in `Retry-After`.
pub(crate) fn poll_delay(attempt: u32, retry_after: Option<&str>) -> Duration {
    if let Some(secs) = retry_after.and_then(|r| r.trim().parse::<u64>().ok()) {
        return Duration::from_secs(secs.min(60));
    }
    let millis = 1000.0 * 1.5_f64.powi(i32::try_from(attempt.min(20)).unwrap_or(20));
    Duration::from_millis(millis.min(10_000.0) as u64)
}

/// Polls a job until it succeeds or fails, calling `on_change` whenever its status changes.
/// Gives up after `timeout`.
pub async fn wait_for_job(
    clients: &Clients,
    auth: AuthMode,
    invoke_url: &str,
    job_id: &str,
    timeout: Duration,
    mut on_change: impl FnMut(&JobResponse),
) -> anyhow::Result<JobResponse> {
    let started = std::time::Instant::now();
    let mut last = None;
    let mut attempt = 0;
    loop {
        let response = job_status(clients, auth, invoke_url, job_id).await?;
        let retry_after = response.retry_after.clone();
        if response.status == 200 {
            let job: JobResponse = serde_json::from_str(&response.body)
                .context("the API answered 200 with an unexpected job body")?;
            if last != Some(job.status) {
                on_change(&job);
                last = Some(job.status);
            }
            if job.status.is_final() {
                return Ok(job);
            }
        } else if response.status != 429 && response.status < 500 {
            let detail = response
                .error()
                .map(|e| format!("{}: {}", e.error.code, e.error.message))
                .unwrap_or_else(|| response.body.clone());
            bail!(
                "reading job {job_id}: the API answered {}: {detail}",
                response.status
            );
        }
        let delay = poll_delay(attempt, retry_after.as_deref());
        if started.elapsed() + delay > timeout {
            bail!(
                "job {job_id} did not finish within {} s (it is still {}): read it later with \
                 the same command and --job {job_id}",
                timeout.as_secs(),
                last.map_or("unknown", JobStatus::as_str)
            );
        }
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_url_follows_the_invoke_url() {
        assert_eq!(
            jobs_url("https://a.execute-api.us-east-1.amazonaws.com/dev/code-generation"),
            "https://a.execute-api.us-east-1.amazonaws.com/dev/code-generation/jobs"
        );
        assert_eq!(
            jobs_url("http://127.0.0.1:4566/_aws/execute-api/x/local/code-generation/"),
            "http://127.0.0.1:4566/_aws/execute-api/x/local/code-generation/jobs"
        );
    }

    #[test]
    fn polling_backs_off_and_honours_retry_after() {
        let delays: Vec<u64> = (0..8)
            .map(|a| poll_delay(a, None).as_millis() as u64)
            .collect();
        assert_eq!(delays[..4], [1000, 1500, 2250, 3375]);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(delays[7], 10_000);
        assert_eq!(poll_delay(0, Some("7")), Duration::from_secs(7));
        assert_eq!(poll_delay(3, Some("soon")), poll_delay(3, None));
    }
}
