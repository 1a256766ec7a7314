//! The reads behind a plan: the intent when it is prepared (`intent_of`) and the world when it is
//! executed (`observe`): the stack (`DescribeStacks`), its deployed template (`GetTemplate`) and
//! the change set (`DescribeChangeSet`, every page).

use anyhow::Context;
use aws_sdk_cloudformation::types::TemplateStage;

use super::check::{Observed, ObservedChangeSet};
use super::{Intent, Plan, sha256_json, template_sha256};
use crate::deploy::Prepared;
use crate::plan::ChangeSummary;
use crate::{cfn, plan};

/// The stack's status and last change, as [`Intent::stack_last_changed`] records them.
pub(crate) fn last_changed(stack: &aws_sdk_cloudformation::types::Stack) -> Option<String> {
    let when = stack.last_updated_time().or(stack.creation_time())?;
    Some(format!(
        "{} at {}.{:09}",
        cfn::status_of(stack),
        when.secs(),
        when.subsec_nanos()
    ))
}

/// The stack, unless it is only the shell a CREATE change set makes (`REVIEW_IN_PROGRESS`: "Ongoing
/// creation of one or more stacks with an expected StackId but without any templates or
/// resources", CloudFormation user guide, stack status codes,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html>,
/// checked 2026-12-07): a plan that creates the stack sees none
/// before its change set exists and the shell after.
fn existing(
    stack: Option<aws_sdk_cloudformation::types::Stack>,
) -> Option<aws_sdk_cloudformation::types::Stack> {
    stack.filter(|s| {
        cfn::stack_status(s) != aws_sdk_cloudformation::types::StackStatus::ReviewInProgress
    })
}

/// The deployed template's hash, if the stack exists and has a JSON template.
async fn deployed_template_sha256(
    cfn_client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> anyhow::Result<Option<String>> {
    Ok(cfn::current_template(cfn_client, stack)
        .await?
        .map(|t| sha256_json(&t)))
}

/// The intent of a prepared deploy against the stack as it is now.
pub(crate) async fn intent_of(
    p: &Prepared,
    account: &str,
    nonce: String,
) -> anyhow::Result<Intent> {
    let stack = existing(cfn::describe_stack(&p.clients.cfn, &p.cfg.stack_name).await?);
    let deployed = match &stack {
        Some(_) => deployed_template_sha256(&p.clients.cfn, &p.cfg.stack_name).await?,
        None => None,
    };
    Ok(Intent {
        stage: p.cfg.name.clone(),
        stack: p.cfg.stack_name.clone(),
        account: account.to_owned(),
        region: p.clients.region.clone(),
        package_sha256: p.package.sha256_hex.clone(),
        template_sha256: template_sha256(&p.template_body)?,
        parameters: p.parameters.iter().cloned().collect(),
        create: stack.is_none(),
        stack_id: stack.as_ref().and_then(|s| s.stack_id()).map(str::to_owned),
        stack_last_changed: stack.as_ref().and_then(last_changed),
        deployed_template_sha256: deployed,
        nonce,
    })
}

/// Reads what `--execute` compares with `plan`, for the prepared deploy `p`.
pub(crate) async fn observe(p: &Prepared, plan: &Plan, account: &str) -> anyhow::Result<Observed> {
    let c = &p.clients.cfn;
    let stack_name = &p.cfg.stack_name;
    let stack = existing(cfn::describe_stack(c, stack_name).await?);
    let deployed_template = match &stack {
        Some(_) => cfn::current_template(c, stack_name).await?,
        None => None,
    };
    let change_set = match &plan.body.change_set {
        None => None,
        Some(planned) => observe_change_set(p, &planned.id, deployed_template.as_ref()).await?,
    };
    Ok(Observed {
        account: account.to_owned(),
        stack_id: stack.as_ref().and_then(|s| s.stack_id()).map(str::to_owned),
        stack_last_changed: stack.as_ref().and_then(last_changed),
        deployed_template_sha256: deployed_template.as_ref().map(sha256_json),
        package_sha256: p.package.sha256_hex.clone(),
        template_sha256: template_sha256(&p.template_body)?,
        parameters: p.parameters.iter().cloned().collect(),
        change_set,
    })
}

async fn observe_change_set(
    p: &Prepared,
    id: &str,
    deployed_template: Option<&serde_json::Value>,
) -> anyhow::Result<Option<ObservedChangeSet>> {
    let c = &p.clients.cfn;
    let stack_name = &p.cfg.stack_name;
    let described = c
        .describe_change_set()
        .stack_name(stack_name)
        .change_set_name(id)
        .send()
        .await;
    let out = match described {
        Ok(out) => out,
        Err(err)
            if err.as_service_error().is_some_and(
                aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetError::is_change_set_not_found_exception,
            ) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!("failed to describe change set {id}")));
        }
    };
    let template = c
        .get_template()
        .stack_name(stack_name)
        .change_set_name(id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .with_context(|| format!("failed to read the template of change set {id}"))?;
    let template_body = template.template_body().unwrap_or("{}");
    let new: serde_json::Value =
        serde_json::from_str(template_body).context("the change set's template is not JSON")?;
    let changes = cfn::collect_changes(c, stack_name, id).await?;
    let summary = ChangeSummary {
        changes,
        iam_widening: plan::widened(deployed_template, &new)
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    Ok(Some(ObservedChangeSet {
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        execution_status: out
            .execution_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        description: out.description().unwrap_or_default().to_owned(),
        parameters: out
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value()?.to_owned(),
                ))
            })
            .collect(),
        template_sha256: sha256_json(&new),
        summary: summary.lines(),
    }))
}
