//! End to end against ministack: deploy -> PUT /code-generation through the HTTP API -> code in
//! S3 -> no-op redeploy -> new build served -> hotswap -> destroy -> nothing left; and, with IAM
//! enforcement on, the function's role can do its job and nothing else.

use std::collections::BTreeMap;
use std::time::Instant;

use codegen_contract::OUTPUT_PREFIX;
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::{
    Emulator, build_package, count_objects, default_package, leftovers, note, report, request,
};
use xtask::deploy::DeployOptions;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

fn url(outputs: &BTreeMap<String, String>) -> &str {
    outputs
        .get(RESOLVED_INVOKE_URL)
        .map(String::as_str)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_deploy_invoke_update_destroy() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;

    // First deploy (compilation excluded: the package is prebuilt).
    let t = Instant::now();
    let first = em.deploy(&package, false).await?;
    report("first deploy", t);
    assert_eq!(first.result, xtask::deploy::DeployResult::Created);
    assert_eq!(first.stack_status, "CREATE_COMPLETE");
    assert!(
        first.api_deployment_id.is_some(),
        "a new stage must be deployed explicitly"
    );
    let bucket = first.outputs[out::BUCKET_NAME].clone();
    let invoke_url = url(&first.outputs).to_owned();
    assert!(
        invoke_url.contains("/_aws/execute-api/") && invoke_url.ends_with("/local/code-generation"),
        "{invoke_url}"
    );

    // A real request through the HTTP API, signed with SigV4.
    let t = Instant::now();
    let response = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &invoke_url,
        &request("implement the binary search", "python"),
    )
    .await?;
    report("invoke", t);
    for language in ["rust", "go", "c", "cpp", "java", "javascript", "typescript"] {
        let canned = xtask::invoke::invoke(
            &admin,
            AuthMode::AwsIam,
            &invoke_url,
            &request("implement the binary search", language),
        )
        .await?;
        let canned = xtask::invoke::expect_success(&canned)?;
        assert_eq!(
            canned.syntax.ok,
            Some(true),
            "{language}: {:?}\n{}",
            canned.syntax,
            canned.code
        );
    }
    let body = xtask::invoke::expect_success(&response)?;
    assert!(!body.code.trim().is_empty());
    assert_eq!(body.language, "python");
    // The emulator's Bedrock forwards to the local stage's canned model (tools/local_model.py):
    // the first answer is code that parses, not ministack's one-line mock text.
    assert!(body.code.contains("def binary_search"), "{}", body.code);
    assert_eq!(body.syntax.ok, Some(true), "{:?}", body.syntax);
    assert!(body.stored, "warnings: {:?}", body.warnings);
    let location = body.s3.clone().expect("stored code has a location");
    assert_eq!(location.bucket, bucket);
    assert!(
        location.key.starts_with(OUTPUT_PREFIX) && location.key.ends_with(".py"),
        "{}",
        location.key
    );
    let object = admin
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&location.key)
        .send()
        .await?;
    let stored = object.body.collect().await?.into_bytes();
    assert_eq!(
        String::from_utf8_lossy(&stored).trim_end(),
        body.code.trim_end()
    );

    // The extension follows the language, and two requests never share a key.
    let rust = xtask::invoke::expect_success(
        &xtask::invoke::invoke(
            &admin,
            AuthMode::AwsIam,
            &invoke_url,
            &request("fizzbuzz", "Rust"),
        )
        .await?,
    )?;
    let rust_key = rust.s3.expect("stored").key;
    assert!(rust_key.ends_with(".rs"), "{rust_key}");
    assert_ne!(rust_key, location.key);

    // Unsigned requests are refused by the route's IAM auth; invalid ones write nothing.
    let unsigned =
        xtask::invoke::invoke(&admin, AuthMode::None, &invoke_url, &request("x", "python")).await?;
    assert_eq!(unsigned.status, 403, "{}", unsigned.body);
    let before = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
    let bad = xtask::invoke::send_raw(
        &admin,
        &invoke_url,
        "PUT",
        br#"{"message": "", "key": "python"}"#.to_vec(),
        "application/json",
        true,
    )
    .await?;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        bad.error().expect("error body").error.code,
        "invalid_message"
    );
    let unknown = xtask::invoke::send_raw(
        &admin,
        &invoke_url,
        "PUT",
        br#"{"message": "sort", "key": "cobol-2099"}"#.to_vec(),
        "application/json",
        true,
    )
    .await?;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        count_objects(&admin, &bucket, OUTPUT_PREFIX).await?,
        before,
        "invalid requests must not write to S3"
    );

    // Redeploying the same package is a fast no-op.
    let t = Instant::now();
    let again = em.deploy(&package, false).await?;
    report("no-op redeploy", t);
    assert_eq!(again.result, xtask::deploy::DeployResult::Unchanged);
    assert!(again.api_deployment_id.is_none());

    // A changed function is deployed through a change set and served by the API.
    let label = format!("e2e-{}", std::process::id());
    let changed = build_package(Some(&label)).await?;
    let t = Instant::now();
    let updated = em.deploy(&changed, false).await?;
    report("code-change redeploy", t);
    assert_eq!(updated.result, xtask::deploy::DeployResult::Updated);
    assert!(
        updated
            .changes
            .changes
            .iter()
            .any(|c| c.logical_id == "Function"),
        "{:?}",
        updated.changes
    );
    let served = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &invoke_url,
        &request("hello world", "go"),
    )
    .await?;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(
        served.build.as_deref(),
        Some(label.as_str()),
        "the API must serve the new build"
    );
    // The jobs routes run the same package in functions of their own: the status function (an
    // unknown job's 404 carries its build header too) serves the new build as well.
    let no_job = "0123456789abcdef0123456789abcdef";
    let status = xtask::invoke::job_status(&admin, AuthMode::AwsIam, &invoke_url, no_job).await?;
    assert_eq!(status.status, 404, "{}", status.body);
    assert_eq!(status.build.as_deref(), Some(label.as_str()));

    // Hotswap back to the default package: no CloudFormation, the function serves it at once.
    let t = Instant::now();
    let swapped = em.deploy(&package, true).await?;
    report("hotswap", t);
    assert_eq!(swapped.result, xtask::deploy::DeployResult::Hotswapped);
    let served = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &invoke_url,
        &request("hello world", "go"),
    )
    .await?;
    assert_ne!(served.build.as_deref(), Some(label.as_str()));
    // Every function was swapped, not only the one behind PUT /code-generation.
    let status = xtask::invoke::job_status(&admin, AuthMode::AwsIam, &invoke_url, no_job).await?;
    assert_eq!(
        status.build, served.build,
        "the status function runs the swapped package"
    );
    // A normal deploy then brings the stack back in line with its template.
    let converged = em.deploy(&package, false).await?;
    assert_eq!(converged.result, xtask::deploy::DeployResult::Updated);

    // diff after a deploy finds nothing.
    let diff = xtask::diff::diff(
        &e2e_tests::root(),
        &DeployOptions {
            stage: "local".into(),
            package: Some(package.clone()),
            connect: em.connect_options(),
            ..DeployOptions::default()
        },
    )
    .await?;
    assert!(!diff.has_changes, "{:?}", diff.changes);

    // Destroy removes everything, including generated code and (with --all) the asset bucket.
    let t = Instant::now();
    let gone = em.destroy(true).await?;
    report("destroy", t);
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(
        gone.objects_deleted >= 2,
        "generated code was emptied: {}",
        gone.objects_deleted
    );
    assert!(gone.asset_bucket_deleted);
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    let buckets = admin.s3.list_buckets().send().await?;
    assert!(
        buckets.buckets().is_empty(),
        "buckets left: {:?}",
        buckets.buckets()
    );

    // Destroying again is a successful no-op.
    assert_eq!(
        em.destroy(false).await?.result,
        xtask::destroy::DestroyResult::Absent
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_privilege_is_enforced_with_iam_auth_on() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let invoke_url = url(&deployed.outputs).to_owned();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();

    // The function does its job with nothing but its least-privilege role.
    let ok = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &invoke_url,
        &request("implement the binary search", "python"),
    )
    .await?;
    let body = xtask::invoke::expect_success(&ok)?;
    assert!(
        body.stored,
        "the role must allow writing generated code: {:?}",
        body.warnings
    );
    let unsigned =
        xtask::invoke::invoke(&admin, AuthMode::None, &invoke_url, &request("x", "python")).await?;
    assert_eq!(unsigned.status, 403);

    // Use the function's own credentials: ministack injects the role session into the warm
    // Lambda process's environment, exactly as Lambda does, so read them from there.
    let role_creds =
        e2e_tests::lambda_process_credentials(&em, &deployed.outputs[out::FUNCTION_NAME])?;
    assert!(
        role_creds.session_token().is_some(),
        "a role session, not long-lived keys"
    );
    let (role_sdk, s3) =
        e2e_tests::as_function_role(&em, &admin, &deployed.outputs[out::FUNCTION_NAME])?;
    let bedrock = aws_sdk_bedrockruntime::Client::new(&role_sdk);

    let key = format!("{OUTPUT_PREFIX}e2e/probe.py");
    let mut results = Vec::new();
    let put_in = s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(b"print(1)".to_vec().into())
        .send()
        .await;
    results.push(("s3:PutObject code-output/*", put_in.is_ok(), true));
    let put_out = s3
        .put_object()
        .bucket(&bucket)
        .key("elsewhere/probe.py")
        .body(b"x".to_vec().into())
        .send()
        .await;
    results.push(("s3:PutObject outside code-output/", put_out.is_ok(), false));
    let get = s3.get_object().bucket(&bucket).key(&key).send().await;
    results.push(("s3:GetObject code-output/*", get.is_ok(), false));
    let delete = s3.delete_object().bucket(&bucket).key(&key).send().await;
    results.push(("s3:DeleteObject code-output/*", delete.is_ok(), false));
    let list = s3.list_objects_v2().bucket(&bucket).send().await;
    results.push(("s3:ListBucket", list.is_ok(), false));
    let converse = |model: &'static str| {
        bedrock
            .converse()
            .model_id(model)
            .messages(
                aws_sdk_bedrockruntime::types::Message::builder()
                    .role(aws_sdk_bedrockruntime::types::ConversationRole::User)
                    .content(aws_sdk_bedrockruntime::types::ContentBlock::Text(
                        "hi".into(),
                    ))
                    .build()
                    .expect("message"),
            )
            .send()
    };
    let own = converse("us.anthropic.claude-sonnet-4-6").await;
    results.push(("bedrock Converse, configured model", own.is_ok(), true));
    let other = converse("us.anthropic.claude-sonnet-4-5-20250929-v1:0").await;
    results.push(("bedrock Converse, another model", other.is_ok(), false));
    let other_direct = converse("anthropic.claude-3-5-sonnet-20241022-v2:0").await;
    results.push((
        "bedrock Converse, another foundation model",
        other_direct.is_ok(),
        false,
    ));
    let iam = aws_sdk_iam::Client::new(&role_sdk)
        .list_roles()
        .send()
        .await;
    results.push(("iam:ListRoles", iam.is_ok(), false));

    for (what, allowed, expected) in &results {
        note(&format!(
            "function role: {what}: {} (expected {})",
            if *allowed { "allowed" } else { "denied" },
            if *expected { "allowed" } else { "denied" }
        ));
    }
    let wrong: Vec<_> = results.iter().filter(|(_, a, e)| a != e).collect();
    assert!(wrong.is_empty(), "least privilege violated: {wrong:?}");

    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}
