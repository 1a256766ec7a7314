//! The codegen stack: `stack(&StageConfig) -> Template`. Pure: no SDK, no IO.
//!
//! Where the resources are: the output bucket ([`CODE_BUCKET`], generated code and job records);
//! four functions of one package, each with its own role (written only by grants) and log group,
//! built by `Common::part`: `PUT /code-generation` ([`FUNCTION`], [`FUNCTION_ROLE`]) and the jobs
//! submitter, status reader and worker ([`JOBS_SUBMIT`], [`JOBS_STATUS`], [`JOBS_WORKER`]); the jobs
//! queue and its dead-letter queue with the worker's event sources; the HTTP API with its three
//! routes, stage and access logs.

use std::collections::BTreeMap;

use cfn_constructs::apigw::{Authorization, HttpApi, LambdaRoute, StageProps};
use cfn_constructs::bedrock::{Access, BedrockModel};
use cfn_constructs::dynamodb::Table;
use cfn_constructs::iam::{Role, Statement};
use cfn_constructs::lambda::{
    Function, FunctionProps, SqsEventSource, Tracing, XRAY_WRITE_ACTIONS,
};
use cfn_constructs::logs::LogGroup;
use cfn_constructs::s3::Bucket;
use cfn_constructs::sqs::Queue;
use cfn_constructs::template::DuplicateId;
use cfn_constructs::{Expr, Parameter, Stack, Template};
use codegen_contract::{
    FunctionRole, JOB_STATUS_METHOD, JOB_STATUS_PATH, JOBS_PATH, JOBS_PREFIX, JOBS_SUBMIT_METHOD,
    OUTPUT_PREFIX, ROUTE_METHOD, ROUTE_PATH, env,
};

use crate::config::{AFTER_MODEL_BUDGET_MS, AuthMode, Emulator, ModelRoute, StageConfig};
use crate::names;

/// ARN of the permissions boundary the bootstrap stack creates for `stack` (a fixed name, so the
/// app stack names it without a lookup).
pub fn permissions_boundary_arn(stack: &str) -> Expr {
    Expr::sub(format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}",
        names::permissions_boundary(stack)
    ))
}

/// Logical id of the output bucket.
pub const CODE_BUCKET: &str = "CodeBucket";
/// Logical id of the function's execution role.
pub const FUNCTION_ROLE: &str = "FunctionRole";
/// Logical id of the function.
pub const FUNCTION: &str = "Function";
/// Logical id of the function's log group.
pub const FUNCTION_LOGS: &str = "FunctionLogGroup";
/// Logical id of the API access log group.
pub const ACCESS_LOGS: &str = "ApiAccessLogGroup";
/// Logical-id prefix of the HTTP API's routes, integrations and stage (the API itself is the
/// bootstrap stack's [`crate::bootstrap::API`]).
pub const API: &str = "Api";
/// Logical id of the jobs queue.
pub const JOBS_QUEUE: &str = "JobsQueue";
/// Logical id of the jobs dead-letter queue.
pub const JOBS_DEAD_LETTER_QUEUE: &str = "JobsDeadLetterQueue";
/// Logical id of the budget table (only with a `quotas` section).
pub const QUOTA_TABLE: &str = "QuotaTable";
/// Logical ids of the jobs functions' parts: `<prefix>Function`, `<prefix>Role`, `<prefix>LogGroup`.
pub const JOBS_SUBMIT: &str = "JobsSubmit";
/// See [`JOBS_SUBMIT`].
pub const JOBS_STATUS: &str = "JobsStatus";
/// See [`JOBS_SUBMIT`].
pub const JOBS_WORKER: &str = "JobsWorker";
/// Logical id of the function serving `role`. The deployer maps the stack's own resources back to
/// roles with it (hotswap, post-deploy check, `logs`).
pub fn function_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION.to_owned(),
        other => format!("{}Function", jobs_prefix(other)),
    }
}

/// Logical id of the log group of the function serving `role`.
pub fn log_group_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION_LOGS.to_owned(),
        other => format!("{}LogGroup", jobs_prefix(other)),
    }
}

/// Logical id of the execution role of the function serving `role`.
pub fn role_id(role: FunctionRole) -> String {
    match role {
        FunctionRole::Sync => FUNCTION_ROLE.to_owned(),
        other => format!("{}Role", jobs_prefix(other)),
    }
}

