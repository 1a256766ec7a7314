//! The jobs routes and the worker, fed API Gateway v2 and SQS events, with S3 as an in-memory
//! store behind `aws-smithy-mocks` (conditional writes answered as S3 does: 412 when
//! `If-None-Match: *` meets an existing key or `If-Match` another ETag, 404 when `If-Match` meets
//! none), SQS and Bedrock mocked at the SDK edge. Covers who owns a job (principals, not
//! sessions; legacy records), `Idempotency-Key` mappings, and the worker's claims.

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

/// S3 as a map from key to (bytes, ETag, metadata), with S3's answers to a lost conditional
/// write (412 when `If-None-Match: *` meets an existing key or `If-Match` a different ETag, 404
/// when `If-Match` meets no object), and to a missing key for a caller without `s3:ListBucket`
/// (403 AccessDenied, which the function's roles get). Every write gets a new ETag. `interfere`
/// runs once, just before the next `If-Match` write is judged: what another invocation would do
/// between this one's read and its write.
/// What happens between one invocation's read and its conditional write.
type Interference = Box<dyn FnOnce(&Store) + Send>;

#[derive(Clone, Default)]
struct Store {
    objects: Arc<Mutex<HashMap<String, Object>>>,
    interfere: Arc<Mutex<Option<Interference>>>,
    writes: Arc<Mutex<u64>>,
}

#[derive(Clone)]
struct Object {
    bytes: Vec<u8>,
    etag: String,
    metadata: HashMap<String, String>,
}

fn s3_error(
    status: u16,
    code: &str,
) -> MockResponse<
    aws_sdk_s3::operation::put_object::PutObjectOutput,
    aws_sdk_s3::operation::put_object::PutObjectError,
> {
    let mut resp = HttpResponse::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(format!(
            "<Error><Code>{code}</Code><Message>{code}</Message></Error>"
        )),
    );
    resp.headers_mut().insert("content-type", "application/xml");
    MockResponse::Http(resp)
}

