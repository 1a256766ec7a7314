//! The budget store (`codegen_function::budget`) against the emulator's DynamoDB, with 32 tasks
//! at once: reservations near the limit never take a caller past it, no reservation or
//! settlement is lost, and a job cap admits exactly its number of jobs. The store holds no lock
//! of its own (each task has its own client): only DynamoDB's conditional `UpdateItem` keeps
//! the counter consistent, so a read-then-write store fails these tests (lost updates show as a
//! `used` different from the sum of what was settled).
//!
//! What ministack enforces here (read in its source, `ministack/services/dynamodb.py`,
//! `_update_item`): the `ConditionExpression` is evaluated against the stored item and answers
//! `ConditionalCheckFailedException` when false; `ADD` on numbers (negative values included);
//! the check and the write run without an `await` between them inside its event loop, which is
//! the atomicity DynamoDB documents. Its TTL reaper deletes expired items; this test only checks
//! that the TTL attribute is written (a day is too long to wait for).

// The measured figures are printed for BENCHMARKS.md, as the other measuring suites do.
#![allow(clippy::print_stderr)]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use codegen_contract::quota;
use codegen_function::budget::{Budgets, JobSlot, Reservation};
use e2e_tests::Emulator;
use time::OffsetDateTime;

const TABLE: &str = "codegen-quota-test";

async fn table(client: &Client) -> anyhow::Result<()> {
    client
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(quota::KEY_ATTR)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(quota::KEY_ATTR)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_tasks_near_the_limit_never_pass_it_and_lose_nothing() -> anyhow::Result<()> {
    let emu = Emulator::start(false).await?;
    let admin = emu.clients().await?;
    table(&Client::new(&admin.sdk)).await?;

    let caller = "user:123456789012:AIDAQUOTATESTCALLER1";
    let limit: u64 = 1_000_000;
    let now = OffsetDateTime::now_utc();
    let mut tasks = Vec::new();
    for task in 0..32_u64 {
        // Each task has its own client: nothing is shared in-process but the emulator.
        let client = Client::new(&admin.sdk);
        tasks.push(tokio::spawn(async move {
            let budgets = Budgets {
                client: &client,
                table: TABLE,
            };
            // Reservations of 10 000 to 41 000 µ$; each call "costs" 3/4 of its reservation.
            let reserve = 10_000 + task * 1000;
            let (mut settled, mut max_seen) = (0_u64, 0_u64);
            loop {
                match budgets.reserve(caller, limit, reserve, now).await? {
                    Reservation::Reserved(r) => {
                        max_seen = max_seen.max(r.used_after);
                        let actual = reserve * 3 / 4;
                        budgets.settle(&r, actual).await?;
                        settled += actual;
                    }
                    Reservation::OverBudget { retry_after, .. } => {
                        assert!((1..=86_400).contains(&retry_after));
                        return anyhow::Ok((settled, max_seen));
                    }
                }
            }
        }));
    }
    let (mut settled, mut max_seen) = (0, 0);
    for t in tasks {
        let (s, m) = t.await??;
        settled += s;
        max_seen = max_seen.max(m);
    }
    let client = Client::new(&admin.sdk);
    let budgets = Budgets {
        client: &client,
        table: TABLE,
    };
    let used = budgets.used(caller, quota::today(now)).await?;
    // No lost update: the counter is exactly what was settled.
    assert_eq!(used, settled, "reservations or settlements were lost");
    // Never past the limit, not even while reservations were held.
    assert!(max_seen <= limit, "used reached {max_seen} over {limit}");
    // And the budget was used: the last refusal came within one reservation (at most 41 000 µ$)
    // of the limit, and at most 32 reservations held then each gave a quarter back.
    assert!(
        used + 41_000 + 32 * 41_000 / 4 > limit,
        "refused too early: used {used} of {limit}"
    );
    eprintln!("32 tasks: used {used} µ$ of {limit}, highest reserved+settled {max_seen}");

    // The item carries its day, principal and TTL.
    let item = client
        .get_item()
        .table_name(TABLE)
        .key(
            quota::KEY_ATTR,
            aws_sdk_dynamodb::types::AttributeValue::S(quota::day_key(caller, quota::today(now))),
        )
        .send()
        .await?;
    let item = item.item().ok_or_else(|| anyhow::anyhow!("no item"))?;
    let ttl = item
        .get(quota::EXPIRES_AT_ATTR)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok());
    assert_eq!(ttl, Some(quota::expires_at(quota::today(now))));

    // Another caller's budget is untouched.
    assert_eq!(
        budgets
            .used("user:123456789012:AIDAQUOTATESTCALLER2", quota::today(now))
            .await?,
        0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_cap_admits_exactly_its_number_of_jobs() -> anyhow::Result<()> {
    let emu = Emulator::start(false).await?;
    let admin = emu.clients().await?;
    table(&Client::new(&admin.sdk)).await?;
    let caller = "role:123456789012:AROAQUOTATESTROLE";
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = Client::new(&admin.sdk);
        tasks.push(tokio::spawn(async move {
            Budgets {
                client: &client,
                table: TABLE,
            }
            .take_job_slot(caller, 3)
            .await
        }));
    }
    let mut taken = 0;
    for t in tasks {
        if t.await?? == JobSlot::Taken {
            taken += 1;
        }
    }
    assert_eq!(taken, 3);
    let client = Client::new(&admin.sdk);
    let budgets = Budgets {
        client: &client,
        table: TABLE,
    };
    // Another caller is not affected; a release frees one slot, and releases stop at zero.
    assert_eq!(budgets.take_job_slot("anonymous", 3).await?, JobSlot::Taken);
    budgets.release_job_slot(caller).await?;
    assert_eq!(budgets.take_job_slot(caller, 3).await?, JobSlot::Taken);
    assert_eq!(budgets.take_job_slot(caller, 3).await?, JobSlot::Full);
    for _ in 0..5 {
        budgets.release_job_slot(caller).await?;
    }
    for _ in 0..3 {
        assert_eq!(budgets.take_job_slot(caller, 3).await?, JobSlot::Taken);
    }
    assert_eq!(budgets.take_job_slot(caller, 3).await?, JobSlot::Full);
    Ok(())
}
