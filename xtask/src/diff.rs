//! `diff`: creates the change set a deploy would execute, prints what it would change, and
//! deletes it. Never changes the stack.

use std::path::Path;

use serde::Serialize;

use crate::cfn;
use crate::deploy::{DeployOptions, plan_changes, prepare};
use crate::plan::ChangeSummary;

/// What `diff` found.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Stack name.
    pub stack: String,
    /// Whether a deploy would change anything.
    pub has_changes: bool,
    /// Whether the deploy would create the stack.
    pub creates_stack: bool,
    /// Why a deploy would need approval, if it would.
    pub needs_approval: Option<String>,
    /// The changes.
    pub changes: ChangeSummary,
}

/// Runs `diff`.
pub async fn diff(root: &Path, opts: &DeployOptions) -> anyhow::Result<DiffReport> {
    let p = prepare(root, opts).await?;
    let (change_set, changes, create) = plan_changes(&p).await?;
    if let Some(name) = &change_set {
        if create {
            // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it whole.
            cfn::delete_stack(&p.clients.cfn, &p.cfg.stack_name).await?;
        } else {
            cfn::delete_change_set(&p.clients.cfn, &p.cfg.stack_name, name).await?;
        }
    }
    Ok(DiffReport {
        stack: p.cfg.stack_name.clone(),
        has_changes: change_set.is_some(),
        creates_stack: create && change_set.is_some(),
        needs_approval: changes.approval_reason(),
        changes,
    })
}
