//! Budgets per caller: what the stack and the function must agree on (environment variables, the
//! budget table's key and attribute names), and the pure arithmetic of a budget (the key of a
//! caller's day, the reset, the upper bound a request reserves, the condition's limit). No IO:
//! the DynamoDB shell is the function's `budget` module.
//!
//! # The design, in one place
//!
//! - A budget is in **USD micro-dollars** per caller per UTC day: token counts do not compare
//!   across models and token classes (an Opus output token costs 100 Haiku 5.5 input tokens),
//!   money does, and it is what the bill says.
//! - One item per caller per day, key `<principal key>#<YYYY-MM-DD>`, one counter `used` =
//!   settled + reserved. DynamoDB condition expressions compare but cannot add, so the limit a
//!   reservation may start from is computed here (`limit - reserve`) and the reservation is one
//!   `UpdateItem`: `ADD used :r` under `attribute_not_exists(used) OR used <= :start_max`. The
//!   check and the write are one atomic operation on the item, whatever the number of function
//!   instances; settling is an unconditional `ADD used :delta` (negative when the call cost less
//!   than its reservation). So a caller's `used` can pass its limit only by what calls already
//!   reserved were allowed to start with: at most one request's reservation over, never more.
//! - Old days expire by TTL ([`EXPIRES_AT_ATTR`], epoch seconds, [`KEEP_DAYS`] after the day
//!   ends); DynamoDB deletes expired items "typically within two days", and `cargo xtask usage`
//!   reads today's key only, so a late deletion changes nothing.

use time::{Date, OffsetDateTime, Time};

/// Environment variables the stack sets on every function when the stage has a `quotas` section
/// (none of them set: no budgets).
pub mod env {
    /// The budget table's name.
    pub const TABLE: &str = "CODEGEN_QUOTA_TABLE";
    /// The default budget per caller per UTC day, in micro-dollars.
    pub const DAILY_MICRO_USD: &str = "CODEGEN_QUOTA_DAILY_MICRO_USD";
    /// The most one request may reserve, in micro-dollars (unset: no ceiling).
    pub const REQUEST_MAX_MICRO_USD: &str = "CODEGEN_QUOTA_REQUEST_MAX_MICRO_USD";
    /// Overrides per principal: `<principal key>=<micro-dollars>` separated by `;`.
    pub const OVERRIDES: &str = "CODEGEN_QUOTA_OVERRIDES";
    /// The most jobs one caller may have queued or running at once (unset: no cap).
    pub const MAX_JOBS_PER_CALLER: &str = "CODEGEN_QUOTA_MAX_JOBS_PER_CALLER";

    /// Every quota variable.
    pub const ALL: [&str; 5] = [
        TABLE,
        DAILY_MICRO_USD,
        REQUEST_MAX_MICRO_USD,
        OVERRIDES,
        MAX_JOBS_PER_CALLER,
    ];
}

/// The table's partition key (a string).
pub const KEY_ATTR: &str = "pk";
/// The day's counter: settled plus reserved micro-dollars (a number).
pub const USED_ATTR: &str = "used";
/// The caller's principal key, for `cargo xtask usage` (a string).
pub const PRINCIPAL_ATTR: &str = "principal";
/// The UTC day, `YYYY-MM-DD` (a string).
pub const DAY_ATTR: &str = "day";
/// The day's settled tokens (input plus output, every call; a number), for `cargo xtask usage`.
pub const TOKENS_ATTR: &str = "tokens";
/// The caller's jobs queued or running (a number; on the caller's jobs item).
pub const JOBS_ATTR: &str = "jobs";
/// The TTL attribute: epoch seconds after which DynamoDB may delete the item.
pub const EXPIRES_AT_ATTR: &str = "expires_at";
/// Days an item is kept after its day ends.
pub const KEEP_DAYS: i64 = 3;

/// The key of a caller's day.
pub fn day_key(principal_key: &str, day: Date) -> String {
    format!("{principal_key}#{}", day_string(day))
}

/// The key of a caller's jobs counter (not per day: a job outlives midnight).
pub fn jobs_key(principal_key: &str) -> String {
    format!("{principal_key}#jobs")
}

