//! What can go wrong loading a stage. Pure.

use std::path::PathBuf;

/// What can go wrong loading a stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// No such stage file.
    #[error("unknown stage `{stage}`: no file {path} (available stages: {available})")]
    UnknownStage {
        /// The stage asked for.
        stage: String,
        /// Where it was looked for.
        path: PathBuf,
        /// Stages that exist.
        available: String,
    },
    /// The file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown keys or wrong types.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (names the key and, for unknown keys, the allowed ones).
        message: String,
    },
    /// A value is out of range.
    #[error("{file}: `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted key path, e.g. `function.timeout_seconds`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}
