//! The command line: clap definitions (their docs are the `--help` text) and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use codegen_contract::GenerateRequest;
use codegen_infra::config::Architecture;
use codegen_infra::render::Format;

use crate::aws::ConnectOptions;
use crate::deploy::{DeployOptions, DeployOutcome};
use crate::destroy::{DestroyOptions, DestroyOutcome};
use crate::report::{Exit, json, progress, result};
use crate::synth::SynthOutcome;
use crate::{diff, invoke, local, logs, outputs, project_root, synth};

const EXIT_CODES: &str = "Exit codes: 0 success (diff: no changes), 1 failure, 2 invalid usage, \
3 diff found changes, 4 the change needs approval (IAM widening, an opened route, a changed trust \
policy, a removed or changed permissions boundary, a changed public access block or bucket policy, \
replacement or removal of a resource; for destroy, deletion) and neither a terminal nor --yes was \
there to give it.";

/// The codegen-stack deployer: synthesise, deploy, inspect and destroy the code-generation stack.
///
/// Progress goes to stderr; results go to stdout (`--json` for machines).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesise a stage's CloudFormation template into infra/templates/ (no AWS access).
    ///
    /// Deterministic: the same stage file always gives the same bytes. Idempotent: the file is
    /// only written when its content changes.
    Synth(SynthArgs),
    /// Build, upload and deploy the stack, then deploy the API stage and print the outputs.
    ///
    /// Creates or updates the stack through a change set. Nothing changed: returns at once.
    /// Changes that widen IAM permissions, change a route's authorization (or add an open route),
    /// change a role's trust policy, remove or change a permissions boundary, change a bucket's
    /// public access block or bucket policy, or replace or remove a resource need approval: a
    /// prompt on a terminal, or --yes; without either the command exits 4 and changes nothing.
    /// Each reason is named (`route PUT /code-generation: authorization AWS_IAM -> NONE`).
    /// Recovers stacks left in ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED or an interrupted
    /// operation.
    Deploy(DeployArgs),
    /// Show what a deploy would change, without changing anything (exit 3 when it would).
    ///
    /// Read-only by default: synthesises the template and compares it with the deployed one and
    /// the stack's parameters and tags, using only cloudformation:DescribeStacks,
    /// cloudformation:GetTemplate and sts:GetCallerIdentity. Builds nothing, uploads nothing,
    /// creates or deletes no change set, recovers no stack. Prints [+]/[-]/[~] per resource, the
    /// IAM grants added and removed, parameter and tag changes, and why a deploy would need
    /// approval. The function code is compared by hash only with --package or an up-to-date build
    /// from an earlier deploy ("not compared" otherwise); which modifications replace a resource
    /// only CloudFormation can say: use --change-set for that.
    Diff(DiffArgs),
    /// Delete the stack and everything it holds (the code bucket is emptied first).
    ///
    /// Idempotent: destroying a stack that does not exist succeeds. Keeps the asset bucket
    /// unless --all. Asks for confirmation unless --yes (exit 4 without a terminal).
    Destroy(DestroyArgs),
    /// Print the deployed stack's outputs (endpoint, invoke URL, bucket, function, role, ...).
    Outputs(OutputsArgs),
    /// Send a real PUT /code-generation request to the deployed API (SigV4-signed when the route
    /// uses IAM auth) and print the generated code and where it was stored.
    Invoke(InvokeArgs),
    /// Print the function's log events.
    Logs(LogsArgs),
    /// Manage the local emulator (ministack) for the `local` stage.
    Local(LocalArgs),
    /// Deploy the stage's bootstrap stack (once per account and region, as an administrator):
    /// the asset bucket, the permissions boundary, the CloudFormation execution role, the deploy
    /// role and the read-only diff role (infra/templates/<stage>.bootstrap.template.yaml).
    ///
    /// Idempotent: a second run changes nothing. `bootstrap destroy` removes it (refused while
    /// the stage's stack exists). Emulator stages bootstrap themselves on their first deploy.
    Bootstrap(BootstrapArgs),
    /// Deploy, then rebuild and hotswap the function on every saved change, until Ctrl-C.
    Watch(crate::watch::WatchArgs),
}

