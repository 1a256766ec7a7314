//! What a change calls for: the parts of the checkout that the function and the stack are built
//! from, from the workspace's crate graph. IO: runs `cargo metadata` once
//! ([`Inputs::of_workspace`]); the rest is pure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::package;

/// What a set of changed files calls for, in increasing order of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Nothing the function or the stack is built from changed.
    Nothing,
    /// Only the function's inputs changed: rebuild and hotswap.
    Hotswap,
    /// The stack definition or the stage file changed (or the last deploy did not finish): a
    /// normal deploy, which rebuilds too.
    Deploy,
}

/// The parts of the checkout that the function and the stack are built from, relative to the
/// checkout: the source directories and manifests of the workspace crates each depends on
/// (from `cargo metadata`), the workspace manifest and lock file, and the stage file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    /// A change here rebuilds the function.
    pub(crate) function: Vec<PathBuf>,
    /// A change here needs a normal deploy.
    pub(crate) stack: Vec<PathBuf>,
}

/// Files of the workspace itself that decide the function binary (as in
/// [`package::source_fingerprint`]).
const WORKSPACE_BUILD_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
    "rust-toolchain.toml",
    "tools/requirements.txt",
];

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
}

#[derive(Debug, Deserialize)]
struct MetaPackage {
    name: String,
    manifest_path: PathBuf,
    dependencies: Vec<MetaDependency>,
}

#[derive(Debug, Deserialize)]
struct MetaDependency {
    kind: Option<String>,
    path: Option<PathBuf>,
}

