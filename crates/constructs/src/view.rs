//! Reading a synthesised template back, as CloudFormation reads it (its JSON), in the spirit of
//! AWS CDK's `aws-cdk-lib/assertions` `Template`: resources by logical id and by type, their
//! properties, and the IAM policy documents and statements inside them, with the values IAM
//! allows as one item or a list (`Statement`, `Action`, `Resource`) always given as lists.
//!
//! One reader for every side that reads a template: the deployer (the grants and references it
//! compares between the deployed template and a new one) and the tests (CDK-style assertions).
//! Pure: borrows a [`serde_json::Value`], no IO. Resources are visited in logical-id order,
//! whatever order the JSON object keeps.

use std::collections::BTreeMap;

use serde_json::Value;

/// A template's resources, by logical id.
#[derive(Debug, Clone, Default)]
pub struct TemplateView<'a> {
    resources: BTreeMap<&'a str, ResourceView<'a>>,
}

impl<'a> TemplateView<'a> {
    /// Reads `template` (a template with no `Resources` object has no resources).
    pub fn new(template: &'a Value) -> Self {
        let resources = template
            .get("Resources")
            .and_then(Value::as_object)
            .map(|r| {
                r.iter()
                    .map(|(id, value)| (id.as_str(), ResourceView { value }))
                    .collect()
            })
            .unwrap_or_default();
        Self { resources }
    }

    /// Reads `template`, or no template at all (a stack that does not exist yet): no resources.
    pub fn of(template: Option<&'a Value>) -> Self {
        template.map(Self::new).unwrap_or_default()
    }

    /// Every resource with its logical id, in logical-id order.
    pub fn resources(&self) -> impl Iterator<Item = (&'a str, ResourceView<'a>)> + '_ {
        self.resources.iter().map(|(id, r)| (*id, *r))
    }

    /// The resource with logical id `id`.
    pub fn resource(&self, id: &str) -> Option<ResourceView<'a>> {
        self.resources.get(id).copied()
    }

    /// The resource with logical id `id` if it is of `type_name`.
    pub fn resource_of_type(&self, id: &str, type_name: &str) -> Option<ResourceView<'a>> {
        self.resource(id).filter(|r| r.is_type(type_name))
    }

    /// Every resource of `type_name` with its logical id, in logical-id order (CDK's
    /// `findResources(type)`).
    pub fn resources_of_type<'s>(
        &'s self,
        type_name: &'s str,
    ) -> impl Iterator<Item = (&'a str, ResourceView<'a>)> + 's {
        self.resources().filter(move |(_, r)| r.is_type(type_name))
    }

    /// The logical ids, in order.
    pub fn logical_ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.resources.keys().copied()
    }
}

/// One resource of a template.
#[derive(Debug, Clone, Copy)]
pub struct ResourceView<'a> {
    value: &'a Value,
}

impl<'a> ResourceView<'a> {
    /// The resource as the template writes it (`Type`, `Properties`, `Metadata`, ...).
    pub fn value(self) -> &'a Value {
        self.value
    }

    /// Its `Type`, if it has a string one.
    pub fn type_name(self) -> Option<&'a str> {
        self.value.get("Type").and_then(Value::as_str)
    }

    /// Whether its `Type` is `type_name`.
    pub fn is_type(self, type_name: &str) -> bool {
        self.type_name() == Some(type_name)
    }

    /// Its `Properties` (`null` when it has none).
    pub fn properties(self) -> &'a Value {
        &self.value["Properties"]
    }

    /// The property `name`, if set.
    pub fn property(self, name: &str) -> Option<&'a Value> {
        self.properties().get(name)
    }

    /// Every IAM policy document in its properties, at any depth, in document order: each
    /// `PolicyDocument` (a role's inline policies, a managed policy, a bucket, queue or topic
    /// policy), `AssumeRolePolicyDocument` (a role's trust policy) and `KeyPolicy` (a KMS key).
    pub fn policy_documents(self) -> Vec<PolicyDocument<'a>> {
        policy_documents_in(self.properties())
    }
}

/// Which property holds a policy document, and so what the document decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// `PolicyDocument`: what a principal may do (identity policies) or who may use a resource
    /// (bucket, queue and topic policies).
    Permissions,
    /// `AssumeRolePolicyDocument`: who may assume a role.
    Trust,
    /// `KeyPolicy`: who may use a KMS key.
    Key,
}

impl PolicyKind {
    /// The property that holds a document of this kind.
    pub fn property(self) -> &'static str {
        match self {
            Self::Permissions => "PolicyDocument",
            Self::Trust => "AssumeRolePolicyDocument",
            Self::Key => "KeyPolicy",
        }
    }

    fn of_property(key: &str) -> Option<Self> {
        [Self::Permissions, Self::Trust, Self::Key]
            .into_iter()
            .find(|kind| kind.property() == key)
    }
}

