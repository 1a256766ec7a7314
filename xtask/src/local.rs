//! The local toolchain and emulator: pinned Python tools in `./.venv` (installed by
//! `tools/install.sh` when missing), and ministack started on loopback in its own process group
//! when nothing answers on the stage's port. Spawns processes; touches only 127.0.0.1.
//!
//! The emulator starts from an empty environment plus an allow-list (`EMULATOR_ENV_ALLOW_LIST`
//! and the settings it is given): ministack hands its own environment to every Lambda process it
//! runs and treats a configured `AWS_ACCESS_KEY_ID` as its root key, so the caller's AWS
//! credentials, CI tokens (`GITHUB_*`, `ACTIONS_*`) and other secrets must never reach it.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::aws::ConnectOptions;
use crate::process;
use crate::report::{Exit, progress, result};

/// `./.venv/bin`.
pub(crate) fn venv_bin(root: &Path) -> PathBuf {
    root.join(".venv").join("bin")
}

/// `PATH` with `./.venv/bin` first (cargo-lambda finds zig there).
pub(crate) fn path_with_venv(root: &Path) -> std::ffi::OsString {
    let mut paths = vec![venv_bin(root)];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// Runs `tools/install.sh runtime` (idempotent: it installs only what is missing): the tools a
/// deploy needs (ministack, cargo-lambda), not the lint tools (`.venv-lint`: cfn-lint, checkov,
/// actionlint), which only CI and a maintainer run, and which a first quickstart would otherwise
/// download and install for nothing.
pub(crate) fn install_tools(root: &Path) -> anyhow::Result<()> {
    progress("installing pinned tools into ./.venv (tools/install.sh runtime)");
    let status = Command::new("bash")
        .arg(root.join("tools").join("install.sh"))
        .arg("runtime")
        .current_dir(root)
        .status()
        .context("failed to run tools/install.sh")?;
    if !status.success() {
        bail!("tools/install.sh failed ({status})");
    }
    Ok(())
}

fn venv_tool(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = venv_bin(root).join(name);
    if !path.is_file() {
        install_tools(root)?;
    }
    if !path.is_file() {
        bail!("{} is missing after tools/install.sh", path.display());
    }
    Ok(path)
}

/// The pinned cargo-lambda.
pub(crate) fn cargo_lambda(root: &Path) -> anyhow::Result<PathBuf> {
    venv_tool(root, "cargo-lambda")
}

/// The pinned microburst (AWS fault-injection proxy), for the fault suites.
pub fn microburst(root: &Path) -> anyhow::Result<PathBuf> {
    venv_tool(root, "microburst")
}

/// Host and port of a loopback `http://127.x.x.x:port` endpoint.
pub(crate) fn loopback_addr(endpoint: &str) -> anyhow::Result<SocketAddr> {
    let rest = endpoint
        .strip_prefix("http://")
        .with_context(|| format!("emulator endpoint `{endpoint}` must start with http://"))?;
    let host_port = rest.trim_end_matches('/');
    let host_port = host_port.replacen("localhost", "127.0.0.1", 1);
    let addr: SocketAddr = host_port.parse().with_context(|| {
        format!("emulator endpoint `{endpoint}` must be http://127.0.0.1:<port>")
    })?;
    if !addr.ip().is_loopback() {
        bail!("emulator endpoint `{endpoint}` is not a loopback address");
    }
    Ok(addr)
}

/// A ministack process this module started.
#[derive(Debug, Clone)]
pub(crate) struct Emulator {
    /// Its process id, which is also its process-group id.
    pub(crate) pid: u32,
    /// Its log file.
    pub(crate) log: PathBuf,
    /// The file holding its pid (what `local down` reads).
    pub(crate) pid_file: PathBuf,
}

/// State directory for emulators started from this checkout.
pub(crate) fn state_dir(root: &Path) -> PathBuf {
    root.join(".ministack")
}

/// The clients for a stage ([`crate::aws::try_connect`]), with ministack started first on an
/// emulator stage's endpoint unless something already answers there: what every command that
/// changes a stack starts from.
pub(crate) async fn connect_starting_emulator(
    root: &Path,
    cfg: &codegen_infra::StageConfig,
    opts: &ConnectOptions,
) -> anyhow::Result<crate::aws::Clients> {
    let clients = crate::aws::try_connect(cfg, opts).await?;
    if cfg.emulator.is_some()
        && let Some(endpoint) = &clients.endpoint
    {
        ensure_ministack(root, endpoint, false).await?;
        if cfg.account.is_some() {
            crate::aws::check_account(&clients, cfg).await?;
        }
    }
    Ok(clients)
}

/// Starts ministack on `endpoint` unless something already answers there.
/// Returns `None` when one was already running.
pub(crate) async fn ensure_ministack(
    root: &Path,
    endpoint: &str,
    auth: bool,
) -> anyhow::Result<Option<Emulator>> {
    let addr = loopback_addr(endpoint)?;
    if process::answers(addr).await {
        return Ok(None);
    }
    let advertised = format!("http://{addr}");
    let (group, emulator) =
        start_ministack(root, addr, auth, &state_dir(root), &advertised).await?;
    // Left running: `local down`, or the command that started it, stops it.
    group.release();
    Ok(Some(emulator))
}

/// What the emulator may inherit from the caller's environment: where things are (`HOME`), the
/// locale and time zone, and ministack's own region, account and warm-worker settings. Everything
/// else is dropped; `PATH`, `TMPDIR` and ministack's bind, port, endpoint and auth settings are set
/// by [`emulator_env`].
pub(crate) const EMULATOR_ENV_ALLOW_LIST: &[&str] = &[
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "MINISTACK_REGION",
    "MINISTACK_ACCOUNT_ID",
    "LAMBDA_WARM_TTL_SECONDS",
];

/// The emulator's whole environment: the allow-listed variables of `parent` (the caller's
/// environment) and the settings ministack needs. Pure.
pub(crate) fn emulator_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    path: OsString,
    addr: SocketAddr,
    auth: bool,
    tmp: &Path,
    advertised: &str,
    model: SocketAddr,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(name, _)| {
            EMULATOR_ENV_ALLOW_LIST
                .iter()
                .any(|allowed| OsStr::new(allowed) == name)
        })
        .collect();
    let set: [(&str, OsString); 7] = [
        ("PATH", path),
        ("TMPDIR", tmp.as_os_str().to_owned()),
        ("BIND_HOST", addr.ip().to_string().into()),
        ("GATEWAY_PORT", addr.port().to_string().into()),
        // ministack's Lambda processes reach AWS here (the emulator, or a fault proxy before it).
        ("AWS_ENDPOINT_URL", advertised.into()),
        ("AUTH", if auth { "true" } else { "false" }.into()),
        // ministack's Bedrock forwards Converse here, to the local stage's canned model
        // (tools/local_model.py), and answers with its own mock if that fails.
        (
            "MINISTACK_BEDROCK_PROXY_URL",
            format!("http://{model}").into(),
        ),
    ];
    env.extend(set.into_iter().map(|(k, v)| (OsString::from(k), v)));
    env
}

