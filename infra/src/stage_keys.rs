//! Every key a stage file (`infra/stages/<stage>.yaml`) may hold, in one documented table: the
//! stage-file reference (`docs/reference/stage-file.md`, written by `cargo xtask docs`) is
//! rendered from [`KEYS`], and a test here asks the parser itself (its unknown-key error lists the
//! keys it accepts in each section) whether the table and the parser types agree, so neither can
//! change without the other. Pure data: no IO.

/// One key of a stage file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageKey {
    /// Dotted path from the top of the file (`function.timeout_seconds`).
    pub path: &'static str,
    /// What the value is (`integer`, `string`, `map`, an enumeration of its words).
    pub kind: &'static str,
    /// `required`, or what applies when the key is left out.
    pub default: &'static str,
    /// What it does and what is allowed (the validation in `config/` enforces it).
    pub doc: &'static str,
}

impl StageKey {
    /// The section the key sits in (`""` for the top level).
    pub fn section(&self) -> &'static str {
        self.path
            .rsplit_once('.')
            .map_or("", |(section, _)| section)
    }

    /// The key's own name inside its section.
    pub fn name(&self) -> &'static str {
        self.path
            .rsplit_once('.')
            .map_or(self.path, |(_, name)| name)
    }
}

const fn key(
    path: &'static str,
    kind: &'static str,
    default: &'static str,
    doc: &'static str,
) -> StageKey {
    StageKey {
        path,
        kind,
        default,
        doc,
    }
}

