//! The Lambda [`Function`] construct (custom runtime `provided.al2023`, code from S3) and the
//! [`Permission`] that lets another service invoke it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// Settings of a [`Function`].
#[derive(Debug, Clone)]
pub struct FunctionProps {
    /// Physical function name.
    pub function_name: String,
    /// What the function does.
    pub description: String,
    /// Execution role ARN.
    pub role_arn: Expr,
    /// Bucket holding the deployment package.
    pub code_bucket: Expr,
    /// Key of the deployment package (content-hash addressed).
    pub code_key: Expr,
    /// Version of the package object (`S3ObjectVersion`), pinning the exact bytes Lambda reads
    /// from a versioned bucket; `None` reads whatever the key holds when the function is deployed.
    pub code_version: Option<Expr>,
    /// `x86_64` or `arm64` (often a parameter: it must match the built binary).
    pub architecture: Expr,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Timeout in seconds.
    pub timeout_seconds: u32,
    /// Reserved concurrency (a cost ceiling), if any.
    pub reserved_concurrency: Option<u32>,
    /// Environment variables.
    pub environment: BTreeMap<String, Expr>,
    /// Log group the runtime writes to (`Ref` to a stack-owned group).
    pub log_group: Option<Expr>,
    /// X-Ray tracing (`TracingConfig`); `None` leaves Lambda's default (`PassThrough`).
    pub tracing: Option<Tracing>,
    /// Tags.
    pub tags: Tags,
}

/// A function's X-Ray tracing mode: "To sample and record incoming requests, set `Mode` to
/// `Active`" (Lambda API reference, `TracingConfig`,
/// <https://docs.aws.amazon.com/lambda/latest/api/API_TracingConfig.html>, checked 2026-12-07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracing {
    /// Lambda samples invocations itself and records a segment for each sampled one.
    Active,
    /// Lambda traces only a request whose caller's trace header says `Sampled=1`.
    PassThrough,
}

impl Tracing {
    /// The `Mode` value.
    pub const fn mode(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::PassThrough => "PassThrough",
        }
    }
}

/// What a traced function's role needs so that Lambda's X-Ray daemon can send its segments: the
/// two write actions of the `AWSXRayDaemonWriteAccess` managed policy Lambda's guide names (the
/// sampling-rule reads are for SDKs that sample themselves; Lambda samples). X-Ray defines no
/// resource type for them ("Actions, resources, and condition keys for AWS X-Ray",
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html>, and the
/// managed policy, <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXRayDaemonWriteAccess.html>,
/// both checked 2026-12-07), so the resource is `*`.
pub const XRAY_WRITE_ACTIONS: &[&str] = &["xray:PutTelemetryRecords", "xray:PutTraceSegments"];

/// A Lambda function running a Rust `bootstrap` on `provided.al2023`.
#[derive(Debug, Clone)]
pub struct Function {
    logical_id: String,
    props: FunctionProps,
    depends_on: Vec<String>,
}

impl Function {
    /// A function with `props`.
    pub fn new(logical_id: &str, props: FunctionProps) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            props,
            depends_on: Vec::new(),
        }
    }

    /// Waits for these resources too (e.g. the log group, so no early log line is lost).
    pub fn with_depends_on(mut self, ids: &[&str]) -> Self {
        self.depends_on.extend(ids.iter().map(|s| (*s).to_owned()));
        self
    }

    /// `Fn::GetAtt Function.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// `Ref Function`: the function name.
    pub fn name(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// Logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionCfnProps<'a> {
    function_name: &'a str,
    description: &'a str,
    runtime: &'static str,
    handler: &'static str,
    architectures: Vec<&'a Expr>,
    code: Value,
    role: &'a Expr,
    memory_size: u32,
    timeout: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    reserved_concurrent_executions: Option<u32>,
    environment: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    logging_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracing_config: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

impl Construct for Function {
    fn resources(&self) -> Vec<(String, Resource)> {
        let p = &self.props;
        let variables: BTreeMap<&String, Value> = p
            .environment
            .iter()
            .map(|(k, v)| (k, v.to_json()))
            .collect();
        let props = FunctionCfnProps {
            function_name: &p.function_name,
            description: &p.description,
            runtime: "provided.al2023",
            handler: "bootstrap",
            architectures: vec![&p.architecture],
            code: code(p),
            role: &p.role_arn,
            memory_size: p.memory_mb,
            timeout: p.timeout_seconds,
            reserved_concurrent_executions: p.reserved_concurrency,
            environment: json!({ "Variables": variables }),
            logging_config: p
                .log_group
                .as_ref()
                .map(|g| json!({ "LogFormat": "Text", "LogGroup": g })),
            tracing_config: p.tracing.map(|t| json!({ "Mode": t.mode() })),
            tags: tag_list(&p.tags),
        };
        let ids: Vec<&str> = self.depends_on.iter().map(String::as_str).collect();
        let resource = Resource::new("AWS::Lambda::Function", &props)
            .depends_on(&ids)
            .skip_checkov(
                "CKV_AWS_116",
                "Invoked synchronously by API Gateway, or by an SQS event source mapping whose \
                 queue has its own dead-letter queue: there is no asynchronous invocation for a \
                 function dead-letter queue to catch.",
            )
            .skip_checkov(
                "CKV_AWS_117",
                "Calls only public AWS endpoints (Bedrock, S3, SQS); a VPC would add NAT cost and cold-start latency.",
            )
            .skip_checkov(
                "CKV_AWS_173",
                "Environment holds configuration only (bucket name, model id, sampling); no secrets.",
            );
        vec![(self.logical_id.clone(), resource)]
    }
}

/// The function's `Code`: the package in S3, pinned to one object version when given. For a
/// versioned object `S3ObjectVersion` is "the version of the deployment package object to use"
/// (AWS::Lambda::Function Code, CloudFormation user guide), so a later write to the same key
/// cannot change what Lambda runs.
fn code(p: &FunctionProps) -> Value {
    let mut code = json!({ "S3Bucket": p.code_bucket, "S3Key": p.code_key });
    if let Some(version) = &p.code_version {
        code["S3ObjectVersion"] = version.to_json();
    }
    code
}

/// Lets a service principal invoke a function, from one source ARN only.
#[derive(Debug, Clone)]
pub struct Permission {
    logical_id: String,
    function: Expr,
    principal: String,
    source_arn: Expr,
}

impl Permission {
    /// `principal` (e.g. `apigateway.amazonaws.com`) may invoke `function` from `source_arn`.
    pub fn new(logical_id: &str, function: Expr, principal: &str, source_arn: Expr) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            function,
            principal: principal.to_owned(),
            source_arn,
        }
    }
}

