//! Roles that look like the stack's but are not its resources: a template run through the
//! execution role can create a boundary-bound role under the stack's role name pattern with
//! `DeletionPolicy: Retain` (and a trust policy naming another account: trust policies take no
//! condition), then drop it from the template; CloudFormation leaves the role behind. The
//! boundary makes its credentials useless outside the stack's functions
//! (`infra/src/bootstrap/`, `OnlyFromTheStacksFunctions`), and `deploy` refuses to go on while
//! one exists, naming it for an administrator to delete. Reads IAM (`ListRoles`) and the stack's
//! role resources (`DescribeStackResource`); changes nothing.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use codegen_infra::names;
use codegen_infra::stack::{FUNCTION_ROLE, JOBS_STATUS, JOBS_SUBMIT, JOBS_WORKER};

use crate::aws::Clients;

/// Logical ids of the app stack's roles.
pub(crate) fn role_logical_ids() -> Vec<String> {
    vec![
        FUNCTION_ROLE.to_owned(),
        format!("{JOBS_SUBMIT}Role"),
        format!("{JOBS_STATUS}Role"),
        format!("{JOBS_WORKER}Role"),
    ]
}

/// The roles among `listed` that follow the stack's generated role names
/// (`<stack>-<logical id>-<suffix>`) but are not in `owned`. Pure.
pub(crate) fn find_orphans(
    stack: &str,
    listed: &[String],
    owned: &BTreeSet<String>,
) -> Vec<String> {
    let prefixes: Vec<String> = role_logical_ids()
        .iter()
        .map(|id| {
            names::generated_role_pattern(stack, id)
                .trim_end_matches('*')
                .to_owned()
        })
        .collect();
    listed
        .iter()
        .filter(|name| {
            prefixes.iter().any(|p| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|suffix| !suffix.is_empty() && !suffix.contains('-'))
            })
        })
        .filter(|name| !owned.contains(*name))
        .cloned()
        .collect()
}

/// Fails when the account holds a role that follows the stack's role names but is not one of the
/// stack's resources.
pub(crate) async fn refuse_orphans(clients: &Clients, stack: &str) -> anyhow::Result<()> {
    let mut owned = BTreeSet::new();
    if crate::cfn::describe_stack(&clients.cfn, stack)
        .await?
        .is_some()
    {
        for id in role_logical_ids() {
            // A resource the stack does not have (yet) is no role of it.
            if let Ok(out) = clients
                .cfn
                .describe_stack_resource()
                .stack_name(stack)
                .logical_resource_id(&id)
                .send()
                .await
                && let Some(physical) = out
                    .stack_resource_detail()
                    .and_then(|d| d.physical_resource_id())
            {
                owned.insert(physical.to_owned());
            }
        }
    }
    let mut listed = Vec::new();
    let mut pages = clients.iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.context("failed to list the account's roles (orphan check)")?;
        listed.extend(page.roles().iter().map(|r| r.role_name().to_owned()));
    }
    let orphans = find_orphans(stack, &listed, &owned);
    if !orphans.is_empty() {
        bail!(
            "refusing to deploy {stack}: the account holds roles named like this stack's that \
             are not its resources ({}): a template with DeletionPolicy Retain left them behind, \
             possibly trusted by another account. An administrator reviews and deletes them \
             (aws iam delete-role), then deploy again",
            orphans.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_named_like_the_stacks_but_not_its_own_are_orphans() {
        let listed: Vec<String> = [
            "codegen-dev-FunctionRole-ABC123",
            "codegen-dev-FunctionRole-OLD999",
            "codegen-dev-JobsWorkerRole-XYZ",
            "codegen-dev-deploy",
            "codegen-dev-jobs-FunctionRole-QQQ",
            "other-FunctionRole-ABC",
        ]
        .map(str::to_owned)
        .to_vec();
        let owned: BTreeSet<String> = [
            "codegen-dev-FunctionRole-ABC123",
            "codegen-dev-JobsWorkerRole-XYZ",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(
            find_orphans("codegen-dev", &listed, &owned),
            ["codegen-dev-FunctionRole-OLD999"]
        );
        // A stage named `dev-jobs` (stack codegen-dev-jobs) owns its own roles: not ours.
        assert!(find_orphans("codegen-dev", &listed[4..5], &BTreeSet::new()).is_empty());
    }
}
