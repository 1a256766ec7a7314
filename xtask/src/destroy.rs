//! `destroy`: empty the code bucket (every version, delete marker and unfinished multipart
//! upload), delete the stack and wait; with `--all`, also empty and delete the asset bucket.
//! Destroying a stack that does not exist succeeds.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use codegen_infra::stack::outputs as out_names;
use serde::Serialize;

use crate::aws::{ConnectOptions, caller_identity, connect};
use crate::plan::{self, StackState};
use crate::report::progress;
use crate::{assets, cfn, local};

/// Options of `destroy`.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// Stage.
    pub stage: String,
    /// Do not ask.
    pub yes: bool,
    /// Also remove the asset bucket.
    pub all: bool,
    /// Where to connect.
    pub connect: ConnectOptions,
    /// Destroy this stack instead of the stage's (see `DeployOptions::stack_name_override`).
    pub stack_name_override: Option<String>,
}

/// What `destroy` did.
#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    /// Stack name.
    pub stack: String,
    /// `deleted` or `absent`.
    pub result: String,
    /// Objects (versions and delete markers) removed from the code bucket.
    pub objects_deleted: usize,
    /// Multipart uploads aborted.
    pub uploads_aborted: usize,
    /// Whether the asset bucket was removed.
    pub asset_bucket_deleted: bool,
}

/// The outcome of `destroy`.
#[derive(Debug, Clone)]
pub enum DestroyOutcome {
    /// Done.
    Done(DestroyReport),
    /// Not confirmed.
    NeedsApproval(String),
}

/// Removes every object version, delete marker and multipart upload from a bucket.
/// Returns (objects deleted, uploads aborted). A missing bucket is empty.
pub async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<(usize, usize)> {
    if !assets::bucket_exists(s3, bucket).await? {
        return Ok((0, 0));
    }
    let mut deleted = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .with_context(|| format!("failed to list object versions in {bucket}"))?;
        let ids: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .filter_map(|v| {
                ObjectIdentifier::builder()
                    .key(v.key()?)
                    .set_version_id(v.version_id().map(str::to_owned))
                    .build()
                    .ok()
            })
            .chain(page.delete_markers().iter().filter_map(|m| {
                ObjectIdentifier::builder()
                    .key(m.key()?)
                    .set_version_id(m.version_id().map(str::to_owned))
                    .build()
                    .ok()
            }))
            .collect();
        // DeleteObjects takes at most 1000 keys; a version listing page holds at most 1000 entries
        // of each kind, so chunk to stay within the limit.
        for chunk in ids.chunks(1000) {
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(chunk.to_vec()))
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("failed to delete objects in {bucket}"))?;
            if let Some(e) = out.errors().first() {
                anyhow::bail!(
                    "failed to delete {} in {bucket}: {}",
                    e.key().unwrap_or_default(),
                    e.message().unwrap_or_default()
                );
            }
            deleted += chunk.len();
        }
        if page.is_truncated() == Some(true) {
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        } else {
            break;
        }
    }
    let mut aborted = 0;
    loop {
        let uploads = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .with_context(|| format!("failed to list multipart uploads in {bucket}"))?;
        if uploads.uploads().is_empty() {
            break;
        }
        for u in uploads.uploads() {
            s3.abort_multipart_upload()
                .bucket(bucket)
                .key(u.key().unwrap_or_default())
                .upload_id(u.upload_id().unwrap_or_default())
                .send()
                .await
                .with_context(|| format!("failed to abort a multipart upload in {bucket}"))?;
            aborted += 1;
        }
    }
    Ok((deleted, aborted))
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
    if plan::classify(&status) != StackState::InProgress {
        return Ok(Some(stack));
    }
    // Whatever it ends in (complete, rolled back, failed), the stack is then deletable.
    cfn::await_running_operation(cfn_client, name, &status).await
}

