//! `watch`: the inner loop. Deploys the stage once, then polls the checkout; when a saved change
//! touches the function's sources (or a workspace crate the function depends on) it rebuilds the
//! function (the fast `lambda-fast` profile on emulator stages) and hotswaps it; when it touches
//! the stack definition or the stage file it runs a normal deploy; anything else (a README edit)
//! triggers nothing. One line per cycle on stdout: what changed, build time, swap time, and how
//! long after the save the new code was ready.
//!
//! IO: reads file metadata under the checkout (polling, see [`POLL_INTERVAL`]), runs `cargo
//! metadata` once, runs cargo-lambda in its own process group (stopped when the loop is told to
//! stop, so Ctrl-C leaves no compiler behind), deploys through [`crate::deploy`]. For an emulator
//! stage it uses the emulator that answers on the stage's endpoint, or starts ministack there (as
//! `deploy` does) and then stops it again when the loop ends.
//!
//! Why polling rather than OS file notifications (the `notify` crate): the checkout is about 130
//! files outside `target/`, whose metadata this loop reads in about 0.5 ms (the test
//! `a_snapshot_of_this_checkout_is_cheap_enough_to_poll`); polling every 200 ms adds at most
//! 0.2 s to a cycle that is bounded by the build, works
//! the same on every platform and file system (network and container mounts included), and adds
//! no dependency to the deployer's clean-clone compile.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use codegen_infra::StageConfig;
use serde::Deserialize;

use crate::aws::ConnectOptions;
use crate::deploy::{DeployOptions, DeployOutcome, DeployReport};
use crate::local;
use crate::package::{self, BuildPlan, BuildProfile, Package};
use crate::process;
use crate::report::{Exit, progress, result};

/// How often the checkout is polled for changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long the checkout must stay unchanged after a change before a cycle starts: an editor's
/// "save all", a formatter run or a `git checkout` is one cycle, not one per file.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// `cargo xtask watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Stage name: a file infra/stages/<stage>.yaml. Emulator stages, and AWS stages whose file
    /// sets `function.allow_hotswap: true` (hotswapping replaces code outside CloudFormation);
    /// any other stage is refused.
    #[arg(long, short)]
    stage: String,
    /// Approve, without asking, what the normal deploys that a stack change triggers would ask
    /// about (as `deploy --yes`). Without it such a deploy is skipped with the reason, and
    /// watching goes on.
    #[arg(long, short)]
    yes: bool,
    /// Cargo profile of the builds: `fast` (the default on emulator stages) or `release` (the
    /// default on AWS stages).
    #[arg(long, value_enum)]
    build_profile: Option<BuildProfile>,
    /// Endpoint of an AWS emulator (overrides AWS_ENDPOINT_URL and the stage's endpoint).
    #[arg(long)]
    endpoint: Option<String>,
    /// Region (overrides the stage's region).
    #[arg(long)]
    region: Option<String>,
    /// Named profile from the shared AWS config files.
    #[arg(long, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// Do not print the stack's log lines (every function's and the access log's, from the
    /// moment `watch` starts; see `cargo xtask logs`).
    #[arg(long)]
    no_logs: bool,
}

/// Options of [`watch`].
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Stage name.
    pub stage: String,
    /// Use this validated stage instead of reading `infra/stages/<stage>.yaml`.
    pub stage_config: Option<StageConfig>,
    /// Approve what normal deploys would ask about.
    pub yes: bool,
    /// Cargo profile (`None`: [`BuildProfile::for_stage`]).
    pub build_profile: Option<BuildProfile>,
    /// Where to connect.
    pub connect: ConnectOptions,
    /// How often to poll ([`POLL_INTERVAL`]).
    pub poll: Duration,
    /// Quiet time before a cycle starts ([`DEBOUNCE`]).
    pub debounce: Duration,
}

impl WatchOptions {
    /// Options for `stage` with the default polling and no overrides.
    pub fn new(stage: &str) -> Self {
        Self {
            stage: stage.to_owned(),
            stage_config: None,
            yes: false,
            build_profile: None,
            connect: ConnectOptions::default(),
            poll: POLL_INTERVAL,
            debounce: DEBOUNCE,
        }
    }
}

