//! `deploy`: build -> upload by content hash -> synthesise -> change set (approval when IAM widens
//! or resources are replaced) -> execute with live events -> deploy the API stage -> post-deploy
//! checks -> outputs. A deploy whose fingerprint matches the last successful one returns at once.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use codegen_infra::StageConfig;
use codegen_infra::config::Architecture;
use codegen_infra::names::deployment_record_key;
use codegen_infra::stack::{
    PARAM_ARCHITECTURE, PARAM_CODE_BUCKET, PARAM_CODE_KEY, PARAM_CODE_VERSION, outputs as out_names,
};
use serde::Serialize;

use crate::assets::{AssetBucket, PublishedPackage, Verification};
use crate::aws::{Clients, ConnectOptions, try_connect};
use crate::cfn::{self, ChangeSetOutcome, ChangeSetRequest};
use crate::package::{self, Package};
use crate::plan::{self, ChangeSummary, FINGERPRINT_TAG, StackState};
use crate::report::{confirm, progress};
use crate::{assets, bootstrap, local, outputs};

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
    /// [`package::BuildProfile::for_stage`]).
    pub build_profile: Option<package::BuildProfile>,
    /// Deploy under this stack name instead of the stage's (per-run stacks in tests); the
    /// function and log group names follow it.
    pub stack_name_override: Option<String>,
    /// Use this validated stage instead of reading `infra/stages/<stage>.yaml` (tests that deploy
    /// a variant of a stage, e.g. another model or a Bedrock test double's endpoint).
    pub stage_config: Option<StageConfig>,
    /// Where to connect.
    pub connect: ConnectOptions,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// Stack name.
    pub stack: String,
    /// Stage name.
    pub stage: String,
    /// `created`, `updated`, `unchanged` or `hotswapped`.
    pub result: String,
    /// Final stack status.
    pub stack_status: String,
    /// Resource changes and IAM widening that were applied.
    pub changes: ChangeSummary,
    /// The function package.
    pub package: PackageReport,
    /// API deployment created for the stage, if one was needed.
    pub api_deployment_id: Option<String>,
    /// Stack outputs plus the resolved invoke URL.
    pub outputs: BTreeMap<String, String>,
    /// Milliseconds spent, by phase.
    pub timings_ms: BTreeMap<String, u128>,
}

/// The package that was deployed.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// `s3://bucket/key`.
    pub uri: String,
    /// Hex SHA-256.
    pub sha256: String,
    /// Bytes.
    pub size: usize,
    /// Whether it was uploaded by this deploy (false: the hash was already there).
    pub uploaded: bool,
    /// Architecture.
    pub architecture: String,
}

impl PackageReport {
    fn new(package: &Package, bucket: &str, published: &PublishedPackage) -> Self {
        Self {
            uri: format!("s3://{bucket}/{}", published.key),
            sha256: package.sha256_hex.clone(),
            size: package.bytes.len(),
            uploaded: published.uploaded,
            architecture: package.architecture.as_str().to_owned(),
        }
    }
}

/// The outcome of `deploy`.
#[derive(Debug, Clone)]
pub enum DeployOutcome {
    /// Deployed (or nothing to do).
    Done(Box<DeployReport>),
    /// Stopped before executing: the change needs approval and none could be given.
    NeedsApproval {
        /// Why.
        reason: String,
        /// What would change.
        changes: ChangeSummary,
    },
}

/// Everything needed to plan a deploy: clients, account, package, template and parameters.
pub struct Prepared {
    /// Stage.
    pub cfg: StageConfig,
    /// Clients.
    pub clients: Clients,
    /// Asset bucket.
    pub asset_bucket: String,
    /// The account that must own the asset bucket (every call to it says so).
    pub asset_owner: String,
    /// The bootstrap's CloudFormation execution role: every change set and stack deletion runs
    /// with it.
    pub execution_role_arn: String,
    /// The package.
    pub package: Package,
    /// Where the package is in the asset bucket: its key and the verified version the template
    /// pins.
    pub published: PublishedPackage,
    /// Whether this run uploaded it.
    pub uploaded: bool,
    /// Template body sent to CloudFormation (compact JSON).
    pub template_body: String,
    /// Template parameters.
    pub parameters: Vec<(String, String)>,
    /// Fingerprint of template + parameters.
    pub fingerprint: String,
    /// Phase timings so far.
    pub timings: BTreeMap<String, u128>,
}

