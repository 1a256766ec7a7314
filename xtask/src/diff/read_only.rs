//! The read-only diff: the synthesised template against the deployed one (`GetTemplate`,
//! `Original`), the parameters and tags a deploy would send against the stack's
//! (`DescribeStacks`), and the function code by its package hash when one is known. Creates,
//! builds and uploads nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use codegen_infra::StageConfig;
use codegen_infra::stack::{PARAM_ARCHITECTURE, PARAM_CODE_BUCKET, PARAM_CODE_KEY};
use serde_json::Value;

use super::{CodeComparison, Diff, DiffReport};
use crate::aws::connect;
use crate::cfn;
use crate::deploy::DeployOptions;
use crate::package::{self, Package};
use crate::plan::{self, ChangeSummary, StackState};

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

#[cfg(test)]
mod tests {
    use super::*;

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
                include_str!("../../../infra/stages/dev.yaml"),
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
