//! Promotion of the same package: `deploy --package-from STAGE` takes the exact package another
//! stage's last deploy recorded (no build), `--package-sha256` checks an artifact's hash, and
//! `cargo xtask runs --stage S [--same-as T]` reads what every function of a stack actually runs
//! (Lambda's `CodeSha256`, so a hotswap on the other stage is seen too, which its deploy record
//! would not show). IO: CloudFormation (ListStackResources), Lambda (GetFunctionConfiguration),
//! S3 (the deploy record and the package object in the other stage's asset bucket).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use clap::Args;
use codegen_infra::StageConfig;
use codegen_infra::names::deployment_record_key;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws::{Clients, ConnectOptions};
use crate::deploy::DeployRecord;
use crate::report::{Exit, json, progress, result};
use crate::{bootstrap, cfn, local};

/// Lambda's `CodeSha256` ("The SHA256 hash of the function's deployment package", base64; Lambda
/// API reference, FunctionConfiguration,
/// <https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html>, checked
/// 2026-12-07) as lowercase hex, the form the deployer names packages by. `None`: not base64 of
/// 32 bytes.
pub(crate) fn code_sha256_hex(code_sha256: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .ok()?;
    (bytes.len() == 32).then(|| hex::encode(bytes))
}

/// Refuses a package whose SHA-256 is not `expected` (an artifact checked against the hash the
/// build job published). Pure.
pub(crate) fn check_package_sha256(actual_hex: &str, expected: &str) -> anyhow::Result<()> {
    if !actual_hex.eq_ignore_ascii_case(expected.trim()) {
        bail!(
            "refusing the package: its SHA-256 is {actual_hex}, not the expected {}",
            expected.trim()
        );
    }
    Ok(())
}

/// Downloads the package that `from`'s last full deploy recorded (its deploy record in its
/// bootstrap's asset bucket), checks that its content hashes to the SHA-256 its key names, and
/// writes it under `target/promote/`. Returns the path.
pub(crate) async fn package_of_stage(
    root: &Path,
    from: &str,
    connect: &ConnectOptions,
) -> anyhow::Result<PathBuf> {
    let cfg = codegen_infra::load_stage(root, from)?;
    let clients = local::connect_starting_emulator(root, &cfg, connect).await?;
    let boot = bootstrap::read(&clients, &cfg).await?.with_context(|| {
        format!("stage `{from}` has no bootstrap, so no deploy record to promote from")
    })?;
    let record = read_record(&clients, &boot.asset_bucket, &boot.account, &cfg.stack_name)
        .await?
        .with_context(|| {
            format!(
                "stage `{from}` has no deploy record ({} in {}): deploy it first",
                deployment_record_key(&cfg.stack_name),
                boot.asset_bucket
            )
        })?;
    let expected = record
        .package
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".zip"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .with_context(|| {
            format!(
                "the deploy record names no package hash: {}",
                record.package
            )
        })?
        .to_owned();
    let object = clients
        .s3
        .get_object()
        .bucket(&boot.asset_bucket)
        .key(&record.package)
        .version_id(&record.package_version)
        .expected_bucket_owner(&boot.account)
        .send()
        .await
        .with_context(|| format!("failed to read {} from stage `{from}`", record.package))?;
    let bytes = object
        .body
        .collect()
        .await
        .context("failed to download the package")?
        .into_bytes();
    check_package_sha256(&hex::encode(Sha256::digest(&bytes)), &expected)?;
    let dir = root.join("target").join("promote");
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let path = dir.join(format!("{expected}.zip"));
    std::fs::write(&path, &bytes).with_context(|| format!("failed to write {}", path.display()))?;
    progress(format!(
        "promoting the package stage `{from}` runs: {expected} ({} bytes)",
        bytes.len()
    ));
    Ok(path)
}

async fn read_record(
    clients: &Clients,
    bucket: &str,
    owner: &str,
    stack: &str,
) -> anyhow::Result<Option<DeployRecord>> {
    let Some(bytes) = crate::deploy::read_record_bytes(&clients.s3, bucket, owner, stack).await?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("the deploy record of {stack} is not one this deployer wrote"))
}

/// What each function of a stack runs: function name -> package SHA-256 (hex).
pub async fn functions_code(
    clients: &Clients,
    stack: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in cfn::stack_resources(&clients.cfn, stack).await? {
        if r.type_name != "AWS::Lambda::Function" || r.physical_id.is_empty() {
            continue;
        }
        let config = clients
            .lambda
            .get_function_configuration()
            .function_name(&r.physical_id)
            .send()
            .await
            .with_context(|| format!("failed to read function {}", r.physical_id))?;
        let code = config.code_sha256().unwrap_or_default();
        let hex = code_sha256_hex(code).with_context(|| {
            format!(
                "function {} reports an unreadable CodeSha256 {code}",
                r.physical_id
            )
        })?;
        out.insert(r.physical_id, hex);
    }
    if out.is_empty() {
        bail!("stack {stack} has no functions (is it deployed?)");
    }
    Ok(out)
}

