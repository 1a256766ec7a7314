//! `cargo xtask watch` end to end, in a scratch copy of the workspace (sharing this checkout's
//! target directory, so only the workspace crates compile) against a ministack that the watch
//! starts itself: the first deploy; a one-line change in the prompt rebuilt with the fast profile,
//! hotswapped into every function of the stack and served by both the synchronous route and the
//! jobs route (the worker runs the new code too); a README edit that triggers no build and no swap; a stop in the middle
//! of a build; and afterwards no cargo, emulator or Lambda process left running.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen_infra::config::AuthMode;
use e2e_tests::{free_port, note, request, root};
use tokio::sync::mpsc::UnboundedReceiver;
use xtask::aws::ConnectOptions;
use xtask::outputs::RESOLVED_INVOKE_URL;
use xtask::package::BuildProfile;
use xtask::watch::{Action, WatchEvent, WatchOptions};

/// Copies the checkout's sources to a scratch directory whose cargo builds go to this checkout's
/// target directory, with the pinned tools linked in.
fn scratch_workspace() -> anyhow::Result<PathBuf> {
    let src = root();
    // Outside the target directory: cargo records the sources of a package that lies inside its
    // target directory relative to that directory, so two scratch copies there would share (and
    // confuse) their freshness checks.
    let dst = std::env::temp_dir().join(format!("codegen-watch-test-{}", std::process::id()));
    if dst.exists() {
        std::fs::remove_dir_all(&dst)?;
    }
    copy_tree(&src, &dst)?;
    let target = src.join("target");
    let config = dst.join(".cargo").join("config.toml");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str(&format!(
        "\n[build]\ntarget-dir = \"{}\"\n",
        target.display()
    ));
    std::fs::write(&config, text)?;
    for venv in [".venv", ".venv-lint"] {
        if let Ok(real) = src.join(venv).canonicalize() {
            std::os::unix::fs::symlink(real, dst.join(venv))?;
        }
    }
    Ok(dst)
}

fn copy_tree(src: &Path, dst: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let keep = name_str == ".cargo" || !(name_str.starts_with('.') || name_str == "target");
            if keep {
                copy_tree(&entry.path(), &dst.join(&name))?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), dst.join(&name))?;
        }
    }
    Ok(())
}

/// Waits for the first event `want` accepts, returning it and everything before it.
async fn wait_for(
    events: &mut UnboundedReceiver<WatchEvent>,
    within: Duration,
    what: &str,
    want: impl Fn(&WatchEvent) -> bool,
) -> anyhow::Result<(WatchEvent, Vec<WatchEvent>)> {
    let deadline = Instant::now() + within;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no {what} within {within:?}; saw {before:?}"))?
            .ok_or_else(|| anyhow::anyhow!("watch ended before {what}; saw {before:?}"))?;
        if let Some(line) = xtask::watch::event_line(&event) {
            note(&format!("watch: {line}"));
        }
        if let WatchEvent::Failed { error } = &event {
            anyhow::bail!("watch reported a failure while waiting for {what}: {error}");
        }
        if want(&event) {
            return Ok((event, before));
        }
        before.push(event);
    }
}

