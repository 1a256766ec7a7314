//! `deploy`: build -> upload by content hash -> synthesise -> change set (approval when IAM widens
//! or resources are replaced) -> execute with live events -> deploy the API stage -> post-deploy
//! checks -> outputs. A deploy whose fingerprint matches the last successful one returns at once.
//!
//! The flow is here; its parts each have a module: loading and preparing (`setup`), the change
//! set and approval (`change_set`), recovery (`recover`), after the change set (`post`), the
//! record of a deploy (`record`), hotswap, prepare-and-execute (`reviewed`), what it reports
//! (`report`) and the command with its arguments and output (`command`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use codegen_infra::StageConfig;
use codegen_infra::config::Architecture;

use crate::approver::{Approver, TerminalApprover};
use crate::args::{ArchArg, PackageArgs};
use crate::aws::ConnectOptions;
use crate::package;
use crate::plan::{self, ChangeSummary};
use crate::report::progress;
use crate::{cfn, outputs};

/// Options of `deploy` (and of `diff`, which stops before executing).
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Stage name.
    pub stage: String,
    /// Approve IAM widening and replacements without asking.
    pub yes: bool,
    /// Use this zip instead of building.
    pub package: Option<PathBuf>,
    /// Build for this architecture instead of the stage's preference.
    pub architecture: Option<Architecture>,
    /// Ask CloudFormation even when the fingerprint says nothing changed.
    pub force: bool,
    /// Update only the function code, bypassing CloudFormation (dev stages only; creates drift).
    pub hotswap: bool,
    /// Build label compiled into the function (reported in its `x-codegen-build` header).
    pub build_label: Option<String>,
    /// Cargo profile of the build (`None`: fast on emulator stages, release on AWS stages; see
    /// `package::BuildProfile::for_stage`).
    pub build_profile: Option<package::BuildProfile>,
    /// Deploy under this stack name instead of the stage's (per-run stacks in tests); the
    /// function and log group names follow it.
    pub stack_name_override: Option<String>,
    /// Use this validated stage instead of reading `infra/stages/<stage>.yaml` (tests that deploy
    /// a variant of a stage, e.g. another model or a Bedrock test double's endpoint).
    pub stage_config: Option<StageConfig>,
    /// Deploy the package this stage's last full deploy recorded (promotion; nothing is built).
    pub package_from: Option<String>,
    /// The SHA-256 (hex) the `package` must have.
    pub package_sha256: Option<String>,
    /// Build a package even on a production-class stage.
    pub build: bool,
    /// Where to connect.
    pub connect: ConnectOptions,
}

impl DeployOptions {
    /// The options that `args` (the package flags of `deploy` and `diff`) ask for on `stage` via
    /// `connect`; every other option is its default (`deploy` sets its own on top).
    pub(crate) fn from_package_args(
        args: PackageArgs,
        stage: String,
        connect: ConnectOptions,
    ) -> Self {
        Self {
            stage,
            package: args.package,
            architecture: args.architecture.map(ArchArg::into_architecture),
            build_label: args.build_label,
            build_profile: args.build_profile,
            package_from: args.package_from,
            package_sha256: args.package_sha256,
            build: args.build,
            connect,
            ..Self::default()
        }
    }
}

mod change_set;
mod command;
mod hotswap;
mod post;
mod record;
mod recover;
mod report;
pub(crate) mod reviewed;
mod setup;

pub(crate) use change_set::{approve, plan_changes, plan_changes_described};
pub(crate) use command::{DeployArgs, command};
pub(crate) use hotswap::hotswap;
pub(crate) use record::{DeployRecord, read_record_bytes};
pub(crate) use recover::recover;
pub use report::{DeployOutcome, DeployReport, DeployResult, PackageReport};
pub(crate) use setup::{Loaded, Prepared, load, prepare, verification_for};

use post::{deploy_api_stage, verify_functions, wait_for_function_update};
use record::{is_unchanged, record_success};

/// Runs `deploy`, asking on the terminal when a change needs approval (see
/// [`deploy_approved_by`]).
pub async fn deploy(root: &Path, opts: &DeployOptions) -> anyhow::Result<DeployOutcome> {
    deploy_approved_by(root, opts, &TerminalApprover).await
}

