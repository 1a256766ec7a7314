//! One log group read with a [`Cursor`]: what was printed is remembered, so a follow-up read
//! (which starts a little before the newest event, [`LOOKBACK_MS`]) prints only what is new.
//! Formatting an event (`format_timestamp`, `format_event`) and the reads (`FilterLogEvents`, every
//! page) with the writes to the given writer.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use super::POLL_INTERVAL;

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
pub(super) async fn read_from(
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::Client;
    use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    pub(in crate::logs) fn event(stream: &str, timestamp: i64, message: &str) -> LogEvent {
        LogEvent {
            stream: stream.to_owned(),
            timestamp,
            ingestion_time: timestamp + 5,
            message: message.to_owned(),
        }
    }

    pub(in crate::logs) fn sdk_event(e: &LogEvent) -> FilteredLogEvent {
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
