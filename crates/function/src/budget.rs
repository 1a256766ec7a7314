//! The budget store: one DynamoDB item per caller per UTC day, reserved before a model call and
//! settled after it, and one item per caller counting its jobs queued or running. Every write is
//! a single `UpdateItem`; the over-budget check is its condition, never a read followed by a
//! write, so any number of function instances (or tasks) share one consistent counter. The pure
//! parts (keys, bounds, the reset) are in `codegen_contract::quota`.
//!
//! DynamoDB facts relied on (checked 2026-12-07):
//! - A condition expression is evaluated against the item as it is before the write, and the
//!   write happens only if it holds, as one operation; otherwise the call fails with
//!   `ConditionalCheckFailedException` ("The conditional request failed") and nothing changes
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/example_dynamodb_Scenario_ConditionalOperations_section.md>,
//!   <https://www.repost.aws/knowledge-center/dynamodb-conditionalcheckfailedexception>).
//! - `ADD` on a number attribute adds to it, creating it (from 0) when absent; a negative value
//!   subtracts (UpdateItem's `UpdateExpression`,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html>).
//! - Condition expressions compare but do not compute, hence the client-side `limit - reserve`
//!   ([`codegen_contract::quota::start_max`]).
//! - TTL: an item whose TTL attribute (epoch seconds) is in the past is deleted "typically within
//!   two days" (UpdateTimeToLive,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html>).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use codegen_contract::quota::{
    self, EXPIRES_AT_ATTR, JOBS_ATTR, KEY_ATTR, RequestBound, USED_ATTR,
};
use codegen_contract::{ErrorCode, Principal};
use time::{Date, OffsetDateTime};
use tracing::warn;

use crate::deps::Deps;
use crate::error::ApiError;

/// Why the store could not answer: DynamoDB failed or answered something unexpected. The caller
/// answers `503` and makes no model call (a budget that cannot be checked is not spent).
#[derive(Debug, thiserror::Error)]
#[error("the budget store is unavailable: {0}")]
pub struct BudgetError(pub String);

/// The outcome of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved: settle it with [`Budgets::settle`] after the call.
    Reserved(Reserved),
    /// Over budget: no model call; `retry_after` seconds to the next UTC midnight.
    OverBudget {
        /// Seconds to the reset.
        retry_after: u64,
        /// The caller's daily budget.
        limit: u64,
    },
}

/// A reservation held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// The day's item key.
    pub key: String,
    /// Micro-dollars reserved.
    pub amount: u64,
    /// `used` after the reservation.
    pub used_after: u64,
}

/// The outcome of asking for a job slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobSlot {
    /// Taken: release it when the job ends.
    Taken,
    /// The caller is at its cap.
    Full,
}

/// The budget table, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Budgets<'a> {
    /// DynamoDB client.
    pub client: &'a Client,
    /// Table name.
    pub table: &'a str,
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn number(item: Option<&std::collections::HashMap<String, AttributeValue>>, attr: &str) -> i64 {
    item.and_then(|i| i.get(attr))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
}

