//! `logs`: the function's log events from its stack-owned log group, optionally followed.

use std::time::Duration;

use anyhow::Context;

use crate::aws::Clients;
use crate::report::result;

/// Prints events of `group` since `start_ms`; with `follow`, keeps polling every 2 s until
/// interrupted. Returns the number of events printed.
pub async fn print_events(
    clients: &Clients,
    group: &str,
    start_ms: i64,
    follow: bool,
) -> anyhow::Result<usize> {
    let mut printed = 0;
    let mut since = start_ms;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut token: Option<String> = None;
        loop {
            let page = clients
                .logs
                .filter_log_events()
                .log_group_name(group)
                .start_time(since)
                .set_next_token(token.clone())
                .send()
                .await
                .with_context(|| format!("failed to read log group {group}"))?;
            for e in page.events() {
                if !seen.insert(e.event_id().unwrap_or_default().to_owned()) {
                    continue;
                }
                let ts = e.timestamp().unwrap_or_default();
                since = since.max(ts);
                result(format!(
                    "{ts} {}",
                    e.message().unwrap_or_default().trim_end()
                ));
                printed += 1;
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if !follow {
            return Ok(printed);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(printed),
        }
    }
}

/// Parses `10m`, `2h`, `30s`, `1d` into milliseconds.
pub fn parse_since(text: &str) -> Option<i64> {
    let (num, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    Some(secs * 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_units() {
        assert_eq!(super::parse_since("10m"), Some(600_000));
        assert_eq!(super::parse_since("2h"), Some(7_200_000));
        assert_eq!(super::parse_since("x"), None);
        assert_eq!(super::parse_since(""), None);
    }
}