/// Every key, in the order the reference lists them. A key that holds a section is listed with
/// `kind` `section`; its keys follow it.
pub const KEYS: &[StageKey] = &[
    key(
        "stack_name",
        "string",
        "`codegen-<stage>`",
        "CloudFormation stack name: 1-50 letters, digits and hyphens, starting with a letter.",
    ),
    key(
        "region",
        "string",
        "required",
        "AWS region of the stack (`us-east-1`); `--region` overrides it.",
    ),
    key(
        "account",
        "string (12 digits)",
        "none",
        "The account the stage must be deployed into: every command checks the caller's account \
         (STS) against it before any build or write. Required when `protection: production`.",
    ),
    key(
        "protection",
        "`standard` \\| `production`",
        "`standard`",
        "`production`: stateful resources are retained, termination protection, every change asks \
         for approval, no hotswap and no fast build profile, `destroy` needs `--production` \
         (docs/production.md).",
    ),
    key(
        "endpoint",
        "string (URL)",
        "none (AWS)",
        "Endpoint of a local emulator, loopback only (`http://127.0.0.1:4566`); goes with \
         `emulator`. `AWS_ENDPOINT_URL` and `--endpoint` override it.",
    ),
    key(
        "emulator",
        "`ministack`",
        "none (AWS)",
        "The emulator behind `endpoint`, whose documented differences from AWS the stack \
         accounts for (docs/architecture.md, \"Emulator differences\").",
    ),
    key(
        "bedrock_endpoint",
        "string (URL)",
        "none",
        "Emulator stages only: send the function's Bedrock Runtime calls to this loopback address \
         (a Bedrock test double), through the SDK's `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.",
    ),
    key(
        "xray_daemon",
        "string (127.x.x.x:port)",
        "none",
        "Emulator stages only: the UDP address the functions send their trace segments to \
         (`AWS_XRAY_DAEMON_ADDRESS`), where a test listens in the X-Ray daemon's place; on AWS \
         Lambda sets it (docs/operations.md, \"Traces\").",
    ),
    key(
        "model",
        "section",
        "required",
        "The model the function calls.",
    ),
    key(
        "model.id",
        "string",
        "required",
        "Model or inference-profile id passed to Converse (`us.anthropic.claude-sonnet-4-6`); \
         must be routable from `region` by the model catalogue (docs/models.md) unless the two \
         keys below are set.",
    ),
    key(
        "model.foundation_model",
        "string",
        "from the catalogue",
        "Foundation model behind `id`: only for a model the catalogue does not know yet.",
    ),
    key(
        "model.regions",
        "list of strings",
        "from the catalogue",
        "Regions a geographic profile routes to from `region`: only for a model the catalogue \
         does not know yet.",
    ),
    key(
        "sampling",
        "section",
        "required",
        "Default sampling; a caller may override each per request, within the same ranges.",
    ),
    key("sampling.temperature", "number", "required", "0..=1."),
    key("sampling.top_k", "integer", "required", "1..=500."),
    key("sampling.top_p", "number", "required", "0..=1."),
    key(
        "sampling.max_tokens",
        "integer",
        "required",
        "1..=8192, and at most the model's own output limit: the answer's budget.",
    ),
    key(
        "thinking",
        "section",
        "nothing about thinking is sent",
        "Thinking and effort per route, validated against the model catalogue \
         (`infra/src/thinking.rs`, docs/models.md).",
    ),
    key(
        "thinking.sync",
        "section",
        "none",
        "`PUT /code-generation`.",
    ),
    key(
        "thinking.sync.thinking",
        "`default` \\| `adaptive` \\| `disabled`",
        "`default` (none sent)",
        "The thinking setting sent on the synchronous route.",
    ),
    key(
        "thinking.sync.effort",
        "`default` or an effort level of the model",
        "`default` (none sent)",
        "The effort sent on the synchronous route.",
    ),
    key(
        "thinking.sync.thinking_tokens",
        "integer",
        "2048 when the route thinks",
        "Output tokens reserved for thinking, added to `max_tokens` (at least 1024).",
    ),
    key("thinking.jobs", "section", "none", "The jobs worker."),
    key(
        "thinking.jobs.thinking",
        "`default` \\| `adaptive` \\| `disabled`",
        "`default` (none sent)",
        "The thinking setting sent on the jobs route.",
    ),
    key(
        "thinking.jobs.effort",
        "`default` or an effort level of the model",
        "`default` (none sent)",
        "The effort sent on the jobs route.",
    ),
    key(
        "thinking.jobs.thinking_tokens",
        "integer",
        "16000 when the route thinks",
        "Output tokens reserved for thinking, added to `max_tokens` (at least 1024).",
    ),
    key(
        "quotas",
        "section",
        "no budgets, no table",
        "Budgets per caller (`infra/src/quotas.rs`, docs/cost.md): money per UTC day, checked \
         before every model call; with it the stack has a DynamoDB budget table.",
    ),
    key(
        "quotas.daily_usd",
        "number (USD)",
        "required in the section",
        "Each caller's budget per UTC day (at most 100 000).",
    ),
    key(
        "quotas.request_max_usd",
        "number (USD)",
        "none",
        "The most one request may reserve; a request that could cost more is refused.",
    ),
    key(
        "quotas.max_jobs_per_caller",
        "integer",
        "none",
        "Jobs queued or running per caller; one more is `429 too_many_jobs`.",
    ),
    key(
        "quotas.overrides",
        "map: principal key → number (USD)",
        "none",
        "A daily budget for named principals (keys as docs/principals.md writes them).",
    ),
    key("function", "section", "required", "The functions."),
    key(
        "function.architecture",
        "`arm64` \\| `x86_64`",
        "required",
        "Preferred architecture; the deployer builds x86_64 instead (and says so) when the arm64 \
         Rust target cannot be installed. Emulator stages must match the machine (ministack runs \
         the function as a local process).",
    ),
    key("function.memory_mb", "integer", "required", "128..=10240."),
    key(
        "function.timeout_seconds",
        "integer",
        "required",
        "The synchronous functions' timeout: 5..=29, inside API Gateway's 30 s; the model budget \
         is this less 4 s.",
    ),
    key(
        "function.reserved_concurrency",
        "integer",
        "none (unreserved)",
        "Reserved concurrency of the generator, submit and status functions: a ceiling on \
         parallel model calls. Lambda must keep 100 of the account's concurrency unreserved, so \
         a new account with a small quota cannot reserve (docs/troubleshooting.md).",
    ),
    key(
        "function.max_message_bytes",
        "integer",
        "required",
        "Largest accepted `message`, in bytes.",
    ),
    key(
        "function.allow_hotswap",
        "boolean",
        "`false`",
        "Whether `deploy --hotswap` and `watch` may replace the code directly, bypassing \
         CloudFormation (emulator stages always may; production stages never).",
    ),
    key(
        "function.repair",
        "`off` \\| `once`",
        "`off`",
        "`once`: code that does not parse gets one follow-up model call with the parser's \
         diagnostics, within the route's time budget; the version with fewer errors is kept. \
         Passed to the function as `CODEGEN_REPAIR`.",
    ),
    key("api", "section", "required", "The HTTP API."),
    key(
        "api.auth",
        "`aws_iam` \\| `none`",
        "required",
        "Route authorization. `none` on an AWS stage needs `unauthenticated_acknowledged`.",
    ),
    key(
        "api.unauthenticated_acknowledged",
        "string",
        "none",
        "With `auth: none` on an AWS stage: required, and exactly \"anyone who can reach the URL \
         can spend this account's Bedrock budget\". Refused with `auth: aws_iam`.",
    ),
    key(
        "api.throttling",
        "section",
        "required",
        "Stage throttling, shared by all callers.",
    ),
    key(
        "api.throttling.rate_limit",
        "number",
        "required",
        "Steady requests per second.",
    ),
    key(
        "api.throttling.burst_limit",
        "integer",
        "required",
        "Burst size.",
    ),
    key(
        "jobs",
        "section",
        "required",
        "The asynchronous jobs route: its worker, queue and bounds.",
    ),
    key(
        "jobs.worker_timeout_seconds",
        "integer",
        "required",
        "How long one generation may take: 5..=900 (Lambda's maximum).",
    ),
    key(
        "jobs.max_attempts",
        "integer",
        "required",
        "Deliveries of a job before its message moves to the dead-letter queue and the job is \
         failed (SQS `maxReceiveCount`, 1..=10).",
    ),
    key(
        "jobs.visibility_timeout_seconds",
        "integer",
        "6 x `worker_timeout_seconds`",
        "How long a delivered job stays hidden before SQS delivers it again; never below the \
         worker timeout.",
    ),
    key(
        "jobs.give_up_after_seconds",
        "integer",
        "required",
        "A job with no progress this long is failed (the queue keeps its message this long).",
    ),
    key(
        "jobs.max_concurrency",
        "integer",
        "required",
        "Most workers at once on the jobs queue (event source mapping `MaximumConcurrency`, \
         2..=1000); the worker reserves this plus 2 for the dead-letter queue's mapping.",
    ),
    key("logs", "section", "required", "Log groups."),
    key(
        "logs.retention_days",
        "integer",
        "required",
        "One of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, ...).",
    ),
    key(
        "bucket",
        "section",
        "required",
        "The code bucket's lifecycle.",
    ),
    key(
        "bucket.code_expiry_days",
        "integer",
        "required",
        "Days before generated code and job records expire.",
    ),
    key(
        "bucket.noncurrent_expiry_days",
        "integer",
        "required",
        "Days before overwritten or deleted versions expire.",
    ),
    key(
        "bootstrap",
        "section",
        "`trusted_principals: [account]`, no GitHub",
        "Who may use the bootstrap's deploy and diff roles (docs/security.md).",
    ),
    key(
        "bootstrap.trusted_principals",
        "list of strings",
        "`[account]`",
        "IAM role ARNs of this account, or `account` for any principal of this account whose own \
         policy allows `sts:AssumeRole` on the roles.",
    ),
    key(
        "bootstrap.github",
        "section",
        "none (no workflow may assume the roles)",
        "GitHub Actions OIDC trust.",
    ),
    key(
        "bootstrap.github.repository",
        "string",
        "required in the section",
        "`owner/name`.",
    ),
    key(
        "bootstrap.github.deploy_environment",
        "string",
        "required in the section",
        "The protected GitHub environment whose jobs may assume the deploy role (OIDC subject \
         `repo:<repository>:environment:<deploy_environment>`).",
    ),
    key(
        "alarms",
        "section",
        "every alarm, with the defaults below",
        "Alarms and their topic (docs/operations.md).",
    ),
    key(
        "alarms.email",
        "list of strings",
        "`[]`",
        "Addresses subscribed to the stage's alarm topic (each confirms by email).",
    ),
    key(
        "alarms.topic_arn",
        "string",
        "none (the bootstrap's topic)",
        "Notify this existing SNS topic instead (then `email` must be empty).",
    ),
    key(
        "alarms.dead_letter_messages",
        "integer",
        "1",
        "Messages in the dead-letter queue that fire its alarm.",
    ),
    key(
        "alarms.jobs_failed",
        "integer",
        "1",
        "Jobs failed for good in five minutes that fire the jobs alarm.",
    ),
    key(
        "alarms.api_5xx_rate_percent",
        "number",
        "5",
        "Percent of API requests answered 5xx in five minutes that fires the API alarm.",
    ),
    key(
        "alarms.function_errors",
        "integer",
        "1",
        "Errors of one function in five minutes that fire its alarm.",
    ),
    key(
        "alarms.function_throttles",
        "integer",
        "1",
        "Throttles of one function in five minutes that fire its alarm.",
    ),
    key(
        "alarms.bedrock_throttles",
        "integer",
        "1",
        "Bedrock throttles of the stage's model in five minutes that fire its alarm.",
    ),
    key(
        "alarms.output_tokens_per_hour",
        "integer",
        "2000000",
        "Output tokens in one hour (every route of the stage's model) that fire the token alarm.",
    ),
    key(
        "tags",
        "map of strings",
        "`{}`",
        "Tags for every taggable resource (any keys).",
    ),
];