fn jobs_prefix(role: FunctionRole) -> &'static str {
    match role {
        FunctionRole::Submit => JOBS_SUBMIT,
        FunctionRole::Status => JOBS_STATUS,
        FunctionRole::Worker | FunctionRole::Sync => JOBS_WORKER,
    }
}

/// Seconds the submit and status functions may take (two or three small S3/SQS calls).
pub const JOBS_API_TIMEOUT_SECONDS: u32 = 10;
/// Most concurrent workers on the dead-letter queue (the event source minimum, 2).
pub const DEAD_LETTER_CONCURRENCY: u32 = 2;
/// How long the dead-letter queue keeps a message: SQS's maximum, 14 days.
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 1_209_600;

/// Parameter: bucket holding the function package (the deployer's asset bucket).
pub const PARAM_CODE_BUCKET: &str = "CodeS3Bucket";
/// Parameter: key of the function package (`<sha256>.zip`).
pub const PARAM_CODE_KEY: &str = "CodeS3Key";
/// Parameter: the S3 version of the package object the deployer uploaded or verified.
pub const PARAM_CODE_VERSION: &str = "CodeS3ObjectVersion";
/// Parameter: the architecture the package was built for.
pub const PARAM_ARCHITECTURE: &str = "Architecture";

/// Output names (the deployer and the tests read these).
pub mod outputs {
    /// Stage base URL.
    pub const API_ENDPOINT: &str = "ApiEndpoint";
    /// Full URL of the route.
    pub const INVOKE_URL: &str = "InvokeUrl";
    /// Output bucket name.
    pub const BUCKET_NAME: &str = "BucketName";
    /// Function name.
    pub const FUNCTION_NAME: &str = "FunctionName";
    /// Function role ARN.
    pub const ROLE_ARN: &str = "FunctionRoleArn";
    /// API id.
    pub const API_ID: &str = "ApiId";
    /// Stage name.
    pub const STAGE_NAME: &str = "StageName";
    /// Function log group name.
    pub const LOG_GROUP: &str = "FunctionLogGroupName";
    /// URL of the jobs queue.
    pub const JOBS_QUEUE_URL: &str = "JobsQueueUrl";
    /// Name of the jobs worker function.
    pub const JOBS_WORKER_FUNCTION: &str = "JobsWorkerFunctionName";
}

/// Name of the dead-letter queue of the jobs queue `jobs_queue`.
pub fn dead_letter_queue_name(jobs_queue: &str) -> String {
    format!("{jobs_queue}-dlq")
}

/// Synthesises the stack for a stage.
pub fn stack(cfg: &StageConfig) -> Template {
    match build(cfg) {
        Ok(mut t) => {
            if cfg.protection.is_production() {
                crate::protection::retain_stateful(&mut t);
            }
            t
        }
        // Logical ids are constants of this module; a clash is a programming error caught by tests.
        Err(DuplicateId(id)) => unreachable!("duplicate logical id {id}"),
    }
}

fn build(cfg: &StageConfig) -> Result<Template, DuplicateId> {
    let mut stack = Stack::new(format!(
        "codegen-stack ({}): PUT {ROUTE_PATH} and POST {JOBS_PATH} (SQS worker) -> Lambda -> Bedrock ({}) -> S3. Generated by `cargo xtask synth --stage {}`.",
        cfg.name, cfg.model.id, cfg.name
    ));
    let package = add_package_parameters(&mut stack, cfg);
    let bucket = code_bucket(cfg);
    let access_logs = access_log_group(cfg);
    let jobs = jobs_queues(cfg);
    let quota_table = quota_table(cfg);
    let grants = Grants {
        cfg,
        bucket: &bucket,
        jobs: &jobs,
        quota_table: quota_table.as_ref(),
        model: bedrock_model(cfg),
    };
    let common = Common {
        cfg,
        package: &package,
        bucket_name: bucket.name(),
    };
    let functions = Functions {
        sync: sync_function(&common, &grants),
        submit: submit_function(&common, &grants),
        status: status_function(&common, &grants),
        worker: worker_function(&common, &grants),
    };
    let worker_sources = worker_event_sources(cfg, &functions.worker, &jobs);
    let api = http_api(cfg, &access_logs, &functions);

    stack.add(&bucket)?;
    stack.add(&access_logs)?;
    stack.add(&jobs.dead_letter)?;
    stack.add(&jobs.queue)?;
    if let Some(t) = &quota_table {
        stack.add(t)?;
    }
    for part in functions.all() {
        stack.add(&part.log_group)?;
        stack.add(&part.role)?;
        stack.add(&part.function)?;
    }
    for source in &worker_sources {
        stack.add(source)?;
    }
    stack.add(&api)?;
    crate::alarms::add_monitoring(
        &mut stack,
        cfg,
        &crate::alarms::Watch {
            functions: [
                FunctionRole::Sync,
                FunctionRole::Submit,
                FunctionRole::Status,
                FunctionRole::Worker,
            ]
            .into_iter()
            .zip(functions.all())
            .map(|(role, part)| (role, part.function.name()))
            .collect(),
            api_id: api.id(),
            jobs_queue: &jobs.name,
            dead_letter_queue: &format!("{}-dlq", jobs.name),
        },
    )?;
    add_outputs(&mut stack, cfg, &api, &bucket, &functions, &jobs);
    add_lint_metadata(&mut stack);
    Ok(stack.synth())
}

