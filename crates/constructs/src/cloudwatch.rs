//! CloudWatch [`Alarm`] and [`Dashboard`] constructs. Pure: no SDK, no IO.
//!
//! An alarm watches one metric (namespace, name, dimensions, statistic, period) against a
//! threshold, or a metric-math expression over several ([`Watched::Math`]), and notifies its
//! actions (SNS topic ARNs) on `ALARM` and `OK` ("AWS::CloudWatch::Alarm", CloudFormation
//! template reference,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html>,
//! checked 2026-12-07).

use serde_json::{Value, json};

use crate::expr::Expr;
use crate::template::{Construct, Resource};

/// One metric: namespace, name and dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// `AWS/Lambda`, `CodegenStack`, ...
    pub namespace: String,
    /// The metric's name.
    pub name: String,
    /// Dimension name and value, in order.
    pub dimensions: Vec<(String, Expr)>,
}

impl Metric {
    /// A metric with its dimensions.
    pub fn new(namespace: &str, name: &str, dimensions: Vec<(&str, Expr)>) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: dimensions
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }

    fn dimensions_json(&self) -> Value {
        Value::Array(
            self.dimensions
                .iter()
                .map(|(k, v)| json!({"Name": k, "Value": v.to_json()}))
                .collect(),
        )
    }
}

/// What an alarm compares to its threshold.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// One metric's statistic over the period.
    Metric {
        /// The metric.
        metric: Metric,
        /// `Sum`, `Maximum`, `Average`, ...
        statistic: String,
    },
    /// A metric-math expression (`id` `e1`) over named metrics (`m1`, `m2`, ...), each with its
    /// statistic.
    Math {
        /// The expression, e.g. `IF(m2 > 0, 100 * m1 / m2, 0)`.
        expression: String,
        /// What the expression means (the alarm's label).
        label: String,
        /// The metrics it reads: id, metric, statistic.
        metrics: Vec<(String, Metric, String)>,
    },
}

/// An alarm.
#[derive(Debug, Clone)]
pub struct Alarm {
    logical_id: String,
    /// Its name in CloudWatch.
    pub name: String,
    /// What firing means (shown in the notification).
    pub description: String,
    /// What it compares.
    pub watched: Watched,
    /// Seconds per evaluation period.
    pub period_seconds: u32,
    /// How many periods are evaluated.
    pub evaluation_periods: u32,
    /// The threshold.
    pub threshold: f64,
    /// `GreaterThanOrEqualToThreshold`, `GreaterThanThreshold`, ...
    pub comparison: String,
    /// Missing data counts as `notBreaching` (no traffic is not an incident).
    pub treat_missing_data: String,
    /// ARNs notified on ALARM and on OK.
    pub actions: Vec<Expr>,
}

impl Alarm {
    /// An alarm that fires when `watched` is at or above `threshold` in one `period_seconds`
    /// period, treating missing data as not breaching, and notifies `actions`.
    pub fn at_least(
        logical_id: &str,
        name: &str,
        description: &str,
        watched: Watched,
        period_seconds: u32,
        threshold: f64,
        actions: Vec<Expr>,
    ) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            watched,
            period_seconds,
            evaluation_periods: 1,
            threshold,
            comparison: "GreaterThanOrEqualToThreshold".to_owned(),
            treat_missing_data: "notBreaching".to_owned(),
            actions,
        }
    }

    /// Its logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    fn properties(&self) -> Value {
        let actions: Vec<Value> = self.actions.iter().map(Expr::to_json).collect();
        let mut p = json!({
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "EvaluationPeriods": self.evaluation_periods,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing_data,
            "AlarmActions": actions,
            "OKActions": actions,
        });
        match &self.watched {
            Watched::Metric { metric, statistic } => {
                p["Namespace"] = json!(metric.namespace);
                p["MetricName"] = json!(metric.name);
                p["Dimensions"] = metric.dimensions_json();
                p["Statistic"] = json!(statistic);
                p["Period"] = json!(self.period_seconds);
            }
            Watched::Math {
                expression,
                label,
                metrics,
            } => {
                let mut queries = vec![json!({
                    "Id": "e1",
                    "Expression": expression,
                    "Label": label,
                    "ReturnData": true,
                })];
                queries.extend(metrics.iter().map(|(id, m, stat)| {
                    json!({
                        "Id": id,
                        "ReturnData": false,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": m.namespace,
                                "MetricName": m.name,
                                "Dimensions": m.dimensions_json(),
                            },
                            "Period": self.period_seconds,
                            "Stat": stat,
                        },
                    })
                }));
                p["Metrics"] = Value::Array(queries);
            }
        }
        p
    }
}

