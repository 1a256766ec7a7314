//! Thinking models end to end (issue 21): the deployed API on ministack, with Bedrock sent to the
//! test double (`e2e_tests::bedrock_double`, through the stage's `bedrock_endpoint`, which sets
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` on the functions) and not the emulator's own mock, which
//! answers any model id. For each thinking class and each route's effort, the exact request the
//! double received (no sampling fields, the thinking setting, that route's effort, `maxTokens` as
//! the answer budget plus the thinking reservation), with negative controls (forms Bedrock
//! refuses, sent to the double directly, are refused); a budget used up by thinking, a cut answer,
//! a repair with a thinking model, and a job on an always-thinking model.
//!
//! A second test measures, per new model, the time to answer through the double paced like a
//! Sonnet (the double's pacing is ours: 1.8 s to the first token, 50 tokens/s, thinking tokens by
//! effort from `bedrock_double::thinking_tokens`), so the figures compare efforts and budgets,
//! not models.

use std::time::{Duration, Instant};

use codegen_contract::models::{self, Effort};
use codegen_contract::{ErrorResponse, GenerateResponse, JobStatus};
use codegen_infra::config::AuthMode;
use e2e_tests::bedrock_double::{
    BedrockDouble, Behaviour, Pacing, Reply, signature, thinking_tokens,
};
use e2e_tests::{Emulator, default_package, leftovers, local_stage_with, note, request};
use serde_json::{Value, json};
use xtask::invoke::ApiResponse;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";
const OPUS_55: &str = "global.anthropic.claude-opus-5-5";

/// The local stage with Bedrock sent to the double, `model` as its model id and `thinking` as its
/// `thinking:` section.
fn stage(
    double: &BedrockDouble,
    model: &str,
    thinking: &str,
) -> anyhow::Result<codegen_infra::StageConfig> {
    local_stage_with(|text| {
        let text = text.replace(
            "  id: us.anthropic.claude-sonnet-4-6\n",
            &format!("  id: {model}\n"),
        );
        format!(
            "{text}\nbedrock_endpoint: {}\nthinking:\n{thinking}",
            double.endpoint
        )
    })
}

async fn put(admin: &xtask::aws::Clients, url: &str, body: &str) -> anyhow::Result<ApiResponse> {
    xtask::invoke::send_raw(
        admin,
        url,
        "PUT",
        body.as_bytes().to_vec(),
        "application/json",
        true,
    )
    .await
}

fn ok(r: &ApiResponse) -> GenerateResponse {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("GenerateResponse")
}

/// The one request the double saw since the last `clear`, answered 200.
fn only_request(double: &BedrockDouble) -> Value {
    let seen = double.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].status, 200, "{:?}", seen[0].error);
    seen[0].body.clone()
}

/// Posts a Converse body to the double directly (no SigV4: the double does not check it), for
/// the negative controls and the timing.
async fn converse_direct(double: &BedrockDouble, model: &str, body: &Value) -> (u16, String) {
    let url = format!(
        "{}/model/{}/converse",
        double.endpoint,
        model.replace(':', "%3A")
    );
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("the double answers");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

fn prompt_body(max_tokens: u32, extra: Value) -> Value {
    json!({
        "messages": [{ "role": "user", "content": [{ "text": "Write python code for a stack" }] }],
        "system": [{ "text": "You write code." }],
        "inferenceConfig": { "maxTokens": max_tokens },
        "additionalModelRequestFields": extra,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_thinking_class_and_route_sends_what_the_model_takes() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour::default()).await?;
    let palindrome = r#"{"message":"implement is_palindrome","key":"python"}"#;

    // 1. Always on (Opus 5.5): the synchronous route at effort low, jobs at high.
    let deployed = em
        .deploy_stage(
            &package,
            stage(
                &double,
                OPUS_55,
                "  sync:\n    effort: low\n    thinking_tokens: 2048\n  jobs:\n    effort: high\n    thinking_tokens: 16000\n",
            )?,
        )
        .await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let r = ok(&put(&admin, &url, palindrome).await?);
    let body = only_request(&double);
    // The exact request: the answer's 2048 plus 2048 for thinking, no sampling field, no thinking
    // field (adaptive is the only mode and the default), the synchronous route's effort.
    assert_eq!(body["inferenceConfig"], json!({ "maxTokens": 4096 }));
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({ "output_config": { "effort": "low" } })
    );
    assert_eq!(
        (r.sampling.effort.as_deref(), r.sampling.thinking_tokens),
        (Some("low"), Some(2048))
    );
    assert!(r.stored && r.code.contains("value_"), "{r:?}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Converse reports no thinking figure: usage is Bedrock's own, thinking included.
    assert_eq!(
        r.usage.output_tokens,
        thinking_tokens(Effort::Low) + 60,
        "{:?}",
        r.usage
    );
    note(&format!("always on, sync: sent {:?}", r.sampling));

    // A job on the same always-thinking model: the jobs route's effort and budget.
    double.clear();
    let submitted = xtask::invoke::submit_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("implement is_palindrome", "python"),
        None,
    )
    .await?;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let job_id = serde_json::from_str::<Value>(&submitted.body)?["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let job = xtask::invoke::wait_for_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &job_id,
        Duration::from_secs(120),
        |_| {},
    )
    .await?;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let body = only_request(&double);
    assert_eq!(
        body["inferenceConfig"],
        json!({ "maxTokens": 2048 + 16000 })
    );
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({ "output_config": { "effort": "high" } })
    );
    note("always on, job: effort high, maxTokens 18048");

    // The budget used up by thinking: no text at all, a 502 that names the settings, nothing
    // stored (no second call either: there is nothing to repair).
    double.clear();
    double.set(|b| b.thinking_tokens = Some(5_000));
    let exhausted = put(&admin, &url, palindrome).await?;
    assert_eq!(exhausted.status, 502, "{}", exhausted.body);
    let e: ErrorResponse = serde_json::from_str(&exhausted.body)?;
    assert_eq!(e.error.code, "thinking_exhausted");
    assert!(
        e.error.message.contains("thinking.sync.thinking_tokens"),
        "{}",
        e.error.message
    );
    assert_eq!(double.seen().len(), 1);

    // A cut answer: thinking leaves 96 tokens for a 400-token reply.
    double.set(|b| {
        b.thinking_tokens = Some(4_000);
        b.reply = Reply::Code { tokens: 400 };
    });
    let cut = ok(&put(&admin, &url, palindrome).await?);
    assert!(
        cut.warnings
            .iter()
            .any(|w| w.contains("of which 2048 reserved for thinking")),
        "{:?}",
        cut.warnings
    );

    // A repair with a thinking model: the first answer's reasoning block goes back as given.
    double.clear();
    double.set(|b| {
        b.thinking_tokens = None;
        b.reply = Reply::BrokenThenFixed;
    });
    let repaired = ok(&put(&admin, &url, palindrome).await?);
    let report = repaired.repair.expect("a repair report");
    assert!(report.attempted && report.applied, "{report:?}");
    let seen = double.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let assistant = &seen[1].body["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"][0]["reasoningContent"]["reasoningText"]["signature"],
        json!(signature(OPUS_55))
    );
    assert_eq!(
        seen[1].body["additionalModelRequestFields"],
        json!({ "output_config": { "effort": "low" } })
    );

    // Negative controls: what the function never sends to this model is refused by the double,
    // as by Bedrock.
    let (status, text) = converse_direct(
        &double,
        OPUS_55,
        &prompt_body(4096, json!({ "thinking": { "type": "disabled" } })),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("thinking.type.disabled"), "{text}");
    let mut with_temperature = prompt_body(4096, json!({ "output_config": { "effort": "low" } }));
    with_temperature["inferenceConfig"]["temperature"] = json!(0.1);
    let (status, _) = converse_direct(&double, OPUS_55, &with_temperature).await;
    assert_eq!(status, 400);
    let (status, _) = converse_direct(&double, OPUS_55, &prompt_body(128_001, json!({}))).await;
    assert_eq!(status, 400, "above the 128K output limit");

    // 2. On by default (Haiku 5.5): the synchronous route turns thinking off, at effort low.
    double.clear();
    double.set(|b| b.reply = Reply::Code { tokens: 60 });
    em.deploy_stage(
        &package,
        stage(
            &double,
            "us.anthropic.claude-haiku-5-5",
            "  sync:\n    thinking: disabled\n    effort: low\n",
        )?,
    )
    .await?;
    let r = ok(&put(&admin, &url, palindrome).await?);
    let body = only_request(&double);
    assert_eq!(body["inferenceConfig"], json!({ "maxTokens": 2048 }));
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({ "thinking": { "type": "disabled" }, "output_config": { "effort": "low" } })
    );
    assert_eq!(r.sampling.thinking_tokens, None);
    assert_eq!(r.usage.output_tokens, 60, "no thinking");
    // Negative control: xhigh with thinking off is refused.
    let (status, _) = converse_direct(
        &double,
        "us.anthropic.claude-haiku-5-5",
        &prompt_body(
            2048,
            json!({ "thinking": { "type": "disabled" }, "output_config": { "effort": "xhigh" } }),
        ),
    )
    .await;
    assert_eq!(status, 400);

    // 3. Optional (Sonnet 4.6): adaptive thinking on request, and then no sampling change.
    double.clear();
    em.deploy_stage(
        &package,
        stage(
            &double,
            "us.anthropic.claude-sonnet-4-6",
            "  sync:\n    thinking: adaptive\n    effort: medium\n    thinking_tokens: 2048\n",
        )?,
    )
    .await?;
    let r = ok(&put(&admin, &url, palindrome).await?);
    let body = only_request(&double);
    assert_eq!(body["inferenceConfig"], json!({ "maxTokens": 4096 }));
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({ "thinking": { "type": "adaptive" }, "output_config": { "effort": "medium" } })
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("thinking takes no sampling changes")),
        "{:?}",
        r.warnings
    );

    // 4. None (Haiku 4.5): nothing about thinking is sent, sampling as before.
    double.clear();
    em.deploy_stage(
        &package,
        stage(
            &double,
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "  sync: {}\n",
        )?,
    )
    .await?;
    ok(&put(&admin, &url, palindrome).await?);
    let body = only_request(&double);
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({ "top_k": 250 })
    );
    // The stage validation refuses what the model refuses, before any deploy.
    let refused = stage(&double, OPUS_55, "  sync:\n    thinking: disabled\n")
        .expect_err("Opus 5.5 cannot turn thinking off")
        .to_string();
    assert!(refused.contains("thinking.sync.thinking"), "{refused}");

    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}

/// Per new model, the time to answer a 60-token program through the double, paced like a Sonnet,
/// with the request the function sends on each route (synchronous route: effort low and 2,048
/// thinking tokens; jobs: effort high and 16,000), all models at once. No emulator: the request
/// bodies are the ones the first test asserts the deployed function sends.
///
/// A measurement with wall-clock bounds (83 s at effort high), so it is not in the default run:
/// `cargo test -p e2e-tests --test thinking time_to_answer -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement (83 s, wall-clock bounds): run with --ignored"]
async fn time_to_answer_per_new_model_through_the_double() -> anyhow::Result<()> {
    let double = BedrockDouble::start(Behaviour {
        pacing: Pacing::SONNET,
        provider_data_share: true,
        ..Behaviour::default()
    })
    .await?;
    let new_models: Vec<&models::ModelSpec> = models::CATALOGUE
        .iter()
        .filter(|m| m.base_id.contains("-5"))
        .filter(|m| !m.base_id.contains("-4-5"))
        .collect();
    assert_eq!(new_models.len(), 10, "{new_models:?}");
    let routes = [
        ("sync", Effort::Low, 2048_u32),
        ("jobs", Effort::High, 16_000),
    ];
    let calls = new_models.iter().flat_map(|m| {
        let double = &double;
        routes
            .iter()
            .map(move |(route, effort, reserve)| async move {
                let id = format!("us.{}", m.base_id);
                let body = prompt_body(
                    2048 + reserve,
                    json!({ "output_config": { "effort": effort.as_str() } }),
                );
                let started = Instant::now();
                let (status, text) = converse_direct(double, &id, &body).await;
                (m.name, *route, *effort, status, text, started.elapsed())
            })
    });
    let results = futures_join_all(calls.collect()).await;
    for (name, route, effort, status, text, took) in &results {
        assert_eq!(*status, 200, "{name} {route}: {text}");
        let expected = Pacing::SONNET.duration(thinking_tokens(*effort) + 60);
        assert!(
            *took >= expected && *took < expected + Duration::from_secs(5),
            "{name} {route}: {took:?} against {expected:?}"
        );
        note(&format!(
            "time to answer through the double: {name}, {route} route (effort {}): {} ms",
            effort.as_str(),
            took.as_millis()
        ));
    }
    Ok(())
}

