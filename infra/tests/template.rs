//! CDK `Template.fromStack`-style assertions on the synthesised codegen stack.
//!
//! Every test works on the template as CloudFormation reads it (`to_json_value()`), not on the
//! construct types, so a change in any construct that alters the deployed resources shows up here.
//! Resources are picked by logical id (renaming one replaces the resource, so the ids are part of
//! what is asserted); the CDK-like assertions and the generic lookups are in `support/`.
//! Stage files are read from `infra/stages/` (the committed ones) or derived from `dev.yaml` by
//! text replacement; the only other IO is reading the committed templates in `infra/templates/`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen_contract::{
    JOB_STATUS_ROUTE_KEY, JOBS_PREFIX, JOBS_SUBMIT_ROUTE_KEY, OUTPUT_PREFIX, ROUTE_KEY, env,
};
use codegen_infra::config::{
    AFTER_MODEL_BUDGET_MS, API_GATEWAY_TIMEOUT_SECONDS, StageConfig, list_stages, parse_stage,
};
use codegen_infra::render::{Format, Kind, render, template_path_of};
use codegen_infra::stack::{JOBS_API_TIMEOUT_SECONDS, outputs};
use serde_json::{Value, json};
use support::assertions::{
    find_resources, get_att, has_resource_properties, logical_ids, properties, reference, resource,
    resource_count_is, resource_has_properties, resources, sub, type_counts,
};
use support::lookups::{
    as_list, integration_of, policy_documents, referenced_id, role_policy_documents, route,
    statement_with_sid, statements, str_of, u64_of,
};
use support::stages::{
    DEV_TEXT, LOCAL_TEXT, dev, dev_text_with, dev_with_stack_name, local, stage_file,
    stage_from_text,
};

/// The dev model's inference profile and the foundation model it routes to.
const PROFILE_ARN: &str = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.anthropic.claude-sonnet-4-6";
const FOUNDATION_MODEL_ARNS: [&str; 3] = [
    "arn:${AWS::Partition}:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-6",
];

const ROLE: &str = "AWS::IAM::Role";
const FUNCTION: &str = "AWS::Lambda::Function";
const QUEUE: &str = "AWS::SQS::Queue";
const EVENT_SOURCE: &str = "AWS::Lambda::EventSourceMapping";
const JOBS_QUEUE: &str = "JobsQueue";
const QUOTA_TABLE: &str = "QuotaTable";
const DEAD_LETTER_QUEUE: &str = "JobsDeadLetterQueue";

/// One function of the stack with its own role and log group (`Common::part` in stack.rs).
#[derive(Debug, Clone, Copy)]
struct Part {
    function: &'static str,
    role: &'static str,
    logs: &'static str,
    /// Its `CODEGEN_ROLE`.
    name: &'static str,
}

/// `PUT /code-generation`: generates inside the request.
const SYNC: Part = Part {
    function: "Function",
    role: "FunctionRole",
    logs: "FunctionLogGroup",
    name: "sync",
};
/// `POST /code-generation/jobs`: records a job and enqueues it.
const SUBMIT: Part = Part {
    function: "JobsSubmitFunction",
    role: "JobsSubmitRole",
    logs: "JobsSubmitLogGroup",
    name: "submit",
};
/// `GET /code-generation/jobs/{job_id}`: reads a job and its code.
const STATUS: Part = Part {
    function: "JobsStatusFunction",
    role: "JobsStatusRole",
    logs: "JobsStatusLogGroup",
    name: "status",
};
/// The queue's consumer: runs the generation pipeline outside any request.
const WORKER: Part = Part {
    function: "JobsWorkerFunction",
    role: "JobsWorkerRole",
    logs: "JobsWorkerLogGroup",
    name: "worker",
};
const PARTS: [Part; 4] = [SYNC, SUBMIT, STATUS, WORKER];
/// The parts that call the model.
const MODEL_CALLERS: [Part; 2] = [SYNC, WORKER];

/// The API's routes: (route key, the function it invokes, the invoke permission's logical id, the
/// `<method>/<path>` its source ARN is scoped to).
const ROUTES: [(&str, Part, &str, &str); 3] = [
    (
        ROUTE_KEY,
        SYNC,
        "ApiPutCodeGenerationPermission",
        "PUT/code-generation",
    ),
    (
        JOBS_SUBMIT_ROUTE_KEY,
        SUBMIT,
        "ApiPostCodeGenerationJobsPermission",
        "POST/code-generation/jobs",
    ),
    (
        JOB_STATUS_ROUTE_KEY,
        STATUS,
        "ApiGetCodeGenerationJobsJobIdPermission",
        // The path parameter `{job_id}` becomes `*`, as in the ARNs API Gateway invokes with.
        "GET/code-generation/jobs/*",
    ),
];

// ---------------------------------------------------------------------------------------------
// Helpers: stages, templates and IAM permission sets.
// ---------------------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("infra/ has a parent directory (the workspace root)")
        .to_path_buf()
}

fn synth(cfg: &StageConfig) -> Value {
    codegen_infra::stack(cfg).to_json_value()
}

/// Statements of the one inline policy of role `role_id`: every permission of this stack's roles
/// is written into that one policy by grants (`support::lookups::role_statements` with that
/// expectation).
fn grant_statements<'a>(t: &'a Value, role_id: &str) -> Vec<&'a Value> {
    let documents = role_policy_documents(t, role_id);
    assert_eq!(
        documents.len(),
        1,
        "{role_id}: one inline policy, written by grants"
    );
    documents.into_iter().flat_map(statements).collect()
}

/// `(action, resource as JSON text)` for every action/resource pair `statements` allow, sorted,
/// so the comparison is independent of statement order.
fn pairs_of(statements: &[&Value]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for stmt in statements {
        assert_eq!(
            stmt["Effect"], "Allow",
            "role statements are allows: {stmt}"
        );
        for key in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(stmt.get(key).is_none(), "{key} is never used: {stmt}");
        }
        for action in as_list(&stmt["Action"]) {
            for resource in as_list(&stmt["Resource"]) {
                pairs.push((str_of(action).to_owned(), resource.to_string()));
            }
        }
    }
    pairs.sort();
    pairs
}

/// Every `(action, resource)` pair role `role_id` allows.
fn allowed_pairs(t: &Value, role_id: &str) -> Vec<(String, String)> {
    pairs_of(&grant_statements(t, role_id))
}

fn pair(action: &str, resource: &Value) -> (String, String) {
    (action.to_owned(), resource.to_string())
}

/// The ARN pattern of the code bucket's objects under `prefix`.
fn objects_under(prefix: &str) -> Value {
    sub(&format!("${{CodeBucket.Arn}}/{prefix}*"))
}

/// What the Bedrock grant writes for `action`: the profile plus the routed foundation models.
fn bedrock_pairs(action: &str) -> Vec<(String, String)> {
    std::iter::once(PROFILE_ARN)
        .chain(FOUNDATION_MODEL_ARNS)
        .map(|arn| pair(action, &sub(arn)))
        .collect()
}

