//! Handler overhead benchmark: runs the real [`handle`] (parse, validate, prompt, Bedrock call,
//! extract, key, S3 put, response) in a hand-rolled timing loop and prints p50/p90/p99/max.
//!
//! Bedrock is always mocked with `aws-smithy-mocks` (the model's own latency is not ours to
//! measure). S3 is mocked too unless `--s3-endpoint http://127.0.0.1:<port>` names a local S3
//! emulator; then the real SDK client writes to it, and a bare `PutObject` loop of the same size is
//! timed as well, so the local round trip can be reported separately and subtracted.
//!
//! ```text
//! cargo run --release -p codegen-function --example handler_overhead -- [--iterations N]
//!     [--warmup N] [--reply-tokens N] [--s3-endpoint URL] [--max-p99-ms MS] [--json]
//! ```
//! `--reply-tokens N` answers about N output tokens of valid Python (4 bytes a token) instead of
//! the default ~1 KiB; the syntax check of that code is also timed on its own.
//! IO: reads the API Gateway fixture under `tests/fixtures/apigw/`; with `--s3-endpoint`, creates a
//! bucket on that (loopback) endpoint and writes objects to it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark binary: printing the figures is its purpose"
)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, Message, StopReason, TokenUsage,
};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::retry::RetryConfig;
use codegen_contract::env;
use codegen_function::{Config, Deps, clients, handle};
use lambda_runtime::{Context, LambdaEvent};

const BUCKET: &str = "codegen-bench-bucket";
const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
/// A realistic reply: prose around one fenced block of about 1 KiB of code.
const REPLY_HEAD: &str = "Here is an implementation with tests.\n\n```python\n";
const REPLY_TAIL: &str = "```\n\nIt runs in O(log n) time and handles empty input.";

struct Options {
    iterations: usize,
    warmup: usize,
    s3_endpoint: Option<String>,
    max_p99_ms: Option<f64>,
    json: bool,
    reply_tokens: Option<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        iterations: 5_000,
        warmup: 500,
        s3_endpoint: None,
        max_p99_ms: None,
        json: false,
        reply_tokens: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--iterations" => {
                o.iterations = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?;
            }
            "--warmup" => o.warmup = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--s3-endpoint" => o.s3_endpoint = Some(value(&a)?),
            "--max-p99-ms" => {
                o.max_p99_ms = Some(value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?);
            }
            "--json" => o.json = true,
            "--reply-tokens" => {
                o.reply_tokens = Some(value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.iterations == 0 {
        return Err("--iterations must be at least 1".to_owned());
    }
    Ok(o)
}

fn reply(tokens: Option<usize>) -> String {
    let Some(tokens) = tokens else {
        let mut body = String::from("def binary_search(items: list[int], target: int) -> int:\n");
        while body.len() < 1024 {
            body.push_str("    # keep the invariant: items[lo] <= target < items[hi]\n");
        }
        body.push_str("    return -1\n");
        return format!("{REPLY_HEAD}{body}{REPLY_TAIL}");
    };
    // About four bytes of code per output token.
    let mut body = String::new();
    let mut i = 0;
    while body.len() < tokens * 4 {
        body.push_str(&format!(
            "def search_{i}(items: list[int], target: int) -> int:\n    lo, hi = 0, len(items) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if items[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return lo\n\n\n"
        ));
        i += 1;
    }
    format!("{REPLY_HEAD}{body}{REPLY_TAIL}")
}

fn converse_rule(reply: String, output_tokens: i32) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_compute_output(move |_| {
        let message = Message::builder()
            .role(ConversationRole::Assistant)
            .content(ContentBlock::Text(reply.clone()))
            .build()
            .expect("static message is valid");
        ConverseOutput::builder()
            .output(aws_sdk_bedrockruntime::types::ConverseOutput::Message(
                message,
            ))
            .stop_reason(StopReason::EndTurn)
            .usage(
                TokenUsage::builder()
                    .input_tokens(120)
                    .output_tokens(output_tokens)
                    .total_tokens(120 + output_tokens)
                    .build()
                    .expect("static usage is valid"),
            )
            .build()
            .expect("static output is valid")
    })
}

