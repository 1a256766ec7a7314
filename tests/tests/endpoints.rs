//! Who the deployer talks to, and what it believes: endpoint overrides (`--endpoint`,
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) are refused for stages that are not emulator
//! stages, and must be loopback for those that are; the emulator never inherits the caller's
//! secrets; `invoke` signs only for an API Gateway host (or, on an emulator, a loopback one);
//! `destroy` empties the bucket the stack's resources name, not the one an output names.
//!
//! Checks that need environment variables run in a child process (this test binary again, with
//! the variables set on the child only): setting variables in a multi-threaded test process is
//! unsound.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{Capability, Parameter};
use codegen_infra::config::AuthMode;
use codegen_infra::stack::CODE_BUCKET;
use e2e_tests::{Emulator, default_package, leftovers, note, request};
use xtask::aws::ConnectOptions;
use xtask::deploy::DeployOptions;
use xtask::destroy::DestroyOptions;

const STACK: &str = "codegen-local";

/// Set (to the check's name) in the environment of the child processes.
const CHILD: &str = "CODEGEN_ENDPOINTS_CHILD";

/// Runs the ignored test `name` of this binary in a child process with `env` added to its
/// environment, and fails with its output unless it passed.
fn run_in_child(name: &str, env: &[(&str, &str)]) -> anyhow::Result<String> {
    let out = Command::new(std::env::current_exe()?)
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, name)
        .envs(env.iter().copied())
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(
        out.status.success() && text.contains("1 passed"),
        "child check {name} failed:\n{text}"
    );
    Ok(text)
}

/// Whether this process is the child started for `name` (the ignored tests do nothing otherwise).
fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == name)
}

fn deploy_opts(stage: &str, endpoint: Option<&str>) -> DeployOptions {
    DeployOptions {
        stage: stage.into(),
        yes: true,
        // A path that does not exist: a refused endpoint must stop the deploy before any build.
        package: Some("target/e2e/no-such-package.zip".into()),
        connect: ConnectOptions {
            endpoint: endpoint.map(str::to_owned),
            ..ConnectOptions::default()
        },
        ..DeployOptions::default()
    }
}

fn destroy_opts(stage: &str, endpoint: Option<&str>) -> DestroyOptions {
    DestroyOptions {
        stage: stage.into(),
        yes: true,
        all: true,
        connect: ConnectOptions {
            endpoint: endpoint.map(str::to_owned),
            ..ConnectOptions::default()
        },
        stack_name_override: None,
        stage_config: None,
        production: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_flags_are_refused_for_aws_stages_and_must_be_loopback_for_emulators()
-> anyhow::Result<()> {
    let root = e2e_tests::root();
    for endpoint in ["http://127.0.0.1:9", "https://cloudformation.example.com"] {
        let err = xtask::deploy::deploy(&root, &deploy_opts("dev", Some(endpoint)))
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("deploy dev --endpoint {endpoint} was not refused"))?;
        let message = format!("{err:#}");
        assert!(message.contains("not an emulator stage"), "{message}");
        assert!(message.contains(endpoint), "{message}");
        let err = xtask::destroy::destroy(&root, &destroy_opts("dev", Some(endpoint)))
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("destroy dev --endpoint {endpoint} was not refused"))?;
        assert!(format!("{err:#}").contains("not an emulator stage"));
        // `outputs`, `invoke` and `logs` read the stack through clients that refuse every call.
        let err = xtask::outputs::read(&root, "dev", &ConnectOptions::emulator(endpoint))
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("outputs dev --endpoint {endpoint} was not refused"))?;
        assert!(
            format!("{err:#}").contains("not an emulator stage"),
            "{err:#}"
        );
    }
    for endpoint in [
        "http://10.0.0.1:4566",
        "http://localhost.example.com:4566",
        "http://127.0.0.1@example.com:4566",
        "https://127.0.0.1:4566",
    ] {
        let err = xtask::deploy::deploy(&root, &deploy_opts("local", Some(endpoint)))
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("deploy local --endpoint {endpoint} was not refused"))?;
        assert!(format!("{err:#}").contains("loopback"), "{err:#}");
    }
    Ok(())
}