/// The complete permission set of a part's role in dev (and what AWS evaluates in local).
fn expected_pairs(part: Part) -> Vec<(String, String)> {
    let code = objects_under(OUTPUT_PREFIX);
    let job_records = objects_under(JOBS_PREFIX);
    let consume = |queue: &str| {
        [
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ]
        .map(|action| pair(action, &get_att(queue, "Arn")))
    };
    let logs = get_att(part.logs, "Arn");
    let mut pairs = vec![
        pair("logs:CreateLogStream", &logs),
        pair("logs:PutLogEvents", &logs),
    ];
    match part.name {
        // Write generated code, call the model.
        "sync" => {
            pairs.push(pair("s3:PutObject", &code));
            pairs.extend(bedrock_pairs("bedrock:InvokeModel"));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        // The front door may create job records and enqueue, not write code.
        "submit" => {
            pairs.push(pair("s3:PutObject", &job_records));
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.push(pair("sqs:SendMessage", &get_att(JOBS_QUEUE, "Arn")));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        // The status reader may read job records and the code objects they point to.
        "status" => {
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.push(pair("s3:GetObject", &code));
        }
        // The worker may write code and job records, read back code an earlier attempt stored,
        // call the model and consume both queues.
        "worker" => {
            pairs.push(pair("s3:PutObject", &code));
            pairs.push(pair("s3:GetObject", &code));
            pairs.push(pair("s3:PutObject", &job_records));
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.extend(bedrock_pairs("bedrock:InvokeModel"));
            pairs.extend(consume(JOBS_QUEUE));
            pairs.extend(consume(DEAD_LETTER_QUEUE));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        other => panic!("unknown part {other}"),
    }
    pairs.sort();
    pairs
}

/// The roles in the template allowing at least one `(action, resource)` pair `holds` accepts.
fn roles_allowing(t: &Value, holds: impl Fn(&str, &str) -> bool) -> BTreeSet<&str> {
    find_resources(t, ROLE)
        .into_iter()
        .filter(|(id, _)| {
            allowed_pairs(t, id)
                .iter()
                .any(|(action, resource)| holds(action.as_str(), resource.as_str()))
        })
        .map(|(id, _)| id)
        .collect()
}

fn role_ids(parts: &[Part]) -> BTreeSet<&'static str> {
    parts.iter().map(|p| p.role).collect()
}

/// The statements of `role_id` whose Sid marks them as emulator-only, and the others.
fn split_emulator_only<'a>(t: &'a Value, role_id: &str) -> (Vec<&'a Value>, Vec<&'a Value>) {
    grant_statements(t, role_id)
        .into_iter()
        .partition(|s| str_of(&s["Sid"]).starts_with("EmulatorOnly"))
}

// ---------------------------------------------------------------------------------------------
// 1. Resource counts and logical ids.
// ---------------------------------------------------------------------------------------------

fn expected_counts(with_bucket_policy: bool) -> BTreeMap<String, usize> {
    let mut expected: BTreeMap<String, usize> = [
        ("AWS::S3::Bucket", 1),
        (ROLE, 4),
        // One per function, plus the API's access logs.
        ("AWS::Logs::LogGroup", 5),
        (FUNCTION, 4),
        ("AWS::Lambda::Permission", 3),
        (EVENT_SOURCE, 2),
        (QUEUE, 2),
        // The API itself is the bootstrap's (infra/tests/api_scope.rs).
        ("AWS::ApiGatewayV2::Integration", 3),
        ("AWS::ApiGatewayV2::Route", 3),
        ("AWS::ApiGatewayV2::Stage", 1),
        // Monitoring (infra/src/alarms.rs; each alarm is asserted in infra/tests/alarms.rs): the
        // encrypted alarm topic, its key and policy, 14 alarms and the dashboard.
        ("AWS::CloudWatch::Alarm", 14),
        ("AWS::CloudWatch::Dashboard", 1),
        // The budget table (infra/src/quotas.rs): both committed emulator and dev stages have
        // budgets.
        ("AWS::DynamoDB::Table", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if with_bucket_policy {
        expected.insert("AWS::S3::BucketPolicy".to_owned(), 1);
    }
    expected
}

/// The API id the app stack imports from its bootstrap stack (which owns the API).
fn imported_api_id(cfg: &StageConfig) -> Value {
    json!({"Fn::ImportValue": codegen_infra::names::api_id_export(&cfg.stack_name)})
}

#[test]
fn dev_has_exactly_the_expected_resources() {
    let t = synth(&dev());
    // An exact map also proves the absence of everything else: no ApiGatewayV2::Deployment (the
    // deployer deploys explicitly), no IAM::Policy / ManagedPolicy / User; one KMS key, the alarm
    // topic's.
    assert_eq!(type_counts(&t), expected_counts(true));
    for absent in [
        "AWS::ApiGatewayV2::Deployment",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::User",
    ] {
        resource_count_is(&t, absent, 0);
    }
}

#[test]
fn local_has_no_bucket_policy_and_otherwise_the_same_resources() {
    // ministack serves plain HTTP, so the TLS-only bucket policy would deny every request there
    // (see infra/src/stack.rs).
    let t = synth(&local());
    assert_eq!(type_counts(&t), expected_counts(false));
    resource_count_is(&t, "AWS::S3::BucketPolicy", 0);
    resource_count_is(&t, "AWS::ApiGatewayV2::Deployment", 0);
}

/// A renamed logical id makes CloudFormation replace the resource: a new bucket (the old one
/// deleted with its objects), new queues (queued jobs lost), new log groups. So the ids are pinned.
#[test]
fn logical_ids_are_stable() {
    let t = synth(&dev());
    let actual: BTreeSet<&str> = resources(&t).keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = [
        "ApiAccessLogGroup",
        "ApiStage",
        "CodeBucket",
        "CodeBucketPolicy",
        JOBS_QUEUE,
        DEAD_LETTER_QUEUE,
        QUOTA_TABLE,
        "JobsWorkerQueueSource",
        "JobsWorkerDeadLetterSource",
        "Dashboard",
        "AlarmApi5xx",
        "AlarmBedrockThrottles",
        "AlarmDeadLetterQueue",
        "AlarmJobAge",
        "AlarmJobsFailed",
        "AlarmOutputTokens",
    ]
    .into_iter()
    .collect();
    let function_alarms: Vec<String> = ["Sync", "Submit", "Status", "Worker"]
        .into_iter()
        .flat_map(|r| ["Errors", "Throttles"].map(|k| format!("Alarm{r}{k}")))
        .collect();
    expected.extend(function_alarms.iter().map(String::as_str));
    for part in PARTS {
        expected.extend([part.function, part.role, part.logs]);
    }
    let route_ids: Vec<String> = [
        "ApiPutCodeGeneration",
        "ApiPostCodeGenerationJobs",
        "ApiGetCodeGenerationJobsJobId",
    ]
    .into_iter()
    .flat_map(|r| ["Integration", "Route", "Permission"].map(|s| format!("{r}{s}")))
    .collect();
    expected.extend(route_ids.iter().map(String::as_str));
    assert_eq!(actual, expected);
}

// ---------------------------------------------------------------------------------------------
// 2. The roles' permissions: one role per function, each with exactly what it needs.
// ---------------------------------------------------------------------------------------------

#[test]
fn each_function_runs_as_its_own_role() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let actual: BTreeMap<&str, &str> = find_resources(&t, FUNCTION)
            .into_iter()
            .map(|(id, f)| (id, referenced_id(&f["Properties"]["Role"])))
            .collect();
        let expected: BTreeMap<&str, &str> = PARTS.iter().map(|p| (p.function, p.role)).collect();
        assert_eq!(actual, expected, "{}", cfg.name);
    }
}

#[test]
fn dev_sync_role_allows_exactly_put_invoke_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, SYNC.role), expected_pairs(SYNC));
}

/// The front door may create job records and enqueue, not write code or call the model.
#[test]
fn dev_submit_role_allows_exactly_job_records_enqueue_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, SUBMIT.role), expected_pairs(SUBMIT));
}

/// The status reader may read job records and the code objects they point to, nothing else.
#[test]
fn dev_status_role_allows_exactly_reads_of_job_records_and_code_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, STATUS.role), expected_pairs(STATUS));
}

/// The worker may write code and job records, read job records and code, call the model and
/// consume the jobs queue and its dead-letter queue, nothing else.
#[test]
fn dev_worker_role_allows_exactly_code_job_records_model_queues_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, WORKER.role), expected_pairs(WORKER));
}

/// Whether a role's `(action, resource)` pair gives it a capability.
type Holds = Box<dyn Fn(&str, &str) -> bool>;

/// Each capability, across every role in the template (a new role is covered without editing
/// this test), is held by exactly the roles that need it.
#[test]
fn capabilities_are_held_by_exactly_the_roles_that_need_them() {
    let code = objects_under(OUTPUT_PREFIX).to_string();
    let cases: [(&str, Holds, Vec<Part>); 7] = [
        (
            "any Bedrock action",
            Box::new(|a: &str, _: &str| a.starts_with("bedrock:")),
            vec![SYNC, WORKER],
        ),
        (
            "consuming SQS (any SQS action but SendMessage)",
            Box::new(|a: &str, _: &str| a.starts_with("sqs:") && a != "sqs:SendMessage"),
            vec![WORKER],
        ),
        (
            "sqs:SendMessage",
            Box::new(|a: &str, _: &str| a == "sqs:SendMessage"),
            vec![SUBMIT],
        ),
        (
            "writing generated code",
            Box::new(move |a: &str, r: &str| a == "s3:PutObject" && r == code),
            vec![SYNC, WORKER],
        ),
        (
            "any S3 action but GetObject",
            Box::new(|a: &str, _: &str| a.starts_with("s3:") && a != "s3:GetObject"),
            vec![SYNC, SUBMIT, WORKER],
        ),
        (
            // Reserving and settling budgets (the model callers) and job slots (submit, worker).
            "dynamodb:UpdateItem on the budget table",
            Box::new(|a: &str, _: &str| a == "dynamodb:UpdateItem"),
            vec![SYNC, SUBMIT, WORKER],
        ),
        (
            "any action but S3 object reads/writes, logs, Bedrock, SQS and budget updates",
            Box::new(|a: &str, _: &str| {
                !["s3:GetObject", "s3:PutObject", "dynamodb:UpdateItem"].contains(&a)
                    && !["logs:", "bedrock:", "sqs:"]
                        .iter()
                        .any(|p| a.starts_with(p))
            }),
            vec![],
        ),
    ];
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (capability, holds, parts) in &cases {
            assert_eq!(
                roles_allowing(&t, holds),
                role_ids(parts),
                "{}: roles allowing {capability}",
                cfg.name
            );
        }
    }
}

#[test]
fn each_role_writes_only_to_its_own_functions_log_group() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (function_id, function) in find_resources(&t, FUNCTION) {
            let p = &function["Properties"];
            let role_id = referenced_id(&p["Role"]);
            let group = get_att(referenced_id(&p["LoggingConfig"]["LogGroup"]), "Arn").to_string();
            let log_resources: BTreeSet<String> = allowed_pairs(&t, role_id)
                .into_iter()
                .filter(|(action, _)| action.starts_with("logs:"))
                .map(|(_, resource)| resource)
                .collect();
            assert_eq!(
                log_resources,
                BTreeSet::from([group]),
                "{}: {function_id}'s role {role_id}",
                cfg.name
            );
        }
    }
}

