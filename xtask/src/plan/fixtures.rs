//! Templates for the planning core's tests: the dev stage's synthesised template, edited, and a
//! one-role template.

use serde_json::{Value, json};

const DEV: &str = include_str!("../../../infra/stages/dev.yaml");

/// The dev stage's template, its file text edited by `edit` first.
pub(super) fn dev_template_with(edit: impl FnOnce(String) -> String) -> Value {
    let cfg = codegen_infra::config::parse_stage("dev", "dev.yaml", &edit(DEV.to_owned()))
        .expect("the edited dev stage is valid");
    codegen_infra::stack(&cfg).to_json_value()
}

pub(super) fn dev_template() -> Value {
    dev_template_with(|t| t)
}

pub(super) fn resource<'a>(t: &'a mut Value, id: &str) -> &'a mut Value {
    t.get_mut("Resources")
        .and_then(|r| r.get_mut(id))
        .unwrap_or_else(|| panic!("the dev template has no resource {id}"))
}

/// A template of one role that allows `actions` on one resource.
pub(super) fn role(actions: &[&str]) -> Value {
    json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": ["arn:a"]}
        ]}}
    ]}}}})
}