/// How package objects are verified at this endpoint: on an emulator, one without a stored
/// checksum may be downloaded and hashed; on AWS only the stored SHA-256 counts.
pub fn verification_for(clients: &Clients) -> Verification {
    if clients.endpoint.is_some() {
        Verification::StoredChecksumOrDownload
    } else {
        Verification::StoredChecksum
    }
}

/// What every deploy path starts from: the stage, the clients and the package.
pub struct Loaded {
    /// Stage.
    pub cfg: StageConfig,
    /// Clients.
    pub clients: Clients,
    /// The package.
    pub package: Package,
    /// Phase timings so far.
    pub timings: BTreeMap<String, u128>,
}

/// Loads the stage, connects (starting the emulator for emulator stages), and builds or reads the
/// package.
pub async fn load(root: &Path, opts: &DeployOptions) -> anyhow::Result<Loaded> {
    let mut timings = BTreeMap::new();
    let mut cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let clients = try_connect(&cfg, &opts.connect).await?;
    if cfg.emulator.is_some()
        && let Some(endpoint) = &clients.endpoint
    {
        local::ensure_ministack(root, endpoint, false)?;
    }
    let arch = opts.architecture.unwrap_or(cfg.function.architecture);
    let package = match &opts.package {
        Some(path) => Package::from_zip(path, arch)?,
        None => {
            let arch = package::choose_architecture(arch);
            let profile = package::BuildProfile::for_stage(&cfg, opts.build_profile);
            let t = Instant::now();
            let p = tokio::task::block_in_place(|| {
                package::build_with_profile(root, arch, opts.build_label.as_deref(), profile)
            })?;
            timings.insert("build".to_owned(), t.elapsed().as_millis());
            p
        }
    };
    Ok(Loaded {
        cfg,
        clients,
        package,
        timings,
    })
}

/// [`load`]s, then reads the stage's bootstrap (creating it on an emulator stage), checks model
/// access, makes sure the bootstrap's asset bucket holds exactly
/// this package under the stack's prefix (uploaded with its SHA-256, or an existing object whose
/// stored SHA-256 matches; anything else fails here, before any stack change), and synthesises the
/// template with the verified object version pinned.
pub async fn prepare(root: &Path, opts: &DeployOptions) -> anyhow::Result<Prepared> {
    let t = Instant::now();
    let Loaded {
        cfg,
        clients,
        package,
        mut timings,
    } = load(root, opts).await?;
    let t_aws = Instant::now();
    let boot = bootstrap::ensure(&clients, &cfg).await?;
    crate::preflight::check_model_access(&clients, &cfg).await?;
    let bucket = AssetBucket {
        name: boot.asset_bucket.clone(),
        owner: boot.account.clone(),
    };
    assets::require_bucket(&clients.s3, &bucket).await?;
    let published = assets::publish_package(
        &clients.s3,
        &bucket,
        &package.asset_key(&cfg.stack_name),
        &package,
        verification_for(&clients),
    )
    .await?;
    progress(format!(
        "{} s3://{}/{} (version {})",
        if published.uploaded {
            "uploaded"
        } else {
            "verified (SHA-256)"
        },
        bucket.name,
        published.key,
        published.version_id
    ));
    timings.insert("assets".to_owned(), t_aws.elapsed().as_millis());
    let template = codegen_infra::stack(&cfg);
    let template_body =
        serde_json::to_string(&template).context("failed to serialise the template")?;
    let parameters = vec![
        (
            PARAM_ARCHITECTURE.to_owned(),
            package.architecture.as_str().to_owned(),
        ),
        (PARAM_CODE_BUCKET.to_owned(), bucket.name.clone()),
        (PARAM_CODE_KEY.to_owned(), published.key.clone()),
        (PARAM_CODE_VERSION.to_owned(), published.version_id.clone()),
    ];
    let fingerprint = plan::fingerprint(&template_body, &parameters);
    timings.insert("prepare".to_owned(), t.elapsed().as_millis());
    Ok(Prepared {
        cfg,
        clients,
        asset_bucket: bucket.name,
        asset_owner: bucket.owner,
        execution_role_arn: boot.execution_role_arn,
        package,
        uploaded: published.uploaded,
        published,
        template_body,
        parameters,
        fingerprint,
        timings,
    })
}

