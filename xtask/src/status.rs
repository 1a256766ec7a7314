//! `status`: what an operator checks first on a stage: its alarms and their states, the last
//! hour's requests, errors, tokens and p50/p99 latency, and the jobs dead-letter queue's depth.
//!
//! Where each figure comes from, and why: the alarms are the stack's own
//! `AWS::CloudWatch::Alarm` resources, their states CloudWatch's `DescribeAlarms` (alarms in
//! `ALARM` first). The request figures are summed from the function's own metric lines (the
//! embedded-metric-format lines CloudWatch turns into the `CodegenStack` metrics, read with
//! `FilterLogEvents`), so the same command answers on AWS and on the emulator, which keeps the
//! lines but does not turn them into metrics. The dead-letter queue's depth is
//! `GetQueueAttributes`.
//!
//! IO: CloudFormation, CloudWatch, CloudWatch Logs and SQS reads, with the caller's credentials
//! (`cloudwatch:DescribeAlarms` among them; docs/operations.md).

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use crate::functions::{self, StackResource};
use crate::logs::{StackReader, now_ms};
use crate::report::{Exit, result};

/// CloudFormation type of an alarm.
const ALARM_TYPE: &str = "AWS::CloudWatch::Alarm";
/// CloudFormation type of a queue.
const QUEUE_TYPE: &str = "AWS::SQS::Queue";

/// Arguments of `status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    stage: crate::args::StageArg,
    /// How far back the request figures go (a whole number and s, m, h or d).
    #[arg(long, default_value = "1h")]
    since: String,
    #[command(flatten)]
    connect: crate::args::ConnectArgs,
}

/// The request figures of one period, summed from metric lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Figures {
    /// Metric lines read.
    pub(crate) lines: u64,
    /// Requests answered (or job attempts) by status class.
    pub(crate) requests: u64,
    /// 2xx answers.
    pub(crate) ok: u64,
    /// 4xx answers.
    pub(crate) client_errors: u64,
    /// 5xx answers.
    pub(crate) server_errors: u64,
    /// Input tokens.
    pub(crate) input_tokens: u64,
    /// Output tokens.
    pub(crate) output_tokens: u64,
    /// Jobs succeeded, failed, retried.
    pub(crate) jobs: (u64, u64, u64),
    /// Time to answer, p50 and p99 (milliseconds).
    pub(crate) time_to_answer: Option<(u64, u64)>,
    /// Model latency, p50 and p99 (milliseconds).
    pub(crate) model_latency: Option<(u64, u64)>,
}

/// The nearest-rank percentile `p` (0-100) of `values` (sorted here).
pub(crate) fn percentile(values: &mut [u64], p: u64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len() as u64;
    // Nearest rank: ceil(p/100 * n), at least 1.
    let rank = (p * n).div_ceil(100).max(1);
    values
        .get(usize::try_from(rank - 1).unwrap_or(usize::MAX))
        .copied()
}

/// Sums the metric lines (EMF documents; anything else is skipped).
pub(crate) fn summarise<'a>(documents: impl IntoIterator<Item = &'a Value>) -> Figures {
    let mut f = Figures::default();
    let (mut answer, mut model) = (Vec::new(), Vec::new());
    for d in documents {
        if d.get("_aws").is_none() {
            continue;
        }
        f.lines += 1;
        let get = |k: &str| d.get(k).and_then(Value::as_u64);
        let add = |total: &mut u64, k: &str| *total += get(k).unwrap_or(0);
        add(&mut f.requests, "Requests");
        add(&mut f.ok, "Status2xx");
        add(&mut f.client_errors, "Status4xx");
        add(&mut f.server_errors, "Status5xx");
        add(&mut f.input_tokens, "InputTokens");
        add(&mut f.output_tokens, "OutputTokens");
        add(&mut f.jobs.0, "JobsSucceeded");
        add(&mut f.jobs.1, "JobsFailed");
        add(&mut f.jobs.2, "JobsRetried");
        answer.extend(get("TimeToAnswer"));
        model.extend(get("ModelLatency"));
    }
    let p50_p99 = |v: &mut Vec<u64>| Some((percentile(v, 50)?, percentile(v, 99)?));
    f.time_to_answer = p50_p99(&mut answer);
    f.model_latency = p50_p99(&mut model);
    f
}

/// The lines `status` prints for `figures`.
pub(crate) fn figure_lines(figures: &Figures, since: &str) -> Vec<String> {
    let ms = |v: Option<(u64, u64)>| {
        v.map_or_else(
            || "no data".to_owned(),
            |(p50, p99)| format!("p50 {p50} ms, p99 {p99} ms"),
        )
    };
    vec![
        format!(
            "requests (last {since}): {} answered ({} 2xx, {} 4xx, {} 5xx)",
            figures.requests, figures.ok, figures.client_errors, figures.server_errors
        ),
        format!(
            "tokens: {} in, {} out",
            figures.input_tokens, figures.output_tokens
        ),
        format!("time to answer: {}", ms(figures.time_to_answer)),
        format!("model latency: {}", ms(figures.model_latency)),
        format!(
            "jobs: {} succeeded, {} failed, {} retried",
            figures.jobs.0, figures.jobs.1, figures.jobs.2
        ),
    ]
}

