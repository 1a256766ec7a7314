//! The production path on the emulator: a stage pinned to another account is refused before any
//! build or write; a production-class stage keeps its data when it is destroyed (and refuses to be
//! destroyed without `--production`); `deploy --prepare` / `--execute` runs exactly the reviewed
//! change set and refuses an edited plan or a stack that moved in between. Runs against ministack
//! on a free loopback port with a stand-in package (a shell `bootstrap` that is never invoked), so
//! it needs no build of the function.
//!
//! What the emulator cannot show: that AWS's own CloudFormation marks a change set obsolete after
//! another update (ministack never does; the deployer checks the stack's last change and template
//! itself, which is what these tests exercise), and IAM on the plan role (see the bootstrap tests).

use std::path::{Path, PathBuf};

use codegen_infra::StageConfig;
use xtask::aws::Clients;
use xtask::deploy::{DeployOptions, DeployOutcome, execute_plan, prepare_plan};
use xtask::destroy::{DestroyOptions, DestroyOutcome};
use xtask::local::ScopedEmulator;

/// ministack's account for the `test` key ("MINISTACK_ACCOUNT_ID ... or 000000000000").
const EMULATOR_ACCOUNT: &str = "000000000000";

fn root() -> PathBuf {
    xtask::project_root()
}

fn scratch() -> PathBuf {
    root().join("target").join("production-tests")
}

async fn emulator() -> ScopedEmulator {
    ScopedEmulator::start(&root(), &scratch(), false)
        .await
        .expect("ministack starts")
}

/// The stand-in package, written once per test under a name of its own.
fn stand_in(name: &str) -> PathBuf {
    let dir = scratch();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("{name}.zip"));
    let bytes = xtask::package::zip_bootstrap(b"#!/bin/sh\nexit 1\n").expect("zip");
    std::fs::write(&path, bytes).expect("write zip");
    path
}

/// `local.yaml` with `extra` lines after its region, validated as a stage file is.
fn local_with(extra: &str) -> StageConfig {
    let text = std::fs::read_to_string(root().join("infra/stages/local.yaml")).expect("local.yaml");
    assert!(text.contains("region: us-east-1\n"));
    let text = text.replacen(
        "region: us-east-1\n",
        &format!("region: us-east-1\n{extra}"),
        1,
    );
    codegen_infra::config::parse_stage("local", "local.yaml (edited by a test)", &text)
        .expect("valid stage")
}

fn production_local() -> StageConfig {
    local_with(&format!(
        "account: \"{EMULATOR_ACCOUNT}\"\nprotection: production\n"
    ))
}

fn deploy_options(em: &ScopedEmulator, cfg: StageConfig, package: &Path) -> DeployOptions {
    DeployOptions {
        stage: "local".into(),
        yes: true,
        package: Some(package.to_path_buf()),
        stage_config: Some(cfg),
        connect: em.connect_options(),
        ..DeployOptions::default()
    }
}

async fn admin(em: &ScopedEmulator) -> Clients {
    let cfg = codegen_infra::load_stage(&root(), "local").expect("local stage");
    xtask::aws::try_connect(&cfg, &em.connect_options())
        .await
        .expect("clients")
}