/// What a set of changed files calls for, in increasing order of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Nothing the function or the stack is built from changed.
    Nothing,
    /// Only the function's inputs changed: rebuild and hotswap.
    Hotswap,
    /// The stack definition or the stage file changed (or the last deploy did not finish): a
    /// normal deploy, which rebuilds too.
    Deploy,
}

/// What the loop reports, in order.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// The first deploy finished (or failed, see [`WatchEvent::Failed`]) and the loop is watching
    /// `files` files.
    Watching {
        /// Files whose changes are looked at.
        files: usize,
        /// Profile of the builds.
        profile: BuildProfile,
    },
    /// Changed files were found (after [`DEBOUNCE`]) and are handled as `action`.
    Changed {
        /// Paths relative to the checkout.
        files: Vec<String>,
        /// What they call for.
        action: Action,
    },
    /// cargo-lambda was started in process group `pgid`.
    BuildStarted {
        /// Its process-group id.
        pgid: u32,
    },
    /// A cycle finished: the new code is deployed.
    Cycle(CycleReport),
    /// A cycle failed (the build or the deploy); the loop goes on watching.
    Failed {
        /// What failed, with the error.
        error: String,
    },
    /// The loop was told to stop and has stopped its build.
    Stopped,
}

/// One finished cycle.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// Changed files (empty for the first deploy).
    pub files: Vec<String>,
    /// Hotswap or normal deploy.
    pub action: Action,
    /// Profile of the build.
    pub profile: BuildProfile,
    /// Build time (`None`: nothing to build, the binary was up to date).
    pub build: Option<Duration>,
    /// Time of the hotswap or deploy, the build excluded.
    pub deploy: Duration,
    /// Of `deploy`, the time spent waiting for Lambda to finish the code update.
    pub update_wait: Option<Duration>,
    /// Whether the stage is an emulator (its update wait is the emulator's fixed delay).
    pub emulator: bool,
    /// From the save (the newest changed file's modification time) to the new code being
    /// deployed; `None` for the first deploy.
    pub ready: Option<Duration>,
    /// The deploy's result (`hotswapped`, `unchanged`, `updated`, `created`).
    pub result: String,
}

impl fmt::Display for CycleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.files.is_empty() {
            f.write_str("initial deploy: ")?;
        } else {
            write!(f, "{} changed: ", summarise(&self.files))?;
        }
        match self.build {
            Some(d) => write!(
                f,
                "built in {:.1} s ({})",
                d.as_secs_f64(),
                self.profile.cargo_profile()
            )?,
            None => write!(f, "build up to date ({})", self.profile.cargo_profile())?,
        }
        let verb = match self.action {
            Action::Hotswap => "swapped",
            _ => "deployed",
        };
        write!(
            f,
            ", {verb} ({}) in {:.2} s",
            self.result,
            self.deploy.as_secs_f64()
        )?;
        if let Some(wait) = self.update_wait {
            if self.emulator {
                write!(
                    f,
                    " ({:.2} s of it waiting for the emulator's code update, which ministack holds \
                     InProgress for a fixed 0.5 s)",
                    wait.as_secs_f64()
                )?;
            } else {
                write!(
                    f,
                    " ({:.2} s of it waiting for Lambda to finish the code update)",
                    wait.as_secs_f64()
                )?;
            }
        }
        match self.ready {
            Some(d) => write!(f, "; ready {:.1} s after the save", d.as_secs_f64()),
            None => f.write_str("; ready"),
        }
    }
}

