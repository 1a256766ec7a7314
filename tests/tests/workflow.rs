//! Assertions on the sample GitHub Actions pipeline, `.github/workflows/deploy.yml`: the triggers,
//! the job graph (tests; pull requests diff every stage; a push builds the package once without
//! credentials, deploys dev with it, prepares prod and executes exactly that plan), which jobs may
//! get an OIDC token and which stage's role each assumes, the package's SHA-256 checked before
//! every use, the deployer commands each event runs, the cargo cache,
//! hash-locked tool installs, and actions pinned to commit SHAs. Reads that file and the tool
//! install files it relies on (`tools/install.sh`, `tools/requirements*.txt` and their `.lock`
//! files); no network, no emulator.
//!
//! actionlint (tools/requirements-lint.txt) checks the workflow's syntax and expressions; these
//! tests check what it must do for this project, which no linter knows.

use std::path::PathBuf;

use codegen_infra::oidc::{self, PipelineRole};
use serde_json::Value;

/// The job that runs on every pull request and push, without credentials.
const TEST_JOB: &str = "test";

fn workflow_path() -> PathBuf {
    e2e_tests::root()
        .join(".github")
        .join("workflows")
        .join("deploy.yml")
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

fn workflow_text() -> String {
    read(&workflow_path())
}

fn workflow() -> Value {
    serde_saphyr::from_str(&workflow_text()).expect("deploy.yml is valid YAML")
}

fn jobs(w: &Value) -> &serde_json::Map<String, Value> {
    w["jobs"].as_object().expect("the workflow has jobs")
}

fn steps(job: &Value) -> &[Value] {
    job["steps"]
        .as_array()
        .map(Vec::as_slice)
        .expect("every job has steps")
}

/// Every `run:` script of a job, concatenated.
fn scripts(job: &Value) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The action of a step (`owner/repo` without the ref), if it uses one.
fn action_of(step: &Value) -> Option<&str> {
    step["uses"]
        .as_str()
        .map(|u| u.split_once('@').map_or(u, |(a, _)| a))
}

fn assumes_an_aws_role(job: &Value) -> bool {
    steps(job)
        .iter()
        .any(|s| action_of(s) == Some("aws-actions/configure-aws-credentials"))
}

/// The job's `id-token` permission. Job-level permissions replace the workflow-level ones
/// entirely, so a job with its own `permissions:` block and no `id-token` key has none.
fn id_token<'a>(w: &'a Value, job: &'a Value) -> Option<&'a str> {
    job.get("permissions").map_or_else(
        || w["permissions"]["id-token"].as_str(),
        |p| p["id-token"].as_str(),
    )
}

/// Whether a job can run for a pull request. Deliberately conservative: every job runs for every
/// trigger of the workflow unless its `if:` requires the push event.
fn runs_on_pull_requests(job: &Value) -> bool {
    !job["if"]
        .as_str()
        .is_some_and(|c| c.contains("github.event_name == 'push'"))
}

/// The `on:` block. YAML 1.1 readers turn a bare `on` key into `true`; accept either spelling so
/// the test checks the workflow, not the YAML reader.
fn triggers(w: &Value) -> &Value {
    let on = &w["on"];
    if on.is_null() { &w["true"] } else { on }
}

#[test]
fn triggers_on_pull_requests_and_pushes_to_main() {
    let w = workflow();
    let on = triggers(&w);
    assert!(
        on.get("pull_request").is_some(),
        "the workflow must run on pull_request: {on}"
    );
    assert!(
        on.get("pull_request_target").is_none(),
        "pull_request_target runs untrusted code with the repository's secrets: {on}"
    );
    let branches = on["push"]["branches"]
        .as_array()
        .expect("push has a branches list");
    assert_eq!(
        branches,
        &vec![Value::from("main")],
        "push must deploy from main only"
    );
}

#[test]
fn the_test_job_runs_on_every_event_without_credentials() {
    let w = workflow();
    let job = &w["jobs"][TEST_JOB];
    assert!(job.is_object(), "the workflow needs a `{TEST_JOB}` job");
    assert!(
        job.get("if").is_none(),
        "job `{TEST_JOB}` must run for pull requests and pushes alike: {}",
        job["if"]
    );
    assert_eq!(
        id_token(&w, job),
        None,
        "job `{TEST_JOB}` runs pull request code and must not be able to get an OIDC token"
    );
    assert!(
        !assumes_an_aws_role(job),
        "job `{TEST_JOB}` must not assume an AWS role"
    );
    let script = scripts(job);
    assert!(
        script.contains("cargo test --workspace --locked"),
        "job `{TEST_JOB}` must run the tests: {script}"
    );
    assert!(
        script.contains("cargo deny") && script.contains("check advisories"),
        "job `{TEST_JOB}` must run `cargo deny check advisories`: {script}"
    );
    assert!(
        !script.contains("cargo xtask deploy") && !script.contains("cargo xtask diff"),
        "job `{TEST_JOB}` has no credentials and must not touch a stack: {script}"
    );
}

fn needs_of(job: &Value) -> Vec<&str> {
    match &job["needs"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn role_variables(job: &Value) -> Vec<&str> {
    steps(job)
        .iter()
        .filter(|s| action_of(s) == Some("aws-actions/configure-aws-credentials"))
        .map(|s| s["with"]["role-to-assume"].as_str().unwrap_or_default())
        .collect()
}

fn job<'a>(w: &'a Value, name: &str) -> &'a Value {
    let job = &w["jobs"][name];
    assert!(job.is_object(), "the workflow needs a job `{name}`");
    job
}

/// `environment:` is a name or a mapping with a name.
fn environment(job: &Value) -> Option<&str> {
    job["environment"]
        .as_str()
        .or_else(|| job["environment"]["name"].as_str())
}

/// The jobs that assume an AWS role: (job, stage, role). Each stage's roles are in its own
/// account, from its own bootstrap; the repository variable is `codegen_infra::oidc::role_variable`.
const AWS_JOBS: &[(&str, &str, PipelineRole)] = &[
    ("diff-dev", "dev", PipelineRole::Diff),
    ("diff-prod", "prod", PipelineRole::Diff),
    ("deploy-dev", "dev", PipelineRole::Deploy),
    ("prepare-prod", "prod", PipelineRole::Plan),
    ("execute-prod", "prod", PipelineRole::Deploy),
];

/// Pull request: the tests, then a read-only diff of every stage. Push to main: the tests, the
/// package built once, dev deployed with it, prod prepared after dev, and prod executed after the
/// preparation with the same package.
#[test]
fn the_job_graph_builds_once_deploys_dev_then_prepares_and_executes_prod() {
    let w = workflow();
    let names: Vec<&str> = jobs(&w).keys().map(String::as_str).collect();
    let mut expected = vec![
        TEST_JOB,
        "diff-dev",
        "diff-prod",
        "build",
        "deploy-dev",
        "prepare-prod",
        "execute-prod",
    ];
    let mut sorted = names.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "the pipeline's jobs");
    for (name, needs, event) in [
        ("diff-dev", &[TEST_JOB][..], "pull_request"),
        ("diff-prod", &[TEST_JOB][..], "pull_request"),
        ("build", &[TEST_JOB][..], "push"),
        ("deploy-dev", &["build"][..], "push"),
        ("prepare-prod", &["build", "deploy-dev"][..], "push"),
        ("execute-prod", &["build", "prepare-prod"][..], "push"),
    ] {
        let j = job(&w, name);
        let mut have = needs_of(j);
        have.sort_unstable();
        let mut want = needs.to_vec();
        want.sort_unstable();
        assert_eq!(have, want, "job `{name}` needs");
        let condition = j["if"].as_str().unwrap_or_default();
        assert!(
            condition.contains(&format!("github.event_name == '{event}'")),
            "job `{name}` runs on {event} only: if: {condition}"
        );
        if event == "push" {
            assert!(
                condition.contains(&format!("github.ref == '{}'", oidc::DEPLOY_REF)),
                "job `{name}` runs on {} only: if: {condition}",
                oidc::DEPLOY_REF
            );
        }
    }
}

