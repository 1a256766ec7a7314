//! A small, strict IAM policy evaluator for the synthesised policies, for what the emulator does
//! not enforce (ministack never sets `iam:PermissionsBoundary`, `iam:PassedToService`,
//! `lambda:Principal` or `cloudformation:RoleArn`, and ignores a change set's execution role).
//!
//! It implements the documented identity-policy logic for the subset the templates use, and fails
//! the test on anything else rather than guessing:
//! - "an explicit deny in any of these policies overrides the allow"; without an applicable allow
//!   the request is implicitly denied (IAM user guide, "Policy evaluation logic");
//! - `Action` patterns: `*` matches any run of characters and `?` one, case-insensitively;
//! - `Resource` and `ArnLike` patterns are matched per ARN segment: "You can use wildcard
//!   characters (* and ?) within the individual segments of an ARN (the parts separated by
//!   colons)", and "If the * wildcard is the last character of a resource ARN segment, it can
//!   expand to match beyond the colon boundaries" (IAM user guide, "IAM JSON policy elements:
//!   Resource", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
//!   checked 2026-12-07) ([`arn_match`]);
//! - conditions: operators are ANDed, keys of one operator ANDed, values of one key ORed (NOR for
//!   negated operators); "If the key that you specify in a policy condition is not present in the
//!   request context, the values do not match and the condition is false. If the policy condition
//!   requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right key
//!   is not present, the condition is true" (IAM user guide, "Condition operators").
//!
//! Templates are resolved first: `Fn::Sub` with pseudo parameters and the given logical ids,
//! `Fn::GetAtt X.Arn` and `Ref X` from the same table.

use std::collections::BTreeMap;

use serde_json::Value;

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An allow matched and no deny did.
    Allow,
    /// A deny matched.
    ExplicitDeny,
    /// Nothing matched.
    ImplicitDeny,
}

/// A request: action, resource ARN and the request context's condition keys.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// Resource ARN.
    pub resource: &'a str,
    /// Condition keys present in the request.
    pub context: BTreeMap<&'a str, &'a str>,
}

impl<'a> Request<'a> {
    /// A request without condition keys.
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Self {
            action,
            resource,
            context: BTreeMap::new(),
        }
    }

    /// Adds a condition key.
    pub fn with(mut self, key: &'a str, value: &'a str) -> Self {
        self.context.insert(key, value);
        self
    }
}

/// Substitutions for `Fn::Sub` variables, `Ref` and `Fn::GetAtt` (keys as written in the
/// template: `AWS::AccountId`, `AssetBucket.Arn`, `PermissionsBoundary`).
pub type Names = BTreeMap<String, String>;

/// Resolves the intrinsic functions in `value` with `names`; panics on anything unresolved.
pub fn resolve(value: &Value, names: &Names) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
            let template = map["Fn::Sub"].as_str().expect("Fn::Sub of a string");
            let mut out = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = rest[start..].find('}').expect("closed ${") + start;
                let name = &rest[start + 2..end];
                out.push_str(
                    names
                        .get(name)
                        .unwrap_or_else(|| panic!("no value for ${{{name}}} in {template}")),
                );
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            let name = map["Ref"].as_str().expect("Ref of a string");
            Value::String(
                names
                    .get(name)
                    .unwrap_or_else(|| panic!("no value for Ref {name}"))
                    .clone(),
            )
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => {
            let parts = map["Fn::GetAtt"].as_array().expect("GetAtt list");
            let name = format!(
                "{}.{}",
                parts[0].as_str().unwrap_or_default(),
                parts[1].as_str().unwrap_or_default()
            );
            Value::String(
                names
                    .get(&name)
                    .unwrap_or_else(|| panic!("no value for GetAtt {name}"))
                    .clone(),
            )
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, names)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, names)).collect()),
        other => other.clone(),
    }
}

/// IAM wildcard match (`*`, `?`).
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Classic two-pointer glob match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// IAM's ARN match: `*` and `?` stay inside one colon-separated segment, except a `*` that ends a
/// segment (followed by `:` or the end of the pattern), which may also match colons.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => {
                let crosses = rest.first().is_none_or(|c| *c == ':');
                (0..=t.len())
                    .take_while(|&i| crosses || i == 0 || t[i - 1] != ':')
                    .any(|i| go(rest, &t[i..]))
            }
            Some(('?', rest)) => t.first().is_some_and(|c| *c != ':') && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = arn.chars().collect();
    go(&p, &t)
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a resolved string").to_owned())
            .collect(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

fn condition_holds(operator: &str, key: &str, values: &[String], req: &Request<'_>) -> bool {
    // A request here carries at most one value per key. `ForAllValues:` is true when every value
    // of the request's key matches, so with one value it is the operator itself, and with the key
    // absent (an empty set) it is true ("ForAllValues ... returns true if there are no keys in the
    // request", IAM user guide, "Set operators for multivalued context keys").
    if let Some(inner) = operator.strip_prefix("ForAllValues:") {
        return !req.context.contains_key(key) || condition_holds(inner, key, values, req);
    }
    let present = req.context.get(key).copied();
    let matches = |f: &dyn Fn(&str, &str) -> bool| {
        present.is_some_and(|actual| values.iter().any(|v| f(v, actual)))
    };
    match operator {
        "StringEquals" | "ArnEquals" => matches(&|v, a| v == a),
        "StringLike" => matches(&|v, a| wildcard(v, a, false)),
        "ArnLike" => matches(&|v, a| arn_match(v, a)),
        // Negated operators: true when the key is absent, and a NOR over the values.
        "StringNotEquals" | "ArnNotEquals" => present.is_none_or(|a| values.iter().all(|v| v != a)),
        "StringNotLike" => present.is_none_or(|a| values.iter().all(|v| !wildcard(v, a, false))),
        "ArnNotLike" => present.is_none_or(|a| values.iter().all(|v| !arn_match(v, a))),
        other => panic!("the test evaluator does not implement condition operator {other}"),
    }
}

fn statement_applies(statement: &Value, req: &Request<'_>) -> bool {
    assert!(
        statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
        "the test evaluator does not implement NotAction/NotResource"
    );
    let action = strings(&statement["Action"])
        .iter()
        .any(|a| wildcard(a, req.action, true));
    let resource = strings(&statement["Resource"])
        .iter()
        .any(|r| arn_match(r, req.resource));
    if !(action && resource) {
        return false;
    }
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        keys.as_object()
            .expect("a condition block")
            .iter()
            .all(|(key, values)| condition_holds(operator, key, &strings(values), req))
    })
}