fn summarise(files: &[String]) -> String {
    match files {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// The one line [`command`] prints for an event (`None`: nothing on stdout).
pub fn event_line(event: &WatchEvent) -> Option<String> {
    match event {
        WatchEvent::Watching { files, profile } => Some(format!(
            "watching {files} files (builds: {}); Ctrl-C stops",
            profile.cargo_profile()
        )),
        WatchEvent::Changed {
            files,
            action: Action::Nothing,
        } => Some(format!(
            "{} changed: not an input of the function or the stack; nothing to do",
            summarise(files)
        )),
        WatchEvent::Changed { .. } | WatchEvent::BuildStarted { .. } => None,
        WatchEvent::Cycle(report) => Some(report.to_string()),
        WatchEvent::Failed { error } => {
            Some(format!("failed: {error}; watching for the next change"))
        }
        WatchEvent::Stopped => Some("stopped".to_owned()),
    }
}

/// Runs `cargo xtask watch` until Ctrl-C.
pub async fn command(root: &Path, args: WatchArgs) -> anyhow::Result<Exit> {
    let opts = WatchOptions {
        stage: args.stage,
        stage_config: None,
        yes: args.yes,
        build_profile: args.build_profile,
        connect: ConnectOptions {
            endpoint: args.endpoint,
            region: args.region,
            profile: args.profile,
            // Hotswapping replaces code outside CloudFormation, which the bootstrap's deploy role
            // may not do: `watch` always runs with the caller's own credentials.
            assume_role: None,
        },
        poll: POLL_INTERVAL,
        debounce: DEBOUNCE,
    };
    let shutdown = async {
        // An error here means no signal handler could be installed: then only the process's
        // termination stops the loop, as before this command existed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    // The log lines of requests made while watching, read beside the loop (and dropped with it).
    let tail = if args.no_logs {
        None
    } else {
        let cfg = codegen_infra::load_stage(root, &opts.stage)?;
        Some(tokio::spawn(crate::logs::tail_for_watch(
            cfg,
            opts.connect.clone(),
            crate::logs::now_ms(),
            result,
        )))
    };
    let watched = watch(root, &opts, shutdown, |event| {
        if let Some(line) = event_line(&event) {
            result(line);
        }
    })
    .await;
    if let Some(tail) = tail {
        tail.abort();
    }
    watched?;
    Ok(Exit::Success)
}

/// The parts of the checkout that the function and the stack are built from, relative to the
/// checkout: the source directories and manifests of the workspace crates each depends on
/// (from `cargo metadata`), the workspace manifest and lock file, and the stage file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// A change here rebuilds the function.
    pub function: Vec<PathBuf>,
    /// A change here needs a normal deploy.
    pub stack: Vec<PathBuf>,
}

/// Files of the workspace itself that decide the function binary (as in
/// [`package::source_fingerprint`]).
const WORKSPACE_BUILD_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
    "rust-toolchain.toml",
    "tools/requirements.txt",
];

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
}

#[derive(Debug, Deserialize)]
struct MetaPackage {
    name: String,
    manifest_path: PathBuf,
    dependencies: Vec<MetaDependency>,
}

#[derive(Debug, Deserialize)]
struct MetaDependency {
    kind: Option<String>,
    path: Option<PathBuf>,
}

impl Inputs {
    /// Reads the workspace's crate graph (`cargo metadata --no-deps`) and derives the inputs.
    pub fn of_workspace(root: &Path, stage: &str) -> anyhow::Result<Self> {
        let out = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()))
            .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
            .current_dir(root)
            .stderr(Stdio::inherit())
            .output()
            .context("failed to run cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed ({})", out.status);
        }
        let root = root
            .canonicalize()
            .with_context(|| format!("failed to resolve {}", root.display()))?;
        Self::from_metadata(&root, &out.stdout, stage)
    }

    /// [`Inputs::of_workspace`] from `cargo metadata` output (pure).
    pub fn from_metadata(root: &Path, metadata: &[u8], stage: &str) -> anyhow::Result<Self> {
        let meta: Metadata =
            serde_json::from_slice(metadata).context("failed to read cargo metadata")?;
        let crate_inputs = |start: &str| -> anyhow::Result<Vec<PathBuf>> {
            let mut dirs = BTreeSet::new();
            let mut todo = vec![
                meta.packages
                    .iter()
                    .find(|p| p.name == start)
                    .with_context(|| format!("the workspace has no package {start}"))?,
            ];
            while let Some(package) = todo.pop() {
                let Some(dir) = package.manifest_path.parent() else {
                    continue;
                };
                if !dirs.insert(dir.to_path_buf()) {
                    continue;
                }
                for dep in &package.dependencies {
                    // Dev-dependencies do not go into the binary or the template.
                    if dep.kind.as_deref() == Some("dev") {
                        continue;
                    }
                    if let Some(path) = &dep.path
                        && let Some(found) = meta
                            .packages
                            .iter()
                            .find(|p| p.manifest_path.parent() == Some(path.as_path()))
                    {
                        todo.push(found);
                    }
                }
            }
            let mut inputs = Vec::new();
            for dir in dirs {
                let rel = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
                for part in ["src", "Cargo.toml", "build.rs"] {
                    inputs.push(rel.join(part));
                }
            }
            Ok(inputs)
        };
        let mut function = crate_inputs(package::FUNCTION_PACKAGE)?;
        function.extend(WORKSPACE_BUILD_FILES.iter().map(PathBuf::from));
        let mut stack = crate_inputs("codegen-infra")?;
        stack.push(codegen_infra::config::stages_dir(Path::new("")).join(format!("{stage}.yaml")));
        Ok(Self { function, stack })
    }

    /// What a change to `path` (relative to the checkout) calls for.
    pub fn classify(&self, path: &Path) -> Action {
        let under = |set: &[PathBuf]| set.iter().any(|input| path.starts_with(input));
        if under(&self.stack) {
            Action::Deploy
        } else if under(&self.function) {
            Action::Hotswap
        } else {
            Action::Nothing
        }
    }

    /// What a set of changes calls for: the most any of them does.
    pub fn classify_all<'a>(&self, paths: impl IntoIterator<Item = &'a String>) -> Action {
        paths
            .into_iter()
            .map(|p| self.classify(Path::new(p)))
            .max()
            .unwrap_or(Action::Nothing)
    }
}

