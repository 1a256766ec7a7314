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

/// An IAM role with one inline policy written by grants, assumed by an AWS service
/// ([`Role::for_service`]) or by the principals of its trust statements ([`Role::assumed_by`]).
#[derive(Debug, Clone)]
pub struct Role {
    logical_id: String,
    name: Option<Expr>,
    trust: Vec<Statement>,
    description: String,
    policy: PolicyDocument,
    permissions_boundary: Option<Expr>,
    tags: Tags,
    lint_ignores: Vec<(String, String)>,
}

impl Role {
    /// A role that `service` (e.g. `lambda.amazonaws.com`) may assume, only on behalf of this
    /// account (`aws:SourceAccount`), which blocks the confused-deputy problem.
    pub fn for_service(logical_id: &str, service: &str, description: &str) -> Self {
        let trust = Statement::allow("", &["sts:AssumeRole"], Vec::new())
            .with_principal(json!({ "Service": service }))
            .with_condition(
                "StringEquals",
                "aws:SourceAccount",
                json!({ "Ref": "AWS::AccountId" }),
            );
        Self::assumed_by(logical_id, description, vec![trust])
    }

    /// A role whose trust policy is `trust` (statements with a principal and the `sts:AssumeRole*`
    /// action; their `Resource` is left out, as trust policies require).
    pub fn assumed_by(logical_id: &str, description: &str, trust: Vec<Statement>) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: None,
            trust,
            description: description.to_owned(),
            policy: PolicyDocument::default(),
            permissions_boundary: None,
            tags: Tags::new(),
            lint_ignores: Vec::new(),
        }
    }

    /// Gives the role a fixed name (`RoleName`), for roles that other stacks or policies name
    /// before they exist. Without one, CloudFormation generates `<stack>-<logical id>-<suffix>`.
    pub fn with_name(mut self, name: Expr) -> Self {
        self.name = Some(name);
        self
    }

    /// Attaches a permissions boundary (a managed policy ARN).
    pub fn with_permissions_boundary(mut self, arn: Option<Expr>) -> Self {
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

    /// The trust policy (`AssumeRolePolicyDocument`).
    pub fn trust_policy(&self) -> Value {
        let statements: Vec<Value> = self
            .trust
            .iter()
            .map(|statement| {
                let mut json = statement.to_json();
                if let Value::Object(map) = &mut json {
                    // Trust policies name no resource, and an empty Sid is left out.
                    map.remove("Resource");
                    if map.get("Sid").is_some_and(|sid| sid == "") {
                        map.remove("Sid");
                    }
                }
                json
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoleProps {
    #[serde(skip_serializing_if = "Option::is_none")]
    role_name: Option<Value>,
    description: String,
    assume_role_policy_document: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions_boundary: Option<Value>,
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
            role_name: self.name.as_ref().map(Expr::to_json),
            description: self.description.clone(),
            assume_role_policy_document: self.trust_policy(),
            permissions_boundary: self.permissions_boundary.as_ref().map(Expr::to_json),
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

/// A customer managed policy (`AWS::IAM::ManagedPolicy`) with a fixed name, e.g. a permissions
/// boundary that roles in other stacks name by ARN.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    logical_id: String,
    name: Expr,
    description: String,
    document: PolicyDocument,
    lint_ignores: Vec<(String, String)>,
}

impl ManagedPolicy {
    /// A managed policy named `name`.
    pub fn new(logical_id: &str, name: Expr, description: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name,
            description: description.to_owned(),
            document: PolicyDocument::default(),
            lint_ignores: Vec::new(),
        }
    }

    /// Asks cfn-lint to skip `check_id` on this policy, with the reason (see
    /// [`Resource::ignore_cfn_lint`]).
    pub fn ignore_cfn_lint(&mut self, check_id: &str, reason: &str) {
        self.lint_ignores
            .push((check_id.to_owned(), reason.to_owned()));
    }

    /// Adds a statement.
    pub fn add_statement(&mut self, statement: Statement) {
        self.document.statements.push(statement);
    }

    /// The document written so far.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// `Ref` of a managed policy is its ARN.
    pub fn arn(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicyProps {
    managed_policy_name: Value,
    description: String,
    policy_document: Value,
}

impl Construct for ManagedPolicy {
    fn resources(&self) -> Vec<(String, Resource)> {
        let props = ManagedPolicyProps {
            managed_policy_name: self.name.to_json(),
            description: self.description.clone(),
            policy_document: self.document.to_json(),
        };
        let resource = self.lint_ignores.iter().fold(
            Resource::new("AWS::IAM::ManagedPolicy", &props),
            |r, (id, why)| r.ignore_cfn_lint(id, why),
        );
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
            .with_permissions_boundary(Some(Expr::str("arn:aws:iam::1:policy/b")));
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

    #[test]
    fn assumed_by_writes_the_trust_statements_without_resources_and_a_fixed_name() {
        let trust = Statement::allow("Admins", &["sts:AssumeRole"], Vec::new())
            .with_principal(json!({ "AWS": "arn:aws:iam::1:root" }));
        let role = Role::assumed_by("R", "d", vec![trust])
            .with_name(Expr::str("fixed"))
            .with_permissions_boundary(Some(Expr::reference("Boundary")));
        let (_, res) = role.resources().remove(0);
        let doc = &res.properties["AssumeRolePolicyDocument"];
        assert_eq!(doc["Statement"][0]["Sid"], "Admins");
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::1:root"
        );
        assert!(doc["Statement"][0].get("Resource").is_none());
        assert_eq!(res.properties["RoleName"], "fixed");
        assert_eq!(
            res.properties["PermissionsBoundary"],
            json!({"Ref": "Boundary"})
        );
    }

    #[test]
    fn a_managed_policy_has_its_name_and_statements_and_refs_to_its_arn() {
        let mut policy = ManagedPolicy::new("Boundary", Expr::str("b"), "d");
        policy.add_statement(Statement::allow(
            "A",
            &["s3:GetObject"],
            vec!["arn:x".into()],
        ));
        let (id, res) = policy.resources().remove(0);
        assert_eq!(id, "Boundary");
        assert_eq!(res.type_name, "AWS::IAM::ManagedPolicy");
        assert_eq!(res.properties["ManagedPolicyName"], "b");
        assert_eq!(
            res.properties["PolicyDocument"]["Statement"][0]["Action"],
            json!(["s3:GetObject"])
        );
        assert_eq!(policy.arn().to_json(), json!({"Ref": "Boundary"}));
    }
}