/// Runs `deploy`; a change that needs approval (and has no `--yes`) is put to `approver`.
pub async fn deploy_approved_by(
    root: &Path,
    opts: &DeployOptions,
    approver: &dyn Approver,
) -> anyhow::Result<DeployOutcome> {
    let started = Instant::now();
    if opts.hotswap {
        refuse_hotswap_on_production(root, opts)?;
        return hotswap(load(root, opts).await?, started).await;
    }
    let mut p = prepare(root, opts).await?;
    let stack_name = p.cfg.stack_name.clone();
    // Roles a hostile template left behind with DeletionPolicy Retain (issue 22).
    crate::orphans::refuse_orphans(&p.clients, &stack_name).await?;

    if !opts.force
        && let Some(stack) = is_unchanged(&p).await?
    {
        progress(format!(
            "{stack_name}: no changes (fingerprint {})",
            &p.fingerprint[..12]
        ));
        let outputs = outputs::with_invoke_url(&p.clients, &p.cfg, cfn::outputs_of(&stack));
        p.timings
            .insert("total".to_owned(), started.elapsed().as_millis());
        let status = cfn::status_of(&stack);
        return Ok(DeployOutcome::Done(Box::new(report(
            &p,
            DeployResult::Unchanged,
            status,
            ChangeSummary::default(),
            None,
            outputs,
        ))));
    }

    let t = Instant::now();
    let (change_set, summary, create) = plan_changes(&p).await?;
    p.timings
        .insert("change_set".to_owned(), t.elapsed().as_millis());
    let mut status = "UNCHANGED".to_owned();
    let result;
    if let Some(name) = &change_set {
        for line in summary.lines() {
            progress(line);
        }
        let triggers = approval_triggers_of(&p, create).await?;
        if let Some(reason) = approve(&summary, &triggers, opts.yes, approver)? {
            if create {
                // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it whole.
                cfn::delete_stack(&p.clients.cfn, &stack_name, Some(&p.execution_role_arn)).await?;
            } else {
                cfn::delete_change_set(&p.clients.cfn, &stack_name, name).await?;
            }
            return Ok(DeployOutcome::NeedsApproval {
                reason,
                changes: summary,
            });
        }
        progress(format!("executing change set {name} on {stack_name}"));
        let t = Instant::now();
        status = cfn::execute_change_set(&p.clients.cfn, &stack_name, name).await?;
        p.timings
            .insert("execute".to_owned(), t.elapsed().as_millis());
        result = DeployResult::of_change_set(create);
    } else {
        progress(format!("{stack_name}: CloudFormation reports no changes"));
        result = DeployResult::Unchanged;
    }

    let status = (change_set.is_some()).then_some(status);
    finish(p, status, result, summary, create, started).await
}

/// What the change opens or loses beyond its IAM grants (route authorization, trust policies,
/// permissions boundaries, public access blocks, bucket policies), and on a production-class stage
/// the fact that every change is approved.
async fn approval_triggers_of(p: &Prepared, create: bool) -> anyhow::Result<Vec<String>> {
    let deployed = if create {
        None
    } else {
        cfn::current_template(&p.clients.cfn, &p.cfg.stack_name).await?
    };
    let synthesised: serde_json::Value = serde_json::from_str(&p.template_body)
        .context("failed to read the synthesised template")?;
    let mut triggers = plan::approval_triggers(deployed.as_ref(), &synthesised);
    if p.cfg.protection.is_production() {
        triggers.push(format!(
            "stage `{}` is production-class: every change is approved",
            p.cfg.name
        ));
    }
    Ok(triggers)
}

/// After the change set (or none): termination protection on a production-class stage, the API
/// stage's deployment, the function check, the deploy record and the report. `status`: the
/// executed change set's final stack status (`None`: read it from the stack).
async fn finish(
    mut p: Prepared,
    status: Option<String>,
    result: DeployResult,
    summary: ChangeSummary,
    create: bool,
    started: Instant,
) -> anyhow::Result<DeployOutcome> {
    let stack_name = p.cfg.stack_name.clone();
    let stack = cfn::describe_stack(&p.clients.cfn, &stack_name)
        .await?
        .with_context(|| format!("stack {stack_name} disappeared after deploy"))?;
    if p.cfg.protection.is_production() && !stack.enable_termination_protection().unwrap_or(false) {
        cfn::set_termination_protection(&p.clients.cfn, &stack_name, true).await?;
        progress(format!(
            "{stack_name}: termination protection on (production-class stage)"
        ));
    }
    let status = status.unwrap_or_else(|| cfn::status_of(&stack).to_owned());
    let stack_outputs = cfn::outputs_of(&stack);
    let t = Instant::now();
    let api_deployment_id =
        deploy_api_stage(&p, &stack_outputs, create || summary.touches_api()).await?;
    verify_functions(&p.clients, &p.package, &stack_name).await?;
    p.timings
        .insert("post_deploy".to_owned(), t.elapsed().as_millis());
    record_success(&p, api_deployment_id.as_deref()).await?;
    let outputs = outputs::with_invoke_url(&p.clients, &p.cfg, stack_outputs);
    p.timings
        .insert("total".to_owned(), started.elapsed().as_millis());
    Ok(DeployOutcome::Done(Box::new(report(
        &p,
        result,
        &status,
        summary,
        api_deployment_id,
        outputs,
    ))))
}