impl Construct for Permission {
    fn resources(&self) -> Vec<(String, Resource)> {
        let props = json!({
            "Action": "lambda:InvokeFunction",
            "FunctionName": self.function,
            "Principal": self.principal,
            "SourceArn": self.source_arn,
        });
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::Lambda::Permission", &props),
        )]
    }
}

/// Polls an SQS queue and invokes a function with its messages (one at a time, reporting failed
/// messages individually so only those are delivered again).
#[derive(Debug, Clone)]
pub struct SqsEventSource {
    logical_id: String,
    function: Expr,
    queue_arn: Expr,
    maximum_concurrency: Option<u32>,
}

impl SqsEventSource {
    /// `function` consumes the queue `queue_arn`, batch size 1, partial batch responses.
    pub fn new(logical_id: &str, function: Expr, queue_arn: Expr) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            function,
            queue_arn,
            maximum_concurrency: None,
        }
    }

    /// At most this many concurrent invocations from this queue (2 to 1000).
    #[must_use]
    pub fn with_maximum_concurrency(mut self, n: u32) -> Self {
        self.maximum_concurrency = Some(n);
        self
    }
}

impl Construct for SqsEventSource {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut props = json!({
            "EventSourceArn": self.queue_arn,
            "FunctionName": self.function,
            "BatchSize": 1,
            "Enabled": true,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        });
        if let Some(n) = self.maximum_concurrency {
            props["ScalingConfig"] = json!({ "MaximumConcurrency": n });
        }
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::Lambda::EventSourceMapping", &props),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(code_version: Option<Expr>) -> FunctionProps {
        FunctionProps {
            function_name: "f".into(),
            description: "d".into(),
            role_arn: Expr::get_att("Role", "Arn"),
            code_bucket: Expr::reference("CodeS3Bucket"),
            code_key: Expr::reference("CodeS3Key"),
            code_version,
            architecture: Expr::str("arm64"),
            memory_mb: 512,
            timeout_seconds: 10,
            reserved_concurrency: None,
            environment: BTreeMap::new(),
            log_group: None,
            tracing: None,
            tags: Tags::new(),
        }
    }

    #[test]
    fn tracing_mode_is_written_only_when_set() {
        let untraced = Function::new("F", props(None)).resources();
        assert_eq!(untraced[0].1.property("TracingConfig"), None);
        let traced = Function::new(
            "F",
            FunctionProps {
                tracing: Some(Tracing::Active),
                ..props(None)
            },
        )
        .resources();
        assert_eq!(
            traced[0].1.property("TracingConfig"),
            Some(&json!({ "Mode": "Active" }))
        );
    }

    fn code_of(f: &Function) -> Value {
        let resources = f.resources();
        resources[0].1.property("Code").cloned().expect("Code")
    }

    #[test]
    fn code_is_pinned_to_the_object_version_when_given() {
        let pinned = Function::new("F", props(Some(Expr::reference("CodeS3ObjectVersion"))));
        assert_eq!(
            code_of(&pinned),
            json!({
                "S3Bucket": { "Ref": "CodeS3Bucket" },
                "S3Key": { "Ref": "CodeS3Key" },
                "S3ObjectVersion": { "Ref": "CodeS3ObjectVersion" },
            })
        );
        let unpinned = Function::new("F", props(None));
        assert!(code_of(&unpinned).get("S3ObjectVersion").is_none());
    }
}
