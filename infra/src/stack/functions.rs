//! The stack's four functions, each with its own role (written only by grants) and log group,
//! built by [`Common::part`] from the one package, and the worker's event sources. Pure.

use std::collections::BTreeMap;

use cfn_constructs::Expr;
use cfn_constructs::bedrock::BedrockModel;
use cfn_constructs::dynamodb::Table;
use cfn_constructs::iam::{Role, Statement};
use cfn_constructs::lambda::{
    Function, FunctionProps, SqsEventSource, Tracing, XRAY_WRITE_ACTIONS,
};
use cfn_constructs::logs::LogGroup;
use cfn_constructs::s3::Bucket;
use codegen_contract::{FunctionRole, JOBS_PREFIX, OUTPUT_PREFIX, env};

use super::ids::{
    DEAD_LETTER_CONCURRENCY, JOBS_API_TIMEOUT_SECONDS, JOBS_WORKER, function_id, log_group_id,
    permissions_boundary_arn, role_id,
};
use super::resources::JobsQueues;
use crate::config::{AFTER_MODEL_BUDGET_MS, Emulator, StageConfig};
use crate::names;

/// The function package: where the deployer uploaded it, its exact version and architecture.
pub(super) struct Package {
    pub(super) bucket: Expr,
    pub(super) key: Expr,
    pub(super) version: Expr,
    pub(super) architecture: Expr,
}

/// The resources the functions' roles are granted access to.
pub(super) struct Grants<'a> {
    pub(super) cfg: &'a StageConfig,
    pub(super) bucket: &'a Bucket,
    pub(super) jobs: &'a JobsQueues,
    pub(super) quota_table: Option<&'a Table>,
    pub(super) model: BedrockModel,
}

impl Grants<'_> {
    pub(super) fn model(&self, role: &mut Role) {
        match self.cfg.emulator {
            // Emulator difference: ministack checks Converse as `bedrock:Converse`.
            Some(Emulator::Ministack) => self.model.grant_invoke_on_ministack(role),
            None => self.model.grant_invoke(role),
        }
    }

    /// Every function that reserves, settles or counts jobs may update the table's items, and
    /// nothing else on it (no read, scan or delete: `cargo xtask usage` reads with the operator's
    /// credentials).
    pub(super) fn quotas(&self, role: &mut Role) {
        if let Some(t) = self.quota_table {
            t.grant_update(role);
        }
    }
}

/// The stack's four functions, in the order they are added to the template.
pub(super) struct Functions {
    pub(super) sync: FunctionParts,
    pub(super) submit: FunctionParts,
    pub(super) status: FunctionParts,
    pub(super) worker: FunctionParts,
}

impl Functions {
    pub(super) fn all(&self) -> [&FunctionParts; 4] {
        [&self.sync, &self.submit, &self.status, &self.worker]
    }
}

/// PUT /code-generation: generate inside the request.
pub(super) fn sync_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
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
pub(super) fn submit_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
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
pub(super) fn status_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    common.part(
        Part {
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
pub(super) fn worker_function(common: &Common<'_>, grants: &Grants<'_>) -> FunctionParts {
    let cfg = common.cfg;
    let jobs = grants.jobs;
    common.part(
        Part {
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
pub(super) fn worker_event_sources(
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

/// What every function of the stack shares: the package, the bucket, the stage's settings.
pub(super) struct Common<'a> {
    pub(super) cfg: &'a StageConfig,
    pub(super) package: &'a Package,
    pub(super) bucket_name: Expr,
}

/// One function's own settings.
pub(super) struct Part<'a> {
    pub(super) function_name: String,
    pub(super) role_description: &'a str,
    pub(super) description: String,
    /// `CODEGEN_ROLE`; the function's, role's and log group's logical ids derive from it.
    pub(super) role: FunctionRole,
    pub(super) timeout_seconds: u32,
    pub(super) reserved_concurrency: Option<u32>,
}

/// A function with its own role (written only by `grants`) and log group.
pub(super) struct FunctionParts {
    pub(super) log_group: LogGroup,
    pub(super) role: Role,
    pub(super) function: Function,
}

impl Common<'_> {
    /// A function of this stack: its log group, its role (the log-write grant plus `grants`), and
    /// the function with the stage's environment, `CODEGEN_ROLE` and `extra_env` on top.
    pub(super) fn part(
        &self,
        part: Part<'_>,
        grants: impl FnOnce(&mut Role),
        extra_env: BTreeMap<String, Expr>,
    ) -> FunctionParts {
        let cfg = self.cfg;
        let tags = &cfg.tags;
        let log_group = LogGroup::new(
            &log_group_id(part.role),
            &names::function_log_group(&part.function_name),
            cfg.logs.retention_days,
        )
        .with_tags(tags);
        let mut role = Role::for_service(
            &role_id(part.role),
            "lambda.amazonaws.com",
            part.role_description,
        )
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
            &function_id(part.role),
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