/// `id-token: write` exactly where a role is assumed: never in the test job (pull request code)
/// nor in the build job (it compiles what every stage runs and can reach no cloud).
#[test]
fn only_the_jobs_that_assume_a_role_can_get_an_oidc_token() {
    let w = workflow();
    for (name, j) in jobs(&w) {
        let assumes = assumes_an_aws_role(j);
        let listed = AWS_JOBS.iter().any(|(n, _, _)| n == name);
        assert_eq!(assumes, listed, "job `{name}` assumes a role: {assumes}");
        assert_eq!(
            id_token(&w, j) == Some("write"),
            assumes,
            "job `{name}`: `id-token: write` only with a role to assume"
        );
    }
    for name in [TEST_JOB, "build"] {
        assert_eq!(id_token(&w, job(&w, name)), None, "job `{name}`");
    }
    // A pull request's own code runs in its jobs: the only token it can get is a diff role's.
    for (name, j) in jobs(&w) {
        if runs_on_pull_requests(j) && id_token(&w, j) == Some("write") {
            assert!(
                AWS_JOBS
                    .iter()
                    .any(|(n, _, role)| n == name && *role == PipelineRole::Diff),
                "job `{name}` can run on pull requests with `id-token: write` but is not a diff job"
            );
        }
    }
    assert!(
        scripts(job(&w, "build"))
            .contains("cargo xtask package --stage dev --out artifact/bootstrap.zip"),
        "the build job builds the one package"
    );
}

