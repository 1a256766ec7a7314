//! Argument groups shared by several commands (clap definitions; their docs are the `--help`
//! text): the stage, where to connect, and the architecture.

use clap::{Args, ValueEnum};
use codegen_infra::config::Architecture;

use crate::aws::ConnectOptions;

/// The stage a command works on.
#[derive(Debug, Args)]
pub struct StageArg {
    /// Stage name: a file infra/stages/<stage>.yaml.
    #[arg(long, short)]
    pub(crate) stage: String,
}

/// Where to connect: endpoint, region, profile, role.
#[derive(Debug, Args)]
pub struct ConnectArgs {
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
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            assume_role: self.assume_role.clone(),
        }
    }
}

/// A Lambda architecture on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ArchArg {
    /// x86_64.
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 (Graviton).
    #[value(name = "arm64")]
    Arm64,
}

impl ArchArg {
    /// The architecture.
    pub fn into_architecture(self) -> Architecture {
        match self {
            Self::X86_64 => Architecture::X86_64,
            Self::Arm64 => Architecture::Arm64,
        }
    }
}