/// The function package: where the deployer uploaded it, its exact version and architecture.
struct Package {
    bucket: Expr,
    key: Expr,
    version: Expr,
    architecture: Expr,
}

/// The template's parameters, which the deployer sets to the package it uploaded.
fn add_package_parameters(stack: &mut Stack, cfg: &StageConfig) -> Package {
    let bucket = stack.add_parameter(
        PARAM_CODE_BUCKET,
        Parameter::string("Asset bucket holding the function package (created by the deployer)"),
    );
    let key = stack.add_parameter(
        PARAM_CODE_KEY,
        Parameter::string("Content-hash key of the function package")
            .with_allowed_pattern("^[A-Za-z0-9/._-]+\\.zip$"),
    );
    // Every function reads exactly this version of the package: the one whose SHA-256 the deployer
    // checked. A later write to the same key (by anyone who can write the asset bucket) makes a new
    // version and leaves the deployed code alone.
    let version = stack.add_parameter(
        PARAM_CODE_VERSION,
        Parameter::string("S3 version of the package object, verified by the deployer (SHA-256)"),
    );
    let architecture = stack.add_parameter(
        PARAM_ARCHITECTURE,
        Parameter::string("Architecture the package was built for")
            .with_default(cfg.function.architecture.as_str())
            .with_allowed_values(&["x86_64", "arm64"]),
    );
    Package {
        bucket,
        key,
        version,
        architecture,
    }
}

/// The bucket for generated code and job records, both expiring.
fn code_bucket(cfg: &StageConfig) -> Bucket {
    let mut bucket = Bucket::new(CODE_BUCKET, cfg.bucket.noncurrent_expiry_days)
        .with_expiry(
            "expire-generated-code",
            OUTPUT_PREFIX,
            cfg.bucket.code_expiry_days,
        )
        .with_expiry(
            "expire-job-records",
            JOBS_PREFIX,
            cfg.bucket.code_expiry_days,
        )
        .with_tags(&cfg.tags);
    if cfg.emulator == Some(Emulator::Ministack) {
        // Emulator difference: ministack serves plain HTTP, so a TLS-only policy denies everything.
        bucket = bucket.without_tls_enforcement_for_plain_http_emulator();
    }
    bucket
}

/// The API stage's access log group.
fn access_log_group(cfg: &StageConfig) -> LogGroup {
    LogGroup::new(
        ACCESS_LOGS,
        &names::access_log_group(&cfg.stack_name),
        cfg.logs.retention_days,
    )
    .with_tags(&cfg.tags)
}

/// The jobs queue and its dead-letter queue.
struct JobsQueues {
    /// The jobs queue's name (the dead-letter queue's is [`dead_letter_queue_name`] of it).
    name: String,
    queue: Queue,
    dead_letter: Queue,
}

fn jobs_queues(cfg: &StageConfig) -> JobsQueues {
    let name = cfg.jobs_queue_name();
    // The worker consumes the dead-letter queue too, and Lambda refuses a mapping from a queue whose
    // visibility timeout is shorter than the function's timeout (cfn-lint E3505).
    let dead_letter = Queue::new(
        JOBS_DEAD_LETTER_QUEUE,
        &dead_letter_queue_name(&name),
        DEAD_LETTER_RETENTION_SECONDS,
    )
    .with_visibility_timeout(cfg.jobs.visibility_timeout())
    .with_tags(&cfg.tags);
    let queue = Queue::new(JOBS_QUEUE, &name, cfg.jobs.give_up_after_seconds)
        .with_visibility_timeout(cfg.jobs.visibility_timeout())
        .with_dead_letter_queue(&dead_letter, cfg.jobs.max_attempts)
        .with_tags(&cfg.tags);
    JobsQueues {
        name,
        queue,
        dead_letter,
    }
}

