//! CloudFormation operations: describe, change sets, execution with live stack events (stderr),
//! rollback recovery and deletion. Thin wrappers over `aws-sdk-cloudformation`; decisions live in
//! [`crate::plan`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackEvent,
    StackStatus, Tag, TemplateStage,
};
use aws_smithy_types::date_time::DateTime;

use crate::plan::{ResourceChange, is_success, is_terminal};
use crate::poll::{self, Backoff, Poll};
use crate::report::progress;

/// How long stack operations may take before the deployer gives up waiting (the operation goes
/// on; the next `deploy` waits for it).
const STACK_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Whether an error says the stack does not exist. CloudFormation has no typed variant for this:
/// it answers `ValidationError` with "does not exist".
pub(crate) fn is_stack_missing(err: &impl ProvideErrorMetadata) -> bool {
    err.code() == Some("ValidationError")
        && err.message().is_some_and(|m| m.contains("does not exist"))
}

/// Whether a failed change set failed only because there is nothing to change.
pub(crate) fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// The stack, or `None` when it does not exist (or only a deleted one does).
pub async fn describe_stack(cfn: &Client, name: &str) -> anyhow::Result<Option<Stack>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out
            .stacks()
            .iter()
            .find(|s| {
                s.stack_status()
                    .is_some_and(|st| st != &StackStatus::DeleteComplete)
            })
            .cloned()),
        Err(err) if err.as_service_error().is_some_and(is_stack_missing) => Ok(None),
        Err(err) => {
            Err(anyhow::Error::new(err).context(format!("failed to describe stack {name}")))
        }
    }
}

/// Status text of a stack.
pub fn status_of(stack: &Stack) -> &str {
    stack.stack_status().map_or("UNKNOWN", |s| s.as_str())
}