#[test]
fn routed_foundation_models_are_conditioned_on_the_inference_profile() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (role_id, _) in find_resources(&t, ROLE) {
            // The emulator-only statement is checked in
            // `local_model_callers_add_only_the_emulator_converse_grant`.
            let (_, aws) = split_emulator_only(&t, role_id);
            for stmt in aws {
                let resources: Vec<String> = as_list(&stmt["Resource"])
                    .iter()
                    .map(|r| r.to_string())
                    .collect();
                let on_foundation_models =
                    resources.iter().any(|r| r.contains("foundation-model/"));
                let condition = &stmt["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"];
                if on_foundation_models {
                    assert_eq!(
                        *condition,
                        sub(PROFILE_ARN),
                        "{} {role_id}: foundation models only through the profile: {stmt}",
                        cfg.name
                    );
                    assert!(
                        resources.iter().all(|r| r.contains("foundation-model/")),
                        "{} {role_id}: the condition must not leak onto other resources: {stmt}",
                        cfg.name
                    );
                } else {
                    assert!(
                        stmt.get("Condition").is_none(),
                        "{} {role_id}: unexpected condition: {stmt}",
                        cfg.name
                    );
                }
            }
        }
    }
}

/// A `global.` profile: AWS's three statements (profile; regional foundation model through the
/// profile; region-less foundation model with `aws:RequestedRegion = unspecified` through the
/// profile), and nothing else for Bedrock, in every role that calls the model.
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>
#[test]
fn global_profile_synthesises_the_documented_statements() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: global.anthropic.claude-opus-4-8",
        ),
    );
    let t = synth(&cfg);
    let profile = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/global.anthropic.claude-opus-4-8";
    for part in MODEL_CALLERS {
        let bedrock: Vec<&Value> = grant_statements(&t, part.role)
            .into_iter()
            .filter(|s| str_of(&s["Sid"]).starts_with("Bedrock"))
            .collect();
        assert_eq!(bedrock.len(), 3, "{}: {bedrock:?}", part.role);
        assert_eq!(bedrock[0]["Resource"], json!([sub(profile)]));
        assert!(bedrock[0].get("Condition").is_none());
        assert_eq!(
            bedrock[1]["Resource"],
            json!([sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/anthropic.claude-opus-4-8"
            )])
        );
        assert_eq!(
            bedrock[1]["Condition"],
            json!({ "StringEquals": { "bedrock:InferenceProfileArn": sub(profile) } })
        );
        assert_eq!(
            bedrock[2]["Resource"],
            json!([sub(
                "arn:${AWS::Partition}:bedrock:::foundation-model/anthropic.claude-opus-4-8"
            )])
        );
        assert_eq!(
            bedrock[2]["Condition"],
            json!({ "StringEquals": {
                "aws:RequestedRegion": "unspecified",
                "bedrock:InferenceProfileArn": sub(profile)
            } })
        );
        for s in &bedrock {
            assert_eq!(s["Action"], json!(["bedrock:InvokeModel"]), "{s}");
        }
    }
}

/// A geographic profile from another source region names that region's documented destinations.
#[test]
fn geographic_profile_follows_the_source_region() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with("region: us-east-1", "region: eu-west-1").replace(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: eu.anthropic.claude-sonnet-4-6",
        ),
    );
    let t = synth(&cfg);
    for part in MODEL_CALLERS {
        let routed = statement_with_sid(
            grant_statements(&t, part.role),
            "BedrockInvokeRoutedFoundationModel",
        );
        let regions: Vec<String> = as_list(&routed["Resource"])
            .iter()
            .map(|r| {
                let arn = r["Fn::Sub"].as_str().unwrap_or_default();
                let after = arn.split_once(":bedrock:").map_or("", |(_, rest)| rest);
                after.split(':').next().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            regions,
            ["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"],
            "{}",
            part.role
        );
    }
}

/// In local, the roles that call Bedrock (sync and worker) each get the ministack-only
/// `bedrock:Converse` statement with its cfn-lint suppression; no other role does, and what AWS
/// would evaluate is exactly dev's permission set for every role.
#[test]
fn local_model_callers_add_only_the_emulator_converse_grant() {
    let t = synth(&local());
    for part in PARTS {
        let calls_model = MODEL_CALLERS.iter().any(|p| p.role == part.role);
        let (emulator_only, aws) = split_emulator_only(&t, part.role);
        assert_eq!(pairs_of(&aws), expected_pairs(part), "{}", part.role);

        // ministack authorises Converse as `bedrock:Converse` on `foundation-model/<the id in the
        // request>`, here the inference profile id: one statement naming exactly that id.
        let expected_emulator_only = if calls_model {
            vec![pair(
                "bedrock:Converse",
                &sub(
                    "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/us.anthropic.claude-sonnet-4-6",
                ),
            )]
        } else {
            Vec::new()
        };
        assert_eq!(
            pairs_of(&emulator_only),
            expected_emulator_only,
            "{}",
            part.role
        );

        for stmt in grant_statements(&t, part.role) {
            let sid = str_of(&stmt["Sid"]);
            let is_converse = as_list(&stmt["Action"]).contains(&&json!("bedrock:Converse"));
            assert_eq!(
                is_converse,
                sid.starts_with("EmulatorOnly"),
                "bedrock:Converse statements, and only they, are marked EmulatorOnly: {stmt}"
            );
        }

        let metadata = &resource(&t, part.role, ROLE)["Metadata"];
        if calls_model {
            assert_eq!(
                metadata["cfn-lint"]["config"]["ignore_checks"],
                json!(["W3037"]),
                "{}",
                part.role
            );
            let reason = metadata["Comments"]["cfn-lint W3037"]
                .as_str()
                .expect("the W3037 ignore has a reason");
            assert!(reason.contains("ministack"), "{reason}");
        } else {
            assert!(metadata.is_null(), "{}: {metadata}", part.role);
        }
    }
}

#[test]
fn dev_never_mentions_bedrock_converse_or_lint_ignores() {
    let t = synth(&dev());
    let text = t.to_string();
    assert!(
        !text.contains("bedrock:Converse"),
        "dev grants only real IAM actions"
    );
    assert!(!text.contains("EmulatorOnly"));
    for (role_id, role) in find_resources(&t, ROLE) {
        assert!(role.get("Metadata").is_none(), "{role_id}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Trust policy and permissions boundary.
// ---------------------------------------------------------------------------------------------

#[test]
fn trust_policies_are_lambda_only_and_scoped_to_the_account() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, ROLE, PARTS.len());
        for (role_id, role) in find_resources(&t, ROLE) {
            let role = &role["Properties"];
            assert_eq!(
                role["AssumeRolePolicyDocument"],
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Service": "lambda.amazonaws.com" },
                        "Action": ["sts:AssumeRole"],
                        "Condition": {
                            "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } }
                        }
                    }]
                }),
                "{} {role_id}",
                cfg.name
            );
            assert!(
                role.get("ManagedPolicyArns").is_none(),
                "{} {role_id}",
                cfg.name
            );
            assert_eq!(
                role["PermissionsBoundary"],
                json!({"Fn::Sub": format!(
                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}-boundary",
                    cfg.stack_name
                )}),
                "{} {role_id}: the bootstrap's boundary",
                cfg.name
            );
        }
    }
}

