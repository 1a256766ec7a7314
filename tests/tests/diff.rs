//! Deploy trust against ministack: what needs approval, and a `diff` that only reads.
//!
//! - A deploy that opens a route (`AWS_IAM` -> `NONE`), changes a role's trust policy or removes a
//!   resource asks for approval when there is no `--yes`: refused, or with nobody to ask (no
//!   terminal: the CLI's exit code 4), it stops with `NeedsApproval`, names the reason and changes
//!   nothing; approved, it goes ahead. The read-only `diff` names the same reason. The
//!   trust-policy and removal cases start from a stack changed out of band (as another pipeline or
//!   the console would), since the stage file cannot express them.
//! - `diff` runs with credentials that may only call `cloudformation:DescribeStacks`,
//!   `cloudformation:GetTemplate` and `sts:GetCallerIdentity` (ministack with `AUTH=true`), finds
//!   what changed, and leaves the stacks, change sets, buckets and objects exactly as they were.
//!
//! The answers are injected (`xtask::approver::ScriptedApprover`), never read from the terminal,
//! so the approve and the refuse paths are checked the same whether the suite runs from a
//! terminal or not.

use std::path::Path;

use anyhow::Context;
use codegen_infra::StageConfig;
use codegen_infra::config::Architecture;
use codegen_infra::stack::outputs as out;
use e2e_tests::{Emulator, default_package, local_stage_with, note, variant_package};
use serde_json::{Value, json};
use xtask::approver::{Answer, ScriptedApprover};
use xtask::aws::{Clients, ConnectOptions};
use xtask::cfn::{ChangeSetOutcome, ChangeSetRequest};
use xtask::deploy::{DeployOptions, DeployOutcome};
use xtask::diff::CodeComparison;
use xtask::package::Package;

const STACK: &str = "codegen-local";

/// Deploys the `local` stage (or `stage`) with `package`, without `--yes`, asking CloudFormation
/// even when the fingerprint matches (an out-of-band change keeps the stack's fingerprint tag).
/// The one approval question is answered `answer`; returns the outcome and that question.
async fn deploy(
    em: &Emulator,
    package: &Path,
    stage: Option<StageConfig>,
    answer: Answer,
) -> anyhow::Result<(DeployOutcome, String)> {
    let approver = ScriptedApprover::new([answer]);
    let outcome = xtask::deploy::deploy_approved_by(
        &e2e_tests::root(),
        &DeployOptions {
            stage: "local".into(),
            yes: false,
            force: true,
            package: Some(package.to_path_buf()),
            stage_config: stage,
            connect: em.connect_options(),
            ..DeployOptions::default()
        },
        &approver,
    )
    .await?;
    let asked = approver.asked();
    let [question] = asked.as_slice() else {
        anyhow::bail!("the deploy should ask for approval once, asked {asked:?}");
    };
    Ok((outcome, question.clone()))
}

/// The reason a deploy stops for when its approval question is answered `answer` (refused, or
/// nobody to ask); fails if it went ahead or did not ask.
async fn stopped_reason(
    em: &Emulator,
    package: &Path,
    stage: Option<StageConfig>,
    answer: Answer,
) -> anyhow::Result<String> {
    match deploy(em, package, stage, answer).await? {
        (DeployOutcome::NeedsApproval { reason, .. }, _) => Ok(reason),
        (DeployOutcome::Done(report), _) => anyhow::bail!(
            "the deploy went ahead without approval ({answer:?}): {} ({:?})",
            report.result,
            report.changes
        ),
    }
}

/// The reason a refused deploy stops for (and checks that the question named it).
async fn approval_reason(
    em: &Emulator,
    package: &Path,
    stage: Option<StageConfig>,
) -> anyhow::Result<String> {
    let reason = stopped_reason(em, package, stage, Answer::Refused).await?;
    let cause = reason
        .strip_prefix("not approved (")
        .and_then(|r| r.strip_suffix(')'))
        .with_context(|| format!("a refusal's reason: {reason}"))?;
    Ok(cause.to_owned())
}

/// Deploys with the approval given; fails unless it asked and went ahead.
async fn approved(em: &Emulator, package: &Path, stage: Option<StageConfig>) -> anyhow::Result<()> {
    match deploy(em, package, stage, Answer::Approved).await? {
        (DeployOutcome::Done(_), question) => {
            anyhow::ensure!(question.contains("needs approval because"), "{question}");
            Ok(())
        }
        (DeployOutcome::NeedsApproval { reason, .. }, _) => {
            anyhow::bail!("an approved deploy stopped: {reason}")
        }
    }
}

