//! Which bucket `destroy` may empty: the stack's [`CODE_BUCKET`] resource, only if CloudFormation
//! records it as an `AWS::S3::Bucket` whose physical name follows the stack's generated-name
//! pattern (`<stack>-codebucket-<suffix>`, [`names::code_bucket_pattern`]). The deploy role can run
//! any template through the execution role, so a template could give the logical id `CodeBucket`
//! to another resource type, or (on another resource type) a physical id that is some other
//! bucket's name; emptying that would delete every version of a bucket this stack does not own.
//! Reads one stack resource (`DescribeStackResource`); no other IO.

use anyhow::{Context, bail};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use codegen_infra::names;
use codegen_infra::stack::CODE_BUCKET;

/// The only resource type `destroy` empties.
pub(crate) const BUCKET_TYPE: &str = "AWS::S3::Bucket";

/// Checks that `resource_type`/`physical_id` is a bucket this stack created. Pure.
pub(crate) fn check(stack: &str, resource_type: &str, physical_id: &str) -> anyhow::Result<()> {
    if resource_type != BUCKET_TYPE {
        bail!(
            "refusing to empty anything: resource {CODE_BUCKET} of stack {stack} is a \
             {resource_type} ({physical_id}), not an {BUCKET_TYPE}; the stack's template is not \
             this project's (check who deployed it), delete the stack by hand"
        );
    }
    let pattern = names::code_bucket_pattern(stack);
    let prefix = pattern.trim_end_matches('*');
    let suffix = physical_id.strip_prefix(prefix).unwrap_or_default();
    // CloudFormation's generated suffix: upper-case letters and digits, lower-cased for buckets.
    if suffix.is_empty()
        || !suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        bail!(
            "refusing to empty bucket {physical_id}: resource {CODE_BUCKET} of stack {stack} \
             must be named {pattern} (CloudFormation's generated name), so it is not a bucket \
             this stack created; empty and delete it by hand if it is yours"
        );
    }
    Ok(())
}

/// The code bucket of a stack, from the stack's own resource record: `DescribeStackResource`
/// "Returns a description of the specified resource in the specified stack" (CloudFormation API
/// reference), whose physical id is the bucket CloudFormation created; an output could name any
/// bucket. Fails unless the resource passes `check`. `None` when the stack has no such resource
/// (never created, or already deleted).
pub async fn code_bucket_of(
    cfn_client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> anyhow::Result<Option<String>> {
    let out = match cfn_client
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(CODE_BUCKET)
        .send()
        .await
    {
        Ok(out) => out,
        // CloudFormation answers a ValidationError ("Resource ... does not exist for stack") for
        // a resource the stack does not have.
        Err(err) if is_missing_resource(err.code(), err.message()) => return Ok(None),
        Err(err) => {
            return Err(anyhow::Error::new(err)).with_context(|| {
                format!("failed to read resource {CODE_BUCKET} of stack {stack}")
            });
        }
    };
    let Some(detail) = out.stack_resource_detail() else {
        return Ok(None);
    };
    if detail
        .resource_status()
        .is_some_and(|s| s == &aws_sdk_cloudformation::types::ResourceStatus::DeleteComplete)
    {
        return Ok(None);
    }
    let Some(id) = detail.physical_resource_id().filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    check(stack, detail.resource_type().unwrap_or_default(), id)?;
    Ok(Some(id.to_owned()))
}

fn is_missing_resource(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackResourceDetail};
    use aws_smithy_mocks::{mock, mock_client};

    fn resource(resource_type: &str, physical_id: &str) -> DescribeStackResourceOutput {
        DescribeStackResourceOutput::builder()
            .stack_resource_detail(
                StackResourceDetail::builder()
                    .logical_resource_id(CODE_BUCKET)
                    .physical_resource_id(physical_id)
                    .resource_type(resource_type)
                    .resource_status(ResourceStatus::CreateComplete)
                    .build(),
            )
            .build()
    }

    async fn lookup(
        resource_type: &'static str,
        id: &'static str,
    ) -> anyhow::Result<Option<String>> {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resource)
            .match_requests(|r| {
                r.stack_name() == Some("codegen-dev")
                    && r.logical_resource_id() == Some(CODE_BUCKET)
            })
            .then_output(move || resource(resource_type, id));
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        code_bucket_of(&cfn, "codegen-dev").await
    }

    #[tokio::test]
    async fn the_stacks_own_bucket_is_returned() {
        assert_eq!(
            lookup(BUCKET_TYPE, "codegen-dev-codebucket-1a2b3c4d5e6f")
                .await
                .expect("ok")
                .as_deref(),
            Some("codegen-dev-codebucket-1a2b3c4d5e6f")
        );
    }

    /// A hostile template's `CodeBucket` that is not a bucket (its physical id names another
    /// team's bucket) is refused before anything is emptied.
    #[tokio::test]
    async fn a_code_bucket_that_is_not_a_bucket_is_refused() {
        let err = lookup("AWS::SSM::Parameter", "payroll-exports")
            .await
            .expect_err("refused");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("is a AWS::SSM::Parameter (payroll-exports), not an AWS::S3::Bucket"),
            "{msg}"
        );
    }

    /// A bucket with a chosen name (`BucketName: payroll-exports`, or a name that only starts
    /// like the pattern) is not one CloudFormation generated for this stack.
    #[tokio::test]
    async fn a_bucket_outside_the_stacks_name_pattern_is_refused() {
        for name in [
            "payroll-exports",
            "codegen-dev-codebucket-",
            "codegen-dev-codebucket-x/../payroll",
            "codegen-prod-codebucket-1a2b3c",
        ] {
            let err = lookup(BUCKET_TYPE, name).await.expect_err(name);
            assert!(
                format!("{err:#}").contains("must be named codegen-dev-codebucket-*"),
                "{name}: {err:#}"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_resource_is_none() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resource).then_error(|| {
            aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Resource CodeBucket does not exist for stack codegen-dev")
                    .build(),
            )
        });
        let cfn = mock_client!(aws_sdk_cloudformation, [&rule]);
        assert_eq!(code_bucket_of(&cfn, "codegen-dev").await.expect("ok"), None);
    }
}
