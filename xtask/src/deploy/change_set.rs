//! The change set of a prepared deploy, its summary, and approval.

use super::{Prepared, recover};
use crate::approver::{Answer, Approver};
use crate::cfn::{ChangeSetOutcome, ChangeSetRequest};
use crate::plan::{ChangeSummary, FINGERPRINT_TAG};
use crate::report::progress;
use crate::{cfn, plan};

/// Creates a change set for the prepared deploy and summarises it (with IAM widening).
pub(crate) async fn plan_changes(
    p: &Prepared,
) -> anyhow::Result<(Option<String>, ChangeSummary, bool)> {
    plan_changes_described(p, "created by cargo xtask").await
}

/// [`plan_changes`], with the change set's `description` (`deploy --prepare` records its plan's
/// digest there).
pub(crate) async fn plan_changes_described(
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
    // A production-class stage's update is watched by its alarms (not its first create: a trigger
    // whose alarm does not exist fails the whole operation).
    let rollback_alarms = if p.cfg.protection.is_production() && !create {
        let resources = cfn::stack_resources(&p.clients.cfn, stack).await?;
        rollback_alarm_arns(&resources, &p.clients.region, &p.asset_owner)
    } else {
        Vec::new()
    };
    if !rollback_alarms.is_empty() {
        progress(format!(
            "rollback triggers ({} min after the update): {}",
            cfn::ROLLBACK_MONITORING_MINUTES,
            rollback_alarms.join(", ")
        ));
    }
    match cfn::create_change_set_described(&p.clients.cfn, &req, description, &rollback_alarms)
        .await?
    {
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

/// The alarms that roll a production change back, most telling first: the API's 5xx rate, the
/// synchronous and worker functions' errors, failed jobs and the dead-letter queue (at most
/// [`cfn::MAX_ROLLBACK_TRIGGERS`]). Found among the stack's own resources, by the names
/// `infra/src/alarms.rs` gives them. Pure.
pub(crate) fn rollback_alarm_arns(
    resources: &[cfn::StackResource],
    region: &str,
    account: &str,
) -> Vec<String> {
    const MOST_TELLING: [&str; cfn::MAX_ROLLBACK_TRIGGERS] = [
        "-api-5xx-rate",
        "-sync-errors",
        "-worker-errors",
        "-jobs-failed",
        "-dead-letter-queue",
    ];
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    MOST_TELLING
        .iter()
        .filter_map(|suffix| {
            resources.iter().find(|r| {
                r.type_name == "AWS::CloudWatch::Alarm" && r.physical_id.ends_with(suffix)
            })
        })
        .map(|r| {
            format!(
                "arn:{partition}:cloudwatch:{region}:{account}:alarm:{}",
                r.physical_id
            )
        })
        .collect()
}

/// Asks `approver` for approval when needed (not with `yes`). `Ok(Some(reason))` means it was
/// needed and not given.
pub(crate) fn approve(
    summary: &ChangeSummary,
    triggers: &[String],
    yes: bool,
    approver: &dyn Approver,
) -> anyhow::Result<Option<String>> {
    let Some(reason) = summary.approval_reason_with(triggers) else {
        return Ok(None);
    };
    if yes {
        progress(format!("approved by --yes: {reason}"));
        return Ok(None);
    }
    let question = format!("This change needs approval because {reason}. Deploy?");
    Ok(match approver.ask(&question)? {
        Answer::Approved => None,
        Answer::Refused => Some(format!("not approved ({reason})")),
        Answer::CannotAsk => Some(format!(
            "this change needs approval because {reason}, and there is no terminal to ask on: review it with `cargo xtask diff` and re-run with --yes"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approver::ScriptedApprover;

    const TRIGGER: &str = "role FunctionRole: trust policy changed";

    fn ask(answers: &[Answer], yes: bool) -> (anyhow::Result<Option<String>>, Vec<String>) {
        let approver = ScriptedApprover::new(answers.iter().copied());
        let outcome = approve(
            &ChangeSummary::default(),
            &[TRIGGER.to_owned()],
            yes,
            &approver,
        );
        (outcome, approver.asked())
    }

    #[test]
    fn a_change_that_needs_approval_is_put_to_the_approver() {
        let (approved, asked) = ask(&[Answer::Approved], false);
        assert_eq!(approved.ok(), Some(None), "approved: it goes ahead");
        assert_eq!(
            asked,
            [format!(
                "This change needs approval because {TRIGGER}. Deploy?"
            )]
        );
        let (refused, _) = ask(&[Answer::Refused], false);
        assert_eq!(
            refused.ok().flatten(),
            Some(format!("not approved ({TRIGGER})"))
        );
        let (no_terminal, _) = ask(&[Answer::CannotAsk], false);
        let reason = no_terminal.ok().flatten().unwrap_or_default();
        assert!(
            reason.contains("no terminal") && reason.contains("--yes") && reason.contains(TRIGGER),
            "{reason}"
        );
    }

    #[test]
    fn yes_or_nothing_to_approve_asks_nobody() {
        let (approved, asked) = ask(&[], true);
        assert_eq!(approved.ok(), Some(None));
        assert!(asked.is_empty());
        let approver = ScriptedApprover::new([]);
        let outcome = approve(&ChangeSummary::default(), &[], false, &approver);
        assert_eq!(outcome.ok(), Some(None));
        assert!(approver.asked().is_empty());
    }

    fn resource(type_name: &str, physical_id: &str) -> cfn::StackResource {
        cfn::StackResource {
            logical_id: "X".into(),
            type_name: type_name.into(),
            physical_id: physical_id.into(),
        }
    }

    #[test]
    fn the_most_telling_alarms_become_rollback_triggers_in_order() {
        let mut resources: Vec<cfn::StackResource> = [
            "sync-throttles",
            "dead-letter-queue",
            "worker-errors",
            "api-5xx-rate",
            "output-tokens-per-hour",
            "jobs-failed",
            "sync-errors",
            "bedrock-throttles",
        ]
        .iter()
        .map(|n| resource("AWS::CloudWatch::Alarm", &format!("codegen-prod-{n}")))
        .collect();
        // Not an alarm, though its name ends like one.
        resources.push(resource("AWS::Logs::LogGroup", "codegen-prod-sync-errors"));
        let arns = rollback_alarm_arns(&resources, "us-east-1", "444455556666");
        let prefix = "arn:aws:cloudwatch:us-east-1:444455556666:alarm:codegen-prod";
        assert_eq!(
            arns,
            [
                "api-5xx-rate",
                "sync-errors",
                "worker-errors",
                "jobs-failed",
                "dead-letter-queue"
            ]
            .map(|n| format!("{prefix}-{n}"))
        );
        // Fewer alarms (a stage without some): only those; another partition's region.
        let some = rollback_alarm_arns(&resources[..1], "cn-north-1", "1");
        assert!(some.is_empty(), "{some:?}");
        let one = rollback_alarm_arns(&resources[1..2], "cn-north-1", "1");
        assert_eq!(
            one,
            ["arn:aws-cn:cloudwatch:cn-north-1:1:alarm:codegen-prod-dead-letter-queue"]
        );
    }
}