impl Budgets<'_> {
    /// Reserves `amount` micro-dollars of `principal_key`'s day (`now`'s UTC date) under `limit`:
    /// one conditional `ADD`. Over budget when the reservation cannot fit.
    pub async fn reserve(
        &self,
        principal_key: &str,
        limit: u64,
        amount: u64,
        now: OffsetDateTime,
    ) -> Result<Reservation, BudgetError> {
        let over = || Reservation::OverBudget {
            retry_after: quota::seconds_to_reset(now),
            limit,
        };
        let Some(start_max) = quota::start_max(limit, amount) else {
            return Ok(over());
        };
        let day = quota::today(now);
        let key = quota::day_key(principal_key, day);
        let out = self
            .client
            .update_item()
            .table_name(self.table)
            .key(KEY_ATTR, s(&key))
            .update_expression(
                "ADD #used :amount SET #exp = :exp, #principal = :principal, #day = :day",
            )
            .condition_expression("attribute_not_exists(#used) OR #used <= :start_max")
            .expression_attribute_names("#used", USED_ATTR)
            .expression_attribute_names("#exp", EXPIRES_AT_ATTR)
            .expression_attribute_names("#principal", quota::PRINCIPAL_ATTR)
            .expression_attribute_names("#day", quota::DAY_ATTR)
            .expression_attribute_values(":amount", n(amount))
            .expression_attribute_values(":start_max", n(start_max))
            .expression_attribute_values(":exp", n(quota::expires_at(day)))
            .expression_attribute_values(":principal", s(principal_key))
            .expression_attribute_values(":day", s(quota::day_string(day)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match out {
            Ok(o) => Ok(Reservation::Reserved(Reserved {
                key,
                amount,
                used_after: u64::try_from(number(o.attributes(), USED_ATTR)).unwrap_or(0),
            })),
            Err(e) if is_condition_failed(&e) => Ok(over()),
            Err(e) => Err(BudgetError(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    /// Settles a reservation: adds `actual - reserved` to `used` and the calls' `tokens` to the
    /// day's token count (unconditionally: the call was made).
    pub async fn settle(
        &self,
        reserved: &Reserved,
        actual: u64,
        tokens: u64,
    ) -> Result<(), BudgetError> {
        let delta = quota::settle_delta(reserved.amount, actual);
        if delta == 0 && tokens == 0 {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(self.table)
            .key(KEY_ATTR, s(&reserved.key))
            .update_expression("ADD #used :delta, #tokens :tokens")
            .expression_attribute_names("#used", USED_ATTR)
            .expression_attribute_names("#tokens", quota::TOKENS_ATTR)
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":tokens", n(tokens))
            .send()
            .await
            .map_err(|e| {
                BudgetError(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(())
    }

    /// What `principal_key` has used (settled plus reserved) on `day`, 0 when nothing.
    pub async fn used(&self, principal_key: &str, day: Date) -> Result<u64, BudgetError> {
        let out = self
            .client
            .get_item()
            .table_name(self.table)
            .key(KEY_ATTR, s(quota::day_key(principal_key, day)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                BudgetError(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(u64::try_from(number(out.item(), USED_ATTR)).unwrap_or(0))
    }

    /// Takes one of `principal_key`'s `cap` job slots: one conditional `ADD`.
    pub async fn take_job_slot(
        &self,
        principal_key: &str,
        cap: u32,
    ) -> Result<JobSlot, BudgetError> {
        let out = self
            .client
            .update_item()
            .table_name(self.table)
            .key(KEY_ATTR, s(quota::jobs_key(principal_key)))
            .update_expression("ADD #jobs :one SET #principal = :principal")
            .condition_expression("attribute_not_exists(#jobs) OR #jobs < :cap")
            .expression_attribute_names("#jobs", JOBS_ATTR)
            .expression_attribute_names("#principal", quota::PRINCIPAL_ATTR)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cap", n(cap))
            .expression_attribute_values(":principal", s(principal_key))
            .send()
            .await;
        match out {
            Ok(_) => Ok(JobSlot::Taken),
            Err(e) if is_condition_failed(&e) => Ok(JobSlot::Full),
            Err(e) => Err(BudgetError(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    /// Releases a job slot (when a job ends, succeeded or failed); never below zero.
    pub async fn release_job_slot(&self, principal_key: &str) -> Result<(), BudgetError> {
        let out = self
            .client
            .update_item()
            .table_name(self.table)
            .key(KEY_ATTR, s(quota::jobs_key(principal_key)))
            .update_expression("ADD #jobs :minus_one")
            .condition_expression("#jobs > :zero")
            .expression_attribute_names("#jobs", JOBS_ATTR)
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Already at zero (a release repeated by a redelivery): nothing to release.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(BudgetError(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }
}

/// A request's reservation, held from before its model call to the settlement after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The reservation.
    pub reserved: Reserved,
    /// Whose it is.
    pub principal_key: String,
}

/// Before a model call: reserves the most `bound` can cost for `principal` on the stage's
/// budget. `Ok(None)` when the stage has no budgets. A caller over budget is
/// `429 quota_exceeded` with `Retry-After` to the next UTC midnight; a request whose maximum is
/// over the stage's per-request ceiling is `400 invalid_parameter`; a store that cannot answer is
/// `503 budget_unavailable`. In every error case no model call may follow.
pub async fn admit(
    deps: &Deps<'_>,
    principal: &Principal,
    bound: RequestBound,
    now: OffsetDateTime,
) -> Result<Option<Held>, ApiError> {
    let (Some(quotas), Some(client)) = (&deps.config.quotas, deps.dynamodb) else {
        return Ok(None);
    };
    let model_id = deps.config.model_id.as_str();
    let Some(amount) = bound.micro_usd(model_id) else {
        return Err(ApiError::new(
            ErrorCode::Internal,
            format!(
                "the stage has budgets but the catalogue has no price for {model_id}, so no \
                 request can be reserved"
            ),
        ));
    };
    if let Some(ceiling) = quotas.limits.request_max
        && amount > ceiling
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!(
                "this request may cost up to ${} (its message, max_tokens and a repair), over \
                 the stage's per-request ceiling of ${}: lower max_tokens or shorten the message",
                quota::format_usd_short(amount),
                quota::format_usd_short(ceiling)
            ),
        ));
    }
    let key = principal.key();
    let limit = quotas.limits.daily_for(&key);
    let budgets = Budgets {
        client,
        table: &quotas.table,
    };
    match budgets.reserve(&key, limit, amount, now).await {
        Ok(Reservation::Reserved(reserved)) => Ok(Some(Held {
            reserved,
            principal_key: key,
        })),
        Ok(Reservation::OverBudget { retry_after, limit }) => Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "your budget of ${} for today (UTC) is spent, or this request's maximum cost \
                 (${}) would pass it; no model call was made. It resets at midnight UTC",
                quota::format_usd_short(limit),
                quota::format_usd_short(amount)
            ),
        )
        .retry_after(u32::try_from(retry_after).unwrap_or(u32::MAX))),
        Err(e) => {
            warn!(error = %e, "budget reservation failed; no model call");
            Err(ApiError::new(
                ErrorCode::BudgetUnavailable,
                "the budget store is unavailable, so no model call was made: retry shortly",
            )
            .retry_after(1))
        }
    }
}

/// After the model calls: settles `held` to what they cost. `spent` is the answer's cost (or
/// the failure's), `None` when nothing was received; then a timeout or a model error keeps the
/// whole reservation (Bedrock may have billed the call) and any other failure releases it (no
/// model call was made, or Bedrock refused it before generating).
pub async fn settle(
    deps: &Deps<'_>,
    held: &Held,
    spent: Option<u64>,
    tokens: u64,
    failure: Option<ErrorCode>,
) {
    let (Some(quotas), Some(client)) = (&deps.config.quotas, deps.dynamodb) else {
        return;
    };
    let actual = match (spent, failure) {
        (Some(micro), _) => micro,
        (None, Some(ErrorCode::ModelTimeout | ErrorCode::ModelError)) => held.reserved.amount,
        (None, Some(_)) => 0,
        (None, None) => held.reserved.amount,
    };
    let budgets = Budgets {
        client,
        table: &quotas.table,
    };
    if let Err(e) = budgets.settle(&held.reserved, actual, tokens).await {
        // The reservation stays counted: the caller is over-charged until midnight, never
        // under-charged.
        warn!(error = %e, key = %held.reserved.key, reserved = held.reserved.amount, actual, "could not settle a budget reservation");
    }
}

/// At a job's submission: takes one of the owner's job slots (when the stage caps them), then
/// reserves the job's bound as [`admit`] does. A caller at its cap is `429 too_many_jobs`; a
/// refused reservation gives the slot back. `Ok(None)`: the stage has no budgets.
pub async fn admit_job(
    deps: &Deps<'_>,
    principal: &Principal,
    bound: RequestBound,
    now: OffsetDateTime,
) -> Result<Option<crate::jobs::JobBudget>, ApiError> {
    let (Some(quotas), Some(client)) = (&deps.config.quotas, deps.dynamodb) else {
        return Ok(None);
    };
    let key = principal.key();
    let budgets = Budgets {
        client,
        table: &quotas.table,
    };
    let mut slot = false;
    if let Some(cap) = quotas.limits.max_jobs_per_caller {
        match budgets.take_job_slot(&key, cap).await {
            Ok(JobSlot::Taken) => slot = true,
            Ok(JobSlot::Full) => {
                return Err(ApiError::new(
                    ErrorCode::TooManyJobs,
                    format!(
                        "you already have {cap} jobs queued or running, the most this stage \
                         allows one caller: wait for one to finish, then submit again"
                    ),
                )
                .retry_after(30));
            }
            Err(e) => {
                warn!(error = %e, "job slot check failed; job refused");
                return Err(ApiError::new(
                    ErrorCode::BudgetUnavailable,
                    "the budget store is unavailable, so the job was not accepted: retry shortly",
                )
                .retry_after(1));
            }
        }
    }
    match admit(deps, principal, bound, now).await {
        Ok(held) => Ok(Some(crate::jobs::JobBudget {
            key: held
                .as_ref()
                .map_or_else(String::new, |h| h.reserved.key.clone()),
            reserved_micro_usd: held.map_or(0, |h| h.reserved.amount),
            slot,
        })),
        Err(e) => {
            if slot {
                release_slot(deps, &key).await;
            }
            Err(e)
        }
    }
}

/// Gives back a job's reservation (settled to `spent`, as [`settle`] decides) and its slot.
pub async fn end_job(
    deps: &Deps<'_>,
    owner: &Principal,
    budget: &crate::jobs::JobBudget,
    spent: Option<u64>,
    tokens: u64,
    failure: Option<ErrorCode>,
) {
    if budget.reserved_micro_usd > 0 {
        let held = Held {
            reserved: Reserved {
                key: budget.key.clone(),
                amount: budget.reserved_micro_usd,
                used_after: 0,
            },
            principal_key: owner.key(),
        };
        settle(deps, &held, spent, tokens, failure).await;
    }
    if budget.slot {
        release_slot(deps, &owner.key()).await;
    }
}

async fn release_slot(deps: &Deps<'_>, principal_key: &str) {
    let (Some(quotas), Some(client)) = (&deps.config.quotas, deps.dynamodb) else {
        return;
    };
    let budgets = Budgets {
        client,
        table: &quotas.table,
    };
    if let Err(e) = budgets.release_job_slot(principal_key).await {
        warn!(error = %e, principal = principal_key, "could not release a job slot");
    }
}

/// Whether an UpdateItem failed on its condition (the typed variant, not a string match).
fn is_condition_failed(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    >,
) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.is_conditional_check_failed_exception())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use time::macros::datetime;

    #[tokio::test]
    async fn a_failed_condition_is_over_budget_with_the_time_to_midnight() {
        let rule = mock!(Client::update_item)
            .match_requests(|r| {
                r.condition_expression()
                    == Some("attribute_not_exists(#used) OR #used <= :start_max")
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":start_max"))
                        .and_then(|v| v.as_n().ok())
                        == Some(&"700".to_owned())
            })
            .then_error(|| {
                UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .message("The conditional request failed")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let b = Budgets {
            client: &client,
            table: "t",
        };
        let r = b
            .reserve("anonymous", 1000, 300, datetime!(2026-12-07 23:00:00 UTC))
            .await
            .expect("answers");
        assert_eq!(
            r,
            Reservation::OverBudget {
                retry_after: 3600,
                limit: 1000
            }
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[test]
    fn the_prompt_around_a_message_stays_within_the_bound_s_overhead() {
        // The reservation bounds input tokens by bytes: the prompt the function wraps around the
        // caller's message must stay within PROMPT_OVERHEAD_BYTES for every language.
        for language in crate::language::LANGUAGES {
            let p = crate::prompt::build(language, "");
            let around = p.system.len() + p.user.len();
            assert!(
                around <= quota::PROMPT_OVERHEAD_BYTES as usize,
                "{}: {around} bytes around the message",
                language.name
            );
        }
    }

    #[tokio::test]
    async fn a_reservation_larger_than_the_budget_makes_no_call() {
        let rule = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let b = Budgets {
            client: &client,
            table: "t",
        };
        let r = b
            .reserve("anonymous", 100, 101, datetime!(2026-12-07 12:00:00 UTC))
            .await
            .expect("answers");
        assert!(matches!(r, Reservation::OverBudget { .. }), "{r:?}");
        assert_eq!(rule.num_calls(), 0);
    }
}