/// `YYYY-MM-DD`.
pub fn day_string(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// Seconds from `now` to the next UTC midnight (at least 1): the `Retry-After` of a caller over
/// budget.
pub fn seconds_to_reset(now: OffsetDateTime) -> u64 {
    let now = now.to_offset(time::UtcOffset::UTC);
    let next = next_midnight(now.date());
    u64::try_from((next - now.unix_timestamp()).max(1)).unwrap_or(1)
}

/// The TTL of a day's item: [`KEEP_DAYS`] after the day ends.
pub fn expires_at(day: Date) -> i64 {
    next_midnight(day) + KEEP_DAYS * 86_400
}

fn next_midnight(day: Date) -> i64 {
    day.midnight().assume_utc().unix_timestamp() + 86_400
}

/// The stage's budgets, as the function reads them from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Micro-dollars per caller per UTC day.
    pub daily: u64,
    /// The most one request may reserve.
    pub request_max: Option<u64>,
    /// Per principal key, its own daily budget.
    pub overrides: Vec<(String, u64)>,
    /// Jobs queued or running per caller.
    pub max_jobs_per_caller: Option<u32>,
}

impl Limits {
    /// The daily budget of a caller.
    pub fn daily_for(&self, principal_key: &str) -> u64 {
        self.overrides
            .iter()
            .find(|(k, _)| k == principal_key)
            .map_or(self.daily, |(_, v)| *v)
    }
}

/// Parses [`env::OVERRIDES`]: `<principal key>=<micro-dollars>;...` (empty: none).
pub fn parse_overrides(s: &str) -> Result<Vec<(String, u64)>, String> {
    s.split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair
                .rsplit_once('=')
                .ok_or_else(|| format!("`{pair}` is not `<principal>=<micro-dollars>`"))?;
            let micro = value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("`{value}` is not a number of micro-dollars"))?;
            key.trim()
                .parse::<crate::Principal>()
                .map_err(|e| format!("`{key}` is not a principal key: {e}"))?;
            Ok((key.trim().to_owned(), micro))
        })
        .collect()
}

/// Writes overrides in the [`env::OVERRIDES`] form.
pub fn format_overrides(overrides: &[(String, u64)]) -> String {
    overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Bytes the prompt adds around the caller's message (system prompt, instructions, the
/// language's name) at most; a test checks the function's prompt stays under it.
pub const PROMPT_OVERHEAD_BYTES: u32 = 4096;
/// Bytes a repair call adds to the first prompt besides the first answer: the parser's
/// diagnostics (at most [`crate::MAX_SYNTAX_ERRORS`] lines) and the instruction.
pub const REPAIR_OVERHEAD_BYTES: u32 = 4096;

/// What a request can cost at most, and so what it reserves: the input bounded by its size in
/// bytes (a Claude token covers at least one byte of UTF-8 text, so tokens <= bytes), the output
/// by `max_tokens` (the answer's budget plus the route's thinking reservation, which is what is
/// sent as `maxTokens`), and, when the stage allows a repair, a second call whose prompt holds
/// the first prompt, the first answer (at most `max_tokens` tokens) and the diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBound {
    /// Bytes of the caller's message.
    pub message_bytes: u32,
    /// `maxTokens` as sent.
    pub max_tokens: u32,
    /// Whether a repair call can happen.
    pub repair: bool,
}

impl RequestBound {
    /// Input tokens of the first call, at most.
    pub fn first_input_tokens(&self) -> u32 {
        self.message_bytes.saturating_add(PROMPT_OVERHEAD_BYTES)
    }

    /// Input tokens of the repair call, at most.
    pub fn repair_input_tokens(&self) -> u32 {
        self.first_input_tokens()
            .saturating_add(self.max_tokens)
            .saturating_add(REPAIR_OVERHEAD_BYTES)
    }

    /// The micro-dollars to reserve for `model_id`; `None` when the model has no price.
    pub fn micro_usd(&self, model_id: &str) -> Option<u64> {
        let first = crate::cost::upper_bound(model_id, self.first_input_tokens(), self.max_tokens)?;
        if !self.repair {
            return Some(first);
        }
        let repair =
            crate::cost::upper_bound(model_id, self.repair_input_tokens(), self.max_tokens)?;
        Some(first.saturating_add(repair))
    }
}

/// The largest `used` a reservation of `reserve` may start from under `limit`; `None`: the
/// reservation alone is over the limit, so it can never fit.
pub fn start_max(limit: u64, reserve: u64) -> Option<u64> {
    limit.checked_sub(reserve)
}

/// What settling a reservation adds to `used`: the actual cost minus the reservation (negative
/// when the call cost less).
pub fn settle_delta(reserved: u64, actual: u64) -> i64 {
    let r = i64::try_from(reserved).unwrap_or(i64::MAX);
    let a = i64::try_from(actual).unwrap_or(i64::MAX);
    a - r
}

