//! `bootstrap`: deploys (or removes) a stage's bootstrap stack (`infra/src/bootstrap/`): the
//! asset bucket, the permissions boundary, the CloudFormation execution role, the deploy role and
//! the diff role. Run once per account and region by an administrator, as `cdk bootstrap` is;
//! idempotent (a second run changes nothing). Every other command reads its outputs
//! ([`read`]): `deploy` uploads to its bucket and runs change sets with its execution role.
//!
//! On emulator stages `deploy` bootstraps by itself when the stack is missing (`ensure`): the
//! emulator's credentials are its root account's anyway.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::types::Capability;
use clap::Args;
use codegen_infra::bootstrap::{BOOTSTRAP_VERSION, outputs};
use codegen_infra::{StageConfig, names};
use serde::Serialize;

use crate::aws::{Clients, ConnectOptions, caller_identity};
use crate::cfn::{self, ChangeSetOutcome, ChangeSetRequest};
use crate::plan::{self, StackState};
use crate::report::{Exit, json, progress, result};
use crate::{bootstrap_guard, buckets, local};

/// What a bootstrap stack provides, read from its outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    /// Bootstrap stack name.
    pub stack: String,
    /// Asset bucket name.
    pub asset_bucket: String,
    /// The account that owns it (every asset-bucket call names it).
    pub account: String,
    /// CloudFormation execution role ARN.
    pub execution_role_arn: String,
    /// Deploy role ARN.
    pub deploy_role_arn: String,
    /// Diff role ARN.
    pub diff_role_arn: String,
    /// Permissions boundary ARN.
    pub boundary_arn: String,
}

/// Reads the bootstrap from the outputs of its stack. Pure.
pub(crate) fn from_outputs(
    stack: &str,
    account: &str,
    out: &BTreeMap<String, String>,
) -> anyhow::Result<Bootstrap> {
    let version = out
        .get(outputs::VERSION)
        .map(String::as_str)
        .unwrap_or("none");
    if version != BOOTSTRAP_VERSION.to_string() {
        bail!(
            "bootstrap stack {stack} is version {version}, this deployer needs version \
             {BOOTSTRAP_VERSION}: run `cargo xtask bootstrap` again with administrator credentials"
        );
    }
    let get = |key: &str| {
        out.get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .with_context(|| format!("bootstrap stack {stack} has no output {key}"))
    };
    Ok(Bootstrap {
        stack: stack.to_owned(),
        asset_bucket: get(outputs::ASSET_BUCKET)?,
        account: account.to_owned(),
        execution_role_arn: get(outputs::EXECUTION_ROLE_ARN)?,
        deploy_role_arn: get(outputs::DEPLOY_ROLE_ARN)?,
        diff_role_arn: get(outputs::DIFF_ROLE_ARN)?,
        boundary_arn: get(outputs::BOUNDARY_ARN)?,
    })
}

/// The stage's bootstrap, or `None` when its stack does not exist (or never finished creating).
pub async fn read(clients: &Clients, cfg: &StageConfig) -> anyhow::Result<Option<Bootstrap>> {
    let stack = names::bootstrap_stack(&cfg.stack_name);
    let Some(current) = cfn::describe_stack(&clients.cfn, &stack).await? else {
        return Ok(None);
    };
    let status = cfn::status_of(&current);
    match plan::classify(&cfn::stack_status(&current)) {
        StackState::Stable => {}
        StackState::Missing | StackState::ReviewInProgress | StackState::RollbackComplete => {
            return Ok(None);
        }
        StackState::InProgress => {
            bail!("bootstrap stack {stack} is busy ({status}); try again when it has finished")
        }
        StackState::UpdateRollbackFailed | StackState::Failed => bail!(
            "bootstrap stack {stack} is {status}: an administrator fixes it (see its events) and \
             runs `cargo xtask bootstrap --stage {}` again",
            cfg.name
        ),
    }
    let (account, _) = caller_identity(clients).await?;
    from_outputs(&stack, &account, &cfn::outputs_of(&current)).map(Some)
}

