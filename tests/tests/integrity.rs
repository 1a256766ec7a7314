//! Package integrity against ministack: whoever can write the asset bucket must not get their code
//! deployed. A package is uploaded with its SHA-256 under the stack's own prefix and the template
//! pins the object version that was checked; bytes replaced under the package's key (with and
//! without an S3 checksum) are refused before any stack change; `destroy --all` is refused while
//! another stack still has a deployment recorded in the asset bucket.

use std::path::Path;

use aws_sdk_s3::types::ChecksumAlgorithm;
use codegen_infra::stack::{PARAM_CODE_KEY, PARAM_CODE_VERSION};
use e2e_tests::{Emulator, default_package, leftovers, note, variant_package};
use xtask::aws::Clients;
use xtask::deploy::{DeployOptions, DeployOutcome, DeployReport};
use xtask::destroy::{DestroyOptions, DestroyOutcome};

const STACK: &str = "codegen-local";

/// Everything a deploy could change about a stack and its function, to compare before and after.
#[derive(Debug, PartialEq)]
struct StackSnapshot {
    status: String,
    last_updated: Option<String>,
    parameters: Vec<(String, String)>,
    events: usize,
    change_sets: Vec<String>,
    code_sha256: String,
    function_modified: String,
}

async fn snapshot(admin: &Clients, stack: &str, function: &str) -> anyhow::Result<StackSnapshot> {
    let described = admin.cfn.describe_stacks().stack_name(stack).send().await?;
    let s = described
        .stacks()
        .first()
        .ok_or_else(|| anyhow::anyhow!("stack {stack} is missing"))?;
    // Sorted by key (a map), so snapshots compare whatever order DescribeStacks lists them in.
    let parameters: Vec<(String, String)> = xtask::cfn::parameters_of(s).into_iter().collect();
    let events = admin
        .cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await?
        .stack_events()
        .len();
    let mut change_sets: Vec<String> = admin
        .cfn
        .list_change_sets()
        .stack_name(stack)
        .send()
        .await?
        .summaries()
        .iter()
        .map(|c| {
            format!(
                "{} {:?}",
                c.change_set_name().unwrap_or_default(),
                c.execution_status()
            )
        })
        .collect();
    change_sets.sort();
    let config = admin
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await?;
    Ok(StackSnapshot {
        status: s
            .stack_status()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        last_updated: s.last_updated_time().map(|t| t.to_string()),
        parameters,
        events,
        change_sets,
        code_sha256: config.code_sha256().unwrap_or_default().to_owned(),
        function_modified: config.last_modified().unwrap_or_default().to_owned(),
    })
}

/// `s3://bucket/key` of a deploy report, split.
fn bucket_and_key(report: &DeployReport) -> (String, String) {
    let rest = report
        .package
        .uri
        .strip_prefix("s3://")
        .expect("an s3:// uri");
    let (bucket, key) = rest.split_once('/').expect("bucket/key");
    (bucket.to_owned(), key.to_owned())
}

fn param<'a>(snapshot: &'a StackSnapshot, name: &str) -> &'a str {
    snapshot
        .parameters
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

async fn deploy_stack(em: &Emulator, package: &Path, stack: &str) -> anyhow::Result<DeployReport> {
    let opts = DeployOptions {
        stage: "local".into(),
        yes: true,
        package: Some(package.to_path_buf()),
        stack_name_override: Some(stack.into()),
        connect: em.connect_options(),
        ..DeployOptions::default()
    };
    match xtask::deploy::deploy(&e2e_tests::root(), &opts).await? {
        DeployOutcome::Done(r) => Ok(*r),
        DeployOutcome::NeedsApproval { reason, .. } => anyhow::bail!("needs approval: {reason}"),
    }
}