/// Runs `destroy`.
pub async fn destroy(root: &Path, opts: &DestroyOptions) -> anyhow::Result<DestroyOutcome> {
    let mut cfg = codegen_infra::load_stage(root, &opts.stage)?;
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let clients = connect(&cfg, &opts.connect).await;
    // Nothing answering on an emulator's port means there is nothing to destroy there.
    if cfg.emulator.is_some()
        && let Some(endpoint) = &clients.endpoint
        && !local::is_listening(local::loopback_addr(endpoint)?)
    {
        return Ok(DestroyOutcome::Done(DestroyReport {
            stack: cfg.stack_name.clone(),
            result: "absent".into(),
            objects_deleted: 0,
            uploads_aborted: 0,
            asset_bucket_deleted: false,
        }));
    }
    let stack = cfn::describe_stack(&clients.cfn, &cfg.stack_name).await?;
    let what = if opts.all {
        "the stack, its data and the asset bucket"
    } else {
        "the stack and its data"
    };
    if !opts.yes && (stack.is_some() || opts.all) {
        if !std::io::stdin().is_terminal() {
            return Ok(DestroyOutcome::NeedsApproval(format!(
                "destroying {} deletes {what}; there is no terminal to ask on: re-run with --yes",
                cfg.stack_name
            )));
        }
        progress(format!("Destroy {} ({what})? [y/N]", cfg.stack_name));
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(DestroyOutcome::NeedsApproval("not confirmed".into()));
        }
    }
    let mut report = DestroyReport {
        stack: cfg.stack_name.clone(),
        result: "absent".into(),
        objects_deleted: 0,
        uploads_aborted: 0,
        asset_bucket_deleted: false,
    };
    let stack = match stack {
        Some(s) => settle(&clients.cfn, &cfg.stack_name, s).await?,
        None => None,
    };
    if let Some(stack) = stack {
        let outputs = cfn::outputs_of(&stack);
        if let Some(bucket) = outputs.get(out_names::BUCKET_NAME) {
            let (objects, uploads) = empty_bucket(&clients.s3, bucket).await?;
            progress(format!(
                "emptied {bucket}: {objects} object versions, {uploads} multipart uploads"
            ));
            report.objects_deleted = objects;
            report.uploads_aborted = uploads;
        }
        progress(format!("deleting stack {}", cfg.stack_name));
        if let Err(first) = cfn::delete_stack(&clients.cfn, &cfg.stack_name).await {
            // A write that landed between emptying and deleting makes the bucket non-empty again.
            progress(format!(
                "delete did not complete ({first:#}); emptying the bucket again and retrying"
            ));
            if let Some(bucket) = outputs.get(out_names::BUCKET_NAME) {
                empty_bucket(&clients.s3, bucket).await?;
            }
            cfn::delete_stack(&clients.cfn, &cfg.stack_name).await?;
        }
        report.result = "deleted".into();
    } else {
        progress(format!(
            "stack {} does not exist: nothing to destroy",
            cfg.stack_name
        ));
    }
    let (account, _) = caller_identity(&clients).await?;
    let asset_bucket = assets::bucket_name(&account, &clients.region);
    if opts.all {
        empty_bucket(&clients.s3, &asset_bucket).await?;
        if assets::bucket_exists(&clients.s3, &asset_bucket).await? {
            clients
                .s3
                .delete_bucket()
                .bucket(&asset_bucket)
                .send()
                .await
                .with_context(|| format!("failed to delete asset bucket {asset_bucket}"))?;
            report.asset_bucket_deleted = true;
            progress(format!("deleted asset bucket {asset_bucket}"));
        }
    } else if report.result == "deleted" {
        // The deploy record describes a stack that no longer exists.
        let _ = clients
            .s3
            .delete_object()
            .bucket(&asset_bucket)
            .key(format!("deployments/{}.json", cfg.stack_name))
            .send()
            .await;
    }
    Ok(DestroyOutcome::Done(report))
}
