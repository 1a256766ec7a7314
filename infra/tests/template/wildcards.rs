//! Least privilege across every IAM statement in the template: no wildcard is granted.

use super::*;

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
        let documents = policy_documents(&resource["Properties"]);
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
                // Allowed: `Resource: *` in a KMS key policy, where it means "this KMS key" ("Key
                // policies in AWS KMS", AWS KMS Developer Guide,
                // https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): only
                // that element; actions and principals are still checked.
                let is_key_policy = type_name == "AWS::KMS::Key";
                // Allowed: `Resource: *` for exactly X-Ray's two write actions in a function
                // role: they take no resource (cfn_constructs::lambda::XRAY_WRITE_ACTIONS cites
                // the IAM reference); Lambda's X-Ray daemon sends the function's traces with them.
                let is_xray_write = type_name == "AWS::IAM::Role"
                    && stmt["Effect"] == "Allow"
                    && as_list(&stmt["Action"])
                        .iter()
                        .filter_map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        == XRAY_WRITE_ACTIONS;
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
                    if is_wildcard_resource(resource) && !is_key_policy && !is_xray_write {
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
    // The checker must actually reach the documents: the dev template has two per role (trust,
    // inline policy) and the bucket policy.
    let docs: usize = resources(&t)
        .values()
        .map(|r| policy_documents(&r["Properties"]).len())
        .sum();
    // (The alarm topic's policy and its key's policy are the bootstrap's: infra/tests/alarms.rs.)
    assert_eq!(docs, 2 * PARTS.len() + 1);

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
            // The X-Ray exception is exactly its two actions: one more action on `*` is reported.
            json!({ "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments", "xray:GetTraceSummaries"], "Resource": "*" }),
            "wildcard resource",
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
