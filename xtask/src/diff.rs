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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use clap::Args;
use codegen_infra::StageConfig;
use codegen_infra::stack::{PARAM_ARCHITECTURE, PARAM_CODE_BUCKET, PARAM_CODE_KEY};
use serde::Serialize;
use serde_json::Value;

use crate::aws::connect;
use crate::cfn;
use crate::deploy::{DeployOptions, plan_changes, prepare};
use crate::package::{self, Package};
use crate::plan::{self, ChangeSummary, StackState};
use crate::report::{Exit, json, progress, result};

/// What `diff` found (the `--json` document).
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Stack name.
    pub stack: String,
    /// Whether a deploy would change anything.
    pub has_changes: bool,
    /// Whether the deploy would create the stack.
    pub creates_stack: bool,
    /// Why a deploy would need approval, if it would.
    pub needs_approval: Option<String>,
    /// The changes.
    pub changes: ChangeSummary,
}

/// What was found about the function code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeComparison {
    /// The deployed functions run this package (same content-hash key).
    Unchanged,
    /// A deploy would switch the functions to another package.
    Changed {
        /// The deployed package's key.
        deployed: String,
        /// This package's key.
        new: String,
    },
    /// The stack does not exist yet: a deploy creates the functions with this package.
    New(String),
    /// Not compared, and why.
    NotCompared(String),
    /// Compared by CloudFormation (`--change-set`): the package was built and uploaded.
    ByChangeSet(String),
}

impl std::fmt::Display for CodeComparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unchanged => write!(f, "function code: unchanged (same package hash)"),
            Self::Changed { deployed, new } => {
                write!(f, "function code: changed ({deployed} -> {new})")
            }
            Self::New(key) => write!(f, "function code: new ({key})"),
            Self::NotCompared(why) => write!(f, "function code: not compared ({why})"),
            Self::ByChangeSet(key) => {
                write!(f, "function code: compared by CloudFormation ({key})")
            }
        }
    }
}

/// Everything `diff` found: the report (`--json`) and what only the human-readable form shows.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The report.
    pub report: DiffReport,
    /// Whether this came from the read-only comparison (`false`: a CloudFormation change set).
    pub(crate) read_only: bool,
    /// IAM permissions the change takes away (Allows removed, Denies added).
    pub(crate) iam_removed: Vec<String>,
    /// Stack parameters, stack tags and template sections other than `Resources` that change.
    pub(crate) settings: Vec<String>,
    /// The function code.
    pub code: CodeComparison,
    /// What else a reader should know (the stack's state, what the comparison cannot tell).
    pub(crate) notes: Vec<String>,
}

impl Diff {
    /// The human-readable result, CDK-style: one headline, then `[+]/[-]/[~]` lines, IAM grants
    /// added and removed, parameter and tag changes, the code, and why approval is needed.
    pub fn lines(&self) -> Vec<String> {
        let r = &self.report;
        let how = if self.read_only {
            "compared with the deployed template, read-only"
        } else {
            "CloudFormation change set"
        };
        let mut out = vec![if !r.has_changes {
            format!("{}: no changes ({how})", r.stack)
        } else if r.creates_stack {
            format!(
                "{}: creates the stack, {} resource(s) ({how})",
                r.stack,
                r.changes.changes.len()
            )
        } else {
            format!("{}: {} change(s) ({how})", r.stack, r.changes.changes.len())
        }];
        out.extend(r.changes.lines().into_iter().map(|l| format!("  {l}")));
        if !self.iam_removed.is_empty() {
            out.push("  IAM permissions removed:".to_owned());
            out.extend(
                plan::grant_table('-', &self.iam_removed)
                    .into_iter()
                    .map(|l| format!("    {l}")),
            );
        }
        out.extend(self.settings.iter().map(|l| format!("  {l}")));
        out.push(format!("  {}", self.code));
        out.extend(self.notes.iter().map(|l| format!("  note: {l}")));
        if let Some(reason) = &r.needs_approval {
            out.push(format!("  deploying needs approval: {reason}"));
        }
        out
    }
}