impl Store {
    fn rules(&self) -> (Rule, Rule) {
        let put_store = self.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |input| {
            let key = input.key().unwrap_or_default().to_owned();
            if input.if_match().is_some() {
                let hook = put_store.interfere.lock().expect("lock").take();
                if let Some(hook) = hook {
                    hook(&put_store);
                }
            }
            let mut map = put_store.objects.lock().expect("lock");
            if input.if_none_match() == Some("*") && map.contains_key(&key) {
                return s3_error(412, "PreconditionFailed");
            }
            if let Some(want) = input.if_match() {
                match map.get(&key) {
                    None => return s3_error(404, "NoSuchKey"),
                    Some(o) if o.etag != want => return s3_error(412, "PreconditionFailed"),
                    Some(_) => {}
                }
            }
            let etag = put_store.next_etag();
            map.insert(
                key,
                Object {
                    bytes: input.body().bytes().unwrap_or_default().to_vec(),
                    etag: etag.clone(),
                    metadata: input.metadata().cloned().unwrap_or_default(),
                },
            );
            MockResponse::Output(PutObjectOutput::builder().e_tag(etag).build())
        });
        let get_store = self.clone();
        let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |input| {
            let key = input.key().unwrap_or_default();
            match get_store.objects.lock().expect("lock").get(key) {
                Some(o) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .body(ByteStream::from(o.bytes.clone()))
                        .e_tag(o.etag.clone())
                        .set_metadata(Some(o.metadata.clone()))
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

    fn next_etag(&self) -> String {
        let mut n = self.writes.lock().expect("lock");
        *n += 1;
        format!("\"etag-{n}\"")
    }

    fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.objects.lock().expect("lock").keys().cloned().collect();
        k.sort();
        k
    }

    fn get(&self, key: &str) -> Option<String> {
        self.objects
            .lock()
            .expect("lock")
            .get(key)
            .map(|o| String::from_utf8_lossy(&o.bytes).into_owned())
    }

    /// Writes an object directly (as an earlier invocation, or older code, would have).
    fn put(&self, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) {
        let etag = self.next_etag();
        self.objects.lock().expect("lock").insert(
            key.to_owned(),
            Object {
                bytes: bytes.to_vec(),
                etag,
                metadata: metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
        );
    }

    /// Deletes an object (as if a write never happened).
    fn remove(&self, key: &str) {
        self.objects.lock().expect("lock").remove(key);
    }

    /// The record of `job_id`, as JSON.
    fn record(&self, job_id: &str) -> serde_json::Value {
        let text = self.get(&format!("jobs/{job_id}.json")).expect("record");
        serde_json::from_str(&text).expect("JSON record")
    }

    /// Rewrites the record of `job_id` through `edit`.
    fn edit_record(&self, job_id: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut r = self.record(job_id);
        edit(&mut r);
        self.put(
            &format!("jobs/{job_id}.json"),
            r.to_string().as_bytes(),
            &[],
        );
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
            dynamodb: None,
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
    let records: Vec<String> = w
        .store
        .keys()
        .into_iter()
        .filter(|k| !k.starts_with("jobs/keys/"))
        .collect();
    assert_eq!(records.len(), 1, "one job: {records:?}");
    assert_eq!(
        w.sent.lock().expect("lock").len(),
        1,
        "the replay did not enqueue the job again"
    );
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
    as_caller(&mut ev, &assumed("developer", OTHER_ROLE_ID, "alice"));
    let (status, _, json) = api(&w, "status", ev).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (404, Some("job_not_found")),
        "another principal's job looks missing"
    );
    assert!(!json.to_string().contains(&job_id));
}

const ACCT: &str = "123456789012";
/// The role of the fixtures' caller (`AROAEXAMPLEEXAMPLE000`, session `alice`).
const ROLE_ID: &str = "AROAEXAMPLEEXAMPLE000";
/// A role re-created under the fixtures' role name, or another role altogether.
const OTHER_ROLE_ID: &str = "AROAOTHERROLEEXAMPL00";

/// An IAM authorizer context for a session of role `role` (unique id `role_id`).
fn assumed(role: &str, role_id: &str, session: &str) -> (String, String) {
    (
        format!("arn:aws:sts::{ACCT}:assumed-role/{role}/{session}"),
        format!("{role_id}:{session}"),
    )
}

fn as_caller(ev: &mut ApiGatewayV2httpRequest, (arn, user_id): &(String, String)) {
    let iam = ev
        .request_context
        .authorizer
        .as_mut()
        .and_then(|a| a.iam.as_mut())
        .expect("the fixture is IAM-signed");
    iam.user_arn = Some(arn.clone());
    iam.user_id = Some(user_id.clone());
    iam.caller_id = Some(user_id.clone());
}

async fn submit_as(
    w: &World,
    caller: &(String, String),
    idempotency_key: Option<&str>,
    body: Option<&str>,
) -> (i64, serde_json::Value) {
    let mut ev = fixture("post-jobs.json");
    as_caller(&mut ev, caller);
    if let Some(k) = idempotency_key {
        ev.headers
            .insert("idempotency-key", k.parse().expect("header"));
    }
    if let Some(b) = body {
        ev.body = Some(b.to_owned());
    }
    let (status, _, json) = api(w, "submit", ev).await;
    (status, json)
}

async fn status_as(w: &World, caller: &(String, String), job_id: &str) -> (i64, serde_json::Value) {
    let mut ev = fixture("get-job.json");
    ev.path_parameters
        .insert("job_id".into(), job_id.to_owned());
    ev.raw_path = Some(format!("/code-generation/jobs/{job_id}"));
    as_caller(&mut ev, caller);
    let (status, _, json) = api(w, "status", ev).await;
    (status, json)
}

/// Sessions of one role are one principal (the session name is the caller's choice): each reads
/// the other's jobs and replays its keys. Another role, or the same role name re-created, is
/// another principal: same key text, different job, never a 409, and its reads of the first
/// job get exactly the answer a job that does not exist gets.
#[tokio::test]
async fn jobs_belong_to_the_principal_not_the_session_and_keys_do_not_cross_principals() {
    let w = world();
    let alice = assumed("developer", ROLE_ID, "alice");
    let xtask = assumed("developer", ROLE_ID, "codegen-xtask");
    let recreated = assumed("developer", OTHER_ROLE_ID, "alice");

    let (s, first) = submit_as(&w, &alice, Some("order-7"), None).await;
    assert_eq!(s, 202, "{first}");
    let job_id = first["job_id"].as_str().expect("id").to_owned();
    let (s, again) = submit_as(&w, &xtask, Some("order-7"), None).await;
    assert_eq!(
        (s, &again["job_id"]),
        (202, &first["job_id"]),
        "one principal"
    );
    let (s, _) = status_as(&w, &xtask, &job_id).await;
    assert_eq!(s, 200);

    // The re-created role: the same key text with another body is a new job, not a conflict.
    let (s, theirs) = submit_as(
        &w,
        &recreated,
        Some("order-7"),
        Some(r#"{"message":"something else","key":"rust"}"#),
    )
    .await;
    assert_eq!(
        s, 202,
        "no 409 tells another principal the key was used: {theirs}"
    );
    assert_ne!(theirs["job_id"], first["job_id"]);

    let (s_foreign, foreign) = status_as(&w, &recreated, &job_id).await;
    let (s_missing, missing) = status_as(&w, &recreated, &"0".repeat(32)).await;
    assert_eq!(
        (s_foreign, &foreign),
        (s_missing, &missing),
        "foreign == missing"
    );
    assert_eq!(foreign["error"]["code"], "job_not_found");
    // Ids are random, never derived from the principal and key.
    assert_ne!(job_id, theirs["job_id"].as_str().expect("id"));
    assert_eq!(
        w.sent.lock().expect("lock").len(),
        2,
        "two jobs, two messages"
    );
}

/// A request whose IAM identity cannot be read is refused before anything is read or written,
/// with the reason; an unauthenticated route (no authorizer block) is the one anonymous
/// principal.
#[tokio::test]
async fn unidentifiable_callers_are_refused_and_say_why() {
    let w = world();
    let job_id = submit_job(&w).await;
    let keys_before = w.store.keys();
    let cases = [
        (
            assumed("developer", ROLE_ID, "alice").0,
            format!("{ROLE_ID}:mallory"),
            "session in userId differs",
        ),
        (
            format!("arn:aws:sts::{ACCT}:federated-user/bob"),
            format!("{ACCT}:bob"),
            "federated users",
        ),
        ("not-an-arn".to_owned(), ROLE_ID.to_owned(), "not an ARN"),
    ];
    for (arn, user_id, why) in cases {
        let caller = (arn, user_id);
        let (s, json) = submit_as(&w, &caller, Some("k"), None).await;
        assert_eq!(
            (s, json["error"]["code"].as_str()),
            (403, Some("unidentified_caller")),
            "{json}"
        );
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(why)),
            "{json}"
        );
        let (s, json) = status_as(&w, &caller, &job_id).await;
        assert_eq!(
            (s, json["error"]["code"].as_str()),
            (403, Some("unidentified_caller")),
            "{json}"
        );
    }
    assert_eq!(w.store.keys(), keys_before, "nothing written");
    assert_eq!(w.sent.lock().expect("lock").len(), 1);

    // No authorizer block at all: an unauthenticated route; its jobs are the anonymous
    // principal's, not the fixture caller's.
    let mut ev = fixture("post-jobs.json");
    ev.request_context.authorizer = None;
    let (s, _, json) = api(&w, "submit", ev).await;
    assert_eq!(s, 202, "{json}");
    let anon_job = json["job_id"].as_str().expect("id").to_owned();
    assert_eq!(w.store.record(&anon_job)["owner"], "anonymous");
    let (s, _) = status_of(&w, &anon_job).await;
    assert_eq!(
        s, 404,
        "a signed caller does not read the anonymous principal's job"
    );
}

/// Records written before principals (`caller` = the submitter's userArn, no `owner`) stay
/// readable by that userArn and by nobody else, until the lifecycle rule expires them.
#[tokio::test]
async fn records_written_before_principals_stay_readable_by_their_submitter() {
    let w = world();
    let job_id = submit_job(&w).await;
    let alice = assumed("developer", ROLE_ID, "alice");
    w.store.edit_record(&job_id, |r| {
        let o = r.as_object_mut().expect("object");
        o.remove("owner");
        o.remove("enqueued");
        o.insert("caller".into(), alice.0.clone().into());
    });
    let (s, json) = status_as(&w, &alice, &job_id).await;
    assert_eq!(s, 200, "{json}");
    assert_eq!(json["status"], "queued");
    // Exactly the old rule: another ARN (even a session of the same role) does not match it.
    let (s, _) = status_as(&w, &assumed("developer", ROLE_ID, "mallory"), &job_id).await;
    assert_eq!(s, 404);
    let (s, _) = status_as(&w, &assumed("developer", OTHER_ROLE_ID, "bob"), &job_id).await;
    assert_eq!(s, 404);
    // The worker still runs it.
    let converse = answering(REPLY, StopReason::EndTurn);
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    let (_, json) = status_as(&w, &alice, &job_id).await;
    assert_eq!(json["status"], "succeeded", "{json}");
}

/// A replayed submission enqueues a `queued` job only when its first submission never sent the
/// message and has had time to; otherwise the message already on the queue carries it.
#[tokio::test]
async fn a_replayed_queued_job_is_enqueued_only_if_it_never_was() {
    let w = world();
    let (_, _, first) = submit(&w, Some("order-9"), None).await;
    let job_id = first["job_id"].as_str().expect("id").to_owned();
    assert_eq!(w.store.record(&job_id)["enqueued"], true);
    for _ in 0..3 {
        let (s, _, again) = submit(&w, Some("order-9"), None).await;
        assert_eq!((s, &again["status"]), (202, &serde_json::json!("queued")));
    }
    assert_eq!(w.sent.lock().expect("lock").len(), 1, "enqueued once");

    // The first submission stopped between recording the job and sending its message: a replay
    // within the grace period leaves it to that invocation; after it, enqueues it, once.
    w.store
        .edit_record(&job_id, |r| r["enqueued"] = false.into());
    let (s, _, _) = submit(&w, Some("order-9"), None).await;
    assert_eq!(s, 202);
    assert_eq!(
        w.sent.lock().expect("lock").len(),
        1,
        "within the grace period"
    );
    let old = codegen_function::jobs::timestamp(
        common::fixed_clock()
            - std::time::Duration::from_secs(
                u64::try_from(codegen_function::jobs_api::ENQUEUE_GRACE_SECONDS + 1)
                    .expect("positive"),
            ),
    );
    w.store.edit_record(&job_id, |r| {
        r["enqueued"] = false.into();
        r["created_at"] = old.clone().into();
    });
    submit(&w, Some("order-9"), None).await;
    submit(&w, Some("order-9"), None).await;
    assert_eq!(
        w.sent.lock().expect("lock").len(),
        2,
        "enqueued again, once"
    );
    assert_eq!(w.store.record(&job_id)["enqueued"], true);
}

/// A delivery that finds the job claimed by a live invocation is a duplicate: dropped, no model
/// call, the record untouched. Once the claim has lapsed (its invocation is gone), a delivery
/// claims and runs it.
#[tokio::test]
async fn a_running_job_with_a_live_claim_is_not_generated_again() {
    let w = world();
    let job_id = submit_job(&w).await;
    let live = codegen_function::jobs::timestamp(
        common::fixed_clock() + std::time::Duration::from_secs(120),
    );
    w.store.edit_record(&job_id, |r| {
        r["status"] = "running".into();
        r["attempts"] = 1.into();
        r["claimed_until"] = live.clone().into();
    });
    let before = w.store.record(&job_id);
    let converse = answering(REPLY, StopReason::EndTurn);
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty(), "the duplicate is dropped");
    assert_eq!(converse.num_calls(), 0, "no second generation");
    assert_eq!(
        w.store.record(&job_id),
        before,
        "the live attempt's record is untouched"
    );
    // The dead-letter consumer does not fail a job a live attempt is running either.
    let r = work(&w, &converse, sqs_event(&job_id, DLQ_ARN)).await;
    assert_eq!(r.batch_item_failures.len(), 1, "kept for later");
    assert_eq!(w.store.record(&job_id), before);

