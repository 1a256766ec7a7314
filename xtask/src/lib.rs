//! The codegen deployer, used as `cargo xtask <command>` and as a library by the end-to-end tests.
//!
//! One module per command (`synth`, [`deploy`], [`diff`], [`destroy`], [`outputs`],
//! [`invoke`], [`logs`], [`local`], [`watch`], [`docs`]), the pure planning core they share
//! ([`plan`]), and the imperative edges: SDK clients ([`aws`]), CloudFormation operations
//! ([`cfn`]), the function package ([`package`]), the asset bucket ([`assets`]), emptying buckets
//! ([`buckets`]), the checks before a deploy (`preflight`), waiting (`poll`) and the loopback
//! processes it starts and stops ([`process`]).

pub mod approver;
mod args;
mod artifact;
pub mod assets;
pub mod aws;
pub mod bootstrap;
mod bootstrap_guard;
pub mod buckets;
pub mod cfn;
pub mod cli;
pub mod code_bucket;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod docs;
mod functions;
mod identity;
pub mod invoke;
pub mod local;
pub mod logs;
mod orphans;
pub mod outputs;
pub mod package;
pub mod plan;
mod poll;
mod preflight;
pub mod process;
pub mod promote;
pub mod report;
pub mod status;
mod synth;
pub mod usage;
pub mod watch;

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/xtask`).
pub fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
