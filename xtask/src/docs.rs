//! `docs`: the book under `docs/` (mdBook) and its generated reference pages.
//!
//! Four pages are written from the code, never by hand, by pure functions in the submodules: the
//! command reference from the clap definitions ([`command_reference`], `commands`), the
//! stage-file reference from `infra::stage_keys::KEYS` ([`stage_file_reference`], `stage_file`),
//! the error-code table from the contract's `ErrorCode::ALL` ([`error_codes`], `error_codes`) and
//! the OpenAPI document of the routes from the contract's types and constants ([`openapi`],
//! `openapi`, with the example values in `examples`). `markdown` holds the escaping they share; `book` checks the book's structure and
//! links, and the API reference's examples, in tests. This module owns the command: the list of
//! generated pages, the freshness check and the write. The test here fails when a checked-in page
//! differs from what its generator writes now (rust-analyzer's `tidy` tests are the model). IO:
//! the command writes `docs/reference/` and runs `mdbook build docs` when `mdbook` is installed.

#[cfg(test)]
mod book;
mod commands;
mod error_codes;
pub mod examples;
mod markdown;
mod openapi;
mod stage_file;

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;

use crate::report::{Exit, progress, result};

pub use commands::command_reference;
pub use error_codes::{error_codes, error_meaning};
pub use openapi::{openapi, openapi_text};
pub use stage_file::stage_file_reference;

/// The mdBook release `cargo xtask docs` asks for when `mdbook` is missing (the newest release,
/// 0.5.4 of 2026-07-06, <https://github.com/rust-lang/mdBook/releases>, checked 2026-12-07).
pub const MDBOOK_VERSION: &str = "0.5.4";

/// The environment variable that makes the drift tests rewrite the pages instead of failing.
pub const UPDATE_ENV: &str = "UPDATE_EXPECT";

/// One generated page: where it lives (relative to the workspace root) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Path from the workspace root.
    pub path: &'static str,
    /// The full text the generator writes.
    pub text: String,
}

/// Every generated page.
pub fn generated() -> Vec<Generated> {
    vec![
        Generated {
            path: "docs/reference/commands.md",
            text: command_reference(),
        },
        Generated {
            path: "docs/reference/stage-file.md",
            text: stage_file_reference(),
        },
        Generated {
            path: "docs/reference/error-codes.md",
            text: error_codes(),
        },
        Generated {
            path: "docs/reference/openapi.json",
            text: openapi_text(),
        },
    ]
}

/// The generated pages that differ from what is checked in (paths from the workspace root).
pub fn stale(root: &Path) -> Vec<&'static str> {
    generated()
        .into_iter()
        .filter(|g| std::fs::read_to_string(root.join(g.path)).ok().as_deref() != Some(&g.text))
        .map(|g| g.path)
        .collect()
}

/// Writes every generated page that changed; returns the paths written.
pub fn write_generated(root: &Path) -> anyhow::Result<Vec<&'static str>> {
    let mut written = Vec::new();
    for page in generated() {
        let path = root.join(page.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(&page.text) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        std::fs::write(&path, &page.text)
            .with_context(|| format!("failed to write {}", path.display()))?;
        written.push(page.path);
    }
    Ok(written)
}

/// Arguments of `docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Only check that the generated reference pages (docs/reference/) match the code: exit 1
    /// naming each stale page, write nothing, build nothing. Needs no mdbook.
    #[arg(long)]
    check: bool,
    /// Rewrite the generated reference pages, but do not build the book.
    #[arg(long, conflicts_with = "check")]
    no_build: bool,
}

/// Runs `cargo xtask docs`: rewrites the generated reference pages (or checks them), then builds
/// the book with `mdbook build docs` into target/book when mdbook is installed.
pub async fn command(root: &Path, args: DocsArgs) -> anyhow::Result<Exit> {
    if args.check {
        let stale = stale(root);
        if !stale.is_empty() {
            bail!(
                "stale generated docs: {}; run `cargo xtask docs --no-build` and commit the result",
                stale.join(", ")
            );
        }
        result(format!(
            "docs/reference/ is up to date ({} generated pages)",
            generated().len()
        ));
        return Ok(Exit::Success);
    }
    for path in write_generated(root)? {
        result(format!("wrote {path}"));
    }
    if args.no_build {
        return Ok(Exit::Success);
    }
    let found = std::process::Command::new("mdbook")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        bail!(
            "mdbook is not installed (needed to build the book; the generated pages are written): \
             install it with `cargo install mdbook --locked --version {MDBOOK_VERSION}` (a few \
             minutes of compiling) or a release binary from \
             https://github.com/rust-lang/mdBook/releases, then run `cargo xtask docs` again"
        );
    }
    progress("building the book: mdbook build docs");
    let status = std::process::Command::new("mdbook")
        .arg("build")
        .arg(root.join("docs"))
        .status()
        .context("failed to run mdbook")?;
    if !status.success() {
        bail!("mdbook build docs failed ({status})");
    }
    result(format!(
        "built the book: {}",
        root.join("target/book/index.html").display()
    ));
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rust-analyzer's `ensure_file_contents`: compares, and rewrites with `UPDATE_EXPECT=1`.
    #[test]
    fn generated_docs_are_fresh() {
        let root = crate::project_root();
        if std::env::var_os(UPDATE_ENV).is_some() {
            write_generated(&root).expect("write the generated pages");
            return;
        }
        let stale = stale(&root);
        assert!(
            stale.is_empty(),
            "stale generated docs: {stale:?}. Run `cargo xtask docs --no-build` (or \
             `UPDATE_EXPECT=1 cargo test -p xtask --lib docs`) and commit the result"
        );
    }
}
