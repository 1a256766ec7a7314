//! Stage configuration: one YAML file per stage under `infra/stages/`, parsed strictly (unknown
//! keys are errors) and validated into a typed [`StageConfig`]. Reads files only in
//! [`load_stage`]; [`parse_stage`] is pure.
//!
//! One module per section of the stage file, each holding the section's type and its validator;
//! `stage.rs` holds the whole file and the validated stage, and calls them in turn.

mod alarms;
mod api;
mod bootstrap;
mod checks;
mod error;
mod function;
mod jobs;
mod load;
mod loopback;
mod model;
mod retention;
mod stage;

pub use alarms::AlarmsConfig;
pub use api::{ApiConfig, AuthMode, ThrottlingConfig, UNAUTHENTICATED_ACKNOWLEDGEMENT};
pub use bootstrap::{BootstrapConfig, GitHubTrust, TRUST_ACCOUNT};
pub use error::StageError;
pub use function::{
    AFTER_MODEL_BUDGET_MS, API_GATEWAY_TIMEOUT_SECONDS, Architecture, FunctionConfig,
    MIN_FUNCTION_TIMEOUT_SECONDS,
};
pub use jobs::JobsConfig;
pub use load::{list_stages, load_stage, stages_dir};
pub use loopback::{is_loopback_http, is_loopback_socket};
pub use model::{ModelConfig, ModelRoute, SamplingConfig};
pub use retention::{BucketConfig, LogsConfig};
pub use stage::{Emulator, StageConfig, parse_stage};

/// The checked-in stage files, for the sections' tests.
#[cfg(test)]
mod testing {
    use super::{StageConfig, StageError, parse_stage};

    pub(super) const DEV: &str = include_str!("../../stages/dev.yaml");
    pub(super) const LOCAL: &str = include_str!("../../stages/local.yaml");

    /// Parses `text` as the dev stage.
    pub(super) fn parse(text: &str) -> Result<StageConfig, StageError> {
        parse_stage("dev", "infra/stages/dev.yaml", text)
    }
}
