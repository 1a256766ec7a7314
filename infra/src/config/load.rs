//! Finding and reading stage files under `infra/stages/`: the config's only IO.

use std::path::{Path, PathBuf};

use super::error::StageError;
use super::stage::{StageConfig, parse_stage};

/// Directory of the stage files.
pub fn stages_dir(workspace_root: &Path) -> PathBuf {
    workspace_root.join("infra").join("stages")
}

/// Names of the stages that have a file, sorted.
pub fn list_stages(workspace_root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(stages_dir(workspace_root))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "yaml")
                .then(|| path.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .collect();
    names.sort();
    names
}

/// Reads and validates `infra/stages/<stage>.yaml`.
pub fn load_stage(workspace_root: &Path, stage: &str) -> Result<StageConfig, StageError> {
    let valid_name = !stage.is_empty()
        && stage
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let path = stages_dir(workspace_root).join(format!("{stage}.yaml"));
    if !valid_name || !path.is_file() {
        return Err(StageError::UnknownStage {
            stage: stage.to_owned(),
            path,
            available: list_stages(workspace_root).join(", "),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| StageError::Read {
        path: path.clone(),
        source,
    })?;
    let file = format!("infra/stages/{stage}.yaml");
    parse_stage(stage, &file, &text)
}
