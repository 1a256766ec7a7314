//! `invoke`: sends the real `PUT /code-generation` request to the deployed route, signed with
//! SigV4 (service `execute-api`) when the route uses IAM auth, and prints the code and where it
//! was stored.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use clap::Args;
use codegen_contract::{
    BUILD_HEADER, ErrorResponse, GenerateRequest, GenerateResponse, IDEMPOTENCY_HEADER,
    JOB_STATUS_METHOD, JOBS_PATH, JOBS_SUBMIT_METHOD, JobResponse, JobStatus, ROUTE_PATH,
};
use codegen_infra::config::AuthMode;

use crate::aws::Clients;
use crate::outputs;
use crate::report::{Exit, progress, result};

/// The HTTP answer of the API.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The function's build label header, if sent.
    pub build: Option<String>,
    /// `Location`, if sent (a job's status URL).
    pub location: Option<String>,
    /// Raw body.
    pub body: String,
}

impl ApiResponse {
    /// The body as a success response.
    pub fn success(&self) -> Option<GenerateResponse> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body as an error response.
    pub fn error(&self) -> Option<ErrorResponse> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Signs `request` for API Gateway with the clients' credentials and region.
pub(crate) async fn sign_request(
    clients: &Clients,
    request: &mut http::Request<Vec<u8>>,
) -> anyhow::Result<()> {
    let provider = clients
        .sdk
        .credentials_provider()
        .context("no credentials provider configured: cannot sign the request")?;
    let credentials = provider
        .provide_credentials()
        .await
        .context("failed to load credentials to sign the request")?;
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&clients.region)
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .context("invalid signing parameters")?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .context("request cannot be signed")?;
    let (instructions, _signature) = sign(signable, &params)
        .context("failed to sign the request")?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// Sends a raw body to the route (signed unless `unsigned`), with a 35 s timeout (API Gateway
/// answers within 30 s).
pub async fn send_raw(
    clients: &Clients,
    url: &str,
    method: &str,
    body: Vec<u8>,
    content_type: &str,
    signed: bool,
) -> anyhow::Result<ApiResponse> {
    send(
        clients,
        url,
        method,
        body,
        &[("content-type", content_type)],
        signed,
    )
    .await
}

/// Whether `url` is one `invoke` may sign a request for: the stack's own API, never a host taken
/// on trust from elsewhere. On AWS that is `https://<api id>.execute-api.<region>.amazonaws.com`
/// (API Gateway's default endpoint, "https://{api_id}.execute-api.{region}.amazonaws.com", API
/// Gateway developer guide, x-amazon-apigateway-endpoint-configuration), with `api_id` when known;
/// on an emulator endpoint (`emulator`), a loopback `http://` address. Pure.
pub(crate) fn check_signable_url(
    url: &str,
    region: &str,
    emulator: Option<&str>,
    api_id: Option<&str>,
) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let refuse = |why: String| -> anyhow::Result<()> {
        bail!("refusing to sign a request for {url}: {why}")
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("it carries user information".into());
    }
    if emulator.is_some() {
        let origin = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        if codegen_infra::config::is_loopback_http(&origin) {
            return Ok(());
        }
        return refuse(format!(
            "on an emulator endpoint only loopback http:// hosts are signed for, not {origin}"
        ));
    }
    let suffix = format!(".execute-api.{region}.amazonaws.com");
    let id = host.strip_suffix(&suffix).unwrap_or_default();
    let is_api_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if parsed.scheme() != "https" || parsed.port().is_some() || !is_api_id {
        return refuse(format!(
            "it is not an API Gateway endpoint of this region (https://<api id>{suffix})"
        ));
    }
    if let Some(expected) = api_id
        && id != expected
    {
        return refuse(format!("it is API {id}, not this stack's API {expected}"));
    }
    Ok(())
}

/// `check_signable_url` for `clients`, pinned to the stack's API id (its `ApiId` output).
pub fn check_invoke_url(clients: &Clients, url: &str, api_id: &str) -> anyhow::Result<()> {
    check_signable_url(
        url,
        &clients.region,
        clients.endpoint.as_deref(),
        Some(api_id),
    )
}

