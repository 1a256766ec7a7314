//! The stage file's `function:` section and the time budget its timeout must leave. Pure.

use codegen_contract::RepairMode;
use serde::Deserialize;

use super::checks::check_range;
use super::error::StageError;

/// API Gateway's hard limit for a synchronous integration, in seconds. The function must finish
/// before it, or the caller gets a bare 503 instead of the function's own error.
pub const API_GATEWAY_TIMEOUT_SECONDS: u32 = 30;

/// Milliseconds the function keeps after the model call for the S3 write and its response.
pub const AFTER_MODEL_BUDGET_MS: u32 = 4000;

/// The shortest function timeout that leaves the model at least a second after that budget.
pub const MIN_FUNCTION_TIMEOUT_SECONDS: u32 = AFTER_MODEL_BUDGET_MS / 1000 + 1;

/// CPU architecture of the function (and of the binary that is built for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Architecture {
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
    /// Graviton.
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The Rust target triple cargo-lambda builds for it.
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}
/// Function settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Preferred architecture; the deployer falls back to `x86_64` when it cannot build arm64.
    pub architecture: Architecture,
    /// 128..=10240.
    pub memory_mb: u32,
    /// 1..API Gateway's 30 s.
    pub timeout_seconds: u32,
    /// Reserved concurrency: a ceiling on parallel model calls (cost control).
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// Largest accepted `message`, in bytes.
    pub max_message_bytes: u32,
    /// Whether `deploy --hotswap` may replace the function code directly, bypassing
    /// CloudFormation (the stack drifts until the next normal deploy). Emulator stages always
    /// may; a real AWS stage only when its file says `allow_hotswap: true`.
    #[serde(default)]
    pub allow_hotswap: bool,
    /// When the generated code does not parse: `once` asks the model one more time with the
    /// parser's diagnostics (one extra model call at most, inside the route's time budget, the
    /// version with fewer errors kept); `off` (the default) stores and returns it with its
    /// diagnostics. Passed to the function as `CODEGEN_REPAIR`.
    #[serde(default)]
    pub repair: RepairMode,
}

/// Memory, timeout (inside API Gateway's limit, leaving the model and S3 their share), reserved
/// concurrency and message size.
pub(super) fn validate_function(
    f: &FunctionConfig,
    invalid: &impl Fn(&str, String) -> StageError,
) -> Result<(), StageError> {
    check_range(
        invalid,
        "function.memory_mb",
        f64::from(f.memory_mb),
        128.0,
        10240.0,
    )?;
    if f.timeout_seconds < MIN_FUNCTION_TIMEOUT_SECONDS
        || f.timeout_seconds >= API_GATEWAY_TIMEOUT_SECONDS
    {
        return Err(invalid(
            "function.timeout_seconds",
            format!(
                "is {}: must be {MIN_FUNCTION_TIMEOUT_SECONDS}..={} to finish before API Gateway's \
                 {API_GATEWAY_TIMEOUT_SECONDS} s limit while leaving the model at least 1 s and S3 {} s",
                f.timeout_seconds,
                API_GATEWAY_TIMEOUT_SECONDS - 1,
                AFTER_MODEL_BUDGET_MS / 1000
            ),
        ));
    }
    if let Some(rc) = f.reserved_concurrency {
        check_range(
            invalid,
            "function.reserved_concurrency",
            f64::from(rc),
            1.0,
            1000.0,
        )?;
    }
    check_range(
        invalid,
        "function.max_message_bytes",
        f64::from(f.max_message_bytes),
        1.0,
        32768.0,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_stage;
    use crate::config::testing::{DEV, LOCAL, parse};

    #[test]
    fn repair_is_a_typed_stage_setting() {
        assert_eq!(parse(DEV).expect("dev").function.repair, RepairMode::Once);
        let local = parse_stage("local", "local.yaml", LOCAL).expect("local parses");
        assert_eq!(local.function.repair, RepairMode::Once, "local mirrors dev");
        let off = parse(&DEV.replace("  repair: once\n", "  repair: off\n")).expect("valid");
        assert_eq!(off.function.repair, RepairMode::Off);
        let absent = parse(&DEV.replace("  repair: once\n", "")).expect("valid");
        assert_eq!(
            absent.function.repair,
            RepairMode::Off,
            "off unless a stage opts in"
        );
        let err = parse(&DEV.replace("  repair: once\n", "  repair: twice\n"))
            .expect_err("not a mode")
            .to_string();
        assert!(err.contains("repair") || err.contains("twice"), "{err}");
    }
}
