//! Harness for the end-to-end suites: starts ministack on a free loopback port (its own process
//! group, stopped on drop), builds the function package once per test binary, and lists what a
//! stack left behind. Touches only 127.0.0.1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use codegen_infra::StageConfig;
use codegen_infra::config::Architecture;
use tokio::sync::{Mutex, OnceCell};
use xtask::aws::{Clients, ConnectOptions};
use xtask::deploy::{DeployOptions, DeployOutcome, DeployReport};
use xtask::destroy::{DestroyOptions, DestroyOutcome, DestroyReport};
use xtask::local::ScopedEmulator;
use xtask::package::BuildProfile;

pub mod bedrock_double;
pub mod faults;
pub mod hostile;

/// The workspace root.
pub fn root() -> PathBuf {
    xtask::project_root()
}

/// Scratch directory for e2e runs: `target/e2e`.
pub fn scratch() -> PathBuf {
    root().join("target").join("e2e")
}

/// A ministack process started for one test, stopped (with its Lambda workers) on drop: the
/// deployer's [`ScopedEmulator`] (the one harness `xtask/tests/cli.rs` uses too), with its files
/// under [`scratch`] and the deploy and destroy calls the suites make.
pub struct Emulator {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    scoped: ScopedEmulator,
}

impl Emulator {
    /// Starts ministack on a free loopback port; `auth` turns on IAM enforcement.
    pub async fn start(auth: bool) -> anyhow::Result<Self> {
        Ok(Self::from(
            ScopedEmulator::start(&root(), &scratch(), auth).await?,
        ))
    }

    /// Starts ministack on `addr`, telling the Lambda functions it runs to reach AWS at
    /// `advertised` (a fault proxy in front of it; see [`faults::FaultyEmulator`]).
    pub async fn start_advertising(
        addr: SocketAddr,
        auth: bool,
        advertised: &str,
    ) -> anyhow::Result<Self> {
        Ok(Self::from(
            ScopedEmulator::start_advertising(&root(), &scratch(), addr, auth, advertised).await?,
        ))
    }

    /// Connection options that target this emulator.
    pub fn connect_options(&self) -> ConnectOptions {
        self.scoped.connect_options()
    }

    /// Process-group id of the emulator (its Lambda workers are in the same group).
    pub fn pgid(&self) -> u32 {
        self.scoped.pgid()
    }

    /// Admin clients (the emulator's root credentials) for the `local` stage.
    pub async fn clients(&self) -> anyhow::Result<Clients> {
        let cfg = codegen_infra::load_stage(&root(), "local")?;
        xtask::aws::try_connect(&cfg, &self.connect_options()).await
    }
}

impl Emulator {
    /// Deploys the `local` stage with `package` (approving IAM changes, as `--yes` does).
    pub async fn deploy(&self, package: &Path, hotswap: bool) -> anyhow::Result<DeployReport> {
        deploy_via(self.connect_options(), package, hotswap).await
    }

    /// Deploys a variant of the `local` stage (see [`local_stage_with`]) with `package`.
    pub async fn deploy_stage(
        &self,
        package: &Path,
        stage: StageConfig,
    ) -> anyhow::Result<DeployReport> {
        deploy_with(DeployOptions {
            stage: "local".into(),
            yes: true,
            package: Some(package.to_path_buf()),
            stage_config: Some(stage),
            connect: self.connect_options(),
            ..DeployOptions::default()
        })
        .await
    }

    /// Destroys the `local` stage (`all`: the asset bucket too), as `destroy --yes` does.
    pub async fn destroy(&self, all: bool) -> anyhow::Result<DestroyReport> {
        destroy_via(self.connect_options(), all).await
    }
}

/// Deploys the `local` stage with `package` to wherever `connect` points (approving IAM changes,
/// as `--yes` does).
pub async fn deploy_via(
    connect: ConnectOptions,
    package: &Path,
    hotswap: bool,
) -> anyhow::Result<DeployReport> {
    deploy_with(DeployOptions {
        stage: "local".into(),
        yes: true,
        package: Some(package.to_path_buf()),
        hotswap,
        connect,
        ..DeployOptions::default()
    })
    .await
}

async fn deploy_with(opts: DeployOptions) -> anyhow::Result<DeployReport> {
    match xtask::deploy::deploy(&root(), &opts).await? {
        DeployOutcome::Done(r) => Ok(*r),
        DeployOutcome::NeedsApproval { reason, .. } => {
            anyhow::bail!("unexpected approval request: {reason}")
        }
    }
}

/// The `local` stage with its file's text changed by `edit`, validated exactly as a stage file is
/// (so a test cannot deploy a stage the validation would refuse).
pub fn local_stage_with(edit: impl FnOnce(String) -> String) -> anyhow::Result<StageConfig> {
    let text =
        std::fs::read_to_string(codegen_infra::config::stages_dir(&root()).join("local.yaml"))?;
    Ok(codegen_infra::config::parse_stage(
        "local",
        "infra/stages/local.yaml (edited by a test)",
        &edit(text),
    )?)
}

