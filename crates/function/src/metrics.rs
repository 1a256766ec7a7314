//! The function's metrics, written as CloudWatch embedded metric format (EMF) lines: one JSON log
//! line per request answered or job attempt finished, which CloudWatch Logs turns into metrics in
//! [`codegen_contract::metrics::NAMESPACE`] with no API call from the function.
//!
//! Format: "Specification: Embedded metric format" (Amazon CloudWatch User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>,
//! checked 2026-12-07): the root object has `_aws` with `Timestamp` (epoch milliseconds) and
//! `CloudWatchMetrics`, a list of directives each with `Namespace`, `Dimensions` (a list of
//! dimension sets) and `Metrics` (`Name`, `Unit`); every dimension and metric a directive names
//! MUST be a member of the root object. So a metric that does not apply to a line (no model call,
//! no syntax check) is left out of both, never written as 0.
//!
//! Why no crate: the maintained one, `metrics_cloudwatch_embedded` 0.10.0 (`cargo info`, docs.rs,
//! checked 2026-12-07), is a backend for the `metrics` facade: a process-global recorder whose
//! counters accumulate between flushes, with its Lambda integration (a default feature) pulling in
//! `lambda_http` and `tower`. Here every line must carry exactly one response's values, and leave
//! out what does not apply; that is one `serde_json` object per request, built and tested below,
//! with no global state and no new dependency.
//!
//! IO: [`emit`] writes the line to stdout, which Lambda sends to the function's log group. The
//! model latency of a request is gathered in a task-local [`Figures`] ([`scoped`]), so the pipeline
//! records it with one call and no new parameter.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;

use codegen_contract::metrics::{self as m, Metric};
use codegen_contract::{FunctionRole, GenerateResponse, Usage};
use serde_json::{Map, Value, json};

tokio::task_local! {
    static FIGURES: RefCell<Figures>;
}

/// What the pipeline measured during one request or job attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Milliseconds spent in model calls; `None`: no model call was made.
    pub model_ms: Option<u64>,
    /// The generated answer's figures; `None`: no answer.
    pub answer: Option<AnswerFigures>,
}

/// What a generated answer reports: exactly the response's `usage`, syntax check and repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerFigures {
    /// The response's `usage`.
    pub usage: Usage,
    /// The response's `cost.micro_usd` (`None`: the model has no price).
    pub cost_micro_usd: Option<u64>,
    /// Whether the code parsed; `None`: not checked.
    pub syntax_ok: Option<bool>,
    /// Whether a repair was attempted and applied; `None`: no repair report.
    pub repair: Option<(bool, bool)>,
}

impl AnswerFigures {
    /// The figures of a response.
    pub fn of(body: &GenerateResponse) -> Self {
        Self {
            usage: body.usage,
            cost_micro_usd: body.cost.as_ref().map(|c| c.micro_usd),
            syntax_ok: body.syntax.checked.then(|| body.syntax.is_ok()),
            repair: body.repair.as_ref().map(|r| (r.attempted, r.applied)),
        }
    }
}

/// Records the answer of the current request or job (nothing outside [`scoped`]).
pub fn record_answer(body: &GenerateResponse) {
    let _ = FIGURES.try_with(|f| f.borrow_mut().answer = Some(AnswerFigures::of(body)));
}

/// Runs `fut` with a fresh [`Figures`] for [`record_model_ms`], and returns what it recorded.
pub async fn scoped<'a, T>(fut: impl Future<Output = T> + Send + 'a) -> (T, Figures) {
    // Boxed as a trait object: the handler's future is deep already, and nesting its type in the
    // scope's future overflows the compiler's layout query depth for `main`.
    let fut: std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>> = Box::pin(fut);
    FIGURES
        .scope(RefCell::new(Figures::default()), async move {
            let out = fut.await;
            let figures = FIGURES.with(|f| *f.borrow());
            (out, figures)
        })
        .await
}

/// Adds one model call's duration to the current request's figures (nothing outside [`scoped`]).
pub fn record_model_ms(ms: u64) {
    let _ = FIGURES.try_with(|f| {
        let mut f = f.borrow_mut();
        f.model_ms = Some(f.model_ms.unwrap_or(0).saturating_add(ms));
    });
}

/// What a job attempt ended in (the worker's metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Succeeded.
    Succeeded,
    /// Failed for good.
    Failed,
    /// Handed back to the queue for another delivery.
    Retried,
}

