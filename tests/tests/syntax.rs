//! The syntax check and the repair end to end against ministack, with the Bedrock test double
//! answering broken code first and fixed code on the follow-up (`Reply::BrokenThenFixed`): with
//! the stage's `repair: once` the stored object is the fixed one and the response reports one
//! repair and its tokens, on the synchronous route and through a job; with `repair: off` the broken
//! code is stored and returned with its diagnostics, after one model call.

use std::collections::HashMap;
use std::time::Duration;

use codegen_contract::{GenerateResponse, JobStatus};
use codegen_infra::StageConfig;
use codegen_infra::config::AuthMode;
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour, Reply, broken_line, fixed_line};
use e2e_tests::{Emulator, default_package, leftovers, local_stage_with, note, request};
use xtask::aws::Clients;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

/// The local stage (its `repair: once`, or `repair` replaced) with Bedrock sent to the double.
fn stage(double: &BedrockDouble, repair: &str) -> anyhow::Result<StageConfig> {
    local_stage_with(|text| {
        let text = text.replace("  repair: once\n", &format!("  repair: {repair}\n"));
        format!("{text}\nbedrock_endpoint: {}\n", double.endpoint)
    })
}

async fn put(admin: &Clients, url: &str, body: &str) -> anyhow::Result<GenerateResponse> {
    let r = xtask::invoke::send_raw(
        admin,
        url,
        "PUT",
        body.as_bytes().to_vec(),
        "application/json",
        true,
    )
    .await?;
    anyhow::ensure!(r.status == 200, "answered {}: {}", r.status, r.body);
    Ok(serde_json::from_str(&r.body)?)
}

/// The stored object's text and metadata.
async fn object(
    admin: &Clients,
    r: &GenerateResponse,
) -> anyhow::Result<(String, HashMap<String, String>)> {
    let s3 = r.s3.as_ref().ok_or_else(|| anyhow::anyhow!("not stored"))?;
    let o = admin
        .s3
        .get_object()
        .bucket(&s3.bucket)
        .key(&s3.key)
        .send()
        .await?;
    let metadata = o.metadata().cloned().unwrap_or_default();
    let text = String::from_utf8_lossy(&o.body.collect().await?.into_bytes()).into_owned();
    Ok((text, metadata))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_code_is_repaired_once_or_stored_with_its_diagnostics() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour {
        reply: Reply::BrokenThenFixed,
        ..Behaviour::default()
    })
    .await?;
    let body = r#"{"message":"sum two values","key":"python"}"#;

    // 1. repair: once (the stage's setting): the fixed code is returned and stored.
    let deployed = em.deploy_stage(&package, stage(&double, "once")?).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let r = put(&admin, &url, body).await?;
    let seen = double.seen();
    assert_eq!(seen.len(), 2, "one extra model call: {seen:?}");
    assert!(seen.iter().all(|s| s.status == 200), "{seen:?}");
    let follow_up = seen[1].body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let roles: Vec<&str> = follow_up
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert!(
        follow_up[2]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("- line 4, column ")),
        "the diagnostics name the broken line: {}",
        follow_up[2]
    );
    assert!(r.code.contains(fixed_line("python")), "{}", r.code);
    assert!(!r.code.contains(broken_line("python")), "{}", r.code);
    assert!(r.syntax.is_ok(), "{:?}", r.syntax);
    let repair = r.repair.clone().expect("a repair report");
    assert!(repair.attempted && repair.applied, "{repair:?}");
    assert_eq!((repair.errors_before, repair.errors_after), (1, Some(0)));
    let repair_usage = repair.usage.expect("repair usage");
    // The double answers 60 output tokens each time and counts input from the first turn, so
    // the two calls cost the same: the response's usage is twice the repair's.
    assert_eq!(repair_usage.output_tokens, 60);
    assert_eq!(
        (
            r.usage.input_tokens,
            r.usage.output_tokens,
            r.usage.total_tokens
        ),
        (
            2 * repair_usage.input_tokens,
            2 * repair_usage.output_tokens,
            2 * repair_usage.total_tokens
        ),
        "usage counts both calls"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let (stored, metadata) = object(&admin, &r).await?;
    assert_eq!(stored, r.code, "the stored object is the fixed code");
    assert_eq!(metadata.get("syntax").map(String::as_str), Some("ok"));
    assert_eq!(metadata.get("repair").map(String::as_str), Some("applied"));
    note(&format!(
        "repair once: usage {:?}, of which the repair {repair_usage:?}",
        r.usage
    ));

    // 2. The jobs worker runs the same repair.
    double.clear();
    let submitted = xtask::invoke::submit_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("sum two values", "python"),
        None,
    )
    .await?;
    anyhow::ensure!(submitted.status == 202, "submit: {}", submitted.body);
    let job: codegen_contract::SubmitResponse = serde_json::from_str(&submitted.body)?;
    let done = xtask::invoke::wait_for_job(
        &admin,
        AuthMode::AwsIam,
        &url,
        &job.job_id,
        Duration::from_secs(120),
        |_| {},
    )
    .await?;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let result = done.result.expect("result");
    assert!(
        result.code.contains(fixed_line("python")),
        "{}",
        result.code
    );
    assert!(
        result.repair.as_ref().is_some_and(|r| r.applied),
        "{:?}",
        result.repair
    );
    assert_eq!(double.seen().len(), 2, "the job made one repair call too");

    // 3. repair: off: the broken code is stored and returned with its diagnostics.
    double.clear();
    em.deploy_stage(&package, stage(&double, "off")?).await?;
    let r = put(&admin, &url, body).await?;
    assert_eq!(double.seen().len(), 1, "no second model call");
    assert!(r.code.contains(broken_line("python")), "{}", r.code);
    assert!(r.syntax.has_errors(), "{:?}", r.syntax);
    let first = r.syntax.first_error().expect("an error");
    assert_eq!(first.line, 4, "{first:?}");
    let repair = r.repair.clone().expect("a repair report");
    assert!(!repair.attempted, "{repair:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("the code does not parse as Python 3")),
        "{:?}",
        r.warnings
    );
    let (stored, metadata) = object(&admin, &r).await?;
    assert_eq!(stored, r.code, "the broken code is stored as it is");
    assert_eq!(metadata.get("syntax").map(String::as_str), Some("errors"));
    assert!(
        metadata
            .get("syntax-first-error")
            .is_some_and(|v| v.starts_with("4:")),
        "{metadata:?}"
    );
    note(&format!("repair off: first error {first:?}"));

    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}
