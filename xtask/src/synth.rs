//! `synth`: stage file -> template file. Needs no credentials and no network.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use codegen_infra::render::{Format, Kind, render, template_path_of};

use crate::report::{Exit, result};

/// Synthesises a stage's app template text.
pub(crate) fn synth_text(root: &Path, stage: &str, format: Format) -> anyhow::Result<String> {
    synth_text_of(root, stage, Kind::App, format)
}

/// Synthesises a stage's template of `kind` as text.
pub(crate) fn synth_text_of(
    root: &Path,
    stage: &str,
    kind: Kind,
    format: Format,
) -> anyhow::Result<String> {
    let cfg = codegen_infra::load_stage(root, stage)?;
    Ok(render(&kind.synthesise(&cfg), stage, format)?)
}

/// What `synth` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SynthOutcome {
    /// The file was written (it changed).
    Written(PathBuf),
    /// The file was already up to date.
    Unchanged(PathBuf),
}

/// Writes both templates of `stage` (app and bootstrap) to `infra/templates/`, only touching a
/// file when its content changes. With `check`, fails instead of writing when a file is stale.
pub(crate) fn synth_to_file(
    root: &Path,
    stage: &str,
    format: Format,
    check: bool,
) -> anyhow::Result<Vec<SynthOutcome>> {
    Kind::ALL
        .iter()
        .map(|kind| synth_kind_to_file(root, stage, *kind, format, check))
        .collect()
}

fn synth_kind_to_file(
    root: &Path,
    stage: &str,
    kind: Kind,
    format: Format,
    check: bool,
) -> anyhow::Result<SynthOutcome> {
    let text = synth_text_of(root, stage, kind, format)?;
    let path = template_path_of(root, stage, kind, format);
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref() == Some(text.as_str()) {
        return Ok(SynthOutcome::Unchanged(path));
    }
    if check {
        bail!(
            "{} is stale: run `cargo xtask synth --stage {stage}` and commit the result",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(SynthOutcome::Written(path))
}

/// Arguments of `synth`.
#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    #[command(flatten)]
    stage: crate::args::StageArg,
    /// Template format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: FormatArg,
    /// Print the template to stdout instead of writing it.
    #[arg(long)]
    stdout: bool,
    /// Fail (exit 1) if the committed template is stale, instead of writing it.
    #[arg(long, conflicts_with = "stdout")]
    check: bool,
}

/// A template format on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    /// YAML (what is committed).
    Yaml,
    /// JSON.
    Json,
}

/// Runs `cargo xtask synth`: writes (or checks, or prints) the stage's templates.
pub(crate) async fn command(
    root: &std::path::Path,
    args: SynthArgs,
) -> anyhow::Result<crate::report::Exit> {
    let format = match args.format {
        FormatArg::Yaml => Format::Yaml,
        FormatArg::Json => Format::Json,
    };
    let started = std::time::Instant::now();
    if args.stdout {
        result(synth_text(root, &args.stage.stage, format)?.trim_end());
        return Ok(Exit::Success);
    }
    for outcome in synth_to_file(root, &args.stage.stage, format, args.check)? {
        match outcome {
            SynthOutcome::Written(p) => result(format!(
                "wrote {} in {} ms",
                p.display(),
                started.elapsed().as_millis()
            )),
            SynthOutcome::Unchanged(p) => result(format!(
                "{} is up to date ({} ms)",
                p.display(),
                started.elapsed().as_millis()
            )),
        }
    }
    Ok(Exit::Success)
}