/// The stack's status as the SDK's enum, for [`plan::classify`](crate::plan::classify).
pub(crate) fn stack_status(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// The stack's outputs as a map.
pub fn outputs_of(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}

/// The stack's parameters as a map (a parameter without a value maps to "").
pub fn parameters_of(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The stack's tags as a map.
pub fn tags_of(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// A stack tag's value.
pub(crate) fn tag_of<'a>(stack: &'a Stack, key: &str) -> Option<&'a str> {
    stack
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The template the stack was last deployed with, as JSON (`None` if it is not JSON or missing).
pub async fn current_template(
    cfn: &Client,
    name: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    let out = cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .with_context(|| format!("failed to read the deployed template of {name}"))?;
    Ok(out
        .template_body()
        .and_then(|b| serde_json::from_str(b).ok()))
}

/// A change set request.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest<'a> {
    /// Stack name.
    pub stack: &'a str,
    /// Template body (JSON).
    pub template_body: &'a str,
    /// Parameters.
    pub parameters: &'a [(String, String)],
    /// Stack tags.
    pub tags: &'a BTreeMap<String, String>,
    /// `true` to create the stack, `false` to update it.
    pub create: bool,
    /// The CloudFormation execution role the change set runs with (the bootstrap's), or `None`
    /// for the caller's own credentials (only `bootstrap` itself, run by an administrator).
    pub role_arn: Option<&'a str>,
    /// `CAPABILITY_IAM` for generated role names, `CAPABILITY_NAMED_IAM` for fixed ones.
    pub capability: Capability,
}

/// The result of creating a change set.
#[derive(Debug, Clone)]
pub enum ChangeSetOutcome {
    /// Nothing would change (the change set was deleted).
    NoChanges,
    /// Ready to execute.
    Ready {
        /// Change set name.
        name: String,
        /// What it would do.
        changes: Vec<ResourceChange>,
    },
}

/// Creates a change set and waits until it is ready (or known to contain no changes).
pub async fn create_change_set(
    cfn: &Client,
    req: &ChangeSetRequest<'_>,
) -> anyhow::Result<ChangeSetOutcome> {
    create_change_set_described(cfn, req, "created by cargo xtask", &[]).await
}

/// How long CloudFormation watches a production change's rollback triggers after it deployed
/// everything, before it cleans up the old resources ("from the default of 0 up to 180 minutes",
/// CloudFormation user guide, "Roll back your CloudFormation stack on alarm breach with rollback
/// triggers", checked 2026-12-07).
pub(crate) const ROLLBACK_MONITORING_MINUTES: i32 = 5;

/// The most rollback triggers a change set takes (`RollbackTriggers`: "max: 5", the
/// CloudFormation API model as the SDKs carry it, checked 2026-12-07).
pub(crate) const MAX_ROLLBACK_TRIGGERS: usize = 5;

/// [`create_change_set`] with this `description` (at most 1,024 characters, CloudFormation API
/// reference, CreateChangeSet; `deploy --prepare` records its plan's digest there) and, when
/// `rollback_alarms` names any, those CloudWatch alarms as rollback triggers: CloudFormation rolls
/// the change back if one goes to `ALARM` during the operation or the monitoring period after it.
pub(crate) async fn create_change_set_described(
    cfn: &Client,
    req: &ChangeSetRequest<'_>,
    description: &str,
    rollback_alarms: &[String],
) -> anyhow::Result<ChangeSetOutcome> {
    // Names must be unique: executed change sets are kept in the stack's history.
    let name = format!(
        "{}{}",
        codegen_infra::names::CHANGE_SET_PREFIX,
        unique_suffix()
    );
    let params: Vec<Parameter> = req
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect();
    let tags: Vec<Tag> = req
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    cfn.create_change_set()
        .stack_name(req.stack)
        .change_set_name(&name)
        .change_set_type(if req.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(req.template_body)
        .set_parameters(Some(params))
        .set_tags(Some(tags))
        .capabilities(req.capability.clone())
        .set_role_arn(req.role_arn.map(str::to_owned))
        .description(description)
        .set_rollback_configuration(rollback_configuration(rollback_alarms)?)
        .send()
        .await
        .with_context(|| format!("failed to create change set for {}", req.stack))?;

    // The SDK's change-set waiter polls every 30 s (see `poll`'s docs for the source); a change
    // set is usually ready in a few.
    let stack = req.stack;
    let change_set = name.as_str();
    let out = poll::until(
        &format!("change set {name}"),
        Duration::from_secs(600),
        Backoff::doubling(Duration::from_millis(100), Duration::from_secs(5)),
        || async move {
            let out = cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .send()
                .await
                .with_context(|| format!("failed to describe change set {change_set}"))?;
            Ok(match out.status() {
                Some(ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed) => Poll::Ready(out),
                other => Poll::Pending(other.map_or("without a status", |s| s.as_str()).to_owned()),
            })
        },
    )
    .await?;
    if out.status() == Some(&ChangeSetStatus::CreateComplete) {
        let changes = collect_changes(cfn, stack, &name).await?;
        return Ok(ChangeSetOutcome::Ready { name, changes });
    }
    let reason = out.status_reason().unwrap_or_default().to_owned();
    // A failed change set stays in the stack's history; remove it either way. Leaving it behind is
    // harmless (names are unique), so a failure is reported, not fatal.
    if let Err(err) = cfn
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .send()
        .await
    {
        progress(format!(
            "note: could not delete the failed change set {name}: {:#}",
            anyhow::Error::new(err)
        ));
    }
    if is_no_changes_reason(&reason) {
        return Ok(ChangeSetOutcome::NoChanges);
    }
    bail!("change set for {stack} failed: {reason}");
}

/// The rollback configuration for `alarms` (`None` when there are none: a stack's earlier
/// triggers then stay as they were, "To use the rollback triggers previously specified for this
/// stack, if any, don't specify this parameter", RollbackConfiguration).
fn rollback_configuration(
    alarms: &[String],
) -> anyhow::Result<Option<aws_sdk_cloudformation::types::RollbackConfiguration>> {
    use aws_sdk_cloudformation::types::{RollbackConfiguration, RollbackTrigger};
    if alarms.is_empty() {
        return Ok(None);
    }
    if alarms.len() > MAX_ROLLBACK_TRIGGERS {
        bail!(
            "{} rollback triggers: a change set takes at most {MAX_ROLLBACK_TRIGGERS}",
            alarms.len()
        );
    }
    let triggers = alarms
        .iter()
        .map(|arn| {
            RollbackTrigger::builder()
                .arn(arn)
                .r#type("AWS::CloudWatch::Alarm")
                .build()
        })
        .collect();
    Ok(Some(
        RollbackConfiguration::builder()
            .set_rollback_triggers(Some(triggers))
            .monitoring_time_in_minutes(ROLLBACK_MONITORING_MINUTES)
            .build(),
    ))
}

/// Every change of a change set, through all of `DescribeChangeSet`'s pages (the SDK's
/// paginator; the status poll only looked at the first page).
pub(crate) async fn collect_changes(
    cfn: &Client,
    stack: &str,
    name: &str,
) -> anyhow::Result<Vec<ResourceChange>> {
    let mut pages = cfn
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .into_paginator()
        .send();
    let mut changes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("failed to read change set {name}"))?;
        changes.extend(page.changes().iter().filter_map(to_change));
    }
    Ok(changes)
}

fn to_change(c: &aws_sdk_cloudformation::types::Change) -> Option<ResourceChange> {
    let rc = c.resource_change()?;
    Some(ResourceChange {
        action: crate::plan::ChangeAction::from_name(rc.action()?.as_str()),
        logical_id: rc.logical_resource_id()?.to_owned(),
        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
        replacement: rc
            .replacement()
            .map(|r| crate::plan::Replacement::from_name(r.as_str()))
            .filter(|_| rc.action() == Some(&ChangeAction::Modify)),
    })
}

/// Deletes a change set that will not be executed.
pub async fn delete_change_set(cfn: &Client, stack: &str, name: &str) -> anyhow::Result<()> {
    cfn.delete_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .with_context(|| format!("failed to delete change set {name}"))?;
    Ok(())
}

