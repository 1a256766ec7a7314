//! Operations on a stack that wait for it, streaming its events to stderr: waiting for an
//! operation to end, recovering a failed rollback, termination protection and deletion.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackEvent, StackStatus};
use aws_smithy_types::date_time::DateTime;

use super::{describe_stack, is_stack_missing, stack_status};
use crate::plan::{is_success, is_terminal};
use crate::poll::{self, Backoff, Poll};
use crate::report::progress;

/// How long stack operations may take before the deployer gives up waiting (the operation goes
/// on; the next `deploy` waits for it).
const STACK_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Turns the stack's termination protection on or off ("If a user attempts to delete a stack with
/// termination protection enabled, the operation fails and the stack remains unchanged",
/// CloudFormation API reference, UpdateTerminationProtection,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateTerminationProtection.html>,
/// checked 2026-12-07).
pub(crate) async fn set_termination_protection(
    cfn: &Client,
    stack: &str,
    enable: bool,
) -> anyhow::Result<()> {
    cfn.update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(enable)
        .send()
        .await
        .with_context(|| {
            format!(
                "failed to turn {} the termination protection of stack {stack}",
                if enable { "on" } else { "off" }
            )
        })?;
    Ok(())
}

/// Deletes the stack and waits until it is gone. `role_arn`: the execution role that deletes the
/// resources (the deploy role may delete its stack only with it).
pub async fn delete_stack(
    cfn: &Client,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<String> {
    let since = DateTime::from(std::time::SystemTime::now());
    cfn.delete_stack()
        .stack_name(stack)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .with_context(|| format!("failed to delete stack {stack}"))?;
    wait_for_stack(cfn, stack, since).await
}

/// Continues a rollback that failed (`UPDATE_ROLLBACK_FAILED`) and waits for it.
pub(crate) async fn continue_update_rollback(
    cfn: &Client,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<String> {
    let since = DateTime::from(std::time::SystemTime::now());
    cfn.continue_update_rollback()
        .stack_name(stack)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .with_context(|| format!("failed to continue the update rollback of {stack}"))?;
    // "continues rolling it back to the UPDATE_ROLLBACK_COMPLETE state" (CloudFormation API
    // reference, ContinueUpdateRollback): that ending is this operation's success.
    wait_for_ending(cfn, stack, since, |s| {
        s == &StackStatus::UpdateRollbackComplete
    })
    .await
}

/// Waits until the stack's current operation ends, printing its events as they happen (stderr).
/// Returns the final status; fails with the root-cause event when the operation failed.
///
/// This polls rather than using the SDK's stack waiters: those poll every 30 s and cannot report
/// events, and both matter to a person watching a deploy.
pub(crate) async fn wait_for_stack(
    cfn: &Client,
    stack: &str,
    since: DateTime,
) -> anyhow::Result<String> {
    wait_for_ending(cfn, stack, since, is_success).await
}

/// [`wait_for_stack`], with `succeeded` deciding which ending is a success.
async fn wait_for_ending(
    cfn: &Client,
    stack: &str,
    since: DateTime,
    succeeded: impl Fn(&StackStatus) -> bool,
) -> anyhow::Result<String> {
    // Events already printed, and the failures among them (the root cause is the first). Locked
    // only between awaits.
    let printed = std::sync::Mutex::new((HashSet::<String>::new(), Vec::<String>::new()));
    let printed = &printed;
    let since = &since;
    let ending = poll::until(
        &format!("stack {stack}"),
        STACK_TIMEOUT,
        Backoff::doubling(Duration::from_millis(50), Duration::from_secs(5)),
        || async move {
            let seen = lock(printed)?.0.clone();
            let events = new_events(cfn, stack, since, &seen).await?;
            {
                let mut state = lock(printed)?;
                for event in events {
                    let line = format_event(&event);
                    state
                        .0
                        .insert(event.event_id().unwrap_or_default().to_owned());
                    let failed = event
                        .resource_status()
                        .is_some_and(|s| s.as_str().ends_with("_FAILED"));
                    if failed
                        && !event
                            .resource_status_reason()
                            .unwrap_or_default()
                            .contains("cancelled")
                    {
                        state.1.push(line.clone());
                    }
                    progress(format!("  {line}"));
                }
            }
            let status = match describe_stack(cfn, stack).await? {
                Some(s) => stack_status(&s),
                None => StackStatus::DeleteComplete,
            };
            Ok(if is_terminal(&status) {
                Poll::Ready(status)
            } else {
                Poll::Pending(status.as_str().to_owned())
            })
        },
    )
    .await?;
    if succeeded(&ending) {
        return Ok(ending.as_str().to_owned());
    }
    let cause = lock(printed)?
        .1
        .first()
        .cloned()
        .unwrap_or_else(|| "no failed resource event was recorded".to_owned());
    bail!("stack {stack} ended in {ending}; root cause: {cause}")
}

/// Locks `m`; a poisoned lock (a panic while printing) is an error, not a second panic.
fn lock<T>(m: &std::sync::Mutex<T>) -> anyhow::Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| anyhow::anyhow!("the stack event log was poisoned by an earlier panic"))
}

/// Waits for an operation already running on the stack (a deploy or destroy that was killed, or
/// one started by another pipeline) to end, whatever it ends in, and returns the stack as it is
/// then (`None`: that operation deleted it). `status` is the in-progress status it was found in.
pub(crate) async fn await_running_operation(
    cfn: &Client,
    stack: &str,
    status: &str,
) -> anyhow::Result<Option<Stack>> {
    progress(format!(
        "stack {stack} is {status} (an earlier operation); waiting for it to finish"
    ));
    let since = DateTime::from(std::time::SystemTime::now());
    // A failed or rolled-back ending is the caller's to handle, from the stack's status; say what
    // it was rather than drop it.
    if let Err(ending) = wait_for_stack(cfn, stack, since).await {
        progress(format!(
            "the earlier operation on {stack} ended badly: {ending:#}"
        ));
    }
    describe_stack(cfn, stack).await
}

async fn new_events(
    cfn: &Client,
    stack: &str,
    since: &DateTime,
    seen: &HashSet<String>,
) -> anyhow::Result<Vec<StackEvent>> {
    let out = match cfn.describe_stack_events().stack_name(stack).send().await {
        Ok(out) => out,
        Err(err) if err.as_service_error().is_some_and(is_stack_missing) => return Ok(Vec::new()),
        Err(err) => {
            return Err(
                anyhow::Error::new(err).context(format!("failed to read events of {stack}"))
            );
        }
    };
    let since_secs = since.secs();
    let mut events: Vec<StackEvent> = out
        .stack_events()
        .iter()
        .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since_secs))
        .filter(|e| !seen.contains(e.event_id().unwrap_or_default()))
        .cloned()
        .collect();
    // The API lists newest first; people read oldest first.
    events.reverse();
    Ok(events)
}

fn format_event(e: &StackEvent) -> String {
    let mut line = format!(
        "{} {} {}",
        e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
        e.resource_type().unwrap_or_default(),
        e.logical_resource_id().unwrap_or_default(),
    );
    if let Some(reason) = e.resource_status_reason().filter(|r| !r.is_empty()) {
        line.push_str(": ");
        line.push_str(reason);
    }
    line
}
