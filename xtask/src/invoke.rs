//! `invoke`: sends the real `PUT /code-generation` request to the deployed route, signed with
//! SigV4 (service `execute-api`) when the route uses IAM auth, and prints the code and where it
//! was stored; `--async` submits a job instead and waits for it. The command is here; the signed
//! HTTP calls and the synchronous route are in `http`, the jobs routes in `jobs`.

mod http;
mod jobs;

use clap::Args;
use codegen_contract::GenerateRequest;

use crate::outputs;
use crate::report::{Exit, progress, result};

pub use http::{ApiResponse, check_invoke_url, expect_success, invoke, send, send_raw};
pub use jobs::{job_status, jobs_url, submit_job, wait_for_job};

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
