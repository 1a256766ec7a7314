//! The stack's functions and log groups, found from the stack's own resources
//! (`ListStackResources`), never from a list kept by hand: hotswap, the post-deploy check and
//! `logs` all act on whatever functions the deployed stack has. Each is named by its
//! [`FunctionRole`] (the contract's, the same the template sets as `CODEGEN_ROLE`), matched
//! through the logical ids the stack gives it ([`codegen_infra::stack::function_id`]).
//!
//! `ListStackResources`: "Returns descriptions of all resources of the specified stack. For
//! deleted stacks, ListStackResources returns resource information for up to 90 days after the
//! stack has been deleted" (AWS CloudFormation API Reference,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html>,
//! checked 2026-12-07); it pages with `NextToken`, and its IAM action is
//! `cloudformation:ListStackResources`.
//!
//! IO: CloudFormation reads only.

use anyhow::Context;
use aws_sdk_cloudformation::types::{ResourceStatus, StackResourceSummary};
use codegen_contract::FunctionRole;
use codegen_infra::stack;

/// CloudFormation type of a Lambda function.
pub(crate) const FUNCTION_TYPE: &str = "AWS::Lambda::Function";
/// CloudFormation type of a log group.
pub(crate) const LOG_GROUP_TYPE: &str = "AWS::Logs::LogGroup";
/// The short name of the API's access log in `logs`.
pub(crate) const ACCESS_LOG_NAME: &str = "api";

/// A resource of the stack, by logical and physical id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackResource {
    /// Logical id in the template.
    pub(crate) logical_id: String,
    /// Physical id (a function's or log group's name).
    pub(crate) physical_id: String,
    /// CloudFormation type.
    pub(crate) resource_type: String,
}

/// A function of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackFunction {
    /// Its name.
    pub(crate) name: String,
    /// Its logical id.
    pub(crate) logical_id: String,
    /// What it serves (`None`: a function this deployer does not know, named by its logical id).
    pub(crate) role: Option<FunctionRole>,
}

impl StackFunction {
    /// The short name its log lines are prefixed with: its role, or its logical id (the tests'
    /// view of what `logs` prints).
    #[cfg(test)]
    fn short_name(&self) -> &str {
        match self.role {
            Some(role) => role.as_str(),
            None => &self.logical_id,
        }
    }
}

/// A log group of the stack, with the short name its lines are prefixed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackLogGroup {
    /// The group's name.
    pub(crate) name: String,
    /// `sync`, `submit`, `status`, `worker`, [`ACCESS_LOG_NAME`], or the logical id.
    pub(crate) short: String,
}

/// Every live resource of `stack_name` (all pages). Resources being or already deleted are left
/// out: there is nothing to update or read there.
pub(crate) async fn list_resources(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> anyhow::Result<Vec<StackResource>> {
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack_name)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.with_context(|| format!("failed to list the resources of stack {stack_name}"))?;
        found.extend(
            page.stack_resource_summaries()
                .iter()
                .filter_map(live_resource),
        );
    }
    Ok(found)
}

fn live_resource(r: &StackResourceSummary) -> Option<StackResource> {
    let gone = matches!(
        r.resource_status(),
        Some(ResourceStatus::DeleteComplete | ResourceStatus::DeleteInProgress)
    );
    let physical = r.physical_resource_id().filter(|id| !id.is_empty())?;
    (!gone).then(|| StackResource {
        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
        physical_id: physical.to_owned(),
        resource_type: r.resource_type().unwrap_or_default().to_owned(),
    })
}

/// The functions among `resources`, in role order (unknown ones last, by logical id).
pub(crate) fn functions_of(resources: &[StackResource]) -> Vec<StackFunction> {
    let mut found: Vec<StackFunction> = resources
        .iter()
        .filter(|r| r.resource_type == FUNCTION_TYPE)
        .map(|r| StackFunction {
            name: r.physical_id.clone(),
            logical_id: r.logical_id.clone(),
            role: FunctionRole::ALL
                .into_iter()
                .find(|role| stack::function_id(*role) == r.logical_id),
        })
        .collect();
    found.sort_by(|a, b| {
        (a.role.is_none(), a.role, &a.logical_id).cmp(&(b.role.is_none(), b.role, &b.logical_id))
    });
    found
}

/// The log groups among `resources`: each function's (named by its role) and the API's access
/// log ([`ACCESS_LOG_NAME`]).
pub(crate) fn log_groups_of(resources: &[StackResource]) -> Vec<StackLogGroup> {
    let mut found: Vec<(u8, StackLogGroup)> = resources
        .iter()
        .filter(|r| r.resource_type == LOG_GROUP_TYPE)
        .map(|r| {
            let role = FunctionRole::ALL
                .into_iter()
                .position(|role| stack::log_group_id(role) == r.logical_id);
            let (rank, short) = match role {
                Some(i) => (
                    u8::try_from(i).unwrap_or(u8::MAX),
                    FunctionRole::ALL[i].as_str().to_owned(),
                ),
                None if r.logical_id == stack::ACCESS_LOGS => {
                    (u8::MAX - 1, ACCESS_LOG_NAME.to_owned())
                }
                None => (u8::MAX, r.logical_id.clone()),
            };
            (
                rank,
                StackLogGroup {
                    name: r.physical_id.clone(),
                    short,
                },
            )
        })
        .collect();
    found.sort_by(|a, b| (a.0, &a.1.short).cmp(&(b.0, &b.1.short)));
    found.into_iter().map(|(_, g)| g).collect()
}

