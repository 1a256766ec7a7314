//! `logs` end to end against ministack: deploy, call the API, and read the function's log group
//! with the code `cargo xtask logs` runs (`xtask::logs`): every event of the request appears,
//! once, with a readable UTC timestamp; following the group across a second request prints that
//! request's events exactly once and none of the first's again. Then destroy, and nothing is left.
//!
//! The stack has its own name (`DeployOptions::stack_name_override`), so nothing here can be
//! mistaken for another suite's `codegen-local`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use codegen_infra::stack::outputs as out;
use e2e_tests::{Emulator, default_package, leftovers, note, report, request, root};
use xtask::deploy::{DeployOptions, DeployOutcome, DeployReport};
use xtask::destroy::{DestroyOptions, DestroyOutcome};
use xtask::logs::Cursor;
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-logs-e2e";

/// Log delivery may lag the response: read again up to this many times, this far apart.
const READ_ATTEMPTS: usize = 20;
const READ_PAUSE: Duration = Duration::from_millis(250);

async fn deploy(em: &Emulator, package: &std::path::Path) -> anyhow::Result<DeployReport> {
    let opts = DeployOptions {
        stage: "local".into(),
        yes: true,
        package: Some(package.to_path_buf()),
        stack_name_override: Some(STACK.into()),
        connect: em.connect_options(),
        ..DeployOptions::default()
    };
    match xtask::deploy::deploy(&root(), &opts).await? {
        DeployOutcome::Done(r) => Ok(*r),
        DeployOutcome::NeedsApproval { reason, .. } => {
            anyhow::bail!("unexpected approval request: {reason}")
        }
    }
}

