//! `outputs`: the deployed stack's outputs, plus the invoke URL that works for this target
//! (on an emulator, its `/_aws/execute-api/` path form, since `*.execute-api.localhost` host
//! names do not resolve everywhere).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use clap::Args;
use codegen_contract::ROUTE_PATH;
use codegen_infra::StageConfig;
use codegen_infra::stack::outputs as out_names;

use crate::aws::{Clients, ConnectOptions, try_connect};
use crate::cfn;
use crate::report::{Exit, json, result};

/// Output key added by the deployer: the URL to send requests to from here.
pub const RESOLVED_INVOKE_URL: &str = "ResolvedInvokeUrl";

/// Adds [`RESOLVED_INVOKE_URL`] to the stack outputs.
pub(crate) fn with_invoke_url(
    clients: &Clients,
    cfg: &StageConfig,
    mut outputs: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    // Any emulator endpoint (the `local` stage, or `--endpoint`/`AWS_ENDPOINT_URL` with another
    // stage) gets the path form, since its `*.execute-api.localhost` host names may not resolve.
    let url = match (&clients.endpoint, outputs.get(out_names::API_ID)) {
        (Some(endpoint), Some(api_id)) => Some(format!(
            "{}/_aws/execute-api/{api_id}/{}{ROUTE_PATH}",
            endpoint.trim_end_matches('/'),
            cfg.name
        )),
        _ => outputs.get(out_names::INVOKE_URL).cloned(),
    };
    if let Some(url) = url {
        outputs.insert(RESOLVED_INVOKE_URL.to_owned(), url);
    }
    outputs
}

/// One output, or an error naming it (a stack without it was not deployed by this template).
pub(crate) fn require<'a>(
    outputs: &'a BTreeMap<String, String>,
    key: &str,
) -> anyhow::Result<&'a String> {
    outputs
        .get(key)
        .with_context(|| format!("stack has no {key} output"))
}

/// Reads the outputs of a stage's stack.
pub async fn read(
    root: &Path,
    stage: &str,
    opts: &ConnectOptions,
) -> anyhow::Result<(StageConfig, Clients, BTreeMap<String, String>)> {
    let cfg = codegen_infra::load_stage(root, stage)?;
    let clients = try_connect(&cfg, opts).await?;
    let stack = cfn::describe_stack(&clients.cfn, &cfg.stack_name)
        .await?
        .with_context(|| {
            format!(
                "stack {} does not exist: run `cargo xtask deploy --stage {stage}`",
                cfg.stack_name
            )
        })?;
    let outputs = with_invoke_url(&clients, &cfg, cfn::outputs_of(&stack));
    Ok((cfg, clients, outputs))
}

/// Arguments of `outputs`.
#[derive(Debug, Args)]
pub(crate) struct OutputsArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
}

/// Runs `cargo xtask outputs`: prints the deployed stack's outputs.
pub(crate) async fn command(
    root: &std::path::Path,
    args: OutputsArgs,
) -> anyhow::Result<crate::report::Exit> {
    let (_, _, outputs) = read(root, &args.target.stage, &args.target.connect.options()).await?;
    if args.target.json {
        json(&outputs)?;
    } else {
        for (k, v) in &outputs {
            result(format!("{k} = {v}"));
        }
    }
    Ok(Exit::Success)
}