/// Budgets per caller (infra/src/quotas.rs): one on-demand table, old days expiring by TTL.
fn quota_table(cfg: &StageConfig) -> Option<Table> {
    cfg.quotas.as_ref().map(|_| {
        Table::new(
            QUOTA_TABLE,
            &cfg.quota_table_name(),
            codegen_contract::quota::KEY_ATTR,
        )
        .with_ttl(codegen_contract::quota::EXPIRES_AT_ATTR)
        .with_tags(&cfg.tags)
    })
}

/// The stage's model, as the IAM grant must name it.
fn bedrock_model(cfg: &StageConfig) -> BedrockModel {
    BedrockModel {
        foundation_model_id: cfg.model.foundation_model.clone(),
        access: match &cfg.model.route {
            ModelRoute::Direct => Access::Direct,
            ModelRoute::Geographic { regions } => Access::Geographic {
                profile_id: cfg.model.id.clone(),
                regions: regions.clone(),
            },
            ModelRoute::Global => Access::Global {
                profile_id: cfg.model.id.clone(),
            },
        },
    }
}

/// The resources the functions' roles are granted access to.
struct Grants<'a> {
    cfg: &'a StageConfig,
    bucket: &'a Bucket,
    jobs: &'a JobsQueues,
    quota_table: Option<&'a Table>,
    model: BedrockModel,
}

impl Grants<'_> {
    fn model(&self, role: &mut Role) {
        match self.cfg.emulator {
            // Emulator difference: ministack checks Converse as `bedrock:Converse`.
            Some(Emulator::Ministack) => self.model.grant_invoke_on_ministack(role),
            None => self.model.grant_invoke(role),
        }
    }

    /// Every function that reserves, settles or counts jobs may update the table's items, and
    /// nothing else on it (no read, scan or delete: `cargo xtask usage` reads with the operator's
    /// credentials).
    fn quotas(&self, role: &mut Role) {
        if let Some(t) = self.quota_table {
            t.grant_update(role);
        }
    }
}

/// The stack's four functions, in the order they are added to the template.
struct Functions {
    sync: FunctionParts,
    submit: FunctionParts,
    status: FunctionParts,
    worker: FunctionParts,
}

impl Functions {
    fn all(&self) -> [&FunctionParts; 4] {
        [&self.sync, &self.submit, &self.status, &self.worker]
    }
}

/// PUT /code-generation: generate inside the request.
fn sync_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
            function_id: &function_id(FunctionRole::Sync),
            role_id: &role_id(FunctionRole::Sync),
            log_group_id: &log_group_id(FunctionRole::Sync),
            function_name: cfg.function_name(),
            role_description: "Execution role of the code-generation function: write generated code, call one model, write its own logs.",
            description: format!("Generates code with {} and stores it in S3", cfg.model.id),
            role: FunctionRole::Sync,
            timeout_seconds: cfg.function.timeout_seconds,
            reserved_concurrency: cfg.function.reserved_concurrency,
        },
        |role| {
            grants.bucket.grant_put(role, &format!("{OUTPUT_PREFIX}*"));
            grants.model(role);
            grants.quotas(role);
        },
        BTreeMap::new(),
    )
}

/// POST /code-generation/jobs: record the job, enqueue it. No code, no model.
fn submit_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
            function_id: &function_id(FunctionRole::Submit),
            role_id: &role_id(FunctionRole::Submit),
            log_group_id: &log_group_id(FunctionRole::Submit),
            function_name: cfg.jobs_function_name("submit"),
            role_description: "Jobs submission: create and read job records, enqueue jobs, write its own logs.",
            description: "Accepts code-generation jobs (POST /code-generation/jobs)".to_owned(),
            role: FunctionRole::Submit,
            timeout_seconds: JOBS_API_TIMEOUT_SECONDS,
            reserved_concurrency: cfg.function.reserved_concurrency,
        },
        |role| {
            grants
                .bucket
                .grant_put_named(role, &format!("{JOBS_PREFIX}*"), "JobRecords");
            grants
                .bucket
                .grant_read(role, &format!("{JOBS_PREFIX}*"), "JobRecords");
            grants.jobs.queue.grant_send(role);
            grants.quotas(role);
        },
        BTreeMap::from([(env::JOBS_QUEUE_URL.to_owned(), grants.jobs.queue.url())]),
    )
}