/// Each AWS job assumes its own stage's role of the kind it needs, from that stage's variable:
/// the diff roles on pull requests (outside any environment), prod's plan role to prepare
/// (outside any environment: the plan is shown before anyone approves), and the deploy roles in
/// the stage's protected environment, which their OIDC subjects name.
#[test]
fn each_aws_job_assumes_its_own_stages_role() {
    let w = workflow();
    let root = e2e_tests::root();
    for (name, stage, role) in AWS_JOBS {
        let j = job(&w, name);
        let variable = oidc::role_variable(stage, *role);
        assert_eq!(
            role_variables(j),
            [format!("${{{{ vars.{variable} }}}}")],
            "job `{name}` assumes {stage}'s {role:?} role"
        );
        for step in steps(j)
            .iter()
            .filter(|s| action_of(s) == Some("aws-actions/configure-aws-credentials"))
        {
            assert!(
                step["with"]["aws-region"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "job `{name}`: aws-region must be set"
            );
        }
        let cfg = codegen_infra::load_stage(&root, stage).expect("stage");
        let gh = cfg
            .bootstrap
            .github
            .as_ref()
            .expect("the stage trusts GitHub");
        match role {
            PipelineRole::Deploy => assert_eq!(
                environment(j),
                Some(gh.deploy_environment.as_str()),
                "job `{name}`: {stage}'s deploy role trusts only its environment's subject"
            ),
            PipelineRole::Diff | PipelineRole::Plan => assert_eq!(
                environment(j),
                None,
                "job `{name}` must not enter a deploy environment"
            ),
        }
        let script = scripts(j);
        match role {
            PipelineRole::Diff => assert!(
                script.contains(&format!("cargo xtask diff --stage {stage}"))
                    && !script.contains("xtask deploy"),
                "job `{name}` may only diff {stage}: {script}"
            ),
            PipelineRole::Plan => assert!(
                script.contains(&format!("cargo xtask deploy --stage {stage}"))
                    && script.contains("--prepare")
                    && !script.contains("--execute"),
                "job `{name}` only prepares: {script}"
            ),
            PipelineRole::Deploy => assert!(
                script.contains(&format!("cargo xtask deploy --stage {stage}")),
                "job `{name}` deploys {stage}: {script}"
            ),
        }
    }
}

/// Every job that deploys downloads the build job's package and checks its SHA-256 against the
/// build job's output, before any step that uses it; every deploy names that package and hash.
#[test]
fn every_deploy_job_verifies_the_packages_sha256_before_using_it() {
    let w = workflow();
    let mut deploying = 0;
    for (name, j) in jobs(&w) {
        if !scripts(j).contains("cargo xtask deploy") {
            continue;
        }
        deploying += 1;
        let all = steps(j);
        let position = |what: &dyn Fn(&Value) -> bool| all.iter().position(what);
        let download = position(&|s| {
            action_of(s) == Some("actions/download-artifact")
                && s["with"]["name"].as_str() == Some("function-package")
        })
        .unwrap_or_else(|| panic!("job `{name}` downloads the build job's package"));
        let verify = position(&|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("sha256sum --check"))
                && s["env"]["PACKAGE_SHA256"].as_str() == Some("${{ needs.build.outputs.sha256 }}")
        })
        .unwrap_or_else(|| panic!("job `{name}` checks the package's SHA-256"));
        let first_use = position(&|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("artifact/bootstrap.zip") && !r.contains("sha256sum"))
        })
        .unwrap_or_else(|| panic!("job `{name}` uses the package"));
        assert!(
            download < verify && verify < first_use,
            "job `{name}`: download ({download}), check ({verify}), then use ({first_use})"
        );
        // Shell continuation lines joined; a command line starts with the command (an `echo` of
        // the same words into the summary is not a deploy).
        let script = scripts(j).replace("\\\n", " ");
        let commands: Vec<&str> = script
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("cargo xtask deploy"))
            .collect();
        assert!(!commands.is_empty(), "job `{name}`");
        for command in commands {
            assert!(
                command.contains("--package artifact/bootstrap.zip")
                    && command.contains("--package-sha256 \"${PACKAGE_SHA256}\""),
                "job `{name}`: every deploy names the package and its hash: {command}"
            );
        }
    }
    assert_eq!(
        deploying, 3,
        "deploy-dev, prepare-prod and execute-prod deploy"
    );
}