/// The read-only diff's approval reason for the `local` stage (or `stage`) with `package`.
async fn diff_reason(
    em: &Emulator,
    package: &Path,
    stage: Option<StageConfig>,
) -> anyhow::Result<Option<String>> {
    let report = xtask::diff::diff(
        &e2e_tests::root(),
        &DeployOptions {
            stage: "local".into(),
            package: Some(package.to_path_buf()),
            stage_config: stage,
            connect: em.connect_options(),
            ..DeployOptions::default()
        },
    )
    .await?;
    Ok(report.needs_approval)
}

/// Changes the deployed stack out of band: its own template edited by `edit`, with its own
/// parameters and tags, through a change set.
async fn update_out_of_band(admin: &Clients, edit: impl FnOnce(&mut Value)) -> anyhow::Result<()> {
    let mut template = xtask::cfn::current_template(&admin.cfn, STACK)
        .await?
        .context("the deployed template is JSON")?;
    edit(&mut template);
    let stack = xtask::cfn::describe_stack(&admin.cfn, STACK)
        .await?
        .context("the stack exists")?;
    let parameters: Vec<(String, String)> = xtask::cfn::parameters_of(&stack).into_iter().collect();
    let tags = xtask::cfn::tags_of(&stack);
    let body = template.to_string();
    let request = ChangeSetRequest {
        stack: STACK,
        template_body: &body,
        parameters: &parameters,
        tags: &tags,
        create: false,
        role_arn: None,
        capability: aws_sdk_cloudformation::types::Capability::CapabilityIam,
    };
    match xtask::cfn::create_change_set(&admin.cfn, &request).await? {
        ChangeSetOutcome::Ready { name, .. } => {
            xtask::cfn::execute_change_set(&admin.cfn, STACK, &name).await?;
            Ok(())
        }
        ChangeSetOutcome::NoChanges => anyhow::bail!("the out-of-band edit changed nothing"),
    }
}

async fn deployed_template(admin: &Clients) -> anyhow::Result<Value> {
    xtask::cfn::current_template(&admin.cfn, STACK)
        .await?
        .context("the deployed template is JSON")
}

