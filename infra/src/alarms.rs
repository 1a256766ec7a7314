//! Alarms that reach a person, and a dashboard with the same figures: the stage file's `alarms:`
//! block ([`AlarmsConfig`], every key optional) and the resources it adds to the stack
//! ([`add_monitoring`]). Pure: no SDK, no IO.
//!
//! Every alarm notifies one SNS topic: the stage's own, encrypted with its own KMS key and
//! subscribed to `alarms.email`, or an existing topic (`alarms.topic_arn`). What each alarm means
//! and what to do when it fires: docs/operations.md.
//!
//! AWS metrics (namespaces, names, dimensions), checked 2026-12-07:
//! - `AWS/Lambda` `Errors`, `Throttles` by `FunctionName` ("Types of metrics for Lambda
//!   functions", <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>).
//! - `AWS/ApiGateway` `5xx`, `Count` by `ApiId`, `Stage` for HTTP APIs ("Monitor CloudWatch
//!   metrics for HTTP APIs in API Gateway",
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html>): the
//!   page documents `5xx` as "the number of server-side errors", with no statement that its
//!   Average is a rate (the REST API page says that of `5XXError`), so the rate is metric math,
//!   `100 * 5xx / Count`.
//! - `AWS/SQS` `ApproximateNumberOfMessagesVisible`, `ApproximateAgeOfOldestMessage` by
//!   `QueueName` ("Available CloudWatch metrics for Amazon SQS",
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html>).
//! - `AWS/Bedrock` `InvocationThrottles` by `ModelId` ("Monitor bedrock-runtime inference using
//!   CloudWatch metrics",
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html>).
//! - The function's own metrics: [`codegen_contract::metrics`].
//!
//! Emulator difference: ministack refuses metric-math alarms ("Properties.Metrics (metric math) is
//! not supported"), so on an emulator stage the 5xx alarm counts 5xx answers instead of their rate.

use cfn_constructs::cloudwatch::{Alarm, Dashboard, Metric, Watched};
use cfn_constructs::kms::Key;
use cfn_constructs::sns::{Subscription, Topic};
use cfn_constructs::template::DuplicateId;
use cfn_constructs::{Expr, Stack};
use codegen_contract::FunctionRole;
use codegen_contract::metrics as m;

pub use crate::config::AlarmsConfig;
use crate::config::{Emulator, StageConfig};

/// Logical id of the alarm topic.
pub const ALARM_TOPIC: &str = "AlarmTopic";
/// Logical id of the alarm topic's key.
pub const ALARM_KEY: &str = "AlarmTopicKey";
/// Logical id of the dashboard.
pub const DASHBOARD: &str = "Dashboard";

/// What CloudFormation (the bootstrap's execution role) calls to create, read back, update and
/// delete the stage's alarms: the AWS::CloudWatch::Alarm registry schema's handler permissions,
/// granted on alarms named `<stack>-*` only
/// (alarm ARN `arn:aws:cloudwatch:<region>:<account-id>:alarm:<name>`, AWS CDK reference,
/// `IAlarm.alarmArn`, checked 2026-12-07). The topic and its key are the bootstrap's own
/// ([`add_alarm_topic`]), so no SNS or KMS action is needed here.
/// `cloudwatch:PutMetricAlarm` is granted apart, with a condition on the alarm's actions.
pub const ALARM_ACTIONS: &[&str] = &[
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
];

/// The topic the stage's alarms notify: the one the stage file names, or the bootstrap's
/// (`<stack>-alarms`, [`add_alarm_topic`]).
pub fn alarm_topic_arn(cfg: &StageConfig) -> Expr {
    match &cfg.alarms.topic_arn {
        Some(arn) => Expr::str(arn.clone()),
        None => Expr::sub(format!(
            "arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{}-alarms",
            cfg.stack_name
        )),
    }
}

/// The dashboard's handler permissions (AWS::CloudWatch::Dashboard), on the dashboard named
/// after the stack only (`arn:aws:cloudwatch::<account-id>:dashboard/<name>`: dashboards are
/// global, the ARN has no region).
pub const DASHBOARD_ACTIONS: &[&str] = &[
    "cloudwatch:DeleteDashboards",
    "cloudwatch:GetDashboard",
    "cloudwatch:PutDashboard",
];