/// One metric line under construction: the dimensions and the values that apply.
#[derive(Debug, Clone)]
pub struct Line {
    stage: String,
    route: &'static str,
    model: String,
    timestamp_ms: u64,
    values: Vec<(Metric, u64)>,
    properties: Map<String, Value>,
}

impl Line {
    /// A line for `role` on `stage` with `model`, stamped `timestamp_ms`.
    pub fn new(stage: &str, role: FunctionRole, model: &str, timestamp_ms: u64) -> Self {
        Self {
            stage: stage.to_owned(),
            route: m::route_of(role),
            model: model.to_owned(),
            timestamp_ms,
            values: Vec::new(),
            properties: Map::new(),
        }
    }

    /// Sets a metric's value.
    pub fn set(&mut self, metric: Metric, value: u64) -> &mut Self {
        self.values.retain(|(m, _)| m.name != metric.name);
        self.values.push((metric, value));
        self
    }

    /// Adds a property that is not a dimension (searchable in the logs, no metric cost).
    pub fn property(&mut self, key: &str, value: &str) -> &mut Self {
        self.properties.insert(key.to_owned(), value.into());
        self
    }

    /// The request's status class and time to answer.
    pub fn answered(&mut self, status: u16, total_ms: u64) -> &mut Self {
        self.set(m::REQUESTS, 1)
            .set(m::STATUS_2XX, u64::from((200..300).contains(&status)))
            .set(m::STATUS_4XX, u64::from((400..500).contains(&status)))
            .set(m::STATUS_5XX, u64::from(status >= 500))
            .set(m::TIME_TO_ANSWER, total_ms)
    }

    /// What the pipeline measured.
    pub fn figures(&mut self, figures: Figures) -> &mut Self {
        if let Some(ms) = figures.model_ms {
            self.set(m::MODEL_LATENCY, ms);
        }
        if let Some(answer) = figures.answer {
            self.answer(answer);
        }
        self
    }

    /// The tokens, syntax check and repair of a generated answer, exactly as the response says.
    pub fn answer(&mut self, answer: AnswerFigures) -> &mut Self {
        self.set(m::INPUT_TOKENS, u64::from(answer.usage.input_tokens))
            .set(m::OUTPUT_TOKENS, u64::from(answer.usage.output_tokens))
            .set(m::TOTAL_TOKENS, u64::from(answer.usage.total_tokens));
        if let Some(micro_usd) = answer.cost_micro_usd {
            self.set(m::COST_MICRO_USD, micro_usd);
        }
        // Thinking tokens are in `output_tokens`: Bedrock reports no separate count
        // (codegen_contract::metrics).
        if let Some(ok) = answer.syntax_ok {
            self.set(m::SYNTAX_OK, u64::from(ok));
        }
        if let Some((attempted, applied)) = answer.repair {
            self.set(m::REPAIR_ATTEMPTED, u64::from(attempted))
                .set(m::REPAIR_APPLIED, u64::from(applied));
        }
        self
    }

    /// A job attempt's end.
    pub fn job(&mut self, end: JobEnd) -> &mut Self {
        self.set(m::JOBS_SUCCEEDED, u64::from(end == JobEnd::Succeeded))
            .set(m::JOBS_FAILED, u64::from(end == JobEnd::Failed))
            .set(m::JOBS_RETRIED, u64::from(end == JobEnd::Retried))
    }

    /// The EMF document.
    pub fn to_json(&self) -> Value {
        let dimensions: Vec<Value> = m::DIMENSION_SETS.iter().map(|set| json!(set)).collect();
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(metric, _)| json!({"Name": metric.name, "Unit": metric.unit.as_str()}))
            .collect();
        let mut root = self.properties.clone();
        for (metric, value) in &self.values {
            root.insert(metric.name.to_owned(), (*value).into());
        }
        root.insert(m::DIM_STAGE.to_owned(), self.stage.clone().into());
        root.insert(m::DIM_ROUTE.to_owned(), self.route.into());
        root.insert(m::DIM_MODEL.to_owned(), self.model.clone().into());
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": m::NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(root)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes the line to stdout as one log event. Not through `tracing`: its JSON formatter would
/// wrap the document in its own object, and EMF needs the document to be the whole event.
pub fn emit(line: &Line) {
    let mut out = std::io::stdout().lock();
    // A metric line that cannot be written is not worth failing a request for.
    let _ = writeln!(out, "{}", line.to_json()).and_then(|()| out.flush());
}

/// Milliseconds, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen_contract::{RepairMode, RepairReport, SentSampling, SyntaxCheck, Usage};