/// One alarm as `DescribeAlarms` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// CloudWatch's explanation of the last change.
    pub reason: String,
    /// When the state last changed (ISO 8601), if reported.
    pub since: Option<String>,
}

/// The lines `status` prints for the stack's alarms `names`, with the `states` CloudWatch
/// reported by name: those in `ALARM` first, then the rest by name; an alarm CloudWatch does not
/// know is reported as such (created outside CloudWatch's region, or deleted by hand).
pub fn alarm_lines(
    stack: &str,
    names: &[&str],
    states: &BTreeMap<String, AlarmState>,
) -> Vec<String> {
    let mut rows: Vec<(bool, &str, String)> = names
        .iter()
        .map(|name| match states.get(*name) {
            Some(s) => {
                let since = s
                    .since
                    .as_deref()
                    .map_or(String::new(), |t| format!(" since {t}"));
                let reason = if s.state == "ALARM" {
                    format!(": {}", s.reason)
                } else {
                    String::new()
                };
                (
                    s.state != "ALARM",
                    *name,
                    format!("  {:<17} {name}{since}{reason}", s.state),
                )
            }
            None => (
                true,
                *name,
                format!("  {:<17} {name} (not found in CloudWatch)", "?"),
            ),
        })
        .collect();
    rows.sort();
    let firing = rows.iter().filter(|(quiet, _, _)| !quiet).count();
    let mut out = vec![format!(
        "alarms of {stack} ({}, {firing} in ALARM):",
        names.len()
    )];
    out.extend(rows.into_iter().map(|(_, _, line)| line));
    out
}

/// The states of the alarms named `<stack>-…`, by name, with `DescribeAlarms` and its
/// `AlarmNamePrefix` (paged; `AlarmNames` would take at most 100 names per call). The caller
/// keeps the stack's own alarms: another stack's alarm may share the prefix.
async fn alarm_states(
    clients: &crate::aws::Clients,
    stack: &str,
) -> anyhow::Result<BTreeMap<String, AlarmState>> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&clients.sdk);
    let mut states = BTreeMap::new();
    let mut pages = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("{stack}-"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "failed to read the alarm states of {stack} (cloudwatch:DescribeAlarms): {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        })?;
        for alarm in page.metric_alarms() {
            let Some(name) = alarm.alarm_name() else {
                continue;
            };
            states.insert(
                name.to_owned(),
                AlarmState {
                    state: alarm.state_value().map_or("?", |v| v.as_str()).to_owned(),
                    reason: alarm.state_reason().unwrap_or_default().to_owned(),
                    since: alarm
                        .state_updated_timestamp()
                        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
                },
            );
        }
    }
    Ok(states)
}

/// Runs `cargo xtask status`.
pub(crate) async fn command(root: &std::path::Path, args: StatusArgs) -> anyhow::Result<Exit> {
    let since = crate::logs::parse_since(&args.since).ok_or_else(|| {
        anyhow::anyhow!(
            "--since `{}`: use a number and s, m, h or d (e.g. 1h)",
            args.since
        )
    })?;
    let cfg = codegen_infra::load_stage(root, &args.stage.stage)?;
    let clients = crate::aws::try_connect(&cfg, &args.connect.options()).await?;
    for line in status_lines(&clients, &cfg, since, &args.since).await? {
        result(line);
    }
    Ok(Exit::Success)
}