    let lapsed = codegen_function::jobs::timestamp(
        common::fixed_clock() - std::time::Duration::from_secs(1),
    );
    w.store
        .edit_record(&job_id, |r| r["claimed_until"] = lapsed.clone().into());
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(converse.num_calls(), 1);
    let done = w.store.record(&job_id);
    assert_eq!(
        (done["status"].as_str(), done["attempts"].as_u64()),
        (Some("succeeded"), Some(2))
    );
    assert!(
        done.get("claimed_until").is_none(),
        "a finished job holds no claim"
    );
}

/// Two deliveries read the same `queued` record; the other one's claim lands between this one's
/// read and its write. This one's conditional write loses (412), it reads the record again, finds
/// the live claim and drops its delivery: one generation, not two.
#[tokio::test]
async fn of_two_claims_on_one_read_only_one_wins() {
    let w = world();
    let job_id = submit_job(&w).await;
    let live = codegen_function::jobs::timestamp(
        common::fixed_clock() + std::time::Duration::from_secs(120),
    );
    let id = job_id.clone();
    *w.store.interfere.lock().expect("lock") = Some(Box::new(move |store: &Store| {
        store.edit_record(&id, |r| {
            r["status"] = "running".into();
            r["attempts"] = 1.into();
            r["claimed_until"] = live.into();
        });
    }));
    let converse = answering(REPLY, StopReason::EndTurn);
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(converse.num_calls(), 0, "the loser does not generate");
    assert_eq!(
        w.store.record(&job_id)["attempts"],
        1,
        "only the winner's attempt counts"
    );

    // Control: the same change without a claim (the submitter marking the record enqueued) does
    // not stop the worker: it reads again and claims.
    let w = world();
    let job_id = submit_job(&w).await;
    let id = job_id.clone();
    *w.store.interfere.lock().expect("lock") = Some(Box::new(move |store: &Store| {
        store.edit_record(&id, |r| r["enqueued"] = true.into());
    }));
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(converse.num_calls(), 1);
    assert_eq!(w.store.record(&job_id)["status"], "succeeded");
}