/// Brings the stack into a state a change set can be created from, recovering from failed or
/// interrupted operations (with the execution role `role_arn`, when given). Returns whether the
/// change set must be a `CREATE`.
pub async fn recover(
    clients: &Clients,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<bool> {
    loop {
        let Some(current) = cfn::describe_stack(&clients.cfn, stack).await? else {
            return Ok(true);
        };
        let status = cfn::status_of(&current).to_owned();
        match plan::classify(&status) {
            StackState::Missing => return Ok(true),
            StackState::Stable => return Ok(false),
            StackState::ReviewInProgress => return Ok(true),
            StackState::InProgress => {
                // It may end in a rollback; the loop classifies whatever it ends in.
                cfn::await_running_operation(&clients.cfn, stack, &status).await?;
            }
            StackState::RollbackComplete => {
                progress(format!(
                    "stack {stack} is ROLLBACK_COMPLETE (its first deploy failed): deleting it before creating it again"
                ));
                cfn::delete_stack(&clients.cfn, stack, role_arn).await?;
            }
            StackState::UpdateRollbackFailed => {
                progress(format!(
                    "stack {stack} is UPDATE_ROLLBACK_FAILED: continuing the rollback"
                ));
                cfn::continue_update_rollback(&clients.cfn, stack, role_arn).await?;
            }
            StackState::Failed => bail!(
                "stack {stack} is {status}: fix it (see its events) or run `cargo xtask destroy --stage <stage>`"
            ),
        }
    }
}

/// Whether the last fully successful deploy had this fingerprint and the stack still matches it.
async fn is_unchanged(
    p: &Prepared,
) -> anyhow::Result<Option<aws_sdk_cloudformation::types::Stack>> {
    let stack_name = &p.cfg.stack_name;
    let Some(stack) = cfn::describe_stack(&p.clients.cfn, stack_name).await? else {
        return Ok(None);
    };
    if plan::classify(cfn::status_of(&stack)) != StackState::Stable
        || cfn::tag_of(&stack, FINGERPRINT_TAG) != Some(p.fingerprint.as_str())
    {
        return Ok(None);
    }
    // The stack tag is written by the change set, before the API is deployed; the state object is
    // written last, so a deploy that failed after the stack update is not mistaken for done.
    let recorded = p
        .clients
        .s3
        .get_object()
        .bucket(&p.asset_bucket)
        .key(deployment_record_key(stack_name))
        .expected_bucket_owner(&p.asset_owner)
        .send()
        .await;
    let Ok(obj) = recorded else { return Ok(None) };
    let bytes = obj
        .body
        .collect()
        .await
        .map(|b| b.into_bytes())
        .unwrap_or_default();
    let state: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok((state["fingerprint"] == p.fingerprint.as_str()).then_some(stack))
}

async fn record_success(p: &Prepared, api_deployment_id: Option<&str>) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "fingerprint": p.fingerprint,
        "package": p.published.key,
        "package_version": p.published.version_id,
        "api_deployment_id": api_deployment_id,
    });
    p.clients
        .s3
        .put_object()
        .bucket(&p.asset_bucket)
        .key(deployment_record_key(&p.cfg.stack_name))
        .expected_bucket_owner(&p.asset_owner)
        .content_type("application/json")
        .body(body.to_string().into_bytes().into())
        .send()
        .await
        .context("failed to record the deploy state in the asset bucket")?;
    Ok(())
}

