//! The command reference (`docs/reference/commands.md`): every command and subcommand of
//! `cargo xtask` with its flags, read from the clap definitions, and the exit codes. Pure.

use clap::CommandFactory;

use super::markdown::{GENERATED_NOTE, cell, md};
use crate::report::Exit;

/// The command reference: every command and subcommand of `cargo xtask` with its flags, from the
/// clap definitions (their docs are the `--help` text), and the exit codes.
pub fn command_reference() -> String {
    let mut cli = crate::cli::Cli::command();
    cli.build();
    let mut out = String::new();
    out.push_str("# Command reference\n\n");
    out.push_str(GENERATED_NOTE);
    out.push_str("\n\n");
    if let Some(about) = cli.get_long_about().or(cli.get_about()) {
        out.push_str(&md(&about.to_string()));
        out.push_str("\n\n");
    }
    out.push_str(
        "Every command is run as `cargo xtask <command>` from the workspace root; `cargo xtask \
         <command> --help` prints the same text. Credentials, region and profile come from the \
         standard AWS chain (`AWS_PROFILE`, environment, SSO, OIDC web identity).\n\n",
    );
    out.push_str("## Exit codes\n\n| code | meaning |\n|---|---|\n");
    for exit in Exit::ALL {
        out.push_str(&format!("| {} | {} |\n", exit.code(), cell(exit.meaning())));
    }
    out.push('\n');
    for sub in cli.get_subcommands() {
        render_command(&mut out, sub, &["cargo xtask"], 2);
    }
    out
}

fn render_command(out: &mut String, cmd: &clap::Command, parents: &[&str], depth: usize) {
    if cmd.get_name() == "help" {
        return;
    }
    let mut path: Vec<&str> = parents.to_vec();
    path.push(cmd.get_name());
    let heading = "#".repeat(depth.min(4));
    out.push_str(&format!("{heading} `{}`\n\n", path.join(" ")));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&md(&about.to_string()));
        out.push_str("\n\n");
    }
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    if !args.is_empty() {
        out.push_str("| argument | what it does |\n|---|---|\n");
        for arg in args {
            out.push_str(&format!("| {} | {} |\n", arg_name(arg), arg_help(arg)));
        }
        out.push('\n');
    }
    for sub in cmd.get_subcommands() {
        render_command(out, sub, &path, depth + 1);
    }
}

fn arg_name(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| format!("<{n}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    if arg.is_positional() {
        return format!("`{value}`");
    }
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("`-{short}`"));
    }
    if let Some(long) = arg.get_long() {
        if takes_value {
            names.push(format!("`--{long} {value}`"));
        } else {
            names.push(format!("`--{long}`"));
        }
    }
    names.join(", ")
}

fn arg_help(arg: &clap::Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let mut notes = Vec::new();
    if arg.is_required_set() {
        notes.push("required".to_owned());
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    let is_bool = possible == ["`true`", "`false`"];
    if !possible.is_empty() && !is_bool {
        notes.push(format!("one of {}", possible.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        // A flag's implicit `false` says nothing.
        .filter(|d| takes_value && !(is_bool && d == "false"))
        .collect();
    if !defaults.is_empty() {
        notes.push(format!("default `{}`", defaults.join(" ")));
    }
    if let Some(env) = arg.get_env() {
        notes.push(format!("env `{}`", env.to_string_lossy()));
    }
    if arg.is_global_set() {
        notes.push("also after any subcommand".to_owned());
    }
    let mut text = cell(&help);
    if !notes.is_empty() {
        text.push_str(&format!(" ({})", cell(&notes.join("; "))));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_exit_code_is_in_the_reference() {
        let text = command_reference();
        for sub in crate::cli::Cli::command().get_subcommands() {
            assert!(
                text.contains(&format!("`cargo xtask {}`", sub.get_name())),
                "{}",
                sub.get_name()
            );
        }
        for exit in Exit::ALL {
            assert!(text.contains(&format!("| {} | ", exit.code())));
        }
        assert!(text.contains("`--stage <STAGE>`"), "{text}");
        assert!(
            !text.contains("<stage>.yaml"),
            "unescaped HTML-like text outside code"
        );
    }
}
