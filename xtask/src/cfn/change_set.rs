//! Change sets: create one (with the stage's alarms as rollback triggers), summarise its changes,
//! execute it (waiting with live events, `super::operation`) or delete it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, Tag,
};
use aws_smithy_types::date_time::DateTime;

use super::operation::wait_for_stack;
use crate::plan::ResourceChange;
use crate::poll::{self, Backoff, Poll};
use crate::report::progress;

/// Whether a failed change set failed only because there is nothing to change.
pub(crate) fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
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
