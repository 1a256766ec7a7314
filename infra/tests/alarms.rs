//! The stack's alarms, topic and dashboard (`infra/src/alarms.rs`): every alarm with its metric,
//! statistic, dimensions, threshold and action; the topic's encryption and who may publish; the
//! stage file's `alarms:` block setting thresholds, subscriptions or an existing topic, and the
//! values it refuses. Self-contained (no `support` module), so none of that module's helpers is
//! dead code in this test crate.

use codegen_contract::FunctionRole;
use codegen_infra::config::parse_stage;
use codegen_infra::stack::function_id;
use codegen_infra::{StageConfig, stack};
use serde_json::{Value, json};

const DEV: &str = include_str!("../stages/dev.yaml");
const LOCAL: &str = include_str!("../stages/local.yaml");
const ALARM: &str = "AWS::CloudWatch::Alarm";

fn stage(name: &str, text: &str) -> StageConfig {
    parse_stage(name, &format!("infra/stages/{name}.yaml"), text)
        .unwrap_or_else(|e| panic!("stage {name} must parse: {e}"))
}

/// The bootstrap template of `cfg`: it owns the alarm topic and its key.
fn bootstrap_template(cfg: &StageConfig) -> Value {
    codegen_infra::bootstrap(cfg).to_json_value()
}

/// What the app stack's alarms notify: the bootstrap's exported topic.
fn imported_topic(cfg: &StageConfig) -> Value {
    json!({"Fn::ImportValue": codegen_infra::names::alarm_topic_export(&cfg.stack_name)})
}

fn template(cfg: &StageConfig) -> Value {
    stack(cfg).to_json_value()
}

fn alarms_of(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ALARM)
        .map(|(id, r)| (id.clone(), r["Properties"].clone()))
        .collect()
}

fn dims(pairs: &[(&str, Value)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"Name": k, "Value": v}))
            .collect(),
    )
}

/// One expected alarm: id, namespace, metric, statistic, dimensions, period, threshold.
struct Expected {
    id: String,
    namespace: &'static str,
    metric: &'static str,
    statistic: &'static str,
    dimensions: Value,
    period: u64,
    threshold: f64,
}

fn expected_metric_alarms(cfg: &StageConfig) -> Vec<Expected> {
    let model = json!(cfg.model.id);
    let stage = json!(cfg.name);
    let mut out = vec![
        Expected {
            id: "AlarmDeadLetterQueue".into(),
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            statistic: "Maximum",
            dimensions: dims(&[("QueueName", json!(format!("{}-dlq", cfg.jobs_queue_name())))]),
            period: 300,
            threshold: 1.0,
        },
        Expected {
            id: "AlarmJobsFailed".into(),
            namespace: "CodegenStack",
            metric: "JobsFailed",
            statistic: "Sum",
            dimensions: dims(&[
                ("Stage", stage.clone()),
                ("Route", json!("jobs-worker")),
                ("Model", model.clone()),
            ]),
            period: 300,
            threshold: 1.0,
        },
        Expected {
            id: "AlarmJobAge".into(),
            namespace: "AWS/SQS",
            metric: "ApproximateAgeOfOldestMessage",
            statistic: "Maximum",
            dimensions: dims(&[("QueueName", json!(cfg.jobs_queue_name()))]),
            period: 300,
            threshold: f64::from(cfg.jobs.give_up_after_seconds),
        },
        Expected {
            id: "AlarmBedrockThrottles".into(),
            namespace: "AWS/Bedrock",
            metric: "InvocationThrottles",
            statistic: "Sum",
            dimensions: dims(&[("ModelId", model.clone())]),
            period: 300,
            threshold: 1.0,
        },
        Expected {
            id: "AlarmOutputTokens".into(),
            namespace: "CodegenStack",
            metric: "OutputTokens",
            statistic: "Sum",
            dimensions: dims(&[("Stage", stage), ("Model", model)]),
            period: 3600,
            threshold: 2_000_000.0,
        },
    ];
    for role in FunctionRole::ALL {
        let title = match role {
            FunctionRole::Sync => "Sync",
            FunctionRole::Submit => "Submit",
            FunctionRole::Status => "Status",
            FunctionRole::Worker => "Worker",
        };
        for (kind, metric) in [("Errors", "Errors"), ("Throttles", "Throttles")] {
            out.push(Expected {
                id: format!("Alarm{title}{kind}"),
                namespace: "AWS/Lambda",
                metric,
                statistic: "Sum",
                dimensions: dims(&[("FunctionName", json!({"Ref": function_id(role)}))]),
                period: 300,
                threshold: 1.0,
            });
        }
    }
    out
}

