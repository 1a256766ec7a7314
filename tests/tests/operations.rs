//! Operating the stack on ministack with the Bedrock double: the function's metric line (one per
//! request, its token values exactly the response's `usage`, read back from CloudWatch Logs);
//! the log lines `watch` prints (its tail) including a request's; `logs --job` following one job
//! through its submit, worker and status functions in time order;
//! a job that fails every attempt reaching the dead-letter queue (its depth read with
//! GetQueueAttributes, the figure the `AWS/SQS` `ApproximateNumberOfMessagesVisible` alarm reads,
//! while the worker's dead-letter source is off) and being marked failed once it is on again; and
//! `status` printing what the emulator can give.
//!
//! What only AWS shows (see docs/operations.md): ministack publishes only Lambda's own metrics
//! (`AWS/Lambda` Invocations, Errors, Throttles, Duration), does not turn embedded-metric-format
//! lines into metrics, refuses metric-math alarms, and has no X-Ray. So these tests read the
//! metric *line* the function wrote, never a metric, and never write one themselves; and the
//! trace segments the function sends are received by the test itself, on loopback, in the place
//! of the X-Ray daemon Lambda runs on AWS (the stage's `xray_daemon`).

use std::time::{Duration, Instant};

use codegen_contract::{GenerateResponse, JobStatus, SubmitResponse};
use codegen_infra::StageConfig;
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour, Fault};
use e2e_tests::{Emulator, default_package, local_stage_with, note, request};
use serde_json::Value;
use xtask::aws::Clients;
use xtask::logs::{StackQuery, id_pattern, print_stack_events};
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

/// The local stage with Bedrock sent to the double, and `jobs` (a `jobs:` block) if given.
fn stage(double: &BedrockDouble, jobs: Option<&str>) -> anyhow::Result<StageConfig> {
    stage_traced(double, jobs, None)
}

/// [`stage`], with the functions' trace segments sent to `daemon` (a UDP socket on loopback).
fn stage_traced(
    double: &BedrockDouble,
    jobs: Option<&str>,
    daemon: Option<std::net::SocketAddr>,
) -> anyhow::Result<StageConfig> {
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
        let traced = daemon.map_or(String::new(), |d| format!("xray_daemon: {d}\n"));
        format!("{text}\nbedrock_endpoint: {}\n{traced}", double.endpoint)
    })
}

