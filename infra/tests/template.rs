//! CDK `Template.fromStack`-style assertions on the synthesised codegen stack.
//!
//! Every test works on the template as CloudFormation reads it (`to_json_value()`), not on the
//! construct types, so a change in any construct that alters the deployed resources shows up here.
//! Stage files are read from `infra/stages/` (the committed ones) or derived from `dev.yaml` by
//! text replacement; the only other IO is reading the committed templates in `infra/templates/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen_contract::{OUTPUT_PREFIX, ROUTE_KEY, env};
use codegen_infra::config::{API_GATEWAY_TIMEOUT_SECONDS, StageConfig, list_stages, parse_stage};
use codegen_infra::render::{Format, render, template_path};
use codegen_infra::stack::outputs;
use serde_json::{Value, json};

const DEV_TEXT: &str = include_str!("../stages/dev.yaml");
const LOCAL_TEXT: &str = include_str!("../stages/local.yaml");
const DEV_FILE: &str = "infra/stages/dev.yaml";

/// The dev model's inference profile and the foundation model it routes to.
const PROFILE_ARN: &str = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.anthropic.claude-sonnet-4-6";
const FOUNDATION_MODEL_ARNS: [&str; 3] = [
    "arn:${AWS::Partition}:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-6",
];

// ---------------------------------------------------------------------------------------------
// Helpers: stages, templates and CDK-like finders on the JSON template.
// ---------------------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("infra/ has a parent directory (the workspace root)")
        .to_path_buf()
}

fn stage_from_text(name: &str, text: &str) -> StageConfig {
    parse_stage(name, &format!("infra/stages/{name}.yaml"), text)
        .unwrap_or_else(|e| panic!("stage `{name}` must parse: {e}"))
}

fn dev() -> StageConfig {
    stage_from_text("dev", DEV_TEXT)
}

fn local() -> StageConfig {
    stage_from_text("local", LOCAL_TEXT)
}

/// `dev.yaml` with `from` replaced by `to`; fails if `from` does not occur (so a renamed key in
/// the stage file cannot turn a negative test into a silent no-op).
fn dev_text_with(from: &str, to: &str) -> String {
    assert!(
        DEV_TEXT.contains(from),
        "dev.yaml no longer contains `{from}`: update the test"
    );
    DEV_TEXT.replace(from, to)
}

fn synth(cfg: &StageConfig) -> Value {
    codegen_infra::stack(cfg).to_json_value()
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"]
        .as_object()
        .expect("template has a Resources object")
}

/// Resources of one type, by logical id (CDK's `findResources`).
fn find_resources<'a>(t: &'a Value, type_name: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == type_name)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The one resource of a type (CDK's `resourceCountIs(type, 1)` plus the lookup).
fn only<'a>(t: &'a Value, type_name: &str) -> (&'a str, &'a Value) {
    let found = find_resources(t, type_name);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {type_name}, found {:?}",
        found.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    found[0]
}

fn props<'a>(t: &'a Value, type_name: &str) -> &'a Value {
    &only(t, type_name).1["Properties"]
}

/// A value that IAM allows as a single item or a list, as a list.
fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// Statements of every inline policy of the function role.
fn role_statements(t: &Value) -> Vec<&Value> {
    let role = props(t, "AWS::IAM::Role");
    let policies = role["Policies"].as_array().expect("role has Policies");
    assert_eq!(policies.len(), 1, "one inline policy, written by grants");
    policies
        .iter()
        .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
        .collect()
}

/// `(action, resource as JSON text)` for every action/resource pair the role's policy allows,
/// sorted, so the comparison is independent of statement order.
fn allowed_pairs(t: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for stmt in role_statements(t) {
        assert_eq!(
            stmt["Effect"], "Allow",
            "role statements are allows: {stmt}"
        );
        for key in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(stmt.get(key).is_none(), "{key} is never used: {stmt}");
        }
        for action in as_list(&stmt["Action"]) {
            for resource in as_list(&stmt["Resource"]) {
                pairs.push((str_of(action).to_owned(), resource.to_string()));
            }
        }
    }
    pairs.sort();
    pairs
}

fn sub(s: &str) -> String {
    json!({ "Fn::Sub": s }).to_string()
}

/// What the Bedrock grant writes for `action`: the profile plus the routed foundation models.
fn bedrock_pairs(action: &str) -> Vec<(String, String)> {
    std::iter::once(PROFILE_ARN)
        .chain(FOUNDATION_MODEL_ARNS)
        .map(|arn| (action.to_owned(), sub(arn)))
        .collect()
}

/// The dev role's complete permission set.
fn expected_dev_pairs() -> Vec<(String, String)> {
    let log_group_arn = json!({ "Fn::GetAtt": ["FunctionLogGroup", "Arn"] }).to_string();
    let mut pairs = vec![
        (
            "s3:PutObject".to_owned(),
            sub("${CodeBucket.Arn}/code-output/*"),
        ),
        ("logs:CreateLogStream".to_owned(), log_group_arn.clone()),
        ("logs:PutLogEvents".to_owned(), log_group_arn),
    ];
    pairs.extend(bedrock_pairs("bedrock:InvokeModel"));
    pairs.sort();
    pairs
}

// ---------------------------------------------------------------------------------------------
// 1. Resource counts.
// ---------------------------------------------------------------------------------------------

