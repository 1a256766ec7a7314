//! The codegen deployer, used as `cargo xtask <command>` and as a library by the end-to-end tests.
//!
//! One module per command ([`synth`], [`deploy`], [`diff`], [`destroy`], [`outputs`], [`invoke`],
//! [`logs`], [`local`], [`watch`]), the pure planning core they share ([`plan`]), and the imperative edges:
//! SDK clients ([`aws`]), CloudFormation operations ([`cfn`]), the function package ([`package`]),
//! the asset bucket ([`assets`]), the checks before a deploy ([`preflight`]), waiting ([`poll`])
//! and the loopback processes it starts and stops ([`process`]).

pub mod args;
pub mod artifact;
pub mod assets;
pub mod aws;
pub mod bootstrap;
pub mod bootstrap_guard;
pub mod cfn;
pub mod cli;
pub mod code_bucket;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod functions;
pub mod identity;
pub mod invoke;
pub mod local;
pub mod logs;
pub mod orphans;
pub mod outputs;
pub mod package;
pub mod plan;
pub mod poll;
pub mod preflight;
pub mod process;
pub mod promote;
pub mod report;
pub mod status;
pub mod synth;
pub mod usage;
pub mod watch;

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/xtask`).
pub fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