/// Executes a change set and waits for the stack, streaming its events.
pub async fn execute_change_set(cfn: &Client, stack: &str, name: &str) -> anyhow::Result<String> {
    let since = DateTime::from(std::time::SystemTime::now());
    cfn.execute_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .with_context(|| format!("failed to execute change set {name}"))?;
    wait_for_stack(cfn, stack, since).await
}

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

/// A resource of a stack: logical id, type and physical id (empty until created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackResource {
    /// Logical id.
    pub(crate) logical_id: String,
    /// `AWS::S3::Bucket`, ...
    pub(crate) type_name: String,
    /// Physical id.
    pub(crate) physical_id: String,
}

/// Every resource of the stack (ListStackResources, through the SDK's paginator).
pub(crate) async fn stack_resources(
    cfn: &Client,
    stack: &str,
) -> anyhow::Result<Vec<StackResource>> {
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("failed to list the resources of {stack}"))?;
        for r in page.stack_resource_summaries() {
            out.push(StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                type_name: r.resource_type().unwrap_or_default().to_owned(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_owned(),
            });
        }
    }
    Ok(out)
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

/// Milliseconds since the epoch plus the process id: unique across concurrent deployers.
fn unique_suffix() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{ms}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::StackStatus;
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    #[tokio::test]
    async fn missing_stack_is_none_not_an_error() {
        let rule = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id codegen-dev does not exist")
                    .build(),
            )
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        assert!(
            describe_stack(&cfn, "codegen-dev")
                .await
                .expect("ok")
                .is_none()
        );
    }

    #[tokio::test]
    async fn other_errors_are_errors() {
        let rule = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("no")
                    .build(),
            )
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        let err = describe_stack(&cfn, "codegen-dev")
            .await
            .expect_err("error");
        assert!(format!("{err:#}").contains("failed to describe stack codegen-dev"));
    }

    #[tokio::test]
    async fn deleted_stacks_count_as_missing() {
        let rule = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("s")
                        .stack_status(StackStatus::DeleteComplete)
                        .build(),
                )
                .build()
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        assert!(describe_stack(&cfn, "s").await.expect("ok").is_none());
    }

    #[test]
    fn no_change_reasons() {
        assert!(is_no_changes_reason(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(!is_no_changes_reason("Template format error"));
    }
}

#[cfg(test)]
mod rollback_tests {
    use super::*;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    /// The change set carries exactly the given alarms as rollback triggers, with the monitoring
    /// period; without alarms it carries no rollback configuration at all (which would replace the
    /// stack's earlier triggers).
    async fn created_with(alarms: &[String]) -> bool {
        let expected: Vec<String> = alarms.to_vec();
        let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
            .match_requests(move |r| match r.rollback_configuration() {
                None => expected.is_empty(),
                Some(c) => {
                    let arns: Vec<&str> = c
                        .rollback_triggers()
                        .iter()
                        .filter(|t| t.r#type() == Some("AWS::CloudWatch::Alarm"))
                        .filter_map(|t| t.arn())
                        .collect();
                    arns == expected.iter().map(String::as_str).collect::<Vec<_>>()
                        && c.monitoring_time_in_minutes() == Some(ROLLBACK_MONITORING_MINUTES)
                }
            })
            .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
        let describe =
            mock!(aws_sdk_cloudformation::Client::describe_change_set).then_output(|| {
                DescribeChangeSetOutput::builder()
                    .status(ChangeSetStatus::Failed)
                    .status_reason("The submitted information didn't contain changes.")
                    .build()
            });
        let delete = mock!(aws_sdk_cloudformation::Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&create, &describe, &delete]
        );
        let tags = BTreeMap::new();
        let req = ChangeSetRequest {
            stack: "codegen-prod",
            template_body: "{}",
            parameters: &[],
            tags: &tags,
            create: false,
            role_arn: None,
            capability: Capability::CapabilityIam,
        };
        matches!(
            create_change_set_described(&cfn, &req, "d", alarms).await,
            Ok(ChangeSetOutcome::NoChanges)
        )
    }

    #[tokio::test]
    async fn a_change_set_carries_the_alarms_as_rollback_triggers_or_no_configuration() {
        let alarms = vec![
            "arn:aws:cloudwatch:us-east-1:444455556666:alarm:codegen-prod-api-5xx-rate".to_owned(),
            "arn:aws:cloudwatch:us-east-1:444455556666:alarm:codegen-prod-sync-errors".to_owned(),
        ];
        assert!(created_with(&alarms).await);
        assert!(created_with(&[]).await);
    }

    #[tokio::test]
    async fn more_triggers_than_a_change_set_takes_are_refused_before_any_call() {
        let six: Vec<String> = (0..6)
            .map(|i| format!("arn:aws:cloudwatch:r:a:alarm:{i}"))
            .collect();
        let err = rollback_configuration(&six).expect_err("refused");
        assert!(err.to_string().contains("at most 5"), "{err}");
    }
}
