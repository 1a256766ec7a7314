//! What the deployer must do with a stack, from its CloudFormation status. Pure.

use aws_sdk_cloudformation::types::StackStatus;

/// What the deployer must do with a stack, given its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StackState {
    /// No stack (or only a deleted one).
    Missing,
    /// Stable and usable: create/update complete or a completed update rollback.
    Stable,
    /// Created by a `CREATE` change set that never ran: update it with another `CREATE` change set.
    ReviewInProgress,
    /// An operation is running (e.g. a deploy that was killed half-way): wait for it.
    InProgress,
    /// The first create failed and rolled back: the stack must be deleted before creating again.
    RollbackComplete,
    /// An update rollback failed: continue the rollback.
    UpdateRollbackFailed,
    /// A failed state that needs a person (`CREATE_FAILED`, `DELETE_FAILED`, ...).
    Failed,
}

/// Classifies a CloudFormation stack status (the SDK's enum; a status this SDK does not know
/// is in progress when its name says so, and needs a person otherwise).
pub(crate) fn classify(status: &StackStatus) -> StackState {
    use StackStatus as S;
    match status {
        S::DeleteComplete => StackState::Missing,
        S::CreateComplete
        | S::UpdateComplete
        | S::UpdateRollbackComplete
        | S::ImportComplete
        | S::ImportRollbackComplete => StackState::Stable,
        S::ReviewInProgress => StackState::ReviewInProgress,
        S::RollbackComplete => StackState::RollbackComplete,
        S::UpdateRollbackFailed => StackState::UpdateRollbackFailed,
        other if is_in_progress(other) => StackState::InProgress,
        _ => StackState::Failed,
    }
}

fn is_in_progress(status: &StackStatus) -> bool {
    status.as_str().ends_with("_IN_PROGRESS")
}

/// Whether a status ends an operation (no further events will come).
pub(crate) fn is_terminal(status: &StackStatus) -> bool {
    !is_in_progress(status)
}

/// Whether a terminal status means the operation succeeded.
pub(crate) fn is_success(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::DeleteComplete
            | StackStatus::ImportComplete
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_actions() {
        for (status, state) in [
            ("CREATE_COMPLETE", StackState::Stable),
            ("UPDATE_ROLLBACK_COMPLETE", StackState::Stable),
            ("ROLLBACK_COMPLETE", StackState::RollbackComplete),
            ("UPDATE_ROLLBACK_FAILED", StackState::UpdateRollbackFailed),
            ("UPDATE_IN_PROGRESS", StackState::InProgress),
            ("REVIEW_IN_PROGRESS", StackState::ReviewInProgress),
            ("DELETE_FAILED", StackState::Failed),
            ("SOME_NEW_IN_PROGRESS", StackState::InProgress),
        ] {
            assert_eq!(classify(&StackStatus::from(status)), state, "{status}");
        }
        let rolled_back = StackStatus::from("ROLLBACK_COMPLETE");
        assert!(is_terminal(&rolled_back) && !is_success(&rolled_back));
    }
}
