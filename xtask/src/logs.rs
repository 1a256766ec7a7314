//! `logs`: the log events of the whole stack: every function's log group and the API's access
//! log, found from the stack's own resources (`crate::functions`), each line prefixed with its
//! source's short name (`sync`, `submit`, `status`, `worker`, `api`) and merged in time order
//! (CloudWatch Logs `FilterLogEvents`, one read per group, in parallel), optionally followed.
//! `--request-id` and `--job` follow one request or job across the functions that handled it:
//! they become a filter pattern matching the id as a quoted term, which every line about it holds
//! (the function's JSON lines carry `request_id`/`job_id`, Lambda's START/END/REPORT lines the
//! request id, the access log the integration's request id and the path with the job id).
//!
//! Filter patterns: "Filter pattern syntax for metric filters, subscription filters, filter log
//! events" (CloudWatch Logs User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>, checked
//! 2026-12-07): a term in double quotes matches events that contain it exactly.
//!
//! The pure parts are small functions with unit tests: parsing `--since` (`parse_since`),
//! formatting an event (`format_event`, `format_line`), telling a re-read event from a new one
//! ([`Cursor`]) and merging sources (`merge`). [`read_new`], [`print_events`] and
//! [`print_stack_events`] are the IO around them: CloudWatch Logs reads and writes to the given
//! writer (stdout for the CLI).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use clap::Args;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::functions::{self, StackLogGroup};
use crate::report::Exit;

/// How often `--follow` reads again.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How far behind the newest event a follow-up read starts. CloudWatch Logs (and the emulator)
/// can deliver an event after events stamped later, so reading again from exactly the newest
/// timestamp would miss it; what a read returns again is recognised by [`Cursor`] and skipped.
const LOOKBACK_MS: i64 = 10_000;

/// `2026-12-02T05:39:40.123Z`: RFC 3339 in UTC with milliseconds, as CloudWatch's console shows.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// One log event. The whole event is its identity: CloudWatch's `eventId` is optional (ministack
/// omits it), and stream, timestamp, ingestion time and message together tell events apart as
/// well as anything the API returns. Events equal in all four are counted, not collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LogEvent {
    /// Log stream the event was written to.
    pub(crate) stream: String,
    /// When the function wrote it (epoch milliseconds).
    pub(crate) timestamp: i64,
    /// When CloudWatch Logs received it (epoch milliseconds).
    pub(crate) ingestion_time: i64,
    /// The line as written, including any trailing newline.
    pub(crate) message: String,
}

impl LogEvent {
    /// Reduces an SDK event to what identifies and prints it (missing fields become empty or 0).
    pub(crate) fn from_sdk(event: &FilteredLogEvent) -> Self {
        Self {
            stream: event.log_stream_name().unwrap_or_default().to_owned(),
            timestamp: event.timestamp().unwrap_or_default(),
            ingestion_time: event.ingestion_time().unwrap_or_default(),
            message: event.message().unwrap_or_default().to_owned(),
        }
    }
}

/// Formats epoch milliseconds as `2026-12-02T05:39:40.123Z`; the raw number if it is outside
/// the years 1-9999.
pub(crate) fn format_timestamp(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(TIMESTAMP).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// The printed line for one event: its UTC timestamp and its message without trailing
/// whitespace (Lambda ends each line with a newline).
pub(crate) fn format_event(event: &LogEvent) -> String {
    format!(
        "{} {}",
        format_timestamp(event.timestamp),
        event.message.trim_end()
    )
}

/// Where the next read of a log group starts, and which events from there on were already
/// printed, so that reading the same span again prints only what is new.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    start_ms: i64,
    /// Events at or after `start_ms` that were printed, with how many times each was.
    printed: HashMap<LogEvent, usize>,
}

impl Cursor {
    /// A cursor that has printed nothing and starts at `start_ms` (epoch milliseconds).
    pub fn new(start_ms: i64) -> Self {
        Self {
            start_ms,
            printed: HashMap::new(),
        }
    }