impl Inputs {
    /// Reads the workspace's crate graph (`cargo metadata --no-deps`) and derives the inputs.
    pub(crate) fn of_workspace(root: &Path, stage: &str) -> anyhow::Result<Self> {
        let out = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()))
            .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
            .current_dir(root)
            .stderr(Stdio::inherit())
            .output()
            .context("failed to run cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed ({})", out.status);
        }
        let root = root
            .canonicalize()
            .with_context(|| format!("failed to resolve {}", root.display()))?;
        Self::from_metadata(&root, &out.stdout, stage)
    }

    /// [`Inputs::of_workspace`] from `cargo metadata` output (pure).
    pub(crate) fn from_metadata(root: &Path, metadata: &[u8], stage: &str) -> anyhow::Result<Self> {
        let meta: Metadata =
            serde_json::from_slice(metadata).context("failed to read cargo metadata")?;
        let crate_inputs = |start: &str| -> anyhow::Result<Vec<PathBuf>> {
            let mut dirs = BTreeSet::new();
            let mut todo = vec![
                meta.packages
                    .iter()
                    .find(|p| p.name == start)
                    .with_context(|| format!("the workspace has no package {start}"))?,
            ];
            while let Some(package) = todo.pop() {
                let Some(dir) = package.manifest_path.parent() else {
                    continue;
                };
                if !dirs.insert(dir.to_path_buf()) {
                    continue;
                }
                for dep in &package.dependencies {
                    // Dev-dependencies do not go into the binary or the template.
                    if dep.kind.as_deref() == Some("dev") {
                        continue;
                    }
                    if let Some(path) = &dep.path
                        && let Some(found) = meta
                            .packages
                            .iter()
                            .find(|p| p.manifest_path.parent() == Some(path.as_path()))
                    {
                        todo.push(found);
                    }
                }
            }
            let mut inputs = Vec::new();
            for dir in dirs {
                let rel = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
                for part in ["src", "Cargo.toml", "build.rs"] {
                    inputs.push(rel.join(part));
                }
            }
            Ok(inputs)
        };
        let mut function = crate_inputs(package::FUNCTION_PACKAGE)?;
        function.extend(WORKSPACE_BUILD_FILES.iter().map(PathBuf::from));
        let mut stack = crate_inputs("codegen-infra")?;
        stack.push(codegen_infra::config::stages_dir(Path::new("")).join(format!("{stage}.yaml")));
        Ok(Self { function, stack })
    }

    /// What a change to `path` (relative to the checkout) calls for.
    pub(crate) fn classify(&self, path: &Path) -> Action {
        let under = |set: &[PathBuf]| set.iter().any(|input| path.starts_with(input));
        if under(&self.stack) {
            Action::Deploy
        } else if under(&self.function) {
            Action::Hotswap
        } else {
            Action::Nothing
        }
    }

    /// What a set of changes calls for: the most any of them does.
    pub(crate) fn classify_all<'a>(&self, paths: impl IntoIterator<Item = &'a String>) -> Action {
        paths
            .into_iter()
            .map(|p| self.classify(Path::new(p)))
            .max()
            .unwrap_or(Action::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(root: &str) -> String {
        let pkg = |name: &str, dir: &str, deps: &[(&str, Option<&str>)]| {
            let deps: Vec<serde_json::Value> = deps
                .iter()
                .map(|(path, kind)| {
                    serde_json::json!({"name": "x", "kind": kind, "path": format!("{root}/{path}")})
                })
                .collect();
            serde_json::json!({
                "name": name,
                "manifest_path": format!("{root}/{dir}/Cargo.toml"),
                "dependencies": deps,
            })
        };
        serde_json::json!({"packages": [
            pkg("codegen-contract", "crates/contract", &[]),
            pkg("codegen-function", "crates/function", &[("crates/contract", None), ("crates/testkit", Some("dev"))]),
            pkg("testkit", "crates/testkit", &[]),
            pkg("cfn-constructs", "crates/constructs", &[]),
            pkg("codegen-infra", "infra", &[("crates/constructs", None), ("crates/contract", None)]),
            pkg("xtask", "xtask", &[("infra", None)]),
        ]})
        .to_string()
    }

    #[test]
    fn changes_are_classified_by_what_depends_on_them() {
        let inputs = Inputs::from_metadata(Path::new("/w"), metadata("/w").as_bytes(), "local")
            .expect("inputs");
        let of = |p: &str| inputs.classify(Path::new(p));
        assert_eq!(of("crates/function/src/prompt.rs"), Action::Hotswap);
        assert_eq!(of("crates/function/Cargo.toml"), Action::Hotswap);
        assert_eq!(of("Cargo.lock"), Action::Hotswap);
        // The contract is in both the function and the stack: a normal deploy (which builds).
        assert_eq!(of("crates/contract/src/lib.rs"), Action::Deploy);
        assert_eq!(of("crates/constructs/src/s3.rs"), Action::Deploy);
        assert_eq!(of("infra/src/stack.rs"), Action::Deploy);
        assert_eq!(of("infra/stages/local.yaml"), Action::Deploy);
        // Not inputs: docs, tests, other stages, the deployer, dev-dependencies.
        for path in [
            "README.md",
            "BENCHMARKS.md",
            "crates/function/tests/handler.rs",
            "crates/function/examples/handler_overhead.rs",
            "infra/stages/dev.yaml",
            "infra/templates/local.template.yaml",
            "xtask/src/deploy.rs",
            "crates/testkit/src/lib.rs",
        ] {
            assert_eq!(of(path), Action::Nothing, "{path}");
        }
        let batch = [
            "README.md".to_owned(),
            "crates/function/src/prompt.rs".to_owned(),
        ];
        assert_eq!(inputs.classify_all(&batch), Action::Hotswap);
        let batch = [
            "infra/stages/local.yaml".to_owned(),
            "crates/function/src/prompt.rs".to_owned(),
        ];
        assert_eq!(inputs.classify_all(&batch), Action::Deploy);
        assert_eq!(inputs.classify_all(&[]), Action::Nothing);
    }
    #[test]
    fn a_workspace_without_the_function_is_an_error() {
        let err = Inputs::from_metadata(Path::new("/w"), br#"{"packages": []}"#, "local")
            .expect_err("no function");
        assert!(err.to_string().contains("codegen-function"), "{err}");
    }
}
