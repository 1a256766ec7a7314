//! IAM grants: every permission a template writes as a comparable [`Grant`], what a change adds
//! ([`widened`]) or takes away ([`narrowed`]), and how `cdk diff` shows them ([`grant_table`]).
//! Pure.

use std::collections::BTreeSet;

use cfn_constructs::view::{PolicyKind, TemplateView, as_list};
use serde::Serialize;
use serde_json::Value;

/// An IAM permission as a comparable tuple: where it is written and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Grant {
    /// Logical id of the resource holding the statement.
    pub(crate) holder: String,
    /// Whether the statement allows or denies.
    pub(crate) effect: Effect,
    /// The action.
    pub(crate) action: String,
    /// The resource (JSON text of the expression).
    pub(crate) resource: String,
    /// The condition block (JSON text), empty when none.
    pub(crate) condition: String,
}

/// A statement's `Effect`, as IAM names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
    /// Any other value, as written (IAM refuses it; shown as it is).
    #[serde(untagged)]
    Other(String),
}

impl Effect {
    /// The effect a statement's `Effect` names (`Allow` when it names none, as before).
    fn from_name(name: &str) -> Self {
        match name {
            "Allow" => Self::Allow,
            "Deny" => Self::Deny,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
            Self::Other(name) => name,
        })
    }
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} on {}",
            self.holder,
            self.effect,
            self.action,
            resolve_expr(&self.resource)
        )?;
        if !self.condition.is_empty() {
            write!(f, " if {}", resolve_expr(&self.condition))?;
        }
        Ok(())
    }
}

/// An intrinsic expression as CDK's diff prints it: `{"Fn::Sub": "${X.Arn}/p/*"}` as
/// `${X.Arn}/p/*`, `{"Fn::GetAtt": ["X", "Arn"]}` as `${X.Arn}`, `{"Ref": "X"}` as `${X}`,
/// lists joined with `, `; anything else as compact JSON. `text` is a JSON text.
pub(crate) fn resolve_expr(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => resolve_value(&v),
        Err(_) => text.to_owned(),
    }
}