#[test]
fn every_alarm_watches_its_metric_at_its_threshold_and_notifies_the_topic() {
    for cfg in [stage("dev", DEV), stage("local", LOCAL)] {
        let t = template(&cfg);
        let alarms = alarms_of(&t);
        let expected = expected_metric_alarms(&cfg);
        assert_eq!(
            alarms.len(),
            expected.len() + 1,
            "{}: plus the API 5xx alarm",
            cfg.name
        );
        for e in &expected {
            let (_, p) = alarms
                .iter()
                .find(|(id, _)| *id == e.id)
                .unwrap_or_else(|| panic!("{}: no alarm {}", cfg.name, e.id));
            let at = format!("{} {}", cfg.name, e.id);
            assert_eq!(p["Namespace"], e.namespace, "{at}");
            assert_eq!(p["MetricName"], e.metric, "{at}");
            assert_eq!(p["Statistic"], e.statistic, "{at}");
            assert_eq!(p["Dimensions"], e.dimensions, "{at}");
            assert_eq!(p["Period"], e.period, "{at}");
            assert_eq!(p["Threshold"], e.threshold, "{at}");
            assert_eq!(
                p["ComparisonOperator"], "GreaterThanOrEqualToThreshold",
                "{at}"
            );
            assert_eq!(p["EvaluationPeriods"], 1, "{at}");
            assert_eq!(p["TreatMissingData"], "notBreaching", "{at}");
        }
        for (id, p) in &alarms {
            let at = format!("{} {id}", cfg.name);
            assert_eq!(p["AlarmActions"], json!([imported_topic(&cfg)]), "{at}");
            assert_eq!(p["OKActions"], p["AlarmActions"], "{at}");
            assert!(
                p["AlarmName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&cfg.stack_name)),
                "{at}"
            );
            assert!(
                p["AlarmDescription"].as_str().is_some_and(|d| d.len() > 20),
                "{at}"
            );
        }
    }
}

#[test]
fn the_api_alarm_is_a_5xx_rate_on_aws_and_a_count_on_the_emulator() {
    let cfg = stage("dev", DEV);
    let t = template(&cfg);
    let p = &t["Resources"]["AlarmApi5xx"]["Properties"];
    assert_eq!(p["Threshold"], 5.0);
    assert!(p.get("MetricName").is_none(), "a metric-math alarm: {p}");
    let api_dims = dims(&[
        (
            "ApiId",
            json!({"Fn::ImportValue": codegen_infra::names::api_id_export(&cfg.stack_name)}),
        ),
        ("Stage", json!("dev")),
    ]);
    assert_eq!(
        p["Metrics"],
        json!([
            {"Id": "e1", "Expression": "IF(m2 > 0, 100 * m1 / m2, 0)", "Label": "5xx %", "ReturnData": true},
            {"Id": "m1", "ReturnData": false, "MetricStat": {
                "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5xx", "Dimensions": api_dims},
                "Period": 300, "Stat": "Sum"}},
            {"Id": "m2", "ReturnData": false, "MetricStat": {
                "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": api_dims},
                "Period": 300, "Stat": "Sum"}},
        ])
    );
    // ministack refuses `Metrics` on an alarm: the emulator stage counts 5xx answers instead.
    let local = template(&stage("local", LOCAL));
    let p = &local["Resources"]["AlarmApi5xx"]["Properties"];
    assert!(p.get("Metrics").is_none(), "{p}");
    assert_eq!(
        (
            &p["Namespace"],
            &p["MetricName"],
            &p["Statistic"],
            &p["Threshold"]
        ),
        (
            &json!("AWS/ApiGateway"),
            &json!("5xx"),
            &json!("Sum"),
            &json!(1.0)
        )
    );
}

