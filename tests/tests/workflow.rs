//! Assertions on the sample GitHub Actions pipeline, `.github/workflows/deploy.yml`: the triggers,
//! which jobs may get an OIDC token (the pull-request diff job, for the read-only diff role only,
//! and the deploy job, from main, in the protected `dev` environment, for the deploy role; both
//! after the tests), the deployer commands each event runs, the cargo cache,
//! hash-locked tool installs, and actions pinned to commit SHAs. Reads that file and the tool
//! install files it relies on (`tools/install.sh`, `tools/requirements*.txt` and their `.lock`
//! files); no network, no emulator.
//!
//! actionlint (tools/requirements-lint.txt) checks the workflow's syntax and expressions; these
//! tests check what it must do for this project, which no linter knows.

use std::path::PathBuf;

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

/// The job whose `if:` selects the given event.
fn job_for_event<'a>(w: &'a Value, event: &str) -> (&'a str, &'a Value) {
    let found: Vec<_> = jobs(w)
        .iter()
        .filter(|(_, j)| {
            j["if"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("github.event_name == '{event}'")))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one job with `if: github.event_name == '{event}'`, found {found:?}"
    );
    (found[0].0.as_str(), found[0].1)
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

/// The jobs that assume an AWS role: (job's `if:` event, the repository variable its role comes
/// from, the bootstrap role it is).
const AWS_JOBS: &[(&str, &str)] = &[
    ("pull_request", "vars.AWS_DIFF_ROLE_ARN"),
    ("push", "vars.AWS_DEPLOY_ROLE_ARN"),
];

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

#[test]
fn the_only_pull_request_job_with_a_token_assumes_the_read_only_diff_role() {
    let w = workflow();
    for (name, job) in jobs(&w) {
        if !runs_on_pull_requests(job) || id_token(&w, job) != Some("write") {
            continue;
        }
        let condition = job["if"].as_str().unwrap_or_default();
        assert!(
            condition.contains("github.event_name == 'pull_request'"),
            "job `{name}` has `id-token: write` and can run on pull requests without being the \
             pull-request diff job: if: {condition}"
        );
        let roles = role_variables(job);
        assert_eq!(
            roles,
            ["${{ vars.AWS_DIFF_ROLE_ARN }}"],
            "job `{name}` runs on pull requests: only the read-only diff role"
        );
        assert!(
            job.get("environment").is_none(),
            "job `{name}`: the diff job must not enter the deploy environment"
        );
        let script = scripts(job);
        assert!(
            script.contains("cargo xtask diff --stage dev") && !script.contains("xtask deploy"),
            "job `{name}` may only diff: {script}"
        );
    }
}

#[test]
fn exactly_the_diff_and_deploy_jobs_get_an_oidc_token_after_the_tests() {
    let w = workflow();
    let with_token: Vec<(&String, &Value)> = jobs(&w)
        .iter()
        .filter(|(_, j)| id_token(&w, j) == Some("write"))
        .collect();
    assert_eq!(
        with_token.len(),
        2,
        "exactly the diff and deploy jobs may have `id-token: write`, found {:?}",
        with_token.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, job) in &with_token {
        assert!(
            needs_of(job).contains(&TEST_JOB),
            "job `{name}` must need `{TEST_JOB}` (needs: {:?})",
            needs_of(job)
        );
    }
    let (name, deploy) = job_for_event(&w, "push");
    let condition = deploy["if"].as_str().unwrap_or_default();
    assert!(
        condition.contains("github.ref == 'refs/heads/main'"),
        "job `{name}` must run only on pushes to main: if: {condition}"
    );
    // `environment:` is a name or a mapping with a name.
    let environment = deploy["environment"]
        .as_str()
        .or_else(|| deploy["environment"]["name"].as_str());
    assert_eq!(
        environment,
        Some("dev"),
        "job `{name}` must run in the protected environment `dev`: the deploy role trusts only \
         the subject repo:OWNER/REPO:environment:dev:ref:refs/heads/main:job_workflow_ref:..."
    );
}

/// The roles' OIDC subjects (`codegen_infra::oidc`) name this workflow file at `main` and the
/// deploy job's environment: the job that assumes the deploy role must be in this file, run on
/// `main` only, in the stage's environment; and the file tells the reader which subject template
/// the repository needs.
#[test]
fn the_workflow_is_the_one_the_roles_oidc_subjects_name() {
    use codegen_infra::oidc;
    assert_eq!(
        workflow_path(),
        e2e_tests::root().join(oidc::WORKFLOW_PATH),
        "the roles' subjects name {}",
        oidc::WORKFLOW_PATH
    );
    let dev = codegen_infra::load_stage(&e2e_tests::root(), "dev").expect("dev stage");
    let gh = dev.bootstrap.github.as_ref().expect("dev trusts GitHub");
    let w = workflow();
    let (name, deploy) = job_for_event(&w, "push");
    assert_eq!(
        deploy["environment"]
            .as_str()
            .or_else(|| deploy["environment"]["name"].as_str()),
        Some(gh.deploy_environment.as_str()),
        "job `{name}`"
    );
    assert!(
        deploy["if"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("github.ref == '{}'", oidc::DEPLOY_REF)),
        "job `{name}` runs on {} only",
        oidc::DEPLOY_REF
    );
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
fn aws_jobs_get_credentials_from_oidc_only_each_for_its_own_role() {
    let w = workflow();
    let mut aws_jobs = 0;
    for (name, job) in jobs(&w) {
        if !assumes_an_aws_role(job) {
            continue;
        }
        aws_jobs += 1;
        assert_eq!(
            id_token(&w, job),
            Some("write"),
            "job `{name}` assumes a role with OIDC and needs `permissions: id-token: write`"
        );
        let condition = job["if"].as_str().unwrap_or_default();
        let (_, variable) = AWS_JOBS
            .iter()
            .find(|(event, _)| condition.contains(&format!("github.event_name == '{event}'")))
            .unwrap_or_else(|| panic!("job `{name}` assumes a role but runs on no known event"));
        for step in steps(job)
            .iter()
            .filter(|s| action_of(s) == Some("aws-actions/configure-aws-credentials"))
        {
            let with = &step["with"];
            assert!(
                with["role-to-assume"]
                    .as_str()
                    .is_some_and(|r| r.contains(variable)),
                "job `{name}`: role-to-assume must come from {variable}: {with}"
            );
            assert!(
                with["aws-region"].as_str().is_some_and(|r| !r.is_empty()),
                "job `{name}`: aws-region must be set: {with}"
            );
        }
    }
    assert_eq!(
        aws_jobs,
        AWS_JOBS.len(),
        "the diff and the deploy job assume roles"
    );
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
fn pushes_to_main_deploy_the_dev_stage_without_a_prompt() {
    let w = workflow();
    let (name, job) = job_for_event(&w, "push");
    assert!(
        job["if"]
            .as_str()
            .is_some_and(|c| c.contains("refs/heads/main")),
        "job `{name}` must deploy only from main"
    );
    let script = scripts(job);
    assert!(
        script.contains("cargo xtask deploy --stage dev --yes"),
        "job `{name}` must run `cargo xtask deploy --stage dev --yes`: {script}"
    );
    assert!(
        script.contains("GITHUB_STEP_SUMMARY"),
        "job `{name}` must write the outputs to the job summary"
    );
}

#[test]
fn jobs_that_touch_the_stage_never_overlap_or_get_cancelled() {
    let w = workflow();
    for (name, job) in jobs(&w).iter().filter(|(_, j)| assumes_an_aws_role(j)) {
        let concurrency = &job["concurrency"];
        assert!(
            concurrency["group"]
                .as_str()
                .is_some_and(|g| g.contains("dev")),
            "job `{name}` needs a concurrency group per stage: {concurrency}"
        );
        assert_eq!(
            concurrency["cancel-in-progress"],
            Value::Bool(false),
            "job `{name}`: cancelling a running deploy leaves the stack mid-operation"
        );
    }
}

#[test]
fn every_job_caches_cargo_and_installs_the_pinned_tools() {
    let w = workflow();
    for (name, job) in jobs(&w) {
        assert!(
            steps(job)
                .iter()
                .any(|s| action_of(s) == Some("Swatinem/rust-cache")),
            "job `{name}` has no cargo cache step (Swatinem/rust-cache)"
        );
        // The diff job builds only the deployer: it needs none of the Python-side tools.
        if name != "diff" {
            assert!(
                scripts(job).contains("bash tools/install.sh runtime"),
                "job `{name}` must install the pinned tools with tools/install.sh"
            );
        }
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
