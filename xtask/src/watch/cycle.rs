//! One cycle of the loop: build the function (stopping cargo-lambda's process group when told to
//! stop), then hotswap it or run a normal deploy, and report the cycle. IO: runs cargo-lambda and
//! deploys through [`crate::deploy`].

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use codegen_infra::StageConfig;

use super::on_drop::OnDrop;
use super::{Action, CycleReport, WatchEvent, WatchOptions};
use crate::deploy::{DeployOptions, DeployOutcome, DeployReport};
use crate::package::{BuildPlan, BuildProfile, Package};
use crate::process;

/// What the loop waits on to stop.
pub(super) type Shutdown<'a> = Pin<&'a mut (dyn Future<Output = ()> + Send)>;

/// How a cycle ended.
pub(super) enum CycleEnd {
    Done,
    Failed,
    Stopped,
}

/// What every cycle of one loop shares.
pub(super) struct Cycle<'a> {
    pub(super) root: &'a Path,
    pub(super) opts: &'a WatchOptions,
    pub(super) cfg: &'a StageConfig,
    pub(super) profile: BuildProfile,
    pub(super) arch: codegen_infra::config::Architecture,
}

impl Cycle<'_> {
    /// Builds, then hotswaps or deploys; reports the cycle or its failure.
    pub(super) async fn run(
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