/// How two stages' functions compare: the packages each runs, and whether they are one and the
/// same. Pure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Function -> package SHA-256 of this stage.
    pub(crate) stage: BTreeMap<String, String>,
    /// Function -> package SHA-256 of the other stage.
    pub(crate) other: BTreeMap<String, String>,
    /// Every function of both stages runs one package, the same one.
    pub same: bool,
}

/// Compares what two stages run. Pure.
pub fn compare(stage: BTreeMap<String, String>, other: BTreeMap<String, String>) -> Comparison {
    let mut packages = stage.values().chain(other.values());
    let first = packages.next().cloned();
    let same = first.is_some() && packages.all(|p| Some(p) == first.as_ref());
    Comparison { stage, other, same }
}

/// Arguments of `runs`.
#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    /// Compare with this stage: exit 0 when every function of both stages runs one and the same
    /// package, 3 when they differ ("prod runs what dev ran"). Read with the same credentials;
    /// `--same-as-profile` reads the other stage with another profile (its own account).
    #[arg(long, value_name = "STAGE")]
    same_as: Option<String>,
    /// Profile for the `--same-as` stage.
    #[arg(long, value_name = "PROFILE", requires = "same_as")]
    same_as_profile: Option<String>,
}

async fn read_stage(
    cfg: &StageConfig,
    connect: &ConnectOptions,
) -> anyhow::Result<BTreeMap<String, String>> {
    let clients = crate::aws::try_connect(cfg, connect).await?;
    functions_code(&clients, &cfg.stack_name).await
}

/// Runs `cargo xtask runs`: what every function of the stage runs, optionally compared with
/// another stage.
pub(crate) async fn command(root: &Path, args: RunsArgs) -> anyhow::Result<Exit> {
    let connect = args.target.connect.options();
    let cfg = codegen_infra::load_stage(root, &args.target.stage)?;
    let mine = read_stage(&cfg, &connect).await?;
    let Some(other_stage) = &args.same_as else {
        if args.target.json {
            json(&mine)?;
        } else {
            for (function, package) in &mine {
                result(format!("{function}  {package}"));
            }
        }
        return Ok(Exit::Success);
    };
    let other_cfg = codegen_infra::load_stage(root, other_stage)?;
    let mut other_connect = connect.clone();
    if args.same_as_profile.is_some() {
        other_connect.profile = args.same_as_profile.clone();
    }
    let theirs = read_stage(&other_cfg, &other_connect).await?;
    let comparison = compare(mine, theirs);
    if args.target.json {
        json(&comparison)?;
    } else {
        for (label, functions) in [
            (cfg.name.as_str(), &comparison.stage),
            (other_cfg.name.as_str(), &comparison.other),
        ] {
            for (function, package) in functions {
                result(format!("{label}: {function}  {package}"));
            }
        }
        result(if comparison.same {
            format!(
                "{} runs what {} runs: one package in every function",
                cfg.name, other_cfg.name
            )
        } else {
            format!("{} and {} run different packages", cfg.name, other_cfg.name)
        });
    }
    Ok(if comparison.same {
        Exit::Success
    } else {
        Exit::ChangesPresent
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_code_hashes_read_as_the_hex_the_packages_are_named_by() {
        let bytes = Sha256::digest(b"a package");
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(code_sha256_hex(&b64), Some(hex::encode(bytes)));
        assert_eq!(code_sha256_hex("not base64!"), None);
        assert_eq!(code_sha256_hex("AAAA"), None, "3 bytes, not 32");
    }

    #[test]
    fn an_artifact_must_hash_to_the_published_sha256() {
        let good = "ab".repeat(32);
        assert!(check_package_sha256(&good, &good.to_uppercase()).is_ok());
        let err = check_package_sha256(&good, &"cd".repeat(32)).expect_err("refused");
        assert!(err.to_string().contains(&good));
    }

    #[test]
    fn stages_are_the_same_only_when_every_function_runs_one_package() {
        let of = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
                .collect()
        };
        assert!(compare(of(&[("a", "1"), ("b", "1")]), of(&[("c", "1")])).same);
        // A hotswap of one function on either side.
        assert!(!compare(of(&[("a", "1"), ("b", "2")]), of(&[("c", "1")])).same);
        assert!(!compare(of(&[("a", "1")]), of(&[("c", "1"), ("d", "2")])).same);
        assert!(!compare(of(&[]), of(&[])).same);
    }
}