fn resolve_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(resolve_value)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map
                .iter()
                .next()
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match (key, inner) {
                ("Ref", Value::String(id)) => format!("${{{id}}}"),
                ("Fn::GetAtt", Value::Array(parts)) => format!(
                    "${{{}}}",
                    parts
                        .iter()
                        .map(resolve_value)
                        .collect::<Vec<_>>()
                        .join(".")
                ),
                ("Fn::Sub", Value::String(text)) => text.clone(),
                // A condition block: `Operator key=value, ...`.
                (op, Value::Object(keys)) if !op.starts_with("Fn::") => format!(
                    "{op} {}",
                    keys.iter()
                        .map(|(k, v)| format!("{k}={}", resolve_value(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => v.to_string(),
            }
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| resolve_value(&serde_json::json!({ k: v })))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Grants (as [`Grant`]'s `Display` writes them: `Holder Effect Action on Resource [if
/// Condition]`) as an aligned table, the way `cdk diff` shows IAM changes: one row per grant with
/// its sign (`+` added, `-` removed).
pub(crate) fn grant_table(sign: char, grants: &[String]) -> Vec<String> {
    const HEADER: [&str; 5] = ["Holder", "Effect", "Action", "Resource", "Condition"];
    let rows: Vec<[String; 5]> = grants
        .iter()
        .map(|g| {
            let mut words = g.splitn(4, ' ');
            let mut next = || words.next().unwrap_or_default().to_owned();
            let (holder, effect, action, rest) = (next(), next(), next(), next());
            let rest = rest.strip_prefix("on ").unwrap_or(&rest);
            let (resource, condition) = rest.split_once(" if ").unwrap_or((rest, ""));
            [
                holder,
                effect,
                action,
                resource.to_owned(),
                condition.to_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |lead: char, cells: [&str; 5]| {
        let mut text = format!("{lead} ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        text.trim_end().to_owned()
    };
    // The condition column only when some grant has one.
    let mut header = HEADER;
    if rows.iter().all(|r| r[4].is_empty()) {
        header[4] = "";
    }
    let mut out = vec![line(' ', header)];
    for row in &rows {
        out.push(line(
            sign,
            [&row[0], &row[1], &row[2], &row[3], &row[4]].map(String::as_str),
        ));
    }
    out
}

/// Resource types whose `PolicyDocument` grants or denies access ([`grants`]).
const POLICY_TYPES: [&str; 4] = [
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::S3::BucketPolicy",
];

/// Every IAM permission a template writes (role policies, resource policies, invoke permissions).
pub(crate) fn grants(template: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for (id, resource) in TemplateView::new(template).resources() {
        let mut add =
            |effect: Effect, actions: Vec<&Value>, resources: Vec<&Value>, condition: String| {
                for action in &actions {
                    for res in &resources {
                        out.insert(Grant {
                            holder: id.to_owned(),
                            effect: effect.clone(),
                            action: action
                                .as_str()
                                .map_or_else(|| action.to_string(), str::to_owned),
                            resource: res.to_string(),
                            condition: condition.clone(),
                        });
                    }
                }
            };
        let type_name = resource.type_name().unwrap_or_default();
        if POLICY_TYPES.contains(&type_name) {
            // A role's trust policy says who may assume it, not what it may do: the approval
            // triggers watch it.
            for document in resource.policy_documents() {
                if document.kind != PolicyKind::Permissions {
                    continue;
                }
                for statement in document.statements() {
                    add(
                        Effect::from_name(statement.effect().unwrap_or("Allow")),
                        statement.actions(),
                        statement.resources(),
                        statement
                            .condition()
                            .map(Value::to_string)
                            .unwrap_or_default(),
                    );
                }
            }
        }
        if type_name == "AWS::IAM::Role" {
            // A managed policy's statements are not in the template: the grant is its ARN.
            let managed = Value::String("managed-policy".to_owned());
            add(
                Effect::Allow,
                vec![&managed],
                resource
                    .property("ManagedPolicyArns")
                    .map(as_list)
                    .unwrap_or_default(),
                String::new(),
            );
        }
        if type_name == "AWS::Lambda::Permission" {
            let props = resource.properties();
            let condition = serde_json::json!({"Principal": props["Principal"], "SourceArn": props["SourceArn"]});
            add(
                Effect::Allow,
                as_list(&props["Action"]),
                as_list(&props["FunctionName"]),
                condition.to_string(),
            );
        }
    }
    out
}

/// `Allow` grants in `new` that `old` does not have (a missing `old` means a new stack). Removing a
/// `Deny` also widens access, so those are reported too.
pub(crate) fn widened(old: Option<&Value>, new: &Value) -> Vec<Grant> {
    let before = old.map(grants).unwrap_or_default();
    let after = grants(new);
    let mut out: Vec<Grant> = after
        .difference(&before)
        .filter(|g| g.effect == Effect::Allow)
        .cloned()
        .collect();
    out.extend(
        before
            .difference(&after)
            .filter(|g| g.effect == Effect::Deny)
            .cloned(),
    );
    out
}

/// `Allow` grants in `old` that `new` no longer has, and `Deny` grants `new` adds: what the change
/// takes away (shown by `diff`; never a reason for approval).
pub(crate) fn narrowed(old: Option<&Value>, new: &Value) -> Vec<Grant> {
    let before = old.map(grants).unwrap_or_default();
    let after = grants(new);
    let mut out: Vec<Grant> = before
        .difference(&after)
        .filter(|g| g.effect == Effect::Allow)
        .cloned()
        .collect();
    out.extend(
        after
            .difference(&before)
            .filter(|g| g.effect == Effect::Deny)
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::role;
    use serde_json::json;

    #[test]
    fn grants_render_resolved_and_aligned() {
        assert_eq!(
            resolve_expr(r#"{"Fn::Sub":"${CodeBucket.Arn}/code-output/*"}"#),
            "${CodeBucket.Arn}/code-output/*"
        );
        assert_eq!(
            resolve_expr(r#"{"Fn::GetAtt":["FunctionLogGroup","Arn"]}"#),
            "${FunctionLogGroup.Arn}"
        );
        assert_eq!(resolve_expr(r#"{"Ref":"JobsQueue"}"#), "${JobsQueue}");
        assert_eq!(resolve_expr(r#""arn:aws:s3:::b""#), "arn:aws:s3:::b");
        assert_eq!(
            resolve_expr(r#"{"StringEquals":{"bedrock:InferenceProfileArn":{"Fn::Sub":"arn:p"}}}"#),
            "StringEquals bedrock:InferenceProfileArn=arn:p"
        );
        let grants: Vec<String> = [
            Grant {
                holder: "FunctionRole".into(),
                effect: Effect::Allow,
                action: "s3:PutObject".into(),
                resource: r#"{"Fn::Sub":"${CodeBucket.Arn}/code-output/*"}"#.into(),
                condition: String::new(),
            },
            Grant {
                holder: "JobsWorkerRole".into(),
                effect: Effect::Allow,
                action: "sqs:ReceiveMessage".into(),
                resource: r#"{"Fn::GetAtt":["JobsQueue","Arn"]}"#.into(),
                condition: r#"{"StringEquals":{"aws:SourceAccount":"1"}}"#.into(),
            },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            grants[0],
            "FunctionRole Allow s3:PutObject on ${CodeBucket.Arn}/code-output/*"
        );
        let table = grant_table('+', &grants);
        assert_eq!(
            table,
            [
                "  Holder          Effect  Action              Resource                         Condition",
                "+ FunctionRole    Allow   s3:PutObject        ${CodeBucket.Arn}/code-output/*",
                "+ JobsWorkerRole  Allow   sqs:ReceiveMessage  ${JobsQueue.Arn}                 StringEquals aws:SourceAccount=1",
            ]
        );
    }

    #[test]
    fn widening_detects_new_allows_only() {
        let old = role(&["s3:PutObject"]);
        assert!(widened(Some(&old), &old).is_empty());
        let new = role(&["s3:PutObject", "s3:GetObject"]);
        let w = widened(Some(&old), &new);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].action, "s3:GetObject");
        assert!(
            widened(Some(&new), &old).is_empty(),
            "narrowing is not widening"
        );
        assert_eq!(
            widened(None, &new).len(),
            2,
            "a new stack widens by everything it grants"
        );
    }

    #[test]
    fn removing_a_deny_widens() {
        let with_deny = json!({"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:b"}]}}}}});
        let without = json!({"Resources": {}});
        assert_eq!(widened(Some(&with_deny), &without).len(), 1);
    }

    #[test]
    fn narrowing_lists_removed_allows_and_added_denies() {
        let old = role(&["s3:PutObject", "s3:GetObject"]);
        let new = role(&["s3:PutObject"]);
        let n = narrowed(Some(&old), &new);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].action, "s3:GetObject");
        assert!(narrowed(Some(&new), &old).is_empty());
    }
}
