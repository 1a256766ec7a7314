//! CloudFormation operations: reading a stack (here: describe, status, outputs, parameters, tags,
//! template, resources), its change sets (`change_set`: create with rollback triggers, summarise,
//! execute, delete) and the operations on the stack that wait with live stack events on stderr
//! (`operation`: wait, rollback recovery, termination protection, deletion). Thin wrappers over
//! `aws-sdk-cloudformation`; decisions live in [`crate::plan`].

mod change_set;
mod operation;

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Stack, StackStatus, TemplateStage};

pub use change_set::{
    ChangeSetOutcome, ChangeSetRequest, create_change_set, delete_change_set, execute_change_set,
};
pub(crate) use change_set::{
    MAX_ROLLBACK_TRIGGERS, ROLLBACK_MONITORING_MINUTES, collect_changes,
    create_change_set_described,
};
pub use operation::delete_stack;
pub(crate) use operation::{
    await_running_operation, continue_update_rollback, set_termination_protection,
};

/// Whether an error says the stack does not exist. CloudFormation has no typed variant for this:
/// it answers `ValidationError` with "does not exist".
pub(crate) fn is_stack_missing(err: &impl ProvideErrorMetadata) -> bool {
    err.code() == Some("ValidationError")
        && err.message().is_some_and(|m| m.contains("does not exist"))
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
}