/// Destroys the `local` stage at wherever `connect` points (`all`: the asset bucket too), as
/// `destroy --yes` does.
pub async fn destroy_via(connect: ConnectOptions, all: bool) -> anyhow::Result<DestroyReport> {
    let opts = DestroyOptions {
        stage: "local".into(),
        yes: true,
        all,
        connect,
        stack_name_override: None,
        stage_config: None,
        production: false,
    };
    match xtask::destroy::destroy(&root(), &opts).await? {
        DestroyOutcome::Done(r) => Ok(r),
        DestroyOutcome::NeedsApproval(reason) => {
            anyhow::bail!("unexpected approval request: {reason}")
        }
    }
}

impl From<ScopedEmulator> for Emulator {
    fn from(scoped: ScopedEmulator) -> Self {
        Self {
            endpoint: scoped.endpoint.clone(),
            scoped,
        }
    }
}

/// The processes the emulator runs for `function` (its warm Lambda workers, in the emulator's
/// process group), with their environments.
pub fn lambda_processes(em: &Emulator, function: &str) -> Vec<(u32, Vec<String>)> {
    let wanted = format!("AWS_LAMBDA_FUNCTION_NAME={function}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        let Some(pid) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Field 5 of /proc/<pid>/stat is the process-group id (after the parenthesised name).
        let pgid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(2));
        if pgid != Some(em.pgid().to_string().as_str()) {
            continue;
        }
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        if vars.iter().any(|v| v == &wanted) {
            found.push((pid, vars));
        }
    }
    found
}

/// Kills (SIGKILL) every process the emulator runs for `function`, as a crash or an OOM would;
/// returns how many it killed.
pub fn kill_lambda_processes(em: &Emulator, function: &str) -> usize {
    lambda_processes(em, function)
        .into_iter()
        .filter(|(pid, _)| {
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        })
        .count()
}

/// The emulator's SDK configuration, signing as `function`'s own execution role (its warm
/// process's credentials, see [`lambda_process_credentials`]), with a path-style S3 client.
pub fn as_function_role(
    em: &Emulator,
    admin: &Clients,
    function: &str,
) -> anyhow::Result<(aws_config::SdkConfig, aws_sdk_s3::Client)> {
    let creds = lambda_process_credentials(em, function)?;
    let sdk = admin
        .sdk
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    Ok((sdk, s3))
}

/// The credentials a warm Lambda worker of `function` runs with (its execution role's session),
/// read from the environment of that process in the emulator's process group.
pub fn lambda_process_credentials(
    em: &Emulator,
    function: &str,
) -> anyhow::Result<aws_credential_types::Credentials> {
    let Some((_, vars)) = lambda_processes(em, function).into_iter().next() else {
        anyhow::bail!(
            "no warm Lambda worker for {function} in process group {}",
            em.pgid()
        );
    };
    let get = |name: &str| {
        vars.iter()
            .find_map(|v| v.strip_prefix(&format!("{name}=")).map(str::to_owned))
            .filter(|v| !v.is_empty())
    };
    let key = get("AWS_ACCESS_KEY_ID").context("worker has no AWS_ACCESS_KEY_ID")?;
    let secret = get("AWS_SECRET_ACCESS_KEY").context("worker has no AWS_SECRET_ACCESS_KEY")?;
    Ok(aws_credential_types::Credentials::new(
        key,
        secret,
        get("AWS_SESSION_TOKEN"),
        None,
        "lambda-worker",
    ))
}

/// `admin`'s clients, signing with `creds` instead (an IAM user's key, a role session): how the
/// suites call the API as another principal.
pub fn signing_as(admin: &Clients, creds: aws_credential_types::Credentials) -> Clients {
    let mut clients = admin.clone();
    clients.sdk = admin
        .sdk
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build();
    clients
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(xtask::process::free_loopback_addr()?.port())
}

static BUILD_LOCK: Mutex<()> = Mutex::const_new(());
static DEFAULT_PACKAGE: OnceCell<PathBuf> = OnceCell::const_new();

/// Environment variable that makes the suites build the function in another profile:
/// `CODEGEN_E2E_BUILD_PROFILE=fast` runs them against the `lambda-fast` build (`.ci/run` does that
/// once for `e2e.rs`); unset or `release`, they test the release build that ships.
pub const BUILD_PROFILE_ENV: &str = "CODEGEN_E2E_BUILD_PROFILE";

/// The profile the suites build the function with (see [`BUILD_PROFILE_ENV`]).
pub fn build_profile() -> BuildProfile {
    match std::env::var(BUILD_PROFILE_ENV).as_deref() {
        Ok("fast") => BuildProfile::Fast,
        _ => BuildProfile::Release,
    }
}

