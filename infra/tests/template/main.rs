//! CDK `Template.fromStack`-style assertions on the synthesised codegen stack.
//!
//! Every test works on the template as CloudFormation reads it (`to_json_value()`), not on the
//! construct types, so a change in any construct that alters the deployed resources shows up here.
//! Resources are picked by logical id (renaming one replaces the resource, so the ids are part of
//! what is asserted); the CDK-like assertions and the generic lookups are in `support/`.
//! Stage files are read from `infra/stages/` (the committed ones) or derived from `dev.yaml` by
//! text replacement; the only other IO is reading the committed templates in `infra/templates/`.

#[path = "../support/mod.rs"]
mod support;

mod api;
mod bucket;
mod checkov;
mod functions;
mod logs;
mod permissions;
mod queues;
mod quotas;
mod rendering;
mod resources;
mod stack_outputs;
mod stage_validation;
mod trust;
mod wildcards;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cfn_constructs::lambda::XRAY_WRITE_ACTIONS;
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
    dev, dev_text_with, dev_with_stack_name, local, stage_file, stage_from_text,
};

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
// Helpers: stages and templates.
// ---------------------------------------------------------------------------------------------

/// The workspace root (this crate lives in `<root>/infra`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("infra/ has a parent directory (the workspace root)")
        .to_path_buf()
}

/// The template of `cfg`, as CloudFormation reads it.
fn synth(cfg: &StageConfig) -> Value {
    codegen_infra::stack(cfg).to_json_value()
}

/// The API id the app stack imports from its bootstrap stack (which owns the API).
fn imported_api_id(cfg: &StageConfig) -> Value {
    json!({"Fn::ImportValue": codegen_infra::names::api_id_export(&cfg.stack_name)})
}