/// An earlier attempt stored the code and stopped before recording success: this attempt's
/// create-only write finds it (`AlreadyThere`), keeps it, and the job's result describes that
/// stored object (its code, its syntax check, its model), not this attempt's answer.
#[tokio::test]
async fn code_an_earlier_attempt_stored_is_what_the_job_reports() {
    let w = world();
    let job_id = submit_job(&w).await;
    let code_key = w.store.record(&job_id)["code_key"]
        .as_str()
        .expect("code key")
        .to_owned();
    let earlier = "def is_palindrome(s):\n    return s == s[::-1\n";
    w.store.put(
        &code_key,
        earlier.as_bytes(),
        &[
            ("model", "us.anthropic.claude-earlier-v1:0"),
            ("language", "python"),
        ],
    );
    let converse = answering(REPLY, StopReason::EndTurn);
    let r = work(&w, &converse, sqs_event(&job_id, QUEUE_ARN)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        w.store.get(&code_key).as_deref(),
        Some(earlier),
        "kept, not replaced"
    );
    let (s, json) = status_of(&w, &job_id).await;
    assert_eq!(s, 200, "{json}");
    let job: JobResponse = serde_json::from_value(json).expect("JobResponse");
    let result = job.result.expect("succeeded");
    assert_eq!(result.code, earlier);
    assert_eq!(result.model, "us.anthropic.claude-earlier-v1:0");
    assert!(
        result.syntax.has_errors(),
        "the stored code's own check (this attempt's answer parses): {:?}",
        result.syntax
    );
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("earlier attempt")),
        "{:?}",
        result.warnings
    );
}

