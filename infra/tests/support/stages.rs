//! The committed stage files (`infra/stages/`), compiled in and parsed, and variants of `dev.yaml`
//! made by text replacement. No IO: the files are read at compile time.

use codegen_infra::config::{StageConfig, parse_stage};

/// `infra/stages/dev.yaml`.
pub const DEV_TEXT: &str = include_str!("../../stages/dev.yaml");
/// `infra/stages/local.yaml` (the emulator stage).
pub const LOCAL_TEXT: &str = include_str!("../../stages/local.yaml");

/// The file of stage `name`, as the deployer passes it to `parse_stage` and its errors name it.
pub fn stage_file(name: &str) -> String {
    format!("infra/stages/{name}.yaml")
}

/// Parses `text` as stage `name` (read from [`stage_file`]); fails the test when it does not
/// parse.
#[track_caller]
pub fn stage_from_text(name: &str, text: &str) -> StageConfig {
    parse_stage(name, &stage_file(name), text)
        .unwrap_or_else(|e| panic!("stage `{name}` must parse: {e}"))
}

/// The committed dev stage.
pub fn dev() -> StageConfig {
    stage_from_text("dev", DEV_TEXT)
}

/// The committed emulator stage.
pub fn local() -> StageConfig {
    stage_from_text("local", LOCAL_TEXT)
}

/// `dev.yaml` with `from` replaced by `to`; fails if `from` does not occur (so a renamed key in
/// the stage file cannot turn a negative test into a silent no-op).
#[track_caller]
pub fn dev_text_with(from: &str, to: &str) -> String {
    assert!(
        DEV_TEXT.contains(from),
        "dev.yaml no longer contains `{from}`: update the test"
    );
    DEV_TEXT.replace(from, to)
}

/// The dev stage deploying a stack named `stack_name` instead of the default one.
pub fn dev_with_stack_name(stack_name: &str) -> StageConfig {
    stage_from_text(
        "dev",
        &dev_text_with(
            "region: us-east-1",
            &format!("region: us-east-1\nstack_name: {stack_name}"),
        ),
    )
}