/// Processes whose command line or working directory mentions `dir`.
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        let is_pid = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let cmdline = std::fs::read(path.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cwd = std::fs::read_link(path.join("cwd"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(&needle) {
            found.push(format!("{}: {cmdline}", path.display()));
        }
    }
    found
}

/// The code a job for `message` generates (the jobs route: submit, then the worker).
async fn job_code(
    scratch: &Path,
    connect: &ConnectOptions,
    message: &str,
) -> anyhow::Result<String> {
    let (_, clients, outputs) = xtask::outputs::read(scratch, "local", connect).await?;
    let url = outputs
        .get(RESOLVED_INVOKE_URL)
        .ok_or_else(|| anyhow::anyhow!("no invoke URL"))?;
    let submitted = xtask::invoke::submit_job(
        &clients,
        AuthMode::AwsIam,
        url,
        &request(message, "python"),
        None,
    )
    .await?;
    anyhow::ensure!(submitted.status == 202, "{}", submitted.body);
    let submitted: codegen_contract::SubmitResponse = serde_json::from_str(&submitted.body)?;
    let job = xtask::invoke::wait_for_job(
        &clients,
        AuthMode::AwsIam,
        url,
        &submitted.job_id,
        Duration::from_secs(120),
        |_| {},
    )
    .await?;
    match job.result {
        Some(result) => Ok(result.code),
        None => anyhow::bail!("job did not succeed: {:?} {:?}", job.status, job.error),
    }
}

async fn generated_code(
    scratch: &Path,
    connect: &ConnectOptions,
    message: &str,
) -> anyhow::Result<(String, Option<String>)> {
    let (_, clients, outputs) = xtask::outputs::read(scratch, "local", connect).await?;
    let url = outputs
        .get(RESOLVED_INVOKE_URL)
        .ok_or_else(|| anyhow::anyhow!("no invoke URL"))?;
    let response =
        xtask::invoke::invoke(&clients, AuthMode::AwsIam, url, &request(message, "python")).await?;
    let build = response.build.clone();
    Ok((xtask::invoke::expect_success(&response)?.code, build))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_rebuilds_swaps_ignores_and_stops_cleanly() -> anyhow::Result<()> {
    let scratch = scratch_workspace()?;
    let port = free_port()?;
    let connect = ConnectOptions::emulator(format!("http://127.0.0.1:{port}"));
    let mut opts = WatchOptions::new("local");
    opts.connect = connect.clone();
    // The first deploy creates IAM roles, which needs approval; there is no terminal here.
    opts.yes = true;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut task = tokio::spawn({
        let scratch = scratch.clone();
        async move {
            xtask::watch::watch(
                &scratch,
                &opts,
                async {
                    let _ = stopped.await;
                },
                move |event| {
                    let _ = tx.send(event);
                },
            )
            .await
        }
    });
    let mut stop = Some(stop);
    let outcome = exercise(&scratch, &connect, port, &mut events, &mut stop, &mut task).await;
    if let Some(stop) = stop.take() {
        // A failure above: stop the watch all the same, so it stops its build and emulator.
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(60), &mut task).await;
    }
    outcome?;
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}

async fn exercise(
    scratch: &Path,
    connect: &ConnectOptions,
    port: u16,
    events: &mut UnboundedReceiver<WatchEvent>,
    stop: &mut Option<tokio::sync::oneshot::Sender<()>>,
    task: &mut tokio::task::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    // The first deploy: built with the fast profile (an emulator stage), stack created. On a clean
    // target directory this compiles the function's dependencies in that profile.
    let (watching, before) = wait_for(events, Duration::from_secs(1500), "watching", |e| {
        matches!(e, WatchEvent::Watching { .. })
    })
    .await?;
    assert!(
        matches!(
            watching,
            WatchEvent::Watching {
                profile: BuildProfile::Fast,
                files
            } if files > 10
        ),
        "{watching:?}"
    );
    assert!(
        before
            .iter()
            .any(|e| matches!(e, WatchEvent::Cycle(c) if c.action == Action::Deploy && c.result == xtask::deploy::DeployResult::Created)),
        "{before:?}"
    );
    let (code_before, _) = generated_code(scratch, connect, "binary search").await?;

    // A one-line change in the prompt: rebuilt, hotswapped, and the API serves the new prompt
    // (ministack's Bedrock mock answers with a hash of the prompt it was sent).
    let prompt = scratch
        .join("crates")
        .join("function")
        .join("src")
        .join("prompt.rs");
    let text = std::fs::read_to_string(&prompt)?;
    let marker = "You are an expert {display} programmer";
    assert!(text.contains(marker), "prompt.rs changed shape");
    std::fs::write(
        &prompt,
        text.replacen(marker, "You are a careful, expert {display} programmer", 1),
    )?;
    let saved = Instant::now();
    let (swapped, before) = wait_for(
        events,
        Duration::from_secs(600),
        "a hotswap",
        |e| matches!(e, WatchEvent::Cycle(c) if c.action == Action::Hotswap),
    )
    .await?;
    let WatchEvent::Cycle(cycle) = swapped else {
        unreachable!("matched above")
    };
    assert_eq!(
        cycle.result,
        xtask::deploy::DeployResult::Hotswapped,
        "{cycle:?}"
    );
    assert_eq!(
        cycle.files,
        ["crates/function/src/prompt.rs"],
        "one cycle for the one file"
    );
    assert!(cycle.build.is_some(), "a rebuild: {cycle:?}");
    assert!(
        before
            .iter()
            .any(|e| matches!(e, WatchEvent::BuildStarted { .. })),
        "{before:?}"
    );
    assert!(
        cycle.update_wait.is_some(),
        "the swap waited for the update: {cycle:?}"
    );
    let (code_after, _) = generated_code(scratch, connect, "binary search").await?;
    note(&format!(
        "save -> new prompt served: {} ms (cycle: {cycle})",
        saved.elapsed().as_millis()
    ));
    assert_ne!(
        code_before, code_after,
        "the function must run the new prompt after the swap"
    );
    // The worker is a function of its own: the swap updated it too, so a job runs the new prompt
    // (the mock's answer depends only on the prompt, so the same message gives the same code).
    let job_after = job_code(scratch, connect, "binary search").await?;
    assert_eq!(
        job_after, code_after,
        "the jobs route must serve the edit: the worker runs the swapped code"
    );

    // A README edit: seen, and nothing built or swapped.
    let readme = scratch.join("README.md");
    let mut text = std::fs::read_to_string(&readme)?;
    text.push_str("\nEdited by the watch test.\n");
    std::fs::write(&readme, text)?;
    let (ignored, _) = wait_for(events, Duration::from_secs(30), "the README change", |e| {
        matches!(e, WatchEvent::Changed { .. })
    })
    .await?;
    assert!(
        matches!(&ignored, WatchEvent::Changed { files, action: Action::Nothing } if files == &["README.md".to_owned()]),
        "{ignored:?}"
    );
    let quiet = tokio::time::timeout(Duration::from_secs(3), events.recv()).await;
    assert!(
        quiet.is_err(),
        "a README edit must trigger nothing: {quiet:?}"
    );
    let (same, _) = generated_code(scratch, connect, "binary search").await?;
    assert_eq!(same, code_after);

    // A change, then a stop while it builds: the build's process group is stopped, the emulator
    // the watch started is stopped, nothing is left.
    let text = std::fs::read_to_string(&prompt)?;
    std::fs::write(
        &prompt,
        text.replacen("careful, expert", "careful, expert and terse", 1),
    )?;
    let (build, _) = wait_for(events, Duration::from_secs(60), "a build", |e| {
        matches!(e, WatchEvent::BuildStarted { .. })
    })
    .await?;
    let WatchEvent::BuildStarted { pgid } = build else {
        unreachable!("matched above")
    };
    let t = Instant::now();
    if let Some(stop) = stop.take() {
        let _ = stop.send(());
    }
    tokio::time::timeout(Duration::from_secs(60), task).await???;
    note(&format!(
        "stopped in {} ms during a build",
        t.elapsed().as_millis()
    ));
    let group_alive = std::process::Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(std::process::Stdio::null())
        .status()?
        .success();
    assert!(!group_alive, "cargo-lambda's process group {pgid} survived");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the emulator the watch started still answers on {port}"
    );
    let left = processes_under(scratch);
    assert!(left.is_empty(), "left running: {left:?}");
    Ok(())
}