/// GET /code-generation/jobs/{job_id}: read records and the code they point to. No writes.
fn status_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
            function_id: &function_id(FunctionRole::Status),
            role_id: &role_id(FunctionRole::Status),
            log_group_id: &log_group_id(FunctionRole::Status),
            function_name: cfg.jobs_function_name("status"),
            role_description: "Jobs status: read job records and generated code, write its own logs.",
            description: "Answers job status (GET /code-generation/jobs/{job_id})".to_owned(),
            role: FunctionRole::Status,
            timeout_seconds: JOBS_API_TIMEOUT_SECONDS,
            reserved_concurrency: cfg.function.reserved_concurrency,
        },
        |role| {
            grants
                .bucket
                .grant_read(role, &format!("{JOBS_PREFIX}*"), "JobRecords");
            grants
                .bucket
                .grant_read(role, &format!("{OUTPUT_PREFIX}*"), "Code");
        },
        BTreeMap::from([(
            env::JOB_STALE_AFTER_SECONDS.to_owned(),
            cfg.jobs.give_up_after_seconds.to_string().into(),
        )]),
    )
}

/// The worker: the generation pipeline outside any request, fed by the queue.
fn worker_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    let jobs = grants.jobs;
    common.part(
        Part {
            function_id: &function_id(FunctionRole::Worker),
            role_id: &role_id(FunctionRole::Worker),
            log_group_id: &log_group_id(FunctionRole::Worker),
            function_name: cfg.jobs_function_name("worker"),
            role_description: "Jobs worker: consume the jobs queues, read and write job records, write generated code, call one model, write its own logs.",
            description: format!("Runs code-generation jobs with {}", cfg.model.id),
            role: FunctionRole::Worker,
            timeout_seconds: cfg.jobs.worker_timeout_seconds,
            // At least the event sources' total maximum concurrency (the queue's plus the
            // dead-letter queue's), or Lambda throttles them and throttled deliveries count
            // towards maxReceiveCount.
            reserved_concurrency: Some(cfg.jobs.max_concurrency + DEAD_LETTER_CONCURRENCY),
        },
        |role| {
            grants.bucket.grant_put(role, &format!("{OUTPUT_PREFIX}*"));
            // Read back the code an earlier attempt stored (a create-only write found it), so
            // the job's result describes that object (`AlreadyThere` in the function's pipeline).
            grants
                .bucket
                .grant_read(role, &format!("{OUTPUT_PREFIX}*"), "Code");
            grants
                .bucket
                .grant_put_named(role, &format!("{JOBS_PREFIX}*"), "JobRecords");
            grants
                .bucket
                .grant_read(role, &format!("{JOBS_PREFIX}*"), "JobRecords");
            grants.model(role);
            jobs.queue.grant_consume(role);
            jobs.dead_letter.grant_consume(role);
            grants.quotas(role);
        },
        BTreeMap::from([
            (env::JOBS_DEAD_LETTER_ARN.to_owned(), jobs.dead_letter.arn()),
            (
                env::JOB_STALE_AFTER_SECONDS.to_owned(),
                cfg.jobs.give_up_after_seconds.to_string().into(),
            ),
        ]),
    )
}

/// The worker's two event source mappings: the jobs queue, and the dead-letter queue (whose
/// messages it turns into failed jobs).
fn worker_event_sources(
    cfg: &StageConfig,
    worker: &FunctionParts,
    jobs: &JobsQueues,
) -> [SqsEventSource; 2] {
    [
        SqsEventSource::new(
            &format!("{JOBS_WORKER}QueueSource"),
            worker.function.name(),
            jobs.queue.arn(),
        )
        .with_maximum_concurrency(cfg.jobs.max_concurrency),
        SqsEventSource::new(
            &format!("{JOBS_WORKER}DeadLetterSource"),
            worker.function.name(),
            jobs.dead_letter.arn(),
        )
        .with_maximum_concurrency(DEAD_LETTER_CONCURRENCY),
    ]
}

