//! `usage`: per caller, today's (UTC) tokens, spend and remaining budget, read from the stage's
//! budget table (`<stack>-quotas`, `infra/src/quotas.rs`) with the operator's credentials:
//! `dynamodb:Scan` (every caller) or `dynamodb:GetItem` (`--caller`) on that table. Read-only.
//! Budgets and overrides are the stage file's; changing one is a stage-file change deployed like
//! any other (docs/cost.md, "Changing a caller's budget").

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use clap::Args;
use codegen_contract::cost::format_usd;
use codegen_contract::quota::{self, DAY_ATTR, KEY_ATTR, PRINCIPAL_ATTR, TOKENS_ATTR, USED_ATTR};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::try_connect;
use crate::report::{Exit, json, progress, result};

/// Arguments of `usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    #[command(flatten)]
    target: crate::args::StageCommand,
    /// One caller only, by its principal key (`user:<account>:<AIDA…>`, `role:<account>:<AROA…>`;
    /// docs/principals.md).
    #[arg(long)]
    caller: Option<String>,
}

/// One caller's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerUsage {
    /// Principal key.
    pub caller: String,
    /// The UTC day (`YYYY-MM-DD`).
    pub day: String,
    /// Tokens of the day's settled model calls.
    pub tokens: u64,
    /// Micro-dollars used: settled spend plus reservations of requests in flight.
    pub used_micro_usd: u64,
    /// The caller's daily budget (its override, or the stage's default).
    pub budget_micro_usd: u64,
    /// What is left today.
    pub remaining_micro_usd: u64,
}

fn number(item: &HashMap<String, AttributeValue>, attr: &str) -> u64 {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0, |v| u64::try_from(v).unwrap_or(0))
}

/// Builds a caller's row from its day item and the stage's budgets.
pub fn row(
    caller: &str,
    day: &str,
    item: Option<&HashMap<String, AttributeValue>>,
    quotas: &codegen_infra::quotas::QuotasConfig,
) -> CallerUsage {
    let budget = quotas
        .overrides
        .iter()
        .find(|(k, _)| k == caller)
        .map_or(quotas.daily_micro_usd, |(_, v)| *v);
    let used = item.map_or(0, |i| number(i, USED_ATTR));
    CallerUsage {
        caller: caller.to_owned(),
        day: day.to_owned(),
        tokens: item.map_or(0, |i| number(i, TOKENS_ATTR)),
        used_micro_usd: used,
        budget_micro_usd: budget,
        remaining_micro_usd: budget.saturating_sub(used),
    }
}

/// Reads today's (UTC, at `now`) usage from the stage's budget table: every caller's, or
/// `caller`'s only; highest spend first.
pub async fn read(
    ddb: &aws_sdk_dynamodb::Client,
    cfg: &codegen_infra::StageConfig,
    caller: Option<&str>,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<CallerUsage>> {
    let quotas = cfg.quotas.clone().with_context(|| {
        format!(
            "stage {} has no `quotas` section: it has no budgets (docs/cost.md)",
            cfg.name
        )
    })?;
    let table = cfg.quota_table_name();
    let today = quota::today(now);
    let day = quota::day_string(today);
    let mut rows = Vec::new();
    if let Some(caller) = caller {
        caller
            .parse::<codegen_contract::Principal>()
            .map_err(|e| anyhow::anyhow!("--caller {caller} is not a principal key: {e}"))?;
        let out = ddb
            .get_item()
            .table_name(&table)
            .key(KEY_ATTR, AttributeValue::S(quota::day_key(caller, today)))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("failed to read {caller}'s usage from {table}"))?;
        rows.push(row(caller, &day, out.item(), &quotas));
    } else {
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = ddb
                .scan()
                .table_name(&table)
                .filter_expression("#day = :day")
                .expression_attribute_names("#day", DAY_ATTR)
                .expression_attribute_values(":day", AttributeValue::S(day.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .with_context(|| format!("failed to scan {table}"))?;
            for item in out.items() {
                if let Some(caller) = item.get(PRINCIPAL_ATTR).and_then(|v| v.as_s().ok()) {
                    rows.push(row(caller, &day, Some(item), &quotas));
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.used_micro_usd));
    }
    Ok(rows)
}

/// Runs `cargo xtask usage`.
pub async fn command(root: &std::path::Path, args: UsageArgs) -> anyhow::Result<Exit> {
    let cfg = codegen_infra::load_stage(root, &args.target.stage)?;
    let clients = try_connect(&cfg, &args.target.connect.options()).await?;
    let ddb = aws_sdk_dynamodb::Client::new(&clients.sdk);
    let now = OffsetDateTime::now_utc();
    let rows = read(&ddb, &cfg, args.caller.as_deref(), now).await?;
    let day = quota::day_string(quota::today(now));
    if args.target.json {
        json(&rows)?;
    } else {
        if rows.is_empty() {
            progress(format!("no caller has used the API today ({day} UTC)"));
        }
        for r in &rows {
            result(format!(
                "{}  {}  tokens {}  spent ${}  budget ${}  remaining ${}",
                r.day,
                r.caller,
                r.tokens,
                format_usd(r.used_micro_usd),
                format_usd(r.budget_micro_usd),
                format_usd(r.remaining_micro_usd)
            ));
        }
        progress(
            "budgets and overrides are the stage file's `quotas` section: change them there and \
             deploy (docs/cost.md)",
        );
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_uses_the_override_and_never_goes_negative() {
        let quotas = codegen_infra::quotas::QuotasConfig {
            daily_micro_usd: 1_000_000,
            request_max_micro_usd: None,
            max_jobs_per_caller: None,
            overrides: vec![("anonymous".to_owned(), 50)],
        };
        let item = HashMap::from([
            (USED_ATTR.to_owned(), AttributeValue::N("120".into())),
            (TOKENS_ATTR.to_owned(), AttributeValue::N("900".into())),
        ]);
        let r = row("anonymous", "2026-12-07", Some(&item), &quotas);
        assert_eq!(
            (
                r.tokens,
                r.used_micro_usd,
                r.budget_micro_usd,
                r.remaining_micro_usd
            ),
            (900, 120, 50, 0)
        );
        let r = row("root:123456789012", "2026-12-07", None, &quotas);
        assert_eq!(r.remaining_micro_usd, 1_000_000);
    }
}
