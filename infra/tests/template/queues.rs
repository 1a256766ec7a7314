//! Jobs queues and the worker's event sources.

use super::*;

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
