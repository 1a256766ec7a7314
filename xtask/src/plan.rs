//! The deployer's pure core: stack states and what to do about them (`stack_state`), the deploy
//! fingerprint (`fingerprint()`), IAM grants and their widening between two templates
//! (`iam`), change-set summaries and the resource-by-resource comparison of a deployed
//! template with a new one for the read-only `diff` (`changes`), and what else a template
//! change opens or loses, the approval triggers (`approval`). No SDK calls, no IO.

pub(crate) mod approval;
pub(crate) mod changes;
mod fingerprint;
pub(crate) mod iam;
pub(crate) mod stack_state;

#[cfg(test)]
mod fixtures;

pub(crate) use approval::approval_triggers;
pub(crate) use changes::template_changes;
pub use changes::{ChangeAction, ChangeSummary, Replacement, ResourceChange};
pub(crate) use fingerprint::{FINGERPRINT_TAG, fingerprint};
pub(crate) use iam::{grant_table, narrowed, widened};
pub(crate) use stack_state::{StackState, classify, is_success, is_terminal};
