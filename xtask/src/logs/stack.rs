//! The whole stack's logs: which groups (`select_groups`, from the stack's own resources), one
//! filter pattern for a request or job id (`id_pattern`), reading every group in parallel and
//! merging their events in time order, each line prefixed with its source (`merge`,
//! `format_line`), printed once or followed ([`print_stack_events`], [`tail_for_watch`]).

use std::io::Write;

use anyhow::Context;

use super::POLL_INTERVAL;
use super::group::{Cursor, LogEvent, format_timestamp, read_from};
use crate::functions::{self, StackLogGroup};

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

#[cfg(test)]
mod tests {
    use super::super::group::tests::{event, sdk_event};
    use super::*;
    use aws_sdk_cloudwatchlogs::Client;
    use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

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
}
