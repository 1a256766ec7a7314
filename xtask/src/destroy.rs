//! `destroy`: empty the code bucket (every version, delete marker and unfinished multipart
//! upload), delete the stack with the bootstrap's execution role and wait; with `--all`, also
//! remove the stage's bootstrap stack (its asset bucket, emptied first, and its roles).
//! Destroying a stack that does not exist succeeds.
//!
//! The code bucket is found through the stack's own resources (`DescribeStackResource` for
//! `CodeBucket`), never through an output, which names whatever its template says, and is emptied
//! only if it is an `AWS::S3::Bucket` named by the stack's pattern ([`crate::code_bucket`]); every
//! bucket call names the caller's account as the expected owner. Each stage's bootstrap has its
//! own asset bucket, so `--all` touches no other stage's packages.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;
use codegen_infra::names::deployment_record_key;
use serde::Serialize;

use crate::aws::{ConnectOptions, caller_identity, try_connect};
use crate::buckets::empty_owned_bucket;
use crate::plan::{self, StackState};
use crate::report::{Exit, confirm, json, progress, result};
use crate::{bootstrap, cfn, local};

/// Options of `destroy`.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// Stage.
    pub stage: String,
    /// Do not ask.
    pub yes: bool,
    /// Also remove the stage's bootstrap stack (asset bucket and roles).
    pub all: bool,
    /// Where to connect.
    pub connect: ConnectOptions,
    /// Destroy this stack instead of the stage's (see `DeployOptions::stack_name_override`).
    pub stack_name_override: Option<String>,
    /// Use this validated stage instead of reading `infra/stages/<stage>.yaml` (tests).
    pub stage_config: Option<codegen_infra::StageConfig>,
    /// Confirms destroying a production-class stage (its data is kept, see [`destroy`]).
    pub production: bool,
}

/// What `destroy` did.
#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    /// Stack name.
    pub stack: String,
    /// What `destroy` did.
    pub result: DestroyResult,
    /// Objects (versions and delete markers) removed from the code bucket.
    pub objects_deleted: usize,
    /// Multipart uploads aborted.
    pub uploads_aborted: usize,
    /// Whether the bootstrap stack, with its asset bucket, was removed (`--all`).
    pub asset_bucket_deleted: bool,
    /// What a production-class stage kept (`DeletionPolicy: Retain`): `<type> <physical id>`.
    pub retained: Vec<String>,
}

/// What `destroy` did to the stack, as the JSON output and the result line write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DestroyResult {
    /// The stack was deleted.
    Deleted,
    /// There was no stack (destroying a missing stack succeeds).
    Absent,
}

impl DestroyResult {
    /// The word the JSON output and the result line use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::Absent => "absent",
        }
    }
}

impl std::fmt::Display for DestroyResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of `destroy`.
#[derive(Debug, Clone)]
pub enum DestroyOutcome {
    /// Done.
    Done(DestroyReport),
    /// Not confirmed.
    NeedsApproval(String),
}

/// Waits for an operation that is still running on the stack (a deploy or destroy that was
/// interrupted, or one started elsewhere): CloudFormation refuses to delete a stack in the middle
/// of an update. Returns the stack as it is afterwards, `None` if that operation deleted it.
async fn settle(
    cfn_client: &aws_sdk_cloudformation::Client,
    name: &str,
    stack: aws_sdk_cloudformation::types::Stack,
) -> anyhow::Result<Option<aws_sdk_cloudformation::types::Stack>> {
    let status = cfn::status_of(&stack).to_owned();
    if plan::classify(&cfn::stack_status(&stack)) != StackState::InProgress {
        return Ok(Some(stack));
    }
    // Whatever it ends in (complete, rolled back, failed), the stack is then deletable.
    cfn::await_running_operation(cfn_client, name, &status).await
}

pub use crate::code_bucket::code_bucket_of;