#[test]
fn every_role_carries_the_bootstraps_permissions_boundary_named_after_the_stack() {
    let t = synth(&dev_with_stack_name("other-app"));
    for part in PARTS {
        assert_eq!(
            properties(&t, part.role, ROLE)["PermissionsBoundary"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/other-app-boundary"}),
            "{}",
            part.role
        );
        // The boundary changes nothing else about the role's permissions.
        assert_eq!(allowed_pairs(&t, part.role), expected_pairs(part));
    }
    assert_eq!(
        codegen_infra::names::permissions_boundary("other-app"),
        "other-app-boundary",
        "the bootstrap names the policy the same way"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Least privilege across every IAM statement in the template.
// ---------------------------------------------------------------------------------------------

/// Walks every IAM policy document in a template (any `PolicyDocument` or
/// `AssumeRolePolicyDocument` anywhere under a resource's properties) and returns one line per
/// wildcard an `Allow` grants: an action containing `*`, a resource `*` (literal or `Fn::Sub`), a
/// principal `*`, or any `Not*` element.
///
/// The single allowance: the bucket policy's TLS-only `Deny` (`s3:*` for `"AWS": "*"` when
/// `aws:SecureTransport` is `"false"`) is AWS's documented way to refuse plain HTTP. A deny cannot
/// grant anything, but it is still matched narrowly (resource type, effect and condition) so a
/// wildcard anywhere else, deny or not, is reported.
fn wildcard_findings(template: &Value) -> Vec<String> {
    let mut findings = Vec::new();
    let Some(resources) = template["Resources"].as_object() else {
        return vec!["template has no Resources".to_owned()];
    };
    for (id, resource) in resources {
        let type_name = resource["Type"].as_str().unwrap_or_default();
        let documents = policy_documents(&resource["Properties"]);
        for (doc_index, document) in documents.into_iter().enumerate() {
            for stmt in as_list(&document["Statement"]) {
                let at = format!("{id} ({type_name}) document {doc_index}: {stmt}");
                let is_tls_only_deny = type_name == "AWS::S3::BucketPolicy"
                    && stmt["Effect"] == "Deny"
                    && stmt["Condition"]["Bool"]["aws:SecureTransport"] == "false";
                if is_tls_only_deny {
                    // Allowed: `s3:*`, `Principal: {AWS: *}` in the TLS-only deny (see above).
                    continue;
                }
                // Allowed: `Resource: *` in a KMS key policy, where it means "this KMS key" ("Key
                // policies in AWS KMS", AWS KMS Developer Guide,
                // https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): only
                // that element; actions and principals are still checked.
                let is_key_policy = type_name == "AWS::KMS::Key";
                for key in ["NotAction", "NotResource", "NotPrincipal"] {
                    if stmt.get(key).is_some() {
                        findings.push(format!("{key} used in {at}"));
                    }
                }
                for action in as_list(&stmt["Action"]) {
                    if action.as_str().is_none_or(|a| a.contains('*')) {
                        findings.push(format!("wildcard action {action} in {at}"));
                    }
                }
                for resource in as_list(&stmt["Resource"]) {
                    if is_wildcard_resource(resource) && !is_key_policy {
                        findings.push(format!("wildcard resource {resource} in {at}"));
                    }
                }
                if is_wildcard_principal(&stmt["Principal"]) {
                    findings.push(format!("wildcard principal in {at}"));
                }
            }
        }
    }
    findings
}

fn is_wildcard_resource(resource: &Value) -> bool {
    match resource {
        Value::String(s) => s == "*",
        Value::Object(map) => match map.get("Fn::Sub") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Array(parts)) => parts.first().is_some_and(|p| p == "*"),
            _ => false,
        },
        _ => false,
    }
}

fn is_wildcard_principal(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .values()
            .flat_map(as_list)
            .any(|p| p.as_str() == Some("*")),
        _ => false,
    }
}

#[test]
fn no_statement_in_any_stage_grants_a_wildcard() {
    for cfg in [dev(), local()] {
        let findings = wildcard_findings(&synth(&cfg));
        assert!(
            findings.is_empty(),
            "{}: least-privilege violations:\n{}",
            cfg.name,
            findings.join("\n")
        );
    }
}

#[test]
fn the_checker_sees_the_bucket_policy_and_its_allowance_is_narrow() {
    let t = synth(&dev());
    // The checker must actually reach the documents: the dev template has two per role (trust,
    // inline policy) and the bucket policy.
    let docs: usize = resources(&t)
        .values()
        .map(|r| policy_documents(&r["Properties"]).len())
        .sum();
    // (The alarm topic's policy and its key's policy are the bootstrap's: infra/tests/alarms.rs.)
    assert_eq!(docs, 2 * PARTS.len() + 1);

    // The same deny without its TLS condition is no longer the allowed exception.
    let mut tampered = t.clone();
    let statement = &mut tampered["Resources"]["CodeBucketPolicy"]["Properties"]["PolicyDocument"]
        ["Statement"][0];
    statement
        .as_object_mut()
        .expect("statement is an object")
        .remove("Condition");
    let findings = wildcard_findings(&tampered);
    assert!(
        findings.iter().any(|f| f.contains("\"s3:*\"")),
        "{findings:?}"
    );
}

