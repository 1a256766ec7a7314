//! IAM policy documents and the [`Role`] construct.
//!
//! Roles start with no permissions; other constructs' `grant_*` methods add statements to them, so
//! every permission in a template can be traced to the grant that wrote it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Denies the actions, overriding any allow.
    Deny,
}

/// One policy statement. Actions and resources are always lists, which keeps assertions simple.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Statement id (names the grant that wrote it).
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Principal (resource policies only).
    pub principal: Option<Value>,
    /// Actions, e.g. `s3:PutObject`.
    pub actions: Vec<String>,
    /// Resources the actions apply to.
    pub resources: Vec<Expr>,
    /// `Condition` block: operator -> key -> value.
    pub conditions: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Statement {
    /// An `Allow` statement for `actions` on `resources`.
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<Expr>) -> Self {
        Self {
            sid: Some(sid.to_owned()),
            effect: Effect::Allow,
            principal: None,
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            resources,
            conditions: BTreeMap::new(),
        }
    }

    /// A `Deny` statement for `actions` on `resources`.
    pub fn deny(sid: &str, actions: &[&str], resources: Vec<Expr>) -> Self {
        Self {
            effect: Effect::Deny,
            ..Self::allow(sid, actions, resources)
        }
    }

    /// Adds a principal (for resource policies).
    pub fn with_principal(mut self, principal: Value) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Adds a condition, e.g. `("Bool", "aws:SecureTransport", false)`.
    pub fn with_condition(mut self, operator: &str, key: &str, value: Value) -> Self {
        self.conditions
            .entry(operator.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        self
    }

    /// The statement as IAM JSON.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        if let Some(sid) = &self.sid {
            out.insert("Sid".into(), json!(sid));
        }
        out.insert("Effect".into(), json!(self.effect));
        if let Some(p) = &self.principal {
            out.insert("Principal".into(), p.clone());
        }
        out.insert("Action".into(), json!(self.actions));
        let resources: Vec<Value> = self.resources.iter().map(Expr::to_json).collect();
        out.insert("Resource".into(), Value::Array(resources));
        if !self.conditions.is_empty() {
            out.insert("Condition".into(), json!(self.conditions));
        }
        Value::Object(out)
    }
}

/// A policy document (`Version` 2012-10-17).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocument {
    /// The statements, in the order they were added.
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    /// The document as IAM JSON.
    pub fn to_json(&self) -> Value {
        let statements: Vec<Value> = self.statements.iter().map(Statement::to_json).collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// An IAM role assumed by an AWS service, with one inline policy written by grants.
#[derive(Debug, Clone)]
pub struct Role {
    logical_id: String,
    service: String,
    description: String,
    policy: PolicyDocument,
    permissions_boundary: Option<String>,
    tags: Tags,
    lint_ignores: Vec<(String, String)>,
}

impl Role {
    /// A role that `service` (e.g. `lambda.amazonaws.com`) may assume, only on behalf of this
    /// account (`aws:SourceAccount`), which blocks the confused-deputy problem.
    pub fn for_service(logical_id: &str, service: &str, description: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            service: service.to_owned(),
            description: description.to_owned(),
            policy: PolicyDocument::default(),
            permissions_boundary: None,
            tags: Tags::new(),
            lint_ignores: Vec::new(),
        }
    }

    /// Attaches a permissions boundary (a managed policy ARN).
    pub fn with_permissions_boundary(mut self, arn: Option<String>) -> Self {
        self.permissions_boundary = arn;
        self
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// Adds a statement to the role's inline policy. Grants call this; stack code should not.
    pub fn add_to_policy(&mut self, statement: Statement) {
        self.policy.statements.push(statement);
    }

    /// Asks cfn-lint to skip `check_id` on this role, with the reason (see
    /// [`Resource::ignore_cfn_lint`]). For grants that knowingly write something the linter flags.
    pub fn ignore_cfn_lint(&mut self, check_id: &str, reason: &str) {
        self.lint_ignores
            .push((check_id.to_owned(), reason.to_owned()));
    }

    /// The inline policy written so far.
    pub fn policy(&self) -> &PolicyDocument {
        &self.policy
    }

    /// Logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// `Fn::GetAtt Role.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    fn trust_policy(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": self.service },
                "Action": ["sts:AssumeRole"],
                "Condition": {
                    "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } }
                }
            }]
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoleProps {
    description: String,
    assume_role_policy_document: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions_boundary: Option<String>,
    policies: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

impl Construct for Role {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut policies = Vec::new();
        if !self.policy.statements.is_empty() {
            policies.push(json!({
                "PolicyName": "least-privilege",
                "PolicyDocument": self.policy.to_json(),
            }));
        }
        let props = RoleProps {
            description: self.description.clone(),
            assume_role_policy_document: self.trust_policy(),
            permissions_boundary: self.permissions_boundary.clone(),
            policies,
            tags: tag_list(&self.tags),
        };
        let resource = self
            .lint_ignores
            .iter()
            .fold(Resource::new("AWS::IAM::Role", &props), |r, (id, why)| {
                r.ignore_cfn_lint(id, why)
            });
        vec![(self.logical_id.clone(), resource)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_is_scoped_to_the_account() {
        let role = Role::for_service("R", "lambda.amazonaws.com", "d");
        let (_, res) = role.resources().remove(0);
        let trust = &res.properties["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["Service"], "lambda.amazonaws.com");
        assert_eq!(
            trust["Condition"]["StringEquals"]["aws:SourceAccount"],
            json!({"Ref": "AWS::AccountId"})
        );
        assert!(res.properties.get("ManagedPolicyArns").is_none());
    }

    #[test]
    fn grants_land_in_one_inline_policy() {
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d")
            .with_permissions_boundary(Some("arn:aws:iam::1:policy/b".into()));
        role.add_to_policy(Statement::allow(
            "A",
            &["s3:PutObject"],
            vec!["arn:x".into()],
        ));
        let (_, res) = role.resources().remove(0);
        let stmts = &res.properties["Policies"][0]["PolicyDocument"]["Statement"];
        assert_eq!(stmts[0]["Action"], json!(["s3:PutObject"]));
        assert_eq!(
            res.properties["PermissionsBoundary"],
            "arn:aws:iam::1:policy/b"
        );
    }
}
