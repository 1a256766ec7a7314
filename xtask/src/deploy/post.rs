//! After the change set: deploying the API stage when needed, and checking that every function of
//! the stack runs exactly the uploaded package (waiting out a code update still in progress).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use codegen_infra::stack::outputs as out_names;

use super::Prepared;
use crate::aws::Clients;
use crate::functions::{self, StackFunction};
use crate::outputs;
use crate::package::Package;
use crate::poll::{self, Backoff, Poll};
use crate::report::progress;

/// Creates a deployment of the API on the stage when routes or integrations changed, or when the
/// stage has never been deployed. AutoDeploy is off, so without this the stage would serve stale
/// routes (or none).
pub(super) async fn deploy_api_stage(
    p: &Prepared,
    outputs: &BTreeMap<String, String>,
    api_changed: bool,
) -> anyhow::Result<Option<String>> {
    let api_id = outputs::require(outputs, out_names::API_ID)?;
    let stage = outputs::require(outputs, out_names::STAGE_NAME)?;
    let current = p
        .clients
        .apigw
        .get_stage()
        .api_id(api_id)
        .stage_name(stage)
        .send()
        .await
        .with_context(|| format!("failed to read stage {stage} of API {api_id}"))?;
    let never_deployed = current.deployment_id().is_none_or(str::is_empty);
    if !api_changed && !never_deployed {
        return Ok(None);
    }
    let out = p
        .clients
        .apigw
        .create_deployment()
        .api_id(api_id)
        .stage_name(stage)
        .description(format!("cargo xtask deploy {}", &p.fingerprint[..12]))
        .send()
        .await
        .with_context(|| format!("failed to deploy API {api_id} to stage {stage}"))?;
    let id = out.deployment_id().unwrap_or_default().to_owned();
    progress(format!(
        "deployed API {api_id} to stage {stage} (deployment {id})"
    ));
    Ok(Some(id))
}

/// Post-deploy checks, on every function of the stack (found from its resources, see
/// [`crate::functions`]), in parallel: each runs the deployed package, is not failed, and its
/// execution role exists.
pub(super) async fn verify_functions(
    clients: &Clients,
    package: &Package,
    stack_name: &str,
) -> anyhow::Result<Vec<StackFunction>> {
    let functions = functions::list_functions(&clients.cfn, stack_name).await?;
    let mut checks = tokio::task::JoinSet::new();
    for f in &functions {
        let (clients, name, sha) = (
            clients.clone(),
            f.name.clone(),
            package.sha256_base64.clone(),
        );
        let path = package.path.display().to_string();
        checks.spawn(async move { verify_function(&clients, &name, &sha, &path).await });
    }
    let mut failures = Vec::new();
    while let Some(done) = checks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(e) => failures.push(format!("a check did not finish: {e}")),
        }
    }
    if !failures.is_empty() {
        failures.sort();
        bail!("post-deploy check failed:\n  {}", failures.join("\n  "));
    }
    Ok(functions)
}

/// One function: runs the package whose SHA-256 is `sha256_base64`, is not failed, has its role.
async fn verify_function(
    clients: &Clients,
    name: &str,
    sha256_base64: &str,
    path: &str,
) -> anyhow::Result<()> {
    let f = clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .with_context(|| format!("failed to read function {name}"))?;
    let config = f.configuration().context("function has no configuration")?;
    let deployed = config.code_sha256().unwrap_or_default();
    if deployed != sha256_base64 {
        bail!(
            "function {name} runs code {deployed}, not the package {sha256_base64} that was deployed ({path})"
        );
    }
    if config.state() == Some(&aws_sdk_lambda::types::State::Failed) {
        bail!(
            "function {name} is in state Failed: {}",
            config.state_reason().unwrap_or_default()
        );
    }
    let role_arn = config.role().unwrap_or_default();
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    clients
        .iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .with_context(|| format!("the role {role_name} of function {name} is missing"))?;
    Ok(())
}

/// Waits until the function's last update has finished (`LastUpdateStatus` leaves `InProgress`),
/// failing with Lambda's reason if it failed.
///
/// This polls rather than using the SDK's `FunctionUpdatedV2` waiter: that waiter sleeps at least
/// 1 s between polls (its documented delay; see [`crate::poll`]), longer than a code update of a dev stage usually takes, and the hotswap
/// exists to be fast. It polls every 50 ms for the first second, then backs off to 1 s.
pub(super) async fn wait_for_function_update(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> anyhow::Result<()> {
    use aws_sdk_lambda::types::LastUpdateStatus;
    // Every 50 ms for the first second (most updates take well under it), then backing off to
    // one look a second.
    let backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_secs(1),
        factor: 2,
        steady_for: Duration::from_secs(1),
    };
    poll::until(
        &format!("function {name}"),
        Duration::from_secs(300),
        backoff,
        || async move {
            let config = lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .with_context(|| format!("failed to read function {name}"))?;
            match config.last_update_status() {
                Some(LastUpdateStatus::InProgress) => Ok(Poll::Pending("updating".to_owned())),
                Some(LastUpdateStatus::Failed) => bail!(
                    "the code update of {name} failed: {}",
                    config.last_update_status_reason().unwrap_or_default()
                ),
                _ => Ok(Poll::Ready(())),
            }
        },
    )
    .await
}
