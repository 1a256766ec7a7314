//! `cargo xtask ...` (the alias `cargo run --package xtask`) resolves every shared dependency with
//! the same features as `cargo test --workspace`, so a newcomer who runs the README's quickstart
//! and then its test command compiles the AWS SDK (and the rest of the graph) once. Cargo unifies
//! features only over the packages it builds, so without `crates/workspace-hack` the dev-only
//! features of the other members (aws-smithy-mocks' `test-util`, proptest's, ...) would give the
//! two commands different builds of the same crates.
//!
//! Compares `cargo tree -e features` of both selections (offline, `--locked`); fails naming each
//! package whose features differ and the features to add to `crates/workspace-hack/Cargo.toml`.
//! It merges each package's features over all its uses, so it cannot see a package that a build
//! script or proc macro gets with other features than the normal graph (cargo resolves those for
//! the host separately): `.ci/run` catches that case on the clean clone, from the units cargo
//! actually compiles (`tools/units-reused.py`), and the fix is a build dependency of the hack.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `package version` -> features, from `cargo tree` lines formatted as `{p} [{f}]`.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(xtask::project_root())
        .args([
            "tree",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "--no-dedupe",
        ])
        .args(["-f", "{p} [{f}]"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((head, rest)) = line.split_once(" [") else {
            continue;
        };
        let mut words = head.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let list = rest.trim_end_matches(']');
        map.entry(format!("{name} {version}"))
            .or_default()
            .extend(list.split(',').filter(|f| !f.is_empty()).map(str::to_owned));
    }
    map
}

#[test]
fn cargo_xtask_and_cargo_test_resolve_the_same_features() {
    let xtask_alone = features(&["-p", "xtask", "-e", "normal,build"]);
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
    assert!(
        xtask_alone
            .keys()
            .any(|k| k.starts_with("aws-sdk-cloudformation ")),
        "the scan saw no SDK crate: {:?}",
        xtask_alone.keys().take(5).collect::<Vec<_>>()
    );
    let differing: Vec<String> = xtask_alone
        .iter()
        .filter_map(|(package, alone)| {
            let all = workspace.get(package)?;
            (alone != all).then(|| {
                format!(
                    "{package}: add {:?}",
                    all.difference(alone).collect::<Vec<_>>()
                )
            })
        })
        .collect();
    assert!(
        differing.is_empty(),
        "`cargo xtask` would build these crates with other features than `cargo test \
         --workspace`, compiling them twice; add the features to crates/workspace-hack/Cargo.toml:\n  {}",
        differing.join("\n  ")
    );
}

/// The normal (non-dev, non-build) dependencies of each workspace package, from `cargo metadata`.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(xtask::project_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--locked",
            "--offline",
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let mut map = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        map.insert(name, deps);
    }
    map
}

/// The crate-level architecture invariants of docs/architecture.md.
#[test]
fn architecture_invariants() {
    let deps = normal_dependencies();
    let of = |package: &str| {
        deps.get(package)
            .unwrap_or_else(|| panic!("no package {package} in the workspace"))
            .clone()
    };
    let only = |package: &str, allowed: &[&str]| {
        let extra: Vec<String> = of(package)
            .into_iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "docs/architecture.md: {package} may depend only on {allowed:?}, not {extra:?}"
        );
    };
    // The contract is pure data (and date arithmetic on it); the construct library has no SDK
    // and no IO.
    only("codegen-contract", &["serde", "thiserror", "time"]);
    only("cfn-constructs", &["serde", "serde_json"]);
    // Synthesis is pure: no SDK, no async runtime, no network.
    for dep in of("codegen-infra") {
        assert!(
            !(dep.starts_with("aws-") || ["tokio", "reqwest", "http"].contains(&dep.as_str())),
            "docs/architecture.md: codegen-infra must not depend on {dep}"
        );
    }
    // The function reaches the workspace only through the contract.
    let workspace: BTreeSet<String> = deps.keys().cloned().collect();
    let function_workspace_deps: Vec<String> = of("codegen-function")
        .into_iter()
        .filter(|d| workspace.contains(d))
        .collect();
    assert_eq!(
        function_workspace_deps,
        ["codegen-contract"],
        "docs/architecture.md: the function depends only on the contract"
    );
    // The deployer never links the function; test data is never shipped.
    assert!(!of("xtask").contains("codegen-function"));
    for package in ["codegen-function", "xtask", "codegen-infra"] {
        assert!(
            !of(package).contains("codegen-test-cases"),
            "{package} must not depend on codegen-test-cases outside dev-dependencies"
        );
    }
}