#[derive(Debug, Args)]
struct StageArg {
    /// Stage name: a file infra/stages/<stage>.yaml.
    #[arg(long, short)]
    stage: String,
}

#[derive(Debug, Args)]
struct ConnectArgs {
    /// Endpoint of an AWS emulator (overrides AWS_ENDPOINT_URL and the stage's endpoint).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// Region (overrides the stage's region).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Named profile from the shared AWS config files.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// Act as this role (sts:AssumeRole with your credentials): the bootstrap's deploy role
    /// (`DeployRoleArn`) or diff role (`DiffRoleArn`). CI gets its role from OIDC instead.
    #[arg(long, global = true, value_name = "ROLE_ARN")]
    assume_role: Option<String>,
}

impl ConnectArgs {
    fn options(&self) -> ConnectOptions {
        ConnectOptions {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            assume_role: self.assume_role.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
struct SynthArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Template format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: FormatArg,
    /// Print the template to stdout instead of writing it.
    #[arg(long)]
    stdout: bool,
    /// Fail (exit 1) if the committed template is stale, instead of writing it.
    #[arg(long, conflicts_with = "stdout")]
    check: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

impl ArchArg {
    fn into_architecture(self) -> Architecture {
        match self {
            Self::X86_64 => Architecture::X86_64,
            Self::Arm64 => Architecture::Arm64,
        }
    }
}

#[derive(Debug, Args)]
struct DeployArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Approve, without asking, every change that needs approval (IAM widening, route
    /// authorization, trust policies, permissions boundaries, public access blocks, bucket
    /// policies, replacement, removal); for CI. The reasons are still printed.
    #[arg(long, short)]
    yes: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Deploy this zip (containing `bootstrap`) instead of building the function.
    #[arg(long, value_name = "ZIP")]
    package: Option<PathBuf>,
    /// Build for this architecture instead of the stage's (arm64 falls back to x86_64 when its
    /// Rust target cannot be installed).
    #[arg(long, value_enum)]
    architecture: Option<ArchArg>,
    /// Create a change set even when nothing changed since the last successful deploy.
    #[arg(long)]
    force: bool,
    /// Update the function code directly, skipping CloudFormation (fast, but the stack drifts from
    /// its template until the next normal deploy). Only for emulator stages and stages whose file
    /// sets `function.allow_hotswap: true`.
    #[arg(long)]
    hotswap: bool,
    /// Label compiled into the function and reported in its `x-codegen-build` response header
    /// (default: the crate version). Also read from CODEGEN_BUILD_LABEL.
    #[arg(long, env = "CODEGEN_BUILD_LABEL")]
    build_label: Option<String>,
    /// Cargo profile of the function build: `fast` (`[profile.lambda-fast]`: an edit rebuilds in
    /// seconds; the default on emulator stages) or `release` (what ships; the default on AWS
    /// stages). A fast build reaches an AWS stage only when asked for here.
    #[arg(long, value_enum)]
    build_profile: Option<crate::package::BuildProfile>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct DiffArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Compare the code of this zip (containing `bootstrap`) by its hash. Without it the
    /// read-only diff uses an up-to-date build if there is one, and never builds.
    #[arg(long, value_name = "ZIP")]
    package: Option<PathBuf>,
    /// The architecture of the package (default: the stage's; as `deploy --architecture`).
    #[arg(long, value_enum)]
    architecture: Option<ArchArg>,
    /// Build label the build was made with (as `deploy --build-label`), to find it up to date.
    /// Also read from CODEGEN_BUILD_LABEL.
    #[arg(long, env = "CODEGEN_BUILD_LABEL")]
    build_label: Option<String>,
    /// Ask CloudFormation instead (needs the deployer's permissions, not read-only): build and
    /// upload the package, recover a failed stack as deploy does, create the change set a deploy
    /// would execute, show it and delete it. Shows which modifications replace resources.
    #[arg(long)]
    change_set: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct DestroyArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
    /// Also empty and delete the asset bucket holding function packages.
    #[arg(long)]
    all: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct OutputsArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Print the outputs as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct InvokeArgs {
    #[command(flatten)]
    stage: StageArg,
    /// What to implement.
    #[arg(long, short)]
    message: String,
    /// Target language (python, rust, ts, go, ...).
    #[arg(long, short, default_value = "python")]
    language: String,
    /// Sampling temperature (0-1).
    #[arg(long)]
    temperature: Option<f64>,
    /// Max output tokens.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Send the request without a SigV4 signature (to check that the route refuses it).
    #[arg(long)]
    unsigned: bool,
    /// Use the asynchronous route: submit a job (POST /code-generation/jobs), poll it with
    /// backoff until it succeeds or fails, then print the code. For answers longer than the
    /// synchronous route's 30 s.
    #[arg(long = "async")]
    asynchronous: bool,
    /// With --async: an Idempotency-Key, so that running the command again returns the same job
    /// instead of starting (and paying for) a second one.
    #[arg(long, requires = "asynchronous")]
    idempotency_key: Option<String>,
    /// With --async: read this job instead of submitting one.
    #[arg(long, requires = "asynchronous")]
    job: Option<String>,
    /// With --async: give up waiting after this many seconds (the job goes on).
    #[arg(long, default_value_t = 900, requires = "asynchronous")]
    wait_seconds: u64,
    /// Print the raw JSON response on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct LogsArgs {
    #[command(flatten)]
    stage: StageArg,
    /// Keep reading every 2 s and print each new event once, until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// How far back to start: a whole number and s, m, h or d (30s, 10m, 2h, 1d). Timestamps
    /// are printed in UTC.
    #[arg(long, default_value = "1h")]
    since: String,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct BootstrapArgs {
    #[command(flatten)]
    stage: StageArg,
    /// `destroy`: empty the asset bucket and delete the bootstrap stack.
    #[arg(value_parser = ["destroy"])]
    action: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct LocalArgs {
    #[command(subcommand)]
    action: LocalAction,
}

#[derive(Debug, Subcommand)]
enum LocalAction {
    /// Install the pinned tools (tools/install.sh) and start ministack on the `local` stage's
    /// endpoint unless something already answers there.
    Up {
        /// Start ministack with IAM enforcement (AUTH=true).
        #[arg(long)]
        auth: bool,
    },
    /// Stop the ministack this checkout started (its whole process group).
    Down,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            progress(format!("error: failed to start the async runtime: {err}"));
            return ExitCode::from(Exit::Failure as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            progress(format!("error: {err:#}"));
            ExitCode::from(Exit::Failure as u8)
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let root = project_root();
    match cli.command {
        Command::Synth(args) => {
            let format = match args.format {
                FormatArg::Yaml => Format::Yaml,
                FormatArg::Json => Format::Json,
            };
            let started = std::time::Instant::now();
            if args.stdout {
                result(synth::synth_text(&root, &args.stage.stage, format)?.trim_end());
                return Ok(Exit::Success);
            }
            for outcome in synth::synth_to_file(&root, &args.stage.stage, format, args.check)? {
                match outcome {
                    SynthOutcome::Written(p) => result(format!(
                        "wrote {} in {} ms",
                        p.display(),
                        started.elapsed().as_millis()
                    )),
                    SynthOutcome::Unchanged(p) => result(format!(
                        "{} is up to date ({} ms)",
                        p.display(),
                        started.elapsed().as_millis()
                    )),
                }
            }
            Ok(Exit::Success)
        }
        Command::Deploy(args) => {
            let opts = DeployOptions {
                stage: args.stage.stage,
                yes: args.yes,
                package: args.package,
                architecture: args.architecture.map(ArchArg::into_architecture),
                force: args.force,
                hotswap: args.hotswap,
                build_label: args.build_label,
                build_profile: args.build_profile,
                stack_name_override: None,
                stage_config: None,
                connect: args.connect.options(),
            };
            match crate::deploy::deploy(&root, &opts).await? {
                DeployOutcome::Done(report) => {
                    if args.json {
                        json(&report)?;
                    } else {
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
                DeployOutcome::NeedsApproval { reason, changes } => {
                    progress(format!("error: {reason}"));
                    if args.json {
                        json(
                            &serde_json::json!({ "result": "needs_approval", "reason": reason, "changes": changes }),
                        )?;
                    }
                    Ok(Exit::NeedsApproval)
                }
            }
        }
        Command::Diff(args) => {
            let opts = DeployOptions {
                stage: args.stage.stage,
                package: args.package,
                architecture: args.architecture.map(ArchArg::into_architecture),
                build_label: args.build_label,
                connect: args.connect.options(),
                ..DeployOptions::default()
            };
            let found = if args.change_set {
                diff::with_change_set(&root, &opts).await?
            } else {
                diff::read_only(&root, &opts).await?
            };
            let report = &found.report;
            if args.json {
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
        Command::Destroy(args) => {
            let opts = DestroyOptions {
                stage: args.stage.stage,
                yes: args.yes,
                all: args.all,
                connect: args.connect.options(),
                stack_name_override: None,
            };
            match crate::destroy::destroy(&root, &opts).await? {
                DestroyOutcome::Done(report) => {
                    if args.json {
                        json(&report)?;
                    } else {
                        result(format!("{}: {}", report.stack, report.result));
                    }
                    Ok(Exit::Success)
                }
                DestroyOutcome::NeedsApproval(reason) => {
                    progress(format!("error: {reason}"));
                    Ok(Exit::NeedsApproval)
                }
            }
        }
        Command::Outputs(args) => {
            let (_, _, outputs) =
                outputs::read(&root, &args.stage.stage, &args.connect.options()).await?;
            if args.json {
                json(&outputs)?;
            } else {
                for (k, v) in &outputs {
                    result(format!("{k} = {v}"));
                }
            }
            Ok(Exit::Success)
        }
        Command::Invoke(args) => {
            let (cfg, clients, outputs) =
                outputs::read(&root, &args.stage.stage, &args.connect.options()).await?;
            let url = outputs
                .get(outputs::RESOLVED_INVOKE_URL)
                .ok_or_else(|| anyhow::anyhow!("the stack has no invoke URL output"))?;
            let request = GenerateRequest {
                message: args.message.clone(),
                key: args.language.clone(),
                temperature: args.temperature,
                top_k: None,
                top_p: None,
                max_tokens: args.max_tokens,
            };
            let auth = if args.unsigned {
                codegen_infra::config::AuthMode::None
            } else {
                cfg.api.auth
            };
            // Sign only for this stack's own API (its id from the stack outputs).
            invoke::check_invoke_url(
                &clients,
                url,
                outputs::require(&outputs, codegen_infra::stack::outputs::API_ID)?,
            )?;
            if args.asynchronous {
                return invoke_async(&clients, auth, url, &request, &args).await;
            }
            let response = invoke::invoke(&clients, auth, url, &request).await?;
            if args.json {
                result(&response.body);
                return Ok(if response.status == 200 {
                    Exit::Success
                } else {
                    Exit::Failure
                });
            }
            let generated = invoke::expect_success(&response)?;
            result(&generated.code);
            match &generated.s3 {
                Some(loc) => progress(format!(
                    "stored at {} ({}, {})",
                    loc.uri, generated.language, generated.model
                )),
                None => progress(format!("not stored: {}", generated.warnings.join("; "))),
            }
            Ok(Exit::Success)
        }
        Command::Logs(args) => {
            let since = logs::parse_since(&args.since).ok_or_else(|| {
                anyhow::anyhow!(
                    "--since `{}`: use a number and s, m, h or d (e.g. 10m)",
                    args.since
                )
            })?;
            let (_, clients, outputs) =
                outputs::read(&root, &args.stage.stage, &args.connect.options()).await?;
            let group = outputs
                .get(codegen_infra::stack::outputs::LOG_GROUP)
                .ok_or_else(|| anyhow::anyhow!("the stack has no log group output"))?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or_default();
            let mut stdout = std::io::stdout();
            logs::print_events(
                &clients.logs,
                group,
                now_ms.saturating_sub(since),
                args.follow,
                &mut stdout,
            )
            .await?;
            Ok(Exit::Success)
        }
        Command::Watch(args) => crate::watch::command(&root, args).await,
        Command::Bootstrap(args) => {
            let opts = crate::bootstrap::BootstrapOptions {
                stage: args.stage.stage,
                destroy: args.action.is_some(),
                connect: args.connect.options(),
                stack_name_override: None,
            };
            let report = crate::bootstrap::run(&root, &opts).await?;
            if args.json {
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
            Ok(Exit::Success)
        }
        Command::Local(args) => {
            let cfg = codegen_infra::load_stage(&root, "local")?;
            let endpoint = crate::aws::checked_endpoint(&cfg, &ConnectOptions::default())?
                .ok_or_else(|| anyhow::anyhow!("the local stage has no endpoint"))?;
            match args.action {
                LocalAction::Up { auth } => {
                    local::install_tools(&root)?;
                    match local::ensure_ministack(&root, &endpoint, auth)? {
                        Some(e) => result(format!(
                            "ministack started on {endpoint} (pid {}, log {})",
                            e.pid,
                            e.log.display()
                        )),
                        None => {
                            result(format!("something already answers on {endpoint}; using it"))
                        }
                    }
                }
                LocalAction::Down => {
                    let port = local::loopback_addr(&endpoint)?.port();
                    if local::stop_ministack(&root, port)? {
                        result(format!("stopped ministack on {endpoint}"));
                    } else {
                        result(format!(
                            "no ministack started by this checkout on {endpoint}"
                        ));
                    }
                }
            }
            Ok(Exit::Success)
        }
    }
}

/// `invoke --async`: submit (or pick up `--job`), poll until the job is final, print the code.
async fn invoke_async(
    clients: &crate::aws::Clients,
    auth: codegen_infra::config::AuthMode,
    url: &str,
    request: &codegen_contract::GenerateRequest,
    args: &InvokeArgs,
) -> anyhow::Result<Exit> {
    let job_id = match &args.job {
        Some(id) => id.clone(),
        None => {
            let submitted =
                invoke::submit_job(clients, auth, url, request, args.idempotency_key.as_deref())
                    .await?;
            if submitted.status != 202 {
                if args.json {
                    result(&submitted.body);
                    return Ok(Exit::Failure);
                }
                let detail = submitted
                    .error()
                    .map(|e| format!("{}: {}", e.error.code, e.error.message))
                    .unwrap_or_else(|| submitted.body.clone());
                anyhow::bail!("the API answered {}: {detail}", submitted.status);
            }
            let body: codegen_contract::SubmitResponse = serde_json::from_str(&submitted.body)
                .map_err(|e| anyhow::anyhow!("unexpected submission answer: {e}"))?;
            progress(format!("job {} {}", body.job_id, body.status.as_str()));
            body.job_id
        }
    };
    let started = std::time::Instant::now();
    let job = invoke::wait_for_job(
        clients,
        auth,
        url,
        &job_id,
        std::time::Duration::from_secs(args.wait_seconds),
        |job| {
            progress(format!(
                "job {} {} (attempt {}, {:.1} s)",
                job.job_id,
                job.status.as_str(),
                job.attempts,
                started.elapsed().as_secs_f64()
            ));
        },
    )
    .await?;
    if args.json {
        result(&serde_json::to_string(&job)?);
        return Ok(if job.status == codegen_contract::JobStatus::Succeeded {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    match (job.result, job.error) {
        (Some(generated), _) => {
            result(&generated.code);
            if let Some(loc) = &generated.s3 {
                progress(format!(
                    "stored at {} ({}, {})",
                    loc.uri, generated.language, generated.model
                ));
            }
            for w in &generated.warnings {
                progress(format!("warning: {w}"));
            }
            Ok(Exit::Success)
        }
        (None, Some(e)) => anyhow::bail!("job {job_id} failed: {}: {}", e.code, e.message),
        (None, None) => anyhow::bail!("job {job_id} ended without a result or an error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("4 the change needs approval"), "{help}");
    }
}