/// Runs the read-only `diff` and returns its report (see [`read_only`]).
pub async fn diff(root: &Path, opts: &DeployOptions) -> anyhow::Result<DiffReport> {
    Ok(read_only(root, opts).await?.report)
}

/// The read-only `diff`: reads the stage (or `opts.stage_config`), connects, and [`compare`]s
/// with the package given as `opts.package` or an up-to-date build. Builds nothing.
pub async fn read_only(root: &Path, opts: &DeployOptions) -> anyhow::Result<Diff> {
    let mut cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let clients = connect(&cfg, &opts.connect).await;
    let arch = opts.architecture.unwrap_or(cfg.function.architecture);
    let package = match &opts.package {
        Some(path) => Ok(Package::from_zip(path, arch)?),
        None => built_package(
            root,
            arch,
            opts.build_label.as_deref(),
            package::BuildProfile::for_stage(&cfg, opts.build_profile),
        )?,
    };
    // The bootstrap's outputs name the asset bucket the deployed parameters should point at
    // (DescribeStacks on the bootstrap stack: the diff role may read it).
    let asset_bucket = match crate::bootstrap::read(&clients, &cfg).await? {
        Some(b) => b.asset_bucket,
        None => "(not bootstrapped)".to_owned(),
    };
    compare(&cfg, &clients.cfn, &asset_bucket, package).await
}

/// The zip of an up-to-date build for `arch`, as [`package::build`] would reuse it without
/// running cargo-lambda (its recorded input fingerprint equals the current one), or why there is
/// none. Never builds.
///
/// The stamp and zip file names are those `package::build` writes next to the binary.
fn built_package(
    root: &Path,
    arch: codegen_infra::config::Architecture,
    label: Option<&str>,
    profile: package::BuildProfile,
) -> anyhow::Result<Result<Package, String>> {
    let binary = package::bootstrap_path_for(root, arch, profile);
    let Some(dir) = binary.parent() else {
        return Ok(Err("no build directory".to_owned()));
    };
    let stamp = std::fs::read_to_string(dir.join("bootstrap.inputs-sha256")).unwrap_or_default();
    let zip = dir.join("bootstrap.zip");
    if !binary.is_file() || !zip.is_file() || stamp.trim().is_empty() {
        return Ok(Err(format!(
            "no build for {}: give --package ZIP, or deploy first; diff never builds",
            arch.as_str()
        )));
    }
    if stamp.trim() != package::source_fingerprint_for(root, arch, label, profile)? {
        return Ok(Err(format!(
            "the last build for {} is older than the sources: give --package ZIP, or build; diff never builds",
            arch.as_str()
        )));
    }
    Ok(Ok(Package::from_zip(&zip, arch)?))
}

/// What the stack looks like to a deploy, read with `DescribeStacks` and `GetTemplate` only.
struct Deployed {
    /// The deployed template (`None`: a deploy creates the stack).
    template: Option<Value>,
    /// Its parameters.
    parameters: BTreeMap<String, String>,
    /// Its tags.
    tags: BTreeMap<String, String>,
    /// What the stack's state means for a deploy.
    notes: Vec<String>,
}