fn fixture() -> ApiGatewayV2httpRequest {
    let path = format!(
        "{}/../../tests/fixtures/apigw/put-code-generation.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Latency summary in microseconds.
struct Summary {
    n: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| {
        // Nearest-rank percentile.
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        us(samples[rank - 1])
    };
    let total: Duration = samples.iter().sum();
    Summary {
        n: samples.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: us(samples[samples.len() - 1]),
        mean: us(total) / samples.len() as f64,
    }
}

fn print_summary(name: &str, s: &Summary, json: bool) {
    if json {
        println!(
            "{{\"bench\":\"{name}\",\"n\":{},\"p50_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1},\"mean_us\":{:.1}}}",
            s.n, s.p50, s.p90, s.p99, s.max, s.mean
        );
    } else {
        println!(
            "{name:<28} n={:<6} p50={:>8.1} us  p90={:>8.1} us  p99={:>8.1} us  max={:>9.1} us  mean={:>8.1} us",
            s.n, s.p50, s.p90, s.p99, s.max, s.mean
        );
    }
}

async fn time_handler(deps: &Deps<'_>, event: &ApiGatewayV2httpRequest, o: &Options) -> Summary {
    let run = |i: usize| {
        let mut context = Context::default();
        context.request_id = format!("bench-{i:08}");
        let ev = LambdaEvent::new(event.clone(), context);
        async move {
            let started = Instant::now();
            let resp = handle(deps, ev).await.expect("handler answers with Ok");
            let elapsed = started.elapsed();
            assert_eq!(resp.status_code, 200, "{:?}", resp.body);
            elapsed
        }
    };
    for i in 0..o.warmup {
        run(i).await;
    }
    let mut samples = Vec::with_capacity(o.iterations);
    for i in 0..o.iterations {
        samples.push(run(o.warmup + i).await);
    }
    summarise(samples)
}

/// Times a bare `PutObject` of the same size as the handler's, to isolate the local round trip.
async fn time_put(s3: &aws_sdk_s3::Client, o: &Options, size: usize) -> Summary {
    let body = vec![b'x'; size];
    let mut samples = Vec::with_capacity(o.iterations);
    for i in 0..(o.warmup + o.iterations) {
        let started = Instant::now();
        s3.put_object()
            .bucket(BUCKET)
            .key(format!("bench/put-{i:08}.py"))
            .content_type("text/x-python; charset=utf-8")
            .body(body.clone().into())
            .send()
            .await
            .expect("local PutObject succeeds");
        if i >= o.warmup {
            samples.push(started.elapsed());
        }
    }
    summarise(samples)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Current-thread runtime: the Lambda handles one event at a time, and one thread keeps the
    // figures free of cross-core scheduling noise on a shared machine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(o))
}

async fn run(o: Options) -> ExitCode {
    let reply = reply(o.reply_tokens);
    let code_bytes = reply.len() - REPLY_HEAD.len() - REPLY_TAIL.len();
    let code = reply[REPLY_HEAD.len()..reply.len() - REPLY_TAIL.len()].to_owned();
    let output_tokens = o
        .reply_tokens
        .map_or(300, |t| i32::try_from(t).unwrap_or(i32::MAX));
    let converse = converse_rule(reply, output_tokens);
    let bedrock = mock_client!(
        aws_sdk_bedrockruntime,
        RuleMode::MatchAny,
        &[&converse],
        |b| b.retry_config(RetryConfig::disabled())
    );
    let event = fixture();
    let mut config = Config::from_lookup(|name| match name {
        n if n == env::BUCKET => Some(BUCKET.to_owned()),
        n if n == env::MODEL_ID => Some(MODEL.to_owned()),
        _ => None,
    })
    .expect("valid config");

    if !o.json {
        println!(
            "handler overhead: {} iterations after {} warm-up, Bedrock mocked, reply {} bytes of code, build {}",
            o.iterations,
            o.warmup,
            code_bytes,
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        );
    }

    let put = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| PutObjectOutput::builder().e_tag("\"etag\"").build());
    let mocked_s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put], |b| b
        .retry_config(RetryConfig::disabled())
        .force_path_style(true));
    let deps = Deps {
        bedrock: &bedrock,
        s3: &mocked_s3,
        sqs: None,
        dynamodb: None,
        config: &config,
        clock: time::OffsetDateTime::now_utc,
    };
    let pure = time_handler(&deps, &event, &o).await;
    print_summary("handler (S3 mocked)", &pure, o.json);
    let python = codegen_function::language::lookup("python").expect("python is supported");
    let check = codegen_function::syntax::check(&code, python);
    assert!(check.is_ok(), "the benchmark's code parses: {check:?}");
    let mut samples = Vec::with_capacity(o.iterations);
    for _ in 0..o.iterations {
        let started = Instant::now();
        let c = codegen_function::syntax::check(&code, python);
        samples.push(started.elapsed());
        assert!(c.is_ok());
    }
    print_summary("syntax check alone", &summarise(samples), o.json);
    let p99_checked = pure.p99;

    if let Some(endpoint) = &o.s3_endpoint {
        // The same client the function builds, pointed at the local emulator.
        config.s3_force_path_style = true;
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "bench",
            ))
            .load()
            .await;
        let s3 = clients::s3_client(&sdk, &config);
        if let Err(e) = s3.create_bucket().bucket(BUCKET).send().await {
            let owned = e
                .as_service_error()
                .is_some_and(|se| se.is_bucket_already_owned_by_you());
            if !owned {
                eprintln!("error: cannot create bucket {BUCKET} on {endpoint}: {e:?}");
                return ExitCode::FAILURE;
            }
        }
        let deps = Deps {
            bedrock: &bedrock,
            s3: &s3,
            sqs: None,
            dynamodb: None,
            config: &config,
            clock: time::OffsetDateTime::now_utc,
        };
        let with_s3 = time_handler(&deps, &event, &o).await;
        let put_only = time_put(&s3, &o, code_bytes).await;
        print_summary("handler (local S3)", &with_s3, o.json);
        print_summary("PutObject alone (local S3)", &put_only, o.json);
        let p50 = with_s3.p50 - put_only.p50;
        if o.json {
            println!("{{\"bench\":\"handler minus PutObject\",\"p50_us\":{p50:.1}}}");
        } else {
            println!(
                "{:<28} p50={p50:>8.1} us  (handler p50 minus PutObject p50: overhead outside the round trip)",
                "handler - PutObject"
            );
        }
    }

    if let Some(limit_ms) = o.max_p99_ms
        && p99_checked > limit_ms * 1000.0
    {
        eprintln!(
            "FAIL: handler p99 {:.3} ms exceeds the limit {limit_ms} ms",
            p99_checked / 1000.0
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
