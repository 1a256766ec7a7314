//! Load through the deployed local API: N concurrent SigV4-signed `PUT /code-generation` requests
//! (default 500 total, 32 in flight; `CODEGEN_LOAD_REQUESTS` and `CODEGEN_LOAD_CONCURRENCY`
//! override) against the `local` stage on a fresh ministack, within a 5-minute budget. Every
//! request must come back with an HTTP status, and every 200 must have its own S3 object: the
//! keys under `code-output/` are listed and matched one to one, with no collisions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codegen_contract::{GenerateRequest, OUTPUT_PREFIX};
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::{Emulator, default_package, leftovers, note};
use tokio::sync::Semaphore;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";
const DEFAULT_REQUESTS: usize = 500;
const DEFAULT_CONCURRENCY: usize = 32;
/// The whole load phase must finish within this, or the test fails.
const BUDGET: Duration = Duration::from_secs(300);
const LANGUAGES: [(&str, &str); 4] = [
    ("python", "py"),
    ("rust", "rs"),
    ("typescript", "ts"),
    ("go", "go"),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}

#[allow(
    clippy::print_stderr,
    reason = "the summary line is the point of this test"
)]
fn summary(line: &str) {
    eprintln!("{line}");
}

/// What one request ended with.
struct Sample {
    language: &'static str,
    extension: &'static str,
    latency: Duration,
    /// HTTP status, or the transport error when no status came back.
    status: Result<u16, String>,
    /// Error code of a non-200.
    code: Option<String>,
    /// `s3.key` of a 200.
    key: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest-rank percentile.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "index into a short, non-empty slice"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn list_keys(clients: &xtask::aws::Clients, bucket: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut pages = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(OUTPUT_PREFIX)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        keys.extend(
            page?
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_each_get_their_own_object() -> anyhow::Result<()> {
    let total = env_usize("CODEGEN_LOAD_REQUESTS", DEFAULT_REQUESTS);
    let in_flight = env_usize("CODEGEN_LOAD_CONCURRENCY", DEFAULT_CONCURRENCY);
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let url: Arc<str> = deployed
        .outputs
        .get(RESOLVED_INVOKE_URL)
        .cloned()
        .unwrap_or_default()
        .into();
    let existing = list_keys(&admin, &bucket).await?;
    assert!(existing.is_empty(), "fresh bucket holds {existing:?}");

    let clients = Arc::new(admin.clone());
    let permits = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let (language, extension) = LANGUAGES[i % LANGUAGES.len()];
        let (clients, permits, url) = (clients.clone(), permits.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            let request = GenerateRequest {
                message: format!("load request {i}: implement a function that adds two numbers"),
                key: language.to_owned(),
                temperature: None,
                top_k: None,
                top_p: None,
                max_tokens: None,
            };
            let t = Instant::now();
            let result = xtask::invoke::invoke(&clients, AuthMode::AwsIam, &url, &request).await;
            let latency = t.elapsed();
            let (status, code, key) = match result {
                Ok(r) if r.status == 200 => {
                    (Ok(200), None, r.success().and_then(|s| s.s3).map(|l| l.key))
                }
                Ok(r) => (Ok(r.status), r.error().map(|e| e.error.code), None),
                Err(e) => (Err(format!("{e:#}")), None, None),
            };
            Sample {
                language,
                extension,
                latency,
                status,
                code,
                key,
            }
        }));
    }
    let samples = tokio::time::timeout(BUDGET, async {
        let mut samples = Vec::with_capacity(tasks.len());
        for task in tasks {
            samples.push(task.await.expect("request task panicked"));
        }
        samples
    })
    .await
    .map_err(|_| anyhow::anyhow!("{total} requests did not finish within {BUDGET:?}"))?;
    let elapsed = started.elapsed();

    // Tally.
    let mut ok_keys = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut lost = Vec::new();
    let mut ok_without_key = 0;
    for s in &samples {
        match &s.status {
            Ok(200) => match &s.key {
                Some(key) => {
                    assert!(
                        key.starts_with(OUTPUT_PREFIX)
                            && key.ends_with(&format!(".{}", s.extension)),
                        "{} request stored under {key}",
                        s.language
                    );
                    ok_keys.push(key.clone());
                }
                None => ok_without_key += 1,
            },
            Ok(status) => {
                *errors
                    .entry(format!(
                        "{status} {}",
                        s.code.as_deref().unwrap_or("(no code)")
                    ))
                    .or_default() += 1;
            }
            Err(e) => lost.push(e.clone()),
        }
    }
    let ok = ok_keys.len() + ok_without_key;
    let distinct: BTreeSet<&String> = ok_keys.iter().collect();
    let collisions = ok_keys.len() - distinct.len();
    let stored: BTreeSet<String> = list_keys(&admin, &bucket).await?.into_iter().collect();
    let missing: Vec<_> = distinct.iter().filter(|k| !stored.contains(**k)).collect();
    let orphans = stored.len().saturating_sub(distinct.len());

    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let ms = |d: Duration| d.as_millis();
    #[allow(
        clippy::cast_precision_loss,
        reason = "a request count and seconds, for display"
    )]
    let throughput = samples.len() as f64 / elapsed.as_secs_f64();
    let error_total: usize = errors.values().sum();
    if !errors.is_empty() {
        note(&format!("load errors by status and code: {errors:?}"));
    }
    if !lost.is_empty() {
        note(&format!(
            "lost requests (no HTTP status): {:?}",
            &lost[..lost.len().min(5)]
        ));
    }
    summary(&format!(
        "load: {total} requests, {in_flight} in flight, {ok} ok, {error_total} errors, p50 {} ms, \
         p90 {} ms, p99 {} ms, max {} ms, {throughput:.1} req/s over {:.1} s, lost {}, collisions \
         {collisions}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
        elapsed.as_secs_f64(),
        lost.len(),
    ));

    assert_eq!(samples.len(), total);
    assert!(
        lost.is_empty(),
        "{} requests got no HTTP status",
        lost.len()
    );
    assert_eq!(
        ok_without_key, 0,
        "every 200 must report where its code was stored"
    );
    assert_eq!(collisions, 0, "two 200s share an object key");
    assert!(missing.is_empty(), "200s without an object: {missing:?}");
    assert_eq!(
        stored.len(),
        ok,
        "objects under {OUTPUT_PREFIX} ({}, {orphans} unmatched) != 200s ({ok})",
        stored.len()
    );

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}