/// The routes, integrations and stage on the bootstrap's HTTP API.
fn http_api(cfg: &StageConfig, access_logs: &LogGroup, functions: &Functions) -> HttpApi {
    // The API itself belongs to the bootstrap stack (infra/src/bootstrap/), so that the execution
    // and deploy roles can be scoped to its id; this stack adds the routes, integrations and stage.
    let mut api = HttpApi::on_imported_api(
        API,
        Expr::import_value(names::api_id_export(&cfg.stack_name)),
        Expr::import_value(names::api_endpoint_export(&cfg.stack_name)),
        StageProps {
            name: cfg.name.clone(),
            throttling_rate_limit: cfg.api.throttling.rate_limit,
            throttling_burst_limit: cfg.api.throttling.burst_limit,
            access_log_destination: access_logs.arn_without_wildcard(),
        },
    );
    let authorization = match cfg.api.auth {
        AuthMode::AwsIam => Authorization::AwsIam,
        AuthMode::None => Authorization::None,
    };
    for (method, path, function) in [
        (ROUTE_METHOD, ROUTE_PATH, &functions.sync.function),
        (JOBS_SUBMIT_METHOD, JOBS_PATH, &functions.submit.function),
        (
            JOB_STATUS_METHOD,
            JOB_STATUS_PATH,
            &functions.status.function,
        ),
    ] {
        api.add_lambda_route(LambdaRoute {
            method: method.into(),
            path: path.into(),
            function_arn: function.arn(),
            authorization,
        });
    }
    api
}

/// What the deployer and the tests read from the stack ([`outputs`]).
fn add_outputs(
    stack: &mut Stack,
    cfg: &StageConfig,
    api: &HttpApi,
    bucket: &Bucket,
    functions: &Functions,
    jobs: &JobsQueues,
) {
    let sync = &functions.sync;
    stack.add_output(
        outputs::API_ENDPOINT,
        "Base URL of the stage",
        api.stage_url(),
    );
    stack.add_output(
        outputs::INVOKE_URL,
        "URL of PUT /code-generation",
        api.url(&format!("/{}{ROUTE_PATH}", cfg.name)),
    );
    stack.add_output(
        outputs::BUCKET_NAME,
        "Bucket receiving generated code",
        bucket.name(),
    );
    stack.add_output(
        outputs::FUNCTION_NAME,
        "Code-generation function",
        sync.function.name(),
    );
    stack.add_output(
        outputs::ROLE_ARN,
        "Function execution role",
        sync.role.arn(),
    );
    stack.add_output(outputs::JOBS_QUEUE_URL, "Jobs queue", jobs.queue.url());
    stack.add_output(
        outputs::JOBS_WORKER_FUNCTION,
        "Jobs worker function",
        functions.worker.function.name(),
    );
    stack.add_output(outputs::API_ID, "HTTP API id", api.id());
    stack.add_output(
        outputs::STAGE_NAME,
        "API stage (deployed explicitly)",
        Expr::str(cfg.name.clone()),
    );
    stack.add_output(
        outputs::LOG_GROUP,
        "Function log group",
        sync.log_group.name_ref(),
    );
}

/// cfn-lint settings for what this stack does on purpose.
fn add_lint_metadata(stack: &mut Stack) {
    // The API's id and URLs are imports from the bootstrap stack; the deployer and the tests read
    // them from this stack's outputs, as they did when the API was this stack's own.
    stack.set_metadata(
        "cfn-lint",
        serde_json::json!({ "config": { "ignore_checks": ["W6001"] } }),
    );
    stack.set_metadata(
        "Comments",
        serde_json::json!({ "cfn-lint W6001": "ApiId, ApiEndpoint and InvokeUrl re-export the \
            bootstrap's HTTP API (Fn::ImportValue): the deployer reads every URL of the stage \
            from this stack's outputs" }),
    );
}

/// What every function of the stack shares: the package, the bucket, the stage's settings.
struct Common<'a> {
    cfg: &'a StageConfig,
    package: &'a Package,
    bucket_name: Expr,
}

/// One function's own settings.
struct Part<'a> {
    function_id: &'a str,
    role_id: &'a str,
    log_group_id: &'a str,
    function_name: String,
    role_description: &'a str,
    description: String,
    /// `CODEGEN_ROLE`.
    role: FunctionRole,
    timeout_seconds: u32,
    reserved_concurrency: Option<u32>,
}

/// A function with its own role (written only by `grants`) and log group.
struct FunctionParts {
    log_group: LogGroup,
    role: Role,
    function: Function,
}