    /// Where the next read starts (epoch milliseconds, inclusive).
    pub(crate) fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Takes everything one read from [`Cursor::start_ms`] returned and gives back, oldest first,
    /// the events not printed before: on a first read all of them, identical events included.
    /// Then moves the start to [`LOOKBACK_MS`] before the newest event (never backwards) and
    /// forgets what was printed before it.
    pub(crate) fn take_new(&mut self, read: Vec<LogEvent>) -> Vec<LogEvent> {
        let mut occurrences: HashMap<LogEvent, usize> = HashMap::new();
        let mut fresh = Vec::new();
        // Events before the start were an earlier read's to print (or before `--since`).
        for event in read.into_iter().filter(|e| e.timestamp >= self.start_ms) {
            let seen = occurrences.entry(event.clone()).or_default();
            *seen += 1;
            if *seen > self.printed.get(&event).copied().unwrap_or_default() {
                fresh.push(event);
            }
        }
        let newest = occurrences.keys().map(|e| e.timestamp).max();
        for (event, count) in occurrences {
            let printed = self.printed.entry(event).or_default();
            *printed = (*printed).max(count);
        }
        if let Some(newest) = newest {
            self.start_ms = self.start_ms.max(newest.saturating_sub(LOOKBACK_MS));
        }
        let start = self.start_ms;
        self.printed.retain(|e, _| e.timestamp >= start);
        // Stable: events with the same timestamp keep the order the service returned.
        fresh.sort_by_key(|e| e.timestamp);
        fresh
    }
}

/// Reads every event of `group` from the cursor's start (all pages) and writes those not
/// printed before, one `format_event` line each. Returns how many it wrote.
pub async fn read_new(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    cursor: &mut Cursor,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let fresh = cursor.take_new(read_from(logs, group, cursor.start_ms(), None).await?);
    write_events(out, &fresh).context("failed to write log events")?;
    Ok(fresh.len())
}

/// Writes the events of `group` since `start_ms` to `out`; with `follow`, keeps reading every
/// 2 s and writes each later event once, until interrupted or until `out` is closed (`| head`).
/// Returns the number of events written.
pub async fn print_events(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start_ms: i64,
    follow: bool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut cursor = Cursor::new(start_ms);
    let mut printed = 0;
    loop {
        let fresh = cursor.take_new(read_from(logs, group, cursor.start_ms(), None).await?);
        match write_events(out, &fresh) {
            Ok(()) => printed += fresh.len(),
            // The reader has gone; following on would poll for nobody.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(printed),
            Err(e) => return Err(e).context("failed to write log events"),
        }
        if !follow {
            return Ok(printed);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(printed),
        }
    }
}

/// Every event of `group` at or after `start_ms` that matches `pattern` (all events: `None`),
/// through all of `FilterLogEvents`' pages.
async fn read_from(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start_ms: i64,
    pattern: Option<&str>,
) -> anyhow::Result<Vec<LogEvent>> {
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(start_ms)
        .set_filter_pattern(pattern.map(str::to_owned))
        .into_paginator()
        .send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("failed to read log group {group}"))?;
        events.extend(page.events().iter().map(LogEvent::from_sdk));
    }
    Ok(events)
}

fn write_events(out: &mut impl Write, events: &[LogEvent]) -> std::io::Result<()> {
    for event in events {
        writeln!(out, "{}", format_event(event))?;
    }
    out.flush()
}

/// One printed line of the whole stack's logs: its source's short name and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourcedEvent {
    /// `sync`, `submit`, `status`, `worker`, `api`, or a log group's logical id.
    pub(crate) source: String,
    /// The event.
    pub(crate) event: LogEvent,
}

/// Width the short names are padded to, so messages line up (`submit`, `status`, `worker`).
const SOURCE_WIDTH: usize = 6;

/// The printed line for one event of the stack: UTC timestamp, source, message.
pub(crate) fn format_line(e: &SourcedEvent) -> String {
    format!(
        "{} {:<SOURCE_WIDTH$} {}",
        format_timestamp(e.event.timestamp),
        e.source,
        e.event.message.trim_end()
    )
}

