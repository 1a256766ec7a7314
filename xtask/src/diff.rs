//! `diff`: what a deploy would change, without changing anything.
//!
//! By default it is read-only: it synthesises the template, reads the deployed one
//! (`GetTemplate` with stage `Original`: "To get the user-submitted template, specify
//! `Original`", <https://docs.rs/aws-sdk-cloudformation/latest/aws_sdk_cloudformation/operation/get_template/struct.GetTemplateInput.html>;
//! this deployer submits JSON), the stack's parameters and tags (`DescribeStacks`) and the
//! caller's account (`GetCallerIdentity`, for the asset bucket's name), and compares them with the
//! pure functions of [`crate::plan`]. It builds nothing, uploads nothing, creates or deletes no
//! change set, recovers no stack and starts no emulator, so it runs with
//! `cloudformation:DescribeStacks` and `cloudformation:GetTemplate` alone (`GetCallerIdentity`:
//! "No permissions are required to perform this operation",
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>). The function
//! code is compared by its content hash only when a package is at hand (`--package`, or an
//! up-to-date build from an earlier deploy); otherwise it is reported as not compared.
//!
//! `--change-set` keeps the CloudFormation-computed preview: the deploy's own path up to the
//! change set (build, upload, recover the stack, create the change set), then the change set is
//! deleted. That needs the deployer's permissions.
//!
//! The command is here; what it reports is in `report`, the two ways of finding it in `read_only`
//! and `change_set`.

mod change_set;
mod read_only;
mod report;

use std::path::Path;

use clap::Args;

use crate::deploy::DeployOptions;
use crate::report::{Exit, json, result};

pub(crate) use change_set::with_change_set;
pub use read_only::{compare, read_only};
pub use report::{CodeComparison, Diff, DiffReport};

/// Runs the read-only `diff` and returns its report (see [`read_only`]).
pub async fn diff(root: &Path, opts: &DeployOptions) -> anyhow::Result<DiffReport> {
    Ok(read_only(root, opts).await?.report)
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    // The package to compare, by its hash (without `--package`: an up-to-date build if there is
    // one; the read-only diff never builds).
    #[command(flatten)]
    build: crate::args::PackageArgs,
    /// Ask CloudFormation instead (needs the deployer's permissions, not read-only): build and
    /// upload the package, recover a failed stack as deploy does, create the change set a deploy
    /// would execute, show it and delete it. Shows which modifications replace resources.
    #[arg(long)]
    change_set: bool,
}

/// Runs `cargo xtask diff` and prints what a deploy would change (exit 3 when it would).
pub(crate) async fn command(
    root: &std::path::Path,
    args: DiffArgs,
) -> anyhow::Result<crate::report::Exit> {
    let opts = crate::deploy::DeployOptions::from_package_args(
        args.build,
        args.target.stage,
        args.target.connect.options(),
    );
    if opts.package_from.is_some() || opts.build {
        anyhow::bail!(
            "diff compares a package given with --package (or an up-to-date build); \
             --package-from and --build are deploy's"
        );
    }
    let found = if args.change_set {
        with_change_set(root, &opts).await?
    } else {
        read_only(root, &opts).await?
    };
    let report = &found.report;
    if args.target.json {
        json(report)?;
    } else {
        for line in found.lines() {
            result(line);
        }
    }
    Ok(if report.has_changes {
        Exit::ChangesPresent
    } else {
        Exit::Success
    })
}
