//! Faults injected with the microburst proxy in front of ministack (see `e2e_tests::faults`):
//!
//! - the function: Bedrock throttling, 5xx, connection resets and a hung model call, S3 write
//!   failures; each is retried with backoff inside the time budget, then answered with the right
//!   status (429/503 with `Retry-After`, 504, or 200 with `stored: false`);
//! - the deployer: a steady rate of throttling and transient errors from CloudFormation, S3,
//!   Lambda, API Gateway, IAM and STS during deploy, update and destroy; deploys killed half-way
//!   (while uploading, before the change set runs, before the API stage is deployed); a stack
//!   stuck in progress and one left in `ROLLBACK_COMPLETE`; destroys killed half-way and stacks
//!   whose resources were partly deleted by hand.
//!
//! After each, everything converges and nothing is left behind (checked by listing). Each test
//! prints one `faults:` line with what it injected and what survived.

use std::time::{Duration, Instant};

use aws_sdk_lambda::client::Waiters;
use codegen_contract::OUTPUT_PREFIX;
use codegen_infra::config::{Architecture, AuthMode};
use codegen_infra::stack::outputs as out;
use e2e_tests::faults::{FaultProxy, FaultyEmulator};
use e2e_tests::{
    count_objects, default_package, deploy_via, destroy_via, leftovers, note, request,
    variant_package,
};
use serde_json::{Value, json};
use xtask::aws::Clients;
use xtask::deploy::DeployReport;
use xtask::invoke::ApiResponse;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";
/// Attempts the function makes per AWS call (its SDK retry configuration).
const FUNCTION_ATTEMPTS: usize = 3;
/// How long a hold keeps a request before answering 504: longer than any test waits for it.
const HOLD_MS: u64 = 120_000;

#[allow(
    clippy::print_stderr,
    reason = "the summary line is the point of the suite"
)]
fn summary(line: &str) {
    eprintln!("{line}");
}

async fn call(admin: &Clients, url: &str) -> anyhow::Result<(ApiResponse, Duration)> {
    let t = Instant::now();
    let r = xtask::invoke::invoke(
        admin,
        AuthMode::AwsIam,
        url,
        &request("implement the binary search", "python"),
    )
    .await?;
    Ok((r, t.elapsed()))
}

/// What a function scenario must end in.
enum Expect {
    /// 200 and the code stored.
    Stored,
    /// 200, the code returned, but not stored (with a warning saying so).
    NotStored,
    /// This status and error code, with `Retry-After` when `retry_after`.
    Error {
        status: u16,
        code: &'static str,
        retry_after: bool,
    },
}

struct Scenario {
    name: &'static str,
    rules: Value,
    expect: Expect,
    /// Exactly how many faults must fire (the retries the SDK made).
    faults: usize,
}

fn bedrock(times: Option<u64>, fault: Value) -> Value {
    let mut rule = json!({"service": "bedrock"});
    if let Some(n) = times {
        rule["times"] = json!(n);
    }
    merge(rule, fault)
}

fn s3_put(times: Option<u64>, fault: Value) -> Value {
    let mut rule = json!({"service": "s3", "operation": "PutObject"});
    if let Some(n) = times {
        rule["times"] = json!(n);
    }
    merge(rule, fault)
}

fn merge(mut rule: Value, fault: Value) -> Value {
    if let (Some(r), Some(f)) = (rule.as_object_mut(), fault.as_object()) {
        r.extend(f.clone());
    }
    rule
}