fn type_counts(t: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in resources(t).values() {
        *counts.entry(str_of(&r["Type"]).to_owned()).or_insert(0) += 1;
    }
    counts
}

fn expected_counts(with_bucket_policy: bool) -> BTreeMap<String, usize> {
    let mut expected: BTreeMap<String, usize> = [
        ("AWS::S3::Bucket", 1),
        ("AWS::IAM::Role", 1),
        ("AWS::Logs::LogGroup", 2),
        ("AWS::Lambda::Function", 1),
        ("AWS::Lambda::Permission", 1),
        ("AWS::ApiGatewayV2::Api", 1),
        ("AWS::ApiGatewayV2::Integration", 1),
        ("AWS::ApiGatewayV2::Route", 1),
        ("AWS::ApiGatewayV2::Stage", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if with_bucket_policy {
        expected.insert("AWS::S3::BucketPolicy".to_owned(), 1);
    }
    expected
}

#[test]
fn dev_has_exactly_the_expected_resources() {
    let t = synth(&dev());
    // An exact map also proves the absence of everything else: no ApiGatewayV2::Deployment (the
    // deployer deploys explicitly), no IAM::Policy / ManagedPolicy / User.
    assert_eq!(type_counts(&t), expected_counts(true));
    for absent in [
        "AWS::ApiGatewayV2::Deployment",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::User",
    ] {
        assert!(find_resources(&t, absent).is_empty(), "{absent} in dev");
    }
}

#[test]
fn local_has_no_bucket_policy_and_otherwise_the_same_resources() {
    // ministack serves plain HTTP, so the TLS-only bucket policy would deny every request there
    // (see infra/src/stack.rs).
    let t = synth(&local());
    assert_eq!(type_counts(&t), expected_counts(false));
    assert!(find_resources(&t, "AWS::S3::BucketPolicy").is_empty());
    assert!(find_resources(&t, "AWS::ApiGatewayV2::Deployment").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. The role's permissions.
// ---------------------------------------------------------------------------------------------

#[test]
fn dev_role_allows_exactly_put_invoke_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t), expected_dev_pairs());
}

#[test]
fn routed_foundation_models_are_conditioned_on_the_inference_profile() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        // The emulator-only statement is checked in `local_role_adds_only_the_emulator_converse_grant`.
        for stmt in role_statements(&t)
            .into_iter()
            .filter(|s| !str_of(&s["Sid"]).starts_with("EmulatorOnly"))
        {
            let resources: Vec<String> = as_list(&stmt["Resource"])
                .iter()
                .map(|r| r.to_string())
                .collect();
            let on_foundation_models = resources.iter().any(|r| r.contains("foundation-model/"));
            let condition = &stmt["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"];
            if on_foundation_models {
                assert_eq!(
                    *condition,
                    json!({ "Fn::Sub": PROFILE_ARN }),
                    "{}: foundation models only through the profile: {stmt}",
                    cfg.name
                );
                assert!(
                    resources.iter().all(|r| r.contains("foundation-model/")),
                    "{}: the condition must not leak onto other resources: {stmt}",
                    cfg.name
                );
            } else {
                assert!(
                    stmt.get("Condition").is_none(),
                    "{}: unexpected condition: {stmt}",
                    cfg.name
                );
            }
        }
    }
}

/// A `global.` profile: AWS's three statements (profile; regional foundation model through the
/// profile; region-less foundation model with `aws:RequestedRegion = unspecified` through the
/// profile), and nothing else for Bedrock.
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>
#[test]
fn global_profile_synthesises_the_documented_statements() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: global.anthropic.claude-opus-4-8",
        ),
    );
    let t = synth(&cfg);
    let profile = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/global.anthropic.claude-opus-4-8";
    let bedrock: Vec<&Value> = role_statements(&t)
        .into_iter()
        .filter(|s| str_of(&s["Sid"]).starts_with("Bedrock"))
        .collect();
    assert_eq!(bedrock.len(), 3, "{bedrock:?}");
    assert_eq!(bedrock[0]["Resource"], json!([{ "Fn::Sub": profile }]));
    assert!(bedrock[0].get("Condition").is_none());
    assert_eq!(
        bedrock[1]["Resource"],
        json!([{ "Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/anthropic.claude-opus-4-8" }])
    );
    assert_eq!(
        bedrock[1]["Condition"],
        json!({ "StringEquals": { "bedrock:InferenceProfileArn": { "Fn::Sub": profile } } })
    );
    assert_eq!(
        bedrock[2]["Resource"],
        json!([{ "Fn::Sub": "arn:${AWS::Partition}:bedrock:::foundation-model/anthropic.claude-opus-4-8" }])
    );
    assert_eq!(
        bedrock[2]["Condition"],
        json!({ "StringEquals": {
            "aws:RequestedRegion": "unspecified",
            "bedrock:InferenceProfileArn": { "Fn::Sub": profile }
        } })
    );
    for s in &bedrock {
        assert_eq!(s["Action"], json!(["bedrock:InvokeModel"]), "{s}");
    }
}