/// Creates a change set for the prepared deploy and summarises it (with IAM widening).
pub async fn plan_changes(p: &Prepared) -> anyhow::Result<(Option<String>, ChangeSummary, bool)> {
    let stack = &p.cfg.stack_name;
    let create = recover(&p.clients, stack, Some(&p.execution_role_arn)).await?;
    let mut tags = p.cfg.tags.clone();
    tags.insert(FINGERPRINT_TAG.to_owned(), p.fingerprint.clone());
    let req = ChangeSetRequest {
        stack,
        template_body: &p.template_body,
        parameters: &p.parameters,
        tags: &tags,
        create,
        role_arn: Some(&p.execution_role_arn),
        // The function roles have generated names, so CAPABILITY_IAM (not NAMED_IAM) is enough.
        capability: aws_sdk_cloudformation::types::Capability::CapabilityIam,
    };
    match cfn::create_change_set(&p.clients.cfn, &req).await? {
        ChangeSetOutcome::NoChanges => Ok((None, ChangeSummary::default(), create)),
        ChangeSetOutcome::Ready { name, changes } => {
            let old = if create {
                None
            } else {
                cfn::current_template(&p.clients.cfn, stack).await?
            };
            let new: serde_json::Value = serde_json::from_str(&p.template_body)?;
            let iam_widening = plan::widened(old.as_ref(), &new)
                .iter()
                .map(ToString::to_string)
                .collect();
            Ok((
                Some(name),
                ChangeSummary {
                    changes,
                    iam_widening,
                },
                create,
            ))
        }
    }
}

/// Asks for approval when needed. `Ok(Some(reason))` means it was needed and not given.
pub fn approve(
    summary: &ChangeSummary,
    triggers: &[String],
    yes: bool,
) -> anyhow::Result<Option<String>> {
    let Some(reason) = summary.approval_reason_with(triggers) else {
        return Ok(None);
    };
    if yes {
        progress(format!("approved by --yes: {reason}"));
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        return Ok(Some(format!(
            "this change needs approval because {reason}, and there is no terminal to ask on: review it with `cargo xtask diff` and re-run with --yes"
        )));
    }
    if confirm(&format!(
        "This change needs approval because {reason}. Deploy?"
    ))? {
        Ok(None)
    } else {
        Ok(Some(format!("not approved ({reason})")))
    }
}

