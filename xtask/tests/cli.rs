//! The `cargo xtask` binary as a pipeline sees it: exit codes, `--json` on stdout, no prompt
//! without a terminal, a read-only `diff` by default and the change-set one behind
//! `--change-set`. Runs against ministack on a free loopback port with a stand-in package
//! (a shell `bootstrap`), so it needs no release build of the function.

use std::process::{Command, Output, Stdio};

use xtask::aws::ConnectOptions;
use xtask::cfn::{ChangeSetOutcome, ChangeSetRequest};
use xtask::local::ScopedEmulator;

/// ministack on a free loopback port, stopped when the test ends (however it ends).
fn start_emulator() -> ScopedEmulator {
    let root = xtask::project_root();
    let scratch = root.join("target").join("cli-tests");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(ScopedEmulator::start(&root, &scratch, false))
        .expect("ministack starts")
}

fn xtask<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        // No terminal: approval prompts must turn into exit code 4, never wait or skip.
        .stdin(Stdio::null())
        .current_dir(xtask::project_root())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("xtask runs")
}

/// The stand-in package, relative to the workspace root (the binary runs there).
const ZIP: &str = "target/cli-tests/stand-in.zip";

fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds a resource to the deployed `local` stack out of band (as another pipeline or the console
/// would), through a change set with the stack's own parameters and tags.
fn add_resource_out_of_band(endpoint: &str, id: &str, resource: serde_json::Value) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let cfg = codegen_infra::load_stage(&xtask::project_root(), "local").expect("local stage");
        let clients = xtask::aws::connect(&cfg, &ConnectOptions::emulator(endpoint)).await;
        let stack = &cfg.stack_name;
        let mut template = xtask::cfn::current_template(&clients.cfn, stack)
            .await
            .expect("read the template")
            .expect("a JSON template");
        template["Resources"][id] = resource;
        let current = xtask::cfn::describe_stack(&clients.cfn, stack)
            .await
            .expect("describe")
            .expect("the stack exists");
        let parameters: Vec<(String, String)> =
            xtask::cfn::parameters_of(&current).into_iter().collect();
        let tags = xtask::cfn::tags_of(&current);
        let body = template.to_string();
        let request = ChangeSetRequest {
            stack,
            template_body: &body,
            parameters: &parameters,
            tags: &tags,
            create: false,
            role_arn: None,
            capability: aws_sdk_cloudformation::types::Capability::CapabilityIam,
        };
        match xtask::cfn::create_change_set(&clients.cfn, &request)
            .await
            .expect("change set")
        {
            ChangeSetOutcome::Ready { name, .. } => {
                xtask::cfn::execute_change_set(&clients.cfn, stack, &name)
                    .await
                    .expect("executed");
            }
            ChangeSetOutcome::NoChanges => panic!("adding {id} changed nothing"),
        }
    });
}

/// The binary pointed at one emulator, on the `local` stage.
struct Local<'a> {
    endpoint: &'a str,
}

impl Local<'_> {
    /// Runs `xtask <command> --stage local <args> --endpoint <emulator>` and asserts its exit
    /// code (`why` says what the code means here; stderr is shown on failure).
    fn run(&self, command: &str, args: &[&str], exit: i32, why: &str) -> Output {
        let mut all = vec![command, "--stage", "local"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--endpoint", self.endpoint]);
        let out = xtask(&all);
        assert_eq!(
            out.status.code(),
            Some(exit),
            "`{}`: {why}; stderr: {}",
            all.join(" "),
            stderr(&out)
        );
        out
    }
}