/// The first submission recorded its `Idempotency-Key` and stopped before writing the job record:
/// the replay finds the mapping, writes the record under the mapped id and enqueues it.
#[tokio::test]
async fn a_key_whose_first_submission_stopped_before_the_record_recovers_on_replay() {
    let w = world();
    let (_, _, first) = submit(&w, Some("order-11"), None).await;
    let job_id = first["job_id"].as_str().expect("id").to_owned();
    w.store.remove(&format!("jobs/{job_id}.json"));
    let (s, _, again) = submit(&w, Some("order-11"), None).await;
    assert_eq!((s, again["job_id"].as_str()), (202, Some(job_id.as_str())));
    assert_eq!(w.store.record(&job_id)["status"], "queued");
    assert_eq!(
        w.sent.lock().expect("lock").len(),
        2,
        "the recreated job is enqueued"
    );
}

/// The event as JSON, edited, read back as API Gateway would deliver it.
fn edited_fixture(
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> ApiGatewayV2httpRequest {
    let mut json = serde_json::to_value(fixture(name)).expect("fixture as JSON");
    edit(&mut json);
    serde_json::from_value(json).expect("still an API Gateway v2 event")
}

fn cognito(identity: &'static str) -> impl FnOnce(&mut serde_json::Value) {
    move |ev: &mut serde_json::Value| {
        let iam = &mut ev["requestContext"]["authorizer"]["iam"];
        iam["userArn"] =
            "arn:aws:sts::123456789012:assumed-role/Cognito_PoolAuth_Role/CognitoIdentityCredentials".into();
        iam["userId"] = "AROAEXAMPLEEXAMPLE000:CognitoIdentityCredentials".into();
        iam["callerId"] = iam["userId"].clone();
        iam["cognitoIdentity"] = serde_json::json!({
            "amr": ["authenticated"],
            "identityId": identity,
            "identityPoolId": "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce",
        });
    }
}

/// Cognito identity-pool callers share one role; each identity is its own principal. An
/// authorizer block without an IAM identity (a JWT authorizer) is refused.
#[tokio::test]
async fn cognito_identities_are_principals_and_other_authorizers_are_refused() {
    let w = world();
    let one = "us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce";
    let two = "us-east-1:00000000-8703-466b-8f2b-3ecee1ca56ce";
    let (s, _, json) = api(&w, "submit", edited_fixture("post-jobs.json", cognito(one))).await;
    assert_eq!(s, 202, "{json}");
    let job_id = json["job_id"].as_str().expect("id").to_owned();
    assert_eq!(
        w.store.record(&job_id)["owner"],
        format!("cognito:us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce/{one}")
    );
    let read_as = |identity: &'static str| {
        let id = job_id.clone();
        edited_fixture("get-job.json", move |ev| {
            cognito(identity)(ev);
            ev["pathParameters"]["job_id"] = id.clone().into();
            ev["rawPath"] = format!("/code-generation/jobs/{id}").into();
        })
    };
    let (s, _, _) = api(&w, "status", read_as(one)).await;
    assert_eq!(s, 200);
    let (s, _, json) = api(&w, "status", read_as(two)).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (404, Some("job_not_found"))
    );

    let jwt = edited_fixture("post-jobs.json", |ev| {
        ev["requestContext"]["authorizer"] =
            serde_json::json!({"jwt": {"claims": {"sub": "alice"}, "scopes": null}});
    });
    let (s, _, json) = api(&w, "submit", jwt).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (403, Some("unidentified_caller")),
        "{json}"
    );
}