/// What the monitoring resources refer to in the rest of the stack.
pub struct Watch<'a> {
    /// The functions, by role, as name expressions.
    pub functions: Vec<(FunctionRole, Expr)>,
    /// The HTTP API's id.
    pub api_id: Expr,
    /// The jobs queue's name.
    pub jobs_queue: &'a str,
    /// The dead-letter queue's name.
    pub dead_letter_queue: &'a str,
}

/// Five minutes: the period of every alarm but the hourly token one.
pub const PERIOD_SECONDS: u32 = 300;

/// The alarms of a stage (without adding them), for the stack and the tests.
pub fn alarms(cfg: &StageConfig, watch: &Watch<'_>, actions: &[Expr]) -> Vec<Alarm> {
    let a = &cfg.alarms;
    let stack = &cfg.stack_name;
    let name = |what: &str| format!("{stack}-{what}");
    let mut out = Vec::new();
    let mut push =
        |id: &str, what: &str, description: &str, watched: Watched, period: u32, threshold: f64| {
            out.push(Alarm::at_least(
                id,
                &name(what),
                description,
                watched,
                period,
                threshold,
                actions.to_vec(),
            ));
        };
    let metric = |ns: &str, metric: &str, dims: Vec<(&str, Expr)>, stat: &str| Watched::Metric {
        metric: Metric::new(ns, metric, dims),
        statistic: stat.to_owned(),
    };
    push(
        "AlarmDeadLetterQueue",
        "dead-letter-queue",
        "Jobs dead-letter queue holds messages the worker has not drained: jobs gave up and the worker is not marking them failed.",
        metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            vec![("QueueName", Expr::str(watch.dead_letter_queue))],
            "Maximum",
        ),
        PERIOD_SECONDS,
        f64::from(a.dead_letter_messages),
    );
    push(
        "AlarmJobsFailed",
        "jobs-failed",
        "Jobs failed for good (every attempt used, or a non-retryable error).",
        metric(
            m::NAMESPACE,
            m::JOBS_FAILED.name,
            vec![
                (m::DIM_STAGE, Expr::str(cfg.name.clone())),
                (m::DIM_ROUTE, Expr::str(m::WORKER_ROUTE)),
                (m::DIM_MODEL, Expr::str(cfg.model.id.clone())),
            ],
            "Sum",
        ),
        PERIOD_SECONDS,
        f64::from(a.jobs_failed),
    );
    push(
        "AlarmJobAge",
        "job-age",
        "The oldest queued job is older than the stage's give-up time (jobs.give_up_after_seconds): workers are not keeping up or not running.",
        metric(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            vec![("QueueName", Expr::str(watch.jobs_queue))],
            "Maximum",
        ),
        PERIOD_SECONDS,
        f64::from(cfg.jobs.give_up_after_seconds),
    );
    let api_dims = || {
        vec![
            ("ApiId", watch.api_id.clone()),
            ("Stage", Expr::str(cfg.name.clone())),
        ]
    };
    if cfg.emulator == Some(Emulator::Ministack) {
        push(
            "AlarmApi5xx",
            "api-5xx",
            "The API answered 5xx (emulator stage: a count, since ministack refuses metric-math alarms; AWS stages alarm on the rate).",
            metric("AWS/ApiGateway", "5xx", api_dims(), "Sum"),
            PERIOD_SECONDS,
            1.0,
        );
    } else {
        push(
            "AlarmApi5xx",
            "api-5xx-rate",
            "Percent of API requests answered 5xx (the function's errors, timeouts at API Gateway's 30 s, integration failures).",
            Watched::Math {
                expression: "IF(m2 > 0, 100 * m1 / m2, 0)".to_owned(),
                label: "5xx %".to_owned(),
                metrics: vec![
                    (
                        "m1".to_owned(),
                        Metric::new("AWS/ApiGateway", "5xx", api_dims()),
                        "Sum".to_owned(),
                    ),
                    (
                        "m2".to_owned(),
                        Metric::new("AWS/ApiGateway", "Count", api_dims()),
                        "Sum".to_owned(),
                    ),
                ],
            },
            PERIOD_SECONDS,
            a.api_5xx_rate_percent,
        );
    }
    for (role, function) in &watch.functions {
        let r = role.as_str();
        let title = capitalise(r);
        push(
            &format!("Alarm{title}Errors"),
            &format!("{r}-errors"),
            &format!(
                "The {r} function failed invocations (a crash, a timeout, or an unhandled error)."
            ),
            metric(
                "AWS/Lambda",
                "Errors",
                vec![("FunctionName", function.clone())],
                "Sum",
            ),
            PERIOD_SECONDS,
            f64::from(a.function_errors),
        );
        push(
            &format!("Alarm{title}Throttles"),
            &format!("{r}-throttles"),
            &format!(
                "Lambda throttled the {r} function (reserved concurrency or the account's limit)."
            ),
            metric(
                "AWS/Lambda",
                "Throttles",
                vec![("FunctionName", function.clone())],
                "Sum",
            ),
            PERIOD_SECONDS,
            f64::from(a.function_throttles),
        );
    }
    push(
        "AlarmBedrockThrottles",
        "bedrock-throttles",
        "Bedrock throttled calls to the stage's model (the account's tokens- or requests-per-minute quota).",
        metric(
            "AWS/Bedrock",
            "InvocationThrottles",
            vec![("ModelId", Expr::str(cfg.model.id.clone()))],
            "Sum",
        ),
        PERIOD_SECONDS,
        f64::from(a.bedrock_throttles),
    );
    push(
        "AlarmOutputTokens",
        "output-tokens-per-hour",
        "Output tokens of the stage's model in one hour passed alarms.output_tokens_per_hour (the bill follows output tokens).",
        metric(
            m::NAMESPACE,
            m::OUTPUT_TOKENS.name,
            vec![
                (m::DIM_STAGE, Expr::str(cfg.name.clone())),
                (m::DIM_MODEL, Expr::str(cfg.model.id.clone())),
            ],
            "Sum",
        ),
        3600,
        // Token counts are far below 2^53: exact as a float.
        a.output_tokens_per_hour as f64,
    );
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Adds the alarm topic (unless the stage names an existing one), its key, the alarms and the
/// dashboard to `stack`.
pub fn add_monitoring(
    stack: &mut Stack,
    cfg: &StageConfig,
    watch: &Watch<'_>,
) -> Result<(), DuplicateId> {
    // The topic is the bootstrap's ([`add_alarm_topic`]), or one the stage file names.
    let topic_arn = match &cfg.alarms.topic_arn {
        Some(arn) => Expr::str(arn.clone()),
        None => Expr::import_value(crate::names::alarm_topic_export(&cfg.stack_name)),
    };
    let alarms = alarms(cfg, watch, &[topic_arn]);
    for alarm in &alarms {
        stack.add(alarm)?;
    }
    stack.add(&dashboard(cfg, watch, &alarms))?;
    Ok(())
}

