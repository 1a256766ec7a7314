//! Opt-in tests against real AWS: deploy a stage, call the API, check the code was stored, destroy
//! the stack and check it is gone. They run only with `CODEGEN_LIVE_AWS=1` and standard AWS
//! credentials of an administrator (the test bootstraps its own per-run stack, creating IAM roles)
//! plus Bedrock model access; otherwise each test prints why it skipped and passes. The deploy
//! itself runs as the bootstrap's deploy role (`--assume-role`), as CI would.
//!
//! Environment:
//! - `CODEGEN_LIVE_AWS=1`: run (anything else: skip).
//! - `CODEGEN_LIVE_AWS_STAGE`: stage file to deploy (default `dev`).
//! - `AWS_PROFILE` / `AWS_ACCESS_KEY_ID`... / OIDC: credentials, read by the SDK as usual.
//!
//! Teardown is guaranteed: a guard destroys the stack when the test ends, also when an assertion
//! fails (the guard's `Drop` runs `destroy --all` on a fresh runtime in its own thread), which
//! also removes the run's bootstrap stack.
//!
//! Per-run stack names: each run deploys `<stage stack>-live-<suffix>` through
//! `DeployOptions::stack_name_override`, so concurrent runs cannot collide and a run never touches
//! the stage's own stack; it still refuses to run if its stack already exists.

use std::time::Instant;

use codegen_contract::{GenerateRequest, OUTPUT_PREFIX};
use codegen_infra::stack::outputs as out;
use xtask::aws::ConnectOptions;
use xtask::deploy::{DeployOptions, DeployOutcome};
use xtask::destroy::{DestroyOptions, DestroyOutcome};
use xtask::outputs::RESOLVED_INVOKE_URL;

const ENABLE: &str = "CODEGEN_LIVE_AWS";
const STAGE_VAR: &str = "CODEGEN_LIVE_AWS_STAGE";
const COSTS: &str = "costs: one Bedrock Converse call (at most 512 output tokens of Claude \
Sonnet 4.5, about a cent), seconds of Lambda and API Gateway, S3 and CloudWatch Logs requests: \
well under $0.05 per run, 3-5 minutes";

/// Whether the live tests are enabled; prints the skip line when they are not.
#[allow(
    clippy::print_stderr,
    reason = "the skip line must be visible in the test output: it is the point"
)]
fn enabled(test: &str) -> bool {
    if std::env::var(ENABLE).as_deref() == Ok("1") {
        return true;
    }
    eprintln!("{test}: skipped: set {ENABLE}=1 to run against real AWS ({COSTS})");
    false
}

#[allow(clippy::print_stderr, reason = "test progress for a multi-minute run")]
fn note(line: &str) {
    eprintln!("live-aws: {line}");
}

fn stage() -> String {
    std::env::var(STAGE_VAR)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "dev".to_owned())
}

/// The per-run stack name: the stage's stack name plus a short, unique suffix (stack names allow letters, digits and hyphens).
pub fn run_stack_name(base: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{base}-live-{:x}", millis % 0xff_ffff)
}

/// Destroys the stage's stack when dropped, whatever happened before.
struct StackGuard {
    stage: String,
    stack: String,
    armed: bool,
}

impl StackGuard {
    fn new(stage: &str, stack: &str) -> Self {
        Self {
            stage: stage.to_owned(),
            stack: stack.to_owned(),
            armed: true,
        }
    }

    /// Destroys now (the assertion path); the guard then has nothing left to do.
    async fn destroy(&mut self) -> anyhow::Result<xtask::destroy::DestroyReport> {
        self.armed = false;
        destroy(&self.stage, &self.stack).await
    }
}

impl Drop for StackGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let stage = self.stage.clone();
        let stack = self.stack.clone();
        note(&format!("teardown: destroying stack {stack}"));
        // A test's runtime cannot block on itself inside Drop; a new thread with its own runtime
        // can, and joining it keeps the process alive until the stack is gone.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(destroy(&stage, &stack))
        })
        .join();
        match outcome {
            Ok(Ok(report)) => note(&format!("teardown: {} {}", report.stack, report.result)),
            Ok(Err(err)) => note(&format!(
                "teardown FAILED: {err:#}; run `cargo xtask destroy --stage {} --yes`",
                self.stage
            )),
            Err(_) => note("teardown thread panicked"),
        }
    }
}

async fn destroy(stage: &str, stack: &str) -> anyhow::Result<xtask::destroy::DestroyReport> {
    let opts = DestroyOptions {
        stage: stage.to_owned(),
        yes: true,
        all: true,
        connect: ConnectOptions::default(),
        stack_name_override: Some(stack.to_owned()),
        stage_config: None,
        production: false,
    };
    match xtask::destroy::destroy(&e2e_tests::root(), &opts).await? {
        DestroyOutcome::Done(report) => Ok(report),
        DestroyOutcome::NeedsApproval(reason) => anyhow::bail!("destroy needs approval: {reason}"),
    }
}

