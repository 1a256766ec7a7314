//! Job records against ministack's S3 over HTTP (no stack deployed): conditional creates and
//! replaces classified as the function classifies them (`Exists`, `Changed`), and the jobs
//! worker's claims with real conditional writes: two deliveries of one job at the same moment make
//! one model call (the Bedrock test double counts them), a delivery finding a live claim makes
//! none, and code an earlier attempt stored is what the job reports.
//!
//! What the emulator cannot show: S3's 409 `ConditionalRequestConflict` for writes racing inside
//! S3 itself (ministack serialises requests, so a loser always sees 412), and the claim's expiry
//! against a real Lambda deadline (the deadline here is the test's own).

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use codegen_contract::{JobStatus, Principal, env};
use codegen_function::jobs::{self, JobRecord, RecordError, Write};
use codegen_function::worker::{self, SqsEvent};
use codegen_function::{Config, Deps};
use e2e_tests::Emulator;
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour, Pacing};
use xtask::aws::Clients;

const BUCKET: &str = "codegen-claims-test";
const MODEL: &str = "us.anthropic.claude-sonnet-4-6";

fn owner() -> Principal {
    Principal::Role {
        account: "000000000000".into(),
        role_id: "AROAEXAMPLEEXAMPLE000".into(),
    }
}

async fn bucket(admin: &Clients) -> anyhow::Result<()> {
    admin.s3.create_bucket().bucket(BUCKET).send().await?;
    Ok(())
}

fn worker_config() -> anyhow::Result<Config> {
    Ok(Config::from_lookup(|name| {
        let value = match name {
            n if n == env::BUCKET => BUCKET,
            n if n == env::MODEL_ID => MODEL,
            n if n == env::ROLE => "worker",
            n if n == env::MODEL_TIMEOUT_MS => "60000",
            n if n == env::JOB_STALE_AFTER_SECONDS => "600",
            _ => return None,
        };
        Some(value.to_owned())
    })?)
}

fn bedrock(double: &BedrockDouble) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(&double.endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "claims-test"))
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

fn delivery(job_id: &str) -> anyhow::Result<SqsEvent> {
    Ok(serde_json::from_value(serde_json::json!({
        "Records": [{
            "messageId": format!("m-{job_id}"),
            "body": format!("{{\"job_id\":\"{job_id}\"}}"),
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:codegen-local-jobs",
        }]
    }))?)
}

async fn new_job(admin: &Clients) -> anyhow::Result<JobRecord> {
    let id = jobs::random_job_id();
    let record = JobRecord::queued(
        &id,
        time::OffsetDateTime::now_utc(),
        &owner(),
        r#"{"message":"write fizzbuzz","key":"python"}"#,
        &format!("code-output/claims/{id}.py"),
    );
    jobs::put_record(&admin.s3, BUCKET, &record, Write::Create).await?;
    Ok(record)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_record_writes_are_classified_as_s3_answers_them() -> anyhow::Result<()> {
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    bucket(&admin).await?;
    let record = new_job(&admin).await?;

    assert_eq!(
        jobs::put_record(&admin.s3, BUCKET, &record, Write::Create).await,
        Err(RecordError::Exists),
        "a second create loses"
    );
    let read = jobs::get_record_tagged(&admin.s3, BUCKET, &record.job_id).await?;
    assert_eq!(read.value, record);
    assert!(!read.etag.is_empty(), "GetObject returns the ETag");
    let mut claimed = record.clone();
    claimed.status = JobStatus::Running;
    let etag2 = jobs::put_record(&admin.s3, BUCKET, &claimed, Write::Replace(&read.etag)).await?;
    assert_ne!(etag2, read.etag);
    assert_eq!(
        jobs::put_record(&admin.s3, BUCKET, &record, Write::Replace(&read.etag)).await,
        Err(RecordError::Changed),
        "a replace with the ETag read before the claim loses"
    );
    jobs::put_record(&admin.s3, BUCKET, &claimed, Write::Replace(&etag2)).await?;
    let mut missing = record.clone();
    missing.job_id = jobs::random_job_id();
    assert_eq!(
        jobs::put_record(&admin.s3, BUCKET, &missing, Write::Replace(&etag2)).await,
        Err(RecordError::Changed),
        "If-Match on a key that is gone"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_at_once_make_one_model_call() -> anyhow::Result<()> {
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    bucket(&admin).await?;
    // A paced model, so the second delivery arrives while the first is generating.
    let double = BedrockDouble::start(Behaviour {
        pacing: Pacing {
            first_token: Duration::from_millis(800),
            tokens_per_second: f64::INFINITY,
        },
        ..Behaviour::default()
    })
    .await?;
    let bedrock = bedrock(&double);
    let config = worker_config()?;
    let deps = Deps {
        bedrock: &bedrock,
        s3: &admin.s3,
        sqs: None,
        dynamodb: None,
        config: &config,
        clock: time::OffsetDateTime::now_utc,
    };
    let deadline = Some(Instant::now() + Duration::from_secs(60));

    let record = new_job(&admin).await?;
    let (a, b) = tokio::join!(
        worker::handle(&deps, delivery(&record.job_id)?, deadline),
        worker::handle(&deps, delivery(&record.job_id)?, deadline),
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    assert_eq!(double.received(), 1, "one generation for two deliveries");
    let done = jobs::get_record(&admin.s3, BUCKET, &record.job_id).await?;
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 1));

    // A third delivery of the finished job: nothing.
    worker::handle(&deps, delivery(&record.job_id)?, deadline).await;
    assert_eq!(double.received(), 1);

    // A live claim held by another invocation: the delivery is dropped, no model call.
    let mut running = new_job(&admin).await?;
    let tagged = jobs::get_record_tagged(&admin.s3, BUCKET, &running.job_id).await?;
    running.status = JobStatus::Running;
    running.attempts = 1;
    running.claimed_until = Some(jobs::timestamp(
        time::OffsetDateTime::now_utc() + Duration::from_secs(120),
    ));
    jobs::put_record(&admin.s3, BUCKET, &running, Write::Replace(&tagged.etag)).await?;
    let r = worker::handle(&deps, delivery(&running.job_id)?, deadline).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        double.received(),
        1,
        "no generation while the claim is live"
    );
    assert_eq!(
        jobs::get_record(&admin.s3, BUCKET, &running.job_id).await?,
        running,
        "untouched"
    );

    // Code an earlier attempt stored: kept, and the job reports that object.
    let stored = new_job(&admin).await?;
    let earlier = "print('from an earlier attempt')\n";
    admin
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(&stored.code_key)
        .body(earlier.as_bytes().to_vec().into())
        .metadata("model", "us.anthropic.claude-earlier")
        .send()
        .await?;
    let r = worker::handle(&deps, delivery(&stored.job_id)?, deadline).await;
    assert!(r.batch_item_failures.is_empty());
    let done = jobs::get_record(&admin.s3, BUCKET, &stored.job_id).await?;
    let result = done.result.expect("succeeded");
    assert_eq!(result.model, "us.anthropic.claude-earlier");
    assert!(result.syntax.is_ok(), "{:?}", result.syntax);
    let body = admin
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(&stored.code_key)
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    assert_eq!(body.as_ref(), earlier.as_bytes(), "kept, not replaced");
    Ok(())
}