/// The stage's alarm topic and the key that encrypts it, in the bootstrap stack (so the
/// CloudFormation execution role that runs the app stack needs no SNS or KMS permission): unless
/// the stage file names an existing topic. Returns the topic's ARN, if one was added.
pub fn add_alarm_topic(stack: &mut Stack, cfg: &StageConfig) -> Result<Option<Expr>, DuplicateId> {
    if cfg.alarms.topic_arn.is_some() {
        return Ok(None);
    }
    let mut key = Key::new(
        ALARM_KEY,
        &format!("Encrypts the alarm topic of {}", cfg.stack_name),
    )
    .with_tags(&cfg.tags);
    let mut topic = Topic::new(ALARM_TOPIC, &format!("{}-alarms", cfg.stack_name), &key)
        .with_subscriptions(
            cfg.alarms
                .email
                .iter()
                .map(|e| Subscription {
                    protocol: "email".to_owned(),
                    endpoint: e.clone(),
                })
                .collect(),
        )
        .with_tags(&cfg.tags);
    topic.grant_alarm_publish(&mut key);
    stack.add(&key)?;
    stack.add(&topic)?;
    Ok(Some(topic.arn()))
}

/// The dashboard: the same figures the alarms watch, and their states.
fn dashboard(cfg: &StageConfig, watch: &Watch<'_>, alarms: &[Alarm]) -> Dashboard {
    let region = "${AWS::Region}";
    // The HTTP API is the bootstrap's (imported): `Fn::Sub` names it through its variable map.
    let mut d =
        Dashboard::new(DASHBOARD, &cfg.stack_name).with_variable("ApiId", watch.api_id.clone());
    let ours = |metric: &str| {
        serde_json::json!([
            m::NAMESPACE,
            metric,
            m::DIM_STAGE,
            cfg.name,
            m::DIM_MODEL,
            cfg.model.id
        ])
    };
    d.add_alarm_status(
        "Alarms",
        alarms
            .iter()
            .map(|a| format!("arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{}", a.name))
            .collect(),
    );
    d.add_graph(
        "Requests by status class",
        region,
        vec![
            ours(m::STATUS_2XX.name),
            ours(m::STATUS_4XX.name),
            ours(m::STATUS_5XX.name),
        ],
        "Sum",
    );
    d.add_graph(
        "Model latency and time to answer (p50, p99)",
        region,
        vec![
            serde_json::json!([m::NAMESPACE, m::MODEL_LATENCY.name, m::DIM_STAGE, cfg.name, m::DIM_MODEL, cfg.model.id, {"stat": "p50"}]),
            serde_json::json!([m::NAMESPACE, m::MODEL_LATENCY.name, m::DIM_STAGE, cfg.name, m::DIM_MODEL, cfg.model.id, {"stat": "p99"}]),
            serde_json::json!([m::NAMESPACE, m::TIME_TO_ANSWER.name, m::DIM_STAGE, cfg.name, m::DIM_MODEL, cfg.model.id, {"stat": "p99"}]),
        ],
        "p50",
    );
    d.add_graph(
        "Tokens",
        region,
        vec![ours(m::INPUT_TOKENS.name), ours(m::OUTPUT_TOKENS.name)],
        "Sum",
    );
    d.add_graph(
        "Jobs",
        region,
        vec![
            ours(m::JOBS_QUEUED.name),
            ours(m::JOBS_SUCCEEDED.name),
            ours(m::JOBS_FAILED.name),
            ours(m::JOBS_RETRIED.name),
        ],
        "Sum",
    );
    d.add_graph(
        "API requests and 5xx",
        region,
        vec![
            serde_json::json!([
                "AWS/ApiGateway",
                "Count",
                "ApiId",
                "${ApiId}",
                "Stage",
                cfg.name
            ]),
            serde_json::json!([
                "AWS/ApiGateway",
                "5xx",
                "ApiId",
                "${ApiId}",
                "Stage",
                cfg.name
            ]),
        ],
        "Sum",
    );
    d.add_graph(
        "Function errors and throttles",
        region,
        watch
            .functions
            .iter()
            .flat_map(|(role, _)| {
                let name = match role {
                    FunctionRole::Sync => cfg.function_name(),
                    other => cfg.jobs_function_name(other.as_str()),
                };
                [
                    serde_json::json!(["AWS/Lambda", "Errors", "FunctionName", name]),
                    serde_json::json!(["AWS/Lambda", "Throttles", "FunctionName", name]),
                ]
            })
            .collect(),
        "Sum",
    );
    d.add_graph(
        "Queues: dead letters and oldest job (s)",
        region,
        vec![
            serde_json::json!([
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                watch.dead_letter_queue
            ]),
            serde_json::json!([
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "QueueName",
                watch.jobs_queue
            ]),
        ],
        "Maximum",
    );
    d.add_graph(
        "Bedrock throttles",
        region,
        vec![serde_json::json!([
            "AWS/Bedrock",
            "InvocationThrottles",
            "ModelId",
            cfg.model.id
        ])],
        "Sum",
    );
    d
}