/// Evaluates one resolved identity policy document.
pub fn evaluate(policy: &Value, req: &Request<'_>) -> Decision {
    explain(policy, req).0
}

/// Evaluates one resolved policy document and says why: the `Sid` of the first Deny that applies
/// (an explicit deny), else of the first Allow that applies, else none (an implicit deny).
pub fn explain(policy: &Value, req: &Request<'_>) -> (Decision, Option<String>) {
    let statements = policy["Statement"].as_array().expect("statements");
    let first = |effect: &str| {
        statements
            .iter()
            .filter(|s| s["Effect"] == effect)
            .find(|s| statement_applies(s, req))
            .map(|s| s["Sid"].as_str().unwrap_or_default().to_owned())
    };
    if let Some(sid) = first("Deny") {
        (Decision::ExplicitDeny, Some(sid))
    } else if let Some(sid) = first("Allow") {
        (Decision::Allow, Some(sid))
    } else {
        (Decision::ImplicitDeny, None)
    }
}

#[test]
fn the_evaluator_follows_the_documented_rules() {
    let policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/p/*"]},
        {"Effect": "Allow", "Action": ["iam:CreateRole"], "Resource": ["*"],
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": "B"}}},
        {"Effect": "Deny", "Action": ["iam:CreateRole"], "Resource": ["*"],
         "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": "B"}}},
    ]});
    let get = |r| evaluate(&policy, &Request::new("S3:getobject", r));
    assert_eq!(get("arn:aws:s3:::b/p/x"), Decision::Allow);
    assert_eq!(get("arn:aws:s3:::b/q/x"), Decision::ImplicitDeny);
    let create = Request::new("iam:CreateRole", "arn:aws:iam::1:role/r");
    assert_eq!(
        evaluate(&policy, &create),
        Decision::ExplicitDeny,
        "absent key"
    );
    assert_eq!(
        evaluate(
            &policy,
            &create.clone().with("iam:PermissionsBoundary", "C")
        ),
        Decision::ExplicitDeny
    );
    assert_eq!(
        evaluate(&policy, &create.with("iam:PermissionsBoundary", "B")),
        Decision::Allow
    );
    assert!(wildcard("a*c?e", "abbbcde", false));
    assert!(!wildcard("a*c", "abd", false));
    assert_eq!(
        explain(&policy, &Request::new("s3:GetObject", "arn:aws:s3:::b/p/x")),
        (Decision::Allow, Some(String::new()))
    );
}

#[test]
fn arns_match_per_segment() {
    // A `*` inside a segment stays in it; one that ends a segment may cross colons.
    assert!(arn_match(
        "arn:aws:apigateway:us-east-1::/apis/abc/*",
        "arn:aws:apigateway:us-east-1::/apis/abc/routes/r1"
    ));
    assert!(!arn_match(
        "arn:aws:apigateway:us-east-1::/apis/abc/*",
        "arn:aws:apigateway:us-east-1::/apis/other/routes"
    ));
    assert!(arn_match(
        "arn:aws:bedrock:*::foundation-model/m",
        "arn:aws:bedrock:us-west-2::foundation-model/m"
    ));
    assert!(!arn_match("arn:aws:s3:::a*b", "arn:aws:s3:::a:b"));
    assert!(arn_match(
        "arn:aws:sqs:us-east-1:1:q*",
        "arn:aws:sqs:us-east-1:1:q:x"
    ));
    assert!(arn_match("*", "arn:aws:iam::1:role/x"));
    assert!(!arn_match(
        "arn:aws:iam::1:role/x?",
        "arn:aws:iam::1:role/x:"
    ));
}

#[test]
fn resolve_substitutes_the_table_into_sub_ref_and_get_att() {
    let names: Names = [
        ("AWS::AccountId", "123456789012"),
        ("Bucket", "my-bucket"),
        ("Bucket.Arn", "arn:aws:s3:::my-bucket"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let template = serde_json::json!({ "Resource": [
        { "Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/${Bucket}-role" },
        { "Fn::GetAtt": ["Bucket", "Arn"] },
        { "Ref": "Bucket" },
        "literal",
    ]});
    assert_eq!(
        resolve(&template, &names),
        serde_json::json!({ "Resource": [
            "arn:aws:iam::123456789012:role/my-bucket-role",
            "arn:aws:s3:::my-bucket",
            "my-bucket",
            "literal",
        ]})
    );
}
