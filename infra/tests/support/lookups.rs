//! Generic lookups in a synthesised CloudFormation template, for what CDK's assertions API leaves
//! to the test: the policy documents and statements of IAM resources, an HTTP API's route by route
//! key and the integration it targets, the logical id a `Ref` or `Fn::GetAtt` names, and small
//! accessors for the JSON values inside. Pure, no IO; each lookup fails the test, naming what it
//! looked for, when the template does not have it.
//!
//! Nothing here knows this stack: expectations (which role may do what, how many of each) belong
//! in the test files.

use std::collections::BTreeSet;

use cfn_constructs::view::{Statement, policy_documents_in, statements_of};
use serde_json::{Value, json};

use super::assertions::{find_resources_like, logical_ids, properties};

// ---------------------------------------------------------------------------------------------
// JSON values.
// ---------------------------------------------------------------------------------------------

/// A value that IAM and CloudFormation allow as a single item or a list (`Action`, `Resource`,
/// `Statement`, `DependsOn`), as a list; a missing value is an empty list (the construct
/// library's reader, re-exported for the tests).
pub use cfn_constructs::view::as_list;

/// A value that must be a JSON list of strings, as `&str`s (stricter than [`as_list`]: a single
/// string or a missing value fails).
#[track_caller]
pub fn string_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {v}"))
        .iter()
        .map(str_of)
        .collect()
}

/// A value that must be a string.
#[track_caller]
pub fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// A value that must be a non-negative integer.
#[track_caller]
pub fn u64_of(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

// ---------------------------------------------------------------------------------------------
// Intrinsic functions.
// ---------------------------------------------------------------------------------------------

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, attribute]}` names.
#[track_caller]
pub fn referenced_id(v: &Value) -> &str {
    v.get("Ref")
        .or_else(|| v.get("Fn::GetAtt").and_then(|a| a.get(0)))
        .map_or_else(|| panic!("expected a Ref or Fn::GetAtt, got {v}"), str_of)
}

// ---------------------------------------------------------------------------------------------
// IAM.
// ---------------------------------------------------------------------------------------------

/// Every IAM policy document under `value` (a resource's `Properties`, say): each
/// `PolicyDocument`, `AssumeRolePolicyDocument` and KMS `KeyPolicy` at any depth, in document
/// order.
pub fn policy_documents(value: &Value) -> Vec<&Value> {
    policy_documents_in(value)
        .into_iter()
        .map(|d| d.value)
        .collect()
}

/// The statements of a policy document (IAM allows one statement object or a list); a document
/// without `Statement` fails.
#[track_caller]
pub fn statements(document: &Value) -> Vec<&Value> {
    let statements = &document["Statement"];
    assert!(
        !statements.is_null(),
        "a policy document without statements: {document}"
    );
    statements_of(document)
        .into_iter()
        .map(|s| s.value)
        .collect()
}

/// The documents of the inline policies (`Policies[*].PolicyDocument`) of the `AWS::IAM::Role`
/// with logical id `role_id`, in order; a role without `Policies` fails.
#[track_caller]
pub fn role_policy_documents<'a>(t: &'a Value, role_id: &str) -> Vec<&'a Value> {
    properties(t, role_id, "AWS::IAM::Role")["Policies"]
        .as_array()
        .unwrap_or_else(|| panic!("{role_id} has Policies"))
        .iter()
        .map(|p| &p["PolicyDocument"])
        .collect()
}

/// The statements of every inline policy of role `role_id`, in order.
#[track_caller]
pub fn role_statements<'a>(t: &'a Value, role_id: &str) -> Vec<&'a Value> {
    role_policy_documents(t, role_id)
        .into_iter()
        .flat_map(statements)
        .collect()
}

/// The statement with `Sid` `sid` among `statements` (the first, should two share it).
#[track_caller]
pub fn statement_with_sid<'a>(
    statements: impl IntoIterator<Item = &'a Value>,
    sid: &str,
) -> &'a Value {
    statements
        .into_iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement with Sid {sid}"))
}

/// Every action `statements` name (`Action`, a string or a list of strings), sorted.
#[track_caller]
pub fn actions<'a>(statements: impl IntoIterator<Item = &'a Value>) -> BTreeSet<&'a str> {
    statements
        .into_iter()
        .flat_map(|s| Statement { value: s }.actions())
        .map(str_of)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// API Gateway v2 (HTTP APIs).
// ---------------------------------------------------------------------------------------------

/// The one `AWS::ApiGatewayV2::Route` with `route_key` (`"PUT /path"`), with its logical id; none
/// or several fail.
#[track_caller]
pub fn route<'a>(t: &'a Value, route_key: &str) -> (&'a str, &'a Value) {
    let found = find_resources_like(
        t,
        "AWS::ApiGatewayV2::Route",
        &json!({ "RouteKey": route_key }),
    );
    assert_eq!(
        found.len(),
        1,
        "one route {route_key}: {:?}",
        logical_ids(found.iter().copied())
    );
    found[0]
}

/// The logical id of the integration a route targets: its `Target` is
/// `{"Fn::Sub": "integrations/${Id}"}`, the form the construct library writes.
#[track_caller]
pub fn integration_of(route: &Value) -> &str {
    let target = str_of(&route["Properties"]["Target"]["Fn::Sub"]);
    target
        .strip_prefix("integrations/${")
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| panic!("unexpected route target {target}"))
}

#[test]
fn lookups_find_what_they_name() {
    let t = json!({ "Resources": {
        "R": { "Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": { "Statement": { "Sid": "Trust", "Action": "sts:AssumeRole" } },
            "Policies": [
                { "PolicyDocument": { "Statement": [
                    { "Sid": "A", "Action": ["s3:GetObject", "s3:PutObject"] },
                    { "Sid": "B", "Action": "sqs:SendMessage" },
                ] } },
                { "PolicyDocument": { "Statement": { "Sid": "C", "Action": ["s3:GetObject"] } } },
            ],
        } },
        "Route": { "Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "RouteKey": "GET /x", "Target": { "Fn::Sub": "integrations/${Integration}" },
        } },
    }});
    let sids = |found: Vec<&Value>| -> Vec<String> {
        found.iter().map(|s| str_of(&s["Sid"]).to_owned()).collect()
    };
    assert_eq!(sids(role_statements(&t, "R")), ["A", "B", "C"]);
    assert_eq!(
        policy_documents(&t["Resources"]["R"]["Properties"]).len(),
        3,
        "the trust policy and both inline policies"
    );
    assert_eq!(
        actions(role_statements(&t, "R")),
        BTreeSet::from(["s3:GetObject", "s3:PutObject", "sqs:SendMessage"])
    );
    assert_eq!(
        statement_with_sid(role_statements(&t, "R"), "B")["Action"],
        "sqs:SendMessage"
    );
    let (route_id, r) = route(&t, "GET /x");
    assert_eq!(route_id, "Route");
    assert_eq!(integration_of(r), "Integration");
    assert_eq!(referenced_id(&json!({ "Ref": "X" })), "X");
    assert_eq!(referenced_id(&json!({ "Fn::GetAtt": ["Y", "Arn"] })), "Y");
    assert_eq!(string_list(&json!(["a", "b"])), ["a", "b"]);
    assert_eq!(u64_of(&json!(30)), 30);
    assert_eq!(as_list(&json!("a")), [&json!("a")]);
    assert!(as_list(&Value::Null).is_empty());
}