/// The bootstrap a deploy needs: read it; on an emulator stage, create it when missing; on AWS,
/// fail with the command that creates it.
pub(crate) async fn ensure(clients: &Clients, cfg: &StageConfig) -> anyhow::Result<Bootstrap> {
    if let Some(b) = read(clients, cfg).await? {
        return Ok(b);
    }
    if cfg.emulator.is_some() {
        progress(format!(
            "bootstrapping the emulator stage {} (stack {})",
            cfg.name,
            names::bootstrap_stack(&cfg.stack_name)
        ));
        apply(clients, cfg, true).await?;
        return read(clients, cfg)
            .await?
            .context("the bootstrap stack has no outputs after bootstrapping");
    }
    let (account, _) = caller_identity(clients).await?;
    bail!(
        "stage {} is not bootstrapped in account {account}, region {}: an administrator runs \
         `cargo xtask bootstrap --stage {}` once (it creates the asset bucket and the execution, \
         deploy and diff roles; docs/security-model.md)",
        cfg.name,
        clients.region,
        cfg.name
    )
}

/// Options of `bootstrap`.
#[derive(Debug, Clone, Default)]
pub struct BootstrapOptions {
    /// Stage.
    pub stage: String,
    /// Remove the bootstrap stack instead (`bootstrap destroy`).
    pub destroy: bool,
    /// Where to connect.
    pub connect: ConnectOptions,
    /// Bootstrap the stack of this name instead of the stage's (per-run stacks in tests).
    pub stack_name_override: Option<String>,
    /// Allow `bootstrap.trusted_principals` outside the caller's account.
    pub allow_external_principals: bool,
    /// Approve trust and boundary changes without asking.
    pub yes: bool,
}

/// What `bootstrap` did.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    /// Bootstrap stack name.
    pub stack: String,
    /// What `bootstrap` did.
    pub result: BootstrapResult,
    /// The bootstrap's outputs (absent after `destroy`).
    pub bootstrap: Option<Bootstrap>,
}

/// What `bootstrap` (or `bootstrap destroy`) did, as the JSON output and the result line write
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BootstrapResult {
    /// The bootstrap stack was created.
    Created,
    /// The bootstrap stack was updated.
    Updated,
    /// The bootstrap stack was up to date.
    Unchanged,
    /// The bootstrap stack was deleted (`bootstrap destroy`).
    Deleted,
    /// There was no bootstrap stack to delete (`bootstrap destroy`).
    Absent,
}

impl BootstrapResult {
    /// The word the JSON output and the result line use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Deleted => "deleted",
            Self::Absent => "absent",
        }
    }
}

impl std::fmt::Display for BootstrapResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Runs `bootstrap` (or `bootstrap destroy`).
pub async fn run(root: &Path, opts: &BootstrapOptions) -> anyhow::Result<BootstrapReport> {
    let mut cfg = codegen_infra::load_stage(root, &opts.stage)?;
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let clients = local::connect_starting_emulator(root, &cfg, &opts.connect).await?;
    let stack = names::bootstrap_stack(&cfg.stack_name);
    if opts.destroy {
        let result = remove(&clients, &cfg).await?;
        return Ok(BootstrapReport {
            stack,
            result,
            bootstrap: None,
        });
    }
    // Before any trust changes: refuse another account's principals without the acknowledgement,
    // and a stack name another stage file uses.
    if opts.stack_name_override.is_none() {
        bootstrap_guard::check_unique_stack_name(&cfg, &bootstrap_guard::other_stages(root, &cfg))?;
    }
    let (account, _) = caller_identity(&clients).await?;
    bootstrap_guard::check_principals(&cfg, &account, opts.allow_external_principals)?;
    let result = apply(&clients, &cfg, opts.yes).await?;
    Ok(BootstrapReport {
        stack,
        result,
        bootstrap: read(&clients, &cfg).await?,
    })
}

