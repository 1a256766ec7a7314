//! The jobs routes and the worker, fed API Gateway v2 and SQS events, with S3 as an in-memory
//! store behind `aws-smithy-mocks` (conditional writes answered as S3 does: 412 when
//! `If-None-Match: *` meets an existing key), SQS and Bedrock mocked at the SDK edge.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_bedrockruntime::types::StopReason;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::operation::send_message::SendMessageOutput;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use codegen_contract::{JobResponse, JobStatus, SubmitResponse, env};
use codegen_function::worker::{self, SqsEvent};
use codegen_function::{Config, Deps};
use common::{
    answering, bedrock_client, fixture, s3_client, throttling_exception, validation_exception,
};

const REPLY: &str = "```python\ndef is_palindrome(s):\n    return s == s[::-1]\n```";
const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/codegen-dev-jobs";
const DLQ_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:codegen-dev-jobs-dlq";

/// S3 as a map from key to bytes, with S3's answer to a lost conditional write, and to a missing
/// key for a caller without `s3:ListBucket` (403 AccessDenied, which the function's roles get).
#[derive(Clone, Default)]
struct Store(Arc<Mutex<HashMap<String, Vec<u8>>>>);

impl Store {
    fn rules(&self) -> (Rule, Rule) {
        let put_store = self.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |input| {
            let key = input.key().unwrap_or_default().to_owned();
            let mut map = put_store.0.lock().expect("lock");
            if input.if_none_match() == Some("*") && map.contains_key(&key) {
                let mut resp = HttpResponse::new(
                    StatusCode::try_from(412).expect("status"),
                    SdkBody::from("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
                );
                resp.headers_mut().insert("content-type", "application/xml");
                return MockResponse::Http(resp);
            }
            map.insert(key, input.body().bytes().unwrap_or_default().to_vec());
            MockResponse::Output(PutObjectOutput::builder().e_tag("\"e\"").build())
        });
        let get_store = self.clone();
        let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |input| {
            let key = input.key().unwrap_or_default();
            match get_store.0.lock().expect("lock").get(key) {
                Some(bytes) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .body(ByteStream::from(bytes.clone()))
                        .build(),
                ),
                // What real S3 answers the function's roles (no s3:ListBucket) for a missing key.
                None => {
                    let mut resp = HttpResponse::new(
                        StatusCode::try_from(403).expect("status"),
                        SdkBody::from(
                            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
                        ),
                    );
                    resp.headers_mut().insert("content-type", "application/xml");
                    MockResponse::Http(resp)
                }
            }
        });
        (put, get)
    }

    fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.0.lock().expect("lock").keys().cloned().collect();
        k.sort();
        k
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0
            .lock()
            .expect("lock")
            .get(key)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

struct World {
    store: Store,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    sent: Arc<Mutex<Vec<String>>>,
    _rules: Vec<Rule>,
}

fn world() -> World {
    let store = Store::default();
    let (put, get) = store.rules();
    let s3 = s3_client(&[&put, &get]);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let send = mock!(aws_sdk_sqs::Client::send_message).then_compute_output(move |input| {
        seen.lock()
            .expect("lock")
            .push(input.message_body().unwrap_or_default().to_owned());
        SendMessageOutput::builder().message_id("m-1").build()
    });
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&send], |b| b
        .retry_config(RetryConfig::disabled()));
    World {
        store,
        s3,
        sqs,
        sent,
        _rules: vec![put, get, send],
    }
}

/// The configuration the template sets for the function in `role` (`submit`, `status`, `worker`).
fn config(role: &str) -> Config {
    let mut vars = vec![
        (env::MODEL_ID, "us.anthropic.claude-sonnet-4-6"),
        (env::ROLE, role),
        (env::JOBS_QUEUE_URL, QUEUE),
        (env::JOBS_DEAD_LETTER_ARN, DLQ_ARN),
        (env::JOB_STALE_AFTER_SECONDS, "600"),
    ];
    if role == "worker" {
        vars.push((env::MODEL_TIMEOUT_MS, "120000"));
    }
    common::config(&vars)
}