/// The plan reviewers approve is the one executed: prepare writes it to the job summary and
/// publishes its digest as a job output; execute takes the digest from that output (not from the
/// file), in the protected environment, without `--yes`.
#[test]
fn prod_executes_exactly_the_plan_its_reviewers_saw() {
    let w = workflow();
    let prepare = job(&w, "prepare-prod");
    let script = scripts(prepare);
    assert!(script.contains("--prepare prod.plan.json"), "{script}");
    assert!(
        script.contains("GITHUB_STEP_SUMMARY") && script.contains(".summary[]"),
        "{script}"
    );
    assert!(
        script.contains("digest=") && script.contains("GITHUB_OUTPUT"),
        "{script}"
    );
    assert_eq!(
        prepare["outputs"]["digest"].as_str(),
        Some("${{ steps.prepare.outputs.digest }}")
    );
    assert!(steps(prepare).iter().any(|s| {
        action_of(s) == Some("actions/upload-artifact")
            && s["with"]["name"].as_str() == Some("prod-plan")
    }));
    let execute = job(&w, "execute-prod");
    assert_eq!(environment(execute), Some("prod"));
    let script = scripts(execute);
    assert!(
        script.contains("--execute prod.plan.json")
            && script.contains("--expect-digest \"${PLAN_DIGEST}\""),
        "{script}"
    );
    assert!(
        !script.contains("--yes"),
        "reviewing the plan is the approval: {script}"
    );
    let digest_from = steps(execute)
        .iter()
        .find_map(|s| s["env"]["PLAN_DIGEST"].as_str());
    assert_eq!(
        digest_from,
        Some("${{ needs.prepare-prod.outputs.digest }}")
    );
}