/// A geographic profile from another source region names that region's documented destinations.
#[test]
fn geographic_profile_follows_the_source_region() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with("region: us-east-1", "region: eu-west-1").replace(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: eu.anthropic.claude-sonnet-4-6",
        ),
    );
    let t = synth(&cfg);
    let routed = role_statements(&t)
        .into_iter()
        .find(|s| str_of(&s["Sid"]) == "BedrockInvokeRoutedFoundationModel")
        .expect("routed statement");
    let regions: Vec<String> = as_list(&routed["Resource"])
        .iter()
        .map(|r| {
            let arn = r["Fn::Sub"].as_str().unwrap_or_default();
            let after = arn.split_once(":bedrock:").map_or("", |(_, rest)| rest);
            after.split(':').next().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        regions,
        ["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"]
    );
}

#[test]
fn local_role_adds_only_the_emulator_converse_grant() {
    let t = synth(&local());
    let (emulator_only, aws): (Vec<&Value>, Vec<&Value>) = role_statements(&t)
        .into_iter()
        .partition(|s| str_of(&s["Sid"]).starts_with("EmulatorOnly"));

    // What AWS would evaluate is exactly dev's permission set.
    let mut aws_template = t.clone();
    aws_template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] =
        Value::Array(aws.into_iter().cloned().collect());
    assert_eq!(allowed_pairs(&aws_template), expected_dev_pairs());

    // ministack authorises Converse as `bedrock:Converse` on `foundation-model/<the id in the
    // request>`, here the inference profile id: one statement naming exactly that id.
    let mut emulator_template = t.clone();
    emulator_template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"] = Value::Array(emulator_only.into_iter().cloned().collect());
    assert_eq!(
        allowed_pairs(&emulator_template),
        vec![(
            "bedrock:Converse".to_owned(),
            sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/us.anthropic.claude-sonnet-4-6"
            ),
        )]
    );

    for stmt in role_statements(&t) {
        let sid = str_of(&stmt["Sid"]);
        let is_converse = as_list(&stmt["Action"]).contains(&&json!("bedrock:Converse"));
        assert_eq!(
            is_converse,
            sid.starts_with("EmulatorOnly"),
            "bedrock:Converse statements, and only they, are marked EmulatorOnly: {stmt}"
        );
    }

    let metadata = &only(&t, "AWS::IAM::Role").1["Metadata"];
    assert_eq!(
        metadata["cfn-lint"]["config"]["ignore_checks"],
        json!(["W3037"])
    );
    let reason = metadata["Comments"]["cfn-lint W3037"]
        .as_str()
        .expect("the W3037 ignore has a reason");
    assert!(reason.contains("ministack"), "{reason}");
}

#[test]
fn dev_never_mentions_bedrock_converse_or_lint_ignores() {
    let t = synth(&dev());
    let text = t.to_string();
    assert!(
        !text.contains("bedrock:Converse"),
        "dev grants only real IAM actions"
    );
    assert!(!text.contains("EmulatorOnly"));
    assert!(only(&t, "AWS::IAM::Role").1.get("Metadata").is_none());
}

// ---------------------------------------------------------------------------------------------
// 3. Trust policy and permissions boundary.
// ---------------------------------------------------------------------------------------------

#[test]
fn trust_policy_is_lambda_only_and_scoped_to_the_account() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let role = props(&t, "AWS::IAM::Role");
        assert_eq!(
            role["AssumeRolePolicyDocument"],
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "lambda.amazonaws.com" },
                    "Action": ["sts:AssumeRole"],
                    "Condition": {
                        "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } }
                    }
                }]
            }),
            "{}",
            cfg.name
        );
        assert!(role.get("ManagedPolicyArns").is_none(), "{}", cfg.name);
        assert!(role.get("PermissionsBoundary").is_none(), "{}", cfg.name);
    }
}

#[test]
fn permissions_boundary_is_set_iff_the_stage_sets_it() {
    let arn = "arn:aws:iam::123456789012:policy/codegen-boundary";
    let text = format!("{DEV_TEXT}permissions_boundary: {arn}\n");
    let t = synth(&stage_from_text("dev", &text));
    let role = props(&t, "AWS::IAM::Role");
    assert_eq!(role["PermissionsBoundary"], arn);
    // The boundary changes nothing else about the role's permissions.
    assert_eq!(allowed_pairs(&t), expected_dev_pairs());
}

// ---------------------------------------------------------------------------------------------
// 4. Least privilege across every IAM statement in the template.
// ---------------------------------------------------------------------------------------------