fn resources(template: &mut Value) -> anyhow::Result<&mut serde_json::Map<String, Value>> {
    template
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .context("the template has resources")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_asks_before_opening_a_route_changing_trust_or_removing_a_resource()
-> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let api_id = deployed.outputs[out::API_ID].clone();

    // 1. A removed resource: the stack gained one out of band; the stage file does not have it.
    update_out_of_band(&admin, |t| {
        if let Ok(r) = resources(t) {
            r.insert(
                "ExtraLogGroup".into(),
                json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 1}}),
            );
        }
    })
    .await?;
    let expected = "it removes ExtraLogGroup (AWS::Logs::LogGroup)";
    let reason = approval_reason(&em, &package, None).await?;
    assert!(reason.contains(expected), "{reason}");
    let diff = diff_reason(&em, &package, None).await?.unwrap_or_default();
    assert!(diff.contains(expected), "diff: {diff}");
    assert!(
        resources(&mut deployed_template(&admin).await?)?.contains_key("ExtraLogGroup"),
        "nothing was removed without approval"
    );
    // Approved, it goes.
    approved(&em, &package, None).await?;
    assert!(!resources(&mut deployed_template(&admin).await?)?.contains_key("ExtraLogGroup"));

    // 2. A changed trust policy: someone let another principal assume the function's role.
    let extra_principal = json!({
        "Effect": "Allow",
        "Principal": {"Service": "edgelambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    });
    update_out_of_band(&admin, |t| {
        if let Some(statements) = t
            .pointer_mut("/Resources/FunctionRole/Properties/AssumeRolePolicyDocument/Statement")
            .and_then(Value::as_array_mut)
        {
            statements.push(extra_principal.clone());
        }
    })
    .await?;
    let expected = "role FunctionRole: trust policy changed";
    let reason = approval_reason(&em, &package, None).await?;
    assert!(reason.contains(expected), "{reason}");
    let diff = diff_reason(&em, &package, None).await?.unwrap_or_default();
    assert!(diff.contains(expected), "diff: {diff}");
    let trust = deployed_template(&admin).await?
        ["Resources"]["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        .clone();
    assert!(
        trust
            .as_array()
            .is_some_and(|s| s.contains(&extra_principal)),
        "the trust policy was not changed without approval: {trust}"
    );
    approved(&em, &package, None).await?;

    // 3. A route opened: the stage file says `auth: none` (an emulator stage needs no
    // acknowledgement; the approval is still asked).
    let open = local_stage_with(|t| t.replace("auth: aws_iam", "auth: none"))?;
    let reason = approval_reason(&em, &package, Some(open.clone())).await?;
    // With nobody to ask (the CLI without a terminal), it stops too and says how to approve.
    let unasked = stopped_reason(&em, &package, Some(open.clone()), Answer::CannotAsk).await?;
    assert!(
        unasked.contains("no terminal") && unasked.contains("--yes") && unasked.contains(&reason),
        "{unasked}"
    );
    for route in [
        "PUT /code-generation",
        "POST /code-generation/jobs",
        "GET /code-generation/jobs/{job_id}",
    ] {
        let expected = format!("route {route}: authorization AWS_IAM -> NONE");
        assert!(reason.contains(&expected), "{reason}");
    }
    let diff = diff_reason(&em, &package, Some(open))
        .await?
        .unwrap_or_default();
    assert!(
        diff.contains("route PUT /code-generation: authorization AWS_IAM -> NONE"),
        "diff: {diff}"
    );
    let routes = admin.apigw.get_routes().api_id(&api_id).send().await?;
    assert_eq!(routes.items().len(), 3);
    for r in routes.items() {
        assert_eq!(
            r.authorization_type().map(|a| a.as_str()),
            Some("AWS_IAM"),
            "route {:?} was not opened without approval",
            r.route_key()
        );
    }
    Ok(())
}

/// What a `diff` must not change: stacks (with status and last change), their change sets,
/// buckets, and every object version and delete marker in them.
async fn listing(admin: &Clients) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let stacks = admin.cfn.list_stacks().send().await?;
    for s in stacks.stack_summaries() {
        let name = s.stack_name().unwrap_or_default().to_owned();
        let status = s.stack_status().map(|x| x.as_str()).unwrap_or_default();
        out.push(format!(
            "stack {name} {status} created {:?} updated {:?}",
            s.creation_time(),
            s.last_updated_time()
        ));
        if status != "DELETE_COMPLETE" {
            let sets = admin
                .cfn
                .list_change_sets()
                .stack_name(&name)
                .send()
                .await?;
            for c in sets.summaries() {
                out.push(format!(
                    "change set {name} {} {:?}",
                    c.change_set_name().unwrap_or_default(),
                    c.status()
                ));
            }
        }
    }
    for b in admin.s3.list_buckets().send().await?.buckets() {
        let bucket = b.name().unwrap_or_default();
        out.push(format!("bucket {bucket}"));
        let versions = admin
            .s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await?;
        for v in versions.versions() {
            out.push(format!(
                "object {bucket}/{} {:?} {:?}",
                v.key().unwrap_or_default(),
                v.version_id(),
                v.e_tag()
            ));
        }
        for m in versions.delete_markers() {
            out.push(format!(
                "delete marker {bucket}/{} {:?}",
                m.key().unwrap_or_default(),
                m.version_id()
            ));
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_runs_with_the_diff_roles_credentials_and_changes_nothing() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    em.deploy(&package, false).await?;

    // The bootstrap's diff role, which pull requests get: it may only read the stack, its
    // template and the bootstrap's outputs. Everything below runs with a session of it.
    let cfg = codegen_infra::load_stage(&e2e_tests::root(), "local")?;
    let boot = xtask::bootstrap::read(&admin, &cfg)
        .await?
        .context("the deploy bootstrapped the stage")?;
    let as_diff_role = ConnectOptions {
        assume_role: Some(boot.diff_role_arn.clone()),
        ..em.connect_options()
    };
    let diff_clients = xtask::aws::try_connect(&cfg, &as_diff_role).await?;
    let reader_sdk = diff_clients.sdk.clone();
    let reader = diff_clients.cfn.clone();
    let asset_bucket = boot.asset_bucket.clone();
    let zip = |path: &Path| Package::from_zip(path, Architecture::X86_64);

    let before = listing(&admin).await?;

    // Nothing changed since the deploy.
    let same = xtask::diff::compare(&cfg, &reader, &asset_bucket, Ok(zip(&package)?)).await?;
    assert!(!same.report.has_changes, "{:?}", same.lines());
    assert_eq!(same.code, CodeComparison::Unchanged);
    assert_eq!(same.report.needs_approval, None);

    // Without a package the code is not compared, and says so.
    let blind =
        xtask::diff::compare(&cfg, &reader, &asset_bucket, Err("no package".into())).await?;
    assert!(!blind.report.has_changes);
    assert!(matches!(blind.code, CodeComparison::NotCompared(_)));
    assert!(
        blind
            .lines()
            .iter()
            .any(|l| l.contains("function code: not compared")),
        "{:?}",
        blind.lines()
    );

    // New code: every function changes, by its package key.
    let variant = variant_package("diff").await?;
    let code = xtask::diff::compare(&cfg, &reader, &asset_bucket, Ok(zip(&variant)?)).await?;
    assert!(code.report.has_changes);
    assert!(matches!(code.code, CodeComparison::Changed { .. }));
    assert!(
        code.report
            .changes
            .changes
            .iter()
            .any(|c| c.logical_id == "Function" && c.action == xtask::plan::ChangeAction::Modify),
        "{:?}",
        code.lines()
    );

    // Opened routes: found, with the approval a deploy would ask for.
    let open = local_stage_with(|t| t.replace("auth: aws_iam", "auth: none"))?;
    let opened = xtask::diff::compare(&open, &reader, &asset_bucket, Ok(zip(&package)?)).await?;
    assert!(opened.report.has_changes);
    let reason = opened.report.needs_approval.clone().unwrap_or_default();
    assert!(
        reason.contains("route PUT /code-generation: authorization AWS_IAM -> NONE"),
        "{reason}"
    );

    // The diff role reads its own stack only.
    let mut absent = cfg.clone();
    absent.stack_name = "codegen-local-absent".into();
    let other = xtask::diff::compare(&absent, &reader, &asset_bucket, Ok(zip(&package)?)).await;
    assert!(
        other
            .as_ref()
            .is_err_and(|e| format!("{e:#}").contains("AccessDenied")),
        "the diff role read another stack: {:?}",
        other.map(|d| d.lines())
    );
    // A stack that does not exist (read as the administrator): the diff is a create.
    let created =
        xtask::diff::compare(&absent, &admin.cfn, &asset_bucket, Ok(zip(&package)?)).await?;
    assert!(created.report.creates_stack && created.report.has_changes);
    assert!(
        created
            .report
            .changes
            .changes
            .iter()
            .all(|c| c.action == xtask::plan::ChangeAction::Add)
    );

    // The command itself, as a pull request runs it: `diff --stage local --assume-role <diff
    // role>` (it reads the bootstrap's outputs for the asset bucket, then compares).
    let command = xtask::diff::read_only(
        &e2e_tests::root(),
        &DeployOptions {
            stage: "local".into(),
            package: Some(package.clone()),
            connect: as_diff_role.clone(),
            ..DeployOptions::default()
        },
    )
    .await?;
    assert!(!command.report.has_changes, "{:?}", command.lines());
    assert_eq!(command.code, CodeComparison::Unchanged);

    let after = listing(&admin).await?;
    assert_eq!(before, after, "diff changed something");

    // The reader really is read-only where ministack enforces IAM (controls for the above: the
    // same calls a change-set diff or a deploy makes are refused).
    let reader_s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&reader_sdk)
            .force_path_style(true)
            .build(),
    );
    let mut probes: Vec<(&str, bool)> = Vec::new();
    probes.push((
        "s3:ListAllMyBuckets",
        reader_s3.list_buckets().send().await.is_ok(),
    ));
    probes.push((
        "s3:PutObject on the asset bucket",
        reader_s3
            .put_object()
            .bucket(&asset_bucket)
            .key("diff-probe")
            .body(b"x".to_vec().into())
            .send()
            .await
            .is_ok(),
    ));
    probes.push((
        "cloudformation:ListStacks",
        reader.list_stacks().send().await.is_ok(),
    ));
    probes.push((
        "cloudformation:ListChangeSets",
        reader
            .list_change_sets()
            .stack_name(STACK)
            .send()
            .await
            .is_ok(),
    ));
    probes.push((
        "cloudformation:CreateChangeSet",
        reader
            .create_change_set()
            .stack_name("diff-probe")
            .change_set_name("diff-probe")
            .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
            .template_body(r#"{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}"#)
            .send()
            .await
            .is_ok(),
    ));
    note(&format!(
        "read-only principal probes (true = allowed): {probes:?}"
    ));
    let allowed: Vec<&str> = probes
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(n, _)| *n)
        .collect();
    assert!(
        allowed.is_empty(),
        "the read-only principal could call {allowed:?}: the test would not prove that diff is read-only"
    );
    Ok(())
}
