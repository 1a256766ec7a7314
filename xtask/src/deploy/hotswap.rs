//! `deploy --hotswap`: the function's code only, outside CloudFormation (emulator stages and stages
//! that allow it).

use std::time::Instant;

use anyhow::{Context, bail};
use codegen_infra::stack::outputs as out_names;

use super::{
    DeployOutcome, DeployReport, Loaded, PackageReport, verification_for, verify_function,
    wait_for_function_update,
};
use crate::assets::{AssetBucket, PublishedPackage};
use crate::plan::ChangeSummary;
use crate::report::progress;
use crate::{assets, bootstrap, cfn, outputs};

/// `deploy --hotswap`: updates the function code directly (no CloudFormation), for dev loops.
/// No template is synthesised, no change set is made and the model-access preflight is skipped:
/// the stack and function are read, the package is uploaded by hash if new, the code is updated
/// and the update awaited.
/// The stack's `CodeS3Key` and `CodeS3ObjectVersion` parameters are then out of date (drift) until
/// the next normal deploy.
pub async fn hotswap(loaded: Loaded, started: Instant) -> anyhow::Result<DeployOutcome> {
    let Loaded {
        cfg,
        clients,
        package,
        mut timings,
    } = loaded;
    if !cfg.allows_hotswap() {
        bail!(
            "--hotswap is not allowed for stage `{}`: it replaces the code outside CloudFormation; \
             set `function.allow_hotswap: true` in infra/stages/{}.yaml for a development stage",
            cfg.name,
            cfg.name
        );
    }
    let stack_name = cfg.stack_name.clone();
    let stack = cfn::describe_stack(&clients.cfn, &stack_name)
        .await?
        .with_context(|| {
            format!(
                "--hotswap needs an existing stack: run `cargo xtask deploy --stage {}` first",
                cfg.name
            )
        })?;
    let outputs = cfn::outputs_of(&stack);
    let name = outputs::require(&outputs, out_names::FUNCTION_NAME)?;
    progress(format!(
        "hotswap: updating the code of {name} directly; the stack now drifts from its template until the next `deploy` without --hotswap"
    ));
    let t = Instant::now();
    let current = clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .with_context(|| format!("failed to read function {name}"))?;
    let same = current.code_sha256() == Some(package.sha256_base64.as_str());
    let boot = bootstrap::ensure(&clients, &cfg).await?;
    let bucket = AssetBucket {
        name: boot.asset_bucket,
        owner: boot.account,
    };
    let key = package.asset_key(&stack_name);
    let mut published = PublishedPackage {
        key: key.clone(),
        version_id: String::new(),
        uploaded: false,
    };
    let result = if same {
        "unchanged"
    } else {
        // Through the asset bucket rather than inline (`ZipFile`): the upload is skipped when the
        // hash is already there, and a raw S3 PUT is cheaper than a base64 JSON body. The same
        // checks as a normal deploy: the object's SHA-256 is verified and its version pinned
        // (UpdateFunctionCode's S3ObjectVersion: "For versioned objects, the version of the
        // deployment package object to use", Lambda API reference).
        assets::require_bucket(&clients.s3, &bucket).await?;
        published = assets::publish_package(
            &clients.s3,
            &bucket,
            &key,
            &package,
            verification_for(&clients),
        )
        .await?;
        clients
            .lambda
            .update_function_code()
            .function_name(name)
            .s3_bucket(&bucket.name)
            .s3_key(&published.key)
            .s3_object_version(&published.version_id)
            .send()
            .await
            .with_context(|| format!("failed to update the code of {name}"))?;
        let waited = Instant::now();
        wait_for_function_update(&clients.lambda, name).await?;
        timings.insert("hotswap_wait".to_owned(), waited.elapsed().as_millis());
        "hotswapped"
    };
    timings.insert("hotswap".to_owned(), t.elapsed().as_millis());
    verify_function(&clients, &package, &outputs).await?;
    let all = outputs::with_invoke_url(&clients, &cfg, outputs);
    timings.insert("total".to_owned(), started.elapsed().as_millis());
    Ok(DeployOutcome::Done(Box::new(DeployReport {
        stack: stack_name,
        stage: cfg.name.clone(),
        result: result.to_owned(),
        stack_status: cfn::status_of(&stack).to_owned(),
        changes: ChangeSummary::default(),
        package: PackageReport::new(&package, &bucket.name, &published),
        api_deployment_id: None,
        outputs: all,
        timings_ms: timings,
    })))
}