/// Walks every IAM policy document in a template (any `PolicyDocument` or
/// `AssumeRolePolicyDocument` anywhere under a resource's properties) and returns one line per
/// wildcard an `Allow` grants: an action containing `*`, a resource `*` (literal or `Fn::Sub`), a
/// principal `*`, or any `Not*` element.
///
/// The single allowance: the bucket policy's TLS-only `Deny` (`s3:*` for `"AWS": "*"` when
/// `aws:SecureTransport` is `"false"`) is AWS's documented way to refuse plain HTTP. A deny cannot
/// grant anything, but it is still matched narrowly (resource type, effect and condition) so a
/// wildcard anywhere else, deny or not, is reported.
fn wildcard_findings(template: &Value) -> Vec<String> {
    let mut findings = Vec::new();
    let Some(resources) = template["Resources"].as_object() else {
        return vec!["template has no Resources".to_owned()];
    };
    for (id, resource) in resources {
        let type_name = resource["Type"].as_str().unwrap_or_default();
        let mut documents = Vec::new();
        collect_policy_documents(&resource["Properties"], &mut documents);
        for (doc_index, document) in documents.into_iter().enumerate() {
            for stmt in as_list(&document["Statement"]) {
                let at = format!("{id} ({type_name}) document {doc_index}: {stmt}");
                let is_tls_only_deny = type_name == "AWS::S3::BucketPolicy"
                    && stmt["Effect"] == "Deny"
                    && stmt["Condition"]["Bool"]["aws:SecureTransport"] == "false";
                if is_tls_only_deny {
                    // Allowed: `s3:*`, `Principal: {AWS: *}` in the TLS-only deny (see above).
                    continue;
                }
                for key in ["NotAction", "NotResource", "NotPrincipal"] {
                    if stmt.get(key).is_some() {
                        findings.push(format!("{key} used in {at}"));
                    }
                }
                for action in as_list(&stmt["Action"]) {
                    if action.as_str().is_none_or(|a| a.contains('*')) {
                        findings.push(format!("wildcard action {action} in {at}"));
                    }
                }
                for resource in as_list(&stmt["Resource"]) {
                    if is_wildcard_resource(resource) {
                        findings.push(format!("wildcard resource {resource} in {at}"));
                    }
                }
                if is_wildcard_principal(&stmt["Principal"]) {
                    findings.push(format!("wildcard principal in {at}"));
                }
            }
        }
    }
    findings
}

fn collect_policy_documents<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "PolicyDocument" || key == "AssumeRolePolicyDocument" {
                    out.push(child);
                } else {
                    collect_policy_documents(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_policy_documents(v, out)),
        _ => {}
    }
}

fn is_wildcard_resource(resource: &Value) -> bool {
    match resource {
        Value::String(s) => s == "*",
        Value::Object(map) => match map.get("Fn::Sub") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Array(parts)) => parts.first().is_some_and(|p| p == "*"),
            _ => false,
        },
        _ => false,
    }
}

fn is_wildcard_principal(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .values()
            .flat_map(as_list)
            .any(|p| p.as_str() == Some("*")),
        _ => false,
    }
}

#[test]
fn no_statement_in_any_stage_grants_a_wildcard() {
    for cfg in [dev(), local()] {
        let findings = wildcard_findings(&synth(&cfg));
        assert!(
            findings.is_empty(),
            "{}: least-privilege violations:\n{}",
            cfg.name,
            findings.join("\n")
        );
    }
}

#[test]
fn the_checker_sees_the_bucket_policy_and_its_allowance_is_narrow() {
    let t = synth(&dev());
    // The checker must actually reach the documents: the dev template has three (trust, inline
    // policy, bucket policy).
    let mut docs = Vec::new();
    for r in resources(&t).values() {
        collect_policy_documents(&r["Properties"], &mut docs);
    }
    assert_eq!(docs.len(), 3);

    // The same deny without its TLS condition is no longer the allowed exception.
    let mut tampered = t.clone();
    let statement = &mut tampered["Resources"]["CodeBucketPolicy"]["Properties"]["PolicyDocument"]
        ["Statement"][0];
    statement
        .as_object_mut()
        .expect("statement is an object")
        .remove("Condition");
    let findings = wildcard_findings(&tampered);
    assert!(
        findings.iter().any(|f| f.contains("\"s3:*\"")),
        "{findings:?}"
    );
}