/// A file's modification time and size, as polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Modification time.
    pub modified: Option<SystemTime>,
    /// Size in bytes.
    pub len: u64,
}

/// Every file of the checkout by relative path, except build output, tool environments, VCS and
/// editor files: `target/`, `node_modules/`, anything whose name starts with `.` (`.git`,
/// `.venv`, `.ministack`, `.prompt.rs.swp`; `.cargo/` is kept), and names ending in `~`.
pub fn snapshot(root: &Path) -> BTreeMap<String, Stamp> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                // `.cargo/config.toml` is a build input; every other hidden directory is not.
                if name == ".cargo"
                    || !(is_ignored_name(&name) || name == "target" || name == "node_modules")
                {
                    dirs.push(path);
                }
            } else if is_ignored_name(&name) {
                continue;
            } else if let Ok(meta) = entry.metadata() {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                files.insert(
                    rel.to_string_lossy().into_owned(),
                    Stamp {
                        modified: meta.modified().ok(),
                        len: meta.len(),
                    },
                );
            }
        }
    }
    files
}

fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with("___jb_tmp___")
}

/// Paths added, removed or changed between two snapshots.
pub fn changed(
    before: &BTreeMap<String, Stamp>,
    after: &BTreeMap<String, Stamp>,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = after
        .iter()
        .filter(|(path, stamp)| before.get(*path) != Some(stamp))
        .map(|(path, _)| path.clone())
        .collect();
    out.extend(
        before
            .keys()
            .filter(|path| !after.contains_key(*path))
            .cloned(),
    );
    out
}

type Shutdown<'a> = Pin<&'a mut (dyn Future<Output = ()> + Send)>;

/// Deploys the stage, then rebuilds and hotswaps (or redeploys) on every change until `shutdown`
/// completes, reporting each step to `emit`. A failed build or deploy is reported and the loop
/// goes on. On shutdown the running build's process group is stopped, and an emulator this loop
/// started is stopped too.
pub async fn watch(
    root: &Path,
    opts: &WatchOptions,
    shutdown: impl Future<Output = ()> + Send,
    mut emit: impl FnMut(WatchEvent),
) -> anyhow::Result<()> {
    let cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if !cfg.allows_hotswap() {
        bail!(
            "watch hotswaps the function, and stage `{}` is on AWS without `function.allow_hotswap: true` \
             in infra/stages/{}.yaml: it replaces the code outside CloudFormation, so only \
             development stages may allow it",
            cfg.name,
            cfg.name
        );
    }
    let inputs = Inputs::of_workspace(root, &cfg.name)?;
    let started_emulator = match (
        &cfg.emulator,
        crate::aws::checked_endpoint(&cfg, &opts.connect)?,
    ) {
        (Some(_), Some(endpoint)) => local::ensure_ministack(root, &endpoint, false).await?,
        _ => None,
    };
    // Stops the emulator this loop started however the loop ends, dropped future included (a
    // `Drop` cannot await: this stops the group from the dropping thread).
    let _emulator = started_emulator.map(|em| {
        OnDrop::new(move || {
            progress(format!(
                "stopping the ministack this watch started (pid {})",
                em.pid
            ));
            process::stop_group(em.pid);
            if let Err(err) = std::fs::remove_file(&em.pid_file) {
                progress(format!("could not remove {}: {err}", em.pid_file.display()));
            }
        })
    });
    let mut shutdown = std::pin::pin!(shutdown);
    run(root, opts, &cfg, &inputs, shutdown.as_mut(), &mut emit).await
}