/// Micro-dollars as USD for messages: two decimals, or more when needed (`0.05`, `0.0125`).
pub fn format_usd_short(micro_usd: u64) -> String {
    let full = crate::cost::format_usd(micro_usd);
    let trimmed = full.trim_end_matches('0');
    match trimmed.split_once('.') {
        Some((_, decimals)) if decimals.len() < 2 => format!(
            "{}.{:02}",
            micro_usd / 1_000_000,
            (micro_usd % 1_000_000) / 10_000
        ),
        _ => trimmed.to_owned(),
    }
}

/// Today's UTC date.
pub fn today(now: OffsetDateTime) -> Date {
    now.to_offset(time::UtcOffset::UTC).date()
}

/// Midnight UTC of `day` as an [`OffsetDateTime`].
pub fn midnight(day: Date) -> OffsetDateTime {
    day.with_time(Time::MIDNIGHT).assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn keys_days_and_reset() {
        assert_eq!(
            day_key("user:123456789012:AIDAEXAMPLE", date!(2026 - 12 - 07)),
            "user:123456789012:AIDAEXAMPLE#2026-12-07"
        );
        assert_eq!(jobs_key("anonymous"), "anonymous#jobs");
        assert_eq!(seconds_to_reset(datetime!(2026-12-07 23:59:30 UTC)), 30);
        assert_eq!(seconds_to_reset(datetime!(2026-12-07 00:00:00 UTC)), 86_400);
        // Another offset is the same instant.
        assert_eq!(seconds_to_reset(datetime!(2026-12-08 01:59:30 +2)), 30);
        // 2026-12-08T00:00Z is 1_796_688_000; plus three days.
        assert_eq!(
            expires_at(date!(2026 - 12 - 07)),
            1_796_688_000 + 3 * 86_400
        );
    }

    #[test]
    fn overrides_round_trip_and_refuse_what_is_not_a_principal() {
        let o = vec![
            ("user:123456789012:AIDAEXAMPLE1".to_owned(), 5_000_000),
            ("anonymous".to_owned(), 1),
        ];
        assert_eq!(parse_overrides(&format_overrides(&o)), Ok(o.clone()));
        assert_eq!(parse_overrides(""), Ok(vec![]));
        assert!(parse_overrides("bob=12").is_err());
        assert!(parse_overrides("anonymous=lots").is_err());
        let limits = Limits {
            daily: 100,
            request_max: None,
            overrides: o,
            max_jobs_per_caller: None,
        };
        assert_eq!(limits.daily_for("anonymous"), 1);
        assert_eq!(limits.daily_for("root:123456789012"), 100);
    }

    #[test]
    fn the_bound_covers_input_output_and_a_repair() {
        let b = RequestBound {
            message_bytes: 1000,
            max_tokens: 2048,
            repair: false,
        };
        // Sonnet 4.6, us profile ($3.30 / $16.50 per MTok): (1000 + 4096) × 3.30 = 16_816.8;
        // 2048 × 16.50 = 33_792; 50_608.8 → 50_609 µ$ (worked by hand).
        assert_eq!(b.micro_usd("us.anthropic.claude-sonnet-4-6"), Some(50_609));
        // With a repair: a second call of (5096 + 2048 + 4096) = 11_240 input × 3.30 =
        // 37_092, + 33_792 = 70_884 µ$; 50_609 + 70_884 = 121_493.
        let r = RequestBound { repair: true, ..b };
        assert_eq!(r.micro_usd("us.anthropic.claude-sonnet-4-6"), Some(121_493));
        assert_eq!(r.micro_usd("anthropic.claude-mystery-9"), None);
    }

    #[test]
    fn the_condition_and_the_settlement() {
        assert_eq!(start_max(1000, 300), Some(700));
        assert_eq!(start_max(1000, 1000), Some(0));
        assert_eq!(start_max(1000, 1001), None);
        assert_eq!(settle_delta(300, 120), -180);
        assert_eq!(settle_delta(300, 300), 0);
        assert_eq!(settle_delta(300, 400), 100);
        assert_eq!(format_usd_short(5_000_000), "5.00");
        assert_eq!(format_usd_short(50_000), "0.05");
        assert_eq!(format_usd_short(12_500), "0.0125");
        assert_eq!(format_usd_short(121_493), "0.121493");
    }
}
