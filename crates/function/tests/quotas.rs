//! Budgets on the synchronous route, through the handler with mocked clients: a caller over
//! budget gets `429 quota_exceeded` with `Retry-After` to midnight UTC and no model call; an
//! admitted request reserves before the model call and settles to the answer's cost after it; a
//! store that cannot answer is `503 budget_unavailable`, again with no model call. The store's
//! own behaviour against DynamoDB (the emulator's) is `tests/tests/quotas.rs`.

mod common;

use aws_sdk_bedrockruntime::types::StopReason;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, ResourceNotFoundException};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use codegen_contract::quota::env as qenv;
use codegen_function::Config;
use common::{Answer, bedrock_client, fixture, put_ok, s3_client};
use std::sync::{Arc, Mutex};

const REPLY: &str = "Here is the function:\n\n```python\ndef is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]\n    return cleaned == cleaned[::-1]\n```\n";
const TABLE: &str = "codegen-test-quotas";

fn config() -> Config {
    common::config(&[(qenv::TABLE, TABLE), (qenv::DAILY_MICRO_USD, "1000000")])
}

/// The palindrome request, signed by an assumed-role session (the jobs fixture's authorizer).
fn signed_event() -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let jobs: serde_json::Value = serde_json::to_value(fixture("post-jobs.json")).expect("json");
    let mut put: serde_json::Value =
        serde_json::to_value(fixture("put-code-generation.json")).expect("json");
    put["requestContext"]["authorizer"] = jobs["requestContext"]["authorizer"].clone();
    serde_json::from_value(put).expect("event")
}

async fn run(update: &[&Rule], converse: &Rule) -> (Answer, Rule) {
    let cfg = config();
    let bedrock = bedrock_client(&[converse]);
    let puts = Arc::new(Mutex::new(Vec::new()));
    let put = put_ok(puts);
    let s3 = s3_client(&[&put]);
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, update);
    let mut deps = common::deps(&bedrock, &s3, &cfg);
    deps.dynamodb = Some(&dynamodb);
    let (resp, json) = common::call_with(&deps, signed_event()).await;
    (
        Answer {
            status: resp.status_code,
            headers: resp.headers,
            json,
        },
        put,
    )
}

#[tokio::test]
async fn over_budget_is_429_with_retry_after_to_midnight_and_no_model_call() {
    let converse = common::answering(REPLY, StopReason::EndTurn);
    let full = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            // The caller's key today, the role's unique id and never the session name.
            r.key()
                .and_then(|k| k.get("pk"))
                .and_then(|v| v.as_s().ok())
                == Some(&"role:123456789012:AROAEXAMPLEEXAMPLE000#2026-11-25".to_owned())
        })
        .then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
    let (answer, put) = run(&[&full], &converse).await;
    let e = answer.err(429, "quota_exceeded");
    assert!(
        e.error.message.contains("midnight UTC"),
        "{}",
        e.error.message
    );
    // 2026-11-25T16:30:12Z to midnight: 7 h 29 min 48 s.
    assert_eq!(answer.retry_after(), Some("26988"));
    assert_eq!(converse.num_calls(), 0, "no model call");
    assert_eq!(put.num_calls(), 0);
    assert_eq!(full.num_calls(), 1);
}

#[tokio::test]
async fn an_admitted_request_reserves_first_and_settles_to_its_cost() {
    let converse = common::answering(REPLY, StopReason::EndTurn);
    let reserved = Arc::new(Mutex::new(0_i64));
    let seen = reserved.clone();
    let reserve = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.condition_expression().is_some())
        .then_compute_output(move |r| {
            let amount = r
                .expression_attribute_values()
                .and_then(|v| v.get(":amount"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .expect("amount");
            *seen.lock().expect("lock") = amount;
            UpdateItemOutput::builder()
                .attributes("used", AttributeValue::N(amount.to_string()))
                .build()
        });
    let deltas = Arc::new(Mutex::new(Vec::new()));
    let d = deltas.clone();
    let settle = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.condition_expression().is_none())
        .then_compute_output(move |r| {
            d.lock().expect("lock").push(
                r.expression_attribute_values()
                    .and_then(|v| v.get(":delta"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .expect("delta"),
            );
            UpdateItemOutput::builder().build()
        });
    let (answer, _) = run(&[&reserve, &settle], &converse).await;
    let ok = answer.ok();
    // 120 in, 45 out on Sonnet 4.6 through the us profile: 1139 µ$ (see handler.rs).
    assert_eq!(ok.cost.as_ref().map(|c| c.micro_usd), Some(1139));
    let r = *reserved.lock().expect("lock");
    assert!(r > 1139, "the reservation bounds the cost: {r}");
    assert_eq!(*deltas.lock().expect("lock"), vec![1139 - r]);
    assert_eq!(converse.num_calls(), 1);
}

#[tokio::test]
async fn a_store_that_cannot_answer_is_503_and_no_model_call() {
    let converse = common::answering(REPLY, StopReason::EndTurn);
    // A missing table (not retryable): the same answer as any store failure.
    let down = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
        UpdateItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Requested resource not found")
                .build(),
        )
    });
    let (answer, _) = run(&[&down], &converse).await;
    answer.err(503, "budget_unavailable");
    assert!(answer.retry_after().is_some());
    assert_eq!(converse.num_calls(), 0);
}

#[tokio::test]
async fn a_caller_at_its_job_cap_is_429_too_many_jobs_and_nothing_is_recorded() {
    let cfg = common::config(&[
        (qenv::TABLE, TABLE),
        (qenv::DAILY_MICRO_USD, "1000000"),
        (qenv::MAX_JOBS_PER_CALLER, "2"),
        (codegen_contract::env::ROLE, "submit"),
        (
            codegen_contract::env::JOBS_QUEUE_URL,
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        ),
    ]);
    let converse = common::answering(REPLY, StopReason::EndTurn);
    let bedrock = bedrock_client(&[&converse]);
    let put = put_ok(Arc::new(Mutex::new(Vec::new())));
    let s3 = s3_client(&[&put]);
    let full = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_not_exists(#jobs) OR #jobs < :cap")
                && r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&"role:123456789012:AROAEXAMPLEEXAMPLE000#jobs".to_owned())
        })
        .then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&full]);
    let mut deps = common::deps(&bedrock, &s3, &cfg);
    deps.dynamodb = Some(&dynamodb);
    let mut event = fixture("post-jobs.json");
    event.headers.remove(codegen_contract::IDEMPOTENCY_HEADER);
    let (resp, json) = common::call_with(&deps, event).await;
    let answer = Answer {
        status: resp.status_code,
        headers: resp.headers,
        json,
    };
    let e = answer.err(429, "too_many_jobs");
    assert!(e.error.message.contains("2 jobs"), "{}", e.error.message);
    assert!(answer.retry_after().is_some());
    assert_eq!(full.num_calls(), 1);
    assert_eq!(put.num_calls(), 0, "no job record");
    assert_eq!(converse.num_calls(), 0);
}
