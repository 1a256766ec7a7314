//! Production-class stages (`protection: production`, `infra/src/protection.rs`): what they keep
//! when the stack goes, what their stage file must say, and that every resource type a template
//! of this project can contain is classified as holding data or not, so a table, key or topic
//! added later is retained on production the day it is added.

use codegen_infra::config::{StageConfig, list_stages, parse_stage};
use codegen_infra::protection::{STATEFUL_TYPES, STATELESS_TYPES, is_stateful};
use codegen_infra::{bootstrap, stack};

const PROD_TEXT: &str = include_str!("../stages/prod.yaml");
const DEV_TEXT: &str = include_str!("../stages/dev.yaml");
const LOCAL_TEXT: &str = include_str!("../stages/local.yaml");

fn parse(name: &str, text: &str) -> Result<StageConfig, String> {
    parse_stage(name, &format!("infra/stages/{name}.yaml"), text).map_err(|e| e.to_string())
}

#[track_caller]
fn stage(name: &str, text: &str) -> StageConfig {
    parse(name, text).unwrap_or_else(|e| panic!("stage `{name}` must parse: {e}"))
}

/// `text` with `from` replaced by `to`; fails if `from` does not occur, so a renamed key cannot
/// turn a negative test into a no-op.
#[track_caller]
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the stage file no longer contains `{from}`"
    );
    text.replacen(from, to, 1)
}

#[test]
fn the_committed_prod_stage_is_production_class_and_pinned_to_its_account() {
    let prod = stage("prod", PROD_TEXT);
    assert!(prod.protection.is_production());
    assert_eq!(
        prod.account.as_ref().map(|a| a.as_str()),
        Some("444455556666")
    );
    assert!(!prod.allows_hotswap());
    // dev and prod are separate accounts' stages with separate stacks.
    let dev = stage("dev", DEV_TEXT);
    assert!(!dev.protection.is_production());
    assert_ne!(dev.stack_name, prod.stack_name);
}

#[test]
fn every_stateful_resource_of_a_production_stage_is_retained_and_no_other_is() {
    let prod = stack(&stage("prod", PROD_TEXT));
    let mut retained = Vec::new();
    for (id, r) in &prod.resources {
        if is_stateful(&r.type_name) {
            assert_eq!(r.deletion_policy.as_deref(), Some("Retain"), "{id}");
            assert_eq!(r.update_replace_policy.as_deref(), Some("Retain"), "{id}");
            retained.push(id.as_str());
        } else {
            assert_ne!(r.deletion_policy.as_deref(), Some("Retain"), "{id}");
        }
    }
    // The code bucket (generated code, job records) is the first thing production must keep.
    assert!(retained.contains(&"CodeBucket"), "{retained:?}");
    // The same stack on a standard stage deletes its data with the stack, as before.
    let dev = stack(&stage("dev", DEV_TEXT));
    for (id, r) in &dev.resources {
        assert_ne!(r.deletion_policy.as_deref(), Some("Retain"), "{id}");
    }
}

#[test]
fn every_resource_type_of_every_committed_template_is_classified() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let stages = list_stages(&root);
    assert!(stages.contains(&"prod".to_owned()), "{stages:?}");
    for name in stages {
        let cfg = codegen_infra::load_stage(&root, &name).expect("stage loads");
        for template in [stack(&cfg), bootstrap(&cfg)] {
            for (id, r) in &template.resources {
                assert!(
                    is_stateful(&r.type_name) || STATELESS_TYPES.contains(&r.type_name.as_str()),
                    "stage `{name}`: {id} is a {}, which infra/src/protection.rs lists neither as \
                     stateful (retained on production) nor as stateless: classify it",
                    r.type_name
                );
            }
        }
    }
    assert!(!STATEFUL_TYPES.is_empty());
}

#[test]
fn a_production_stage_must_name_its_account_and_may_not_allow_hotswap() {
    let no_account = edited(PROD_TEXT, "account: \"444455556666\"\n", "");
    let err = parse("prod", &no_account).expect_err("refused");
    assert!(
        err.contains("account") && err.contains("production"),
        "{err}"
    );

    let hotswap = edited(
        PROD_TEXT,
        "  repair: once\n",
        "  repair: once\n  allow_hotswap: true\n",
    );
    let err = parse("prod", &hotswap).expect_err("refused");
    assert!(err.contains("function.allow_hotswap"), "{err}");

    for bad in ["\"44445555666\"", "\"4444555566667\"", "\"44445555666x\""] {
        let text = edited(PROD_TEXT, "\"444455556666\"", bad);
        let err = parse("prod", &text).expect_err("refused");
        assert!(err.contains("12 digits"), "{bad}: {err}");
    }
}

#[test]
fn a_production_emulator_stage_refuses_hotswap_although_emulators_allow_it() {
    let local = stage("local", LOCAL_TEXT);
    assert!(
        local.allows_hotswap(),
        "the control: emulator stages allow hotswap"
    );
    let prod_local = stage(
        "local",
        &edited(
            LOCAL_TEXT,
            "region: us-east-1\n",
            "region: us-east-1\naccount: \"000000000000\"\nprotection: production\n",
        ),
    );
    assert!(!prod_local.allows_hotswap());
}