/// Runs its action when dropped unless [`OnDrop::disarm`]ed: cleanup that must happen however a
/// future ends, including being dropped by its runtime.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(action: F) -> Self {
        Self(Some(action))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}

async fn run(
    root: &Path,
    opts: &WatchOptions,
    cfg: &StageConfig,
    inputs: &Inputs,
    mut shutdown: Shutdown<'_>,
    emit: &mut impl FnMut(WatchEvent),
) -> anyhow::Result<()> {
    let profile = BuildProfile::for_stage(cfg, opts.build_profile);
    let arch = package::choose_architecture(cfg.function.architecture);
    let ctx = Cycle {
        root,
        opts,
        cfg,
        profile,
        arch,
    };
    let mut seen = snapshot(root);
    // Until a normal deploy has succeeded, every change needs one (the stack may be missing or
    // behind its definition).
    let mut needs_deploy = true;
    match ctx
        .run(&[], Action::Deploy, None, shutdown.as_mut(), emit)
        .await
    {
        CycleEnd::Stopped => return stopped(emit),
        CycleEnd::Done => needs_deploy = false,
        CycleEnd::Failed => {}
    }
    let watched = seen
        .keys()
        .filter(|p| inputs.classify(Path::new(p)) != Action::Nothing)
        .count();
    emit(WatchEvent::Watching {
        files: watched,
        profile,
    });
    loop {
        // Wait for a change, then for the checkout to settle.
        let mut files = BTreeSet::new();
        loop {
            tokio::select! {
                () = shutdown.as_mut() => return stopped(emit),
                () = tokio::time::sleep(opts.poll) => {}
            }
            let now = snapshot(root);
            let delta = changed(&seen, &now);
            seen = now;
            if delta.is_empty() {
                if !files.is_empty() {
                    break;
                }
                continue;
            }
            files.extend(delta);
            // Settle: poll until nothing changed for a whole debounce period.
            let mut quiet_since = Instant::now();
            while quiet_since.elapsed() < opts.debounce {
                tokio::select! {
                    () = shutdown.as_mut() => return stopped(emit),
                    () = tokio::time::sleep(opts.poll.min(opts.debounce)) => {}
                }
                let now = snapshot(root);
                let delta = changed(&seen, &now);
                seen = now;
                if !delta.is_empty() {
                    files.extend(delta);
                    quiet_since = Instant::now();
                }
            }
            break;
        }
        let files: Vec<String> = files.into_iter().collect();
        let mut action = inputs.classify_all(&files);
        emit(WatchEvent::Changed {
            files: files.clone(),
            action,
        });
        if action == Action::Nothing {
            continue;
        }
        if needs_deploy {
            action = Action::Deploy;
        }
        let saved = files
            .iter()
            .filter_map(|f| seen.get(f).and_then(|s| s.modified))
            .max();
        match ctx
            .run(&files, action, saved, shutdown.as_mut(), emit)
            .await
        {
            CycleEnd::Stopped => return stopped(emit),
            CycleEnd::Done => {
                if action == Action::Deploy {
                    needs_deploy = false;
                }
            }
            CycleEnd::Failed => {
                if action == Action::Deploy {
                    needs_deploy = true;
                }
            }
        }
    }
}

fn stopped(emit: &mut impl FnMut(WatchEvent)) -> anyhow::Result<()> {
    emit(WatchEvent::Stopped);
    Ok(())
}

enum CycleEnd {
    Done,
    Failed,
    Stopped,
}

struct Cycle<'a> {
    root: &'a Path,
    opts: &'a WatchOptions,
    cfg: &'a StageConfig,
    profile: BuildProfile,
    arch: codegen_infra::config::Architecture,
}

