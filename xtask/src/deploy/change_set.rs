//! The change set of a prepared deploy, its summary, and approval.

use std::io::IsTerminal;

use super::{Prepared, recover};
use crate::cfn::{ChangeSetOutcome, ChangeSetRequest};
use crate::plan::{ChangeSummary, FINGERPRINT_TAG};
use crate::report::{confirm, progress};
use crate::{cfn, plan};

/// Creates a change set for the prepared deploy and summarises it (with IAM widening).
pub async fn plan_changes(p: &Prepared) -> anyhow::Result<(Option<String>, ChangeSummary, bool)> {
    plan_changes_described(p, "created by cargo xtask").await
}

/// [`plan_changes`], with the change set's `description` (`deploy --prepare` records its plan's
/// digest there).
pub async fn plan_changes_described(
    p: &Prepared,
    description: &str,
) -> anyhow::Result<(Option<String>, ChangeSummary, bool)> {
    let stack = &p.cfg.stack_name;
    let create = recover(&p.clients.cfn, stack, Some(&p.execution_role_arn)).await?;
    let mut tags = p.cfg.tags.clone();
    tags.insert(FINGERPRINT_TAG.to_owned(), p.fingerprint.clone());
    let req = ChangeSetRequest {
        stack,
        template_body: &p.template_body,
        parameters: &p.parameters,
        tags: &tags,
        create,
        role_arn: Some(&p.execution_role_arn),
        // The function roles have generated names, so CAPABILITY_IAM (not NAMED_IAM) is enough:
        // "If you have IAM resources with custom names, you must specify CAPABILITY_NAMED_IAM"
        // (CloudFormation API reference, CreateChangeSet, Capabilities).
        capability: aws_sdk_cloudformation::types::Capability::CapabilityIam,
    };
    match cfn::create_change_set_described(&p.clients.cfn, &req, description).await? {
        ChangeSetOutcome::NoChanges => Ok((None, ChangeSummary::default(), create)),
        ChangeSetOutcome::Ready { name, changes } => {
            let old = if create {
                None
            } else {
                cfn::current_template(&p.clients.cfn, stack).await?
            };
            let new: serde_json::Value = serde_json::from_str(&p.template_body)?;
            let iam_widening = plan::widened(old.as_ref(), &new)
                .iter()
                .map(ToString::to_string)
                .collect();
            Ok((
                Some(name),
                ChangeSummary {
                    changes,
                    iam_widening,
                },
                create,
            ))
        }
    }
}

/// Asks for approval when needed. `Ok(Some(reason))` means it was needed and not given.
pub fn approve(
    summary: &ChangeSummary,
    triggers: &[String],
    yes: bool,
) -> anyhow::Result<Option<String>> {
    let Some(reason) = summary.approval_reason_with(triggers) else {
        return Ok(None);
    };
    if yes {
        progress(format!("approved by --yes: {reason}"));
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        return Ok(Some(format!(
            "this change needs approval because {reason}, and there is no terminal to ask on: review it with `cargo xtask diff` and re-run with --yes"
        )));
    }
    if confirm(&format!(
        "This change needs approval because {reason}. Deploy?"
    ))? {
        Ok(None)
    } else {
        Ok(Some(format!("not approved ({reason})")))
    }
}