/// Runs the futures concurrently on the current task and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    // tokio has no join_all; a JoinSet would need 'static futures, so poll them together.
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

/// Done-when of issue 21: the local stage deploys with `model.id` set to each new model (nothing
/// but the id in the stage file: the foundation model and routes come from the catalogue) and a
/// request answers 200 with complete code, Bedrock being the double.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_model_deploys_and_answers_with_complete_code() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour {
        provider_data_share: true,
        ..Behaviour::default()
    })
    .await?;
    let mut url = String::new();
    for m in models::CATALOGUE
        .iter()
        .filter(|m| m.base_id.contains("-5") && !m.base_id.contains("-4-5"))
    {
        let id = format!("us.{}", m.base_id);
        let started = Instant::now();
        let deployed = em
            .deploy_stage(&package, stage(&double, &id, "  sync:\n    effort: low\n")?)
            .await?;
        let deploy_took = started.elapsed();
        url.clone_from(&deployed.outputs[RESOLVED_INVOKE_URL]);
        double.clear();
        let r = ok(&put(
            &admin,
            &url,
            r#"{"message":"implement a stack","key":"python"}"#,
        )
        .await?);
        assert_eq!(
            double.seen()[0].model_id,
            id,
            "the deployed function calls the new model"
        );
        let body = only_request(&double);
        assert_eq!(
            body["additionalModelRequestFields"]["output_config"]["effort"],
            "low"
        );
        assert!(body["inferenceConfig"].get("temperature").is_none());
        assert!(
            r.stored && r.code.contains("value_") && r.warnings.is_empty(),
            "{id}: {r:?}"
        );
        note(&format!(
            "{id}: deployed in {} ms, answered 200 with {} bytes of code",
            deploy_took.as_millis(),
            r.code.len()
        ));
    }
    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}