/// Starts ministack on `addr` in its own process group, writing its log and pid under `dir`, and
/// waits (on tokio time) until it answers. The Lambda functions it runs reach AWS at `advertised`
/// (their `AWS_ENDPOINT_URL`): ministack itself, or a fault-injection proxy that forwards to it.
/// The caller owns the group: dropping it stops the emulator, [`process::ProcessGroup::release`]
/// leaves it running.
pub(crate) async fn start_ministack(
    root: &Path,
    addr: SocketAddr,
    auth: bool,
    dir: &Path,
    advertised: &str,
) -> anyhow::Result<(process::ProcessGroup, Emulator)> {
    let binary = venv_tool(root, "ministack")?;
    let tmp = dir.join(format!("tmp-{}", addr.port()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("failed to create {}", tmp.display()))?;
    let log = dir.join(format!("ministack-{}.log", addr.port()));
    let log_file = std::fs::File::create(&log)
        .with_context(|| format!("failed to create {}", log.display()))?;
    let endpoint = format!("http://{addr}");
    let model = process::free_loopback_addr()?;
    let mut cmd = Command::new(&binary);
    cmd.env_clear()
        .envs(emulator_env(
            std::env::vars_os(),
            path_with_venv(root),
            addr,
            auth,
            &tmp,
            advertised,
            model,
        ))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        // Its own process group: ministack spawns Lambda workers, and stopping the group stops them all.
        .process_group(0);
    let child = cmd
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    // Stops the emulator however this function ends before it is handed over: an error, or the
    // future dropped while it waits.
    let group = process::ProcessGroup::adopt(child.id());
    let pid = group.pgid();
    let pid_file = dir.join(format!("ministack-{}.pid", addr.port()));
    std::fs::write(&pid_file, pid.to_string())
        .with_context(|| format!("failed to write {}", pid_file.display()))?;
    progress(format!(
        "started ministack on {endpoint} (pid {pid}, auth {auth}, log {})",
        log.display()
    ));
    let started = match start_local_model(root, model, pid, dir) {
        Ok(model_log) => {
            process::wait_until_answering(addr, Duration::from_secs(30), "ministack", &log).await?;
            process::wait_until_answering(
                model,
                Duration::from_secs(10),
                "the local model",
                &model_log,
            )
            .await
        }
        Err(err) => Err(err),
    };
    if let Err(err) = started {
        group.stop().await;
        // A stale pid file would make a later `local down` signal a group id that may be reused.
        if let Err(remove) = std::fs::remove_file(&pid_file) {
            progress(format!("could not remove {}: {remove}", pid_file.display()));
        }
        return Err(err);
    }
    Ok((group, Emulator { pid, log, pid_file }))
}

/// Starts the local stage's canned model (`tools/local_model.py`, with the venv's Python) on
/// `addr`, in the emulator's process group `pgid` so that stopping the emulator stops it too;
/// returns its log file.
fn start_local_model(
    root: &Path,
    addr: SocketAddr,
    pgid: u32,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let python = venv_tool(root, "python")?;
    let log = dir.join(format!("local-model-{}.log", addr.port()));
    let log_file = std::fs::File::create(&log)
        .with_context(|| format!("failed to create {}", log.display()))?;
    Command::new(&python)
        .arg(root.join("tools").join("local_model.py"))
        .arg(addr.to_string())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(i32::try_from(pgid).context("process group id out of range")?)
        .spawn()
        .with_context(|| format!("failed to start {} tools/local_model.py", python.display()))?;
    Ok(log)
}

/// Stops the ministack this checkout started on `port` (from its pid file).
pub(crate) async fn stop_ministack(root: &Path, port: u16) -> anyhow::Result<bool> {
    let pid_file = state_dir(root).join(format!("ministack-{port}.pid"));
    let Ok(text) = std::fs::read_to_string(&pid_file) else {
        return Ok(false);
    };
    let pid: u32 = text.trim().parse().context("corrupt ministack pid file")?;
    process::stop(pid).await;
    std::fs::remove_file(&pid_file)
        .with_context(|| format!("failed to remove {}", pid_file.display()))?;
    Ok(true)
}

/// ministack on a loopback port, owned by the caller and stopped with its Lambda workers when
/// dropped: the one emulator harness of the test suites (`xtask/tests/cli.rs` and the end-to-end
/// crate), which start one per test on a free port with its files under a scratch directory.
#[derive(Debug)]
pub struct ScopedEmulator {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Its log file.
    pub log: PathBuf,
    group: process::ProcessGroup,
}

impl ScopedEmulator {
    /// Starts ministack on a free loopback port, its files under `scratch/ministack-<port>`;
    /// `auth` turns on IAM enforcement.
    pub async fn start(root: &Path, scratch: &Path, auth: bool) -> anyhow::Result<Self> {
        let addr = process::free_loopback_addr()?;
        Self::start_advertising(root, scratch, addr, auth, &format!("http://{addr}")).await
    }

    /// Starts ministack on `addr`, telling the Lambda functions it runs to reach AWS at
    /// `advertised` (a fault proxy in front of it).
    pub async fn start_advertising(
        root: &Path,
        scratch: &Path,
        addr: SocketAddr,
        auth: bool,
        advertised: &str,
    ) -> anyhow::Result<Self> {
        let dir = scratch.join(format!("ministack-{}", addr.port()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        let (group, em) = start_ministack(root, addr, auth, &dir, advertised).await?;
        Ok(Self {
            endpoint: format!("http://{addr}"),
            log: em.log,
            group,
        })
    }

    /// Process-group id (its Lambda workers are in the same group).
    pub fn pgid(&self) -> u32 {
        self.group.pgid()
    }

    /// Connection options that target this emulator.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions::emulator(self.endpoint.clone())
    }
}

/// Arguments of `local`.
#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    #[command(subcommand)]
    action: LocalAction,
}

/// What `local` does.
#[derive(Debug, Subcommand)]
pub(crate) enum LocalAction {
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

/// Runs `cargo xtask local up|down`.
pub(crate) async fn command(
    root: &std::path::Path,
    args: LocalArgs,
) -> anyhow::Result<crate::report::Exit> {
    let cfg = codegen_infra::load_stage(root, "local")?;
    let endpoint = crate::aws::checked_endpoint(&cfg, &ConnectOptions::default())?
        .ok_or_else(|| anyhow::anyhow!("the local stage has no endpoint"))?;
    match args.action {
        LocalAction::Up { auth } => {
            install_tools(root)?;
            match ensure_ministack(root, &endpoint, auth).await? {
                Some(e) => result(format!(
                    "ministack started on {endpoint} (pid {}, log {})",
                    e.pid,
                    e.log.display()
                )),
                None => result(format!("something already answers on {endpoint}; using it")),
            }
        }
        LocalAction::Down => {
            let port = loopback_addr(&endpoint)?.port();
            if stop_ministack(root, port).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_only() {
        assert_eq!(
            loopback_addr("http://127.0.0.1:4566").expect("ok").port(),
            4566
        );
        assert!(loopback_addr("http://localhost:4566/").is_ok());
        assert!(loopback_addr("http://10.0.0.1:4566").is_err());
        assert!(loopback_addr("https://127.0.0.1:4566").is_err());
    }

    #[test]
    fn the_emulator_gets_the_allow_list_and_its_settings_only() {
        let parent = [
            ("HOME", "/home/ci"),
            ("PATH", "/usr/bin"),
            ("AWS_ACCESS_KEY_ID", "AKIAREALKEY"),
            ("AWS_SECRET_ACCESS_KEY", "leak-me"),
            ("AWS_SESSION_TOKEN", "leak-me"),
            ("AWS_PROFILE", "prod"),
            ("AWS_ENDPOINT_URL", "https://evil.example.com"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "leak-me"),
            ("ACTIONS_RUNTIME_TOKEN", "leak-me"),
            ("GITHUB_TOKEN", "leak-me"),
            ("CARGO_REGISTRY_TOKEN", "leak-me"),
            ("MINISTACK_REGION", "us-east-1"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let addr = SocketAddr::from(([127, 0, 0, 1], 4566));
        let env = emulator_env(
            parent,
            "/venv/bin:/usr/bin".into(),
            addr,
            true,
            Path::new("/tmp/ms"),
            "http://127.0.0.1:4566",
            SocketAddr::from(([127, 0, 0, 1], 4570)),
        );
        let get = |name: &str| {
            env.iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert!(
            env.iter()
                .all(|(_, v)| v != "leak-me" && v != "AKIAREALKEY"),
            "{env:?}"
        );
        for gone in ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "GITHUB_TOKEN"] {
            assert!(get(gone).is_empty(), "{gone} leaked: {env:?}");
        }
        assert_eq!(get("HOME"), ["/home/ci"]);
        assert_eq!(get("MINISTACK_REGION"), ["us-east-1"]);
        assert_eq!(get("PATH"), ["/venv/bin:/usr/bin"]);
        assert_eq!(get("AWS_ENDPOINT_URL"), ["http://127.0.0.1:4566"]);
        assert_eq!(get("GATEWAY_PORT"), ["4566"]);
        assert_eq!(get("BIND_HOST"), ["127.0.0.1"]);
        assert_eq!(get("AUTH"), ["true"]);
        assert_eq!(get("TMPDIR"), ["/tmp/ms"]);
        assert_eq!(
            get("MINISTACK_BEDROCK_PROXY_URL"),
            ["http://127.0.0.1:4570"]
        );
    }
}