async fn api(
    w: &World,
    role: &str,
    event: ApiGatewayV2httpRequest,
) -> (i64, http::HeaderMap, serde_json::Value) {
    let unused = answering(REPLY, StopReason::EndTurn);
    let b = bedrock_client(&[&unused]);
    let cfg = config(role);
    let (resp, json) = common::call_with(
        &Deps {
            sqs: Some(&w.sqs),
            ..common::deps(&b, &w.s3, &cfg)
        },
        event,
    )
    .await;
    assert_eq!(
        unused.num_calls(),
        0,
        "the jobs routes never call the model"
    );
    (resp.status_code, resp.headers, json)
}

async fn submit(
    w: &World,
    idempotency_key: Option<&str>,
    body: Option<&str>,
) -> (i64, http::HeaderMap, serde_json::Value) {
    let mut ev = fixture("post-jobs.json");
    if let Some(k) = idempotency_key {
        ev.headers
            .insert("idempotency-key", k.parse().expect("header"));
    }
    if let Some(b) = body {
        ev.body = Some(b.to_owned());
    }
    api(w, "submit", ev).await
}

async fn status_of(w: &World, job_id: &str) -> (i64, serde_json::Value) {
    let mut ev = fixture("get-job.json");
    ev.path_parameters
        .insert("job_id".into(), job_id.to_owned());
    ev.raw_path = Some(format!("/code-generation/jobs/{job_id}"));
    let (status, _, json) = api(w, "status", ev).await;
    (status, json)
}

/// Submits the default job; returns its id.
async fn submit_job(w: &World) -> String {
    let (_, _, submitted) = submit(w, None, None).await;
    submitted["job_id"].as_str().expect("id").to_owned()
}

fn sqs_event(job_id: &str, source: &str) -> SqsEvent {
    serde_json::from_value(serde_json::json!({
        "Records": [{
            "messageId": "m-1",
            "body": format!("{{\"job_id\":\"{job_id}\"}}"),
            "eventSourceARN": source,
        }]
    }))
    .expect("event")
}

async fn work(w: &World, converse: &Rule, event: SqsEvent) -> worker::BatchResponse {
    let b = bedrock_client(&[converse]);
    let cfg = config("worker");
    worker::handle(&common::deps(&b, &w.s3, &cfg), event, None).await
}

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:codegen-dev-jobs";

#[tokio::test]
async fn submit_records_enqueues_and_answers_202_with_location() {
    let w = world();
    let (status, headers, json) = submit(&w, None, None).await;
    assert_eq!(status, 202, "{json}");
    let body: SubmitResponse = serde_json::from_value(json).expect("SubmitResponse");
    assert!(codegen_contract::is_job_id(&body.job_id));
    assert_eq!(body.status, JobStatus::Queued);
    assert_eq!(
        body.status_url,
        format!("/code-generation/jobs/{}", body.job_id)
    );
    assert_eq!(
        headers["location"],
        format!("/code-generation/jobs/{}", body.job_id).as_str()
    );
    assert_eq!(
        w.store.keys(),
        [format!("jobs/{}.json", body.job_id)],
        "a record, no code"
    );
    assert_eq!(
        *w.sent.lock().expect("lock"),
        [format!("{{\"job_id\":\"{}\"}}", body.job_id)]
    );
    // Without a key, every submission is a new job.
    let (_, _, again) = submit(&w, None, None).await;
    assert_ne!(again["job_id"], body.job_id.as_str());
}