/// The segment documents the functions sent to `daemon` (each datagram: the daemon header, a
/// newline, one JSON document), until `enough` holds or `timeout` passes.
async fn trace_documents(
    daemon: &tokio::net::UdpSocket,
    timeout: Duration,
    enough: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut docs = Vec::new();
    let mut buf = vec![0_u8; 65_536];
    while !enough(&docs) {
        let Ok(Ok(n)) = tokio::time::timeout_at(deadline, daemon.recv(&mut buf)).await else {
            break;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        match text.split_once('\n') {
            Some((r#"{"format": "json", "version": 1}"#, body)) => {
                docs.extend(serde_json::from_str::<Value>(body).ok());
            }
            _ => panic!("not a daemon datagram: {text}"),
        }
    }
    docs
}

/// The stack's log lines matching `id`, as `logs --request-id/--job` prints them.
async fn lines_about(admin: &Clients, id: &str, start_ms: i64) -> anyhow::Result<Vec<String>> {
    let query = StackQuery {
        sources: Vec::new(),
        pattern: id_pattern(id),
        start_ms,
    };
    let mut out = Vec::new();
    print_stack_events(admin, STACK, &query, false, &mut out).await?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// A printed line's source and message (`<timestamp> <source> <message>`).
fn split(line: &str) -> (&str, &str, &str) {
    let (ts, rest) = line.split_once(' ').unwrap_or_default();
    let rest = rest.trim_start();
    let (source, message) = rest.split_once(' ').unwrap_or((rest, ""));
    (ts, source, message.trim_start())
}

/// The metric (EMF) lines among `lines`, parsed.
fn metric_lines(lines: &[String]) -> Vec<(String, Value)> {
    lines
        .iter()
        .filter_map(|l| {
            let (_, source, message) = split(l);
            let v: Value = serde_json::from_str(message).ok()?;
            v.get("_aws").is_some().then(|| (source.to_owned(), v))
        })
        .collect()
}

/// Reads until `done` holds (log delivery lags the response), at most `within`.
async fn read_until(
    admin: &Clients,
    id: &str,
    start_ms: i64,
    within: Duration,
    done: impl Fn(&[String]) -> bool,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + within;
    loop {
        let lines = lines_about(admin, id, start_ms).await?;
        if done(&lines) || Instant::now() > deadline {
            return Ok(lines);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_lines_equal_the_response_and_logs_follow_a_job_across_its_functions()
-> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour::default()).await?;
    // In the X-Ray daemon's place: the emulator runs no daemon and no X-Ray.
    let daemon = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let traced = stage_traced(&double, None, Some(daemon.local_addr()?))?;
    let deployed = em.deploy_stage(&package, traced).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let start_ms = xtask::logs::now_ms() - 1_000;
    // What `watch` prints beside its loop: the stack's log lines from now on.
    let tailed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let tail = tokio::spawn(xtask::logs::tail_for_watch(
        stage(&double, None)?,
        em.connect_options(),
        start_ms,
        {
            let tailed = tailed.clone();
            move |line| {
                if let Ok(mut t) = tailed.lock() {
                    t.push(line);
                }
            }
        },
    ));

    // One request, one metric line, its tokens exactly the response's.
    let response = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("binary search", "python"),
    )
    .await?;
    anyhow::ensure!(response.status == 200, "{}", response.body);
    let body: GenerateResponse = serde_json::from_str(&response.body)?;
    let lines = read_until(
        &admin,
        &body.request_id,
        start_ms,
        Duration::from_secs(20),
        |l| !metric_lines(l).is_empty(),
    )
    .await?;
    let metrics = metric_lines(&lines);
    assert_eq!(metrics.len(), 1, "one metric line per request: {lines:#?}");
    let (source, m) = &metrics[0];
    assert_eq!(source, "sync");
    assert_eq!(m["request_id"], body.request_id.as_str());
    assert_eq!(m["InputTokens"], body.usage.input_tokens);
    assert_eq!(m["OutputTokens"], body.usage.output_tokens);
    assert_eq!(m["TotalTokens"], body.usage.total_tokens);
    assert_eq!(
        (m["Requests"].as_u64(), m["Status2xx"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(m["SyntaxOk"].as_u64(), body.syntax.ok.map(u64::from));
    assert_eq!(m["Route"], "PUT /code-generation");
    assert_eq!(m["Stage"], "local");
    assert!(m["ModelLatency"].as_u64().is_some(), "{m}");
    assert_eq!(
        m["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "CodegenStack"
    );
    note(&format!("metric line: {m}"));

    // The request's trace: the model call, the S3 write and the syntax check as subsegments of
    // the segment the emulator's trace header names (TracingConfig Active: it sends
    // `Lambda-Runtime-Trace-Id` with `Sampled=1`, as Lambda does for a sampled request). What only
    // AWS shows: Lambda's own segment, the daemon relaying to X-Ray, sampling.
    let names = ["BedrockRuntime", "S3", "syntax check"];
    let docs = trace_documents(&daemon, Duration::from_secs(10), |d| {
        names.iter().all(|n| d.iter().any(|doc| doc["name"] == *n))
    })
    .await;
    let by_name = |name: &str| {
        docs.iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no {name} subsegment in {docs:#?}"))
    };
    let converse = by_name("BedrockRuntime");
    let trace_id = converse["trace_id"].as_str().unwrap_or_default();
    let parent = converse["parent_id"].as_str().unwrap_or_default();
    assert!(
        trace_id.starts_with("1-") && parent.len() == 16,
        "{converse}"
    );
    assert!(
        docs.iter().all(|d| d["id"] != parent),
        "the parent is Lambda's segment, not one of ours: {docs:#?}"
    );
    for (name, operation) in [("BedrockRuntime", "Converse"), ("S3", "PutObject")] {
        let call = by_name(name);
        assert_eq!(call["namespace"], "aws", "{call}");
        assert_eq!(call["aws"]["operation"], operation, "{call}");
    }
    for name in names {
        let doc = by_name(name);
        assert_eq!(doc["type"], "subsegment", "{doc}");
        assert_eq!(doc["trace_id"], trace_id, "{doc}");
        assert_eq!(doc["parent_id"], parent, "{doc}");
    }
    note(&format!("{} trace documents for one request", docs.len()));

    // `watch`'s log lines include this request's, from the sync function.
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = tailed
            .lock()
            .map(|t| {
                t.iter()
                    .any(|l| split(l).1 == "sync" && l.contains(&body.request_id))
            })
            .unwrap_or(false);
        if seen || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    tail.abort();
    assert!(
        seen,
        "watch's tail printed the request's lines: {:?}",
        tailed.lock().map(|t| t.clone())
    );

    // One job through its three functions: submitted, run, read.
    let submitted = xtask::invoke::submit_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("merge sort", "python"),
        None,
    )
    .await?;
    anyhow::ensure!(submitted.status == 202, "{}", submitted.body);
    let submitted: SubmitResponse = serde_json::from_str(&submitted.body)?;
    let job = xtask::invoke::wait_for_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &submitted.job_id,
        Duration::from_secs(120),
        |_| {},
    )
    .await?;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let sources_of =
        |lines: &[String]| -> Vec<String> { lines.iter().map(|l| split(l).1.to_owned()).collect() };
    let lines = read_until(
        &admin,
        &submitted.job_id,
        start_ms,
        Duration::from_secs(20),
        |l| {
            let s = sources_of(l);
            ["submit", "worker", "status"]
                .iter()
                .all(|want| s.iter().any(|got| got == want))
        },
    )
    .await?;
    note(&format!(
        "logs --job {}:\n{}",
        submitted.job_id,
        lines.join("\n")
    ));
    let sources = sources_of(&lines);
    let first = |who: &str| sources.iter().position(|s| s == who);
    let last = |who: &str| sources.iter().rposition(|s| s == who);
    let (Some(submit), Some(worker), Some(status)) =
        (first("submit"), first("worker"), last("status"))
    else {
        anyhow::bail!("the job's lines from all three functions: {lines:#?}");
    };
    assert!(
        submit < worker && worker < status,
        "submitted, then run, then read: {lines:#?}"
    );
    let stamps: Vec<&str> = lines.iter().map(|l| split(l).0).collect();
    let mut sorted = stamps.clone();
    sorted.sort();
    assert_eq!(stamps, sorted, "merged in time order");
    assert!(
        lines.iter().all(|l| l.contains(&submitted.job_id)),
        "only this job's lines: {lines:#?}"
    );
    // The worker's metric line counts the success, with the job's tokens.
    let worker_metrics: Vec<Value> = metric_lines(&lines)
        .into_iter()
        .filter(|(s, _)| s == "worker")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(worker_metrics.len(), 1, "{lines:#?}");
    let result = job.result.expect("succeeded");
    assert_eq!(worker_metrics[0]["JobsSucceeded"], 1);
    assert_eq!(
        worker_metrics[0]["OutputTokens"],
        result.usage.output_tokens
    );
    assert_eq!(worker_metrics[0]["Route"], "jobs-worker");

    // `status`: what the emulator can give (figures from the metric lines, the dead-letter queue's
    // depth, the alarms by name), and what it says it cannot.
    let cfg = stage(&double, None)?;
    let status = xtask::status::status_lines(&admin, &cfg, 3_600_000, "1h").await?;
    let text = status.join("\n");
    note(&format!("status:\n{text}"));
    let tokens = u64::from(body.usage.output_tokens) + u64::from(result.usage.output_tokens);
    assert!(
        text.contains(&format!("{tokens} out")),
        "the sync request's and the job's output tokens: {text}"
    );
    // Every alarm of the stack, with the state CloudWatch (the emulator's) reports for it.
    assert!(text.contains("alarms of codegen-local (14, "), "{text}");
    let alarm_rows: Vec<&str> = status
        .iter()
        .skip_while(|l| !l.starts_with("alarms of"))
        .skip(1)
        .take(14)
        .map(String::as_str)
        .collect();
    for row in &alarm_rows {
        let state = row.split_whitespace().next().unwrap_or_default();
        assert!(
            ["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&state) && row.contains("codegen-local-"),
            "{row}"
        );
    }
    assert!(text.contains("dead-letter queue: 0 waiting"), "{text}");
    assert!(text.contains("exist only on AWS"), "{text}");
    assert!(text.contains("time to answer: p50"), "{text}");

    em.destroy(true).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_every_attempt_reaches_the_dead_letter_queue() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    // Bedrock throttles every call: every delivery of the job is retried, until SQS moves it to
    // the dead-letter queue after `max_attempts` receives.
    let double = BedrockDouble::start(Behaviour {
        faults: std::iter::repeat_n(Fault::throttling(), 500).collect(),
        ..Behaviour::default()
    })
    .await?;
    let jobs = "jobs:\n  worker_timeout_seconds: 10\n  max_attempts: 2\n  visibility_timeout_seconds: 10\n  give_up_after_seconds: 300\n  max_concurrency: 2\n";
    let deployed = em
        .deploy_stage(&package, stage(&double, Some(jobs))?)
        .await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let sqs = aws_sdk_sqs::Client::new(&admin.sdk);
    let dlq_url = format!("{}-dlq", deployed.outputs[out::JOBS_QUEUE_URL]);

    // The worker drains the dead-letter queue itself (it marks those jobs failed), so the alarm
    // on its depth fires when the worker does not. That is the case made here: its dead-letter
    // event source is disabled, and the message must then show in the figure the alarm reads
    // (`ApproximateNumberOfMessagesVisible`, here from GetQueueAttributes).
    let mappings = admin
        .lambda
        .list_event_source_mappings()
        .function_name(&deployed.outputs[out::JOBS_WORKER_FUNCTION])
        .send()
        .await?;
    let dlq_mapping = mappings
        .event_source_mappings()
        .iter()
        .find(|m| m.event_source_arn().is_some_and(|a| a.ends_with("-dlq")))
        .and_then(|m| m.uuid())
        .ok_or_else(|| anyhow::anyhow!("no dead-letter event source: {mappings:?}"))?
        .to_owned();
    admin
        .lambda
        .update_event_source_mapping()
        .uuid(&dlq_mapping)
        .enabled(false)
        .send()
        .await?;

    let submitted = xtask::invoke::submit_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("merge sort", "python"),
        None,
    )
    .await?;
    anyhow::ensure!(submitted.status == 202, "{}", submitted.body);
    let submitted: SubmitResponse = serde_json::from_str(&submitted.body)?;

    let depth = || async {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await?;
        anyhow::Ok(
            attrs
                .attributes()
                .and_then(|m| {
                    m.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                })
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0),
        )
    };
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < Duration::from_secs(180) && seen == 0 {
        seen = depth().await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    note(&format!(
        "dead-letter queue depth {seen} after {:.1} s ({} model calls, all throttled)",
        started.elapsed().as_secs_f64(),
        double.received()
    ));
    assert_eq!(seen, 1, "the job's message reached the dead-letter queue");
    let job = xtask::invoke::job_status(&admin, AuthMode::AwsIam, &url, &submitted.job_id).await?;
    let job: codegen_contract::JobResponse = serde_json::from_str(&job.body)?;
    assert_eq!(job.attempts, 2, "both deliveries were used: {job:?}");

    // The worker drains it again: the job is marked failed and the queue empties.
    admin
        .lambda
        .update_event_source_mapping()
        .uuid(&dlq_mapping)
        .enabled(true)
        .send()
        .await?;
    let job = xtask::invoke::wait_for_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &submitted.job_id,
        Duration::from_secs(60),
        |_| {},
    )
    .await?;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    let drained = Instant::now();
    while depth().await? != 0 && drained.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        depth().await?,
        0,
        "the worker drained the dead-letter queue"
    );

    em.destroy(true).await?;
    Ok(())
}