    fn body() -> GenerateResponse {
        GenerateResponse {
            code: "x".into(),
            language: "python".into(),
            model: "m".into(),
            stored: true,
            s3: None,
            usage: Usage {
                input_tokens: 11,
                output_tokens: 22,
                total_tokens: 33,
                ..Usage::default()
            },
            cost: codegen_contract::cost::of_call(
                "us.anthropic.claude-sonnet-4-6",
                Usage {
                    input_tokens: 11,
                    output_tokens: 22,
                    total_tokens: 33,
                    ..Usage::default()
                },
            ),
            syntax: SyntaxCheck::checked(1, vec![]),
            repair: Some(RepairReport {
                mode: RepairMode::Once,
                attempted: true,
                applied: false,
                errors_before: 1,
                errors_after: Some(1),
                usage: None,
                reason: None,
            }),
            sampling: SentSampling::default(),
            request_id: "r".into(),
            warnings: vec![],
        }
    }

    #[test]
    fn a_request_line_is_emf_with_the_response_usage() {
        let mut line = Line::new("dev", FunctionRole::Sync, "us.m", 1_000);
        line.answered(200, 1234)
            .figures(Figures {
                model_ms: Some(900),
                answer: Some(AnswerFigures::of(&body())),
            })
            .property("request_id", "r-1");
        let v = line.to_json();
        assert_eq!(v["InputTokens"], 11);
        assert_eq!(v["OutputTokens"], 22);
        assert_eq!(v["TotalTokens"], 33);
        // 11 × 3.30 + 22 × 16.50 = 36.3 + 363 = 399.3 µ$, rounded up: 400 (worked by hand).
        assert_eq!(v["CostMicroUsd"], 400);
        assert!(
            !v["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                .to_string()
                .to_lowercase()
                .contains("caller"),
            "cost is per stage, never per caller"
        );
        assert_eq!(v["Status2xx"], 1);
        assert_eq!(v["Status5xx"], 0);
        assert_eq!(v["ModelLatency"], 900);
        assert_eq!(v["SyntaxOk"], 0);
        assert_eq!(v["RepairAttempted"], 1);
        assert_eq!(v["RepairApplied"], 0);
        assert_eq!(v["Route"], "PUT /code-generation");
        assert_eq!(v["Stage"], "dev");
        assert_eq!(v["request_id"], "r-1");
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "CodegenStack");
        assert_eq!(v["_aws"]["Timestamp"], 1_000);
        // Every member a directive names is in the root (the specification's MUST), and no
        // dimension is per caller.
        for set in directive["Dimensions"].as_array().expect("sets") {
            for d in set.as_array().expect("set") {
                let d = d.as_str().expect("name");
                assert!(["Stage", "Route", "Model"].contains(&d), "{d}");
                assert!(v.get(d).is_some(), "{d}");
            }
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(v[name].is_u64(), "{name}");
        }
    }

    #[test]
    fn what_does_not_apply_is_left_out_not_zero() {
        let mut line = Line::new("dev", FunctionRole::Status, "m", 1);
        line.answered(404, 5).figures(Figures::default());
        let v = line.to_json();
        assert_eq!(v["Status4xx"], 1);
        for absent in ["InputTokens", "ModelLatency", "SyntaxOk", "RepairAttempted"] {
            assert!(v.get(absent).is_none(), "{absent}");
        }
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert!(!names.contains(&"InputTokens"));
    }

    #[test]
    fn a_job_line_says_how_the_attempt_ended() {
        let mut line = Line::new("dev", FunctionRole::Worker, "m", 1);
        line.job(JobEnd::Retried);
        let v = line.to_json();
        assert_eq!(v["Route"], "jobs-worker");
        assert_eq!(
            (
                v["JobsSucceeded"].as_u64(),
                v["JobsFailed"].as_u64(),
                v["JobsRetried"].as_u64()
            ),
            (Some(0), Some(0), Some(1))
        );
    }

    #[tokio::test]
    async fn model_time_is_gathered_per_scope() {
        record_model_ms(5); // outside any scope: ignored
        let ((), f) = scoped(async {
            record_model_ms(10);
            record_model_ms(15);
            record_answer(&body());
        })
        .await;
        assert_eq!(f.model_ms, Some(25));
        assert_eq!(f.answer.map(|a| a.usage.output_tokens), Some(22));
        let ((), none) = scoped(async {}).await;
        assert_eq!(none.model_ms, None);
    }
}