impl Cycle<'_> {
    /// Builds, then hotswaps or deploys; reports the cycle or its failure.
    async fn run(
        &self,
        files: &[String],
        action: Action,
        saved: Option<SystemTime>,
        mut shutdown: Shutdown<'_>,
        emit: &mut impl FnMut(WatchEvent),
    ) -> CycleEnd {
        let what = if action == Action::Hotswap {
            "hotswap"
        } else {
            "deploy"
        };
        // The build watches `shutdown` itself, to stop cargo before returning.
        let (package, build_time) = match self.build(shutdown.as_mut(), emit).await {
            Ok(Some(built)) => built,
            Ok(None) => return CycleEnd::Stopped,
            Err(err) => {
                emit(WatchEvent::Failed {
                    error: format!("build: {err:#}"),
                });
                return CycleEnd::Failed;
            }
        };
        let started = Instant::now();
        let opts = DeployOptions {
            stage: self.cfg.name.clone(),
            yes: self.opts.yes,
            package: Some(package.path.clone()),
            architecture: Some(package.architecture),
            hotswap: action == Action::Hotswap,
            build_profile: Some(self.profile),
            stage_config: Some(self.cfg.clone()),
            connect: self.opts.connect.clone(),
            ..DeployOptions::default()
        };
        let outcome = tokio::select! {
            () = shutdown.as_mut() => return CycleEnd::Stopped,
            outcome = crate::deploy::deploy(self.root, &opts) => outcome,
        };
        let report: DeployReport = match outcome {
            Ok(DeployOutcome::Done(report)) => *report,
            Ok(DeployOutcome::NeedsApproval { reason, .. }) => {
                emit(WatchEvent::Failed {
                    error: format!("{what} not done: {reason} (or run watch with --yes)"),
                });
                return CycleEnd::Failed;
            }
            Err(err) => {
                emit(WatchEvent::Failed {
                    error: format!("{what}: {err:#}"),
                });
                return CycleEnd::Failed;
            }
        };
        let deploy = started.elapsed();
        let ready = saved.map(|t| SystemTime::now().duration_since(t).unwrap_or_default());
        emit(WatchEvent::Cycle(CycleReport {
            files: files.to_vec(),
            action,
            profile: self.profile,
            build: build_time,
            deploy,
            update_wait: report
                .timings_ms
                .get("hotswap_wait")
                .map(|ms| Duration::from_millis(u64::try_from(*ms).unwrap_or(u64::MAX))),
            emulator: self.cfg.emulator.is_some(),
            ready,
            result: report.result,
        }));
        CycleEnd::Done
    }

    /// Builds the function unless its inputs are unchanged. `Ok(None)`: stopped by `shutdown`
    /// (cargo-lambda's whole process group is stopped first).
    async fn build(
        &self,
        mut shutdown: Shutdown<'_>,
        emit: &mut impl FnMut(WatchEvent),
    ) -> anyhow::Result<Option<(Package, Option<Duration>)>> {
        let plan = BuildPlan::new(self.root, self.arch, None, self.profile)?;
        let started = Instant::now();
        if plan.up_to_date {
            return Ok(Some((plan.finish(started)?, None)));
        }
        let mut cmd = plan.command()?;
        // Its own process group: Ctrl-C in the terminal reaches only this process, which then
        // stops cargo-lambda, cargo, rustc and the linker together.
        cmd.process_group(0).stdin(Stdio::null());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .context("failed to start cargo-lambda")?;
        let pgid = child.id().context("cargo-lambda exited at once")?;
        // Stops the whole group (cargo, rustc, the linker) however this future ends; dropping
        // `child` alone would kill only cargo-lambda.
        let group = OnDrop::new(move || process::stop_group(pgid));
        emit(WatchEvent::BuildStarted { pgid });
        let status = tokio::select! {
            () = shutdown.as_mut() => {
                // Terminate the group, then reap cargo-lambda (until it is reaped it counts as
                // alive), then make sure of the rest (SIGKILL after 3 s).
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", "--", &format!("-{pgid}")])
                    .status();
                let _ = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;
                drop(group);
                return Ok(None);
            }
            status = child.wait() => status.context("failed to wait for cargo-lambda")?,
        };
        group.disarm();
        if !status.success() {
            bail!("cargo lambda build failed ({status}); the compiler's messages are above");
        }
        let build_time = started.elapsed();
        Ok(Some((plan.finish(started)?, Some(build_time))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(root: &str) -> String {
        let pkg = |name: &str, dir: &str, deps: &[(&str, Option<&str>)]| {
            let deps: Vec<serde_json::Value> = deps
                .iter()
                .map(|(path, kind)| {
                    serde_json::json!({"name": "x", "kind": kind, "path": format!("{root}/{path}")})
                })
                .collect();
            serde_json::json!({
                "name": name,
                "manifest_path": format!("{root}/{dir}/Cargo.toml"),
                "dependencies": deps,
            })
        };
        serde_json::json!({"packages": [
            pkg("codegen-contract", "crates/contract", &[]),
            pkg("codegen-function", "crates/function", &[("crates/contract", None), ("crates/testkit", Some("dev"))]),
            pkg("testkit", "crates/testkit", &[]),
            pkg("cfn-constructs", "crates/constructs", &[]),
            pkg("codegen-infra", "infra", &[("crates/constructs", None), ("crates/contract", None)]),
            pkg("xtask", "xtask", &[("infra", None)]),
        ]})
        .to_string()
    }

    #[test]
    fn changes_are_classified_by_what_depends_on_them() {
        let inputs = Inputs::from_metadata(Path::new("/w"), metadata("/w").as_bytes(), "local")
            .expect("inputs");
        let of = |p: &str| inputs.classify(Path::new(p));
        assert_eq!(of("crates/function/src/prompt.rs"), Action::Hotswap);
        assert_eq!(of("crates/function/Cargo.toml"), Action::Hotswap);
        assert_eq!(of("Cargo.lock"), Action::Hotswap);
        // The contract is in both the function and the stack: a normal deploy (which builds).
        assert_eq!(of("crates/contract/src/lib.rs"), Action::Deploy);
        assert_eq!(of("crates/constructs/src/s3.rs"), Action::Deploy);
        assert_eq!(of("infra/src/stack.rs"), Action::Deploy);
        assert_eq!(of("infra/stages/local.yaml"), Action::Deploy);
        // Not inputs: docs, tests, other stages, the deployer, dev-dependencies.
        for path in [
            "README.md",
            "BENCHMARKS.md",
            "crates/function/tests/handler.rs",
            "crates/function/examples/handler_overhead.rs",
            "infra/stages/dev.yaml",
            "infra/templates/local.template.yaml",
            "xtask/src/deploy.rs",
            "crates/testkit/src/lib.rs",
        ] {
            assert_eq!(of(path), Action::Nothing, "{path}");
        }
        let batch = [
            "README.md".to_owned(),
            "crates/function/src/prompt.rs".to_owned(),
        ];
        assert_eq!(inputs.classify_all(&batch), Action::Hotswap);
        let batch = [
            "infra/stages/local.yaml".to_owned(),
            "crates/function/src/prompt.rs".to_owned(),
        ];
        assert_eq!(inputs.classify_all(&batch), Action::Deploy);
        assert_eq!(inputs.classify_all(&[]), Action::Nothing);
    }

    fn stage(name: &str, edit: impl FnOnce(String) -> String) -> StageConfig {
        let path =
            codegen_infra::config::stages_dir(&crate::project_root()).join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(path).expect("stage file");
        codegen_infra::config::parse_stage(name, "test", &edit(text)).expect("valid stage")
    }

    #[tokio::test]
    async fn aws_stages_are_refused_unless_their_file_allows_hotswap() {
        let mut opts = WatchOptions::new("dev");
        opts.stage_config = Some(stage("dev", |t| t.replace("  allow_hotswap: true\n", "")));
        let mut events = Vec::new();
        let err = watch(&crate::project_root(), &opts, std::future::pending(), |e| {
            events.push(e)
        })
        .await
        .expect_err("refused");
        assert!(
            err.to_string().contains("function.allow_hotswap: true"),
            "{err}"
        );
        assert!(events.is_empty(), "nothing ran: {events:?}");
    }

    #[test]
    fn a_workspace_without_the_function_is_an_error() {
        let err = Inputs::from_metadata(Path::new("/w"), br#"{"packages": []}"#, "local")
            .expect_err("no function");
        assert!(err.to_string().contains("codegen-function"), "{err}");
    }

    #[test]
    fn snapshots_see_edits_additions_and_removals_but_not_build_output() {
        let dir = std::env::temp_dir().join(format!("codegen-watch-{}", std::process::id()));
        let src = dir.join("crates").join("function").join("src");
        std::fs::create_dir_all(&src).expect("dirs");
        std::fs::create_dir_all(dir.join("target").join("debug")).expect("dirs");
        std::fs::create_dir_all(dir.join(".ministack")).expect("dirs");
        std::fs::create_dir_all(dir.join(".cargo")).expect("dirs");
        std::fs::write(dir.join(".cargo").join("config.toml"), "a").expect("write");
        std::fs::write(src.join("prompt.rs"), "a").expect("write");
        std::fs::write(dir.join("README.md"), "a").expect("write");
        let before = snapshot(&dir);
        assert_eq!(
            before.keys().cloned().collect::<Vec<_>>(),
            [
                ".cargo/config.toml",
                "README.md",
                "crates/function/src/prompt.rs"
            ]
        );
        // Noise that must not count: build output, emulator logs, editor swap and backup files.
        std::fs::write(dir.join("target").join("debug").join("x"), "b").expect("write");
        std::fs::write(dir.join(".ministack").join("log"), "b").expect("write");
        std::fs::write(src.join(".prompt.rs.swp"), "b").expect("write");
        std::fs::write(src.join("prompt.rs~"), "b").expect("write");
        assert!(changed(&before, &snapshot(&dir)).is_empty());
        std::fs::write(src.join("prompt.rs"), "ab").expect("write");
        std::fs::write(src.join("new.rs"), "").expect("write");
        std::fs::remove_file(dir.join("README.md")).expect("remove");
        let after = snapshot(&dir);
        assert_eq!(
            changed(&before, &after).into_iter().collect::<Vec<_>>(),
            [
                "README.md",
                "crates/function/src/new.rs",
                "crates/function/src/prompt.rs"
            ]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    #[allow(clippy::print_stderr)] // The figure quoted in BENCHMARKS.md.
    fn a_snapshot_of_this_checkout_is_cheap_enough_to_poll() {
        let root = crate::project_root();
        let _warm = snapshot(&root);
        let started = Instant::now();
        let files = snapshot(&root);
        let took = started.elapsed();
        eprintln!("snapshot: {} files in {took:?}", files.len());
        assert!(
            files.contains_key("crates/function/src/prompt.rs"),
            "{files:?}"
        );
        assert!(files.contains_key("Cargo.lock"));
        assert!(!files.keys().any(|f| f.starts_with("target/")));
        assert!(
            took < POLL_INTERVAL / 4,
            "{took:?} for {} files: too slow to poll every {POLL_INTERVAL:?}",
            files.len()
        );
    }

    #[test]
    fn a_cycle_is_one_line_with_its_times() {
        let report = CycleReport {
            files: vec!["crates/function/src/prompt.rs".to_owned()],
            action: Action::Hotswap,
            profile: BuildProfile::Fast,
            build: Some(Duration::from_millis(5_800)),
            deploy: Duration::from_millis(640),
            update_wait: Some(Duration::from_millis(510)),
            emulator: true,
            ready: Some(Duration::from_millis(6_900)),
            result: "hotswapped".to_owned(),
        };
        let line = report.to_string();
        assert_eq!(
            line,
            "crates/function/src/prompt.rs changed: built in 5.8 s (lambda-fast), swapped \
             (hotswapped) in 0.64 s (0.51 s of it waiting for the emulator's code update, which \
             ministack holds InProgress for a fixed 0.5 s); ready 6.9 s after the save"
        );
        assert!(!line.contains('\n'));
        let first = CycleReport {
            files: vec![],
            action: Action::Deploy,
            build: None,
            update_wait: None,
            ready: None,
            result: "created".to_owned(),
            ..report
        };
        assert_eq!(
            first.to_string(),
            "initial deploy: build up to date (lambda-fast), deployed (created) in 0.64 s; ready"
        );
        let ignored = WatchEvent::Changed {
            files: vec!["README.md".to_owned(), "docs/x.md".to_owned()],
            action: Action::Nothing,
        };
        assert_eq!(
            event_line(&ignored).as_deref(),
            Some(
                "README.md and 1 more changed: not an input of the function or the stack; nothing to do"
            )
        );
    }
}
