//! What the app stack's roles are actually granted, read back from the synthesised app template,
//! so that the bootstrap's permissions boundary is derived from the stage's grants instead of a
//! hand-written superset (issue 22: "the boundary's Bedrock and S3 resources must be derived from
//! the stage's actual grants instead of every Anthropic model in every region"). Pure.

use std::collections::BTreeSet;

use cfn_constructs::Expr;
use serde_json::Value;

use crate::config::StageConfig;
use crate::stack;

/// Every `(actions, resources)` statement of every role policy of the app stack.
fn role_statements(cfg: &StageConfig) -> Vec<(Vec<String>, Vec<Value>)> {
    let app = stack::stack(cfg);
    let mut out = Vec::new();
    for (_, role) in app.resources_of_type("AWS::IAM::Role") {
        for policy in role.properties["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let actions = statement["Action"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                let resources = statement["Resource"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                out.push((actions, resources));
            }
        }
    }
    out
}

/// The resources of every statement that grants an action of `service`, as written in the app
/// template (deduplicated, in template order).
pub fn resources_of(cfg: &StageConfig, service: &str) -> Vec<Value> {
    let prefix = format!("{service}:");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (actions, resources) in role_statements(cfg) {
        if actions.iter().any(|a| a.starts_with(&prefix)) {
            for r in resources {
                if seen.insert(r.to_string()) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// The Bedrock resources the app roles are granted, as expressions the bootstrap stack can carry:
/// the grants name models and profiles with pseudo parameters only (`Fn::Sub` of `AWS::Partition`,
/// `AWS::Region`, `AWS::AccountId`), which mean the same in both stacks. A grant that refers to an
/// app-stack resource could not be carried over and is returned in the error.
pub fn bedrock_resources(cfg: &StageConfig) -> Result<Vec<Expr>, Value> {
    resources_of(cfg, "bedrock")
        .into_iter()
        .map(|r| match &r {
            Value::String(s) => Ok(Expr::str(s.clone())),
            Value::Object(map) => match map.get("Fn::Sub").and_then(Value::as_str) {
                Some(s) if only_pseudo_parameters(s) => Ok(Expr::sub(s)),
                _ => Err(r.clone()),
            },
            _ => Err(r.clone()),
        })
        .collect()
}

/// The object key patterns (`code-output/*`, `jobs/*`) the app roles are granted on the code
/// bucket (`${CodeBucket.Arn}/<pattern>`).
pub fn code_bucket_key_patterns(cfg: &StageConfig) -> Result<Vec<String>, Value> {
    let bucket = format!("${{{}.Arn}}/", stack::CODE_BUCKET);
    resources_of(cfg, "s3")
        .into_iter()
        .map(|r| {
            r.get("Fn::Sub")
                .and_then(Value::as_str)
                .and_then(|s| s.strip_prefix(&bucket))
                .map(str::to_owned)
                .ok_or(r.clone())
        })
        .collect()
}

fn only_pseudo_parameters(template: &str) -> bool {
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            return false;
        };
        if !rest[start + 2..start + len].starts_with("AWS::") {
            return false;
        }
        rest = &rest[start + len + 1..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pseudo_parameters_are_portable() {
        assert!(only_pseudo_parameters(
            "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/x"
        ));
        assert!(!only_pseudo_parameters("${CodeBucket.Arn}/x"));
        assert!(!only_pseudo_parameters("${AWS::Region"));
    }
}
