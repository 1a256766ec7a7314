//! End to end against ministack with the Bedrock test double (`e2e_tests::bedrock_double`) in place
//! of the emulator's permissive mock: for every model class of the catalogue, the deployed function
//! sends only what that class accepts (the double answers 400 otherwise, as Bedrock does) and says
//! what it did not send; Bedrock's errors come back as the documented statuses. (A 2048-token
//! answer paced like a real model against API Gateway's 30 s limit is measured in `jobs.rs`, next
//! to the asynchronous route that serves it.)
//!
//! The classes: `temperature xor top_p` (Sonnet 4.6, the default), fixed sampling (Opus 4.7 and
//! later), and a model the catalogue does not know. The fourth class, "any combination", holds
//! only models past their end of life (Claude 3 Haiku): the stage validation refuses to deploy
//! it, and the double refuses it as Bedrock does; that is asserted here too.

use codegen_contract::{ErrorResponse, GenerateResponse};
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour, Fault, Reply};
use e2e_tests::{Emulator, default_package, leftovers, local_stage_with, note};
use xtask::invoke::ApiResponse;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

/// The local stage with Bedrock sent to the double and `model` as its model block.
fn stage(double: &BedrockDouble, model: &str) -> anyhow::Result<codegen_infra::StageConfig> {
    local_stage_with(|text| {
        let text = text.replace("  id: us.anthropic.claude-sonnet-4-6\n", model);
        format!("{text}\nbedrock_endpoint: {}\n", double.endpoint)
    })
}

