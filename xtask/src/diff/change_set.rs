//! `diff --change-set`: the deploy's own path up to the change set (build, upload, recover the
//! stack, create the change set), then the change set is deleted. Needs the deployer's
//! permissions.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::{CodeComparison, Diff, DiffReport};
use crate::cfn;
use crate::deploy::{DeployOptions, plan_changes, prepare};
use crate::plan;
use crate::report::progress;

/// `diff --change-set`: the deploy's own path up to the change set (build, upload, recover the
/// stack, create the change set), then deletes the change set (or, for a new stack, the empty
/// stack it created). Needs the deployer's permissions; never executes anything.
pub(crate) async fn with_change_set(root: &Path, opts: &DeployOptions) -> anyhow::Result<Diff> {
    let p = prepare(root, opts).await?;
    let stack_name = &p.cfg.stack_name;
    let (change_set, changes, create) = plan_changes(&p).await?;
    let mut triggers = Vec::new();
    let mut iam_removed = Vec::new();
    if change_set.is_some() {
        // Read before deleting anything: a CREATE change set's stack goes with it.
        let old = if create {
            None
        } else {
            cfn::current_template(&p.clients.cfn, stack_name).await?
        };
        let new: Value =
            serde_json::from_str(&p.template_body).context("failed to read the template")?;
        triggers = plan::approval_triggers(old.as_ref(), &new);
        iam_removed = plan::narrowed(old.as_ref(), &new)
            .iter()
            .map(ToString::to_string)
            .collect();
    }
    if let Some(name) = &change_set {
        if create {
            // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it whole.
            cfn::delete_stack(&p.clients.cfn, stack_name, Some(&p.execution_role_arn)).await?;
        } else {
            cfn::delete_change_set(&p.clients.cfn, stack_name, name).await?;
        }
    }
    let has_changes = change_set.is_some();
    progress(format!(
        "diff --change-set: the change set was deleted; {stack_name} is unchanged"
    ));
    Ok(Diff {
        report: DiffReport {
            stack: stack_name.clone(),
            has_changes,
            creates_stack: create && has_changes,
            needs_approval: if has_changes {
                changes.approval_reason_with(&triggers)
            } else {
                None
            },
            changes,
        },
        read_only: false,
        iam_removed,
        settings: Vec::new(),
        code: CodeComparison::ByChangeSet(p.package.asset_key(stack_name)),
        notes: Vec::new(),
    })
}
