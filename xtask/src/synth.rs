//! `synth`: stage file -> template file. Needs no credentials and no network.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use codegen_infra::render::{Format, render, template_path};

/// Synthesises a stage's template text.
pub fn synth_text(root: &Path, stage: &str, format: Format) -> anyhow::Result<String> {
    let cfg = codegen_infra::load_stage(root, stage)?;
    let template = codegen_infra::stack(&cfg);
    Ok(render(&template, stage, format)?)
}

/// What `synth` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynthOutcome {
    /// The file was written (it changed).
    Written(PathBuf),
    /// The file was already up to date.
    Unchanged(PathBuf),
}

/// Writes the template of `stage` to `infra/templates/`, only touching the file when its content
/// changes. With `check`, fails instead of writing when the file is stale.
pub fn synth_to_file(
    root: &Path,
    stage: &str,
    format: Format,
    check: bool,
) -> anyhow::Result<SynthOutcome> {
    let text = synth_text(root, stage, format)?;
    let path = template_path(root, stage, format);
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