/// Creates or updates the bootstrap stack with the caller's credentials. Returns `created`,
/// `updated` or `unchanged`. An update that changes a role's trust policy or permissions boundary
/// (deploy's approval triggers, [`plan::approval_triggers`]) needs `yes` or a confirmation on a
/// terminal; without either, the change set is deleted and the command fails saying so.
async fn apply(clients: &Clients, cfg: &StageConfig, yes: bool) -> anyhow::Result<BootstrapResult> {
    let stack = names::bootstrap_stack(&cfg.stack_name);
    let mut create = true;
    if let Some(current) = cfn::describe_stack(&clients.cfn, &stack).await? {
        let status = cfn::status_of(&current).to_owned();
        match plan::classify(&cfn::stack_status(&current)) {
            StackState::Missing | StackState::ReviewInProgress => {}
            StackState::Stable => create = false,
            // A first create that failed leaves ROLLBACK_COMPLETE: only deletion gets out of it.
            StackState::RollbackComplete => {
                progress(format!(
                    "{stack} is {status}: deleting it before creating it again"
                ));
                cfn::delete_stack(&clients.cfn, &stack, None).await?;
            }
            StackState::InProgress | StackState::UpdateRollbackFailed | StackState::Failed => {
                bail!(
                    "bootstrap stack {stack} is {status}: wait for it to finish, or fix it (see \
                     its events)"
                )
            }
        }
    }
    let template = codegen_infra::bootstrap(cfg);
    let body = serde_json::to_string(&template).context("failed to serialise the template")?;
    let request = ChangeSetRequest {
        stack: &stack,
        template_body: &body,
        parameters: &[],
        tags: &cfg.tags,
        create,
        // The bootstrap creates the roles everything else runs with: the caller's own
        // credentials, and CAPABILITY_NAMED_IAM for the roles' fixed names.
        role_arn: None,
        capability: Capability::CapabilityNamedIam,
    };
    match cfn::create_change_set(&clients.cfn, &request).await? {
        ChangeSetOutcome::NoChanges => {
            progress(format!("{stack} is up to date"));
            Ok(BootstrapResult::Unchanged)
        }
        ChangeSetOutcome::Ready { name, changes } => {
            for change in &changes {
                progress(format!(
                    "  {} {} ({})",
                    change.action, change.logical_id, change.resource_type
                ));
            }
            if !create {
                let deployed = cfn::current_template(&clients.cfn, &stack).await?;
                let proposed = template.to_json_value();
                let triggers = plan::approval_triggers(deployed.as_ref(), &proposed);
                if let Some(reason) = approve_trust_changes(&triggers, yes)? {
                    cfn::delete_change_set(&clients.cfn, &stack, &name).await?;
                    bail!("bootstrap of {stack} not applied: {reason}. Nothing was changed");
                }
            }
            cfn::execute_change_set(&clients.cfn, &stack, &name).await?;
            Ok(if create {
                BootstrapResult::Created
            } else {
                BootstrapResult::Updated
            })
        }
    }
}

/// Who may assume which role changes with a trust policy: shown, and approved by `--yes` or on a
/// terminal. `Some(reason)` when not approved. Pure but for the prompt.
fn approve_trust_changes(triggers: &[String], yes: bool) -> anyhow::Result<Option<String>> {
    if triggers.is_empty() {
        return Ok(None);
    }
    let reason = triggers.join("; ");
    progress(format!("trust changes: {reason}"));
    if yes {
        progress("approved by --yes");
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        return Ok(Some(format!(
            "it changes trust ({reason}) and there is no terminal to ask on: review it and re-run \
             with --yes"
        )));
    }
    if crate::report::confirm(&format!("The bootstrap changes trust ({reason}). Apply?"))? {
        Ok(None)
    } else {
        Ok(Some(format!("not approved ({reason})")))
    }
}

/// Deletes the bootstrap stack after emptying its asset bucket. Refused while the app stack
/// exists: its functions' packages live in that bucket and its change sets run with that role.
pub(crate) async fn remove(
    clients: &Clients,
    cfg: &StageConfig,
) -> anyhow::Result<BootstrapResult> {
    let stack = names::bootstrap_stack(&cfg.stack_name);
    if cfn::describe_stack(&clients.cfn, &cfg.stack_name)
        .await?
        .is_some()
    {
        bail!(
            "refusing to remove {stack}: the stack {} still exists and needs its roles and asset \
             bucket; run `cargo xtask destroy --stage {}` first. Nothing was changed",
            cfg.stack_name,
            cfg.name
        );
    }
    let Some(current) = cfn::describe_stack(&clients.cfn, &stack).await? else {
        progress(format!("{stack} does not exist: nothing to remove"));
        return Ok(BootstrapResult::Absent);
    };
    let (account, _) = caller_identity(clients).await?;
    if let Some(bucket) = cfn::outputs_of(&current).get(outputs::ASSET_BUCKET) {
        let (objects, uploads) = buckets::empty_owned_bucket(&clients.s3, bucket, &account).await?;
        progress(format!(
            "emptied {bucket}: {objects} object versions, {uploads} multipart uploads"
        ));
    }
    progress(format!("deleting stack {stack}"));
    cfn::delete_stack(&clients.cfn, &stack, None).await?;
    Ok(BootstrapResult::Deleted)
}