#[test]
fn endpoint_variables_are_refused_for_aws_stages() -> anyhow::Result<()> {
    for (name, value) in [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL", "https://example.com"),
        ("AWS_ENDPOINT_URL_STS", "https://sts.example.com"),
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:9"),
    ] {
        let text = run_in_child(
            "child_aws_stage_refuses_the_environments_endpoint",
            &[(name, value)],
        )?;
        assert!(text.contains(name), "{text}");
    }
    Ok(())
}

#[ignore = "run in a child process by endpoint_variables_are_refused_for_aws_stages"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_aws_stage_refuses_the_environments_endpoint() -> anyhow::Result<()> {
    if !is_child("child_aws_stage_refuses_the_environments_endpoint") {
        return Ok(());
    }
    let root = e2e_tests::root();
    let err = xtask::destroy::destroy(&root, &destroy_opts("dev", None))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("destroy dev was not refused"))?;
    let message = format!("{err:#}");
    note(&message);
    assert!(message.contains("not an emulator stage"), "{message}");
    let err = xtask::deploy::deploy(&root, &deploy_opts("dev", None))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("deploy dev was not refused"))?;
    assert!(
        format!("{err:#}").contains("not an emulator stage"),
        "{err:#}"
    );
    Ok(())
}

#[test]
fn the_emulator_does_not_inherit_the_callers_secrets() -> anyhow::Result<()> {
    run_in_child(
        "child_emulator_environment_has_no_secrets",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIALEAKMELEAKMELEAK"),
            ("AWS_SECRET_ACCESS_KEY", "leak-me"),
            ("AWS_SESSION_TOKEN", "leak-me"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "leak-me"),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://leak-me.example.com",
            ),
            ("GITHUB_TOKEN", "leak-me"),
        ],
    )?;
    Ok(())
}