#[tokio::test]
async fn invalid_submissions_start_nothing() {
    let w = world();
    for (body, code) in [
        (r#"{"message":"","key":"python"}"#, "invalid_message"),
        (
            r#"{"message":"x","key":"cobol-2099"}"#,
            "unsupported_language",
        ),
        (
            r#"{"message":"x","key":"py","temperature":3}"#,
            "invalid_parameter",
        ),
        (
            r#"{"message":"x","key":"py","model":"other"}"#,
            "unknown_field",
        ),
    ] {
        let (status, _, json) = submit(&w, None, Some(body)).await;
        assert_eq!(status, 400, "{json}");
        assert_eq!(json["error"]["code"], code, "{json}");
    }
    let (status, _, json) = submit(&w, Some("bad key with spaces"), None).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
    assert!(w.store.keys().is_empty() && w.sent.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn idempotency_key_returns_the_same_job_and_refuses_another_body() {
    let w = world();
    let (s1, _, first) = submit(&w, Some("order-7"), None).await;
    let (s2, _, second) = submit(&w, Some("order-7"), None).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["job_id"], second["job_id"]);
    assert_eq!(w.store.keys().len(), 1, "one job");
    let (status, _, conflict) = submit(
        &w,
        Some("order-7"),
        Some(r#"{"message":"something else","key":"rust"}"#),
    )
    .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"]["code"], "idempotency_conflict");
}

#[tokio::test]
async fn worker_runs_the_pipeline_once_even_when_delivered_twice() {
    let w = world();
    let job_id = submit_job(&w).await;
    let converse = answering(REPLY, StopReason::EndTurn);

    let first = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(first.batch_item_failures.is_empty());
    let second = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(second.batch_item_failures.is_empty());
    assert_eq!(
        converse.num_calls(),
        1,
        "a finished job is not generated again"
    );

    let code_keys: Vec<String> = w
        .store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("code-output/"))
        .collect();
    assert_eq!(code_keys.len(), 1, "{code_keys:?}");
    assert!(
        code_keys[0].ends_with(&format!("-{job_id}.py")),
        "{code_keys:?}"
    );

    let (status, json) = status_of(&w, &job_id).await;
    assert_eq!(status, 200, "{json}");
    let job: JobResponse = serde_json::from_value(json).expect("JobResponse");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 1);
    let result = job.result.expect("result");
    assert_eq!(
        result.code,
        "def is_palindrome(s):\n    return s == s[::-1]\n"
    );
    assert_eq!(
        w.store.get(&code_keys[0]).as_deref(),
        Some(result.code.as_str())
    );
    assert_eq!(result.s3.expect("stored").key, code_keys[0]);
    assert_eq!(result.request_id, job_id);
}

#[tokio::test]
async fn retryable_failures_are_retried_and_dead_letters_fail_the_job() {
    let w = world();
    let job_id = submit_job(&w).await;
    let throttled = throttling_exception("Too many requests");
    let r = work(&w, &throttled, sqs_event(&job_id, QUEUE_ARN)).await;
    assert_eq!(r.batch_item_failures.len(), 1, "delivered again later");
    let (_, json) = status_of(&w, &job_id).await;
    assert_eq!(json["status"], "queued", "{json}");

    // Out of deliveries: the dead-letter consumer fails it with the last error.
    let r = work(&w, &throttled, sqs_event(&job_id, DLQ_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        throttled.num_calls(),
        1,
        "the dead-letter path calls no model"
    );
    let (_, json) = status_of(&w, &job_id).await;
    assert_eq!(json["status"], "failed", "{json}");
    assert_eq!(json["error"]["code"], "throttled", "{json}");
}

#[tokio::test]
async fn permanent_failures_fail_the_job_with_the_sync_error_object() {
    let w = world();
    let job_id = submit_job(&w).await;
    let invalid = validation_exception("The provided model identifier is invalid.");
    let r = work(&w, &invalid, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty(), "retrying cannot fix it");
    let (_, json) = status_of(&w, &job_id).await;
    assert_eq!(json["status"], "failed");
    assert_eq!(json["error"]["code"], "model_access", "{json}");
}

#[tokio::test]
async fn status_refuses_bad_ids_unknown_jobs_and_other_callers() {
    let w = world();
    for bad in ["..%2F..%2Fetc", "ZZZ", &"a".repeat(33), &"0".repeat(31)] {
        let (status, json) = status_of(&w, bad).await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (400, Some("invalid_job_id")),
            "{bad}"
        );
    }
    let (status, json) = status_of(&w, &"0".repeat(32)).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (404, Some("job_not_found"))
    );

    let job_id = submit_job(&w).await;
    let mut ev = fixture("get-job.json");
    ev.path_parameters.insert("job_id".into(), job_id.clone());
    if let Some(iam) = ev
        .request_context
        .authorizer
        .as_mut()
        .and_then(|a| a.iam.as_mut())
    {
        iam.user_arn = Some("arn:aws:sts::123456789012:assumed-role/developer/mallory".into());
    }
    let (status, _, json) = api(&w, "status", ev).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (404, Some("job_not_found")),
        "another caller's job looks missing"
    );
    assert!(!json.to_string().contains(&job_id));
}