/// Arguments of `bootstrap`.
#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    /// `destroy`: empty the asset bucket and delete the bootstrap stack.
    #[arg(value_parser = ["destroy"])]
    action: Option<String>,
    /// Allow `bootstrap.trusted_principals` in another account (refused otherwise): they could
    /// assume the deploy, plan and diff roles.
    #[arg(long)]
    allow_external_principals: bool,
    /// Apply changes to a role's trust policy or permissions boundary without asking (refused
    /// without a terminal otherwise).
    #[arg(long, short)]
    yes: bool,
}

/// Runs `cargo xtask bootstrap` (or `bootstrap destroy`) and prints the bootstrap's outputs.
pub(crate) async fn command(
    root: &std::path::Path,
    args: BootstrapArgs,
) -> anyhow::Result<crate::report::Exit> {
    let opts = crate::bootstrap::BootstrapOptions {
        stage: args.target.stage,
        destroy: args.action.is_some(),
        connect: args.target.connect.options(),
        stack_name_override: None,
        allow_external_principals: args.allow_external_principals,
        yes: args.yes,
    };
    let stage = opts.stage.clone();
    let report = run(root, &opts).await?;
    if args.target.json {
        json(&report)?;
    } else {
        result(format!("{}: {}", report.stack, report.result));
        if let Some(b) = &report.bootstrap {
            for (key, value) in [
                ("asset bucket", &b.asset_bucket),
                ("execution role", &b.execution_role_arn),
                ("deploy role", &b.deploy_role_arn),
                ("diff role", &b.diff_role_arn),
                ("permissions boundary", &b.boundary_arn),
            ] {
                result(format!("  {key:<21} {value}"));
            }
        }
    }
    // The roles' OIDC trust only means what it says with these repository settings, which IAM
    // cannot check (crate `codegen_infra::oidc`).
    if let Ok(cfg) = codegen_infra::load_stage(root, &stage)
        && let Some(gh) = &cfg.bootstrap.github
        && !opts.destroy
    {
        progress("GitHub settings the roles' trust relies on (configure them once):");
        for line in codegen_infra::oidc::required_settings(&cfg.name, gh) {
            progress(format!("  - {line}"));
        }
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> BTreeMap<String, String> {
        [
            (
                outputs::ASSET_BUCKET,
                "codegen-dev-bootstrap-assetbucket-abc",
            ),
            (
                outputs::EXECUTION_ROLE_ARN,
                "arn:aws:iam::1:role/codegen-dev-cfn-exec",
            ),
            (
                outputs::DEPLOY_ROLE_ARN,
                "arn:aws:iam::1:role/codegen-dev-deploy",
            ),
            (
                outputs::DIFF_ROLE_ARN,
                "arn:aws:iam::1:role/codegen-dev-diff",
            ),
            (
                outputs::BOUNDARY_ARN,
                "arn:aws:iam::1:policy/codegen-dev-boundary",
            ),
            (outputs::VERSION, "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn trust_changes_need_yes_without_a_terminal() {
        assert_eq!(approve_trust_changes(&[], false).expect("ok"), None);
        assert_eq!(
            approve_trust_changes(&["role DeployRole: trust policy changed".into()], true)
                .expect("ok"),
            None
        );
        // The test harness has no terminal on stdin.
        if !std::io::stdin().is_terminal() {
            let reason =
                approve_trust_changes(&["role DeployRole: trust policy changed".into()], false)
                    .expect("ok")
                    .expect("refused");
            assert!(reason.contains("re-run with --yes"), "{reason}");
            assert!(
                reason.contains("role DeployRole: trust policy changed"),
                "{reason}"
            );
        }
    }

    #[test]
    fn reads_every_output() {
        let b = from_outputs("codegen-dev-bootstrap", "1", &complete()).expect("complete");
        assert_eq!(b.asset_bucket, "codegen-dev-bootstrap-assetbucket-abc");
        assert_eq!(
            b.execution_role_arn,
            "arn:aws:iam::1:role/codegen-dev-cfn-exec"
        );
        assert_eq!(b.account, "1");
    }

    #[test]
    fn refuses_another_version_and_missing_outputs() {
        let mut old = complete();
        old.insert(outputs::VERSION.into(), "0".into());
        let err = from_outputs("s", "1", &old)
            .expect_err("old version")
            .to_string();
        assert!(err.contains("run `cargo xtask bootstrap` again"), "{err}");
        let mut partial = complete();
        partial.remove(outputs::EXECUTION_ROLE_ARN);
        let err = from_outputs("s", "1", &partial)
            .expect_err("missing")
            .to_string();
        assert!(err.contains(outputs::EXECUTION_ROLE_ARN), "{err}");
    }
}