/// What `status` prints for `cfg`'s stack: the figures of the last `since_ms` (`since` as the
/// user wrote it, for the text).
pub async fn status_lines(
    clients: &crate::aws::Clients,
    cfg: &codegen_infra::StageConfig,
    since_ms: i64,
    since: &str,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut result = |line: String| out.push(line);
    let resources = functions::list_resources(&clients.cfn, &cfg.stack_name).await?;
    anyhow::ensure!(
        !resources.is_empty(),
        "stack {} has no resources: run `cargo xtask deploy --stage {}`",
        cfg.stack_name,
        cfg.name
    );

    // Alarms: from the stack; their states from CloudWatch (see the module doc).
    let alarms: Vec<&StackResource> = resources
        .iter()
        .filter(|r| r.resource_type == ALARM_TYPE)
        .collect();
    let names: Vec<&str> = alarms.iter().map(|a| a.physical_id.as_str()).collect();
    let states = alarm_states(clients, &cfg.stack_name).await?;
    for line in alarm_lines(&cfg.stack_name, &names, &states) {
        result(line);
    }

    // The request figures, from the metric lines of every function.
    let groups: Vec<_> = functions::log_groups_of(&resources)
        .into_iter()
        .filter(|g| g.short != functions::ACCESS_LOG_NAME)
        .collect();
    let mut reader = StackReader::new(
        &clients.logs,
        groups,
        now_ms().saturating_sub(since_ms),
        Some("\"CloudWatchMetrics\"".to_owned()),
    );
    let documents: Vec<Value> = reader
        .read_new()
        .await?
        .iter()
        .filter_map(|e| serde_json::from_str(e.event.message.trim()).ok())
        .collect();
    for line in figure_lines(&summarise(&documents), since) {
        result(line);
    }

    // The dead-letter queue's depth.
    let dead_letter = resources.iter().find(|r| {
        r.resource_type == QUEUE_TYPE
            && r.logical_id == codegen_infra::stack::JOBS_DEAD_LETTER_QUEUE
    });
    if let Some(queue) = dead_letter {
        let sqs = aws_sdk_sqs::Client::new(&clients.sdk);
        let out = sqs
            .get_queue_attributes()
            .queue_url(&queue.physical_id)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            )
            .send()
            .await
            .with_context(|| format!("failed to read the depth of {}", queue.physical_id))?;
        let attrs: BTreeMap<String, String> = out
            .attributes()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let get = |k: &str| attrs.get(k).map_or("?", String::as_str).to_owned();
        result(format!(
            "dead-letter queue: {} waiting, {} being marked failed by the worker",
            get("ApproximateNumberOfMessages"),
            get("ApproximateNumberOfMessagesNotVisible")
        ));
    }
    if clients.endpoint.is_some() {
        result(
            "emulator: figures come from the function's metric lines (ministack keeps them but \
             makes no metrics of them); its alarms stay INSUFFICIENT_DATA without those metrics; \
             AWS/ApiGateway, AWS/SQS and AWS/Bedrock metrics and X-Ray traces exist only on AWS \
             (docs/operations.md)"
                .to_owned(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alarms_in_alarm_come_first_with_their_reason_and_unknown_ones_are_said() {
        let state = |state: &str, reason: &str| AlarmState {
            state: state.to_owned(),
            reason: reason.to_owned(),
            since: Some("2026-12-07T10:00:00Z".to_owned()),
        };
        let states: BTreeMap<String, AlarmState> = [
            ("s-a-ok".to_owned(), state("OK", "fine")),
            (
                "s-b-dlq".to_owned(),
                state("ALARM", "Threshold Crossed: 1 datapoint [3.0]"),
            ),
            ("s-c-new".to_owned(), state("INSUFFICIENT_DATA", "no data")),
        ]
        .into();
        let lines = alarm_lines("s", &["s-a-ok", "s-c-new", "s-b-dlq", "s-d-gone"], &states);
        assert_eq!(lines[0], "alarms of s (4, 1 in ALARM):");
        assert!(
            lines[1].starts_with("  ALARM ") && lines[1].contains("s-b-dlq"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with(": Threshold Crossed: 1 datapoint [3.0]"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("OK") && lines[2].contains("s-a-ok"),
            "{lines:?}"
        );
        assert!(
            !lines[2].contains("fine"),
            "a quiet alarm's reason is noise: {lines:?}"
        );
        assert!(lines[3].contains("INSUFFICIENT_DATA"), "{lines:?}");
        assert!(
            lines[4].contains("s-d-gone (not found in CloudWatch)"),
            "{lines:?}"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50), Some(50));
        assert_eq!(percentile(&mut v, 99), Some(99));
        assert_eq!(percentile(&mut [7], 99), Some(7));
        assert_eq!(percentile(&mut [], 50), None);
    }

    #[test]
    fn figures_are_summed_from_metric_lines_only() {
        let lines = [
            json!({"_aws": {}, "Requests": 1, "Status2xx": 1, "InputTokens": 10, "OutputTokens": 20, "TimeToAnswer": 100, "ModelLatency": 90}),
            json!({"_aws": {}, "Requests": 1, "Status5xx": 1, "TimeToAnswer": 300}),
            json!({"_aws": {}, "JobsRetried": 1, "TimeToAnswer": 200}),
            json!({"msg": "not a metric line", "Requests": 99}),
        ];
        let f = summarise(&lines);
        assert_eq!(f.lines, 3);
        assert_eq!((f.requests, f.ok, f.server_errors), (2, 1, 1));
        assert_eq!((f.input_tokens, f.output_tokens), (10, 20));
        assert_eq!(f.jobs, (0, 0, 1));
        assert_eq!(f.time_to_answer, Some((200, 300)));
        assert_eq!(f.model_latency, Some((90, 90)));
        let text = figure_lines(&f, "1h").join("\n");
        assert!(text.contains("2 answered (1 2xx, 0 4xx, 1 5xx)"), "{text}");
        assert!(text.contains("p50 200 ms, p99 300 ms"), "{text}");
    }
}