/// Sends a request with `headers` (signed with them unless `signed` is false). Redirects are not
/// followed: a signed request goes to the URL it was signed for and nowhere else, and it is signed
/// only for an API Gateway host of the clients' region or, on an emulator, a loopback host
/// (`check_signable_url`).
pub async fn send(
    clients: &Clients,
    url: &str,
    method: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
    signed: bool,
) -> anyhow::Result<ApiResponse> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(body).context("invalid request")?;
    if signed {
        check_signable_url(url, &clients.region, clients.endpoint.as_deref(), None)?;
        sign_request(clients, &mut request).await?;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(35))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("failed to build the HTTP client")?;
    let request =
        reqwest::Request::try_from(request.map(reqwest::Body::from)).context("invalid request")?;
    let response = client
        .execute(request)
        .await
        .with_context(|| format!("request to {url} failed"))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let build = header(BUILD_HEADER);
    let location = header("location");
    let body = response
        .text()
        .await
        .context("failed to read the response body")?;
    Ok(ApiResponse {
        status,
        retry_after,
        build,
        location,
        body,
    })
}

/// Sends a generation request to the route, signing it when the stage uses IAM auth.
pub async fn invoke(
    clients: &Clients,
    auth: AuthMode,
    url: &str,
    request: &GenerateRequest,
) -> anyhow::Result<ApiResponse> {
    let body = serde_json::to_vec(request).context("failed to encode the request")?;
    send_raw(
        clients,
        url,
        "PUT",
        body,
        "application/json",
        auth == AuthMode::AwsIam,
    )
    .await
}

/// Fails with the API's error message unless the response is a 200.
pub fn expect_success(response: &ApiResponse) -> anyhow::Result<GenerateResponse> {
    if response.status != 200 {
        let detail = response
            .error()
            .map(|e| format!("{}: {}", e.error.code, e.error.message))
            .unwrap_or_else(|| response.body.clone());
        bail!("the API answered {}: {detail}", response.status);
    }
    response
        .success()
        .context("the API answered 200 with an unexpected body")
}

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

/// Arguments of `invoke`.
#[derive(Debug, Args)]
pub(crate) struct InvokeArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    /// What to implement.
    #[arg(long, short)]
    message: String,
    /// Target language (python, rust, ts, go, ...).
    #[arg(long, short, default_value = "python")]
    language: String,
    /// Sampling temperature (0-1).
    #[arg(long)]
    temperature: Option<f64>,
    /// Max output tokens.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Send the request without a SigV4 signature (to check that the route refuses it: 403).
    /// Redirects are never followed, signed or not.
    #[arg(long)]
    unsigned: bool,
    /// Use the asynchronous route: submit a job (POST /code-generation/jobs), poll it with
    /// backoff until it succeeds or fails, then print the code. For answers longer than the
    /// synchronous route's 30 s.
    #[arg(long = "async")]
    asynchronous: bool,
    /// With --async: an Idempotency-Key, so that running the command again returns the same job
    /// instead of starting (and paying for) a second one.
    #[arg(long, requires = "asynchronous")]
    idempotency_key: Option<String>,
    /// With --async: read this job instead of submitting one.
    #[arg(long, requires = "asynchronous")]
    job: Option<String>,
    /// With --async: give up waiting after this many seconds (the job goes on).
    #[arg(long, default_value_t = 900, requires = "asynchronous")]
    wait_seconds: u64,
}

