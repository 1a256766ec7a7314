//! The command line: clap definitions (their docs are the `--help` text) and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::project_root;
use crate::report::{Exit, progress};

/// The codegen-stack deployer: synthesise, deploy, inspect and destroy the code-generation stack.
///
/// Progress goes to stderr; results go to stdout (`--json` for machines).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, after_help = Exit::help())]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesise a stage's CloudFormation template into infra/templates/ (no AWS access).
    ///
    /// Deterministic: the same stage file always gives the same bytes. Idempotent: the file is
    /// only written when its content changes.
    Synth(crate::synth::SynthArgs),
    /// Build, upload and deploy the stack, then deploy the API stage and print the outputs.
    ///
    /// Creates or updates the stack through a change set. Nothing changed: returns at once.
    /// Changes that widen IAM permissions, change a route's authorization (or add an open route),
    /// change a role's trust policy, remove or change a permissions boundary, change a bucket's
    /// public access block or bucket policy, or replace or remove a resource need approval: a
    /// prompt on a terminal, or --yes; without either the command exits 4 and changes nothing.
    /// Each reason is named (`route PUT /code-generation: authorization AWS_IAM -> NONE`).
    /// Recovers stacks left in ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED or an interrupted
    /// operation.
    Deploy(crate::deploy::DeployArgs),
    /// Show what a deploy would change, without changing anything (exit 3 when it would).
    ///
    /// Read-only by default: synthesises the template and compares it with the deployed one and
    /// the stack's parameters and tags, using only cloudformation:DescribeStacks,
    /// cloudformation:GetTemplate and sts:GetCallerIdentity. Builds nothing, uploads nothing,
    /// creates or deletes no change set, recovers no stack. Prints [+]/[-]/[~] per resource, the
    /// IAM grants added and removed, parameter and tag changes, and why a deploy would need
    /// approval. The function code is compared by hash only with --package or an up-to-date build
    /// from an earlier deploy ("not compared" otherwise); which modifications replace a resource
    /// only CloudFormation can say: use --change-set for that.
    Diff(crate::diff::DiffArgs),
    /// Delete the stack and everything it holds (the code bucket is emptied first); a
    /// production-class stage only with --production, and it keeps its data (listed).
    ///
    /// Idempotent: destroying a stack that does not exist succeeds. Keeps the asset bucket
    /// unless --all. Asks for confirmation unless --yes (exit 4 without a terminal).
    Destroy(crate::destroy::DestroyArgs),
    /// Print the deployed stack's outputs (endpoint, invoke URL, bucket, function, role, ...).
    Outputs(crate::outputs::OutputsArgs),
    /// What every function of the stage's stack runs (each package's SHA-256, from Lambda);
    /// `--same-as dev` checks that it is one package, the one the other stage runs (exit 3 if
    /// not). Read-only.
    Runs(crate::promote::RunsArgs),
    /// Build the function package once (release profile, the stage's architecture), write it to
    /// --out and print its SHA-256: the artifact a pipeline deploys to every stage. No credentials.
    Package(crate::artifact::PackageCommandArgs),
    /// Send a real PUT /code-generation request to the deployed API (SigV4-signed when the route
    /// uses IAM auth) and print the generated code and where it was stored.
    Invoke(crate::invoke::InvokeArgs),
    /// Print the log events of the whole stack (every function and the API access log), merged
    /// in time order; `--request-id` and `--job` follow one request or job across functions.
    Logs(crate::logs::LogsArgs),
    /// What an operator checks first: the stage's alarms, the last hour's requests, errors,
    /// tokens and p50/p99 latency (from the function's metric lines), and the jobs dead-letter
    /// queue's depth. Read-only.
    Status(crate::status::StatusArgs),
    /// Per caller, today's (UTC) tokens, spend and remaining budget, from the stage's budget
    /// table; `--caller KEY` for one. Read-only (dynamodb:Scan or GetItem on that table, with
    /// your credentials). Budgets and overrides change in the stage file, deployed like any other
    /// change (docs/cost.md).
    Usage(crate::usage::UsageArgs),
    /// Manage the local emulator (ministack) for the `local` stage.
    Local(crate::local::LocalArgs),
    /// Deploy the stage's bootstrap stack (once per account and region, as an administrator):
    /// the asset bucket, the permissions boundary, the CloudFormation execution role, the deploy
    /// role and the read-only diff role (infra/templates/<stage>.bootstrap.template.yaml).
    ///
    /// Idempotent: a second run changes nothing. With `bootstrap.github` in the stage file, prints
    /// the GitHub settings the roles' trust relies on (configure them once).
    /// `bootstrap destroy` removes it (refused while the stage's stack exists). Emulator stages
    /// bootstrap themselves on their first deploy.
    Bootstrap(crate::bootstrap::BootstrapArgs),
    /// Deploy, then rebuild and hotswap the function on every saved change, until Ctrl-C.
    Watch(crate::watch::WatchArgs),
    /// Write the generated reference pages (docs/reference/: commands, stage file, error codes,
    /// OpenAPI) from the code, then build the book (docs/, mdBook) into target/book.
    ///
    /// Needs no credentials and no network. Without mdbook on PATH it writes the pages, says how
    /// to install mdbook and exits 1. `--check` only compares the pages with the code.
    Docs(crate::docs::DocsArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            progress(format!("error: failed to start the async runtime: {err}"));
            return ExitCode::from(Exit::Failure as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            progress(format!("error: {err:#}"));
            ExitCode::from(Exit::Failure as u8)
        }
    }
}

/// Runs a parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let root = project_root();
    match cli.command {
        Command::Synth(args) => crate::synth::command(&root, args).await,
        Command::Deploy(args) => crate::deploy::command(&root, args).await,
        Command::Diff(args) => crate::diff::command(&root, args).await,
        Command::Destroy(args) => crate::destroy::command(&root, args).await,
        Command::Outputs(args) => crate::outputs::command(&root, args).await,
        Command::Usage(args) => crate::usage::command(&root, args).await,
        Command::Runs(args) => crate::promote::command(&root, args).await,
        Command::Package(args) => crate::artifact::command(&root, args).await,
        Command::Invoke(args) => crate::invoke::command(&root, args).await,
        Command::Logs(args) => crate::logs::command(&root, args).await,
        Command::Status(args) => crate::status::command(&root, args).await,
        Command::Watch(args) => crate::watch::command(&root, args).await,
        Command::Bootstrap(args) => crate::bootstrap::command(&root, args).await,
        Command::Local(args) => crate::local::command(&root, args).await,
        Command::Docs(args) => crate::docs::command(&root, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("4 the change needs approval"), "{help}");
    }
}