/// The roles' OIDC subjects (`codegen_infra::oidc`) name this workflow file at `main`: the file
/// must be the one they name, and its header must tell the reader which subject template the
/// repository needs and quote the subjects.
#[test]
fn the_workflow_is_the_one_the_roles_oidc_subjects_name() {
    assert_eq!(
        workflow_path(),
        e2e_tests::root().join(oidc::WORKFLOW_PATH),
        "the roles' subjects name {}",
        oidc::WORKFLOW_PATH
    );
    let dev = codegen_infra::load_stage(&e2e_tests::root(), "dev").expect("dev stage");
    let gh = dev.bootstrap.github.as_ref().expect("dev trusts GitHub");
    let text = workflow_text();
    for key in oidc::SUBJECT_CLAIM_KEYS {
        assert!(
            text.contains(key),
            "the workflow's header names the subject template's claim {key}"
        );
    }
    for subject in [oidc::deploy_subject(gh), oidc::diff_subject(gh)] {
        let generic = subject.replace(&gh.repository, "OWNER/REPO");
        assert!(
            text.contains(&generic),
            "the workflow's header quotes the subject {generic}"
        );
    }
}

#[test]
fn no_long_lived_keys_anywhere() {
    let text = workflow_text();
    for forbidden in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(
            !text.contains(forbidden),
            "deploy.yml mentions `{forbidden}`: use the OIDC role, never stored keys"
        );
    }
}

#[test]
fn jobs_that_touch_a_stage_never_overlap_or_get_cancelled() {
    let w = workflow();
    for (name, stage, _) in AWS_JOBS {
        let concurrency = &job(&w, name)["concurrency"];
        assert!(
            concurrency["group"]
                .as_str()
                .is_some_and(|g| g.contains(&format!("-{stage}-"))),
            "job `{name}` needs a concurrency group of stage {stage}: {concurrency}"
        );
        assert_eq!(
            concurrency["cancel-in-progress"],
            Value::Bool(false),
            "job `{name}`: cancelling a running deploy leaves the stack mid-operation"
        );
    }
    assert_eq!(
        job(&w, "prepare-prod")["concurrency"]["group"],
        job(&w, "execute-prod")["concurrency"]["group"],
        "prod is prepared and executed in one group"
    );
}

#[test]
fn every_job_caches_cargo_and_the_building_jobs_install_the_pinned_tools() {
    let w = workflow();
    for (name, j) in jobs(&w) {
        assert!(
            steps(j)
                .iter()
                .any(|s| action_of(s) == Some("Swatinem/rust-cache")),
            "job `{name}` has no cargo cache step (Swatinem/rust-cache)"
        );
    }
    // The jobs that compile the function need cargo-lambda and zig; the others build only the
    // deployer and deploy the package the build job made.
    for name in [TEST_JOB, "build"] {
        assert!(
            scripts(job(&w, name)).contains("bash tools/install.sh runtime"),
            "job `{name}` must install the pinned tools with tools/install.sh"
        );
    }
}

#[test]
fn tool_installs_use_the_hash_locks() {
    let w = workflow();
    for (name, job) in jobs(&w) {
        for line in scripts(job).lines().filter(|l| l.contains("pip install")) {
            assert!(
                line.contains("--require-hashes") && line.contains(".lock"),
                "job `{name}`: `{line}` must install from a tools/*.lock with --require-hashes \
                 (or use tools/install.sh)"
            );
        }
    }
    let install = read(&e2e_tests::root().join("tools").join("install.sh"));
    assert!(
        install.contains("--require-hashes"),
        "tools/install.sh must install with pip --require-hashes"
    );
    assert!(
        install.contains("lock=\"tools/$name.lock\"") && install.contains("-r \"$lock\""),
        "tools/install.sh must install each venv from its tools/*.lock"
    );
    assert!(
        install.contains("sha256sum \"$lock\""),
        "tools/install.sh must key its install stamp on the lock file"
    );
}