/// Runs `cargo xtask invoke`: calls the deployed route (or the jobs route with `--async`) and prints the code.
pub(crate) async fn command(
    root: &std::path::Path,
    args: InvokeArgs,
) -> anyhow::Result<crate::report::Exit> {
    let (cfg, clients, outputs) =
        outputs::read(root, &args.target.stage, &args.target.connect.options()).await?;
    let url = outputs
        .get(outputs::RESOLVED_INVOKE_URL)
        .ok_or_else(|| anyhow::anyhow!("the stack has no invoke URL output"))?;
    let request = GenerateRequest {
        message: args.message.clone(),
        key: args.language.clone(),
        temperature: args.temperature,
        top_k: None,
        top_p: None,
        max_tokens: args.max_tokens,
    };
    let auth = if args.unsigned {
        codegen_infra::config::AuthMode::None
    } else {
        cfg.api.auth
    };
    // Sign only for this stack's own API (its id from the stack outputs).
    check_invoke_url(
        &clients,
        url,
        outputs::require(&outputs, codegen_infra::stack::outputs::API_ID)?,
    )?;
    if args.asynchronous {
        return invoke_async(&clients, auth, url, &request, &args).await;
    }
    let response = invoke(&clients, auth, url, &request).await?;
    if args.target.json {
        result(&response.body);
        return Ok(if response.status == 200 {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    let generated = expect_success(&response)?;
    result(&generated.code);
    match &generated.s3 {
        Some(loc) => progress(format!(
            "stored at {} ({}, {})",
            loc.uri, generated.language, generated.model
        )),
        None => progress(format!("not stored: {}", generated.warnings.join("; "))),
    }
    Ok(Exit::Success)
}

/// `invoke --async`: submit (or pick up `--job`), poll until the job is final, print the code.
async fn invoke_async(
    clients: &crate::aws::Clients,
    auth: codegen_infra::config::AuthMode,
    url: &str,
    request: &codegen_contract::GenerateRequest,
    args: &InvokeArgs,
) -> anyhow::Result<Exit> {
    let job_id = match &args.job {
        Some(id) => id.clone(),
        None => {
            let submitted =
                submit_job(clients, auth, url, request, args.idempotency_key.as_deref()).await?;
            if submitted.status != 202 {
                if args.target.json {
                    result(&submitted.body);
                    return Ok(Exit::Failure);
                }
                let detail = submitted
                    .error()
                    .map(|e| format!("{}: {}", e.error.code, e.error.message))
                    .unwrap_or_else(|| submitted.body.clone());
                anyhow::bail!("the API answered {}: {detail}", submitted.status);
            }
            let body: codegen_contract::SubmitResponse = serde_json::from_str(&submitted.body)
                .map_err(|e| anyhow::anyhow!("unexpected submission answer: {e}"))?;
            progress(format!("job {} {}", body.job_id, body.status.as_str()));
            body.job_id
        }
    };
    let started = std::time::Instant::now();
    let job = wait_for_job(
        clients,
        auth,
        url,
        &job_id,
        std::time::Duration::from_secs(args.wait_seconds),
        |job| {
            progress(format!(
                "job {} {} (attempt {}, {:.1} s)",
                job.job_id,
                job.status.as_str(),
                job.attempts,
                started.elapsed().as_secs_f64()
            ));
        },
    )
    .await?;
    if args.target.json {
        result(&serde_json::to_string(&job)?);
        return Ok(if job.status == codegen_contract::JobStatus::Succeeded {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    match (job.result, job.error) {
        (Some(generated), _) => {
            result(&generated.code);
            if let Some(loc) = &generated.s3 {
                progress(format!(
                    "stored at {} ({}, {})",
                    loc.uri, generated.language, generated.model
                ));
            }
            for w in &generated.warnings {
                progress(format!("warning: {w}"));
            }
            Ok(Exit::Success)
        }
        (None, Some(e)) => anyhow::bail!("job {job_id} failed: {}: {}", e.code, e.message),
        (None, None) => anyhow::bail!("job {job_id} ended without a result or an error"),
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
    fn signs_only_for_this_regions_api_gateway_hosts_on_aws() {
        let ok = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation";
        assert!(check_signable_url(ok, "us-east-1", None, None).is_ok());
        assert!(check_signable_url(ok, "us-east-1", None, Some("a1b2c3d4e5")).is_ok());
        for (url, api_id) in [
            (ok, Some("zzzzzzzzzz")),
            (
                "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "http://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com:8443/dev/code-generation",
                None,
            ),
            ("https://evil.example.com/dev/code-generation", None),
            (
                "https://execute-api.us-east-1.amazonaws.com.evil.example.com/dev",
                None,
            ),
            (
                "https://x.y.execute-api.us-east-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "https://user@a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
                None,
            ),
            (
                "http://127.0.0.1:4566/_aws/execute-api/a/local/code-generation",
                None,
            ),
            ("not a url", None),
        ] {
            let err = check_signable_url(url, "us-east-1", None, api_id).expect_err(url);
            assert!(format!("{err:#}").contains("refusing to sign") || url == "not a url");
        }
    }

    #[test]
    fn signs_only_for_loopback_hosts_on_an_emulator() {
        let emulator = Some("http://127.0.0.1:4566");
        for url in [
            "http://127.0.0.1:4566/_aws/execute-api/a/local/code-generation",
            "http://127.0.0.1:5000/_aws/execute-api/a/local/code-generation",
            "http://localhost:4566/_aws/execute-api/a/local/code-generation",
        ] {
            assert!(
                check_signable_url(url, "us-east-1", emulator, None).is_ok(),
                "{url}"
            );
        }
        for url in [
            "http://10.0.0.1:4566/_aws/execute-api/a/local/code-generation",
            "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation",
            "https://127.0.0.1:4566/x",
            "http://127.0.0.1@evil.example.com:4566/x",
        ] {
            assert!(
                check_signable_url(url, "us-east-1", emulator, None).is_err(),
                "{url}"
            );
        }
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
