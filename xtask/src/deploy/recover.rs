//! Bringing a stack into a state a change set can be created from: waiting out a running
//! operation, deleting a stack whose first create failed, continuing a failed update rollback.

use anyhow::bail;

use crate::plan::StackState;
use crate::report::progress;
use crate::{cfn, plan};

/// Brings the stack into a state a change set can be created from, recovering from failed or
/// interrupted operations (with the execution role `role_arn`, when given). Returns whether the
/// change set must be a `CREATE`.
pub(crate) async fn recover(
    cfn_client: &aws_sdk_cloudformation::Client,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<bool> {
    loop {
        let Some(current) = cfn::describe_stack(cfn_client, stack).await? else {
            return Ok(true);
        };
        let status = cfn::status_of(&current).to_owned();
        match plan::classify(&cfn::stack_status(&current)) {
            StackState::Missing => return Ok(true),
            StackState::Stable => return Ok(false),
            StackState::ReviewInProgress => return Ok(true),
            StackState::InProgress => {
                // It may end in a rollback; the loop classifies whatever it ends in.
                cfn::await_running_operation(cfn_client, stack, &status).await?;
            }
            StackState::RollbackComplete => {
                progress(format!(
                    "stack {stack} is ROLLBACK_COMPLETE (its first deploy failed): deleting it before creating it again"
                ));
                cfn::delete_stack(cfn_client, stack, role_arn).await?;
            }
            StackState::UpdateRollbackFailed => {
                progress(format!(
                    "stack {stack} is UPDATE_ROLLBACK_FAILED: continuing the rollback"
                ));
                cfn::continue_update_rollback(cfn_client, stack, role_arn).await?;
            }
            StackState::Failed => bail!(
                "stack {stack} is {status}: fix it (see its events) or run `cargo xtask destroy --stage <stage>`"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::recover;
    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    const ROLE: &str = "arn:aws:iam::123456789012:role/codegen-dev-cfn-exec";

    fn stack_in(status: StackStatus) -> Rule {
        mock!(Client::describe_stacks).then_output(move || {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("codegen-dev")
                        .stack_status(status.clone())
                        .build(),
                )
                .build()
        })
    }

    fn no_stack() -> Rule {
        mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id codegen-dev does not exist")
                    .build(),
            )
        })
    }

    fn no_events() -> Rule {
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build())
    }

    #[tokio::test]
    async fn a_failed_first_create_is_deleted_with_the_execution_role_then_created_again() {
        let rules = [
            stack_in(StackStatus::RollbackComplete),
            mock!(Client::delete_stack)
                .match_requests(|r| r.role_arn() == Some(ROLE))
                .then_output(|| DeleteStackOutput::builder().build()),
            no_events(),
            no_stack(),
            no_stack(),
        ];
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &rules);
        assert!(
            recover(&cfn, "codegen-dev", Some(ROLE))
                .await
                .expect("recovered")
        );
        assert_eq!(rules[1].num_calls(), 1, "deleted once, with the role");
    }

    #[tokio::test]
    async fn a_failed_rollback_is_continued_with_the_execution_role_then_updated() {
        let rules = [
            stack_in(StackStatus::UpdateRollbackFailed),
            mock!(Client::continue_update_rollback)
                .match_requests(|r| r.role_arn() == Some(ROLE))
                .then_output(|| ContinueUpdateRollbackOutput::builder().build()),
            no_events(),
            stack_in(StackStatus::UpdateRollbackComplete),
            stack_in(StackStatus::UpdateRollbackComplete),
        ];
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &rules);
        assert!(
            !recover(&cfn, "codegen-dev", Some(ROLE))
                .await
                .expect("recovered")
        );
        assert_eq!(rules[1].num_calls(), 1);
    }

    #[tokio::test]
    async fn stable_missing_and_broken_stacks() {
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            [&stack_in(StackStatus::UpdateComplete)]
        );
        assert!(!recover(&cfn, "codegen-dev", None).await.expect("stable"));
        let cfn = mock_client!(aws_sdk_cloudformation, [&no_stack()]);
        assert!(recover(&cfn, "codegen-dev", None).await.expect("missing"));
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            [&stack_in(StackStatus::DeleteFailed)]
        );
        let err = recover(&cfn, "codegen-dev", None)
            .await
            .expect_err("needs a person")
            .to_string();
        assert!(
            err.contains("DELETE_FAILED") && err.contains("cargo xtask destroy"),
            "{err}"
        );
    }
}