/// Runs `deploy`.
pub async fn deploy(root: &Path, opts: &DeployOptions) -> anyhow::Result<DeployOutcome> {
    let started = Instant::now();
    if opts.hotswap {
        return hotswap(load(root, opts).await?, started).await;
    }
    let mut p = prepare(root, opts).await?;
    let stack_name = p.cfg.stack_name.clone();

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
            "unchanged",
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
        // What the change opens or loses beyond its IAM grants (route authorization, trust
        // policies, permissions boundaries, public access blocks, bucket policies).
        let deployed = if create {
            None
        } else {
            cfn::current_template(&p.clients.cfn, &stack_name).await?
        };
        let synthesised: serde_json::Value = serde_json::from_str(&p.template_body)
            .context("failed to read the synthesised template")?;
        let triggers = plan::approval_triggers(deployed.as_ref(), &synthesised);
        if let Some(reason) = approve(&summary, &triggers, opts.yes)? {
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
        result = if create { "created" } else { "updated" };
    } else {
        progress(format!("{stack_name}: CloudFormation reports no changes"));
        result = "unchanged";
    }

    let stack = cfn::describe_stack(&p.clients.cfn, &stack_name)
        .await?
        .with_context(|| format!("stack {stack_name} disappeared after deploy"))?;
    if change_set.is_none() {
        status = cfn::status_of(&stack).to_owned();
    }
    let stack_outputs = cfn::outputs_of(&stack);
    let t = Instant::now();
    let api_deployment_id =
        deploy_api_stage(&p, &stack_outputs, create || summary.touches_api()).await?;
    verify_function(&p.clients, &p.package, &stack_outputs).await?;
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

fn report(
    p: &Prepared,
    result: &str,
    status: &str,
    changes: ChangeSummary,
    api_deployment_id: Option<String>,
    outputs: BTreeMap<String, String>,
) -> DeployReport {
    DeployReport {
        stack: p.cfg.stack_name.clone(),
        stage: p.cfg.name.clone(),
        result: result.to_owned(),
        stack_status: status.to_owned(),
        changes,
        package: PackageReport::new(&p.package, &p.asset_bucket, &p.published),
        api_deployment_id,
        outputs,
        timings_ms: p.timings.clone(),
    }
}

/// Creates a deployment of the API on the stage when routes or integrations changed, or when the
/// stage has never been deployed. AutoDeploy is off, so without this the stage would serve stale
/// routes (or none).
async fn deploy_api_stage(
    p: &Prepared,
    outputs: &BTreeMap<String, String>,
    api_changed: bool,
) -> anyhow::Result<Option<String>> {
    let api_id = outputs::require(outputs, out_names::API_ID)?;
    let stage = outputs::require(outputs, out_names::STAGE_NAME)?;
    let current = p
        .clients
        .apigw
        .get_stage()
        .api_id(api_id)
        .stage_name(stage)
        .send()
        .await
        .with_context(|| format!("failed to read stage {stage} of API {api_id}"))?;
    let never_deployed = current.deployment_id().is_none_or(str::is_empty);
    if !api_changed && !never_deployed {
        return Ok(None);
    }
    let out = p
        .clients
        .apigw
        .create_deployment()
        .api_id(api_id)
        .stage_name(stage)
        .description(format!("cargo xtask deploy {}", &p.fingerprint[..12]))
        .send()
        .await
        .with_context(|| format!("failed to deploy API {api_id} to stage {stage}"))?;
    let id = out.deployment_id().unwrap_or_default().to_owned();
    progress(format!(
        "deployed API {api_id} to stage {stage} (deployment {id})"
    ));
    Ok(Some(id))
}

/// Post-deploy checks: the function runs the deployed package, is active, and has its role.
async fn verify_function(
    clients: &Clients,
    package: &Package,
    outputs: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let name = outputs::require(outputs, out_names::FUNCTION_NAME)?;
    let f = clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .with_context(|| format!("failed to read function {name}"))?;
    let config = f.configuration().context("function has no configuration")?;
    let deployed = config.code_sha256().unwrap_or_default();
    if deployed != package.sha256_base64 {
        bail!(
            "function {name} runs code {deployed}, not the package {} that was deployed ({})",
            package.sha256_base64,
            package.path.display()
        );
    }
    if config.state().is_some_and(|s| s.as_str() == "Failed") {
        bail!(
            "function {name} is in state Failed: {}",
            config.state_reason().unwrap_or_default()
        );
    }
    let role_arn = outputs::require(outputs, out_names::ROLE_ARN)?;
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    clients
        .iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .with_context(|| format!("function role {role_name} is missing"))?;
    Ok(())
}

/// Waits until the function's last update has finished (`LastUpdateStatus` leaves `InProgress`),
/// failing with Lambda's reason if it failed.
///
/// This polls rather than using the SDK's `FunctionUpdatedV2` waiter: that waiter sleeps at least
/// 1 s between polls, longer than a code update of a dev stage usually takes, and the hotswap
/// exists to be fast. It polls every 50 ms for the first second, then backs off to 1 s.
async fn wait_for_function_update(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> anyhow::Result<()> {
    use aws_sdk_lambda::types::LastUpdateStatus;
    let started = Instant::now();
    let mut delay = std::time::Duration::from_millis(50);
    loop {
        let config = lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .with_context(|| format!("failed to read function {name}"))?;
        match config.last_update_status() {
            Some(LastUpdateStatus::InProgress) => {}
            Some(LastUpdateStatus::Failed) => bail!(
                "the code update of {name} failed: {}",
                config.last_update_status_reason().unwrap_or_default()
            ),
            _ => return Ok(()),
        }
        if started.elapsed() > std::time::Duration::from_secs(300) {
            bail!("function {name} was still updating after 5 minutes");
        }
        tokio::time::sleep(delay).await;
        // Every 50 ms for the first second, then backing off to one poll a second.
        if started.elapsed() > std::time::Duration::from_secs(1) {
            delay = (delay * 2).min(std::time::Duration::from_secs(1));
        }
    }
}

/// `deploy --hotswap`: updates the function code directly (no CloudFormation), for dev loops.
/// No template is synthesised, no change set is made and the model-access preflight is skipped:
/// the stack and function are read, the package is uploaded by hash if new, the code is updated
/// and the update awaited.
/// The stack's `CodeS3Key` and `CodeS3ObjectVersion` parameters are then out of date (drift) until
/// the next normal deploy.
pub async fn hotswap(loaded: Loaded, started: Instant) -> anyhow::Result<DeployOutcome> {
    let Loaded {
        cfg,
        clients,
        package,
        mut timings,
    } = loaded;
    if !cfg.allows_hotswap() {
        bail!(
            "--hotswap is not allowed for stage `{}`: it replaces the code outside CloudFormation; \
             set `function.allow_hotswap: true` in infra/stages/{}.yaml for a development stage",
            cfg.name,
            cfg.name
        );
    }
    let stack_name = cfg.stack_name.clone();
    let stack = cfn::describe_stack(&clients.cfn, &stack_name)
        .await?
        .with_context(|| {
            format!(
                "--hotswap needs an existing stack: run `cargo xtask deploy --stage {}` first",
                cfg.name
            )
        })?;
    let outputs = cfn::outputs_of(&stack);
    let name = outputs::require(&outputs, out_names::FUNCTION_NAME)?;
    progress(format!(
        "hotswap: updating the code of {name} directly; the stack now drifts from its template until the next `deploy` without --hotswap"
    ));
    let t = Instant::now();
    let current = clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .with_context(|| format!("failed to read function {name}"))?;
    let same = current.code_sha256() == Some(package.sha256_base64.as_str());
    let boot = bootstrap::ensure(&clients, &cfg).await?;
    let bucket = AssetBucket {
        name: boot.asset_bucket,
        owner: boot.account,
    };
    let key = package.asset_key(&stack_name);
    let mut published = PublishedPackage {
        key: key.clone(),
        version_id: String::new(),
        uploaded: false,
    };
    let result = if same {
        "unchanged"
    } else {
        // Through the asset bucket rather than inline (`ZipFile`): the upload is skipped when the
        // hash is already there, and a raw S3 PUT is cheaper than a base64 JSON body. The same
        // checks as a normal deploy: the object's SHA-256 is verified and its version pinned
        // (UpdateFunctionCode's S3ObjectVersion: "For versioned objects, the version of the
        // deployment package object to use", Lambda API reference).
        assets::require_bucket(&clients.s3, &bucket).await?;
        published = assets::publish_package(
            &clients.s3,
            &bucket,
            &key,
            &package,
            verification_for(&clients),
        )
        .await?;
        clients
            .lambda
            .update_function_code()
            .function_name(name)
            .s3_bucket(&bucket.name)
            .s3_key(&published.key)
            .s3_object_version(&published.version_id)
            .send()
            .await
            .with_context(|| format!("failed to update the code of {name}"))?;
        let waited = Instant::now();
        wait_for_function_update(&clients.lambda, name).await?;
        timings.insert("hotswap_wait".to_owned(), waited.elapsed().as_millis());
        "hotswapped"
    };
    timings.insert("hotswap".to_owned(), t.elapsed().as_millis());
    verify_function(&clients, &package, &outputs).await?;
    let all = outputs::with_invoke_url(&clients, &cfg, outputs);
    timings.insert("total".to_owned(), started.elapsed().as_millis());
    Ok(DeployOutcome::Done(Box::new(DeployReport {
        stack: stack_name,
        stage: cfg.name.clone(),
        result: result.to_owned(),
        stack_status: cfn::status_of(&stack).to_owned(),
        changes: ChangeSummary::default(),
        package: PackageReport::new(&package, &bucket.name, &published),
        api_deployment_id: None,
        outputs: all,
        timings_ms: timings,
    })))
}