#[test]
fn the_checker_reports_deliberately_bad_templates() {
    let bad_role = |statement: Value| {
        json!({
            "Resources": {
                "BadRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "Policies": [{
                            "PolicyName": "p",
                            "PolicyDocument": { "Version": "2012-10-17", "Statement": [statement] }
                        }]
                    }
                }
            }
        })
    };
    let cases = [
        (
            json!({ "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*" }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/*"] }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*" }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*" }),
            "wildcard resource",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [{ "Fn::Sub": "*" }] }),
            "wildcard resource",
        ),
        (
            json!({ "Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["arn:aws:s3:::b"] }),
            "NotAction",
        ),
        (
            // A deny outside a bucket policy's TLS-only statement is not the allowed exception.
            json!({ "Effect": "Deny", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"] }),
            "wildcard action",
        ),
    ];
    for (statement, expected) in cases {
        let findings = wildcard_findings(&bad_role(statement.clone()));
        assert!(
            findings.iter().any(|f| f.contains(expected)),
            "{statement} must be reported as `{expected}`, got {findings:?}"
        );
    }

    let public_bucket_policy = json!({
        "Resources": {
            "P": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "PolicyDocument": { "Statement": [{
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject"],
                        "Resource": [{ "Fn::Sub": "${B.Arn}/*" }]
                    }]}
                }
            }
        }
    });
    let findings = wildcard_findings(&public_bucket_policy);
    assert!(
        findings.iter().any(|f| f.contains("wildcard principal")),
        "{findings:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Bucket protections.
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_is_private_encrypted_versioned_and_expires_code_and_job_records() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::S3::Bucket", 1);
        let bucket = resource(&t, "CodeBucket", "AWS::S3::Bucket");
        assert_eq!(bucket["DeletionPolicy"], "Delete", "{}", cfg.name);
        resource_has_properties(
            &t,
            "CodeBucket",
            "AWS::S3::Bucket",
            &json!({
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true,
                    "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                },
                "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
                "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" }
                }] },
                "VersioningConfiguration": { "Status": "Enabled" },
            }),
        );
        let p = &bucket["Properties"];
        assert!(p.get("BucketName").is_none(), "name is generated");
        assert!(p.get("AccessControl").is_none(), "no ACLs");

        let rules = p["LifecycleConfiguration"]["Rules"]
            .as_array()
            .expect("lifecycle rules");
        assert!(rules.iter().all(|r| r["Status"] == "Enabled"));
        // Exactly two expiry rules: generated code and the job records that point to it.
        let expiry: Vec<(&str, &str, u64)> = rules
            .iter()
            .filter(|r| r.get("ExpirationInDays").is_some())
            .map(|r| {
                (
                    str_of(&r["Id"]),
                    str_of(&r["Prefix"]),
                    u64_of(&r["ExpirationInDays"]),
                )
            })
            .collect();
        let days = u64::from(cfg.bucket.code_expiry_days);
        assert_eq!(
            expiry,
            [
                ("expire-generated-code", OUTPUT_PREFIX, days),
                ("expire-job-records", JOBS_PREFIX, days),
            ],
            "{}",
            cfg.name
        );
        assert!(
            rules
                .iter()
                .any(|r| r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1),
            "{}: incomplete multipart uploads are aborted",
            cfg.name
        );
        assert!(
            rules
                .iter()
                .any(|r| r["NoncurrentVersionExpiration"]["NoncurrentDays"]
                    == cfg.bucket.noncurrent_expiry_days),
            "{}: noncurrent versions expire",
            cfg.name
        );
    }
}

#[test]
fn dev_bucket_policy_denies_plain_http_on_bucket_and_objects() {
    let t = synth(&dev());
    resource_count_is(&t, "AWS::S3::BucketPolicy", 1);
    let policy = properties(&t, "CodeBucketPolicy", "AWS::S3::BucketPolicy");
    assert_eq!(policy["Bucket"], reference("CodeBucket"));
    assert_eq!(
        policy["PolicyDocument"],
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ["s3:*"],
                "Resource": [get_att("CodeBucket", "Arn"), sub("${CodeBucket.Arn}/*")],
                "Condition": { "Bool": { "aws:SecureTransport": "false" } }
            }]
        })
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Routes and integrations.
// ---------------------------------------------------------------------------------------------

#[test]
fn routes_require_iam_auth_in_the_committed_stages() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::ApiGatewayV2::Route", ROUTES.len());
        for (route_key, part, _, _) in ROUTES {
            has_resource_properties(
                &t,
                "AWS::ApiGatewayV2::Route",
                &json!({
                    "RouteKey": route_key,
                    "AuthorizationType": "AWS_IAM",
                    "ApiId": imported_api_id(&cfg),
                }),
            );
            // The route reaches its own function and no other.
            let (_, r) = route(&t, route_key);
            resource_has_properties(
                &t,
                integration_of(r),
                "AWS::ApiGatewayV2::Integration",
                &json!({ "IntegrationUri": get_att(part.function, "Arn") }),
            );
        }
    }
}

#[test]
fn routes_are_open_only_when_the_stage_says_auth_none() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with(
            "auth: aws_iam",
            &format!(
                "auth: none\n  unauthenticated_acknowledged: \"{}\"",
                codegen_infra::config::UNAUTHENTICATED_ACKNOWLEDGEMENT
            ),
        ),
    );
    let t = synth(&cfg);
    for (route_key, ..) in ROUTES {
        assert_eq!(
            route(&t, route_key).1["Properties"]["AuthorizationType"],
            "NONE",
            "{route_key}"
        );
    }
}

#[test]
fn integrations_proxy_to_the_functions_within_the_api_gateway_limit() {
    let t = synth(&dev());
    resource_count_is(&t, "AWS::ApiGatewayV2::Integration", ROUTES.len());
    let targets: BTreeSet<&str> = find_resources(&t, "AWS::ApiGatewayV2::Integration")
        .into_iter()
        .map(|(id, integration)| {
            let p = &integration["Properties"];
            assert_eq!(p["IntegrationType"], "AWS_PROXY", "{id}");
            assert_eq!(p["PayloadFormatVersion"], "2.0", "{id}");
            assert_eq!(p["ApiId"], imported_api_id(&dev()), "{id}");
            let timeout = u64_of(&p["TimeoutInMillis"]);
            assert!((50..=30_000).contains(&timeout), "{id}: {timeout}");
            referenced_id(&p["IntegrationUri"])
        })
        .collect();
    // The worker is reached only through its queues.
    assert_eq!(
        targets,
        BTreeSet::from([SYNC.function, SUBMIT.function, STATUS.function])
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Stage.
// ---------------------------------------------------------------------------------------------

#[test]
fn stage_is_deployed_explicitly_throttled_and_access_logged() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let stage_resource = resource(&t, "ApiStage", "AWS::ApiGatewayV2::Stage");
        let stage = &stage_resource["Properties"];
        assert_eq!(stage["StageName"], cfg.name.as_str());
        assert_eq!(stage["AutoDeploy"], false);
        assert_eq!(stage["ApiId"], imported_api_id(&cfg));
        let settings = &stage["DefaultRouteSettings"];
        assert_eq!(
            settings["ThrottlingRateLimit"].as_f64(),
            Some(cfg.api.throttling.rate_limit)
        );
        assert_eq!(
            settings["ThrottlingBurstLimit"],
            cfg.api.throttling.burst_limit
        );
        // The stage waits for every route.
        let depends_on: BTreeSet<&str> = as_list(&stage_resource["DependsOn"])
            .into_iter()
            .map(str_of)
            .collect();
        assert_eq!(
            depends_on,
            logical_ids(find_resources(&t, "AWS::ApiGatewayV2::Route")),
            "{}",
            cfg.name
        );

        let (access_logs_id, _) = find_resources(&t, "AWS::Logs::LogGroup")
            .into_iter()
            .find(|(_, g)| {
                g["Properties"]["LogGroupName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("/aws/apigateway/"))
            })
            .expect("an access log group");
        assert_eq!(
            stage["AccessLogSettings"]["DestinationArn"],
            sub(&format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{access_logs_id}}}"
            ))
        );
        let format = str_of(&stage["AccessLogSettings"]["Format"]);
        let parsed: Value = serde_json::from_str(format).expect("access log format is JSON");
        assert_eq!(parsed["requestId"], "$context.requestId");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Lambda permissions.
// ---------------------------------------------------------------------------------------------

#[test]
fn invoke_permissions_are_scoped_to_this_api_stage_method_and_path() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::Lambda::Permission", ROUTES.len());
        for (route_key, part, permission_id, method_and_path) in ROUTES {
            let source_arn = format!("/{}/{method_and_path}", cfg.name);
            resource_has_properties(
                &t,
                permission_id,
                "AWS::Lambda::Permission",
                &json!({
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "FunctionName": get_att(part.function, "Arn"),
                    "SourceArn": {"Fn::Join": ["", [
                        sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"),
                        imported_api_id(&cfg),
                        source_arn,
                    ]]},
                }),
            );
            // The only wildcard is the status route's `{job_id}`, one whole last path segment.
            let wildcards = source_arn.matches('*').count();
            if route_key == JOB_STATUS_ROUTE_KEY {
                assert!(
                    source_arn.ends_with("/jobs/*") && wildcards == 1,
                    "{source_arn}"
                );
            } else {
                assert_eq!(wildcards, 0, "no wildcards: {source_arn}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Functions.
// ---------------------------------------------------------------------------------------------

#[test]
fn functions_run_the_bootstrap_from_the_package_parameters() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, FUNCTION, PARTS.len());
        assert_eq!(
            t["Parameters"]["Architecture"]["Default"],
            cfg.function.architecture.as_str()
        );
        for part in PARTS {
            resource_has_properties(
                &t,
                part.function,
                FUNCTION,
                &json!({
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": [reference("Architecture")],
                    "Code": {
                        "S3Bucket": reference("CodeS3Bucket"),
                        "S3Key": reference("CodeS3Key"),
                        "S3ObjectVersion": reference("CodeS3ObjectVersion"),
                    },
                    "Role": get_att(part.role, "Arn"),
                    "MemorySize": cfg.function.memory_mb,
                    "LoggingConfig": { "LogGroup": reference(part.logs) },
                }),
            );
        }
    }
}

#[test]
fn sync_function_finishes_before_api_gateway_gives_up() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let f = properties(&t, SYNC.function, FUNCTION);
        assert_eq!(f["FunctionName"], cfg.function_name());
        let timeout = u64_of(&f["Timeout"]);
        assert_eq!(timeout, u64::from(cfg.function.timeout_seconds));
        assert!(
            timeout < u64::from(API_GATEWAY_TIMEOUT_SECONDS),
            "{timeout}"
        );
        assert_eq!(
            f["ReservedConcurrentExecutions"].as_u64(),
            cfg.function.reserved_concurrency.map(u64::from)
        );
    }
}

#[test]
fn jobs_api_functions_are_short_capped_and_named_after_their_role() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for part in [SUBMIT, STATUS] {
            let f = properties(&t, part.function, FUNCTION);
            assert_eq!(f["FunctionName"], cfg.jobs_function_name(part.name));
            let timeout = u64_of(&f["Timeout"]);
            assert_eq!(timeout, u64::from(JOBS_API_TIMEOUT_SECONDS));
            assert!(
                timeout < u64::from(API_GATEWAY_TIMEOUT_SECONDS),
                "{}: {timeout}",
                part.function
            );
            // The same cost ceiling as the synchronous route (checkov CKV_AWS_115).
            assert_eq!(
                f["ReservedConcurrentExecutions"].as_u64(),
                cfg.function.reserved_concurrency.map(u64::from),
                "{}",
                part.function
            );
        }
    }
}

/// The worker exists for generations longer than API Gateway allows; its reserved concurrency is
/// the ceiling on parallel model calls.
#[test]
fn worker_outlasts_api_gateway_within_lambdas_limit_and_is_capped() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let f = properties(&t, WORKER.function, FUNCTION);
        assert_eq!(f["FunctionName"], cfg.jobs_function_name("worker"));
        let timeout = u64_of(&f["Timeout"]);
        assert_eq!(timeout, u64::from(cfg.jobs.worker_timeout_seconds));
        assert!(
            timeout > u64::from(API_GATEWAY_TIMEOUT_SECONDS) && timeout <= 900,
            "{}: {timeout}",
            cfg.name
        );
        // Both event sources' maximum concurrency (queue + dead-letter queue).
        assert_eq!(
            f["ReservedConcurrentExecutions"],
            cfg.jobs.max_concurrency + codegen_infra::stack::DEAD_LETTER_CONCURRENCY,
            "{}",
            cfg.name
        );
    }
}

/// The variables each part gets on top of `env::ALL`.
fn extra_env(part: Part) -> Vec<&'static str> {
    let mut names = vec![env::ROLE];
    match part.name {
        "submit" => names.push(env::JOBS_QUEUE_URL),
        "status" => names.push(env::JOB_STALE_AFTER_SECONDS),
        "worker" => names.extend([env::JOBS_DEAD_LETTER_ARN, env::JOB_STALE_AFTER_SECONDS]),
        _ => {}
    }
    names
}

#[test]
fn function_environments_set_every_contract_variable_and_their_role() {
    for (cfg, path_style) in [(dev(), "false"), (local(), "true")] {
        let t = synth(&cfg);
        for part in PARTS {
            let f = properties(&t, part.function, FUNCTION);
            let at = format!("{} {}", cfg.name, part.function);
            let vars = f["Environment"]["Variables"]
                .as_object()
                .expect("environment variables");
            let names: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
            let quota_env = cfg.quotas.as_ref().map_or_else(Vec::new, |q| {
                std::iter::once(codegen_contract::quota::env::TABLE)
                    .chain(q.env().into_iter().map(|(name, _)| name))
                    .collect()
            });
            let expected: BTreeSet<&str> = env::ALL
                .into_iter()
                .chain(extra_env(part))
                .chain(quota_env)
                .collect();
            assert_eq!(names, expected, "{at}: set these variables, no others");
            for (name, value) in vars {
                let set = match value {
                    Value::String(s) => !s.is_empty(),
                    Value::Object(_) => true,
                    _ => false,
                };
                assert!(set, "{at}: {name} is unset or not a string: {value}");
            }

            assert_eq!(vars[env::ROLE], part.name, "{at}");
            assert_eq!(vars[env::BUCKET], reference("CodeBucket"), "{at}");
            assert_eq!(vars[env::PREFIX], OUTPUT_PREFIX, "{at}");
            assert_eq!(vars[env::MODEL_ID], cfg.model.id.as_str(), "{at}");
            assert_eq!(vars[env::S3_FORCE_PATH_STYLE], path_style, "{at}");
            assert_eq!(vars[env::REPAIR], cfg.function.repair.as_str(), "{at}");
            assert_eq!(vars[env::TOP_K], cfg.sampling.top_k.to_string(), "{at}");
            assert_eq!(
                vars[env::MAX_TOKENS],
                cfg.sampling.max_tokens.to_string(),
                "{at}"
            );
            assert_eq!(
                vars[env::MAX_MESSAGE_BYTES],
                cfg.function.max_message_bytes.to_string(),
                "{at}"
            );
            let parse_f64 = |name: &str| -> f64 {
                str_of(&vars[name])
                    .parse()
                    .unwrap_or_else(|e| panic!("{at}: {name} is a number: {e}"))
            };
            assert_eq!(parse_f64(env::TEMPERATURE), cfg.sampling.temperature);
            assert_eq!(parse_f64(env::TOP_P), cfg.sampling.top_p);

            // The model call must end early enough for S3 and the response before Lambda (and,
            // for the routes, API Gateway) give up.
            let timeout_ms = u64_of(&f["Timeout"]) * 1000;
            let model_timeout_ms: u64 = str_of(&vars[env::MODEL_TIMEOUT_MS])
                .parse()
                .expect("model timeout is an integer");
            assert_eq!(
                model_timeout_ms,
                timeout_ms - u64::from(AFTER_MODEL_BUDGET_MS),
                "{at}"
            );
            let headroom_ms = 3000;
            assert!(
                model_timeout_ms + headroom_ms < timeout_ms,
                "{at}: model timeout {model_timeout_ms} ms leaves under {headroom_ms} ms of {timeout_ms} ms"
            );
        }

        let var = |part: Part, name: &str| {
            properties(&t, part.function, FUNCTION)["Environment"]["Variables"][name].clone()
        };
        let stale_after = cfg.jobs.give_up_after_seconds.to_string();
        assert_eq!(var(SUBMIT, env::JOBS_QUEUE_URL), reference(JOBS_QUEUE));
        assert_eq!(var(STATUS, env::JOB_STALE_AFTER_SECONDS), stale_after);
        assert_eq!(var(WORKER, env::JOB_STALE_AFTER_SECONDS), stale_after);
        assert_eq!(
            var(WORKER, env::JOBS_DEAD_LETTER_ARN),
            get_att(DEAD_LETTER_QUEUE, "Arn")
        );
        assert_eq!(
            var(WORKER, env::MODEL_TIMEOUT_MS),
            (cfg.jobs.worker_timeout_seconds * 1000 - 4000).to_string()
        );
    }
}

/// What a function is told to use is what its role may use and what feeds it.
#[test]
fn functions_are_told_about_the_queues_their_roles_and_event_sources_use() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let var = |part: Part, name: &str| {
            properties(&t, part.function, FUNCTION)["Environment"]["Variables"][name].clone()
        };
        // The queue submit writes to (by URL) is the one its role may send to (by ARN) and the one
        // the worker's main event source reads.
        let submit_queue = referenced_id(&var(SUBMIT, env::JOBS_QUEUE_URL)).to_owned();
        let sends_to: Vec<String> = allowed_pairs(&t, SUBMIT.role)
            .into_iter()
            .filter(|(action, _)| action == "sqs:SendMessage")
            .map(|(_, resource)| resource)
            .collect();
        assert_eq!(sends_to, [get_att(&submit_queue, "Arn").to_string()]);
        assert_eq!(
            properties(&t, "JobsWorkerQueueSource", EVENT_SOURCE)["EventSourceArn"],
            get_att(&submit_queue, "Arn")
        );
        // The dead-letter ARN the worker recognises is where the queue redrives to and what its
        // dead-letter event source reads.
        let dead_letter_arn = var(WORKER, env::JOBS_DEAD_LETTER_ARN);
        assert_eq!(
            properties(&t, &submit_queue, QUEUE)["RedrivePolicy"]["deadLetterTargetArn"],
            dead_letter_arn
        );
        assert_eq!(
            properties(&t, "JobsWorkerDeadLetterSource", EVENT_SOURCE)["EventSourceArn"],
            dead_letter_arn
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Jobs queues and the worker's event sources.
// ---------------------------------------------------------------------------------------------

#[test]
fn jobs_queue_is_encrypted_bounded_and_redrives_to_the_dead_letter_queue() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, QUEUE, 2);
        resource_has_properties(
            &t,
            JOBS_QUEUE,
            QUEUE,
            &json!({
                "QueueName": cfg.jobs_queue_name(),
                // Encrypted at rest with SQS-owned keys: no KMS key, so no KMS grants either.
                "SqsManagedSseEnabled": true,
                "VisibilityTimeout": cfg.jobs.visibility_timeout(),
                "MessageRetentionPeriod": cfg.jobs.give_up_after_seconds,
                "RedrivePolicy": {
                    "deadLetterTargetArn": get_att(DEAD_LETTER_QUEUE, "Arn"),
                    "maxReceiveCount": cfg.jobs.max_attempts,
                },
            }),
        );
        let queue = properties(&t, JOBS_QUEUE, QUEUE);
        assert!(queue.get("KmsMasterKeyId").is_none(), "{}", cfg.name);
        assert!(queue.get("FifoQueue").is_none(), "{}: standard", cfg.name);
    }
}

/// The dead-letter queue keeps its messages longer than the jobs queue: SQS keeps a message's
/// original enqueue time when it moves it, so a shorter retention would drop failed jobs unseen.
#[test]
fn dead_letter_queue_is_encrypted_and_keeps_messages_longest() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_has_properties(
            &t,
            DEAD_LETTER_QUEUE,
            QUEUE,
            &json!({
                "QueueName": format!("{}-dlq", cfg.jobs_queue_name()),
                "SqsManagedSseEnabled": true,
                // SQS's maximum, 14 days.
                "MessageRetentionPeriod": 1_209_600,
            }),
        );
        let dead_letter = properties(&t, DEAD_LETTER_QUEUE, QUEUE);
        assert!(dead_letter.get("RedrivePolicy").is_none(), "{}", cfg.name);
        assert!(dead_letter.get("KmsMasterKeyId").is_none(), "{}", cfg.name);
        assert!(
            u64_of(&dead_letter["MessageRetentionPeriod"])
                > u64_of(&properties(&t, JOBS_QUEUE, QUEUE)["MessageRetentionPeriod"]),
            "{}",
            cfg.name
        );
    }
}

/// A delivered job must stay hidden for as long as the worker may run on it, or SQS hands it to a
/// second worker mid-generation (and Lambda refuses such a mapping).
#[test]
fn jobs_queue_hides_a_job_longer_than_the_worker_may_run() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let visibility = u64_of(&properties(&t, JOBS_QUEUE, QUEUE)["VisibilityTimeout"]);
        let worker_timeout = u64_of(&properties(&t, WORKER.function, FUNCTION)["Timeout"]);
        assert!(
            visibility >= worker_timeout,
            "{}: visibility timeout {visibility} s < worker timeout {worker_timeout} s",
            cfg.name
        );
    }
}

#[test]
fn worker_consumes_both_queues_one_job_at_a_time_with_partial_batch_responses() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, EVENT_SOURCE, 2);
        let one_at_a_time = json!({
            "FunctionName": reference(WORKER.function),
            "BatchSize": 1,
            "Enabled": true,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        });
        let sources = [
            ("JobsWorkerQueueSource", JOBS_QUEUE),
            ("JobsWorkerDeadLetterSource", DEAD_LETTER_QUEUE),
        ];
        for (source_id, queue_id) in sources {
            resource_has_properties(&t, source_id, EVENT_SOURCE, &one_at_a_time);
            resource_has_properties(
                &t,
                source_id,
                EVENT_SOURCE,
                &json!({ "EventSourceArn": get_att(queue_id, "Arn") }),
            );
            // No batching window: a job starts as soon as it is queued, and the visibility
            // timeout needs no allowance for one.
            assert!(
                properties(&t, source_id, EVENT_SOURCE)
                    .get("MaximumBatchingWindowInSeconds")
                    .is_none(),
                "{source_id}"
            );
        }
        // The worker's parallelism on the jobs queue is the stage's ceiling.
        resource_has_properties(
            &t,
            "JobsWorkerQueueSource",
            EVENT_SOURCE,
            &json!({ "ScalingConfig": { "MaximumConcurrency": cfg.jobs.max_concurrency } }),
        );
        // Nothing else is fed by a queue.
        let fed: BTreeSet<&str> = find_resources(&t, EVENT_SOURCE)
            .into_iter()
            .map(|(_, s)| referenced_id(&s["Properties"]["FunctionName"]))
            .collect();
        assert_eq!(fed, BTreeSet::from([WORKER.function]), "{}", cfg.name);
    }
}

/// Both queues the worker reads, not only the jobs queue: Lambda refuses a mapping from a queue
/// that hides messages for less than the function's timeout ("Queue visibility timeout: 30
/// seconds is less than Function timeout"; cfn-lint E3505), and SQS's default is 30 s.
#[test]
fn every_queue_an_event_source_reads_hides_messages_longer_than_its_function_runs() {
    const SQS_DEFAULT_VISIBILITY_TIMEOUT: u64 = 30;
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (source_id, source) in find_resources(&t, EVENT_SOURCE) {
            let p = &source["Properties"];
            let queue_id = referenced_id(&p["EventSourceArn"]);
            let visibility = properties(&t, queue_id, QUEUE)["VisibilityTimeout"]
                .as_u64()
                .unwrap_or(SQS_DEFAULT_VISIBILITY_TIMEOUT);
            let function_id = referenced_id(&p["FunctionName"]);
            let timeout = u64_of(&properties(&t, function_id, FUNCTION)["Timeout"]);
            assert!(
                visibility >= timeout,
                "{}: {source_id}: {queue_id} hides messages {visibility} s, {function_id} runs up to {timeout} s",
                cfg.name
            );
        }
    }
}

/// The worker's reserved concurrency covers the total maximum concurrency of its SQS event
/// sources: otherwise Lambda throttles, and a throttled delivery counts towards `maxReceiveCount`
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html>).
#[test]
fn worker_reserved_concurrency_covers_all_its_event_sources() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let total: u64 = find_resources(&t, EVENT_SOURCE)
            .into_iter()
            .map(|(_, s)| u64_of(&s["Properties"]["ScalingConfig"]["MaximumConcurrency"]))
            .sum();
        let reserved =
            u64_of(&properties(&t, WORKER.function, FUNCTION)["ReservedConcurrentExecutions"]);
        assert!(
            total <= reserved,
            "{}: event sources may run {total} workers, reserved concurrency is {reserved}",
            cfg.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 11. Log groups.
// ---------------------------------------------------------------------------------------------

#[test]
fn log_groups_are_owned_retained_and_named_after_their_source() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let groups = find_resources(&t, "AWS::Logs::LogGroup");
        assert_eq!(groups.len(), PARTS.len() + 1);
        for (id, group) in &groups {
            assert_eq!(group["DeletionPolicy"], "Delete", "{id}");
            assert_eq!(
                group["Properties"]["RetentionInDays"], cfg.logs.retention_days,
                "{id}"
            );
        }
        assert_eq!(
            properties(&t, SYNC.logs, "AWS::Logs::LogGroup")["LogGroupName"],
            format!("/aws/lambda/{}", cfg.function_name())
        );
        for part in PARTS {
            let function_name = str_of(&properties(&t, part.function, FUNCTION)["FunctionName"]);
            assert_eq!(
                properties(&t, part.logs, "AWS::Logs::LogGroup")["LogGroupName"],
                format!("/aws/lambda/{function_name}"),
                "{}",
                part.logs
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Outputs.
// ---------------------------------------------------------------------------------------------

#[test]
fn outputs_are_exactly_what_the_deployer_reads() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let names: BTreeSet<&str> = t["Outputs"]
            .as_object()
            .expect("outputs")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = [
            outputs::API_ENDPOINT,
            outputs::INVOKE_URL,
            outputs::BUCKET_NAME,
            outputs::FUNCTION_NAME,
            outputs::ROLE_ARN,
            outputs::API_ID,
            outputs::STAGE_NAME,
            outputs::LOG_GROUP,
            outputs::JOBS_QUEUE_URL,
            outputs::JOBS_WORKER_FUNCTION,
        ]
        .into_iter()
        .collect();
        assert_eq!(names, expected);
        let value = |name: &str| &t["Outputs"][name]["Value"];
        assert_eq!(*value(outputs::STAGE_NAME), cfg.name.as_str());
        assert_eq!(*value(outputs::BUCKET_NAME), reference("CodeBucket"));
        assert_eq!(*value(outputs::FUNCTION_NAME), reference(SYNC.function));
        assert_eq!(*value(outputs::ROLE_ARN), get_att(SYNC.role, "Arn"));
        assert_eq!(*value(outputs::LOG_GROUP), reference(SYNC.logs));
        assert_eq!(*value(outputs::API_ID), imported_api_id(&cfg));
        assert_eq!(
            *value(outputs::INVOKE_URL),
            json!({"Fn::Join": ["", [
                {"Fn::ImportValue": codegen_infra::names::api_endpoint_export(&cfg.stack_name)},
                format!("/{}/code-generation", cfg.name),
            ]]})
        );
        assert_eq!(*value(outputs::JOBS_QUEUE_URL), reference(JOBS_QUEUE));
        assert_eq!(
            *value(outputs::JOBS_WORKER_FUNCTION),
            reference(WORKER.function)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 13. Checkov skips.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_checkov_skip_is_expected_and_justified() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let mut skipped = BTreeSet::new();
        for (id, resource) in resources(&t) {
            for skip in as_list(&resource["Metadata"]["checkov"]["skip"]) {
                let check = str_of(&skip["id"]);
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    comment.trim().len() > 10,
                    "{}: checkov skip {check} on {id} needs a reason",
                    cfg.name
                );
                assert!(
                    skipped.insert((id.clone(), check.to_owned())),
                    "{id}: {check} skipped twice"
                );
            }
        }
        // Per function: no function DLQ (CKV_AWS_116), no VPC (117), no KMS for the
        // environment (173); per log group: no KMS key (158); per queue: SSE-SQS rather than a
        // KMS key (27); the bucket: no access logs (18). Nothing is skipped on the event
        // sources, roles or API.
        let mut expected: BTreeSet<(String, String)> = BTreeSet::from([
            ("ApiAccessLogGroup".to_owned(), "CKV_AWS_158".to_owned()),
            ("CodeBucket".to_owned(), "CKV_AWS_18".to_owned()),
            (JOBS_QUEUE.to_owned(), "CKV_AWS_27".to_owned()),
            (DEAD_LETTER_QUEUE.to_owned(), "CKV_AWS_27".to_owned()),
            // The budget table: no point-in-time recovery (28), DynamoDB's own key (119).
            (QUOTA_TABLE.to_owned(), "CKV_AWS_28".to_owned()),
            (QUOTA_TABLE.to_owned(), "CKV_AWS_119".to_owned()),
        ]);
        for part in PARTS {
            for check in ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"] {
                expected.insert((part.function.to_owned(), check.to_owned()));
            }
            expected.insert((part.logs.to_owned(), "CKV_AWS_158".to_owned()));
        }
        assert_eq!(skipped, expected, "{}", cfg.name);
    }
}

// ---------------------------------------------------------------------------------------------
// 14. Committed templates are fresh.
// ---------------------------------------------------------------------------------------------

#[test]
fn committed_templates_are_fresh() {
    let root = workspace_root();
    let stages = list_stages(&root);
    assert!(
        stages.contains(&"dev".to_owned()) && stages.contains(&"local".to_owned()),
        "{stages:?}"
    );
    for stage in stages {
        let cfg = codegen_infra::load_stage(&root, &stage)
            .unwrap_or_else(|e| panic!("stage {stage}: {e}"));
        for kind in Kind::ALL {
            let rendered = render(&kind.synthesise(&cfg), &stage, Format::Yaml)
                .expect("rendering is infallible for plain data");
            let path = template_path_of(&root, &stage, kind, Format::Yaml);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            // `assert!` rather than `assert_eq!`: the message must lead with the fix, and a
            // 350-line diff dump buries it.
            assert!(
                rendered == committed,
                "{} is stale or missing: run `cargo xtask synth --stage {stage}` and commit \
                 (first difference at line {})",
                path.display(),
                first_difference(&rendered, &committed)
            );
        }
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

// ---------------------------------------------------------------------------------------------
// 15. Determinism and YAML fidelity.
// ---------------------------------------------------------------------------------------------

#[test]
fn synthesis_and_rendering_are_deterministic() {
    for cfg in [dev(), local()] {
        let a = codegen_infra::stack(&cfg);
        let b = codegen_infra::stack(&cfg);
        assert_eq!(a, b);
        for format in [Format::Yaml, Format::Json] {
            assert_eq!(
                render(&a, &cfg.name, format).expect("render"),
                render(&b, &cfg.name, format).expect("render"),
                "{} {format:?}",
                cfg.name
            );
        }
    }
}

#[test]
fn rendered_yaml_and_json_read_back_as_the_template() {
    for cfg in [dev(), local()] {
        let template = codegen_infra::stack(&cfg);
        let expected = template.to_json_value();

        let yaml = render(&template, &cfg.name, Format::Yaml).expect("render yaml");
        let (header, body) = yaml.split_once('\n').expect("a header line");
        assert!(
            header.starts_with("# Generated by `cargo xtask synth"),
            "{header}"
        );
        let from_yaml: Value = serde_saphyr::from_str(body).expect("rendered YAML parses");
        assert_eq!(
            from_yaml, expected,
            "{}: YAML does not read back as the template (folded scalar or quoting bug?)",
            cfg.name
        );
        // And with the header comment left in, as CloudFormation reads the file.
        let whole: Value = serde_saphyr::from_str(&yaml).expect("YAML with header parses");
        assert_eq!(whole, expected);

        let json_text = render(&template, &cfg.name, Format::Json).expect("render json");
        let from_json: Value = serde_json::from_str(&json_text).expect("rendered JSON parses");
        assert_eq!(from_json, expected);
    }
}

#[test]
fn rendered_yaml_uses_no_short_form_tags() {
    for cfg in [dev(), local()] {
        let yaml =
            render(&codegen_infra::stack(&cfg), &cfg.name, Format::Yaml).expect("render yaml");
        for (n, line) in yaml.lines().enumerate() {
            let value = line.trim_start().trim_start_matches("- ");
            let value = value.split_once(": ").map_or(value, |(_, v)| v);
            assert!(
                !value.starts_with('!'),
                "{} line {}: YAML tag in `{line}` (use long-form intrinsics)",
                cfg.name,
                n + 1
            );
        }
        for tag in [
            "!Ref", "!GetAtt", "!Sub", "!Join", "!If", "!Select", "!Split",
        ] {
            assert!(!yaml.contains(tag), "{}: {tag}", cfg.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 16. Stage validation.
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_stages_name_the_file_and_the_key() {
    // (text in dev.yaml, replacement, key the error must name)
    let cases: &[(&str, &str, &str)] = &[
        ("region: us-east-1", "region: mars", "region"),
        (
            "region: us-east-1",
            "region: us-east-1\nstack_name: 9lives",
            "stack_name",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\nendpoint: http://127.0.0.1:4566",
            "emulator",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\nendpoint: https://s3.amazonaws.com\nemulator: ministack",
            "endpoint",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: amazon.titan-text-express-v1",
            "model.id",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: anthropic.claude-v2",
            "model.id",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: us.anthropic.claude-sonnet-4-6\n  foundation_model: anthropic.claude-3-haiku-20240307-v1:0",
            "model.foundation_model",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: us.anthropic.claude-sonnet-4-6\n  regions: [us-east-1, Mars]",
            "model.regions",
        ),
        ("region: us-east-1", "region: ap-south-1", "model.id"),
        (
            "temperature: 0.1",
            "temperature: 1.5",
            "sampling.temperature",
        ),
        ("top_k: 250", "top_k: 0", "sampling.top_k"),
        ("top_p: 0.2", "top_p: 2", "sampling.top_p"),
        (
            "max_tokens: 2048",
            "max_tokens: 9000",
            "sampling.max_tokens",
        ),
        ("architecture: arm64", "architecture: sparc", "architecture"),
        ("memory_mb: 512", "memory_mb: 64", "function.memory_mb"),
        (
            "timeout_seconds: 29",
            "timeout_seconds: 30",
            "function.timeout_seconds",
        ),
        (
            "timeout_seconds: 29",
            "timeout_seconds: 0",
            "function.timeout_seconds",
        ),
        (
            "timeout_seconds: 29",
            "timeout_seconds: 4",
            "function.timeout_seconds",
        ),
        (
            "reserved_concurrency: 10",
            "reserved_concurrency: 0",
            "function.reserved_concurrency",
        ),
        (
            "max_message_bytes: 8192",
            "max_message_bytes: 0",
            "function.max_message_bytes",
        ),
        ("auth: aws_iam", "auth: open", "auth"),
        (
            "rate_limit: 5",
            "rate_limit: 0",
            "api.throttling.rate_limit",
        ),
        (
            "burst_limit: 10",
            "burst_limit: 0",
            "api.throttling.burst_limit",
        ),
        (
            "worker_timeout_seconds: 300",
            "worker_timeout_seconds: 901",
            "jobs.worker_timeout_seconds",
        ),
        ("max_attempts: 3", "max_attempts: 0", "jobs.max_attempts"),
        ("max_attempts: 3", "max_attempts: 11", "jobs.max_attempts"),
        (
            "max_concurrency: 5",
            "max_concurrency: 1",
            "jobs.max_concurrency",
        ),
        (
            // Lambda refuses a queue that hides a job for less than the worker may run.
            "max_attempts: 3",
            "max_attempts: 3\n  visibility_timeout_seconds: 299",
            "jobs.visibility_timeout_seconds",
        ),
        (
            // 6 x 300 s visibility x 3 attempts + 300 s = 5700 s at least.
            "give_up_after_seconds: 7200",
            "give_up_after_seconds: 5699",
            "jobs.give_up_after_seconds",
        ),
        (
            "give_up_after_seconds: 7200",
            "give_up_after_seconds: 1209601",
            "jobs.give_up_after_seconds",
        ),
        (
            "max_concurrency: 5",
            "max_concurrency: 5\n  max_concurency: 3",
            "max_concurency",
        ),
        (
            "retention_days: 30",
            "retention_days: 31",
            "logs.retention_days",
        ),
        (
            "code_expiry_days: 90",
            "code_expiry_days: 0",
            "bucket.code_expiry_days",
        ),
        (
            "noncurrent_expiry_days: 7",
            "noncurrent_expiry_days: 0",
            "bucket.noncurrent_expiry_days",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\npermissions_boundary: boundary",
            "permissions_boundary",
        ),
        (
            "trusted_principals: [account]",
            "trusted_principals: [\"arn:aws:iam::123:user/x\"]",
            "bootstrap.trusted_principals",
        ),
        (
            "repository: example-org/codegen-stack",
            "repository: \"example-org/codegen-stack:*\"",
            "bootstrap.github.repository",
        ),
        (
            "deploy_environment: dev",
            "deploy_environment: \"dev:*\"",
            "bootstrap.github.deploy_environment",
        ),
        (
            "stage: dev",
            "stage: dev\n  aws:owner: me",
            "tags.aws:owner",
        ),
        ("memory_mb: 512", "memory_mb: 512\n  memroy: 3", "memroy"),
    ];
    let file = stage_file("dev");
    for (from, to, key) in cases {
        let text = dev_text_with(from, to);
        let err = parse_stage("dev", &file, &text)
            .expect_err(&format!("`{to}` must be rejected"))
            .to_string();
        assert!(
            err.contains(&file),
            "`{to}`: error must name the file: {err}"
        );
        assert!(err.contains(key), "`{to}`: error must name `{key}`: {err}");
    }
}

/// The jobs bounds are inclusive: the smallest give-up time that lets every attempt run its
/// course, and a visibility timeout equal to the worker's timeout, are accepted.
#[test]
fn jobs_bounds_accept_their_limits() {
    for (from, to) in [
        ("give_up_after_seconds: 7200", "give_up_after_seconds: 5700"),
        (
            "max_attempts: 3",
            "max_attempts: 3\n  visibility_timeout_seconds: 300",
        ),
    ] {
        let text = dev_text_with(from, to);
        if let Err(e) = parse_stage("dev", &stage_file("dev"), &text) {
            panic!("`{to}` must be accepted: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------------------------

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the measured figure is the point of this test; visible with --nocapture"
)]
fn synthesising_and_rendering_both_stages_is_fast() {
    const RUNS: usize = 20;
    const BUDGET: Duration = Duration::from_millis(50);
    let mut samples: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for (name, text) in [("dev", DEV_TEXT), ("local", LOCAL_TEXT)] {
                let cfg = stage_from_text(name, text);
                let yaml =
                    render(&codegen_infra::stack(&cfg), name, Format::Yaml).expect("render yaml");
                std::hint::black_box(yaml);
            }
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[RUNS / 2];
    eprintln!(
        "parse + synth + render (dev, local): median {median:?}, min {:?}, max {:?} over {RUNS} runs",
        samples[0],
        samples[RUNS - 1]
    );
    assert!(
        median < BUDGET,
        "median {median:?} over {RUNS} runs exceeds {BUDGET:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Budgets per caller (infra/src/quotas.rs).
// ---------------------------------------------------------------------------------------------

#[test]
fn the_budget_table_is_on_demand_expires_old_days_and_only_the_model_callers_and_submit_update_it()
{
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let table = properties(&t, QUOTA_TABLE, "AWS::DynamoDB::Table");
        assert_eq!(table["TableName"], cfg.quota_table_name().as_str());
        assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            table["TimeToLiveSpecification"],
            json!({"AttributeName": codegen_contract::quota::EXPIRES_AT_ATTR, "Enabled": true})
        );
        assert_eq!(
            table["KeySchema"],
            json!([{"AttributeName": codegen_contract::quota::KEY_ATTR, "KeyType": "HASH"}])
        );
        // Exactly these roles touch the table, each with UpdateItem on it and nothing else.
        let dynamo = roles_allowing(&t, |action, _| action.starts_with("dynamodb:"));
        assert_eq!(dynamo, role_ids(&[SYNC, SUBMIT, WORKER]), "{}", cfg.name);
        for (id, _) in find_resources(&t, ROLE) {
            for (action, resource) in allowed_pairs(&t, id) {
                if action.starts_with("dynamodb:") {
                    assert_eq!(
                        (action.as_str(), resource.as_str()),
                        (
                            "dynamodb:UpdateItem",
                            get_att(QUOTA_TABLE, "Arn").to_string().as_str()
                        ),
                        "{} {id}",
                        cfg.name
                    );
                }
            }
        }
    }
    // Without a `quotas` section: no table, no grant, no variable.
    let mut off = dev();
    off.quotas = None;
    let t = synth(&off);
    assert!(find_resources(&t, "AWS::DynamoDB::Table").is_empty());
    assert!(roles_allowing(&t, |action, _| action.starts_with("dynamodb:")).is_empty());
    assert!(!t.to_string().contains(codegen_contract::quota::env::TABLE));
}