/// An IAM policy document found in a resource's properties.
#[derive(Debug, Clone, Copy)]
pub struct PolicyDocument<'a> {
    /// Which property holds it.
    pub kind: PolicyKind,
    /// The document as written.
    pub value: &'a Value,
}

impl<'a> PolicyDocument<'a> {
    /// Its statements (IAM allows one statement object or a list; none when it has no
    /// `Statement`).
    pub fn statements(self) -> Vec<Statement<'a>> {
        statements_of(self.value)
    }
}

/// Every IAM policy document under `value` (a resource's `Properties`, say), at any depth, in
/// document order (see [`ResourceView::policy_documents`]).
pub fn policy_documents_in(value: &Value) -> Vec<PolicyDocument<'_>> {
    fn collect<'a>(value: &'a Value, out: &mut Vec<PolicyDocument<'a>>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match PolicyKind::of_property(key) {
                        Some(kind) => out.push(PolicyDocument { kind, value: child }),
                        None => collect(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

/// The statements of the policy document `document` (one statement object or a list; none when
/// it has no `Statement`).
pub fn statements_of(document: &Value) -> Vec<Statement<'_>> {
    as_list(&document["Statement"])
        .into_iter()
        .map(|value| Statement { value })
        .collect()
}

/// One statement of an IAM policy document.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// The statement as written.
    pub value: &'a Value,
}

impl<'a> Statement<'a> {
    /// Its `Sid`, if it has one.
    pub fn sid(self) -> Option<&'a str> {
        self.value.get("Sid").and_then(Value::as_str)
    }

    /// Its `Effect` (`Allow` or `Deny`), if it has a string one.
    pub fn effect(self) -> Option<&'a str> {
        self.value.get("Effect").and_then(Value::as_str)
    }

    /// Its `Action`, as a list (an action may be an intrinsic function, so these are values).
    pub fn actions(self) -> Vec<&'a Value> {
        as_list(&self.value["Action"])
    }

    /// Its `Action` strings, as a list (anything else is left out).
    pub fn action_names(self) -> Vec<&'a str> {
        self.actions()
            .into_iter()
            .filter_map(Value::as_str)
            .collect()
    }

    /// Its `Resource`, as a list (ARNs as strings or intrinsic functions).
    pub fn resources(self) -> Vec<&'a Value> {
        as_list(&self.value["Resource"])
    }

    /// Its `Condition` block, if it has one.
    pub fn condition(self) -> Option<&'a Value> {
        self.value.get("Condition")
    }
}

/// A value that IAM and CloudFormation allow as a single item or a list (`Statement`, `Action`,
/// `Resource`, `DependsOn`), as a list; a missing (`null`) value is an empty list.
pub fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({"Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                    {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                     "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}},
                    {"Effect": "Deny", "Action": "s3:*", "Resource": ["a", "b"],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                ]}}]
            }},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}}
        }})
    }

    #[test]
    fn resources_are_found_by_id_and_type_in_id_order() {
        let t = template();
        let view = TemplateView::new(&t);
        assert_eq!(
            view.logical_ids().collect::<Vec<_>>(),
            ["Bucket", "Key", "Role"]
        );
        let roles: Vec<&str> = view
            .resources_of_type("AWS::IAM::Role")
            .map(|(id, _)| id)
            .collect();
        assert_eq!(roles, ["Role"]);
        assert!(view.resource_of_type("Bucket", "AWS::S3::Bucket").is_some());
        assert!(view.resource_of_type("Bucket", "AWS::IAM::Role").is_none());
        assert!(
            view.resource("Bucket")
                .is_some_and(|b| b.properties().is_null())
        );
        assert_eq!(TemplateView::of(None).resources().count(), 0);
        assert_eq!(TemplateView::new(&json!({})).resources().count(), 0);
    }

    #[test]
    fn policy_documents_and_statements_are_lists() {
        let t = template();
        let view = TemplateView::new(&t);
        let role = view.resource("Role").expect("role");
        let kinds: Vec<PolicyKind> = role.policy_documents().iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [PolicyKind::Trust, PolicyKind::Permissions]);
        let trust = role.policy_documents()[0].statements();
        assert_eq!(trust.len(), 1, "one statement object is a list of one");
        assert_eq!(trust[0].action_names(), ["sts:AssumeRole"]);
        assert!(trust[0].resources().is_empty());
        let granted = role.policy_documents()[1].statements();
        assert_eq!(granted[0].sid(), Some("Write"));
        assert_eq!(granted[0].action_names(), ["s3:PutObject", "s3:GetObject"]);
        assert_eq!(
            granted[0].resources(),
            [&json!({"Fn::Sub": "${Bucket.Arn}/*"})]
        );
        assert_eq!(granted[1].effect(), Some("Deny"));
        assert_eq!(granted[1].resources().len(), 2);
        assert!(granted[1].condition().is_some() && granted[0].condition().is_none());
        let key = view.resource("Key").expect("key").policy_documents();
        assert_eq!(key[0].kind, PolicyKind::Key);
        assert!(key[0].statements().is_empty());
    }
}
