//! The microburst fault-injection proxy in front of ministack: started on a free loopback port in
//! its own process group (stopped on drop), with its control API (`/_microburst/rules`,
//! `/_microburst/fired`) wrapped for the fault suites. Touches only 127.0.0.1.
//!
//! Two ways traffic goes through it: ministack is started with the proxy as the `AWS_ENDPOINT_URL`
//! it hands to the Lambda processes it runs (so the function's Bedrock and S3 calls cross it), and
//! the deployer is pointed at it with `--endpoint` (so CloudFormation, S3, Lambda and API Gateway
//! calls cross it). Faults are microburst rules: AWS-shaped error envelopes, latency, holds.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use xtask::aws::ConnectOptions;

use crate::{Emulator, free_port, root, scratch};

/// A running microburst proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: an AWS endpoint that forwards to ministack.
    pub endpoint: String,
    group: xtask::process::ProcessGroup,
    http: reqwest::Client,
}

/// One fault microburst injected (an entry of `/_microburst/fired`).
#[derive(Debug, Clone)]
pub struct Fired {
    /// SigV4 service name (`bedrock`, `s3`, `cloudformation`, ...).
    pub service: String,
    /// Operation, where microburst resolved it.
    pub operation: Option<String>,
    /// What it did: `error:<code>`, `latency:<ms>`, `timeout:<ms>`, ...
    pub action: String,
}

impl FaultProxy {
    /// Starts microburst on `addr`, forwarding to `upstream`, and waits until its control API
    /// answers. Requests are never re-signed: ministack checks the client's own signature.
    pub async fn start(addr: SocketAddr, upstream: &str) -> anyhow::Result<Self> {
        let binary = xtask::local::microburst(&root())?;
        let log_path = scratch().join(format!("microburst-{}.log", addr.port()));
        std::fs::create_dir_all(scratch())?;
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(&binary)
            .args(["--upstream", upstream, "--no-resign"])
            .args(["--host", &addr.ip().to_string()])
            .args(["--port", &addr.port().to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let group = xtask::process::ProcessGroup::adopt(child.id());
        let proxy = Self {
            endpoint: format!("http://{addr}"),
            group,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        };
        xtask::process::wait_until_answering(
            addr,
            Duration::from_secs(30),
            "microburst",
            &log_path,
        )
        .await?;
        Ok(proxy)
    }

    /// Process-group id of the proxy.
    pub fn pgid(&self) -> u32 {
        self.group.pgid()
    }

    /// Connection options that send the deployer's calls through the proxy.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions::emulator(self.endpoint.clone())
    }

    fn control(&self, path: &str) -> String {
        format!("{}/_microburst/{path}", self.endpoint)
    }

    /// A control-API document (`rules`, `fired`) as JSON.
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.http
            .get(self.control(path))
            .send()
            .await
            .with_context(|| format!("failed to read microburst's {path}"))?
            .json()
            .await
            .with_context(|| format!("microburst's {path} is not JSON"))
    }

    /// Replaces every rule with `rules` (a JSON array of microburst rules) and clears the log of
    /// fired faults, so [`Self::fired`] reports only what these rules did.
    pub async fn set_rules(&self, rules: Value) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(self.control("rules"))
            .body(rules.to_string())
            .send()
            .await
            .context("failed to set microburst rules")?;
        if !resp.status().is_success() {
            bail!(
                "microburst refused the rules ({}): {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        self.http
            .delete(self.control("fired"))
            .send()
            .await
            .context("failed to clear microburst's fired log")?;
        Ok(())
    }

    /// Removes every rule: the proxy then forwards everything untouched.
    pub async fn clear(&self) -> anyhow::Result<()> {
        self.set_rules(Value::Array(Vec::new())).await
    }

    /// The faults injected since the rules were last set.
    pub async fn fired(&self) -> anyhow::Result<Vec<Fired>> {
        let list = self.get("fired").await?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(list
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|f| Fired {
                service: text(f, "service").unwrap_or_default(),
                operation: text(f, "operation"),
                action: text(f, "action").unwrap_or_default(),
            })
            .collect())
    }

    /// How many times the current rules have matched so far. Unlike [`Self::fired`] (written when
    /// a fault completes), this counts a hold as soon as it has caught its request.
    pub async fn hits(&self) -> anyhow::Result<u64> {
        let rules = self.get("rules").await?;
        Ok(rules
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.get("fired_count").and_then(Value::as_u64))
            .sum())
    }

    /// Waits until the current rules have matched at least `n` times (a hold has caught its
    /// request, say).
    pub async fn wait_for_hits(&self, n: u64, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            // A control request that times out on a loaded machine (the proxy is one Python
            // process) is retried until the deadline, and reported if it is the last word.
            match self.hits().await {
                Ok(hits) if hits >= n => return Ok(()),
                Ok(hits) if Instant::now() > deadline => {
                    bail!("expected {n} rule matches within {within:?}, saw {hits}")
                }
                Err(err) if Instant::now() > deadline => return Err(err),
                Ok(_) | Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// ministack with microburst in front of it: the Lambda functions ministack runs reach AWS
/// through the proxy, and so does any client given [`FaultProxy::connect_options`].
pub struct FaultyEmulator {
    /// ministack itself (direct, fault-free access for the test's own checks).
    pub emulator: Emulator,
    /// The proxy.
    pub proxy: FaultProxy,
}

impl FaultyEmulator {
    /// Starts both on free loopback ports.
    pub async fn start(auth: bool) -> anyhow::Result<Self> {
        let ms_port = free_port()?;
        let mut mb_port = free_port()?;
        while mb_port == ms_port {
            mb_port = free_port()?;
        }
        let ms_addr = SocketAddr::from(([127, 0, 0, 1], ms_port));
        let mb_addr = SocketAddr::from(([127, 0, 0, 1], mb_port));
        let emulator =
            Emulator::start_advertising(ms_addr, auth, &format!("http://{mb_addr}")).await?;
        let proxy = FaultProxy::start(mb_addr, &emulator.endpoint).await?;
        Ok(Self { emulator, proxy })
    }

    /// Deploys the `local` stage without its `quotas` section. Seen on this machine
    /// (2026-12-08, microburst 0.10.0 in front of ministack 1.5.33): the function's first
    /// DynamoDB request after a cold start sits in the proxy for about 4 s before the proxy
    /// connects upstream, past the budget store's 2 s operation timeout, so every first request
    /// answered `503 budget_unavailable`; the same request straight to ministack takes
    /// milliseconds (tests/tests/quotas.rs). These suites inject S3, Bedrock and CloudFormation
    /// faults; budgets are tested without the proxy. Not understood yet: see the closing note.
    pub async fn deploy_without_budgets(
        &self,
        package: &std::path::Path,
    ) -> anyhow::Result<xtask::deploy::DeployReport> {
        let stage =
            crate::local_stage_with(|text| text.replace("quotas:\n  daily_usd: 100\n", ""))?;
        anyhow::ensure!(
            stage.quotas.is_none(),
            "the local stage's quotas section moved"
        );
        self.emulator.deploy_stage(package, stage).await
    }

    /// An invoke URL that reached the deployer through the proxy, pointed at ministack directly,
    /// so the test's own requests to the API are never faulted.
    pub fn direct_url(&self, url: &str) -> String {
        url.replacen(&self.proxy.endpoint, &self.emulator.endpoint, 1)
    }
}