impl Common<'_> {
    /// A function of this stack: its log group, its role (the log-write grant plus `grants`), and
    /// the function with the stage's environment, `CODEGEN_ROLE` and `extra_env` on top.
    fn part(
        &self,
        part: Part<'_>,
        grants: impl FnOnce(&mut Role),
        extra_env: BTreeMap<String, Expr>,
    ) -> FunctionParts {
        let cfg = self.cfg;
        let tags = &cfg.tags;
        let log_group = LogGroup::new(
            part.log_group_id,
            &names::function_log_group(&part.function_name),
            cfg.logs.retention_days,
        )
        .with_tags(tags);
        let mut role =
            Role::for_service(part.role_id, "lambda.amazonaws.com", part.role_description)
                // Every role of the stack carries the bootstrap's boundary: the execution role may
                // create or change a role only with it (infra/src/bootstrap/).
                .with_permissions_boundary(Some(permissions_boundary_arn(&cfg.stack_name)))
                .with_tags(tags);
        grants(&mut role);
        log_group.grant_write(&mut role);
        // Every function is traced (crates/function/src/trace.rs); Lambda's X-Ray daemon sends
        // the segments with the function's role.
        role.add_to_policy(Statement::allow(
            "Traces",
            XRAY_WRITE_ACTIONS,
            vec![Expr::str("*")],
        ));

        let mut environment = BTreeMap::new();
        let mut set = |k: &str, v: Expr| {
            environment.insert(k.to_owned(), v);
        };
        set(env::BUCKET, self.bucket_name.clone());
        set(env::PREFIX, OUTPUT_PREFIX.into());
        set(env::MODEL_ID, cfg.model.id.clone().into());
        set(
            env::TEMPERATURE,
            cfg.sampling.temperature.to_string().into(),
        );
        set(env::TOP_K, cfg.sampling.top_k.to_string().into());
        set(env::TOP_P, cfg.sampling.top_p.to_string().into());
        set(env::MAX_TOKENS, cfg.sampling.max_tokens.to_string().into());
        set(
            env::MAX_MESSAGE_BYTES,
            cfg.function.max_message_bytes.to_string().into(),
        );
        // Validation guarantees at least 1 s remains for the model (MIN_FUNCTION_TIMEOUT_SECONDS).
        let model_timeout_ms = part.timeout_seconds * 1000 - AFTER_MODEL_BUDGET_MS;
        set(env::MODEL_TIMEOUT_MS, model_timeout_ms.to_string().into());
        // Emulators are reached through one host name; real S3 uses virtual-hosted addressing.
        set(env::S3_FORCE_PATH_STYLE, cfg.is_local().to_string().into());
        set(env::REPAIR, cfg.function.repair.as_str().into());
        for (name, value) in cfg.thinking.env() {
            set(name, value.into());
        }
        if let Some(q) = &cfg.quotas {
            set(
                codegen_contract::quota::env::TABLE,
                cfg.quota_table_name().into(),
            );
            for (name, value) in q.env() {
                set(name, value.into());
            }
        }
        if let Some(endpoint) = &cfg.bedrock_endpoint {
            // Emulator stages only (validated): the SDK's service-specific endpoint variable
            // sends Bedrock Runtime calls to a test double and everything else to the emulator.
            set(env::BEDROCK_RUNTIME_ENDPOINT, endpoint.clone().into());
        }
        if let Some(daemon) = &cfg.xray_daemon {
            // Emulator stages only (validated): Lambda sets this itself on AWS.
            set(env::XRAY_DAEMON_ADDRESS, daemon.clone().into());
        }
        set(env::ROLE, part.role.as_str().into());
        set(env::STAGE, cfg.name.clone().into());
        environment.extend(extra_env);

        let function = Function::new(
            part.function_id,
            FunctionProps {
                function_name: part.function_name,
                description: part.description,
                role_arn: role.arn(),
                code_bucket: self.package.bucket.clone(),
                code_key: self.package.key.clone(),
                code_version: Some(self.package.version.clone()),
                architecture: self.package.architecture.clone(),
                memory_mb: cfg.function.memory_mb,
                timeout_seconds: part.timeout_seconds,
                reserved_concurrency: part.reserved_concurrency,
                environment,
                log_group: Some(log_group.name_ref()),
                tracing: Some(Tracing::Active),
                tags: tags.clone(),
            },
        );
        FunctionParts {
            log_group,
            role,
            function,
        }
    }
}
