//! The asynchronous jobs route end to end against ministack, with the Bedrock test double pacing
//! the model like a real one: a 2048-token answer (about 43 s) succeeds as a job while the
//! synchronous route gives up inside API Gateway's 30 s; a job delivered twice is generated and
//! stored once; a worker killed mid-generation is retried (or failed), never left running; 200
//! jobs submitted 32 at a time all succeed with 200 distinct objects; hostile job requests are
//! 4xx and write nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codegen_contract::{
    ErrorResponse, GenerateRequest, JOBS_PREFIX, JobResponse, JobStatus, OUTPUT_PREFIX,
    SubmitResponse,
};
use codegen_infra::StageConfig;
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour, Pacing, Reply};
use e2e_tests::hostile::{self, ViaApi};
use e2e_tests::{
    Emulator, count_objects, default_package, kill_lambda_processes, leftovers, local_stage_with,
    note, report, request,
};
use tokio::sync::Semaphore;
use xtask::aws::Clients;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

/// The local stage with Bedrock sent to the double, and `jobs` (a `jobs:` block) if given.
fn stage(double: &BedrockDouble, jobs: Option<&str>) -> anyhow::Result<StageConfig> {
    local_stage_with(|text| {
        let text = match jobs {
            Some(block) => {
                let start = text.find("jobs:\n").unwrap_or(0);
                let end = text[start..]
                    .find("\nlogs:")
                    .map_or(text.len(), |e| start + e + 1);
                format!("{}{block}{}", &text[..start], &text[end..])
            }
            None => text,
        };
        format!("{text}\nbedrock_endpoint: {}\n", double.endpoint)
    })
}

async fn submit(
    admin: &Clients,
    url: &str,
    req: &GenerateRequest,
) -> anyhow::Result<SubmitResponse> {
    let r = xtask::invoke::submit_job(admin, AuthMode::AwsIam, url, req, None).await?;
    anyhow::ensure!(r.status == 202, "submit answered {}: {}", r.status, r.body);
    Ok(serde_json::from_str(&r.body)?)
}

async fn wait(
    admin: &Clients,
    url: &str,
    job_id: &str,
    within: Duration,
) -> anyhow::Result<JobResponse> {
    xtask::invoke::wait_for_job(admin, AuthMode::AwsIam, url, job_id, within, |_| {}).await
}

async fn object_text(admin: &Clients, bucket: &str, key: &str) -> anyhow::Result<String> {
    let o = admin.s3.get_object().bucket(bucket).key(key).send().await?;
    Ok(String::from_utf8_lossy(&o.body.collect().await?.into_bytes()).into_owned())
}