fn scenarios() -> Vec<Scenario> {
    let throttled = json!({"error": {"code": "ThrottlingException", "status": 429, "message": "Too many requests, please wait before trying again."}});
    let unavailable = json!({"error": {"code": "ServiceUnavailableException", "status": 503}});
    let internal = json!({"error": {"code": "InternalServerException", "status": 500}});
    let not_ready = json!({"error": {"code": "ModelNotReadyException", "status": 429}});
    let reset = json!({"reset": true});
    let s3_internal = json!({"error": {"code": "InternalError", "status": 500}});
    let s3_slow_down = json!({"error": {"code": "SlowDown", "status": 503}});
    let s3_denied = json!({"error": {"code": "AccessDenied", "status": 403}});
    let error = |status, code, retry_after| Expect::Error {
        status,
        code,
        retry_after,
    };
    vec![
        Scenario {
            name: "Bedrock throttles once: retried, succeeds",
            rules: json!([bedrock(Some(1), throttled.clone())]),
            expect: Expect::Stored,
            faults: 1,
        },
        Scenario {
            name: "Bedrock throttles twice: retried twice, succeeds",
            rules: json!([bedrock(Some(2), throttled.clone())]),
            expect: Expect::Stored,
            faults: 2,
        },
        Scenario {
            name: "Bedrock throttles every attempt: 429 with Retry-After",
            rules: json!([bedrock(None, throttled)]),
            expect: error(429, "throttled", true),
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "Bedrock 503 once: retried, succeeds",
            rules: json!([bedrock(Some(1), unavailable.clone())]),
            expect: Expect::Stored,
            faults: 1,
        },
        Scenario {
            name: "Bedrock 503 every attempt: 503 with Retry-After",
            rules: json!([bedrock(None, unavailable)]),
            expect: error(503, "model_unavailable", true),
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "Bedrock 500 every attempt: 503 with Retry-After",
            rules: json!([bedrock(None, internal)]),
            expect: error(503, "model_unavailable", true),
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "Bedrock model not ready every attempt: 503 with Retry-After",
            rules: json!([bedrock(None, not_ready)]),
            expect: error(503, "model_unavailable", true),
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "Bedrock connection reset once: retried, succeeds",
            rules: json!([bedrock(Some(1), reset.clone())]),
            expect: Expect::Stored,
            faults: 1,
        },
        Scenario {
            name: "Bedrock connection reset every attempt: 503 with Retry-After",
            rules: json!([bedrock(None, reset)]),
            expect: error(503, "model_unavailable", true),
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "S3 SlowDown once: retried, stored",
            rules: json!([s3_put(Some(1), s3_slow_down.clone())]),
            expect: Expect::Stored,
            faults: 1,
        },
        Scenario {
            name: "S3 500 every attempt: code returned, stored false",
            rules: json!([s3_put(None, s3_internal)]),
            expect: Expect::NotStored,
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "S3 SlowDown every attempt: code returned, stored false",
            rules: json!([s3_put(None, s3_slow_down)]),
            expect: Expect::NotStored,
            faults: FUNCTION_ATTEMPTS,
        },
        Scenario {
            name: "S3 access denied (not retryable): code returned, stored false",
            rules: json!([s3_put(None, s3_denied)]),
            expect: Expect::NotStored,
            faults: 1,
        },
    ]
}

