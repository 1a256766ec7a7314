//! The stage file's `thinking` section through the whole stack: parsed and validated against the
//! model catalogue, and turned into the environment every function gets (issue 21). Also the
//! warnings the validation gives for a Legacy model or an account prerequisite.

mod support;

use codegen_contract::env;
use codegen_contract::models::Effort;
use codegen_infra::config::parse_stage;
use serde_json::Value;
use support::assertions::find_resources;
use support::stages::{
    DEV_TEXT, LOCAL_TEXT, dev, dev_text_with, dev_with_stack_name, local, stage_file,
    stage_from_text,
};

const MODEL_LINE: &str = "  id: us.anthropic.claude-sonnet-4-6\n";

fn with_model_and_thinking(model: &str, thinking: &str) -> String {
    format!(
        "{}\nthinking:\n{thinking}",
        dev_text_with(MODEL_LINE, &format!("  id: {model}\n"))
    )
}

fn environments(cfg: &codegen_infra::StageConfig) -> Vec<serde_json::Map<String, Value>> {
    let t = codegen_infra::stack(cfg).to_json_value();
    find_resources(&t, "AWS::Lambda::Function")
        .into_iter()
        .map(|(_, f)| {
            f["Properties"]["Environment"]["Variables"]
                .as_object()
                .cloned()
                .expect("environment")
        })
        .collect()
}

#[test]
fn each_route_gets_its_own_thinking_settings_in_every_function() {
    let text = with_model_and_thinking(
        "us.anthropic.claude-sonnet-5-5",
        "  sync:\n    effort: low\n    thinking_tokens: 2048\n  jobs:\n    effort: high\n",
    );
    let cfg = stage_from_text("dev", &text);
    assert_eq!(cfg.thinking.sync.effort, Some(Effort::Low));
    assert_eq!(cfg.thinking.jobs.effort, Some(Effort::High));
    assert_eq!(
        cfg.thinking.jobs.thinking_tokens, 16_000,
        "the jobs default"
    );
    let envs = environments(&cfg);
    assert_eq!(envs.len(), 4);
    for vars in envs {
        assert_eq!(vars[env::SYNC_EFFORT], "low");
        assert_eq!(vars[env::SYNC_THINKING_TOKENS], "2048");
        assert_eq!(vars[env::SYNC_THINKING], "default");
        assert_eq!(vars[env::JOBS_EFFORT], "high");
        assert_eq!(vars[env::JOBS_THINKING_TOKENS], "16000");
    }
    // The committed dev stage (Sonnet 4.6, no section): nothing about thinking is sent.
    let dev = stage_from_text("dev", DEV_TEXT);
    for vars in environments(&dev) {
        assert_eq!(vars[env::SYNC_EFFORT], "default");
        assert_eq!(vars[env::JOBS_THINKING_TOKENS], "0");
    }
}

#[test]
fn the_validation_refuses_what_the_model_refuses_naming_the_key() {
    for (model, section, key) in [
        (
            "global.anthropic.claude-opus-5-5",
            "  sync:\n    thinking: disabled\n",
            "thinking.sync.thinking",
        ),
        (
            "us.anthropic.claude-sonnet-5-5",
            "  jobs:\n    effort: ultra\n",
            "thinking.jobs.effort",
        ),
        (
            "us.anthropic.claude-fable-5",
            "  jobs:\n    effort: max\n",
            "thinking.jobs.effort",
        ),
        (
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "  sync:\n    thinking: adaptive\n",
            "thinking.sync.thinking",
        ),
        (
            "us.anthropic.claude-sonnet-5-5",
            "  sync:\n    thinking_tokens: 512\n",
            "thinking.sync.thinking_tokens",
        ),
    ] {
        let text = with_model_and_thinking(model, section);
        let err = parse_stage("dev", &stage_file("dev"), &text)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(key), "{model} {section}: {err}");
    }
    // Unknown keys in the section are refused too.
    let text =
        with_model_and_thinking("us.anthropic.claude-sonnet-5-5", "  sync:\n    budget: 1\n");
    assert!(parse_stage("dev", &stage_file("dev"), &text).is_err());
}

#[test]
fn legacy_models_and_account_prerequisites_are_warned_about() {
    let legacy = stage_from_text(
        "dev",
        &dev_text_with(
            MODEL_LINE,
            "  id: us.anthropic.claude-sonnet-4-5-20250929-v1:0\n",
        ),
    );
    assert_eq!(legacy.warnings.len(), 1, "{:?}", legacy.warnings);
    let w = &legacy.warnings[0];
    assert!(
        w.contains("Legacy") && w.contains("2026-10-08") && w.contains("2027-04-08"),
        "{w}"
    );
    assert!(w.contains("new account"), "{w}");
    let fable = stage_from_text(
        "dev",
        &dev_text_with(MODEL_LINE, "  id: us.anthropic.claude-fable-5\n"),
    );
    assert!(
        fable
            .warnings
            .iter()
            .any(|w| w.contains("provider_data_share")),
        "{:?}",
        fable.warnings
    );
    // The committed stages say nothing, and send nothing about thinking (the stage loaders of
    // `support`, used here so that each test crate calls them all).
    assert!(stage_from_text("dev", DEV_TEXT).warnings.is_empty());
    assert!(!LOCAL_TEXT.contains("\nthinking:"));
    for cfg in [dev(), local(), dev_with_stack_name("codegen-other")] {
        assert!(cfg.warnings.is_empty(), "{}: {:?}", cfg.name, cfg.warnings);
        assert_eq!(cfg.thinking, Default::default(), "{}", cfg.name);
    }
    // A `:1m` variant deploys as its base model.
    let variant = stage_from_text(
        "dev",
        &dev_text_with(MODEL_LINE, "  id: us.anthropic.claude-sonnet-4-6:1m\n"),
    );
    assert_eq!(
        variant.model.foundation_model,
        "anthropic.claude-sonnet-4-6"
    );
}
