//! The stack's stateful and shared resources: the code bucket, the access log group, the jobs
//! queues, the budget table, and the model the grants name. Pure.

use cfn_constructs::bedrock::{Access, BedrockModel};
use cfn_constructs::dynamodb::Table;
use cfn_constructs::logs::LogGroup;
use cfn_constructs::s3::Bucket;
use cfn_constructs::sqs::Queue;
use codegen_contract::{JOBS_PREFIX, OUTPUT_PREFIX};

use super::ids::{
    ACCESS_LOGS, CODE_BUCKET, DEAD_LETTER_RETENTION_SECONDS, JOBS_DEAD_LETTER_QUEUE, JOBS_QUEUE,
    QUOTA_TABLE, dead_letter_queue_name,
};
use crate::config::{Emulator, ModelRoute, StageConfig};
use crate::names;

/// The bucket for generated code and job records, both expiring.
pub(super) fn code_bucket(cfg: &StageConfig) -> Bucket {
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
pub(super) fn access_log_group(cfg: &StageConfig) -> LogGroup {
    LogGroup::new(
        ACCESS_LOGS,
        &names::access_log_group(&cfg.stack_name),
        cfg.logs.retention_days,
    )
    .with_tags(&cfg.tags)
}

/// The jobs queue and its dead-letter queue.
pub(super) struct JobsQueues {
    /// The jobs queue's name (the dead-letter queue's is [`dead_letter_queue_name`] of it).
    pub(super) name: String,
    pub(super) queue: Queue,
    pub(super) dead_letter: Queue,
}

pub(super) fn jobs_queues(cfg: &StageConfig) -> JobsQueues {
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
pub(super) fn quota_table(cfg: &StageConfig) -> Option<Table> {
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
pub(super) fn bedrock_model(cfg: &StageConfig) -> BedrockModel {
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