impl Construct for Alarm {
    fn resources(&self) -> Vec<(String, Resource)> {
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::CloudWatch::Alarm", &canonical(self.properties())),
        )]
    }
}

/// `value` with every object's keys in sorted order. `serde_json` keeps insertion order when its
/// `preserve_order` feature is on (the workspace turns it on for some builds and not others), and
/// the synthesised template must be the same either way.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// A dashboard: widgets as CloudWatch's dashboard body JSON ("Dashboard Body Structure and
/// Syntax", Amazon CloudWatch API Reference,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>).
#[derive(Debug, Clone)]
pub struct Dashboard {
    logical_id: String,
    name: String,
    widgets: Vec<Value>,
    /// `Fn::Sub` variables the body's `${Name}` references resolve to (values another stack
    /// exports, which `Fn::Sub` cannot name directly).
    variables: std::collections::BTreeMap<String, Expr>,
}

impl Dashboard {
    /// An empty dashboard named `name`.
    pub fn new(logical_id: &str, name: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            widgets: Vec::new(),
            variables: std::collections::BTreeMap::new(),
        }
    }

    /// Makes `${name}` in the body resolve to `value` (`Fn::Sub`'s variable map).
    pub fn with_variable(mut self, name: &str, value: Expr) -> Self {
        self.variables.insert(name.to_owned(), value);
        self
    }

    /// Adds a graph of `metrics` (each `[namespace, name, dim, value, ..., {options}]`, as the
    /// body syntax writes them; values may hold `${LogicalId}` references) with `title`.
    pub fn add_graph(&mut self, title: &str, region: &str, metrics: Vec<Value>, stat: &str) {
        let n = self.widgets.len();
        let (x, y) = ((n % 2) * 12, (n / 2) * 6);
        self.widgets.push(json!({
            "type": "metric",
            "x": x, "y": y, "width": 12, "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 300,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }));
    }

    /// Adds a widget showing the state of `alarms` (their ARNs).
    pub fn add_alarm_status(&mut self, title: &str, alarms: Vec<String>) {
        let n = self.widgets.len();
        let (x, y) = ((n % 2) * 12, (n / 2) * 6);
        self.widgets.push(json!({
            "type": "alarm",
            "x": x, "y": y, "width": 12, "height": 6,
            "properties": { "title": title, "alarms": alarms },
        }));
    }

    /// The body, with `${...}` left for `Fn::Sub`.
    pub fn body(&self) -> String {
        canonical(json!({ "widgets": self.widgets })).to_string()
    }
}

impl Construct for Dashboard {
    fn resources(&self) -> Vec<(String, Resource)> {
        let body = if self.variables.is_empty() {
            Expr::sub(self.body()).to_json()
        } else {
            let variables: serde_json::Map<String, Value> = self
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            json!({ "Fn::Sub": [self.body(), variables] })
        };
        let props = canonical(json!({
            "DashboardName": self.name,
            "DashboardBody": body,
        }));
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::CloudWatch::Dashboard", &props),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_alarm_names_its_metric_threshold_and_actions() {
        let alarm = Alarm::at_least(
            "A",
            "n",
            "d",
            Watched::Metric {
                metric: Metric::new(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    vec![("QueueName", Expr::str("q"))],
                ),
                statistic: "Maximum".into(),
            },
            60,
            1.0,
            vec![Expr::reference("Topic")],
        );
        let (_, r) = &alarm.resources()[0];
        let p = &r.properties;
        assert_eq!(p["Namespace"], "AWS/SQS");
        assert_eq!(
            p["Dimensions"][0],
            json!({"Name": "QueueName", "Value": "q"})
        );
        assert_eq!(p["Threshold"], 1.0);
        assert_eq!(p["AlarmActions"], json!([{"Ref": "Topic"}]));
        assert_eq!(p["OKActions"], p["AlarmActions"]);
        assert!(p.get("Metrics").is_none());
    }

    #[test]
    fn a_math_alarm_returns_only_its_expression() {
        let m = |name: &str| Metric::new("AWS/ApiGateway", name, vec![]);
        let alarm = Alarm::at_least(
            "A",
            "n",
            "d",
            Watched::Math {
                expression: "IF(m2 > 0, 100 * m1 / m2, 0)".into(),
                label: "5xx %".into(),
                metrics: vec![
                    ("m1".into(), m("5xx"), "Sum".into()),
                    ("m2".into(), m("Count"), "Sum".into()),
                ],
            },
            300,
            5.0,
            vec![],
        );
        let (_, r) = &alarm.resources()[0];
        let q = r.properties["Metrics"].as_array().expect("queries");
        assert_eq!(q.len(), 3);
        assert_eq!(q.iter().filter(|q| q["ReturnData"] == true).count(), 1);
        assert!(r.properties.get("MetricName").is_none());
    }
}