/// Checks one response against what the scenario expects; returns what was wrong.
fn check(expect: &Expect, r: &ApiResponse) -> Option<String> {
    match expect {
        Expect::Stored | Expect::NotStored => {
            let want_stored = matches!(expect, Expect::Stored);
            let Some(body) = r.success().filter(|_| r.status == 200) else {
                return Some(format!("expected 200, got {}: {}", r.status, r.body));
            };
            if body.code.trim().is_empty() {
                return Some("200 without code".into());
            }
            if body.stored != want_stored || body.s3.is_some() != want_stored {
                return Some(format!("stored {} (want {want_stored})", body.stored));
            }
            if !want_stored && !body.warnings.iter().any(|w| w.contains("not stored")) {
                return Some(format!("no warning about storage: {:?}", body.warnings));
            }
            None
        }
        Expect::Error {
            status,
            code,
            retry_after,
        } => {
            let got = r.error().map(|e| e.error.code);
            if r.status != *status || got.as_deref() != Some(code) {
                return Some(format!(
                    "expected {status} {code}, got {} {got:?}: {}",
                    r.status, r.body
                ));
            }
            if *retry_after && r.retry_after.as_deref().is_none_or(str::is_empty) {
                return Some("no Retry-After header".into());
            }
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_faults_are_retried_then_answered() -> anyhow::Result<()> {
    let package = default_package().await?;
    let fe = FaultyEmulator::start(false).await?;
    let admin = fe.emulator.clients().await?;
    let deployed = fe.deploy_without_budgets(&package).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let proxy = &fe.proxy;

    // Warm the function up with no faults, so each scenario measures the function, not a spawn.
    proxy.clear().await?;
    let (warm, _) = call(&admin, &url).await?;
    assert_eq!(warm.status, 200, "{}", warm.body);

    let mut injected = 0;
    let mut wrong = Vec::new();
    let cases = scenarios();
    for case in &cases {
        proxy.set_rules(case.rules.clone()).await?;
        let before = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
        let (r, took) = call(&admin, &url).await?;
        let after = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
        let fired = proxy.fired().await?;
        injected += fired.len();
        let mut problems = Vec::new();
        if let Some(p) = check(&case.expect, &r) {
            problems.push(p);
        }
        if fired.len() != case.faults {
            problems.push(format!(
                "{} faults fired, expected {}: {fired:?}",
                fired.len(),
                case.faults
            ));
        }
        let want_new = usize::from(matches!(case.expect, Expect::Stored));
        if after != before + want_new {
            problems.push(format!(
                "{} new objects, expected {want_new}",
                after - before
            ));
        }
        note(&format!(
            "{}: {} {} in {} ms, {} faults{}",
            case.name,
            r.status,
            r.error().map(|e| e.error.code).unwrap_or_default(),
            took.as_millis(),
            fired.len(),
            r.retry_after
                .as_deref()
                .map(|s| format!(", Retry-After {s}"))
                .unwrap_or_default()
        ));
        if !problems.is_empty() {
            wrong.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }

    // A model call that hangs: with a 2 s model budget, the caller gets a 504 in about 2 s, not
    // API Gateway's bare timeout. The budget is lowered for this check only (the default, 25 s,
    // would make the test wait that long); the same code path serves every budget.
    let function = deployed.outputs[out::FUNCTION_NAME].clone();
    set_function_env(
        &admin,
        &function,
        codegen_contract::env::MODEL_TIMEOUT_MS,
        "2000",
    )
    .await?;
    proxy.clear().await?;
    let (warm, _) = call(&admin, &url).await?;
    assert_eq!(warm.status, 200, "{}", warm.body);
    proxy
        .set_rules(json!([bedrock(None, json!({"latency": 8000}))]))
        .await?;
    let before = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
    let (r, took) = call(&admin, &url).await?;
    let hung = proxy.hits().await?;
    injected += usize::try_from(hung)?;
    note(&format!(
        "Bedrock hangs 8 s, budget 2 s: {} in {} ms",
        r.status,
        took.as_millis()
    ));
    if let Some(p) = check(
        &Expect::Error {
            status: 504,
            code: "model_timeout",
            retry_after: false,
        },
        &r,
    ) {
        wrong.push(format!("Bedrock hangs: {p}"));
    }
    if took >= Duration::from_secs(6) {
        wrong.push(format!(
            "Bedrock hangs: answered after {took:?}, the budget is 2 s"
        ));
    }
    if count_objects(&admin, &bucket, OUTPUT_PREFIX).await? != before {
        wrong.push("Bedrock hangs: an object was written".into());
    }

    summary(&format!(
        "faults: function: {} scenarios, {injected} faults injected, {} handled as designed",
        cases.len() + 1,
        cases.len() + 1 - wrong.len()
    ));
    assert!(wrong.is_empty(), "{wrong:#?}");
    proxy.clear().await?;
    fe.emulator.destroy(true).await?;
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}

/// Adds one environment variable to a function's configuration and waits for the update.
async fn set_function_env(
    admin: &Clients,
    function: &str,
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    let current = admin
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await?;
    let mut vars = current
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    vars.insert(name.to_owned(), value.to_owned());
    admin
        .lambda
        .update_function_configuration()
        .function_name(function)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(vars))
                .build(),
        )
        .send()
        .await?;
    admin
        .lambda
        .wait_until_function_updated_v2()
        .function_name(function)
        .wait(Duration::from_secs(60))
        .await?;
    Ok(())
}

/// A steady rate of transient errors on every control-plane service the deployer calls: one
/// request in three fails, in the envelope each service really uses, never twice in a row for the
/// same rule, so a client that retries must get through and one that does not must fail.
fn steady_errors() -> Value {
    let every_third = |service: &str, code: &str, status: u16| {
        json!({
            "service": service,
            "sequence": {"fail": 1, "pass": 2},
            "error": {"code": code, "status": status, "message": "injected by microburst"},
        })
    };
    json!([
        every_third("cloudformation", "Throttling", 400),
        every_third("s3", "SlowDown", 503),
        every_third("lambda", "TooManyRequestsException", 429),
        every_third("apigateway", "TooManyRequestsException", 429),
        every_third("iam", "Throttling", 400),
        every_third("sts", "Throttling", 400),
    ])
}

/// Per-service count of what fired, for the summary line.
async fn fired_by_service(proxy: &FaultProxy) -> anyhow::Result<String> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for f in proxy.fired().await? {
        *counts.entry(f.service).or_default() += 1;
    }
    Ok(counts
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployer_converges_under_steady_api_errors() -> anyhow::Result<()> {
    let package = default_package().await?;
    let changed = variant_package("steady-errors").await?;
    let fe = FaultyEmulator::start(false).await?;
    let admin = fe.emulator.clients().await?;
    let proxy = &fe.proxy;
    let mut injected = 0;

    // Create, through the faults.
    proxy.set_rules(steady_errors()).await?;
    let created = deploy_via(proxy.connect_options(), &package, false).await?;
    let fired = proxy.fired().await?.len();
    note(&format!(
        "deploy (create) under errors: {} with {fired} faults ({})",
        created.result,
        fired_by_service(proxy).await?
    ));
    injected += fired;
    assert_eq!(created.result, xtask::deploy::DeployResult::Created);
    assert!(fired >= 10, "too few faults to mean anything: {fired}");
    let url = fe.direct_url(&created.outputs[RESOLVED_INVOKE_URL]);
    proxy.clear().await?;
    let (r, _) = call(&admin, &url).await?;
    assert_eq!(r.status, 200, "{}", r.body);

    // A code change, through the faults.
    proxy.set_rules(steady_errors()).await?;
    let updated = deploy_via(proxy.connect_options(), &changed, false).await?;
    let fired = proxy.fired().await?.len();
    note(&format!(
        "deploy (update) under errors: {} with {fired} faults ({})",
        updated.result,
        fired_by_service(proxy).await?
    ));
    injected += fired;
    assert_eq!(updated.result, xtask::deploy::DeployResult::Updated);
    assert!(fired > 0);
    proxy.clear().await?;
    assert_served(&admin, &updated, &changed).await?;

    // Destroy everything, through the faults.
    proxy.set_rules(steady_errors()).await?;
    let gone = destroy_via(proxy.connect_options(), true).await?;
    let fired = proxy.fired().await?.len();
    note(&format!(
        "destroy --all under errors: {} with {fired} faults ({})",
        gone.result,
        fired_by_service(proxy).await?
    ));
    injected += fired;
    assert_eq!(gone.result, xtask::destroy::DestroyResult::Deleted);
    assert!(gone.asset_bucket_deleted);
    assert!(fired > 0);
    proxy.clear().await?;
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        admin.s3.list_buckets().send().await?.buckets().is_empty(),
        "a bucket was left behind"
    );
    summary(&format!(
        "faults: deployer under steady errors: 3 operations, {injected} faults injected, 3 converged, 0 resources leaked"
    ));
    Ok(())
}

/// The function named in `report` runs the zip at `package`.
async fn assert_served(
    admin: &Clients,
    report: &DeployReport,
    package: &std::path::Path,
) -> anyhow::Result<()> {
    let f = admin
        .lambda
        .get_function_configuration()
        .function_name(&report.outputs[out::FUNCTION_NAME])
        .send()
        .await?;
    let want = xtask::package::Package::from_zip(package, Architecture::X86_64)?;
    assert_eq!(
        f.code_sha256().unwrap_or_default(),
        want.sha256_base64,
        "the function must run the deployed package"
    );
    Ok(())
}

/// Runs a deploy through the proxy until `rule` (a hold) has caught a request, then kills it
/// (drops the future mid-call: no cleanup runs, as with SIGKILL). Returns how long it ran.
async fn kill_deploy_at(
    fe: &FaultyEmulator,
    package: &std::path::Path,
    rule: Value,
) -> anyhow::Result<Duration> {
    fe.proxy.set_rules(json!([rule])).await?;
    let connect = fe.proxy.connect_options();
    let package = package.to_path_buf();
    let t = Instant::now();
    let task = tokio::spawn(async move { deploy_via(connect, &package, false).await });
    let held = fe.proxy.wait_for_hits(1, Duration::from_secs(60)).await;
    task.abort();
    let outcome = task.await;
    held?;
    assert!(
        outcome
            .as_ref()
            .is_err_and(tokio::task::JoinError::is_cancelled),
        "the deploy ended before it was killed: {:?}",
        outcome.map(|r| r.map(|d| d.result))
    );
    fe.proxy.clear().await?;
    Ok(t.elapsed())
}

fn hold(service: &str, operation: &str) -> Value {
    json!({"service": service, "operation": operation, "timeout_ms": HOLD_MS})
}

async fn stack_status(admin: &Clients) -> anyhow::Result<Option<String>> {
    Ok(xtask::cfn::describe_stack(&admin.cfn, STACK)
        .await?
        .map(|s| xtask::cfn::status_of(&s).to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_deploys_are_finished_by_the_next_deploy() -> anyhow::Result<()> {
    let package = default_package().await?;
    let fe = FaultyEmulator::start(false).await?;
    let admin = fe.emulator.clients().await?;
    let mut kills = 0;

    // 1. Killed while uploading the package: nothing exists yet but the asset bucket.
    kill_deploy_at(&fe, &package, hold("s3", "PutObject")).await?;
    kills += 1;
    assert_eq!(stack_status(&admin).await?, None);
    let resumed = deploy_via(fe.proxy.connect_options(), &package, false).await?;
    note(&format!(
        "killed while uploading -> next deploy: {} (uploaded {})",
        resumed.result, resumed.package.uploaded
    ));
    assert_eq!(resumed.result, xtask::deploy::DeployResult::Created);
    assert!(resumed.package.uploaded, "the interrupted upload is redone");
    let url = fe.direct_url(&resumed.outputs[RESOLVED_INVOKE_URL]);
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    fe.emulator.destroy(false).await?;

    // 2. Killed after creating the change set, before executing it: an empty stack in
    //    REVIEW_IN_PROGRESS holding a change set nobody will run.
    kill_deploy_at(&fe, &package, hold("cloudformation", "ExecuteChangeSet")).await?;
    kills += 1;
    assert_eq!(
        stack_status(&admin).await?.as_deref(),
        Some("REVIEW_IN_PROGRESS")
    );
    let resumed = deploy_via(fe.proxy.connect_options(), &package, false).await?;
    note(&format!(
        "killed before executing the change set -> next deploy: {} ({})",
        resumed.result, resumed.stack_status
    ));
    assert_eq!(resumed.result, xtask::deploy::DeployResult::Created);
    assert_eq!(resumed.stack_status, "CREATE_COMPLETE");
    assert!(resumed.api_deployment_id.is_some());
    let url = fe.direct_url(&resumed.outputs[RESOLVED_INVOKE_URL]);
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    fe.emulator.destroy(false).await?;

    // 3. Killed after the stack was created, before the API stage was deployed: the stack is
    //    complete but its stage serves nothing, and no deploy was recorded as done. The next
    //    deploy must not take the stack's fingerprint tag for success.
    // microburst does not resolve API Gateway v2 operation names; CreateDeployment is the only
    // API Gateway call of the deployer with a JSON body naming a stage.
    let create_deployment = json!({
        "service": "apigateway",
        "body": "stageName",
        "timeout_ms": HOLD_MS,
    });
    kill_deploy_at(&fe, &package, create_deployment).await?;
    kills += 1;
    assert_eq!(
        stack_status(&admin).await?.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let resumed = deploy_via(fe.proxy.connect_options(), &package, false).await?;
    note(&format!(
        "killed before deploying the API stage -> next deploy: {}, API deployment {:?}",
        resumed.result, resumed.api_deployment_id
    ));
    assert!(
        resumed.api_deployment_id.is_some(),
        "the stage must be deployed by the next deploy"
    );
    let url = fe.direct_url(&resumed.outputs[RESOLVED_INVOKE_URL]);
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    let again = deploy_via(fe.proxy.connect_options(), &package, false).await?;
    assert_eq!(
        again.result,
        xtask::deploy::DeployResult::Unchanged,
        "once finished, the deploy is recorded"
    );

    fe.emulator.destroy(true).await?;
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    summary(&format!(
        "faults: killed deploys: {kills} killed, {kills} finished by the next deploy, 0 resources leaked"
    ));
    Ok(())
}

/// Creates, outside the deployer, a stack named like the stage's whose creation fails: a scratch
/// bucket, then a custom resource whose provider never answers (`hang`: the stack stays
/// `CREATE_IN_PROGRESS` for `ServiceTimeout` seconds) or does not exist (fails at once). Either
/// way CloudFormation rolls back to `ROLLBACK_COMPLETE`, as a first deploy that failed would.
async fn create_failing_stack(admin: &Clients, service_token: &str) -> anyhow::Result<()> {
    let template = json!({
        "Resources": {
            "Scratch": {"Type": "AWS::S3::Bucket"},
            "Provider": {
                "Type": "Custom::NeverAnswers",
                "DependsOn": "Scratch",
                "Properties": {"ServiceToken": service_token, "ServiceTimeout": 3},
            },
        },
    });
    admin
        .cfn
        .create_stack()
        .stack_name(STACK)
        .template_body(template.to_string())
        .send()
        .await?;
    Ok(())
}

async fn wait_for_status(admin: &Clients, want: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = stack_status(admin).await?;
        if status.as_deref() == Some(want) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "stack is {status:?}, waited for {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_and_rolled_back_stacks_are_recovered() -> anyhow::Result<()> {
    let package = default_package().await?;
    let fe = FaultyEmulator::start(false).await?;
    let admin = fe.emulator.clients().await?;

    // A first deploy that failed: ROLLBACK_COMPLETE, which CloudFormation cannot update.
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:codegen-local-no-such-provider";
    create_failing_stack(&admin, missing).await?;
    wait_for_status(&admin, "ROLLBACK_COMPLETE").await?;
    let recovered = fe.deploy_without_budgets(&package).await?;
    note(&format!(
        "ROLLBACK_COMPLETE -> deploy: {} ({})",
        recovered.result, recovered.stack_status
    ));
    assert_eq!(recovered.result, xtask::deploy::DeployResult::Created);
    assert_eq!(recovered.stack_status, "CREATE_COMPLETE");
    let url = recovered.outputs[RESOLVED_INVOKE_URL].clone();
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    fe.emulator.destroy(false).await?;

    // An operation still running when deploy starts (another pipeline, or a killed deploy's
    // stack operation): deploy waits for it, then recovers from whatever it ended in (here a
    // rollback). The provider is a function that never answers CloudFormation.
    let provider = "codegen-local-hanging-provider";
    let zip = std::fs::read(&package)?;
    let arn = admin
        .lambda
        .create_function()
        .function_name(provider)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role("arn:aws:iam::000000000000:role/codegen-local-hanging-provider")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(zip.into())
                .build(),
        )
        .send()
        .await?
        .function_arn()
        .unwrap_or_default()
        .to_owned();
    create_failing_stack(&admin, &arn).await?;
    wait_for_status(&admin, "CREATE_IN_PROGRESS").await?;
    let t = Instant::now();
    let recovered = fe.deploy_without_budgets(&package).await?;
    note(&format!(
        "CREATE_IN_PROGRESS (hung provider) -> deploy: {} after {} ms",
        recovered.result,
        t.elapsed().as_millis()
    ));
    assert_eq!(recovered.result, xtask::deploy::DeployResult::Created);
    let url = recovered.outputs[RESOLVED_INVOKE_URL].clone();
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    admin
        .lambda
        .delete_function()
        .function_name(provider)
        .send()
        .await?;
    // Running it created its log group, as Lambda does; it is this test's to remove.
    admin
        .logs
        .delete_log_group()
        .log_group_name(format!("/aws/lambda/{provider}"))
        .send()
        .await?;

    fe.emulator.destroy(true).await?;
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    summary(
        "faults: failed stacks: 2 (ROLLBACK_COMPLETE, CREATE_IN_PROGRESS), 2 recovered by deploy, 0 resources leaked",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_completes_after_interruption_or_partial_deletion() -> anyhow::Result<()> {
    let package = default_package().await?;
    let fe = FaultyEmulator::start(false).await?;
    let admin = fe.emulator.clients().await?;

    // 1. Killed after emptying the bucket, while asking CloudFormation to delete the stack.
    let deployed = fe.deploy_without_budgets(&package).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    fe.proxy
        .set_rules(json!([hold("cloudformation", "DeleteStack")]))
        .await?;
    let connect = fe.proxy.connect_options();
    let task = tokio::spawn(async move { destroy_via(connect, false).await });
    let held = fe.proxy.wait_for_hits(1, Duration::from_secs(60)).await;
    task.abort();
    let _ = task.await;
    held?;
    fe.proxy.clear().await?;
    assert_eq!(
        stack_status(&admin).await?.as_deref(),
        Some("CREATE_COMPLETE"),
        "the kill came before the delete reached CloudFormation"
    );
    let finished = destroy_via(fe.proxy.connect_options(), false).await?;
    note(&format!(
        "destroy killed before DeleteStack -> next destroy: {}",
        finished.result
    ));
    assert_eq!(finished.result, xtask::destroy::DestroyResult::Deleted);
    assert_eq!(stack_status(&admin).await?, None);

    // 2. Half-deleted by hand: the function and the code bucket (with its objects) are gone, the
    //    stack still lists them.
    let deployed = fe.deploy_without_budgets(&package).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    assert_eq!(call(&admin, &url).await?.0.status, 200);
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    xtask::buckets::empty_bucket(&admin.s3, &bucket).await?;
    admin.s3.delete_bucket().bucket(&bucket).send().await?;
    admin
        .lambda
        .delete_function()
        .function_name(&deployed.outputs[out::FUNCTION_NAME])
        .send()
        .await?;
    let finished = destroy_via(fe.proxy.connect_options(), true).await?;
    note(&format!(
        "half-deleted stack (function and bucket gone) -> destroy: {}",
        finished.result
    ));
    assert_eq!(finished.result, xtask::destroy::DestroyResult::Deleted);

    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(admin.s3.list_buckets().send().await?.buckets().is_empty());
    summary(
        "faults: interrupted destroys: 2 (killed before DeleteStack, resources deleted by hand), 2 completed, 0 resources leaked",
    );
    Ok(())
}
