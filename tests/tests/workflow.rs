//! Assertions on the sample GitHub Actions pipeline, `.github/workflows/deploy.yml`: the triggers,
//! OIDC credentials without long-lived keys, the deployer commands each event runs, the cargo
//! cache, and versioned actions. Reads only that file; no network, no emulator.
//!
//! actionlint (tools/requirements-lint.txt) checks the workflow's syntax and expressions; these
//! tests check what it must do for this project, which no linter knows.

use std::path::PathBuf;

use serde_json::Value;

fn workflow_path() -> PathBuf {
    e2e_tests::root()
        .join(".github")
        .join("workflows")
        .join("deploy.yml")
}

fn workflow_text() -> String {
    let path = workflow_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
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
fn aws_jobs_get_credentials_from_oidc_only() {
    let w = workflow();
    let workflow_id_token = w["permissions"]["id-token"].as_str();
    let mut aws_jobs = 0;
    for (name, job) in jobs(&w) {
        let credential_steps: Vec<&Value> = steps(job)
            .iter()
            .filter(|s| action_of(s) == Some("aws-actions/configure-aws-credentials"))
            .collect();
        if credential_steps.is_empty() {
            continue;
        }
        aws_jobs += 1;
        // Job-level permissions replace the workflow-level ones entirely.
        let id_token = job
            .get("permissions")
            .map_or(workflow_id_token, |p| p["id-token"].as_str());
        assert_eq!(
            id_token,
            Some("write"),
            "job `{name}` assumes a role with OIDC and needs `permissions: id-token: write`"
        );
        for step in credential_steps {
            let with = &step["with"];
            assert!(
                with["role-to-assume"]
                    .as_str()
                    .is_some_and(|r| r.contains("vars.AWS_DEPLOY_ROLE_ARN")),
                "job `{name}`: role-to-assume must come from vars.AWS_DEPLOY_ROLE_ARN: {with}"
            );
            assert!(
                with["aws-region"].as_str().is_some_and(|r| !r.is_empty()),
                "job `{name}`: aws-region must be set: {with}"
            );
        }
    }
    assert_eq!(
        aws_jobs, 2,
        "the diff job and the deploy job assume the role"
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
fn pull_requests_diff_the_dev_stage_and_accept_exit_code_3() {
    let w = workflow();
    let (name, job) = job_for_event(&w, "pull_request");
    let script = scripts(job);
    assert!(
        script.contains("cargo test --workspace"),
        "job `{name}` must run the tests: {script}"
    );
    assert!(
        script.contains("cargo xtask diff --stage dev"),
        "job `{name}` must run `cargo xtask diff --stage dev`: {script}"
    );
    assert!(
        !script.contains("cargo xtask deploy"),
        "job `{name}` must not deploy from a pull request"
    );
    // `diff` exits 3 when there are changes: the job must treat that as success.
    assert!(
        script.contains("-ne 3"),
        "job `{name}` must accept diff's exit code 3"
    );
    assert!(
        script.contains("GITHUB_STEP_SUMMARY"),
        "job `{name}` must write the change set to the job summary"
    );
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
    for event in ["pull_request", "push"] {
        let (name, job) = job_for_event(&w, event);
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
            "job `{name}`: cancelling a running deploy or diff leaves the stack mid-operation"
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
        assert!(
            scripts(job).contains("bash tools/install.sh runtime"),
            "job `{name}` must install the pinned tools with tools/install.sh"
        );
    }
}

/// A ref is pinned when it names a release (`v4`, `v2.7.1`, `1.95.0`) or a full commit SHA;
/// branches such as `main`, `master` or `stable` move under you.
fn is_pinned(reference: &str) -> bool {
    let is_sha = reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit());
    let version = reference.strip_prefix('v').unwrap_or(reference);
    let is_version = !version.is_empty()
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    is_sha || is_version
}

#[test]
fn pinning_rule_accepts_versions_and_shas_only() {
    for ok in [
        "v4",
        "v2.7.1",
        "1.95.0",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        assert!(is_pinned(ok), "{ok}");
    }
    for bad in ["main", "master", "stable", "v", "", "v4.x", "1..2"] {
        assert!(!is_pinned(bad), "{bad}");
    }
}

#[test]
fn every_action_is_pinned_to_a_version() {
    let w = workflow();
    let mut seen = 0;
    for (name, job) in jobs(&w) {
        for step in steps(job) {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            seen += 1;
            let (_, reference) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("job `{name}`: `{uses}` has no @ref"));
            assert!(
                is_pinned(reference),
                "job `{name}`: `{uses}` must be pinned to a version tag or a commit SHA"
            );
        }
    }
    assert!(seen > 0, "no `uses:` steps found: is the workflow empty?");
}