#[test]
fn the_checker_reports_deliberately_bad_templates() {
    let bad_role = |statement: Value| {
        json!({
            "Resources": {
                "BadRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "Policies": [{
                            "PolicyName": "p",
                            "PolicyDocument": { "Version": "2012-10-17", "Statement": [statement] }
                        }]
                    }
                }
            }
        })
    };
    let cases = [
        (
            json!({ "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*" }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/*"] }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*" }),
            "wildcard action",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*" }),
            "wildcard resource",
        ),
        (
            json!({ "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [{ "Fn::Sub": "*" }] }),
            "wildcard resource",
        ),
        (
            json!({ "Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["arn:aws:s3:::b"] }),
            "NotAction",
        ),
        (
            // A deny outside a bucket policy's TLS-only statement is not the allowed exception.
            json!({ "Effect": "Deny", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"] }),
            "wildcard action",
        ),
    ];
    for (statement, expected) in cases {
        let findings = wildcard_findings(&bad_role(statement.clone()));
        assert!(
            findings.iter().any(|f| f.contains(expected)),
            "{statement} must be reported as `{expected}`, got {findings:?}"
        );
    }

    let public_bucket_policy = json!({
        "Resources": {
            "P": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "PolicyDocument": { "Statement": [{
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject"],
                        "Resource": [{ "Fn::Sub": "${B.Arn}/*" }]
                    }]}
                }
            }
        }
    });
    let findings = wildcard_findings(&public_bucket_policy);
    assert!(
        findings.iter().any(|f| f.contains("wildcard principal")),
        "{findings:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Bucket protections.
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_is_private_encrypted_versioned_and_expires_generated_code() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let (id, bucket) = only(&t, "AWS::S3::Bucket");
        assert_eq!(id, "CodeBucket");
        assert_eq!(bucket["DeletionPolicy"], "Delete", "{}", cfg.name);
        let p = &bucket["Properties"];
        assert_eq!(
            p["PublicAccessBlockConfiguration"],
            json!({
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            })
        );
        assert_eq!(
            p["OwnershipControls"],
            json!({ "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] })
        );
        assert_eq!(
            p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            "AES256"
        );
        assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
        assert!(p.get("BucketName").is_none(), "name is generated");
        assert!(p.get("AccessControl").is_none(), "no ACLs");

        let rules = p["LifecycleConfiguration"]["Rules"]
            .as_array()
            .expect("lifecycle rules");
        assert!(rules.iter().all(|r| r["Status"] == "Enabled"));
        let expiry: Vec<&Value> = rules
            .iter()
            .filter(|r| r.get("ExpirationInDays").is_some())
            .collect();
        assert_eq!(expiry.len(), 1, "{}: {rules:?}", cfg.name);
        assert_eq!(expiry[0]["Prefix"], OUTPUT_PREFIX);
        assert_eq!(expiry[0]["ExpirationInDays"], cfg.bucket.code_expiry_days);
        assert!(
            rules
                .iter()
                .any(|r| r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1),
            "{}: incomplete multipart uploads are aborted",
            cfg.name
        );
        assert!(
            rules
                .iter()
                .any(|r| r["NoncurrentVersionExpiration"]["NoncurrentDays"]
                    == cfg.bucket.noncurrent_expiry_days),
            "{}: noncurrent versions expire",
            cfg.name
        );
    }
}

#[test]
fn dev_bucket_policy_denies_plain_http_on_bucket_and_objects() {
    let t = synth(&dev());
    let policy = props(&t, "AWS::S3::BucketPolicy");
    assert_eq!(policy["Bucket"], json!({ "Ref": "CodeBucket" }));
    assert_eq!(
        policy["PolicyDocument"],
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ["s3:*"],
                "Resource": [
                    { "Fn::GetAtt": ["CodeBucket", "Arn"] },
                    { "Fn::Sub": "${CodeBucket.Arn}/*" }
                ],
                "Condition": { "Bool": { "aws:SecureTransport": "false" } }
            }]
        })
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Route and integration.
// ---------------------------------------------------------------------------------------------

#[test]
fn route_requires_iam_auth_in_the_committed_stages() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let route = props(&t, "AWS::ApiGatewayV2::Route");
        assert_eq!(route["AuthorizationType"], "AWS_IAM", "{}", cfg.name);
        assert_eq!(route["RouteKey"], ROUTE_KEY);
        assert_eq!(route["ApiId"], json!({ "Ref": "Api" }));
        let (integration_id, _) = only(&t, "AWS::ApiGatewayV2::Integration");
        assert_eq!(
            route["Target"],
            json!({ "Fn::Sub": format!("integrations/${{{integration_id}}}") })
        );
    }
}

#[test]
fn route_is_open_only_when_the_stage_says_auth_none() {
    let cfg = stage_from_text("dev", &dev_text_with("auth: aws_iam", "auth: none"));
    let t = synth(&cfg);
    assert_eq!(
        props(&t, "AWS::ApiGatewayV2::Route")["AuthorizationType"],
        "NONE"
    );
}

#[test]
fn integration_proxies_to_the_function_within_the_api_gateway_limit() {
    let t = synth(&dev());
    let integration = props(&t, "AWS::ApiGatewayV2::Integration");
    assert_eq!(integration["IntegrationType"], "AWS_PROXY");
    assert_eq!(integration["PayloadFormatVersion"], "2.0");
    assert_eq!(
        integration["IntegrationUri"],
        json!({ "Fn::GetAtt": ["Function", "Arn"] })
    );
    let timeout = integration["TimeoutInMillis"]
        .as_u64()
        .expect("TimeoutInMillis is an integer");
    assert!((50..=30_000).contains(&timeout), "{timeout}");
}

// ---------------------------------------------------------------------------------------------
// 7. Stage.
// ---------------------------------------------------------------------------------------------

#[test]
fn stage_is_deployed_explicitly_throttled_and_access_logged() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let stage = props(&t, "AWS::ApiGatewayV2::Stage");
        assert_eq!(stage["StageName"], cfg.name.as_str());
        assert_eq!(stage["AutoDeploy"], false);
        assert_eq!(stage["ApiId"], json!({ "Ref": "Api" }));
        let settings = &stage["DefaultRouteSettings"];
        assert_eq!(
            settings["ThrottlingRateLimit"].as_f64(),
            Some(cfg.api.throttling.rate_limit)
        );
        assert_eq!(
            settings["ThrottlingBurstLimit"],
            cfg.api.throttling.burst_limit
        );

        let (access_logs_id, _) = find_resources(&t, "AWS::Logs::LogGroup")
            .into_iter()
            .find(|(_, g)| {
                g["Properties"]["LogGroupName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("/aws/apigateway/"))
            })
            .expect("an access log group");
        assert_eq!(
            stage["AccessLogSettings"]["DestinationArn"],
            json!({ "Fn::Sub": format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{access_logs_id}}}"
            ) })
        );
        let format = str_of(&stage["AccessLogSettings"]["Format"]);
        let parsed: Value = serde_json::from_str(format).expect("access log format is JSON");
        assert_eq!(parsed["requestId"], "$context.requestId");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Lambda permission.
// ---------------------------------------------------------------------------------------------

#[test]
fn invoke_permission_is_scoped_to_this_api_stage_method_and_path() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let permission = props(&t, "AWS::Lambda::Permission");
        assert_eq!(permission["Action"], "lambda:InvokeFunction");
        assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
        assert_eq!(
            permission["FunctionName"],
            json!({ "Fn::GetAtt": ["Function", "Arn"] })
        );
        let source_arn = str_of(&permission["SourceArn"]["Fn::Sub"]);
        assert_eq!(
            source_arn,
            format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{Api}}/{}/PUT/code-generation",
                cfg.name
            )
        );
        assert!(!source_arn.contains('*'), "no wildcards: {source_arn}");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Function.
// ---------------------------------------------------------------------------------------------

#[test]
fn function_runs_the_bootstrap_from_the_package_parameters() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let f = props(&t, "AWS::Lambda::Function");
        assert_eq!(f["Runtime"], "provided.al2023");
        assert_eq!(f["Handler"], "bootstrap");
        assert_eq!(f["Architectures"], json!([{ "Ref": "Architecture" }]));
        assert_eq!(
            t["Parameters"]["Architecture"]["Default"],
            cfg.function.architecture.as_str()
        );
        assert_eq!(
            f["Code"],
            json!({ "S3Bucket": { "Ref": "CodeS3Bucket" }, "S3Key": { "Ref": "CodeS3Key" } })
        );
        assert_eq!(f["Role"], json!({ "Fn::GetAtt": ["FunctionRole", "Arn"] }));
        assert_eq!(f["FunctionName"], cfg.function_name());
        assert_eq!(f["MemorySize"], cfg.function.memory_mb);
        let timeout = f["Timeout"].as_u64().expect("Timeout is an integer");
        assert_eq!(timeout, u64::from(cfg.function.timeout_seconds));
        assert!(
            timeout < u64::from(API_GATEWAY_TIMEOUT_SECONDS),
            "{timeout}"
        );
        assert_eq!(
            f["ReservedConcurrentExecutions"].as_u64(),
            cfg.function.reserved_concurrency.map(u64::from)
        );
        assert_eq!(
            f["LoggingConfig"]["LogGroup"],
            json!({ "Ref": "FunctionLogGroup" })
        );
    }
}

#[test]
fn function_environment_sets_every_contract_variable() {
    for (cfg, path_style) in [(dev(), "false"), (local(), "true")] {
        let t = synth(&cfg);
        let vars = props(&t, "AWS::Lambda::Function")["Environment"]["Variables"]
            .as_object()
            .expect("environment variables");
        let names: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = env::ALL.into_iter().collect();
        assert_eq!(
            names, expected,
            "{}: set every contract variable, no others",
            cfg.name
        );
        for (name, value) in vars {
            let set = match value {
                Value::String(s) => !s.is_empty(),
                Value::Object(_) => true,
                _ => false,
            };
            assert!(
                set,
                "{}: {name} is unset or not a string: {value}",
                cfg.name
            );
        }

        assert_eq!(vars[env::BUCKET], json!({ "Ref": "CodeBucket" }));
        assert_eq!(vars[env::PREFIX], OUTPUT_PREFIX);
        assert_eq!(vars[env::MODEL_ID], cfg.model.id.as_str());
        assert_eq!(vars[env::S3_FORCE_PATH_STYLE], path_style, "{}", cfg.name);
        assert_eq!(vars[env::TOP_K], cfg.sampling.top_k.to_string());
        assert_eq!(vars[env::MAX_TOKENS], cfg.sampling.max_tokens.to_string());
        let parse_f64 = |name: &str| -> f64 {
            str_of(&vars[name])
                .parse()
                .unwrap_or_else(|e| panic!("{name} is a number: {e}"))
        };
        assert_eq!(parse_f64(env::TEMPERATURE), cfg.sampling.temperature);
        assert_eq!(parse_f64(env::TOP_P), cfg.sampling.top_p);

        // The model call must end early enough for S3 and the response before Lambda (and API
        // Gateway) give up.
        let model_timeout_ms: u32 = str_of(&vars[env::MODEL_TIMEOUT_MS])
            .parse()
            .expect("model timeout is an integer");
        let headroom_ms = 3000;
        assert!(
            model_timeout_ms + headroom_ms < cfg.function.timeout_seconds * 1000,
            "{}: model timeout {model_timeout_ms} ms leaves under {headroom_ms} ms of a {} s function",
            cfg.name,
            cfg.function.timeout_seconds
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Log groups.
// ---------------------------------------------------------------------------------------------

#[test]
fn log_groups_are_owned_retained_and_named_after_their_source() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let groups = find_resources(&t, "AWS::Logs::LogGroup");
        assert_eq!(groups.len(), 2);
        for (id, group) in &groups {
            assert_eq!(group["DeletionPolicy"], "Delete", "{id}");
            assert_eq!(
                group["Properties"]["RetentionInDays"], cfg.logs.retention_days,
                "{id}"
            );
        }
        let function_group = &resources(&t)["FunctionLogGroup"];
        assert_eq!(
            function_group["Properties"]["LogGroupName"],
            format!("/aws/lambda/{}", cfg.function_name())
        );
        assert_eq!(
            function_group["Properties"]["LogGroupName"],
            format!(
                "/aws/lambda/{}",
                str_of(&props(&t, "AWS::Lambda::Function")["FunctionName"])
            )
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 11. Outputs.
// ---------------------------------------------------------------------------------------------

#[test]
fn outputs_are_exactly_what_the_deployer_reads() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let names: BTreeSet<&str> = t["Outputs"]
            .as_object()
            .expect("outputs")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = [
            outputs::API_ENDPOINT,
            outputs::INVOKE_URL,
            outputs::BUCKET_NAME,
            outputs::FUNCTION_NAME,
            outputs::ROLE_ARN,
            outputs::API_ID,
            outputs::STAGE_NAME,
            outputs::LOG_GROUP,
        ]
        .into_iter()
        .collect();
        assert_eq!(names, expected);
        let value = |name: &str| &t["Outputs"][name]["Value"];
        assert_eq!(*value(outputs::STAGE_NAME), cfg.name.as_str());
        assert_eq!(*value(outputs::BUCKET_NAME), json!({ "Ref": "CodeBucket" }));
        assert_eq!(*value(outputs::FUNCTION_NAME), json!({ "Ref": "Function" }));
        assert_eq!(
            *value(outputs::LOG_GROUP),
            json!({ "Ref": "FunctionLogGroup" })
        );
        assert_eq!(
            *value(outputs::INVOKE_URL),
            json!({ "Fn::Sub": format!("${{Api.ApiEndpoint}}/{}/code-generation", cfg.name) })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Checkov skips.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_checkov_skip_is_expected_and_justified() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let mut skipped = BTreeSet::new();
        for (id, resource) in resources(&t) {
            for skip in as_list(&resource["Metadata"]["checkov"]["skip"]) {
                let check = str_of(&skip["id"]);
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    comment.trim().len() > 10,
                    "{}: checkov skip {check} on {id} needs a reason",
                    cfg.name
                );
                assert!(
                    skipped.insert((id.clone(), check.to_owned())),
                    "{id}: {check} skipped twice"
                );
            }
        }
        let expected: BTreeSet<(String, String)> = [
            ("ApiAccessLogGroup", "CKV_AWS_158"),
            ("CodeBucket", "CKV_AWS_18"),
            ("Function", "CKV_AWS_116"),
            ("Function", "CKV_AWS_117"),
            ("Function", "CKV_AWS_173"),
            ("FunctionLogGroup", "CKV_AWS_158"),
        ]
        .into_iter()
        .map(|(id, check)| (id.to_owned(), check.to_owned()))
        .collect();
        assert_eq!(skipped, expected, "{}", cfg.name);
    }
}

// ---------------------------------------------------------------------------------------------
// 13. Committed templates are fresh.
// ---------------------------------------------------------------------------------------------

#[test]
fn committed_templates_are_fresh() {
    let root = workspace_root();
    let stages = list_stages(&root);
    assert!(
        stages.contains(&"dev".to_owned()) && stages.contains(&"local".to_owned()),
        "{stages:?}"
    );
    for stage in stages {
        let cfg = codegen_infra::load_stage(&root, &stage)
            .unwrap_or_else(|e| panic!("stage {stage}: {e}"));
        let rendered = render(&codegen_infra::stack(&cfg), &stage, Format::Yaml)
            .expect("rendering is infallible for plain data");
        let path = template_path(&root, &stage, Format::Yaml);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        // `assert!` rather than `assert_eq!`: the message must lead with the fix, and a 350-line
        // diff dump buries it.
        assert!(
            rendered == committed,
            "{} is stale or missing: run `cargo xtask synth --stage {stage}` and commit (first \
             difference at line {})",
            path.display(),
            first_difference(&rendered, &committed)
        );
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

// ---------------------------------------------------------------------------------------------
// 14. Determinism and YAML fidelity.
// ---------------------------------------------------------------------------------------------

#[test]
fn synthesis_and_rendering_are_deterministic() {
    for cfg in [dev(), local()] {
        let a = codegen_infra::stack(&cfg);
        let b = codegen_infra::stack(&cfg);
        assert_eq!(a, b);
        for format in [Format::Yaml, Format::Json] {
            assert_eq!(
                render(&a, &cfg.name, format).expect("render"),
                render(&b, &cfg.name, format).expect("render"),
                "{} {format:?}",
                cfg.name
            );
        }
    }
}

#[test]
fn rendered_yaml_and_json_read_back_as_the_template() {
    for cfg in [dev(), local()] {
        let template = codegen_infra::stack(&cfg);
        let expected = template.to_json_value();

        let yaml = render(&template, &cfg.name, Format::Yaml).expect("render yaml");
        let (header, body) = yaml.split_once('\n').expect("a header line");
        assert!(
            header.starts_with("# Generated by `cargo xtask synth"),
            "{header}"
        );
        let from_yaml: Value = serde_saphyr::from_str(body).expect("rendered YAML parses");
        assert_eq!(
            from_yaml, expected,
            "{}: YAML does not read back as the template (folded scalar or quoting bug?)",
            cfg.name
        );
        // And with the header comment left in, as CloudFormation reads the file.
        let whole: Value = serde_saphyr::from_str(&yaml).expect("YAML with header parses");
        assert_eq!(whole, expected);

        let json_text = render(&template, &cfg.name, Format::Json).expect("render json");
        let from_json: Value = serde_json::from_str(&json_text).expect("rendered JSON parses");
        assert_eq!(from_json, expected);
    }
}

#[test]
fn rendered_yaml_uses_no_short_form_tags() {
    for cfg in [dev(), local()] {
        let yaml =
            render(&codegen_infra::stack(&cfg), &cfg.name, Format::Yaml).expect("render yaml");
        for (n, line) in yaml.lines().enumerate() {
            let value = line.trim_start().trim_start_matches("- ");
            let value = value.split_once(": ").map_or(value, |(_, v)| v);
            assert!(
                !value.starts_with('!'),
                "{} line {}: YAML tag in `{line}` (use long-form intrinsics)",
                cfg.name,
                n + 1
            );
        }
        for tag in [
            "!Ref", "!GetAtt", "!Sub", "!Join", "!If", "!Select", "!Split",
        ] {
            assert!(!yaml.contains(tag), "{}: {tag}", cfg.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 15. Stage validation.
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_stages_name_the_file_and_the_key() {
    // (text in dev.yaml, replacement, key the error must name)
    let cases: &[(&str, &str, &str)] = &[
        ("region: us-east-1", "region: mars", "region"),
        (
            "region: us-east-1",
            "region: us-east-1\nstack_name: 9lives",
            "stack_name",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\nendpoint: http://127.0.0.1:4566",
            "emulator",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\nendpoint: https://s3.amazonaws.com\nemulator: ministack",
            "endpoint",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: amazon.titan-text-express-v1",
            "model.id",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: anthropic.claude-v2",
            "model.id",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: us.anthropic.claude-sonnet-4-6\n  foundation_model: anthropic.claude-3-haiku-20240307-v1:0",
            "model.foundation_model",
        ),
        (
            "id: us.anthropic.claude-sonnet-4-6",
            "id: us.anthropic.claude-sonnet-4-6\n  regions: [us-east-1, Mars]",
            "model.regions",
        ),
        ("region: us-east-1", "region: ap-south-1", "model.id"),
        (
            "temperature: 0.1",
            "temperature: 1.5",
            "sampling.temperature",
        ),
        ("top_k: 250", "top_k: 0", "sampling.top_k"),
        ("top_p: 0.2", "top_p: 2", "sampling.top_p"),
        (
            "max_tokens: 2048",
            "max_tokens: 9000",
            "sampling.max_tokens",
        ),
        ("architecture: arm64", "architecture: sparc", "architecture"),
        ("memory_mb: 512", "memory_mb: 64", "function.memory_mb"),
        (
            "timeout_seconds: 29",
            "timeout_seconds: 30",
            "function.timeout_seconds",
        ),
        (
            "timeout_seconds: 29",
            "timeout_seconds: 0",
            "function.timeout_seconds",
        ),
        (
            "reserved_concurrency: 10",
            "reserved_concurrency: 0",
            "function.reserved_concurrency",
        ),
        (
            "max_message_bytes: 8192",
            "max_message_bytes: 0",
            "function.max_message_bytes",
        ),
        ("auth: aws_iam", "auth: open", "auth"),
        (
            "rate_limit: 5",
            "rate_limit: 0",
            "api.throttling.rate_limit",
        ),
        (
            "burst_limit: 10",
            "burst_limit: 0",
            "api.throttling.burst_limit",
        ),
        (
            "retention_days: 30",
            "retention_days: 31",
            "logs.retention_days",
        ),
        (
            "code_expiry_days: 90",
            "code_expiry_days: 0",
            "bucket.code_expiry_days",
        ),
        (
            "noncurrent_expiry_days: 7",
            "noncurrent_expiry_days: 0",
            "bucket.noncurrent_expiry_days",
        ),
        (
            "region: us-east-1",
            "region: us-east-1\npermissions_boundary: boundary",
            "permissions_boundary",
        ),
        (
            "stage: dev",
            "stage: dev\n  aws:owner: me",
            "tags.aws:owner",
        ),
        ("memory_mb: 512", "memory_mb: 512\n  memroy: 3", "memroy"),
    ];
    for (from, to, key) in cases {
        let text = dev_text_with(from, to);
        let err = parse_stage("dev", DEV_FILE, &text)
            .expect_err(&format!("`{to}` must be rejected"))
            .to_string();
        assert!(
            err.contains(DEV_FILE),
            "`{to}`: error must name the file: {err}"
        );
        assert!(err.contains(key), "`{to}`: error must name `{key}`: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------------------------

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the measured figure is the point of this test; visible with --nocapture"
)]
fn synthesising_and_rendering_both_stages_is_fast() {
    const RUNS: usize = 20;
    const BUDGET: Duration = Duration::from_millis(50);
    let mut samples: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for (name, text) in [("dev", DEV_TEXT), ("local", LOCAL_TEXT)] {
                let cfg = stage_from_text(name, text);
                let yaml =
                    render(&codegen_infra::stack(&cfg), name, Format::Yaml).expect("render yaml");
                std::hint::black_box(yaml);
            }
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[RUNS / 2];
    eprintln!(
        "parse + synth + render (dev, local): median {median:?}, min {:?}, max {:?} over {RUNS} runs",
        samples[0],
        samples[RUNS - 1]
    );
    assert!(
        median < BUDGET,
        "median {median:?} over {RUNS} runs exceeds {BUDGET:?}"
    );
}
