//! The loop: checks the stage, starts the emulator if need be, deploys once, then polls the
//! checkout and runs a [`Cycle`] for every settled change until it is told to stop. IO: file
//! metadata (through [`snapshot`]), the emulator's process, and what the cycles do.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use codegen_infra::StageConfig;

use super::cycle::{Cycle, CycleEnd, Shutdown};
use super::on_drop::OnDrop;
use super::snapshot::{changed, snapshot};
use super::{Action, Inputs, WatchEvent, WatchOptions};
use crate::local;
use crate::package::{self, BuildProfile};
use crate::process;
use crate::report::progress;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