/// Merges the fresh events of several sources into one list in time order. Stable: events with
/// the same timestamp keep their source's order, and sources keep the order given.
pub(crate) fn merge(per_source: Vec<(String, Vec<LogEvent>)>) -> Vec<SourcedEvent> {
    let mut all: Vec<SourcedEvent> = per_source
        .into_iter()
        .flat_map(|(source, events)| {
            events.into_iter().map(move |event| SourcedEvent {
                source: source.clone(),
                event,
            })
        })
        .collect();
    all.sort_by_key(|e| e.event.timestamp);
    all
}

/// What to read from the stack's logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackQuery {
    /// Only these sources (short names); empty: all.
    pub sources: Vec<String>,
    /// CloudWatch Logs filter pattern; `None`: every event.
    pub pattern: Option<String>,
    /// From when (epoch milliseconds).
    pub start_ms: i64,
}

/// The filter pattern that matches every line mentioning `id` (a quoted term). `None` when the
/// id holds a character a quoted term cannot (a double quote or a backslash).
pub fn id_pattern(id: &str) -> Option<String> {
    (!id.is_empty() && !id.contains(['"', '\\'])).then(|| format!("\"{id}\""))
}

/// The stack's log groups that `query` asks for; an error naming the known short names when a
/// `--function` matches none.
pub(crate) fn select_groups(
    groups: Vec<StackLogGroup>,
    wanted: &[String],
) -> anyhow::Result<Vec<StackLogGroup>> {
    if wanted.is_empty() {
        return Ok(groups);
    }
    let known: Vec<String> = groups.iter().map(|g| g.short.clone()).collect();
    for w in wanted {
        anyhow::ensure!(
            known.contains(w),
            "--function {w}: the stack has no such log source; use one of {}",
            known.join(", ")
        );
    }
    Ok(groups
        .into_iter()
        .filter(|g| wanted.contains(&g.short))
        .collect())
}

/// Reads the stack's logs: one cursor per group, all groups read in parallel on each pass.
pub(crate) struct StackReader {
    reader: aws_sdk_cloudwatchlogs::Client,
    pattern: Option<String>,
    sources: Vec<(StackLogGroup, Cursor)>,
}

impl StackReader {
    /// A reader of `groups` from `start_ms` with `pattern`.
    pub(crate) fn new(
        logs: &aws_sdk_cloudwatchlogs::Client,
        groups: Vec<StackLogGroup>,
        start_ms: i64,
        pattern: Option<String>,
    ) -> Self {
        Self {
            reader: aws_sdk_cloudwatchlogs::Client::clone(logs),
            pattern,
            sources: groups
                .into_iter()
                .map(|g| (g, Cursor::new(start_ms)))
                .collect(),
        }
    }

    /// Reads every group once and returns the events not returned before, merged in time order.
    pub(crate) async fn read_new(&mut self) -> anyhow::Result<Vec<SourcedEvent>> {
        let mut reads = tokio::task::JoinSet::new();
        for (i, (group, cursor)) in self.sources.iter().enumerate() {
            let (reader, name, start, pattern) = (
                aws_sdk_cloudwatchlogs::Client::clone(&self.reader),
                group.name.clone(),
                cursor.start_ms(),
                self.pattern.clone(),
            );
            reads.spawn(async move {
                (
                    i,
                    read_from(&reader, &name, start, pattern.as_deref()).await,
                )
            });
        }
        let mut read: Vec<Option<Vec<LogEvent>>> = vec![None; self.sources.len()];
        while let Some(done) = reads.join_next().await {
            let (i, events) = done.context("a log read did not finish")?;
            read[i] = Some(events?);
        }
        let mut per_source = Vec::new();
        for ((group, cursor), events) in self.sources.iter_mut().zip(read) {
            let fresh = cursor.take_new(events.unwrap_or_default());
            per_source.push((group.short.clone(), fresh));
        }
        Ok(merge(per_source))
    }
}

