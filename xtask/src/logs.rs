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
//! The parts are modules: one group read with a cursor (`group`) and the whole stack merged
//! (`stack`); this module is the command. The pure parts are small functions with unit tests: parsing `--since` (`parse_since`),
//! formatting an event (`format_event`, `format_line`), telling a re-read event from a new one
//! ([`Cursor`]) and merging sources (`merge`). [`read_new`], [`print_events`] and
//! [`print_stack_events`] are the IO around them: CloudWatch Logs reads and writes to the given
//! writer (stdout for the CLI).

mod group;
mod stack;

use std::time::Duration;

use clap::Args;

use crate::report::Exit;

pub use group::{Cursor, print_events, read_new};
pub(crate) use stack::StackReader;
pub use stack::{StackQuery, id_pattern, print_stack_events, tail_for_watch};

/// How often `--follow` reads again.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

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
/// no log-read grant; see infra/src/bootstrap/).
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
}