#[ignore = "run in a child process by the_emulator_does_not_inherit_the_callers_secrets"]
#[tokio::test]
async fn child_emulator_environment_has_no_secrets() -> anyhow::Result<()> {
    if !is_child("child_emulator_environment_has_no_secrets") {
        return Ok(());
    }
    assert_eq!(
        std::env::var("AWS_SECRET_ACCESS_KEY").as_deref(),
        Ok("leak-me"),
        "the check is meaningful only with the secret in this process's environment"
    );
    let em = Emulator::start(false).await?;
    // The emulator is the leader of its process group: its pid is the group id.
    let environ = std::fs::read(format!("/proc/{}/environ", em.pgid()))?;
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    note(&format!("emulator environment: {vars:?}"));
    for var in &vars {
        assert!(!var.contains("leak-me"), "leaked into the emulator: {var}");
        assert!(
            !var.contains("AKIALEAKME"),
            "leaked into the emulator: {var}"
        );
    }
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_TOKEN",
    ] {
        assert!(
            !vars.iter().any(|v| v.starts_with(&format!("{name}="))),
            "{name} reached the emulator"
        );
    }
    assert!(vars.iter().any(|v| v.starts_with("GATEWAY_PORT=")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_signs_only_for_the_stacks_api_host() -> anyhow::Result<()> {
    let root = e2e_tests::root();
    let aws = xtask::aws::try_connect(
        &codegen_infra::load_stage(&root, "dev")?,
        &ConnectOptions::default(),
    )
    .await;
    if let Ok(aws) = aws {
        for url in [
            "https://evil.example.com/dev/code-generation",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/code-generation",
            "http://127.0.0.1:4566/_aws/execute-api/abc123/dev/code-generation",
        ] {
            let err = xtask::invoke::invoke(&aws, AuthMode::AwsIam, url, &request("x", "python"))
                .await
                .err()
                .ok_or_else(|| anyhow::anyhow!("a request for {url} was signed"))?;
            assert!(format!("{err:#}").contains("refusing to sign"), "{err:#}");
        }
        let url = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/code-generation";
        assert!(xtask::invoke::check_invoke_url(&aws, url, "abc123").is_ok());
        assert!(xtask::invoke::check_invoke_url(&aws, url, "def456").is_err());
    } else {
        // The caller's environment names an endpoint for AWS stages; that refusal is the point
        // of the tests above.
        note("skipping the AWS-host half: this environment sets an endpoint override");
    }
    let emulator = xtask::aws::try_connect(
        &codegen_infra::load_stage(&root, "local")?,
        &ConnectOptions::emulator("http://127.0.0.1:9"),
    )
    .await?;
    let url = "https://abc123.execute-api.us-east-1.amazonaws.com/local/code-generation";
    let err = xtask::invoke::invoke(&emulator, AuthMode::AwsIam, url, &request("x", "python"))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("the emulator's credentials were signed for {url}"))?;
    assert!(format!("{err:#}").contains("refusing to sign"), "{err:#}");
    Ok(())
}

/// Waits until the stack leaves `*_IN_PROGRESS`, returning its status.
async fn settled(admin: &xtask::aws::Clients, stack: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = xtask::cfn::describe_stack(&admin.cfn, stack)
            .await?
            .ok_or_else(|| anyhow::anyhow!("stack {stack} vanished"))?;
        let status = xtask::cfn::status_of(&s).to_owned();
        if !status.ends_with("_IN_PROGRESS") {
            return Ok(status);
        }
        anyhow::ensure!(Instant::now() < deadline, "stack {stack} stuck in {status}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_empties_the_stacks_own_bucket_not_the_one_an_output_names() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let code_bucket = deployed.outputs[codegen_infra::stack::outputs::BUCKET_NAME].clone();
    assert_eq!(
        xtask::destroy::code_bucket_of(&admin.cfn, STACK).await?,
        Some(code_bucket.clone())
    );
    admin
        .s3
        .put_object()
        .bucket(&code_bucket)
        .key("code-output/probe.py")
        .body(b"print(1)".to_vec().into())
        .send()
        .await?;

    // Someone who may update the stack points its BucketName output at another bucket.
    let victim = "codegen-victim-bucket";
    admin.s3.create_bucket().bucket(victim).send().await?;
    admin
        .s3
        .put_object()
        .bucket(victim)
        .key("keep.txt")
        .body(b"keep".to_vec().into())
        .send()
        .await?;
    let body = admin
        .cfn
        .get_template()
        .stack_name(STACK)
        .send()
        .await?
        .template_body()
        .unwrap_or_default()
        .to_owned();
    let mut template: serde_json::Value = serde_json::from_str(&body)?;
    template["Outputs"]["BucketName"]["Value"] = serde_json::Value::String(victim.into());
    let stack = xtask::cfn::describe_stack(&admin.cfn, STACK)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no stack"))?;
    let keep: Vec<Parameter> = stack
        .parameters()
        .iter()
        .map(|p| {
            Parameter::builder()
                .parameter_key(p.parameter_key().unwrap_or_default())
                .use_previous_value(true)
                .build()
        })
        .collect();
    admin
        .cfn
        .update_stack()
        .stack_name(STACK)
        .template_body(template.to_string())
        .set_parameters(Some(keep))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await?;
    let status = settled(&admin, STACK).await?;
    let outputs = xtask::cfn::outputs_of(
        &xtask::cfn::describe_stack(&admin.cfn, STACK)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no stack"))?,
    );
    assert_eq!(
        outputs
            .get(codegen_infra::stack::outputs::BUCKET_NAME)
            .map(String::as_str),
        Some(victim),
        "the output was repointed ({status})"
    );

    let gone = em.destroy(false).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(gone.objects_deleted >= 1, "{gone:?}");
    let kept = admin
        .s3
        .head_object()
        .bucket(victim)
        .key("keep.txt")
        .send()
        .await;
    assert!(kept.is_ok(), "destroy emptied the bucket the output named");
    assert!(
        !xtask::assets::bucket_exists(&admin.s3, &code_bucket).await?,
        "the stack's own bucket ({CODE_BUCKET}) was emptied and deleted with the stack"
    );

    xtask::buckets::empty_bucket(&admin.s3, victim).await?;
    admin.s3.delete_bucket().bucket(victim).send().await?;
    em.destroy(true).await?;
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}
