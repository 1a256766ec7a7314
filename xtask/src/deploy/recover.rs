//! Bringing a stack into a state a change set can be created from: waiting out a running
//! operation, deleting a stack whose first create failed, continuing a failed update rollback.

use crate::aws::Clients;
use crate::cfn;
use crate::plan;
use crate::plan::StackState;
use crate::report::progress;
use anyhow::bail;

/// Brings the stack into a state a change set can be created from, recovering from failed or
/// interrupted operations (with the execution role `role_arn`, when given). Returns whether the
/// change set must be a `CREATE`.
pub async fn recover(
    clients: &Clients,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<bool> {
    loop {
        let Some(current) = cfn::describe_stack(&clients.cfn, stack).await? else {
            return Ok(true);
        };
        let status = cfn::status_of(&current).to_owned();
        match plan::classify(&cfn::stack_status(&current)) {
            StackState::Missing => return Ok(true),
            StackState::Stable => return Ok(false),
            StackState::ReviewInProgress => return Ok(true),
            StackState::InProgress => {
                // It may end in a rollback; the loop classifies whatever it ends in.
                cfn::await_running_operation(&clients.cfn, stack, &status).await?;
            }
            StackState::RollbackComplete => {
                progress(format!(
                    "stack {stack} is ROLLBACK_COMPLETE (its first deploy failed): deleting it before creating it again"
                ));
                cfn::delete_stack(&clients.cfn, stack, role_arn).await?;
            }
            StackState::UpdateRollbackFailed => {
                progress(format!(
                    "stack {stack} is UPDATE_ROLLBACK_FAILED: continuing the rollback"
                ));
                cfn::continue_update_rollback(&clients.cfn, stack, role_arn).await?;
            }
            StackState::Failed => bail!(
                "stack {stack} is {status}: fix it (see its events) or run `cargo xtask destroy --stage <stage>`"
            ),
        }
    }
}