/// Builds the function with cargo-lambda (x86_64: the emulator runs it as a local process) in
/// [`build_profile`] and copies the zip to `target/e2e/<name>.zip`, so later builds cannot change
/// it under a test.
pub async fn build_package(label: Option<&str>) -> anyhow::Result<PathBuf> {
    let _guard = BUILD_LOCK.lock().await;
    let label_owned = label.map(str::to_owned);
    let started = Instant::now();
    let profile = build_profile();
    let package = tokio::task::spawn_blocking(move || {
        xtask::package::build_with_profile(
            &root(),
            Architecture::X86_64,
            label_owned.as_deref(),
            profile,
        )
    })
    .await??;
    let name = match (label, profile) {
        (None, BuildProfile::Release) => "default".to_owned(),
        (Some(l), BuildProfile::Release) => l.to_owned(),
        (l, BuildProfile::Fast) => format!("{}-fast", l.unwrap_or("default")),
    };
    let path = scratch().join(format!("{name}.zip"));
    std::fs::create_dir_all(scratch())?;
    std::fs::copy(&package.path, &path)?;
    report(&format!("build ({name})"), started);
    Ok(path)
}

/// The package built without a label, built once per test binary.
pub async fn default_package() -> anyhow::Result<PathBuf> {
    DEFAULT_PACKAGE
        .get_or_try_init(|| build_package(None))
        .await
        .cloned()
}

/// A package whose code differs from the default one without recompiling: the default
/// `bootstrap` with `tag` appended after the ELF image (the loader ignores trailing bytes), zipped
/// as the deployer zips. A code-only change, as far as Lambda and CloudFormation can tell.
pub async fn variant_package(tag: &str) -> anyhow::Result<PathBuf> {
    default_package().await?;
    let binary_path =
        xtask::package::bootstrap_path_for(&root(), Architecture::X86_64, build_profile());
    let mut binary = std::fs::read(&binary_path)
        .with_context(|| format!("failed to read {}", binary_path.display()))?;
    binary.extend_from_slice(format!("\0codegen-variant:{tag}").as_bytes());
    let path = scratch().join(format!("variant-{tag}.zip"));
    std::fs::write(&path, xtask::package::zip_bootstrap(&binary)?)?;
    Ok(path)
}

/// A request with the service's default sampling.
pub fn request(message: &str, language: &str) -> codegen_contract::GenerateRequest {
    codegen_contract::GenerateRequest {
        message: message.to_owned(),
        key: language.to_owned(),
        temperature: None,
        top_k: None,
        top_p: None,
        max_tokens: None,
    }
}

/// Prints a timing line for the test log.
#[allow(clippy::print_stderr)] // Test output: the timings are the point.
pub fn report(what: &str, started: Instant) {
    eprintln!("e2e timing: {what}: {} ms", started.elapsed().as_millis());
}

/// Prints a line to the test log.
#[allow(clippy::print_stderr)] // Test output.
pub fn note(line: &str) {
    eprintln!("e2e: {line}");
}

/// Everything whose name contains `needle` that the emulator still holds: stacks (not deleted),
/// buckets, roles, functions, APIs and log groups. Empty means nothing was left behind.
pub async fn leftovers(clients: &Clients, needle: &str) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let stacks = clients.cfn.list_stacks().send().await?;
    for s in stacks.stack_summaries() {
        let status = s.stack_status().map(|x| x.as_str()).unwrap_or_default();
        if s.stack_name().unwrap_or_default().contains(needle) && status != "DELETE_COMPLETE" {
            found.push(format!(
                "stack {} ({status})",
                s.stack_name().unwrap_or_default()
            ));
        }
    }
    for b in clients.s3.list_buckets().send().await?.buckets() {
        if b.name().unwrap_or_default().contains(needle) {
            found.push(format!("bucket {}", b.name().unwrap_or_default()));
        }
    }
    for r in clients.iam.list_roles().send().await?.roles() {
        if r.role_name().contains(needle) {
            found.push(format!("role {}", r.role_name()));
        }
    }
    for f in clients.lambda.list_functions().send().await?.functions() {
        if f.function_name().unwrap_or_default().contains(needle) {
            found.push(format!(
                "function {}",
                f.function_name().unwrap_or_default()
            ));
        }
    }
    for a in clients.apigw.get_apis().send().await?.items() {
        if a.name().unwrap_or_default().contains(needle) {
            found.push(format!("api {}", a.name().unwrap_or_default()));
        }
    }
    for g in clients
        .logs
        .describe_log_groups()
        .send()
        .await?
        .log_groups()
    {
        if g.log_group_name().unwrap_or_default().contains(needle) {
            found.push(format!(
                "log group {}",
                g.log_group_name().unwrap_or_default()
            ));
        }
    }
    Ok(found)
}

/// Number of object versions under a prefix (what the function wrote).
pub async fn count_objects(clients: &Clients, bucket: &str, prefix: &str) -> anyhow::Result<usize> {
    let out = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await?;
    Ok(out.versions().len())
}

/// Reads a file under the workspace root.
pub fn read(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(root().join(path))?)
}
