//! Processes the deployer and its test harnesses start on loopback: a free port to start them on,
//! waiting (on tokio time) until they answer, and stopping their whole process group. The emulator
//! ([`crate::local`]) and the fault proxy of the end-to-end suites are started this way; each runs
//! in its own process group, so stopping the group also stops what it spawned (ministack's Lambda
//! workers). Touches only 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A loopback address with a port nothing listens on right now (the OS's pick). Another process
/// may take it before the caller binds it; callers start a server on it at once.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?)
}

/// Whether something accepts connections on `addr` (asked within 200 ms).
pub(crate) async fn answers(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// Waits on tokio time until something accepts connections on `addr`; fails after `within`,
/// naming `what` and its `log`.
pub async fn wait_until_answering(
    addr: SocketAddr,
    within: Duration,
    what: &str,
    log: &Path,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while !answers(addr).await {
        if Instant::now() > deadline {
            bail!(
                "{what} did not answer on {addr} within {} s; see {}",
                within.as_secs(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A process group this process started and owns, stopped (`stop_group`) when dropped: how the
/// test harnesses hold ministack and the fault proxy, so that a failing test stops them too.
/// (`cargo xtask local up` does not hold one: its emulator outlives the command.)
#[derive(Debug)]
pub struct ProcessGroup {
    pgid: u32,
}

impl ProcessGroup {
    /// Takes ownership of group `pgid` (a process started with `process_group(0)`).
    pub fn adopt(pgid: u32) -> Self {
        Self { pgid }
    }

    /// The process-group id (also the leader's pid).
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// Hands the group over without stopping it (`local up`: the emulator outlives the command);
    /// returns its id.
    pub(crate) fn release(self) -> u32 {
        let pgid = self.pgid;
        std::mem::forget(self);
        pgid
    }

    /// Stops the group now, on tokio's blocking pool ([`stop`]).
    pub(crate) async fn stop(self) {
        stop(self.release()).await;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        stop_group(self.pgid);
    }
}

/// Stops a process group (SIGTERM, then SIGKILL after 3 s), blocking the calling thread while it
/// waits: for `Drop` and synchronous callers. Async code calls [`stop`].
pub(crate) fn stop_group(pgid: u32) {
    let group = format!("-{pgid}");
    signal(&group, "-TERM");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if !group_alive(&group) || only_zombies_left(pgid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&group, "-KILL");
}

/// [`stop_group`] on tokio's blocking pool, so that the wait does not block an async worker (if
/// the pool cannot run it, the group is stopped from the calling thread instead).
pub(crate) async fn stop(pgid: u32) {
    if let Err(err) = tokio::task::spawn_blocking(move || stop_group(pgid)).await {
        // The blocking task panicked or was cancelled: stop the group from here rather than not
        // at all.
        crate::report::progress(format!(
            "stopping process group {pgid} on the blocking pool failed ({err}); stopping it here"
        ));
        stop_group(pgid);
    }
}

/// Sends `sig` to `group` (`-<pgid>`); a group that is already gone is not an error.
fn signal(group: &str, sig: &str) {
    if let Err(err) = Command::new("kill")
        .args([sig, "--", group])
        .stderr(Stdio::null())
        .status()
    {
        crate::report::progress(format!("could not run `kill {sig} -- {group}`: {err}"));
    }
}

fn group_alive(group: &str) -> bool {
    Command::new("kill")
        .args(["-0", "--", group])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether every process left in group `pgid` has exited and only waits to be reaped by its
/// parent (a zombie still answers `kill -0`; this process, which started the emulator and never
/// waits for it, would otherwise wait the whole grace period). `false` where `/proc` is missing.
fn only_zombies_left(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    let mut members = 0;
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the parenthesised name: state, ppid, pgrp, ...
        let mut fields = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace();
        let (state, pgrp) = (fields.next(), fields.nth(1));
        if pgrp != Some(pgid.to_string().as_str()) {
            continue;
        }
        if state != Some("Z") {
            return false;
        }
        members += 1;
    }
    members > 0
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    use super::*;

    #[test]
    fn a_dropped_group_is_stopped_with_its_children() {
        // A shell in its own group that starts a child and waits: both must be gone after drop.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 60 & wait"])
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let pgid = child.id();
        let group = ProcessGroup::adopt(pgid);
        assert!(group_alive(&format!("-{pgid}")));
        let started = Instant::now();
        drop(group);
        let status = child.wait().expect("the shell is reaped");
        assert_eq!(status.signal(), Some(15), "stopped by SIGTERM: {status:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "waited for the SIGKILL grace period: {:?}",
            started.elapsed()
        );
        assert!(
            !group_alive(&format!("-{pgid}")) || only_zombies_left(pgid),
            "a member of group {pgid} outlived it"
        );
    }

    #[tokio::test]
    async fn a_released_group_keeps_running_until_stopped() {
        let mut child = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .expect("sleep starts");
        let pgid = ProcessGroup::adopt(child.id()).release();
        assert_eq!(pgid, child.id());
        assert!(
            child.try_wait().expect("status").is_none(),
            "released, not stopped"
        );
        ProcessGroup::adopt(pgid).stop().await;
        let status = child.wait().expect("reaped");
        assert_eq!(status.signal(), Some(15), "{status:?}");
    }

    #[tokio::test]
    async fn waiting_for_a_port_nobody_opens_fails_naming_it() {
        let addr = free_loopback_addr().expect("port");
        let err = wait_until_answering(
            addr,
            Duration::from_millis(100),
            "nothing",
            Path::new("nothing.log"),
        )
        .await
        .expect_err("nobody listens");
        let text = err.to_string();
        assert!(
            text.contains(&addr.to_string()) && text.contains("nothing.log"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_listener_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        assert!(answers(addr).await);
        wait_until_answering(addr, Duration::from_secs(1), "listener", Path::new("-"))
            .await
            .expect("answers");
    }
}
