//! The function's own metrics: names, units, namespace and dimensions, shared by the function
//! (which writes them as CloudWatch embedded metric format lines), the stack (whose alarms and
//! dashboard read them) and the tests.
//!
//! Dimensions are the stage, the route and the model, never anything per caller: every distinct
//! dimension value is a separately billed custom metric ("Specification: Embedded metric format",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>,
//! checked 2026-12-07).

/// CloudWatch namespace of the function's metrics.
pub const NAMESPACE: &str = "CodegenStack";

/// Dimension: the stage (`CODEGEN_STAGE`).
pub const DIM_STAGE: &str = "Stage";
/// Dimension: the route key, or [`WORKER_ROUTE`] for the jobs worker.
pub const DIM_ROUTE: &str = "Route";
/// Dimension: the model or inference-profile id.
pub const DIM_MODEL: &str = "Model";
/// The [`DIM_ROUTE`] value of the jobs worker (it serves the queue, not a route).
pub const WORKER_ROUTE: &str = "jobs-worker";

/// The dimension sets every metric line declares: per route, and per stage and model (what the
/// stage's alarms read, summed over the routes without metric math).
pub const DIMENSION_SETS: [&[&str]; 2] =
    [&[DIM_STAGE, DIM_ROUTE, DIM_MODEL], &[DIM_STAGE, DIM_MODEL]];

/// A metric's CloudWatch unit (the subset used here; the EMF specification allows the
/// `StandardUnit` values of `PutMetricData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count (or a 0/1 flag whose average is a rate).
    Count,
    /// Milliseconds.
    Milliseconds,
}

impl Unit {
    /// The unit's name in CloudWatch.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric the function writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name in CloudWatch.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
}

const fn count(name: &'static str) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
    }
}

/// 1 per request answered (or job attempt finished).
pub const REQUESTS: Metric = count("Requests");
/// 1 when the answer was 2xx, else 0 (its average is the success rate).
pub const STATUS_2XX: Metric = count("Status2xx");
/// 1 when the answer was 4xx, else 0.
pub const STATUS_4XX: Metric = count("Status4xx");
/// 1 when the answer was 5xx, else 0 (its average is the function's 5xx rate).
pub const STATUS_5XX: Metric = count("Status5xx");
/// Time spent in model calls (all of them: a repair included).
pub const MODEL_LATENCY: Metric = Metric {
    name: "ModelLatency",
    unit: Unit::Milliseconds,
};
/// Time from the invocation's start to the answer.
pub const TIME_TO_ANSWER: Metric = Metric {
    name: "TimeToAnswer",
    unit: Unit::Milliseconds,
};
/// Input tokens, exactly the response's `usage.input_tokens`.
pub const INPUT_TOKENS: Metric = count("InputTokens");
/// Output tokens, exactly the response's `usage.output_tokens`.
pub const OUTPUT_TOKENS: Metric = count("OutputTokens");
/// Total tokens, exactly the response's `usage.total_tokens`.
pub const TOTAL_TOKENS: Metric = count("TotalTokens");
/// What the answer cost, in micro-dollars (USD 10^-6), exactly the response's `cost.micro_usd`.
/// Per stage, route and model like every metric here: never per caller (`cargo xtask usage` reads
/// per-caller spend from the budget table, which has no metric cost).
pub const COST_MICRO_USD: Metric = count("CostMicroUsd");
// No thinking-token metric: Bedrock's `TokenUsage` reports `inputTokens`, `outputTokens`,
// `totalTokens` and the cache reads and writes, no reasoning count ("TokenUsage", Amazon Bedrock
// API reference, https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html,
// checked 2026-12-08); a model's thinking is in `outputTokens`, and a separate figure would have
// nothing from Bedrock behind it.
/// 1 when the returned code was checked and parsed, 0 when checked and not (absent: unchecked).
pub const SYNTAX_OK: Metric = count("SyntaxOk");
/// 1 when a repair call was made (present only when the first answer did not parse).
pub const REPAIR_ATTEMPTED: Metric = count("RepairAttempted");
/// 1 when the repair's code was kept.
pub const REPAIR_APPLIED: Metric = count("RepairApplied");
/// 1 per job accepted (the submit function).
pub const JOBS_QUEUED: Metric = count("JobsQueued");
/// 1 per job attempt that succeeded (the worker).
pub const JOBS_SUCCEEDED: Metric = count("JobsSucceeded");
/// 1 per job that failed for good (the worker; a give-up from the dead-letter queue included).
pub const JOBS_FAILED: Metric = count("JobsFailed");
/// 1 per job attempt handed back to the queue for another delivery.
pub const JOBS_RETRIED: Metric = count("JobsRetried");

/// The [`DIM_ROUTE`] value of a function role.
pub fn route_of(role: crate::FunctionRole) -> &'static str {
    role.route_key().unwrap_or(WORKER_ROUTE)
}