fn sqs(admin: &Clients) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&admin.sdk)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_generation_succeeds_as_a_job_and_is_stored_once() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour {
        pacing: Pacing::SONNET,
        reply: Reply::Code { tokens: 2048 },
        ..Behaviour::default()
    })
    .await?;
    let deployed = em.deploy_stage(&package, stage(&double, None)?).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let req = request("implement a complete red-black tree with tests", "python");

    // The same request through both doors, at the same time.
    let sync = async {
        let t = Instant::now();
        let r = xtask::invoke::invoke(&admin, AuthMode::AwsIam, &url, &req).await;
        (r, t.elapsed())
    };
    let asynchronous = async {
        let t = Instant::now();
        let submitted = submit(&admin, &url, &req).await?;
        let submit_ms = t.elapsed().as_millis();
        let job = wait(&admin, &url, &submitted.job_id, Duration::from_secs(180)).await?;
        anyhow::Ok((submitted, submit_ms, job, t.elapsed()))
    };
    let ((sync_response, sync_took), job) = tokio::join!(sync, asynchronous);
    let (submitted, submit_ms, job, job_took) = job?;

    let sync_response = sync_response?;
    assert_eq!(sync_response.status, 504, "{}", sync_response.body);
    let e: ErrorResponse = serde_json::from_str(&sync_response.body)?;
    assert_eq!(e.error.code, "model_timeout");
    assert!(
        e.error.message.contains("/code-generation/jobs"),
        "{}",
        e.error.message
    );
    assert!(sync_took < Duration::from_secs(30), "{sync_took:?}");

    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let result = job.result.clone().expect("a succeeded job has its result");
    let location = result.s3.clone().expect("stored");
    assert!(
        location.key.starts_with(OUTPUT_PREFIX)
            && location.key.ends_with(&format!("-{}.py", submitted.job_id)),
        "{}",
        location.key
    );
    assert_eq!(
        object_text(&admin, &bucket, &location.key).await?,
        result.code
    );
    assert!(
        result.code.lines().count() > 300,
        "the whole answer, not a cut one"
    );
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    assert_eq!(result.usage.output_tokens, 2048);
    note(&format!(
        "2048 tokens at 50 tokens/s: synchronous route {} after {:.1} s; job submitted in {submit_ms} ms, succeeded after {:.1} s (attempts {})",
        sync_response.status,
        sync_took.as_secs_f64(),
        job_took.as_secs_f64(),
        job.attempts
    ));

    // Delivered twice: the same message again, by hand. The worker acknowledges it without a
    // model call and the code object keeps one version.
    double.set(|b| b.pacing = Pacing::INSTANT);
    let calls_before = double.seen().len();
    sqs(&admin)
        .send_message()
        .queue_url(&deployed.outputs[out::JOBS_QUEUE_URL])
        .message_body(format!("{{\"job_id\":\"{}\"}}", submitted.job_id))
        .send()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let queue_attrs = || async {
        sqs(&admin)
            .get_queue_attributes()
            .queue_url(&deployed.outputs[out::JOBS_QUEUE_URL])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
    };
    loop {
        let attrs = queue_attrs().await?;
        let pending: u64 = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ]
        .iter()
        .filter_map(|k| {
            attrs
                .attributes()
                .and_then(|m| m.get(&aws_sdk_sqs::types::QueueAttributeName::from(*k)))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum();
        // The event source mapping deletes a message only after the worker returned (as Lambda
        // does), so an empty queue means the duplicate was handled: any model call it made has
        // been seen by the double by now.
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the duplicate message was not handled within 15 s ({pending} pending)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(double.seen().len(), calls_before, "no second model call");
    let versions = admin
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix(&location.key)
        .send()
        .await?;
    assert_eq!(versions.versions().len(), 1, "one object, one version");
    let again = wait(&admin, &url, &submitted.job_id, Duration::from_secs(5)).await?;
    assert_eq!((again.status, again.attempts), (JobStatus::Succeeded, 1));

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    assert!(leftovers(&admin, STACK).await?.is_empty());
    let queues = sqs(&admin).list_queues().send().await?;
    assert!(
        queues.queue_urls().iter().all(|q| !q.contains(STACK)),
        "destroy leaves no queue: {:?}",
        queues.queue_urls()
    );
    let mappings = admin.lambda.list_event_source_mappings().send().await?;
    assert!(
        mappings.event_source_mappings().is_empty(),
        "destroy leaves no event source mapping: {:?}",
        mappings.event_source_mappings()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_generation_is_retried_never_left_running() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour {
        pacing: Pacing {
            first_token: Duration::from_secs(8),
            tokens_per_second: f64::INFINITY,
        },
        ..Behaviour::default()
    })
    .await?;
    // Short bounds so the retry comes within seconds: a 20 s worker, redelivery after 25 s.
    let jobs = "jobs:\n  worker_timeout_seconds: 20\n  max_attempts: 2\n  visibility_timeout_seconds: 25\n  give_up_after_seconds: 120\n  max_concurrency: 2\n";
    let deployed = em
        .deploy_stage(&package, stage(&double, Some(jobs))?)
        .await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let worker = deployed.outputs[out::JOBS_WORKER_FUNCTION].clone();

    let t = Instant::now();
    let submitted = submit(&admin, &url, &request("fizzbuzz", "go")).await?;
    // Wait until the model call is in flight, then kill the worker as a crash would.
    let deadline = Instant::now() + Duration::from_secs(30);
    while double.received() == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the worker made no model call within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Deliberate: kill half a second into the call (its first token comes after 8 s), so the kill
    // lands in the middle of the generation rather than as the request arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = kill_lambda_processes(&em, &worker);
    assert!(killed >= 1, "no worker process to kill");
    let running = wait_status(&admin, &url, &submitted.job_id).await?;
    assert_eq!(running.status, JobStatus::Running, "{running:?}");
    double.set(|b| b.pacing = Pacing::INSTANT);

    let job = wait(&admin, &url, &submitted.job_id, Duration::from_secs(150)).await?;
    report("killed worker: job final", t);
    note(&format!(
        "worker killed mid-generation: job {:?} after {} attempts, {:.1} s",
        job.status,
        job.attempts,
        t.elapsed().as_secs_f64()
    ));
    assert!(job.status.is_final());
    match job.status {
        JobStatus::Succeeded => assert_eq!(job.attempts, 2, "{job:?}"),
        _ => assert!(job.error.is_some(), "a failed job says why: {job:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(120),
        "within the stage's give-up bound"
    );

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    Ok(())
}

async fn wait_status(admin: &Clients, url: &str, job_id: &str) -> anyhow::Result<JobResponse> {
    let r = xtask::invoke::job_status(admin, AuthMode::AwsIam, url, job_id).await?;
    anyhow::ensure!(r.status == 200, "{}", r.body);
    Ok(serde_json::from_str(&r.body)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_jobs_32_at_a_time_all_succeed() -> anyhow::Result<()> {
    const JOBS: usize = 200;
    const IN_FLIGHT: usize = 32;
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = Arc::new(em.clients().await?);
    let double = BedrockDouble::start(Behaviour::default()).await?;
    let deployed = em.deploy_stage(&package, stage(&double, None)?).await?;
    let url = Arc::new(deployed.outputs[RESOLVED_INVOKE_URL].clone());
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();

    let t = Instant::now();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::new();
    for i in 0..JOBS {
        let (admin, url, gate) = (admin.clone(), url.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let started = Instant::now();
            let s = submit(
                &admin,
                &url,
                &request(&format!("function number {i}"), "rust"),
            )
            .await?;
            anyhow::Ok((s.job_id, started.elapsed()))
        }));
    }
    let mut ids = Vec::new();
    let mut submit_ms = Vec::new();
    for task in tasks {
        let (id, took) = task.await??;
        ids.push(id);
        submit_ms.push(took.as_millis());
    }
    let submitted_in = t.elapsed();
    submit_ms.sort_unstable();
    let mut waits = Vec::new();
    for id in ids.clone() {
        let (admin, url, gate) = (admin.clone(), url.clone(), gate.clone());
        waits.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            wait(&admin, &url, &id, Duration::from_secs(600)).await
        }));
    }
    let mut keys = BTreeSet::new();
    let mut succeeded = 0;
    for w in waits {
        let job = w.await??;
        if job.status == JobStatus::Succeeded {
            succeeded += 1;
            if let Some(loc) = job.result.and_then(|r| r.s3) {
                keys.insert(loc.key);
            }
        }
    }
    let done_in = t.elapsed();
    let objects = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
    let records = count_objects(&admin, &bucket, JOBS_PREFIX).await?;
    note(&format!(
        "{JOBS} jobs, {IN_FLIGHT} in flight: submitted in {:.1} s (submit p50 {} ms, p99 {} ms), all final after {:.1} s; {succeeded} succeeded, {} distinct keys, {objects} objects, {records} job record versions (queued, running, final)",
        submitted_in.as_secs_f64(),
        submit_ms[JOBS / 2],
        submit_ms[JOBS * 99 / 100],
        done_in.as_secs_f64(),
        keys.len()
    ));
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        JOBS,
        "distinct job ids"
    );
    assert_eq!(succeeded, JOBS);
    assert_eq!(keys.len(), JOBS);
    assert_eq!(objects, JOBS, "one object per job, none lost, none doubled");
    assert_eq!(double.seen().len(), JOBS, "one model call per job");

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_job_requests_are_4xx_and_write_nothing() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour::default()).await?;
    let deployed = em.deploy_stage(&package, stage(&double, None)?).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let jobs_url = xtask::invoke::jobs_url(&url);
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let count = || async {
        anyhow::Ok(
            count_objects(&admin, &bucket, OUTPUT_PREFIX).await?
                + count_objects(&admin, &bucket, JOBS_PREFIX).await?,
        )
    };
    let before = count().await?;
    let mut failures = Vec::new();
    let mut tried = 0;

    // Every body of the shared hostile table that reaches the function on PUT /code-generation,
    // sent to POST /code-generation/jobs instead: the same validation, the same answer.
    for case in hostile::cases() {
        if case.method != "PUT" || case.path != codegen_contract::ROUTE_PATH {
            continue;
        }
        let expected = match case.via_api {
            ViaApi::SameAsHandler => case.expected,
            ViaApi::Function { expected, .. } => expected,
            ViaApi::Gateway => continue,
        };
        tried += 1;
        let r = xtask::invoke::send_raw(
            &admin,
            &jobs_url,
            "POST",
            case.wire_body(),
            case.content_type,
            true,
        )
        .await?;
        let code = r.error().map(|e| e.error.code);
        if (r.status, code.as_deref()) != (expected.status, Some(expected.code.as_str())) {
            failures.push(format!(
                "POST {}: got {} {code:?}, want {} {}",
                case.name,
                r.status,
                expected.status,
                expected.code.as_str()
            ));
        }
    }
    // Hostile job ids: traversal, oversize, wrong shape, another alphabet.
    let ids = [
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%2e%2e".to_owned(),
        "x".repeat(300),
        "0123456789ABCDEF0123456789ABCDEF".to_owned(),
        "0123456789abcdef0123456789abcde".to_owned(),
        "%00".to_owned(),
        "%F0%9F%92%A3".to_owned(),
        "0123456789abcdef0123456789abcdef".to_owned(),
    ];
    for id in &ids {
        tried += 1;
        let r = xtask::invoke::send(
            &admin,
            &format!("{jobs_url}/{id}"),
            "GET",
            Vec::new(),
            &[],
            true,
        )
        .await?;
        let code = r.error().map(|e| e.error.code).unwrap_or_default();
        let stable = matches!(code.as_str(), "invalid_job_id" | "job_not_found")
            || (r.status == 404 && code.is_empty());
        if !(400..500).contains(&r.status) || !stable {
            failures.push(format!(
                "GET jobs/{}: got {} {code:?}",
                id.chars().take(40).collect::<String>(),
                r.status
            ));
        }
    }
    // A valid job, read by nobody else: unsigned is refused by the route itself.
    let unsigned = xtask::invoke::job_status(&admin, AuthMode::None, &url, &"0".repeat(32)).await?;
    assert_eq!(unsigned.status, 403, "{}", unsigned.body);
    let after = count().await?;
    note(&format!(
        "hostile job requests: {tried} tried, {} misbehaved, {} writes",
        failures.len(),
        after - before
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(after, before, "nothing written");
    assert!(double.seen().is_empty(), "no model call");

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    Ok(())
}

/// With IAM enforcement on, each jobs function's own role (read from its warm process, as Lambda
/// hands it over) can do its part and is denied the others'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_jobs_role_can_do_its_part_and_nothing_else() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    // The emulator's own Bedrock mock here: it checks the worker's role like IAM would.
    let deployed = em.deploy(&package, false).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let queue = deployed.outputs[out::JOBS_QUEUE_URL].clone();
    let submitted = submit(
        &admin,
        &url,
        &request("implement the binary search", "python"),
    )
    .await?;
    let job = wait(&admin, &url, &submitted.job_id, Duration::from_secs(120)).await?;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let code_key = job.result.and_then(|r| r.s3).expect("stored").key;
    let record_key = format!("{JOBS_PREFIX}{}.json", submitted.job_id);

    let cfg = codegen_infra::load_stage(&e2e_tests::root(), "local")?;
    let mut results = Vec::new();
    for role in ["submit", "status", "worker"] {
        let (sdk, s3) = e2e_tests::as_function_role(&em, &admin, &cfg.jobs_function_name(role))?;
        let q = aws_sdk_sqs::Client::new(&sdk);
        let put = |key: String| {
            let s3 = s3.clone();
            let bucket = bucket.clone();
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(b"{}".to_vec().into())
                    .send()
                    .await
                    .is_ok()
            }
        };
        let get = |key: String| {
            let s3 = s3.clone();
            let bucket = bucket.clone();
            async move { s3.get_object().bucket(bucket).key(key).send().await.is_ok() }
        };
        let probe = format!("probe-{role}");
        let checks = [
            (
                "PutObject jobs/*",
                put(format!("{JOBS_PREFIX}{probe}.json")).await,
                role != "status",
            ),
            (
                "PutObject code-output/*",
                put(format!("{OUTPUT_PREFIX}{probe}.py")).await,
                role == "worker",
            ),
            ("GetObject jobs/*", get(record_key.clone()).await, true),
            (
                "GetObject code-output/*",
                get(code_key.clone()).await,
                // The worker reads back code an earlier attempt stored (`AlreadyThere`).
                role == "status" || role == "worker",
            ),
            (
                "SendMessage",
                q.send_message()
                    .queue_url(&queue)
                    .message_body("{}")
                    .send()
                    .await
                    .is_ok(),
                role == "submit",
            ),
            (
                "DeleteObject jobs/*",
                s3.delete_object()
                    .bucket(&bucket)
                    .key(&record_key)
                    .send()
                    .await
                    .is_ok(),
                false,
            ),
        ];
        for (what, allowed, expected) in checks {
            note(&format!(
                "{role} role: {what}: {} (expected {})",
                if allowed { "allowed" } else { "denied" },
                if expected { "allowed" } else { "denied" }
            ));
            results.push((role, what, allowed, expected));
        }
    }
    let wrong: Vec<_> = results.iter().filter(|(_, _, a, e)| a != e).collect();
    assert!(wrong.is_empty(), "least privilege violated: {wrong:?}");

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    Ok(())
}