/// The sections of a stage file whose keys the parser checks (every key of [`KEYS`] of kind
/// `section`, and the top level `""`), for the drift test.
pub fn sections() -> Vec<&'static str> {
    let mut sections = vec![""];
    sections.extend(KEYS.iter().filter(|k| k.kind == "section").map(|k| k.path));
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_stage;

    const DEV: &str = include_str!("../stages/dev.yaml");
    const UNKNOWN: &str = "zz_not_a_key";

    /// dev.yaml with an unknown key added inside `section`, creating the section (and its
    /// parents) at the end of the file when dev.yaml does not have it.
    fn with_unknown_key(section: &str) -> String {
        if section.is_empty() {
            return format!("{DEV}\n{UNKNOWN}: 1\n");
        }
        let parts: Vec<&str> = section.split('.').collect();
        // The deepest prefix of the section that dev.yaml writes as a block.
        let mut text = DEV.to_owned();
        let mut found = 0;
        let mut at = 0;
        for (depth, part) in parts.iter().enumerate() {
            let header = format!("\n{}{part}:\n", "  ".repeat(depth));
            match text[at..].find(&header) {
                Some(i) => {
                    at += i + header.len();
                    found = depth + 1;
                }
                None => break,
            }
        }
        let mut block = String::new();
        for (depth, part) in parts.iter().enumerate().skip(found) {
            block.push_str(&format!("{}{part}:\n", "  ".repeat(depth)));
        }
        block.push_str(&format!("{}{UNKNOWN}: 1\n", "  ".repeat(parts.len())));
        if found == 0 {
            text.push('\n');
            text.push_str(&block);
        } else {
            text.insert_str(at, &block);
        }
        text
    }

    /// The keys the parser lists as allowed in its unknown-key error (serde's "expected one of
    /// a, b, c", "expected a or b" or "expected a", with or without backticks).
    fn allowed_keys(message: &str) -> Vec<String> {
        let expected = message
            .split_once("expected ")
            .map_or("", |(_, rest)| rest.lines().next().unwrap_or(""));
        let expected = expected.strip_prefix("one of ").unwrap_or(expected);
        let mut keys: Vec<String> = expected
            .split(", ")
            .flat_map(|part| part.split(" or "))
            .map(|k| k.trim().trim_matches('`').to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn keys_are_the_parsers_keys() {
        for section in sections() {
            let text = with_unknown_key(section);
            let err = parse_stage("dev", "dev.yaml", &text)
                .expect_err("an unknown key is refused")
                .to_string();
            assert!(err.contains(UNKNOWN), "section `{section}`: {err}");
            let parser = allowed_keys(&err);
            let mut table: Vec<String> = KEYS
                .iter()
                .filter(|k| k.section() == section)
                .map(|k| k.name().to_owned())
                .collect();
            table.sort();
            assert_eq!(
                table, parser,
                "infra/src/stage_keys.rs KEYS disagrees with the parser in section `{section}` \
                 (left: the table, right: the parser's keys from `{err}`); update KEYS, then \
                 run `cargo xtask docs`"
            );
        }
    }

    #[test]
    fn every_key_is_documented_once() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KEYS {
            assert!(seen.insert(k.path), "{} listed twice", k.path);
            assert!(!k.doc.is_empty() && !k.kind.is_empty() && !k.default.is_empty());
            let section = k.section();
            assert!(
                section.is_empty()
                    || KEYS
                        .iter()
                        .any(|s| s.path == section && s.kind == "section"),
                "{}: its section is not listed",
                k.path
            );
        }
    }
}