/// Writes the stack's events that `query` asks for to `out`, merged in time order; with `follow`,
/// keeps reading every 2 s until interrupted or until `out` is closed. Returns how many it wrote.
pub async fn print_stack_events(
    clients: &crate::aws::Clients,
    stack_name: &str,
    query: &StackQuery,
    follow: bool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let resources = functions::list_resources(&clients.cfn, stack_name).await?;
    let groups = select_groups(functions::log_groups_of(&resources), &query.sources)?;
    anyhow::ensure!(
        !groups.is_empty(),
        "stack {stack_name} has no log group: deploy it first (`cargo xtask deploy`)"
    );
    let mut reader = StackReader::new(&clients.logs, groups, query.start_ms, query.pattern.clone());
    let mut printed = 0;
    loop {
        let fresh = reader.read_new().await?;
        let written = fresh
            .iter()
            .try_for_each(|e| writeln!(out, "{}", format_line(e)))
            .and_then(|()| out.flush());
        match written {
            Ok(()) => printed += fresh.len(),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(printed),
            Err(e) => return Err(e).context("failed to write log events"),
        }
        if !follow {
            return Ok(printed);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(printed),
        }
    }
}

/// `watch`'s log lines: from `start_ms` on, every event of the stage's stack, printed with
/// `print` as `format_line` does, every 2 s, until the task is dropped. Waits (quietly) for the
/// stack and its log groups to exist, since the watch deploys them first; a failed read is
/// reported once and retried.
pub async fn tail_for_watch(
    cfg: codegen_infra::StageConfig,
    connect: crate::aws::ConnectOptions,
    start_ms: i64,
    mut print: impl FnMut(String) + Send,
) {
    let mut reader = None;
    let mut reported = false;
    loop {
        if reader.is_none() {
            reader = stack_reader(&cfg, &connect, start_ms).await.ok();
        }
        if let Some(r) = reader.as_mut() {
            match r.read_new().await {
                Ok(fresh) => {
                    reported = false;
                    fresh.iter().for_each(|e| print(format_line(e)));
                }
                Err(e) if !reported => {
                    reported = true;
                    crate::report::progress(format!("watch: could not read the logs: {e:#}"));
                }
                Err(_) => {}
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn stack_reader(
    cfg: &codegen_infra::StageConfig,
    connect: &crate::aws::ConnectOptions,
    start_ms: i64,
) -> anyhow::Result<StackReader> {
    let clients = crate::aws::try_connect(cfg, connect).await?;
    let resources = functions::list_resources(&clients.cfn, &cfg.stack_name).await?;
    let groups = functions::log_groups_of(&resources);
    anyhow::ensure!(!groups.is_empty(), "no log groups yet");
    Ok(StackReader::new(&clients.logs, groups, start_ms, None))
}

/// Epoch milliseconds, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Parses `30s`, `10m`, `2h`, `1d` (a whole number and a unit) into milliseconds; `None` for
/// anything else, including a sign, a missing unit or a span that does not fit.
pub(crate) fn parse_since(text: &str) -> Option<i64> {
    let mut chars = text.chars();
    let unit = chars.next_back()?;
    let number = chars.as_str();
    let unit_secs: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number
        .parse::<i64>()
        .ok()?
        .checked_mul(unit_secs)?
        .checked_mul(1_000)
}

/// Arguments of `logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    #[command(flatten)]
    stage: crate::args::StageArg,
    /// Keep reading every 2 s and print each new event once, until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// How far back to start: a whole number and s, m, h or d (30s, 10m, 2h, 1d). Timestamps
    /// are printed in UTC.
    #[arg(long, default_value = "1h")]
    since: String,
    /// Only this source (repeatable): sync, submit, status, worker (the functions) or api (the
    /// access log). Default: all of them.
    #[arg(long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// A CloudWatch Logs filter pattern (e.g. `ERROR`, `"model_timeout"`, `{ $.status = 5* }`).
    #[arg(long, conflicts_with_all = ["request_id", "job"])]
    filter: Option<String>,
    /// Follow one request: every line that mentions this request id (Lambda's, or API Gateway's).
    #[arg(long, value_name = "ID", conflicts_with = "job")]
    request_id: Option<String>,
    /// Follow one job: its submission, every worker attempt and every status read.
    #[arg(long, value_name = "JOB_ID")]
    job: Option<String>,
    #[command(flatten)]
    connect: crate::args::ConnectArgs,
}

/// Runs `cargo xtask logs`: prints the stack's log events. Logs hold callers' prompts, so they
/// are read with the caller's own credentials or the deploy role, never the diff role (which has
/// no log-read grant; see infra/src/bootstrap.rs).
pub(crate) async fn command(
    root: &std::path::Path,
    args: LogsArgs,
) -> anyhow::Result<crate::report::Exit> {
    let since = parse_since(&args.since).ok_or_else(|| {
        anyhow::anyhow!(
            "--since `{}`: use a number and s, m, h or d (e.g. 10m)",
            args.since
        )
    })?;
    let pattern = match (&args.filter, &args.request_id, &args.job) {
        (Some(f), _, _) => Some(f.clone()),
        (_, Some(id), _) => Some(id_pattern(id).ok_or_else(|| {
            anyhow::anyhow!("--request-id `{id}`: a request id has no quotes or backslashes")
        })?),
        (_, _, Some(job)) => {
            anyhow::ensure!(
                codegen_contract::is_job_id(job),
                "--job `{job}`: a job id is 32 lowercase hex digits (the `job_id` of the submission)"
            );
            id_pattern(job)
        }
        _ => None,
    };
    let cfg = codegen_infra::load_stage(root, &args.stage.stage)?;
    let clients = crate::aws::try_connect(&cfg, &args.connect.options()).await?;
    let query = StackQuery {
        sources: args.functions,
        pattern,
        start_ms: now_ms().saturating_sub(since),
    };
    let mut stdout = std::io::stdout();
    print_stack_events(&clients, &cfg.stack_name, &query, args.follow, &mut stdout).await?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::Client;
    use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn event(stream: &str, timestamp: i64, message: &str) -> LogEvent {
        LogEvent {
            stream: stream.to_owned(),
            timestamp,
            ingestion_time: timestamp + 5,
            message: message.to_owned(),
        }
    }

    fn sdk_event(e: &LogEvent) -> FilteredLogEvent {
        // No event id: ministack omits it.
        FilteredLogEvent::builder()
            .log_stream_name(&e.stream)
            .timestamp(e.timestamp)
            .ingestion_time(e.ingestion_time)
            .message(&e.message)
            .build()
    }

    fn lines(out: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn sources_merge_in_time_order_with_their_names() {
        let merged = merge(vec![
            (
                "submit".to_owned(),
                vec![event("a", 10, "accepted\n"), event("a", 40, "done\n")],
            ),
            ("worker".to_owned(), vec![event("b", 20, "started\n")]),
            ("status".to_owned(), vec![event("c", 40, "read\n")]),
        ]);
        let lines: Vec<String> = merged.iter().map(format_line).collect();
        assert_eq!(
            lines,
            [
                "1970-01-01T00:00:00.010Z submit accepted",
                "1970-01-01T00:00:00.020Z worker started",
                "1970-01-01T00:00:00.040Z submit done",
                "1970-01-01T00:00:00.040Z status read",
            ]
        );
    }

    #[test]
    fn ids_become_quoted_terms_and_bad_ones_are_refused() {
        assert_eq!(id_pattern("abc-1").as_deref(), Some("\"abc-1\""));
        assert_eq!(id_pattern("a\"b"), None);
        assert_eq!(id_pattern("a\\b"), None);
        assert_eq!(id_pattern(""), None);
    }

    #[test]
    fn unknown_sources_are_refused_with_the_known_ones() {
        let groups = vec![
            StackLogGroup {
                name: "/aws/lambda/x-generator".to_owned(),
                short: "sync".to_owned(),
            },
            StackLogGroup {
                name: "/aws/apigateway/x".to_owned(),
                short: "api".to_owned(),
            },
        ];
        let picked = select_groups(groups.clone(), &["api".to_owned()]).expect("known");
        assert_eq!(picked, [groups[1].clone()]);
        let err = select_groups(groups, &["wroker".to_owned()]).expect_err("unknown");
        assert!(err.to_string().contains("sync, api"), "{err}");
    }

    #[tokio::test]
    async fn every_group_is_read_with_the_pattern_and_merged() {
        let cfn = crate::functions::tests::cfn_listing("codegen-local");
        let sync = mock!(Client::filter_log_events)
            .match_requests(|r| {
                r.log_group_name() == Some("/aws/lambda/codegen-local-generator")
                    && r.filter_pattern() == Some("\"j1\"")
            })
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(sdk_event(&event("s", 30, "sync j1")))
                    .build()
            });
        let worker = mock!(Client::filter_log_events)
            .match_requests(|r| {
                r.log_group_name() == Some("/aws/lambda/codegen-local-jobs-worker")
                    && r.filter_pattern() == Some("\"j1\"")
            })
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(sdk_event(&event("w", 20, "worker j1")))
                    .build()
            });
        let api = mock!(Client::filter_log_events)
            .match_requests(|r| r.log_group_name() == Some("/aws/apigateway/codegen-local"))
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(sdk_event(&event("a", 10, "api j1")))
                    .build()
            });
        let logs = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            [&sync, &worker, &api]
        );
        let resources = crate::functions::list_resources(&cfn, "codegen-local")
            .await
            .expect("listed");
        let mut reader = StackReader::new(
            &logs,
            crate::functions::log_groups_of(&resources),
            0,
            id_pattern("j1"),
        );
        let lines: Vec<String> = reader
            .read_new()
            .await
            .expect("read")
            .iter()
            .map(format_line)
            .collect();
        assert_eq!(
            lines,
            [
                "1970-01-01T00:00:00.010Z api    api j1",
                "1970-01-01T00:00:00.020Z worker worker j1",
                "1970-01-01T00:00:00.030Z sync   sync j1",
            ]
        );
        assert!(
            reader.read_new().await.expect("again").is_empty(),
            "nothing twice"
        );
    }

    #[test]
    fn since_units() {
        assert_eq!(parse_since("30s"), Some(30_000));
        assert_eq!(parse_since("10m"), Some(600_000));
        assert_eq!(parse_since("2h"), Some(7_200_000));
        assert_eq!(parse_since("1d"), Some(86_400_000));
        assert_eq!(parse_since("0s"), Some(0));
    }

    #[test]
    fn since_rejects_without_panicking() {
        for text in [
            "", "5", "x", "m", "10é", "é", "10mé", "-5m", "+5m", "1.5h", " 5m", "5 m", "10M",
        ] {
            assert_eq!(parse_since(text), None, "{text:?}");
        }
        // Spans that do not fit in i64 milliseconds.
        assert_eq!(parse_since("9223372036854775807s"), None);
        assert_eq!(parse_since("99999999999999999999d"), None);
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(1_796_189_980_123),
            "2026-12-02T05:39:40.123Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_timestamp(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn an_event_is_its_timestamp_and_message() {
        let e = event(
            "s",
            1_796_189_980_123,
            "START RequestId: r1 Version: $LATEST\n",
        );
        assert_eq!(
            format_event(&e),
            "2026-12-02T05:39:40.123Z START RequestId: r1 Version: $LATEST"
        );
    }

    #[test]
    fn a_first_read_prints_everything_identical_events_included() {
        let mut cursor = Cursor::new(1_000);
        let read = vec![
            event("a", 1_000, "START"),
            event("a", 1_001, "same"),
            event("a", 1_001, "same"),
            event("b", 1_001, "same"),
            event("a", 1_002, "END"),
        ];
        assert_eq!(cursor.take_new(read.clone()), read);
    }

    #[test]
    fn events_before_the_start_are_not_printed() {
        let mut cursor = Cursor::new(1_000);
        let fresh = cursor.take_new(vec![event("a", 999, "old"), event("a", 1_000, "new")]);
        assert_eq!(fresh, [event("a", 1_000, "new")]);
    }

    #[test]
    fn rereads_print_only_what_is_new() {
        let mut cursor = Cursor::new(0);
        let first = vec![
            event("a", 100_000, "START"),
            event("a", 100_001, "same"),
            event("a", 100_001, "same"),
        ];
        assert_eq!(cursor.take_new(first.clone()).len(), 3);
        assert_eq!(cursor.start_ms(), 100_001 - LOOKBACK_MS);
        // The same span again, with a third identical line and a late-delivered earlier one.
        let mut second = first.clone();
        second.push(event("a", 100_001, "same"));
        second.push(event("b", 99_000, "late"));
        second.push(event("a", 100_002, "END"));
        assert_eq!(
            cursor.take_new(second.clone()),
            [
                event("b", 99_000, "late"),
                event("a", 100_001, "same"),
                event("a", 100_002, "END"),
            ]
        );
        assert!(cursor.take_new(second).is_empty());
    }

    #[test]
    fn the_start_moves_forward_only_and_forgets_what_it_passed() {
        let mut cursor = Cursor::new(50_000);
        cursor.take_new(vec![event("a", 50_000, "x")]);
        assert_eq!(cursor.start_ms(), 50_000);
        cursor.take_new(vec![event("a", 200_000, "y")]);
        assert_eq!(cursor.start_ms(), 200_000 - LOOKBACK_MS);
        assert_eq!(cursor.printed.len(), 1);
        assert!(cursor.take_new(Vec::new()).is_empty());
        assert_eq!(cursor.start_ms(), 200_000 - LOOKBACK_MS);
    }

    #[tokio::test]
    async fn every_page_is_read_and_events_without_ids_all_print() {
        let first = [
            event("s", 1_796_189_980_000, "START RequestId: r1\n"),
            event("s", 1_796_189_980_001, "{\"msg\":\"same\"}\n"),
        ];
        let second = [
            event("s", 1_796_189_980_001, "{\"msg\":\"same\"}\n"),
            event("s", 1_796_189_980_002, "END RequestId: r1\n"),
        ];
        let (p1, p2) = (first.clone(), second.clone());
        let page1 = mock!(Client::filter_log_events)
            .match_requests(|r| {
                r.log_group_name() == Some("/g")
                    && r.start_time() == Some(5)
                    && r.next_token().is_none()
            })
            .then_output(move || {
                FilterLogEventsOutput::builder()
                    .set_events(Some(p1.iter().map(sdk_event).collect()))
                    .next_token("t1")
                    .build()
            });
        let page2 = mock!(Client::filter_log_events)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(move || {
                FilterLogEventsOutput::builder()
                    .set_events(Some(p2.iter().map(sdk_event).collect()))
                    .build()
            });
        let logs = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&page1, &page2]
        );
        let mut out = Vec::new();
        let n = print_events(&logs, "/g", 5, false, &mut out)
            .await
            .expect("read");
        assert_eq!(n, 4);
        assert_eq!(
            lines(&out),
            [
                "2026-12-02T05:39:40.000Z START RequestId: r1",
                "2026-12-02T05:39:40.001Z {\"msg\":\"same\"}",
                "2026-12-02T05:39:40.001Z {\"msg\":\"same\"}",
                "2026-12-02T05:39:40.002Z END RequestId: r1",
            ]
        );
    }

    #[tokio::test]
    async fn a_second_read_prints_later_events_once() {
        let old = event("s", 1_796_189_980_000, "START RequestId: r1\n");
        let new = event("s", 1_796_189_981_000, "START RequestId: r2\n");
        let (o1, o2, n2) = (old.clone(), old.clone(), new.clone());
        let read1 = mock!(Client::filter_log_events)
            .match_requests(|r| r.start_time() == Some(0))
            .then_output(move || {
                FilterLogEventsOutput::builder()
                    .events(sdk_event(&o1))
                    .build()
            });
        let read2 = mock!(Client::filter_log_events)
            .match_requests(|r| r.start_time() == Some(1_796_189_980_000 - LOOKBACK_MS))
            .then_output(move || {
                FilterLogEventsOutput::builder()
                    .events(sdk_event(&o2))
                    .events(sdk_event(&n2))
                    .build()
            });
        let logs = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&read1, &read2]
        );
        let mut cursor = Cursor::new(0);
        let (mut out1, mut out2) = (Vec::new(), Vec::new());
        assert_eq!(
            read_new(&logs, "/g", &mut cursor, &mut out1)
                .await
                .expect("first read"),
            1
        );
        assert_eq!(
            read_new(&logs, "/g", &mut cursor, &mut out2)
                .await
                .expect("second read"),
            1
        );
        assert_eq!(lines(&out1), [format_event(&old)]);
        assert_eq!(lines(&out2), [format_event(&new)]);
    }
}