async fn destroy_stack(
    em: &Emulator,
    stack: &str,
    all: bool,
) -> anyhow::Result<xtask::destroy::DestroyReport> {
    let opts = DestroyOptions {
        stage: "local".into(),
        yes: true,
        all,
        connect: em.connect_options(),
        stack_name_override: Some(stack.into()),
        stage_config: None,
        production: false,
    };
    match xtask::destroy::destroy(&e2e_tests::root(), &opts).await? {
        DestroyOutcome::Done(r) => Ok(r),
        DestroyOutcome::NeedsApproval(reason) => anyhow::bail!("needs approval: {reason}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_package_is_refused_before_any_stack_change() -> anyhow::Result<()> {
    let package = default_package().await?;
    let tampered = std::fs::read(variant_package("tampered").await?)?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;

    let first = em.deploy(&package, false).await?;
    assert_eq!(first.result, xtask::deploy::DeployResult::Created);
    let (bucket, key) = bucket_and_key(&first);
    assert!(
        key.starts_with(&format!("codegen-function/{STACK}/")) && key.ends_with(".zip"),
        "packages live under the stack's own prefix: {key}"
    );
    let function = first.outputs[codegen_infra::stack::outputs::FUNCTION_NAME].clone();
    let before = snapshot(&admin, STACK, &function).await?;

    // The template pins exactly the version that was uploaded, and S3 stored its SHA-256.
    let head = admin
        .s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await?;
    assert_eq!(param(&before, PARAM_CODE_KEY), key);
    assert_eq!(
        Some(param(&before, PARAM_CODE_VERSION)),
        head.version_id(),
        "the stack pins the uploaded version"
    );
    let package_bytes = std::fs::read(&package)?;
    let package_sha =
        xtask::package::Package::from_zip(&package, codegen_infra::config::Architecture::X86_64)?
            .sha256_base64;
    assert_eq!(
        head.checksum_sha256(),
        Some(package_sha.as_str()),
        "uploaded with its SHA-256"
    );
    assert_eq!(before.code_sha256, package_sha);

    // Someone with write access to the asset bucket replaces the package's bytes, once with an
    // S3 checksum of their own bytes and once without any SHA-256 (the SDK's default CRC only).
    for with_sha256 in [true, false] {
        let mut put = admin
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(tampered.clone().into());
        if with_sha256 {
            put = put.checksum_algorithm(ChecksumAlgorithm::Sha256);
        }
        put.send().await?;

        let err = em
            .deploy(&package, false)
            .await
            .expect_err("a tampered package must be refused");
        let message = format!("{err:#}");
        note(&format!("refused (with_sha256 {with_sha256}): {message}"));
        assert!(message.contains(&key), "names the key: {message}");
        assert!(
            message.contains(&package_sha),
            "names this build's digest: {message}"
        );
        assert!(
            message.contains("is not this build's package"),
            "says what is wrong: {message}"
        );
        let after = snapshot(&admin, STACK, &function).await?;
        assert_eq!(
            after, before,
            "the stack and the function must not change when the package is refused"
        );
    }

    // The bytes the stack pinned are still the build's: the tampering made new versions.
    let pinned = admin
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .version_id(param(&before, PARAM_CODE_VERSION))
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    assert_eq!(pinned.as_ref(), package_bytes.as_slice());

    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stack_has_its_own_bootstrap_and_destroy_all_removes_only_its_own()
-> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let other = "codegen-other";

    let mine = em.deploy(&package, false).await?;
    let theirs = deploy_stack(&em, &package, other).await?;
    let (my_bucket, my_key) = bucket_and_key(&mine);
    let (their_bucket, their_key) = bucket_and_key(&theirs);
    assert_ne!(
        my_bucket, their_bucket,
        "each stack's bootstrap has its own asset bucket"
    );
    assert!(my_key.starts_with(&format!("codegen-function/{STACK}/")));
    assert!(their_key.starts_with(&format!("codegen-function/{other}/")));

    // Removing this stage with its bootstrap leaves the other stack and its packages alone.
    let gone = em.destroy(true).await?;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(gone.asset_bucket_deleted);
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        xtask::cfn::describe_stack(&admin.cfn, other)
            .await?
            .is_some()
    );
    assert!(xtask::assets::bucket_exists(&admin.s3, &their_bucket).await?);
    assert!(
        admin
            .s3
            .head_object()
            .bucket(&their_bucket)
            .key(&their_key)
            .send()
            .await
            .is_ok(),
        "the other stack's package is still there"
    );

    // The other stage's bootstrap cannot be removed while its stack exists.
    let refused = xtask::bootstrap::run(
        &e2e_tests::root(),
        &xtask::bootstrap::BootstrapOptions {
            stage: "local".into(),
            destroy: true,
            connect: em.connect_options(),
            stack_name_override: Some(other.to_owned()),
            ..Default::default()
        },
    )
    .await
    .expect_err("bootstrap destroy must be refused while the stack exists");
    assert!(
        format!("{refused:#}").contains("Nothing was changed"),
        "{refused:#}"
    );
    assert_eq!(
        destroy_stack(&em, other, true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    let left = leftovers(&admin, other).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}
