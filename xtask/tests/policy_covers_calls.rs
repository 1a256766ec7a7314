//! The bootstrap's deploy role (`DeployRole` in `infra/templates/dev.bootstrap.template.yaml`,
//! built by `codegen_infra::bootstrap`) grants every IAM action the deployer's own code calls,
//! except the few listed in [`NOT_FOR_THE_DEPLOY_ROLE`] with the reason. The
//! list of calls is derived from the source (`xtask/src/*.rs`, test modules excluded), not written
//! by hand: a new SDK call without its permission fails here instead of as an AccessDenied on
//! real AWS, which no emulator test would show.
//!
//! SDK operation -> IAM action is the operation's name in PascalCase under the service's prefix,
//! except where AWS documents another action for it (S3 "Required permissions for Amazon S3 API
//! operations", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html>;
//! API Gateway v2 management is authorised by HTTP verb, "Control access to HTTP APIs with IAM",
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html>).

use std::collections::BTreeSet;
use std::path::Path;

use cfn_constructs::view::{PolicyKind, TemplateView};

/// The names the deployer gives its SDK clients, and the IAM service prefix of each.
const CLIENTS: &[(&str, &str)] = &[
    ("cfn", "cloudformation"),
    ("cfn_client", "cloudformation"),
    ("s3", "s3"),
    ("iam", "iam"),
    ("lambda", "lambda"),
    ("apigw", "apigateway"),
    ("sts", "sts"),
    ("bedrock", "bedrock"),
    ("logs", "logs"),
    ("sqs", "sqs"),
    ("ddb", "dynamodb"),
];

/// S3 operations authorised under another action than their own name.
const S3_ACTIONS: &[(&str, &str)] = &[
    ("head_bucket", "ListBucket"),
    ("head_object", "GetObject"),
    ("list_object_versions", "ListBucketVersions"),
    ("list_objects_v2", "ListBucket"),
    ("delete_objects", "DeleteObject"),
    ("list_multipart_uploads", "ListBucketMultipartUploads"),
    ("put_bucket_encryption", "PutEncryptionConfiguration"),
    ("put_public_access_block", "PutBucketPublicAccessBlock"),
];

/// `client.operation()` calls in `source` (dots may be surrounded by whitespace and line breaks),
/// as (client, operation).
fn calls(source: &str) -> BTreeSet<(String, String)> {
    let production = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut flat = String::with_capacity(production.len());
    let mut pending_space = false;
    for c in production.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && c != '.' && !flat.ends_with('.') {
            flat.push(' ');
        }
        pending_space = false;
        flat.push(c);
    }
    let mut out = BTreeSet::new();
    for (client, _) in CLIENTS {
        let needle = format!("{client}.");
        let mut from = 0;
        while let Some(pos) = flat[from..].find(&needle) {
            let start = from + pos;
            from = start + needle.len();
            let before = flat[..start].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &flat[from..];
            let op: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !op.is_empty() && rest[op.len()..].starts_with("()") {
                out.insert(((*client).to_owned(), op));
            }
        }
    }
    out
}

fn pascal(op: &str) -> String {
    op.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM action an operation of `client` needs.
fn action(client: &str, op: &str) -> String {
    let service = CLIENTS
        .iter()
        .find(|(c, _)| *c == client)
        .map_or("unknown", |(_, s)| *s);
    match service {
        "s3" => format!(
            "s3:{}",
            S3_ACTIONS
                .iter()
                .find(|(o, _)| *o == op)
                .map_or_else(|| pascal(op), |(_, a)| (*a).to_owned())
        ),
        "apigateway" => {
            let verb = match op.split('_').next().unwrap_or_default() {
                "get" | "list" => "GET",
                "create" => "POST",
                "update" => "PATCH",
                "delete" => "DELETE",
                other => other,
            };
            format!("apigateway:{verb}")
        }
        _ => format!("{service}:{}", pascal(op)),
    }
}

/// Calls the deployer makes that the deploy role deliberately cannot, with the reason.
const NOT_FOR_THE_DEPLOY_ROLE: &[(&str, &str)] = &[
    (
        "lambda:UpdateFunctionCode",
        "`deploy --hotswap` only: it replaces code outside CloudFormation, so it runs with a \
         developer's own credentials on stages that allow it, never with the CI deploy role",
    ),
    (
        "sqs:GetQueueAttributes",
        "`status` only (the dead-letter queue's depth): an operator's read, run with the \
         operator's own credentials; the deploy role needs no queue access to deploy",
    ),
    (
        "dynamodb:GetItem",
        "`usage --caller` only (one caller's budget counter): an operator's read, run with the \
         operator's own credentials; the deploy role needs no access to the budget table",
    ),
    (
        "dynamodb:Scan",
        "`usage` only (every caller's counter today): an operator's read, as above",
    ),
    (
        "sts:AssumeRole",
        "`--assume-role`: made with the caller's own credentials to become the deploy (or diff) \
         role; that role's trust policy decides, not its permissions",
    ),
];

/// Every action the deploy role's inline policies allow.
fn granted() -> BTreeSet<String> {
    let root = xtask::project_root();
    let cfg = codegen_infra::load_stage(&root, "dev").expect("dev stage");
    let template = codegen_infra::bootstrap(&cfg).to_json_value();
    let role = TemplateView::new(&template)
        .resource_of_type(codegen_infra::bootstrap::DEPLOY_ROLE, "AWS::IAM::Role")
        .expect("the bootstrap has the deploy role");
    role.policy_documents()
        .into_iter()
        .filter(|d| d.kind == PolicyKind::Permissions)
        .flat_map(|d| d.statements())
        .filter(|s| s.effect() == Some("Allow"))
        .flat_map(|s| s.action_names())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_policy_grants_every_action_the_deployer_calls() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut needed = BTreeSet::new();
    for entry in std::fs::read_dir(&src).expect("xtask/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            for (client, op) in calls(&text) {
                needed.insert((
                    action(&client, &op),
                    format!("{}: {client}.{op}()", path.display()),
                ));
            }
        }
    }
    assert!(
        needed.len() > 25,
        "the scan found only {} calls: {needed:?}",
        needed.len()
    );
    let granted = granted();
    let missing: Vec<&(String, String)> = needed
        .iter()
        .filter(|(a, _)| !granted.contains(a))
        .filter(|(a, _)| !NOT_FOR_THE_DEPLOY_ROLE.iter().any(|(x, _)| x == a))
        .collect();
    for (action, _) in NOT_FOR_THE_DEPLOY_ROLE {
        assert!(
            !granted.contains(*action),
            "{action} is listed as not for the deploy role, yet the role grants it"
        );
    }
    assert!(
        missing.is_empty(),
        "the deployer calls actions the deploy role does not grant:\n{}",
        missing
            .iter()
            .map(|(a, at)| format!("  {a} ({at})"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_scanner_finds_chained_calls_and_ignores_tests_and_lookalikes() {
    let src = "let x = clients\n    .s3\n    .head_bucket()\n    .bucket(b);\nmy_s3.put_object();\nself.cfn.describe_stacks();\n#[cfg(test)]\nmod tests { s3.delete_bucket(); }";
    let found = calls(src);
    assert_eq!(
        found,
        [
            ("cfn".to_owned(), "describe_stacks".to_owned()),
            ("s3".to_owned(), "head_bucket".to_owned()),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(action("s3", "head_bucket"), "s3:ListBucket");
    assert_eq!(
        action("cfn", "describe_stacks"),
        "cloudformation:DescribeStacks"
    );
    assert_eq!(action("apigw", "create_deployment"), "apigateway:POST");
}