#[test]
fn every_requirements_file_has_a_hash_lock_with_its_pins() {
    let tools = e2e_tests::root().join("tools");
    for name in ["requirements", "requirements-lint", "requirements-bench"] {
        let input = read(&tools.join(format!("{name}.txt")));
        let lock = read(&tools.join(format!("{name}.lock")));
        let lines: Vec<&str> = lock.lines().collect();
        // A package line (`name==version \`) is followed by its `--hash=sha256:` lines:
        // `--require-hashes` refuses a package without one.
        let mut locked = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() || line.starts_with([' ', '#']) {
                continue;
            }
            assert!(
                lines
                    .get(i + 1)
                    .is_some_and(|next| next.trim_start().starts_with("--hash=sha256:")),
                "tools/{name}.lock: `{line}` has no --hash=sha256 entry"
            );
            locked.push(line.trim_end_matches('\\').trim());
        }
        assert!(!locked.is_empty(), "tools/{name}.lock pins nothing");
        for pin in input
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
        {
            assert!(
                locked.iter().any(|l| l.eq_ignore_ascii_case(pin)),
                "tools/{name}.lock does not pin `{pin}` from tools/{name}.txt: run \
                 `bash tools/install.sh lock`"
            );
        }
    }
}

/// A `uses:` value is pinned when it names an action (`owner/repo`, optionally with a path) at a
/// full 40-hex commit SHA, and the line's comment names the release the SHA came from (`# v5.1.0`,
/// `# v1`). Tags (`v5`) and branches (`main`, `1.95.0` on dtolnay/rust-toolchain) can be moved to
/// other code; a SHA cannot.
fn is_pinned(value: &str, comment: &str) -> bool {
    let Some((action, reference)) = value.split_once('@') else {
        return false;
    };
    let mut segments = action.split('/');
    let is_action = segments.clone().count() >= 2 && segments.all(|s| !s.is_empty());
    let is_sha = reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit());
    let version = comment
        .strip_prefix('#')
        .map(str::trim)
        .and_then(|c| c.strip_prefix('v'))
        .and_then(|c| c.split_whitespace().next())
        .unwrap_or_default();
    let is_version = !version.is_empty()
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    is_action && is_sha && is_version
}

#[test]
fn pinning_rule_accepts_commit_shas_with_a_version_comment_only() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    for (value, comment) in [
        (format!("actions/checkout@{sha}"), "# v5.1.0"),
        (format!("dtolnay/rust-toolchain@{sha}"), "# v1"),
        (format!("github/codeql-action/init@{sha}"), "# v3.29.0"),
    ] {
        assert!(is_pinned(&value, comment), "{value} {comment}");
    }
    for (value, comment) in [
        ("actions/checkout@v5".to_owned(), "# v5"),
        ("dtolnay/rust-toolchain@1.95.0".to_owned(), "# v1"),
        ("actions/checkout@main".to_owned(), "# v5"),
        ("actions/checkout@0123456".to_owned(), "# v5"),
        (format!("actions/checkout@{sha}"), ""),
        (format!("actions/checkout@{sha}"), "# main"),
        (format!("actions/checkout@{sha}"), "# v"),
        (format!("actions/checkout@{sha}"), "# v5.x"),
        (format!("checkout@{sha}"), "# v5"),
        (format!("actions/checkout@{}", "g".repeat(40)), "# v5"),
    ] {
        assert!(!is_pinned(&value, comment), "{value} {comment}");
    }
}

#[test]
fn every_action_is_pinned_to_a_commit_sha() {
    // The version comment is not part of the YAML value, so the rule reads the lines; the parsed
    // workflow confirms that no `uses:` escaped the line scan.
    let text = workflow_text();
    let mut seen = 0;
    for line in text.lines() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = trimmed.strip_prefix("uses:") else {
            continue;
        };
        seen += 1;
        let rest = rest.trim();
        let (value, comment) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        assert!(
            is_pinned(value.trim_matches(['"', '\'']), comment.trim()),
            "`{}` must be owner/repo@<40-hex commit SHA> followed by a `# vX.Y.Z` comment",
            line.trim()
        );
    }
    let w = workflow();
    let parsed = jobs(&w)
        .values()
        .flat_map(|j| steps(j).iter())
        .filter(|s| s.get("uses").is_some())
        .count();
    assert!(parsed > 0, "no `uses:` steps found: is the workflow empty?");
    assert_eq!(
        seen, parsed,
        "every `uses:` must be written as `uses: owner/repo@sha # vX` on one line"
    );
}