/// [`stage`] without budgets: a model the catalogue has no price for cannot have them (the
/// stage validation refuses the pair, infra/src/quotas.rs).
fn unpriced_stage(
    double: &BedrockDouble,
    model: &str,
) -> anyhow::Result<codegen_infra::StageConfig> {
    local_stage_with(|text| {
        let text = text
            .replace("  id: us.anthropic.claude-sonnet-4-6\n", model)
            .replace("quotas:\n  daily_usd: 100\n", "");
        format!("{text}\nbedrock_endpoint: {}\n", double.endpoint)
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

fn err(r: &ApiResponse, status: u16, code: &str) -> ErrorResponse {
    assert_eq!(r.status, status, "{}", r.body);
    let e: ErrorResponse = serde_json::from_str(&r.body).expect("ErrorResponse");
    assert_eq!(e.error.code, code, "{}", e.error.message);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_class_gets_only_what_it_accepts() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour::default()).await?;
    let explicit = r#"{"message":"implement the binary search","key":"python","temperature":0.3,"top_p":0.9,"top_k":40}"#;

    // 1. temperature xor top_p (the default model): temperature and top_k go, top_p is reported.
    let deployed = em
        .deploy_stage(
            &package,
            stage(&double, "  id: us.anthropic.claude-sonnet-4-6\n")?,
        )
        .await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let r = ok(&put(&admin, &url, explicit).await?);
    let seen = double.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].status, 200, "{:?}", seen[0].error);
    assert_eq!(seen[0].model_id, "us.anthropic.claude-sonnet-4-6");
    let config = &seen[0].body["inferenceConfig"];
    assert_eq!(
        config["temperature"].as_f64().map(|t| (t * 100.0).round()),
        Some(30.0)
    );
    assert!(config.get("topP").is_none(), "{config}");
    assert_eq!(seen[0].body["additionalModelRequestFields"]["top_k"], 40);
    assert_eq!(
        (r.sampling.temperature, r.sampling.top_p, r.sampling.top_k),
        (Some(0.3), None, Some(40))
    );
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with("top_p was not sent"),
        "{:?}",
        r.warnings
    );
    assert!(r.stored && r.code.contains("value_"), "{r:?}");
    note(&format!(
        "xor class: sent {:?}; warnings {:?}",
        r.sampling, r.warnings
    ));

    // 2. Fixed sampling (Opus 4.7, global profile): nothing optional goes, each explicit value is
    // reported; the stage's defaults are dropped silently.
    double.clear();
    em.deploy_stage(
        &package,
        stage(&double, "  id: global.anthropic.claude-opus-4-7\n")?,
    )
    .await?;
    let r = ok(&put(&admin, &url, explicit).await?);
    let seen = double.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].model_id, "global.anthropic.claude-opus-4-7");
    let config = &seen[0].body["inferenceConfig"];
    assert!(
        config.get("temperature").is_none() && config.get("topP").is_none(),
        "{config}"
    );
    assert!(
        seen[0].body.get("additionalModelRequestFields").is_none(),
        "{}",
        seen[0].body
    );
    assert_eq!(
        (r.sampling.temperature, r.sampling.top_p, r.sampling.top_k),
        (None, None, None)
    );
    assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
    let defaults_only = ok(&put(&admin, &url, r#"{"message":"fizzbuzz","key":"rust"}"#).await?);
    assert!(
        defaults_only.warnings.is_empty(),
        "{:?}",
        defaults_only.warnings
    );
    note(&format!(
        "fixed class: sent {:?}; warnings {:?}",
        r.sampling, r.warnings
    ));

    // 3. A model the catalogue does not know: nothing optional goes, and the caller is told.
    double.clear();
    double.set(|b| b.allow_unknown_models = true);
    em.deploy_stage(
        &package,
        unpriced_stage(
            &double,
            "  id: us.anthropic.claude-mystery-9\n  foundation_model: anthropic.claude-mystery-9\n  regions: [us-east-1, us-east-2, us-west-2]\n",
        )?,
    )
    .await?;
    let r = ok(&put(&admin, &url, explicit).await?);
    let seen = double.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].status, 200, "{:?}", seen[0].error);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not in the model catalogue")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        (r.sampling.temperature, r.sampling.top_p, r.sampling.top_k),
        (None, None, None)
    );
    double.set(|b| b.allow_unknown_models = false);

    // 4. "Any combination" is Claude 3.x only, past its end of life: not deployable, and the
    // double refuses the id as Bedrock does.
    let retired = stage(&double, "  id: us.anthropic.claude-3-haiku-20240307-v1:0\n")
        .expect_err("a retired model is refused by the stage validation")
        .to_string();
    assert!(retired.contains("end of life"), "{retired}");

    // Bedrock's errors through the deployed API, with the sonnet stage back in place.
    em.deploy_stage(
        &package,
        stage(&double, "  id: us.anthropic.claude-sonnet-4-6\n")?,
    )
    .await?;
    double.clear();
    // A max_tokens above Sonnet 4.6's limit is refused before any model call; above the service
    // cap it is a plain range error.
    let over = put(
        &admin,
        &url,
        r#"{"message":"m","key":"python","max_tokens":9000}"#,
    )
    .await?;
    err(&over, 400, "invalid_parameter");
    assert!(
        double.seen().is_empty(),
        "no model call for an invalid request"
    );
    // 529 overloaded on every attempt: 503 with Retry-After.
    double.set(|b| b.faults = std::iter::repeat_n(Fault::overloaded(), 3).collect());
    let overloaded = put(&admin, &url, r#"{"message":"m","key":"python"}"#).await?;
    let e = err(&overloaded, 503, "model_unavailable");
    assert!(
        e.error.message.contains("overloaded"),
        "{}",
        e.error.message
    );
    assert_eq!(overloaded.retry_after.as_deref(), Some("10"));
    // Throttling on every attempt: 429 after the SDK's bounded retries.
    double.clear();
    double.set(|b| b.faults = std::iter::repeat_n(Fault::throttling(), 3).collect());
    let throttled = put(&admin, &url, r#"{"message":"m","key":"python"}"#).await?;
    err(&throttled, 429, "throttled");
    assert_eq!(
        double.seen().len(),
        3,
        "three attempts, then the caller is told"
    );
    double.set(|b| b.faults.clear());
    // A refusal: 422, nothing stored.
    double.set(|b| b.reply = Reply::Refusal);
    let refused = put(&admin, &url, r#"{"message":"m","key":"python"}"#).await?;
    err(&refused, 422, "model_refused");
    // Several blocks: the first one is the answer.
    double.set(|b| b.reply = Reply::SeveralBlocks);
    let several = ok(&put(&admin, &url, r#"{"message":"m","key":"python"}"#).await?);
    assert!(
        several.code.contains("value_3") && !several.code.contains("```"),
        "{}",
        several.code
    );
    // A reply cut at max_tokens: returned, stored, with a warning.
    double.set(|b| b.reply = Reply::Code { tokens: 400 });
    let cut = ok(&put(
        &admin,
        &url,
        r#"{"message":"m","key":"python","max_tokens":100}"#,
    )
    .await?);
    assert!(
        cut.warnings.iter().any(|w| w.contains("max_tokens")),
        "{:?}",
        cut.warnings
    );

    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}
