//! The `deploy` command: its arguments and what it prints (the report or the approval form on
//! stdout, `--json` or lines; the approval reason on stderr).

use std::path::PathBuf;

use clap::Args;

use super::{DeployOptions, DeployOutcome, deploy, execute_plan, prepare_plan};
use crate::args::{PackageArgs, StageCommand};
use crate::report::{Exit, json, progress, result};

/// Arguments of `deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    target: StageCommand,
    /// Approve, without asking, every change that needs approval (IAM widening, route
    /// authorization, trust policies, permissions boundaries, public access blocks, bucket
    /// policies, replacement, removal); for CI. The reasons are still printed.
    #[arg(long, short)]
    yes: bool,
    #[command(flatten)]
    build: PackageArgs,
    /// Create a change set even when nothing changed since the last successful deploy.
    #[arg(long)]
    force: bool,
    /// Update the function code directly, skipping CloudFormation (fast, but the stack drifts from
    /// its template until the next normal deploy). Only for emulator stages and stages whose file
    /// sets `function.allow_hotswap: true`.
    #[arg(long)]
    hotswap: bool,
    /// Prepare only: build or read the package, upload it, create the change set (with the
    /// execution role) and write the plan to this file (JSON: stack, change set id, template and
    /// package hashes, the summary and why it needs approval, sealed by a digest). Nothing in the
    /// stack changes; `--execute` runs exactly this change set later.
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["execute", "hotswap", "force"])]
    prepare: Option<PathBuf>,
    /// Execute exactly the change set of a plan written by `--prepare`, after checking that the
    /// plan file is unmodified and that the stack, its template, the change set, the package
    /// (pass the same `--package`) and the synthesised template are what the plan recorded.
    /// Asks for no approval: reviewing the plan was the approval.
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["hotswap", "force"])]
    execute: Option<PathBuf>,
    /// With `--execute`: the digest of the plan as it was reviewed (printed by `--prepare`); any
    /// other plan is refused.
    #[arg(long, value_name = "SHA256", requires = "execute")]
    expect_digest: Option<String>,
}

/// Runs `cargo xtask deploy` and prints its result (exit 4 when approval was needed and not given).
pub(crate) async fn command(
    root: &std::path::Path,
    args: DeployArgs,
) -> anyhow::Result<crate::report::Exit> {
    let opts = DeployOptions {
        yes: args.yes,
        force: args.force,
        hotswap: args.hotswap,
        ..DeployOptions::from_package_args(
            args.build,
            args.target.stage,
            args.target.connect.options(),
        )
    };
    if let Some(path) = &args.prepare {
        let plan = prepare_plan(root, &opts, path).await?;
        if args.target.json {
            json(&plan)?;
        } else {
            for line in &plan.body.summary {
                result(line);
            }
            for reason in &plan.body.approval_reasons {
                result(format!("needs approval: {reason}"));
            }
            result(format!(
                "plan written to {} (digest {})",
                path.display(),
                plan.digest
            ));
        }
        return Ok(Exit::Success);
    }
    let outcome = match &args.execute {
        Some(path) => execute_plan(root, &opts, path, args.expect_digest.as_deref()).await?,
        None => deploy(root, &opts).await?,
    };
    if args.target.json {
        result(outcome.json_text()?);
    }
    match outcome {
        DeployOutcome::Done(report) => {
            if !args.target.json {
                result(format!(
                    "{}: {} ({})",
                    report.stack, report.result, report.stack_status
                ));
                for (k, v) in &report.outputs {
                    result(format!("  {k} = {v}"));
                }
            }
            Ok(Exit::Success)
        }
        DeployOutcome::NeedsApproval { reason, .. } => {
            progress(format!("error: {reason}"));
            Ok(Exit::NeedsApproval)
        }
    }
}