async fn destroy(em: &Emulator) -> anyhow::Result<xtask::destroy::DestroyResult> {
    let opts = DestroyOptions {
        stage: "local".into(),
        yes: true,
        all: true,
        connect: em.connect_options(),
        stack_name_override: Some(STACK.into()),
        stage_config: None,
        production: false,
    };
    match xtask::destroy::destroy(&root(), &opts).await? {
        DestroyOutcome::Done(r) => Ok(r.result),
        DestroyOutcome::NeedsApproval(reason) => {
            anyhow::bail!("unexpected approval request: {reason}")
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Reads `group` from `cursor` as `logs --follow` does, appending to `out`, until `done` holds
/// for everything read so far (or the attempts run out). Returns the lines read.
async fn read_until(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    cursor: &mut Cursor,
    done: impl Fn(&[String]) -> bool,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for _ in 0..READ_ATTEMPTS {
        xtask::logs::read_new(logs, group, cursor, &mut out).await?;
        if done(&lines(&out)) {
            break;
        }
        tokio::time::sleep(READ_PAUSE).await;
    }
    Ok(lines(&out))
}

/// `2026-12-02T05:39:40.123Z ` at the start of the line.
fn has_readable_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 25
        && b.iter().take(24).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && b[24] == b' '
        && line.starts_with("20")
}

/// The message part of a line (after the timestamp).
fn message(line: &str) -> &str {
    line.get(25..).unwrap_or_default()
}

fn count(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines.iter().filter(|l| pred(message(l))).count()
}

/// The request id of the single `START RequestId: <id> ...` line.
fn request_id(lines: &[String]) -> Option<String> {
    let mut ids = lines.iter().filter_map(|l| {
        message(l)
            .strip_prefix("START RequestId: ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    });
    let id = ids.next()?;
    ids.next().is_none().then_some(id)
}

/// One START, END and REPORT line, all of the same request, and one "code generated" line.
fn assert_one_request(what: &str, lines: &[String]) -> String {
    let id = request_id(lines).unwrap_or_else(|| panic!("{what}: one START line: {lines:#?}"));
    for prefix in ["START", "END", "REPORT"] {
        let tagged = format!("{prefix} RequestId: {id}");
        assert_eq!(
            count(lines, |m| m.starts_with(&tagged)),
            1,
            "{what}: one `{tagged}`: {lines:#?}"
        );
        assert_eq!(
            count(lines, |m| m.starts_with(&format!("{prefix} RequestId: "))),
            1,
            "{what}: no other {prefix} line: {lines:#?}"
        );
    }
    assert_eq!(
        count(lines, |m| m.starts_with('{')
            && m.contains("code generated")),
        1,
        "{what}: one `code generated` JSON line: {lines:#?}"
    );
    for line in lines {
        assert!(
            has_readable_timestamp(line),
            "{what}: timestamp in {line:?}"
        );
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_prints_every_event_once_and_follows() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let auth = codegen_infra::load_stage(&root(), "local")?.api.auth;

    let started_ms = now_ms();
    let t = Instant::now();
    let deployed = deploy(&em, &package).await?;
    report("deploy", t);
    assert_eq!(deployed.stack, STACK);
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let group = deployed.outputs[out::LOG_GROUP].clone();
    assert!(group.contains(STACK), "log group {group} follows the stack");

    // First request, then read the group once it holds the whole request.
    let t = Instant::now();
    let first =
        xtask::invoke::invoke(&admin, auth, &url, &request("reverse a string", "rust")).await?;
    report("invoke 1", t);
    xtask::invoke::expect_success(&first)?;
    let mut cursor = Cursor::new(started_ms);
    let t = Instant::now();
    let read1 = read_until(&admin.logs, &group, &mut cursor, |lines| {
        count(lines, |m| m.starts_with("REPORT RequestId: ")) > 0
            && count(lines, |m| m.contains("code generated")) > 0
            && count(lines, |m| m.contains("cold start")) > 0
    })
    .await?;
    report("log delivery 1", t);
    note(&format!("read 1: {} lines", read1.len()));
    for line in &read1 {
        note(&format!("  {line}"));
    }
    let id1 = assert_one_request("read 1", &read1);
    assert_eq!(
        count(&read1, |m| m.starts_with('{') && m.contains("cold start")),
        1,
        "read 1: one `cold start` JSON line: {read1:#?}"
    );
    assert!(
        read1.len() >= 6,
        "START, JSON lines, END, REPORT: {read1:#?}"
    );

    // Second request; reading on from the cursor prints its events once and the first's never.
    let t = Instant::now();
    let second =
        xtask::invoke::invoke(&admin, auth, &url, &request("sum a list", "python")).await?;
    report("invoke 2", t);
    xtask::invoke::expect_success(&second)?;
    let t = Instant::now();
    let read2 = read_until(&admin.logs, &group, &mut cursor, |lines| {
        count(lines, |m| m.starts_with("REPORT RequestId: ")) > 0
    })
    .await?;
    report("log delivery 2", t);
    note(&format!("read 2: {} lines", read2.len()));
    for line in &read2 {
        note(&format!("  {line}"));
    }
    let id2 = assert_one_request("read 2", &read2);
    assert_ne!(id1, id2);
    let earlier: HashSet<&String> = read1.iter().collect();
    let repeated: Vec<&String> = read2.iter().filter(|l| earlier.contains(l)).collect();
    assert!(repeated.is_empty(), "read 2 repeated: {repeated:#?}");
    assert!(
        !read2.iter().any(|l| l.contains(&id1)),
        "read 2 mentions the first request: {read2:#?}"
    );

    // Nothing new: a third read prints nothing.
    let mut out3 = Vec::new();
    let n = xtask::logs::read_new(&admin.logs, &group, &mut cursor, &mut out3).await?;
    assert_eq!(n, 0, "read 3: {:#?}", lines(&out3));

    // What `cargo xtask logs` prints (no --follow): both requests, each line once.
    let mut all = Vec::new();
    let n = xtask::logs::print_events(&admin.logs, &group, started_ms, false, &mut all).await?;
    let mut all = lines(&all);
    assert_eq!(n, all.len());
    let mut both: Vec<String> = read1.iter().chain(&read2).cloned().collect();
    all.sort();
    both.sort();
    assert_eq!(
        all, both,
        "one read from the start prints what the follow reads did"
    );

    let t = Instant::now();
    let result = destroy(&em).await?;
    report("destroy", t);
    note(&format!("destroy: {result}"));
    let left = leftovers(&admin, STACK).await?;
    assert!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}