// Ignored by default so `cargo test` lists it visibly as skipped, with the way to run it.
#[ignore = "real AWS: run with CODEGEN_LIVE_AWS=1 cargo test -p e2e-tests --test live_aws -- --ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_deploy_invoke_destroy() -> anyhow::Result<()> {
    if !enabled("live_deploy_invoke_destroy") {
        return Ok(());
    }
    let stage = stage();
    let root = e2e_tests::root();
    let cfg = codegen_infra::load_stage(&root, &stage)?;
    anyhow::ensure!(
        cfg.endpoint.is_none() && std::env::var_os("AWS_ENDPOINT_URL").is_none(),
        "stage {stage} targets an emulator; the live tests are for real AWS"
    );
    let clients = xtask::aws::try_connect(&cfg, &ConnectOptions::default()).await?;
    let (account, arn) = xtask::aws::caller_identity(&clients).await?;
    let stack = run_stack_name(&cfg.stack_name);
    note(&format!(
        "account {account} as {arn}, region {}, stack {stack}",
        clients.region
    ));
    anyhow::ensure!(
        xtask::cfn::describe_stack(&clients.cfn, &stack)
            .await?
            .is_none(),
        "stack {stack} already exists in {}: the live test only deletes stacks it created",
        clients.region
    );

    let mut guard = StackGuard::new(&stage, &stack);
    let t = Instant::now();
    let boot = xtask::bootstrap::run(
        &root,
        &xtask::bootstrap::BootstrapOptions {
            stage: stage.clone(),
            stack_name_override: Some(stack.clone()),
            ..Default::default()
        },
    )
    .await?
    .bootstrap
    .expect("bootstrap outputs");
    note(&format!("bootstrapped in {} s", t.elapsed().as_secs()));
    let opts = DeployOptions {
        stage: stage.clone(),
        yes: true,
        stack_name_override: Some(stack.clone()),
        connect: ConnectOptions {
            assume_role: Some(boot.deploy_role_arn.clone()),
            ..ConnectOptions::default()
        },
        ..DeployOptions::default()
    };
    let report = match xtask::deploy::deploy(&root, &opts).await? {
        DeployOutcome::Done(r) => *r,
        DeployOutcome::NeedsApproval { reason, .. } => {
            anyhow::bail!("deploy --yes asked for approval: {reason}")
        }
    };
    note(&format!(
        "deployed {} ({}) in {} s",
        report.stack,
        report.result,
        t.elapsed().as_secs()
    ));
    assert_eq!(report.result, xtask::deploy::DeployResult::Created);

    let url = report
        .outputs
        .get(RESOLVED_INVOKE_URL)
        .expect("deploy reports the invoke URL");
    let request = GenerateRequest {
        message: "a function that returns the n-th Fibonacci number".into(),
        key: "python".into(),
        temperature: None,
        top_k: None,
        top_p: None,
        max_tokens: Some(512),
    };
    let response = xtask::invoke::invoke(&clients, cfg.api.auth, url, &request).await?;
    assert_eq!(response.status, 200, "body: {}", response.body);
    let generated = response.success().expect("a success body");
    let stored = generated
        .s3
        .as_ref()
        .unwrap_or_else(|| panic!("the code was not stored: {:?}", generated.warnings));
    let bucket = report
        .outputs
        .get(out::BUCKET_NAME)
        .expect("deploy reports the bucket");
    assert!(
        stored
            .uri
            .starts_with(&format!("s3://{bucket}/{OUTPUT_PREFIX}")),
        "{}",
        stored.uri
    );
    let versions = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(OUTPUT_PREFIX)
        .send()
        .await?;
    assert_eq!(
        versions.versions().len(),
        1,
        "exactly one object was stored"
    );

    if cfg.api.auth == codegen_infra::config::AuthMode::AwsIam {
        let unsigned = xtask::invoke::invoke(
            &clients,
            codegen_infra::config::AuthMode::None,
            url,
            &request,
        )
        .await?;
        assert_eq!(unsigned.status, 403, "the route must refuse unsigned calls");
    }

    let destroyed = guard.destroy().await?;
    assert_eq!(destroyed.result, xtask::destroy::DestroyResult::Deleted);
    assert!(
        destroyed.asset_bucket_deleted,
        "the run's bootstrap is removed"
    );
    assert!(
        xtask::cfn::describe_stack(&clients.cfn, &stack)
            .await?
            .is_none(),
        "the stack is gone"
    );
    let bucket_gone = !xtask::assets::bucket_exists(&clients.s3, bucket).await?;
    assert!(bucket_gone, "the code bucket {bucket} is gone");
    Ok(())
}

#[test]
fn live_tests_skip_visibly_without_the_opt_in() {
    // With the variable unset, `enabled` is false and prints the skip line; with it set, this
    // test has nothing to check.
    if std::env::var(ENABLE).as_deref() != Ok("1") {
        assert!(!enabled("live_tests_skip_visibly_without_the_opt_in"));
    }
}

#[test]
fn per_run_stack_names_are_valid_stack_names() {
    let name = run_stack_name("codegen-dev");
    assert!(name.starts_with("codegen-dev-live-"));
    assert!(
        name.len() <= 50,
        "stage stack names are at most 50 characters"
    );
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
}
