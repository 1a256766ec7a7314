//! One way to wait for AWS: ask, sleep on tokio time with a growing delay, give up at a deadline.
//! Used for change sets, stack operations and Lambda code updates. The SDK's own waiters poll too
//! slowly for a person watching and cannot report progress, so the deployer polls itself. Their
//! delays, as the AWS CLI reference documents the same waiter definitions: `cloudformation wait
//! stack-create-complete` and `change-set-create-complete` "will poll every 30 seconds"
//! (docs.aws.amazon.com/cli/latest/reference/cloudformation/wait/change-set-create-complete.html),
//! `lambda wait function-updated-v2` "will poll every 1 seconds"
//! (docs.aws.amazon.com/cli/latest/reference/lambda/wait/function-updated-v2.html). `invoke --async` keeps its own schedule: there the server's
//! `Retry-After` decides.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

/// What one look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll<T> {
    /// Done, with the result.
    Ready(T),
    /// Not yet; the state it is in (named in the timeout error).
    Pending(String),
}

/// How the delay between looks grows: from `first`, multiplied by `factor` after each look once
/// `steady_for` has passed, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The first delay.
    pub(crate) first: Duration,
    /// The longest delay.
    pub(crate) max: Duration,
    /// Growth per look.
    pub(crate) factor: u32,
    /// How long the first delay is kept before it grows (fast looks while most waits end).
    pub(crate) steady_for: Duration,
}

impl Backoff {
    /// Doubling from `first` up to `max`, from the first look on.
    pub(crate) const fn doubling(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            factor: 2,
            steady_for: Duration::ZERO,
        }
    }
}

/// Calls `look` until it is [`Poll::Ready`], sleeping between looks as `backoff` says; fails when
/// `look` fails or when `timeout` has passed since the first look (naming `what` and the last
/// state).
pub(crate) async fn until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    backoff: Backoff,
    mut look: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Poll<T>>>,
{
    let started = Instant::now();
    let mut delay = backoff.first;
    loop {
        match look().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(state) if started.elapsed() > timeout => {
                bail!("{what} was still {state} after {}", human(timeout))
            }
            Poll::Pending(_) => {}
        }
        tokio::time::sleep(delay).await;
        if started.elapsed() >= backoff.steady_for {
            delay = (delay * backoff.factor).min(backoff.max);
        }
    }
}

fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 120 && s % 60 == 0 => format!("{} minutes", s / 60),
        s if s >= 1 => format!("{s} s"),
        _ => format!("{} ms", d.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_ready_value_after_pending_looks() {
        let mut looks = 0;
        let value = until(
            "the thing",
            Duration::from_secs(5),
            Backoff::doubling(Duration::from_millis(1), Duration::from_millis(4)),
            || {
                looks += 1;
                let n = looks;
                async move {
                    Ok(if n < 4 {
                        Poll::Pending(format!("at {n}"))
                    } else {
                        Poll::Ready(n)
                    })
                }
            },
        )
        .await
        .expect("ready");
        assert_eq!(value, 4);
    }

    #[tokio::test]
    async fn times_out_naming_the_last_state_and_passes_errors_through() {
        let err = until(
            "change set x",
            Duration::from_millis(20),
            Backoff::doubling(Duration::from_millis(2), Duration::from_millis(5)),
            || async { Ok(Poll::<()>::Pending("CREATE_PENDING".to_owned())) },
        )
        .await
        .expect_err("times out")
        .to_string();
        assert_eq!(err, "change set x was still CREATE_PENDING after 20 ms");
        let err = until(
            "y",
            Duration::from_secs(1),
            Backoff::doubling(Duration::from_millis(1), Duration::from_millis(1)),
            || async { Err::<Poll<()>, _>(anyhow::anyhow!("access denied")) },
        )
        .await
        .expect_err("fails");
        assert_eq!(err.to_string(), "access denied");
    }

    #[test]
    fn timeouts_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human(Duration::from_secs(90)), "90 s");
        assert_eq!(human(Duration::from_millis(20)), "20 ms");
    }
}