#[test]
fn exit_codes_json_and_approval_without_a_terminal() {
    let em = start_emulator();
    let root = xtask::project_root();
    let zip = root.join(ZIP);
    std::fs::create_dir_all(zip.parent().expect("parent")).expect("scratch dir");
    let bytes = xtask::package::zip_bootstrap(b"#!/bin/sh\nexit 1\n").expect("zip");
    std::fs::write(&zip, bytes).expect("write zip");
    let local = Local {
        endpoint: &em.endpoint,
    };

    // A first deploy widens IAM: without a terminal and without --yes it stops with exit 4.
    let out = local.run(
        "deploy",
        &["--package", ZIP],
        4,
        "approval needed, no terminal",
    );
    assert!(stderr(&out).contains("needs approval"), "{}", stderr(&out));
    // ... and leaves nothing behind: the next diff still plans a create.
    let out = local.run(
        "diff",
        &["--package", ZIP, "--json"],
        3,
        "diff exits 3 when there are changes",
    );
    let diff = stdout_json(&out);
    assert_eq!(diff["has_changes"], true);
    assert_eq!(diff["creates_stack"], true);
    assert!(diff["needs_approval"].is_string());
    // The CloudFormation preview agrees, and leaves nothing behind either.
    let out = local.run(
        "diff",
        &["--package", ZIP, "--change-set", "--json"],
        3,
        "the change set creates the stack",
    );
    assert_eq!(stdout_json(&out)["creates_stack"], true);
    let out = local.run("diff", &["--package", ZIP], 3, "still a create");
    assert!(
        stdout(&out).contains("creates the stack"),
        "still a create: {}",
        stdout(&out)
    );

    let out = local.run(
        "deploy",
        &["--package", ZIP, "--yes", "--json"],
        0,
        "approved deploy",
    );
    let deployed = stdout_json(&out);
    assert_eq!(deployed["result"], "created");
    assert!(deployed["outputs"]["ApiId"].is_string());
    assert!(
        stderr(&out).contains("CREATE_COMPLETE"),
        "stack events go to stderr"
    );

    let out = local.run("diff", &["--package", ZIP], 0, "no changes after a deploy");
    assert!(stdout(&out).contains("no changes"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("function code: unchanged"),
        "{}",
        stdout(&out)
    );
    local.run(
        "diff",
        &["--package", ZIP, "--change-set"],
        0,
        "CloudFormation finds no changes either",
    );

    // A deploy that would remove a resource needs approval: exit 4, the reason names it, and the
    // resource stays. The stack gained it out of band; the stage file does not have it.
    add_resource_out_of_band(
        &em.endpoint,
        "ExtraQueue",
        serde_json::json!({"Type": "AWS::SQS::Queue"}),
    );
    let out = local.run(
        "deploy",
        &["--package", ZIP, "--force", "--json"],
        4,
        "a removal needs approval",
    );
    let asked = stdout_json(&out);
    assert_eq!(asked["result"], "needs_approval");
    let reason = asked["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("it removes ExtraQueue (AWS::SQS::Queue)"),
        "{reason}"
    );
    let out = local.run(
        "diff",
        &["--package", ZIP, "--json"],
        3,
        "the removal is a change",
    );
    let diff = stdout_json(&out);
    assert!(
        diff["needs_approval"]
            .as_str()
            .is_some_and(|r| r.contains("it removes ExtraQueue")),
        "{diff}"
    );
    assert!(
        diff["changes"]["changes"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["action"] == "Remove" && c["logical_id"] == "ExtraQueue")),
        "{diff}"
    );

    let out = local.run("outputs", &["--json"], 0, "the stack exists");
    assert_eq!(stdout_json(&out)["StageName"], "local");

    // Destroy asks for confirmation; without a terminal that is exit 4 and nothing is deleted.
    local.run("destroy", &[], 4, "confirmation needed, no terminal");
    local.run("outputs", &["--json"], 0, "the stack is still there");

    let out = local.run("destroy", &["--yes", "--all", "--json"], 0, "confirmed");
    assert_eq!(stdout_json(&out)["result"], "deleted");
    let out = local.run(
        "destroy",
        &["--yes", "--json"],
        0,
        "destroying a missing stack succeeds",
    );
    assert_eq!(
        stdout_json(&out)["result"],
        "absent",
        "destroying a missing stack succeeds"
    );

    let out = local.run("outputs", &[], 1, "no stack");
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn usage_errors_and_offline_synth() {
    let out = xtask(&["synth", "--stage", "no-such-stage"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown stage `no-such-stage`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("dev, local"),
        "lists the stages: {}",
        stderr(&out)
    );

    let out = xtask(&["deploy"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");

    // Synth needs no credentials and no network.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["synth", "--stage", "dev", "--stdout", "--format", "json"])
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let template = stdout_json(&out);
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
}