/// Runs `destroy`.
///
/// A production-class stage is refused without [`DestroyOptions::production`]; with it, the code
/// bucket is not emptied, termination protection is turned off, the stack is deleted, and what
/// CloudFormation kept (its stateful resources, `DeletionPolicy: Retain`) is listed.
pub async fn destroy(root: &Path, opts: &DestroyOptions) -> anyhow::Result<DestroyOutcome> {
    let mut cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let production = cfg.protection.is_production();
    if production && !opts.production {
        anyhow::bail!(
            "refusing to destroy stage `{}`: it is production-class (`protection: production`). \
             Its stack has termination protection, and its code bucket, tables, keys, topics, \
             queues and log groups outlive the stack (Retain). To delete the stack and keep \
             them, re-run with --production; what was kept is listed afterwards",
            cfg.name
        );
    }
    let clients = try_connect(&cfg, &opts.connect).await?;
    if cfg.emulator.is_some()
        && cfg.account.is_some()
        && let Some(endpoint) = &clients.endpoint
        && crate::process::answers(local::loopback_addr(endpoint)?).await
    {
        crate::aws::check_account(&clients, &cfg).await?;
    }
    let absent = DestroyReport {
        stack: cfg.stack_name.clone(),
        result: DestroyResult::Absent,
        objects_deleted: 0,
        uploads_aborted: 0,
        asset_bucket_deleted: false,
        retained: Vec::new(),
    };
    // Nothing answering on an emulator's port means there is nothing to destroy there.
    if cfg.emulator.is_some()
        && let Some(endpoint) = &clients.endpoint
        && !crate::process::answers(local::loopback_addr(endpoint)?).await
    {
        return Ok(DestroyOutcome::Done(absent));
    }
    let boot = bootstrap::read(&clients, &cfg).await?;
    // The bootstrap already asked STS who the caller is; ask only when there is none.
    let account = match &boot {
        Some(b) => b.account.clone(),
        None => caller_identity(&clients).await?.0,
    };
    let stack = cfn::describe_stack(&clients.cfn, &cfg.stack_name).await?;
    let what = if opts.all {
        "the stack, its data, and its bootstrap (asset bucket and roles)"
    } else {
        "the stack and its data"
    };
    if !opts.yes && (stack.is_some() || (opts.all && boot.is_some())) {
        if !std::io::stdin().is_terminal() {
            return Ok(DestroyOutcome::NeedsApproval(format!(
                "destroying {} deletes {what}; there is no terminal to ask on: re-run with --yes",
                cfg.stack_name
            )));
        }
        if !confirm(&format!("Destroy {} ({what})?", cfg.stack_name))? {
            return Ok(DestroyOutcome::NeedsApproval("not confirmed".into()));
        }
    }
    let mut report = absent;
    let stack = match stack {
        Some(s) => settle(&clients.cfn, &cfg.stack_name, s).await?,
        None => None,
    };
    // The stack's resources are deleted by the bootstrap's execution role, as they were created.
    let role = boot.as_ref().map(|b| b.execution_role_arn.as_str());
    if stack.is_some() && production {
        report.retained = cfn::stack_resources(&clients.cfn, &cfg.stack_name)
            .await?
            .into_iter()
            .filter(|r| codegen_infra::protection::is_stateful(&r.type_name))
            .map(|r| format!("{} {}", r.type_name, r.physical_id))
            .collect();
        cfn::set_termination_protection(&clients.cfn, &cfg.stack_name, false).await?;
        progress(format!(
            "deleting stack {} (production-class: its data is kept)",
            cfg.stack_name
        ));
        cfn::delete_stack(&clients.cfn, &cfg.stack_name, role).await?;
        for kept in &report.retained {
            progress(format!("kept {kept}"));
        }
        report.result = DestroyResult::Deleted;
    } else if stack.is_some() {
        let code_bucket = code_bucket_of(&clients.cfn, &cfg.stack_name).await?;
        if let Some(bucket) = &code_bucket {
            let (objects, uploads) = empty_owned_bucket(&clients.s3, bucket, &account).await?;
            progress(format!(
                "emptied {bucket}: {objects} object versions, {uploads} multipart uploads"
            ));
            report.objects_deleted = objects;
            report.uploads_aborted = uploads;
        }
        progress(format!("deleting stack {}", cfg.stack_name));
        if let Err(first) = cfn::delete_stack(&clients.cfn, &cfg.stack_name, role).await {
            // A write that landed between emptying and deleting makes the bucket non-empty again.
            progress(format!(
                "delete did not complete ({first:#}); emptying the bucket again and retrying"
            ));
            if let Some(bucket) = &code_bucket {
                empty_owned_bucket(&clients.s3, bucket, &account).await?;
            }
            cfn::delete_stack(&clients.cfn, &cfg.stack_name, role).await?;
        }
        report.result = DestroyResult::Deleted;
    } else {
        progress(format!(
            "stack {} does not exist: nothing to destroy",
            cfg.stack_name
        ));
    }
    if opts.all {
        // Removes the asset bucket (emptied first) and the roles: an administrator's job on AWS.
        report.asset_bucket_deleted =
            bootstrap::remove(&clients, &cfg).await? == bootstrap::BootstrapResult::Deleted;
    } else if report.result == DestroyResult::Deleted
        && let Some(b) = &boot
    {
        // The deploy record describes a stack that no longer exists. A leftover record only makes
        // the next deploy ask CloudFormation instead of returning at once, so a failure is
        // reported, not fatal.
        if let Err(err) = clients
            .s3
            .delete_object()
            .bucket(&b.asset_bucket)
            .key(deployment_record_key(&cfg.stack_name))
            .expected_bucket_owner(&b.account)
            .send()
            .await
        {
            progress(format!(
                "note: could not delete the deploy record of {} ({}); the next deploy asks \
                 CloudFormation instead of trusting it",
                cfg.stack_name,
                anyhow::Error::new(err)
            ));
        }
    }
    Ok(DestroyOutcome::Done(report))
}

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
    /// Also remove the stage's bootstrap stack: its asset bucket (emptied first), roles and
    /// permissions boundary (administrator credentials).
    #[arg(long)]
    all: bool,
    /// Required to destroy a production-class stage (`protection: production`): turns off the
    /// stack's termination protection and deletes the stack; the code bucket, tables, keys,
    /// topics, queues and log groups are kept (Retain) and listed.
    #[arg(long)]
    production: bool,
}

/// Runs `cargo xtask destroy` and prints its result (exit 4 when not confirmed).
pub(crate) async fn command(
    root: &std::path::Path,
    args: DestroyArgs,
) -> anyhow::Result<crate::report::Exit> {
    let opts = DestroyOptions {
        stage: args.target.stage,
        yes: args.yes,
        all: args.all,
        connect: args.target.connect.options(),
        stack_name_override: None,
        stage_config: None,
        production: args.production,
    };
    match destroy(root, &opts).await? {
        DestroyOutcome::Done(report) => {
            if args.target.json {
                json(&report)?;
            } else {
                result(format!("{}: {}", report.stack, report.result));
                for kept in &report.retained {
                    result(format!("  kept {kept}"));
                }
            }
            Ok(Exit::Success)
        }
        DestroyOutcome::NeedsApproval(reason) => {
            progress(format!("error: {reason}"));
            Ok(Exit::NeedsApproval)
        }
    }
}
