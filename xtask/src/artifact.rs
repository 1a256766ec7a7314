//! `package`: builds the function package once, for a pipeline that deploys the same bytes to
//! every stage (`deploy --package ZIP --package-sha256 HEX`). Needs no credentials and no network
//! beyond cargo's: a build job can run it with no cloud access at all. IO: the build, and the zip
//! written to `--out`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::package::{self, BuildProfile};
use crate::report::{Exit, json, result};

/// Arguments of `package`.
#[derive(Debug, Args)]
pub(crate) struct PackageCommandArgs {
    /// The stage whose architecture the package is built for (its stage file's
    /// `function.architecture`; the stages a package is promoted through must agree).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Where to write the zip.
    #[arg(long, value_name = "ZIP")]
    out: PathBuf,
    /// Label compiled into the function (its `x-codegen-build` header); also CODEGEN_BUILD_LABEL.
    #[arg(long, env = "CODEGEN_BUILD_LABEL")]
    build_label: Option<String>,
    /// Print JSON (`path`, `sha256`, `size`, `architecture`) instead of `<sha256>  <path>`.
    #[arg(long)]
    json: bool,
}

/// What `package` wrote.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Artifact {
    /// Where the zip is.
    pub(crate) path: PathBuf,
    /// Hex SHA-256 of the zip.
    pub(crate) sha256: String,
    /// Bytes.
    pub(crate) size: usize,
    /// `arm64` or `x86_64`.
    pub(crate) architecture: String,
}

/// Runs `cargo xtask package`: the release build of the function for the stage's architecture,
/// copied to `--out`.
pub(crate) async fn command(root: &Path, args: PackageCommandArgs) -> anyhow::Result<Exit> {
    let cfg = codegen_infra::load_stage(root, &args.stage)?;
    let arch = package::choose_architecture(cfg.function.architecture);
    let built = tokio::task::block_in_place(|| {
        package::build_with_profile(
            root,
            arch,
            args.build_label.as_deref(),
            BuildProfile::Release,
        )
    })?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    std::fs::write(&args.out, &built.bytes)
        .with_context(|| format!("failed to write {}", args.out.display()))?;
    let artifact = Artifact {
        path: args.out.clone(),
        sha256: built.sha256_hex.clone(),
        size: built.bytes.len(),
        architecture: built.architecture.as_str().to_owned(),
    };
    if args.json {
        json(&artifact)?;
    } else {
        result(format!("{}  {}", artifact.sha256, artifact.path.display()));
    }
    Ok(Exit::Success)
}
