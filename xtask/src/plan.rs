//! The deployer's pure core: stack states and what to do about them ([`stack_state`]), the deploy
//! fingerprint ([`fingerprint()`]), IAM grants and their widening between two templates
//! ([`iam`]), change-set summaries and the resource-by-resource comparison of a deployed
//! template with a new one for the read-only `diff` ([`changes`]), and what else a template
//! change opens or loses, the approval triggers ([`approval`]). No SDK calls, no IO.

pub mod approval;
pub mod changes;
mod fingerprint;
pub mod iam;
pub mod stack_state;

#[cfg(test)]
mod fixtures;

pub use approval::approval_triggers;
pub use changes::{
    ChangeAction, ChangeSummary, Replacement, ResourceChange, references, template_changes,
};
pub use fingerprint::{FINGERPRINT_TAG, fingerprint};
pub use iam::{Grant, grant_table, grants, narrowed, resolve_expr, widened};
pub use stack_state::{StackState, classify, is_success, is_terminal};
