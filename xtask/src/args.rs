//! Argument groups shared by several commands (clap definitions; their docs are the `--help`
//! text): the stage, where to connect, and which function package (`deploy` and `diff`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use codegen_infra::config::Architecture;

use crate::aws::ConnectOptions;
use crate::package::BuildProfile;

/// The stage a command works on.
#[derive(Debug, Args)]
pub(crate) struct StageArg {
    /// Stage name: a file infra/stages/<stage>.yaml.
    #[arg(long, short)]
    pub(crate) stage: String,
}

/// What every command on a deployed stage takes: the stage, `--json` and where to connect.
#[derive(Debug, Args)]
pub(crate) struct StageCommand {
    /// Stage name: a file infra/stages/<stage>.yaml.
    #[arg(long, short)]
    pub(crate) stage: String,
    /// Print the result as JSON on stdout (shapes in docs/json-output.md; for `invoke`, the
    /// API's JSON response).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// Where to connect: endpoint, region, profile, role.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Endpoint of an AWS emulator (overrides AWS_ENDPOINT_URL and the stage's endpoint).
    #[arg(long, global = true)]
    pub(crate) endpoint: Option<String>,
    /// Region (overrides the stage's region).
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,
    /// Named profile from the shared AWS config files.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub(crate) profile: Option<String>,
    /// Act as this role (sts:AssumeRole with your credentials): the bootstrap's deploy role
    /// (`DeployRoleArn`) or diff role (`DiffRoleArn`). CI gets its role from OIDC instead.
    #[arg(long, global = true, value_name = "ROLE_ARN")]
    pub(crate) assume_role: Option<String>,
}

impl ConnectArgs {
    /// The connection options these flags ask for.
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            assume_role: self.assume_role.clone(),
        }
    }
}

/// Which function package: a given zip, or the build of an architecture, label and profile.
/// `deploy` builds it when it is not up to date; the read-only `diff` only compares an up-to-date
/// build and never builds (`diff --change-set` builds as deploy does). The help says "the build",
/// which is true of both.
#[derive(Debug, Args)]
pub(crate) struct PackageArgs {
    /// Use this zip (containing `bootstrap`) instead of the function's build. `diff` compares it
    /// by hash; without it, `diff` compares an up-to-date build if there is one and never builds.
    #[arg(long, value_name = "ZIP")]
    pub(crate) package: Option<PathBuf>,
    /// Architecture of the build, instead of the stage's (when deploy builds it, arm64 falls back
    /// to x86_64 if its Rust target cannot be installed).
    #[arg(long, value_enum)]
    pub(crate) architecture: Option<ArchArg>,
    /// Label of the build: compiled into the function and reported in its `x-codegen-build`
    /// response header (default: the crate version). Also read from CODEGEN_BUILD_LABEL.
    #[arg(long, env = "CODEGEN_BUILD_LABEL")]
    pub(crate) build_label: Option<String>,
    /// Cargo profile of the build: `fast` (`[profile.lambda-fast]`: an edit rebuilds in seconds;
    /// the default on emulator stages) or `release` (what ships; the default on AWS stages). A
    /// fast build reaches an AWS stage only when asked for here.
    #[arg(long, value_enum)]
    pub(crate) build_profile: Option<BuildProfile>,
    /// Deploy the exact package stage STAGE's last full deploy recorded (downloaded from its asset
    /// bucket and checked against its SHA-256; nothing is built): promotion of what that stage
    /// runs. Check with `cargo xtask runs --stage <this> --same-as STAGE` afterwards.
    #[arg(long, value_name = "STAGE", conflicts_with = "package")]
    pub(crate) package_from: Option<String>,
    /// With `--package`: the SHA-256 (hex) the package must have, as the build job published it;
    /// any other file is refused before it is uploaded.
    #[arg(long, value_name = "SHA256", requires = "package")]
    pub(crate) package_sha256: Option<String>,
    /// Build a new package for a production-class stage (which otherwise takes only
    /// `--package` or `--package-from`, so that it runs what an earlier stage ran).
    #[arg(long, conflicts_with_all = ["package", "package_from"])]
    pub(crate) build: bool,
}

/// A Lambda architecture on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ArchArg {
    /// x86_64.
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 (Graviton).
    #[value(name = "arm64")]
    Arm64,
}

impl ArchArg {
    /// The architecture.
    pub(crate) fn into_architecture(self) -> Architecture {
        match self {
            Self::X86_64 => Architecture::X86_64,
            Self::Arm64 => Architecture::Arm64,
        }
    }
}