#[test]
fn the_topic_is_encrypted_with_its_own_key_and_only_cloudwatch_publishes() {
    let cfg = stage("dev", DEV);
    // The app stack has neither: its execution role needs no SNS or KMS permission.
    let app = template(&cfg);
    for absent in ["AlarmTopic", "AlarmTopicKey", "AlarmTopicPolicy"] {
        assert!(app["Resources"].get(absent).is_none(), "{absent}");
    }
    let t = bootstrap_template(&cfg);
    assert_eq!(
        t["Outputs"]["AlarmTopicArn"]["Export"]["Name"],
        json!(codegen_infra::names::alarm_topic_export(&cfg.stack_name))
    );
    let r = &t["Resources"];
    assert_eq!(r["AlarmTopic"]["Type"], "AWS::SNS::Topic");
    assert_eq!(
        r["AlarmTopic"]["Properties"]["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})
    );
    let key = &r["AlarmTopicKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let statements = key["KeyPolicy"]["Statement"]
        .as_array()
        .expect("key policy");
    let cloudwatch: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Principal"] == json!({"Service": "cloudwatch.amazonaws.com"}))
        .collect();
    assert_eq!(cloudwatch.len(), 1);
    assert_eq!(
        cloudwatch[0]["Action"],
        json!(["kms:Decrypt", "kms:GenerateDataKey"])
    );
    assert_eq!(
        cloudwatch[0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({"Fn::Sub": "${AWS::AccountId}"})
    );
    for s in statements {
        for a in s["Action"].as_array().expect("actions") {
            assert!(!a.as_str().expect("action").contains('*'), "{a}");
        }
        assert_ne!(s["Principal"], json!("*"));
    }
    let policy = &r["AlarmTopicPolicy"]["Properties"];
    assert_eq!(policy["Topics"], json!([{"Ref": "AlarmTopic"}]));
    assert_eq!(
        policy["PolicyDocument"]["Statement"],
        json!([{
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["sns:Publish"],
            "Resource": [{"Ref": "AlarmTopic"}],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}},
        }])
    );
}

#[test]
fn the_stage_file_sets_thresholds_subscriptions_or_an_existing_topic() {
    let text = format!(
        "{DEV}\nalarms:\n  email: [ops@example.com]\n  output_tokens_per_hour: 500000\n  api_5xx_rate_percent: 2.5\n  function_errors: 3\n"
    );
    let cfg = stage("dev", &text);
    let b = bootstrap_template(&cfg);
    assert_eq!(
        b["Resources"]["AlarmTopic"]["Properties"]["Subscription"],
        json!([{"Protocol": "email", "Endpoint": "ops@example.com"}])
    );
    let t = template(&cfg);
    let r = &t["Resources"];
    assert_eq!(r["AlarmOutputTokens"]["Properties"]["Threshold"], 500_000.0);
    assert_eq!(r["AlarmApi5xx"]["Properties"]["Threshold"], 2.5);
    assert_eq!(r["AlarmWorkerErrors"]["Properties"]["Threshold"], 3.0);

    let arn = "arn:aws:sns:us-east-1:123456789012:oncall";
    let own = stage("dev", &format!("{DEV}\nalarms:\n  topic_arn: {arn}\n"));
    let t = template(&own);
    let b = bootstrap_template(&own);
    let r = b["Resources"].as_object().expect("resources");
    for absent in ["AlarmTopic", "AlarmTopicKey", "AlarmTopicPolicy"] {
        assert!(!r.contains_key(absent), "{absent}");
    }
    assert!(b["Outputs"].get("AlarmTopicArn").is_none());
    for (id, p) in alarms_of(&t) {
        assert_eq!(p["AlarmActions"], json!([arn]), "{id}");
    }
}

#[test]
fn the_stage_file_refuses_what_cannot_work() {
    for (block, key) in [
        ("alarms:\n  email: [not-an-address]\n", "alarms.email"),
        ("alarms:\n  function_errors: 0\n", "alarms.function_errors"),
        (
            "alarms:\n  api_5xx_rate_percent: 0\n",
            "alarms.api_5xx_rate_percent",
        ),
        (
            "alarms:\n  api_5xx_rate_percent: 101\n",
            "alarms.api_5xx_rate_percent",
        ),
        (
            "alarms:\n  topic_arn: arn:aws:sqs:us-east-1:1:q\n",
            "alarms.topic_arn",
        ),
        (
            "alarms:\n  topic_arn: arn:aws:sns:us-east-1:1:t\n  email: [a@example.com]\n",
            "alarms.email",
        ),
        ("alarms:\n  no_such_key: 1\n", "no_such_key"),
    ] {
        let text = format!("{DEV}\n{block}");
        let err = parse_stage("dev", "infra/stages/dev.yaml", &text)
            .expect_err(&format!("must refuse {block:?}"))
            .to_string();
        assert!(err.contains(key), "{block:?}: {err}");
    }
}

#[test]
fn the_dashboard_shows_the_alarms_and_their_figures() {
    let cfg = stage("dev", DEV);
    let t = template(&cfg);
    // `Fn::Sub` with a variable map: the API id is the bootstrap's export.
    let sub = &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    assert_eq!(
        sub[1]["ApiId"],
        json!({"Fn::ImportValue": codegen_infra::names::api_id_export(&cfg.stack_name)})
    );
    let body = sub[0].as_str().expect("a Fn::Sub body");
    let parsed: Value = serde_json::from_str(body).expect("the body is JSON");
    let widgets = parsed["widgets"].as_array().expect("widgets");
    let alarm_widget = widgets
        .iter()
        .find(|w| w["type"] == "alarm")
        .expect("alarm widget");
    assert_eq!(
        alarm_widget["properties"]["alarms"]
            .as_array()
            .map(Vec::len),
        Some(alarms_of(&t).len())
    );
    for figure in [
        "Status5xx",
        "ModelLatency",
        "OutputTokens",
        "JobsFailed",
        "InvocationThrottles",
        "ApproximateNumberOfMessagesVisible",
        "Throttles",
    ] {
        assert!(body.contains(&format!("\"{figure}\"")), "{figure}");
    }
    assert!(
        !body.contains("request_id") && !body.contains("caller"),
        "no per-caller figure"
    );
}
