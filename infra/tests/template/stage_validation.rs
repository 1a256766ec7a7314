//! The stage files: invalid ones name the file and the key; bounds are inclusive.

use super::*;

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