/// The functions of `stack_name`; an error when it has none (not this stack, or not deployed).
pub(crate) async fn list_functions(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> anyhow::Result<Vec<StackFunction>> {
    let functions = functions_of(&list_resources(cfn, stack_name).await?);
    anyhow::ensure!(
        !functions.is_empty(),
        "stack {stack_name} has no {FUNCTION_TYPE}: deploy it first (`cargo xtask deploy`)"
    );
    Ok(functions)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    pub(crate) fn summary(logical: &str, physical: &str, kind: &str) -> StackResourceSummary {
        StackResourceSummary::builder()
            .logical_resource_id(logical)
            .physical_resource_id(physical)
            .resource_type(kind)
            .resource_status(ResourceStatus::CreateComplete)
            .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
            .build()
    }

    /// The resources of a deployed local stack, as ListStackResources pages them.
    pub(crate) fn stack_pages() -> (Vec<StackResourceSummary>, Vec<StackResourceSummary>) {
        (
            vec![
                summary("Function", "codegen-local-generator", FUNCTION_TYPE),
                summary(
                    "FunctionLogGroup",
                    "/aws/lambda/codegen-local-generator",
                    LOG_GROUP_TYPE,
                ),
                summary(
                    "JobsSubmitFunction",
                    "codegen-local-jobs-submit",
                    FUNCTION_TYPE,
                ),
                summary(
                    "ApiAccessLogGroup",
                    "/aws/apigateway/codegen-local",
                    LOG_GROUP_TYPE,
                ),
                summary("CodeBucket", "bucket-1", "AWS::S3::Bucket"),
            ],
            vec![
                summary(
                    "JobsStatusFunction",
                    "codegen-local-jobs-status",
                    FUNCTION_TYPE,
                ),
                summary(
                    "JobsWorkerFunction",
                    "codegen-local-jobs-worker",
                    FUNCTION_TYPE,
                ),
                summary(
                    "JobsWorkerLogGroup",
                    "/aws/lambda/codegen-local-jobs-worker",
                    LOG_GROUP_TYPE,
                ),
                StackResourceSummary::builder()
                    .logical_resource_id("OldFunction")
                    .physical_resource_id("gone")
                    .resource_type(FUNCTION_TYPE)
                    .resource_status(ResourceStatus::DeleteComplete)
                    .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            ],
        )
    }

    /// A CloudFormation client that answers ListStackResources for `stack` in two pages.
    pub(crate) fn cfn_listing(stack: &'static str) -> Client {
        let (first, second) = stack_pages();
        let page1 = mock!(Client::list_stack_resources)
            .match_requests(move |r| r.stack_name() == Some(stack) && r.next_token().is_none())
            .then_output(move || {
                ListStackResourcesOutput::builder()
                    .set_stack_resource_summaries(Some(first.clone()))
                    .next_token("p2")
                    .build()
            });
        let page2 = mock!(Client::list_stack_resources)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(move || {
                ListStackResourcesOutput::builder()
                    .set_stack_resource_summaries(Some(second.clone()))
                    .build()
            });
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&page1, &page2]
        )
    }

    #[tokio::test]
    async fn every_function_of_the_stack_is_found_from_its_resources() {
        let cfn = cfn_listing("codegen-local");
        let functions = list_functions(&cfn, "codegen-local").await.expect("listed");
        let named: Vec<(&str, &str)> = functions
            .iter()
            .map(|f| (f.short_name(), f.name.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("sync", "codegen-local-generator"),
                ("submit", "codegen-local-jobs-submit"),
                ("status", "codegen-local-jobs-status"),
                ("worker", "codegen-local-jobs-worker"),
            ],
            "all four, in role order; the deleted one left out"
        );
    }

    #[test]
    fn log_groups_are_named_by_role_and_the_access_log_is_api() {
        let (a, b) = stack_pages();
        let resources: Vec<StackResource> = a.iter().chain(&b).filter_map(live_resource).collect();
        let groups: Vec<(String, String)> = log_groups_of(&resources)
            .into_iter()
            .map(|g| (g.short, g.name))
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "sync".to_owned(),
                    "/aws/lambda/codegen-local-generator".to_owned()
                ),
                (
                    "worker".to_owned(),
                    "/aws/lambda/codegen-local-jobs-worker".to_owned()
                ),
                ("api".to_owned(), "/aws/apigateway/codegen-local".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn a_stack_without_functions_is_an_error_that_says_what_to_do() {
        let empty = mock!(Client::list_stack_resources)
            .then_output(|| ListStackResourcesOutput::builder().build());
        let cfn = mock_client!(aws_sdk_cloudformation, [&empty]);
        let err = list_functions(&cfn, "s").await.expect_err("no functions");
        assert!(err.to_string().contains("cargo xtask deploy"), "{err}");
    }
}