async fn deployed(opts: &DeployOptions) {
    match xtask::deploy::deploy(&root(), opts).await.expect("deploys") {
        DeployOutcome::Done(_) => {}
        DeployOutcome::NeedsApproval { reason, .. } => panic!("needs approval: {reason}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_pinned_to_another_account_is_refused_before_any_build_or_write() {
    let em = emulator().await;
    // A package path that does not exist: if anything read or built the package before the
    // account check, the error would be about the package instead.
    let missing = scratch().join("never-written.zip");
    let pinned = local_with("account: \"111122223333\"\n");
    let err = xtask::deploy::deploy(&root(), &deploy_options(&em, pinned, &missing))
        .await
        .expect_err("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("111122223333") && message.contains(EMULATOR_ACCOUNT),
        "the refusal names both accounts: {message}"
    );
    assert!(message.contains("refusing stage `local`"), "{message}");

    // Nothing was written: no bootstrap, no asset bucket, no stack.
    let clients = admin(&em).await;
    let buckets = clients
        .s3
        .list_buckets()
        .send()
        .await
        .expect("list buckets");
    assert_eq!(buckets.buckets().len(), 0, "{:?}", buckets.buckets());
    let stacks = clients.cfn.describe_stacks().send().await.expect("stacks");
    assert_eq!(stacks.stacks().len(), 0);

    // Control: the emulator's own account passes the check and stops at the missing package.
    let own = local_with(&format!("account: \"{EMULATOR_ACCOUNT}\"\n"));
    let err = xtask::deploy::deploy(&root(), &deploy_options(&em, own, &missing))
        .await
        .expect_err("no package");
    let message = format!("{err:#}");
    assert!(!message.contains("refusing stage"), "{message}");
    assert!(message.contains("never-written.zip"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_production_stage_keeps_its_data_and_its_destroy_needs_the_flag() {
    let em = emulator().await;
    let zip = stand_in("production");
    let cfg = production_local();
    let stack = cfg.stack_name.clone();
    deployed(&deploy_options(&em, cfg.clone(), &zip)).await;
    let clients = admin(&em).await;

    let described = xtask::cfn::describe_stack(&clients.cfn, &stack)
        .await
        .expect("describe")
        .expect("the stack exists");
    assert_eq!(described.enable_termination_protection(), Some(true));

    // Hotswap is refused on a production stage although emulator stages allow it, before any
    // package is read.
    let mut hotswap = deploy_options(&em, cfg.clone(), &scratch().join("never-written.zip"));
    hotswap.hotswap = true;
    let err = xtask::deploy::deploy(&root(), &hotswap)
        .await
        .expect_err("refused");
    assert!(format!("{err:#}").contains("production-class"), "{err:#}");

    // A caller's generated code in the code bucket.
    let outputs = xtask::cfn::outputs_of(&described);
    let bucket = outputs.get("BucketName").expect("bucket output").clone();
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key("code-output/2026/12/07/kept.py")
        .body(b"print('kept')\n".to_vec().into())
        .send()
        .await
        .expect("put object");

    let destroy = |production: bool| DestroyOptions {
        stage: "local".into(),
        yes: true,
        connect: em.connect_options(),
        stage_config: Some(cfg.clone()),
        production,
        ..DestroyOptions::default()
    };
    let err = xtask::destroy::destroy(&root(), &destroy(false))
        .await
        .expect_err("refused without --production");
    assert!(format!("{err:#}").contains("--production"), "{err:#}");
    assert!(
        xtask::cfn::describe_stack(&clients.cfn, &stack)
            .await
            .expect("describe")
            .is_some(),
        "the refused destroy left the stack alone"
    );

    let report = match xtask::destroy::destroy(&root(), &destroy(true))
        .await
        .expect("destroyed")
    {
        DestroyOutcome::Done(report) => report,
        DestroyOutcome::NeedsApproval(why) => panic!("{why}"),
    };
    assert_eq!(report.result, xtask::destroy::DestroyResult::Deleted);
    assert_eq!(
        report.objects_deleted, 0,
        "a production bucket is never emptied"
    );
    assert!(
        report
            .retained
            .contains(&format!("AWS::S3::Bucket {bucket}")),
        "{:?}",
        report.retained
    );
    assert!(
        xtask::cfn::describe_stack(&clients.cfn, &stack)
            .await
            .expect("describe")
            .is_none()
    );
    let kept = clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key("code-output/2026/12/07/kept.py")
        .send()
        .await
        .expect("the object outlived the stack");
    let body = kept.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"print('kept')\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewed_plan_runs_as_reviewed_and_a_moved_stack_or_an_edited_plan_is_refused() {
    let em = emulator().await;
    let zip = stand_in("plan");
    let dir = scratch().join(format!("plans-{}", std::process::id()));
    let cfg = production_local();
    let stack = cfg.stack_name.clone();
    let opts = deploy_options(&em, cfg.clone(), &zip);
    let clients = admin(&em).await;

    // Prepare a create: the change set exists, nothing else does.
    let first = dir.join("first.json");
    let plan = prepare_plan(&root(), &opts, &first)
        .await
        .expect("prepared");
    assert!(plan.body.intent.create);
    let change_set = plan.body.change_set.clone().expect("a change set");
    assert!(
        plan.body
            .approval_reasons
            .iter()
            .any(|r| r.contains("production-class")),
        "{:?}",
        plan.body.approval_reasons
    );
    assert!(plan.body.summary.iter().any(|l| l.contains("CodeBucket")));

    // An edited plan is refused before anything is called (a one-word change to its summary).
    let text = std::fs::read_to_string(&first).expect("plan");
    let edited = dir.join("edited.json");
    std::fs::write(&edited, text.replacen("[+]", "[~]", 1)).expect("write");
    let err = execute_plan(&root(), &opts, &edited, None)
        .await
        .expect_err("edited plan refused");
    assert!(
        format!("{err:#}").contains("changed after it was written"),
        "{err:#}"
    );
    // The plan as written, but not the digest the reviewers saw.
    let err = execute_plan(&root(), &opts, &first, Some(&"0".repeat(64)))
        .await
        .expect_err("other digest refused");
    assert!(format!("{err:#}").contains("not the reviewed"), "{err:#}");

    // The reviewed plan executes, exactly that change set.
    match execute_plan(&root(), &opts, &first, Some(&plan.digest))
        .await
        .expect("executed")
    {
        DeployOutcome::Done(report) => {
            assert_eq!(report.result, xtask::deploy::DeployResult::Created)
        }
        DeployOutcome::NeedsApproval { reason, .. } => panic!("{reason}"),
    }
    let executed = clients
        .cfn
        .describe_change_set()
        .stack_name(&stack)
        .change_set_name(&change_set.id)
        .send()
        .await
        .expect("the executed change set");
    assert_eq!(
        executed.execution_status().map(|s| s.as_str()),
        Some("EXECUTE_COMPLETE")
    );

    // A second plan (more memory), then the stack moves before it is executed.
    let bigger = local_with(&format!(
        "account: \"{EMULATOR_ACCOUNT}\"\nprotection: production\n"
    ));
    let mut bigger_opts = deploy_options(&em, bigger.clone(), &zip);
    if let Some(c) = &mut bigger_opts.stage_config {
        c.function.memory_mb = 1024;
    }
    let second = dir.join("second.json");
    let plan2 = prepare_plan(&root(), &bigger_opts, &second)
        .await
        .expect("prepared");
    assert!(!plan2.body.intent.create);
    assert!(
        plan2
            .body
            .summary
            .iter()
            .any(|l| l.contains("AWS::Lambda::Function")),
        "{:?}",
        plan2.body.summary
    );
    let mut other = deploy_options(&em, bigger, &zip);
    if let Some(c) = &mut other.stage_config {
        c.function.memory_mb = 768;
    }
    deployed(&other).await;
    let err = execute_plan(&root(), &bigger_opts, &second, Some(&plan2.digest))
        .await
        .expect_err("the stack moved");
    let message = format!("{err:#}");
    assert!(message.contains("stack's last change"), "{message}");
    assert!(message.contains("deployed template"), "{message}");

    // Clean up: the production stage's data is kept, so the bucket stays in this emulator only.
    let destroy = DestroyOptions {
        stage: "local".into(),
        yes: true,
        connect: em.connect_options(),
        stage_config: Some(cfg),
        production: true,
        ..DestroyOptions::default()
    };
    xtask::destroy::destroy(&root(), &destroy)
        .await
        .expect("destroyed");
}

/// `deploy --stage dev` without any credentials: one line that says what to do, before the
/// function is built (no build or target message) and without the SDK's provider chain. The
/// instance metadata provider is turned off so the test touches no address off this machine.
#[test]
fn missing_credentials_fail_before_the_build_with_what_to_do() {
    let home = scratch().join(format!("empty-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("home");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["deploy", "--stage", "dev", "--yes"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("xtask runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials found: set AWS_PROFILE"),
        "{stderr}"
    );
    for later in [
        "rustup",
        "codegen-function",
        "up to date",
        "cargo lambda",
        "uploaded",
    ] {
        assert!(
            !stderr.contains(later),
            "`{later}` ran before the check: {stderr}"
        );
    }
}

/// Promotion between two emulator stages: `local` deploys a package; a production-class stage
/// (another stack) takes exactly that package with `--package-from local` and builds nothing;
/// every function of both stacks then runs one and the same package, read from Lambda.
#[tokio::test(flavor = "multi_thread")]
async fn a_production_stage_runs_exactly_the_package_the_earlier_stage_runs() {
    let em = emulator().await;
    let zip = stand_in("promoted");
    let local = codegen_infra::load_stage(&root(), "local").expect("local");
    deployed(&deploy_options(&em, local.clone(), &zip)).await;

    let mut prod = production_local();
    prod.stack_name = "codegen-local-prod".into();
    // Without a package, a production stage refuses to build one (before any build).
    let mut no_package = deploy_options(&em, prod.clone(), &zip);
    no_package.package = None;
    let err = xtask::deploy::deploy(&root(), &no_package)
        .await
        .expect_err("refused");
    assert!(format!("{err:#}").contains("--package-from"), "{err:#}");

    let mut promote = deploy_options(&em, prod.clone(), &zip);
    promote.package = None;
    promote.package_from = Some("local".into());
    deployed(&promote).await;

    let clients = admin(&em).await;
    let ours = xtask::promote::functions_code(&clients, &prod.stack_name)
        .await
        .expect("prod functions");
    let theirs = xtask::promote::functions_code(&clients, &local.stack_name)
        .await
        .expect("local functions");
    assert_eq!(ours.len(), 4, "{ours:?}");
    let package =
        xtask::package::Package::from_zip(&zip, codegen_infra::config::Architecture::X86_64)
            .expect("stand-in");
    assert!(ours.values().all(|p| *p == package.sha256_hex), "{ours:?}");
    let comparison = xtask::promote::compare(ours, theirs);
    assert!(comparison.same, "{comparison:?}");

    // An artifact that is not the published one is refused before it is uploaded.
    let mut wrong = deploy_options(&em, prod, &zip);
    wrong.package_sha256 = Some("0".repeat(64));
    let err = xtask::deploy::deploy(&root(), &wrong)
        .await
        .expect_err("refused");
    assert!(format!("{err:#}").contains("not the expected"), "{err:#}");
}
