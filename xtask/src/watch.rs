//! `watch`: the inner loop. Deploys the stage once, then polls the checkout; when a saved change
//! touches the function's sources (or a workspace crate the function depends on) it rebuilds the
//! function (the fast `lambda-fast` profile on emulator stages) and hotswaps it; when it touches
//! the stack definition or the stage file it runs a normal deploy; anything else (a README edit)
//! triggers nothing. One line per cycle on stdout: what changed, build time, swap time, and how
//! long after the save the new code was ready.
//!
//! IO: reads file metadata under the checkout (polling, see `POLL_INTERVAL`), runs `cargo
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
//!
//! The command and its options live here; the parts of the loop each have a module: what a
//! change calls for (`inputs`), polling the checkout (`snapshot`), what the
//! loop reports (`events`), the loop itself (`run`) and one build-and-deploy cycle (`cycle`).

mod cycle;
pub(crate) mod events;
pub(crate) mod inputs;
mod on_drop;
mod run;
pub(crate) mod snapshot;

use std::path::Path;
use std::time::Duration;

use codegen_infra::StageConfig;

use crate::aws::ConnectOptions;
use crate::package::BuildProfile;
use crate::report::{Exit, result};

pub use events::{CycleReport, WatchEvent, event_line};
pub use inputs::Action;
pub(crate) use inputs::Inputs;
pub use run::watch;

/// How often the checkout is polled for changes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long the checkout must stay unchanged after a change before a cycle starts: an editor's
/// "save all", a formatter run or a `git checkout` is one cycle, not one per file.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(300);

/// `cargo xtask watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
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
    pub(crate) stage: String,
    /// Use this validated stage instead of reading `infra/stages/<stage>.yaml`.
    pub(crate) stage_config: Option<StageConfig>,
    /// Approve what normal deploys would ask about.
    pub yes: bool,
    /// Cargo profile (`None`: [`BuildProfile::for_stage`]).
    pub(crate) build_profile: Option<BuildProfile>,
    /// Where to connect.
    pub connect: ConnectOptions,
    /// How often to poll ([`POLL_INTERVAL`]).
    pub(crate) poll: Duration,
    /// Quiet time before a cycle starts ([`DEBOUNCE`]).
    pub(crate) debounce: Duration,
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

/// Runs `cargo xtask watch` until Ctrl-C.
pub(crate) async fn command(root: &Path, args: WatchArgs) -> anyhow::Result<Exit> {
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