/// `deploy --prepare PLAN`: everything a deploy does up to the change set (build or read the
/// package, upload it, synthesise, create the change set with the execution role), then writes
/// the plan file instead of executing. Nothing in the stack changes.
pub async fn prepare_plan(
    root: &Path,
    opts: &DeployOptions,
    plan_path: &Path,
) -> anyhow::Result<reviewed::Plan> {
    let p = prepare(root, opts).await?;
    let account = crate::aws::caller_identity(&p.clients).await?.0;
    let intent = reviewed::intent_of(&p, &account, reviewed::nonce()).await?;
    let description = reviewed::change_set_description(&intent);
    let (change_set, summary, create) = plan_changes_described(&p, &description).await?;
    let planned = match &change_set {
        Some(name) => {
            let out = p
                .clients
                .cfn
                .describe_change_set()
                .stack_name(&p.cfg.stack_name)
                .change_set_name(name)
                .send()
                .await
                .with_context(|| format!("failed to describe change set {name}"))?;
            Some(reviewed::PlannedChangeSet {
                id: out
                    .change_set_id()
                    .with_context(|| format!("change set {name} has no id"))?
                    .to_owned(),
                name: name.clone(),
            })
        }
        None => None,
    };
    let approval_reasons = if planned.is_some() {
        let mut reasons = summary.approval_reasons();
        reasons.extend(approval_triggers_of(&p, create).await?);
        reasons
    } else {
        Vec::new()
    };
    let plan = reviewed::Plan::seal(reviewed::PlanBody {
        format: reviewed::PLAN_FORMAT,
        intent,
        change_set: planned,
        summary: summary.lines(),
        approval_reasons,
    });
    reviewed::write_plan(plan_path, &plan)?;
    Ok(plan)
}

/// `deploy --execute PLAN`: executes exactly the change set of a plan written by `--prepare`,
/// after checking that nothing it was reviewed against has moved (`reviewed`). The package must
/// be the plan's (pass the same `--package`); the stage's template is synthesised again and must
/// be the plan's.
pub async fn execute_plan(
    root: &Path,
    opts: &DeployOptions,
    plan_path: &Path,
    expect_digest: Option<&str>,
) -> anyhow::Result<DeployOutcome> {
    let started = Instant::now();
    // The file is checked before anything else: a tampered plan costs no build and no call.
    let plan = reviewed::read_plan(plan_path, expect_digest)?;
    if plan.body.intent.stage != opts.stage {
        bail!(
            "refusing the plan {}: it was prepared for stage `{}`, not `{}`",
            plan_path.display(),
            plan.body.intent.stage,
            opts.stage
        );
    }
    let p = prepare(root, opts).await?;
    let account = crate::aws::caller_identity(&p.clients).await?.0;
    let now = reviewed::observe(&p, &plan, &account).await?;
    let differences = reviewed::differences(&plan, &now);
    if !differences.is_empty() {
        bail!(
            "refusing the plan {} (digest {}): the world moved since it was prepared; prepare \
             and review it again.\n  {}",
            plan_path.display(),
            plan.digest,
            differences.join("\n  ")
        );
    }
    // As every deploy does before it changes the stack (the plan role that prepared it cannot
    // list roles).
    crate::orphans::refuse_orphans(&p.clients, &p.cfg.stack_name).await?;
    let Some(change_set) = &plan.body.change_set else {
        progress(format!(
            "{}: the plan has no changes; nothing to execute",
            p.cfg.stack_name
        ));
        return finish(
            p,
            None,
            DeployResult::Unchanged,
            ChangeSummary::default(),
            false,
            started,
        )
        .await;
    };
    progress(format!(
        "executing the reviewed change set {} (plan {})",
        change_set.name, plan.digest
    ));
    for line in &plan.body.summary {
        progress(line);
    }
    // Read before executing: what the change set does (its lines were just compared with the
    // plan's), for the report.
    let summary = ChangeSummary {
        changes: cfn::collect_changes(&p.clients.cfn, &p.cfg.stack_name, &change_set.id).await?,
        iam_widening: Vec::new(),
    };
    let status = cfn::execute_change_set(&p.clients.cfn, &p.cfg.stack_name, &change_set.id).await?;
    let create = plan.body.intent.create;
    finish(
        p,
        Some(status),
        DeployResult::of_change_set(create),
        summary,
        create,
        started,
    )
    .await
}

/// A production-class stage never takes hotswap, whatever its file or the emulator default says:
/// refused before anything is built. Uses the test's stage when one is given.
fn refuse_hotswap_on_production(root: &Path, opts: &DeployOptions) -> anyhow::Result<()> {
    let cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if cfg.protection.is_production() {
        anyhow::bail!(
            "--hotswap is refused for stage `{}`: it is production-class (`protection: \
             production`), so its code changes only through a change set; run `cargo xtask deploy \
             --stage {}` without --hotswap",
            cfg.name,
            cfg.name
        );
    }
    Ok(())
}

fn report(
    p: &Prepared,
    result: DeployResult,
    status: &str,
    changes: ChangeSummary,
    api_deployment_id: Option<String>,
    outputs: BTreeMap<String, String>,
) -> DeployReport {
    DeployReport {
        stack: p.cfg.stack_name.clone(),
        stage: p.cfg.name.clone(),
        result,
        stack_status: status.to_owned(),
        changes,
        package: PackageReport::new(&p.package, &p.asset_bucket, &p.published),
        api_deployment_id,
        outputs,
        timings_ms: p.timings.clone(),
    }
}