async fn read_deployed(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> anyhow::Result<Deployed> {
    let mut deployed = Deployed {
        template: None,
        parameters: BTreeMap::new(),
        tags: BTreeMap::new(),
        notes: Vec::new(),
    };
    let Some(stack) = cfn::describe_stack(cfn, stack_name).await? else {
        return Ok(deployed);
    };
    let status = cfn::status_of(&stack).to_owned();
    match plan::classify(&cfn::stack_status(&stack)) {
        StackState::Missing => return Ok(deployed),
        StackState::ReviewInProgress => {
            deployed.notes.push(format!(
                "the stack is {status} (created by a change set that never ran): a deploy creates it"
            ));
            return Ok(deployed);
        }
        StackState::RollbackComplete => {
            deployed.notes.push(format!(
                "the stack is {status} (its first deploy failed): a deploy deletes it and creates it again"
            ));
            return Ok(deployed);
        }
        StackState::Stable => {}
        StackState::InProgress => deployed.notes.push(format!(
            "the stack is {status}: a deploy first waits for that operation, which may change what it finds"
        )),
        StackState::UpdateRollbackFailed => deployed.notes.push(format!(
            "the stack is {status}: a deploy first continues the rollback"
        )),
        StackState::Failed => deployed.notes.push(format!(
            "the stack is {status}: a deploy refuses it until it is fixed or destroyed"
        )),
    }
    deployed.parameters = cfn::parameters_of(&stack);
    deployed.tags = cfn::tags_of(&stack);
    let template = cfn::current_template(cfn, stack_name)
        .await?
        .with_context(|| {
            format!(
                "the deployed template of {stack_name} is not JSON (it was not deployed by this tool): use `diff --change-set`"
            )
        })?;
    deployed.template = Some(template);
    Ok(deployed)
}

/// Tags the deployer writes itself (`codegen:fingerprint`); a stage file never sets them.
fn is_deployer_tag(key: &str) -> bool {
    key.starts_with("codegen:")
}

/// Compares the stage's synthesised template and the parameters a deploy would send with the
/// deployed stack, through `cfn`, calling only `DescribeStacks` and `GetTemplate`.
/// `asset_bucket`: the bucket a deploy would name in `CodeS3Bucket`; `package`: the package to
/// compare by hash, or why there is none.
pub async fn compare(
    cfg: &StageConfig,
    cfn: &aws_sdk_cloudformation::Client,
    asset_bucket: &str,
    package: Result<Package, String>,
) -> anyhow::Result<Diff> {
    let stack_name = &cfg.stack_name;
    let deployed = read_deployed(cfn, stack_name).await?;
    let creates = deployed.template.is_none();
    let new = serde_json::to_value(codegen_infra::stack(cfg))
        .context("failed to serialise the template")?;

    // The parameters a deploy would send, as far as they are known without building or reading
    // the asset bucket. The others (e.g. an object version the deploy learns from S3) follow the
    // package key: same key, same bytes.
    let mut expected = vec![(PARAM_CODE_BUCKET.to_owned(), asset_bucket.to_owned())];
    let code_key = package.as_ref().ok().map(|p| p.asset_key(stack_name));
    if let (Ok(p), Some(key)) = (&package, &code_key) {
        expected.push((
            PARAM_ARCHITECTURE.to_owned(),
            p.architecture.as_str().to_owned(),
        ));
        expected.push((PARAM_CODE_KEY.to_owned(), key.clone()));
    }
    let mut settings = Vec::new();
    let mut changed_parameters = Vec::new();
    if !creates {
        for (key, value) in &expected {
            let was = deployed.parameters.get(key);
            if was != Some(value) {
                // The package key has its own line (`function code: changed ...`).
                if key != PARAM_CODE_KEY {
                    settings.push(format!(
                        "parameter {key}: {} -> {value}",
                        was.map_or("(unset)", String::as_str)
                    ));
                }
                changed_parameters.push(key.clone());
            }
        }
        let keys: BTreeSet<&String> = cfg
            .tags
            .keys()
            .chain(deployed.tags.keys().filter(|k| !is_deployer_tag(k)))
            .collect();
        for key in keys {
            let (was, now) = (deployed.tags.get(key), cfg.tags.get(key));
            if was != now {
                settings.push(format!(
                    "stack tag {key}: {} -> {}",
                    was.map_or("(unset)", String::as_str),
                    now.map_or("(unset)", String::as_str)
                ));
            }
        }
        if let (Some(old), Some(new)) = (&deployed.template, new.as_object()) {
            let sections: BTreeSet<&String> = new
                .keys()
                .chain(old.as_object().into_iter().flat_map(|o| o.keys()))
                .filter(|k| k.as_str() != "Resources")
                .collect();
            for section in sections {
                if old.get(section) != new.get(section) {
                    settings.push(format!("template section {section} changed"));
                }
            }
        }
    }

    let old = deployed.template.as_ref();
    let summary = ChangeSummary {
        changes: plan::template_changes(old, &new, &changed_parameters),
        iam_widening: plan::widened(old, &new)
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let iam_removed = plan::narrowed(old, &new)
        .iter()
        .map(ToString::to_string)
        .collect();
    let needs_approval = summary.approval_reason_with(&plan::approval_triggers(old, &new));
    let code = match (&package, code_key) {
        (Err(why), _) => CodeComparison::NotCompared(why.clone()),
        (Ok(_), Some(key)) if creates => CodeComparison::New(key),
        (Ok(_), Some(key)) => match deployed.parameters.get(PARAM_CODE_KEY) {
            Some(was) if *was == key => CodeComparison::Unchanged,
            was => CodeComparison::Changed {
                deployed: was.cloned().unwrap_or_else(|| "(unset)".to_owned()),
                new: key,
            },
        },
        (Ok(_), None) => CodeComparison::NotCompared("no package key".to_owned()),
    };
    let mut notes = deployed.notes;
    if summary
        .changes
        .iter()
        .any(|c| c.action == plan::ChangeAction::Modify)
    {
        notes.push(
            "a read-only comparison cannot tell which modifications replace a resource; `diff --change-set` asks CloudFormation"
                .to_owned(),
        );
    }
    let has_changes = creates
        || !summary.changes.is_empty()
        || !settings.is_empty()
        || !changed_parameters.is_empty();
    Ok(Diff {
        report: DiffReport {
            stack: stack_name.clone(),
            has_changes,
            creates_stack: creates,
            needs_approval: needs_approval.filter(|_| has_changes),
            changes: summary,
        },
        read_only: true,
        iam_removed,
        settings,
        code,
        notes,
    })
}

/// `diff --change-set`: the deploy's own path up to the change set (build, upload, recover the
/// stack, create the change set), then deletes the change set (or, for a new stack, the empty
/// stack it created). Needs the deployer's permissions; never executes anything.
pub(crate) async fn with_change_set(root: &Path, opts: &DeployOptions) -> anyhow::Result<Diff> {
    let p = prepare(root, opts).await?;
    let stack_name = &p.cfg.stack_name;
    let (change_set, changes, create) = plan_changes(&p).await?;
    let mut triggers = Vec::new();
    let mut iam_removed = Vec::new();
    if change_set.is_some() {
        // Read before deleting anything: a CREATE change set's stack goes with it.
        let old = if create {
            None
        } else {
            cfn::current_template(&p.clients.cfn, stack_name).await?
        };
        let new: Value =
            serde_json::from_str(&p.template_body).context("failed to read the template")?;
        triggers = plan::approval_triggers(old.as_ref(), &new);
        iam_removed = plan::narrowed(old.as_ref(), &new)
            .iter()
            .map(ToString::to_string)
            .collect();
    }
    if let Some(name) = &change_set {
        if create {
            // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it whole.
            cfn::delete_stack(&p.clients.cfn, stack_name, Some(&p.execution_role_arn)).await?;
        } else {
            cfn::delete_change_set(&p.clients.cfn, stack_name, name).await?;
        }
    }
    let has_changes = change_set.is_some();
    progress(format!(
        "diff --change-set: the change set was deleted; {stack_name} is unchanged"
    ));
    Ok(Diff {
        report: DiffReport {
            stack: stack_name.clone(),
            has_changes,
            creates_stack: create && has_changes,
            needs_approval: if has_changes {
                changes.approval_reason_with(&triggers)
            } else {
                None
            },
            changes,
        },
        read_only: false,
        iam_removed,
        settings: Vec::new(),
        code: CodeComparison::ByChangeSet(p.package.asset_key(stack_name)),
        notes: Vec::new(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(has_changes: bool, creates_stack: bool) -> DiffReport {
        DiffReport {
            stack: "codegen-dev".into(),
            has_changes,
            creates_stack,
            needs_approval: None,
            changes: ChangeSummary::default(),
        }
    }

    #[test]
    fn lines_say_how_the_diff_was_made_and_what_was_not_compared() {
        let d = Diff {
            report: report(false, false),
            read_only: true,
            iam_removed: vec![],
            settings: vec![],
            code: CodeComparison::NotCompared("no build for arm64".into()),
            notes: vec![],
        };
        assert_eq!(
            d.lines(),
            vec![
                "codegen-dev: no changes (compared with the deployed template, read-only)",
                "  function code: not compared (no build for arm64)",
            ]
        );
    }

    #[test]
    fn lines_list_removed_grants_settings_and_the_approval_reason() {
        let mut r = report(true, false);
        r.needs_approval = Some("role FunctionRole: trust policy changed".into());
        r.changes.changes.push(plan::ResourceChange {
            action: plan::ChangeAction::Modify,
            logical_id: "FunctionRole".into(),
            resource_type: "AWS::IAM::Role".into(),
            replacement: None,
        });
        let d = Diff {
            report: r,
            read_only: true,
            iam_removed: vec!["FunctionRole Allow s3:GetObject on \"arn\"".into()],
            settings: vec!["parameter CodeS3Key: a.zip -> b.zip".into()],
            code: CodeComparison::Changed {
                deployed: "a.zip".into(),
                new: "b.zip".into(),
            },
            notes: vec![],
        };
        assert_eq!(
            d.lines(),
            vec![
                "codegen-dev: 1 change(s) (compared with the deployed template, read-only)",
                "  [~] AWS::IAM::Role FunctionRole",
                "  IAM permissions removed:",
                "      Holder        Effect  Action        Resource",
                "    - FunctionRole  Allow   s3:GetObject  \"arn\"",
                "  parameter CodeS3Key: a.zip -> b.zip",
                "  function code: changed (a.zip -> b.zip)",
                "  deploying needs approval: role FunctionRole: trust policy changed",
            ]
        );
    }

    mod against_mocks {
        use super::*;
        use aws_sdk_cloudformation::Client;
        use aws_sdk_cloudformation::operation::describe_stacks::{
            DescribeStacksError, DescribeStacksOutput,
        };
        use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
        use aws_sdk_cloudformation::types::{Parameter, Stack, StackStatus, Tag, TemplateStage};
        use aws_smithy_mocks::{mock, mock_client};
        use aws_smithy_types::error::ErrorMetadata;
        use serde_json::json;

        const BUCKET: &str = "codegen-assets-123456789012-us-east-1";

        fn dev() -> StageConfig {
            codegen_infra::config::parse_stage(
                "dev",
                "dev.yaml",
                include_str!("../../infra/stages/dev.yaml"),
            )
            .expect("dev parses")
        }

        fn deployed_stack(cfg: &StageConfig) -> Stack {
            let mut stack = Stack::builder()
                .stack_name(&cfg.stack_name)
                .stack_status(StackStatus::UpdateComplete)
                .parameters(
                    Parameter::builder()
                        .parameter_key(PARAM_CODE_BUCKET)
                        .parameter_value(BUCKET)
                        .build(),
                )
                .tags(
                    Tag::builder()
                        .key(plan::FINGERPRINT_TAG)
                        .value("abc")
                        .build(),
                );
            for (k, v) in &cfg.tags {
                stack = stack.tags(Tag::builder().key(k).value(v).build());
            }
            stack.build()
        }

        #[tokio::test]
        async fn compare_reads_the_stack_and_its_original_template_and_nothing_else() {
            let cfg = dev();
            // Deployed: the stage's template with one more resource and another trust policy.
            let mut deployed = codegen_infra::stack(&cfg).to_json_value();
            deployed["Resources"]["Extra"] = json!({"Type": "AWS::SQS::Queue"});
            deployed["Resources"]["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                [0]["Principal"] = json!({"Service": "edgelambda.amazonaws.com"});
            let body = deployed.to_string();
            let stack = deployed_stack(&cfg);
            let describe = mock!(Client::describe_stacks).then_output(move || {
                DescribeStacksOutput::builder()
                    .stacks(stack.clone())
                    .build()
            });
            let template = mock!(Client::get_template)
                .match_requests(|r| r.template_stage() == Some(&TemplateStage::Original))
                .then_output(move || GetTemplateOutput::builder().template_body(&body).build());
            // Sequential rules: any other call, or these in another order, fails the test.
            let cfn = mock_client!(aws_sdk_cloudformation, [&describe, &template]);

            let d = compare(&cfg, &cfn, BUCKET, Err("no package".into()))
                .await
                .expect("compared");
            assert_eq!((describe.num_calls(), template.num_calls()), (1, 1));
            assert!(d.read_only && d.report.has_changes && !d.report.creates_stack);
            let changes: Vec<(&str, &str)> = d
                .report
                .changes
                .changes
                .iter()
                .map(|c| (c.action.as_str(), c.logical_id.as_str()))
                .collect();
            assert_eq!(changes, [("Remove", "Extra"), ("Modify", "FunctionRole")]);
            let reason = d.report.needs_approval.clone().unwrap_or_default();
            assert!(
                reason.contains("it removes Extra (AWS::SQS::Queue)")
                    && reason.contains("role FunctionRole: trust policy changed"),
                "{reason}"
            );
            assert!(d.settings.is_empty(), "{:?}", d.settings);
            assert_eq!(d.code, CodeComparison::NotCompared("no package".into()));
        }

        #[tokio::test]
        async fn a_missing_stack_is_a_create_without_reading_a_template() {
            let cfg = dev();
            let describe = mock!(Client::describe_stacks).then_error(|| {
                DescribeStacksError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationError")
                        .message("Stack with id codegen-dev does not exist")
                        .build(),
                )
            });
            let cfn = mock_client!(aws_sdk_cloudformation, [&describe]);
            let d = compare(&cfg, &cfn, BUCKET, Err("no package".into()))
                .await
                .expect("compared");
            assert!(d.report.creates_stack && d.report.has_changes);
            assert!(
                d.report
                    .changes
                    .changes
                    .iter()
                    .all(|c| c.action == plan::ChangeAction::Add)
            );
            assert!(
                d.report
                    .needs_approval
                    .is_some_and(|r| r.contains("it widens IAM permissions"))
            );
        }

        #[tokio::test]
        async fn parameters_and_stack_tags_that_differ_are_listed() {
            let mut cfg = dev();
            cfg.tags.insert("owner".into(), "team-a".into());
            let template = codegen_infra::stack(&cfg).to_json_value().to_string();
            let mut stack = deployed_stack(&dev());
            stack.parameters = Some(vec![
                Parameter::builder()
                    .parameter_key(PARAM_CODE_BUCKET)
                    .parameter_value("codegen-assets-999999999999-us-east-1")
                    .build(),
            ]);
            let describe = mock!(Client::describe_stacks).then_output(move || {
                DescribeStacksOutput::builder()
                    .stacks(stack.clone())
                    .build()
            });
            let get = mock!(Client::get_template).then_output(move || {
                GetTemplateOutput::builder()
                    .template_body(&template)
                    .build()
            });
            let cfn = mock_client!(aws_sdk_cloudformation, [&describe, &get]);
            let d = compare(&cfg, &cfn, BUCKET, Err("no package".into()))
                .await
                .expect("compared");
            assert_eq!(
                d.settings,
                [
                    format!(
                        "parameter {PARAM_CODE_BUCKET}: codegen-assets-999999999999-us-east-1 -> {BUCKET}"
                    ),
                    "stack tag owner: (unset) -> team-a".to_owned(),
                ]
            );
            assert!(d.report.has_changes);
        }
    }

    #[test]
    fn deployer_tags_are_not_stage_tags() {
        assert!(is_deployer_tag(plan::FINGERPRINT_TAG));
        assert!(!is_deployer_tag("project"));
    }
}
