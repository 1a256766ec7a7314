//! `deploy --hotswap`: the functions' code only, outside CloudFormation (emulator stages and stages
//! that allow it). Every function of the stack runs the one package, so every one is updated, in
//! parallel, and the post-deploy check verifies them all.

use std::time::Instant;

use anyhow::{Context, bail};

use super::{
    DeployOutcome, DeployReport, DeployResult, Loaded, PackageReport, verification_for,
    verify_functions, wait_for_function_update,
};
use crate::assets::{AssetBucket, PublishedPackage};
use crate::plan::ChangeSummary;
use crate::report::progress;
use crate::{assets, bootstrap, cfn, functions, outputs};

/// `deploy --hotswap`: updates the code of every function of the stack directly (no
/// CloudFormation), for dev loops.
/// No template is synthesised, no change set is made and the model-access preflight is skipped:
/// the stack and function are read, the package is uploaded by hash if new, the code is updated
/// and the update awaited.
/// The stack's `CodeS3Key` and `CodeS3ObjectVersion` parameters are then out of date (drift) until
/// the next normal deploy.
pub(crate) async fn hotswap(loaded: Loaded, started: Instant) -> anyhow::Result<DeployOutcome> {
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
    // Every function of the stack runs this package: found from the stack's own resources, so a
    // function added to the stack is swapped without a change here (as CDK's hotswap follows the
    // template rather than a list).
    let functions = functions::list_functions(&clients.cfn, &stack_name).await?;
    let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
    progress(format!(
        "hotswap: updating the code of {} directly; the stack now drifts from its template until the next `deploy` without --hotswap",
        names.join(", ")
    ));
    let t = Instant::now();
    let mut stale = Vec::new();
    for name in &names {
        let current = clients
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .with_context(|| format!("failed to read function {name}"))?;
        if current.code_sha256() != Some(package.sha256_base64.as_str()) {
            stale.push(name.clone());
        }
    }
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
    let result = if stale.is_empty() {
        DeployResult::Unchanged
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
        let waited = Instant::now();
        update_all(&clients.lambda, &stale, &bucket.name, &published).await?;
        timings.insert("hotswap_wait".to_owned(), waited.elapsed().as_millis());
        DeployResult::Hotswapped
    };
    timings.insert("hotswap".to_owned(), t.elapsed().as_millis());
    verify_functions(&clients, &package, &stack_name).await?;
    let all = outputs::with_invoke_url(&clients, &cfg, outputs);
    timings.insert("total".to_owned(), started.elapsed().as_millis());
    Ok(DeployOutcome::Done(Box::new(DeployReport {
        stack: stack_name,
        stage: cfg.name.clone(),
        result,
        stack_status: cfn::status_of(&stack).to_owned(),
        changes: ChangeSummary::default(),
        package: PackageReport::new(&package, &bucket.name, &published),
        api_deployment_id: None,
        outputs: all,
        timings_ms: timings,
    })))
}

/// Updates the code of every function in `names` to the published package, in parallel, and waits
/// until each update has finished. Every failure is reported, not only the first.
pub(crate) async fn update_all(
    lambda: &aws_sdk_lambda::Client,
    names: &[String],
    bucket: &str,
    published: &PublishedPackage,
) -> anyhow::Result<()> {
    let mut updates = tokio::task::JoinSet::new();
    for name in names {
        let (client, name, bucket, key, version) = (
            aws_sdk_lambda::Client::clone(lambda),
            name.clone(),
            bucket.to_owned(),
            published.key.clone(),
            published.version_id.clone(),
        );
        updates.spawn(async move {
            client
                .update_function_code()
                .function_name(&name)
                .s3_bucket(&bucket)
                .s3_key(&key)
                .s3_object_version(&version)
                .send()
                .await
                .with_context(|| format!("failed to update the code of {name}"))?;
            wait_for_function_update(&client, &name).await
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = updates.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(e) => failures.push(format!("an update did not finish: {e}")),
        }
    }
    if !failures.is_empty() {
        failures.sort();
        bail!("hotswap failed:\n  {}", failures.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
    use aws_sdk_lambda::types::LastUpdateStatus;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn every_function_is_updated_to_the_pinned_version_and_awaited() {
        let updated = Arc::new(Mutex::new(Vec::new()));
        let seen = updated.clone();
        let update = mock!(Client::update_function_code)
            .match_requests(move |r| {
                let ok = r.s3_bucket() == Some("assets")
                    && r.s3_key() == Some("k.zip")
                    && r.s3_object_version() == Some("v1");
                if ok && let Ok(mut seen) = seen.lock() {
                    seen.push(r.function_name().unwrap_or_default().to_owned());
                }
                ok
            })
            .then_output(|| UpdateFunctionCodeOutput::builder().build());
        let settled = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        });
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &settled]);
        let names: Vec<String> = [
            "a-generator",
            "a-jobs-submit",
            "a-jobs-status",
            "a-jobs-worker",
        ]
        .map(str::to_owned)
        .to_vec();
        let published = PublishedPackage {
            key: "k.zip".to_owned(),
            version_id: "v1".to_owned(),
            uploaded: true,
        };
        update_all(&lambda, &names, "assets", &published)
            .await
            .expect("all updated");
        let mut got = updated.lock().expect("lock").clone();
        got.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(got, want, "every function, once");
        assert_eq!(update.num_calls(), 4);
    }

    #[tokio::test]
    async fn a_failed_update_names_its_function() {
        let update = mock!(Client::update_function_code)
            .then_output(|| UpdateFunctionCodeOutput::builder().build());
        let failed = mock!(Client::get_function_configuration)
            .match_requests(|r| r.function_name() == Some("a-jobs-worker"))
            .then_output(|| {
                GetFunctionConfigurationOutput::builder()
                    .last_update_status(LastUpdateStatus::Failed)
                    .last_update_status_reason("bad zip")
                    .build()
            });
        let settled = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        });
        let lambda = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            [&update, &failed, &settled]
        );
        let names = vec!["a-generator".to_owned(), "a-jobs-worker".to_owned()];
        let published = PublishedPackage {
            key: "k.zip".to_owned(),
            version_id: "v1".to_owned(),
            uploaded: true,
        };
        let err = update_all(&lambda, &names, "assets", &published)
            .await
            .expect_err("the worker failed");
        let text = format!("{err:#}");
        assert!(
            text.contains("a-jobs-worker") && text.contains("bad zip"),
            "{text}"
        );
        assert!(!text.contains("a-generator"), "{text}");
    }
}
