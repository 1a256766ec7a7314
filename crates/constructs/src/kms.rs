//! The KMS [`Key`] construct: a customer-managed key with rotation on, whose key policy lets the
//! account administer it (named actions, no `kms:*`) and lets named AWS services use it for
//! named actions. Pure: no SDK, no IO.
//!
//! In a key policy "the value of the Resource element is `*`, which means 'this KMS key'" ("Key
//! policies in AWS KMS", AWS KMS Developer Guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>, checked
//! 2026-12-07): that `*` names the key itself, the documented exception in the stack's wildcard
//! test.

use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::iam::{PolicyDocument, Statement};
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// What the account (through IAM policies) may do to the key: administer it, never use it to
/// decrypt; `kms:PutKeyPolicy` keeps it manageable (KMS refuses a key policy that would lock the
/// creator out unless the lockout check is bypassed, which this construct never does).
pub const ADMIN_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
];

/// A customer-managed symmetric key.
#[derive(Debug, Clone)]
pub struct Key {
    logical_id: String,
    description: String,
    statements: Vec<Statement>,
    tags: Tags,
}

impl Key {
    /// A key administered by the account.
    pub fn new(logical_id: &str, description: &str) -> Self {
        let admin = Statement::allow("AccountAdministers", ADMIN_ACTIONS, vec![Expr::str("*")])
            .with_principal(json!({
                "AWS": Expr::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").to_json()
            }));
        Self {
            logical_id: logical_id.to_owned(),
            description: description.to_owned(),
            statements: vec![admin],
            tags: Tags::new(),
        }
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// Lets the AWS service `service` (e.g. `cloudwatch.amazonaws.com`) call `actions` with this
    /// key, for this account only (`aws:SourceAccount`).
    pub fn grant_service(&mut self, sid: &str, service: &str, actions: &[&str]) {
        self.statements.push(
            Statement::allow(sid, actions, vec![Expr::str("*")])
                .with_principal(json!({ "Service": service }))
                .with_condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    Expr::sub("${AWS::AccountId}").to_json(),
                ),
        );
    }

    /// The key policy.
    pub fn policy(&self) -> PolicyDocument {
        PolicyDocument {
            statements: self.statements.clone(),
        }
    }

    /// `Fn::GetAtt Key.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyProps {
    description: String,
    enable_key_rotation: bool,
    key_policy: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

impl Construct for Key {
    fn resources(&self) -> Vec<(String, Resource)> {
        let props = KeyProps {
            description: self.description.clone(),
            enable_key_rotation: true,
            key_policy: self.policy().to_json(),
            tags: tag_list(&self.tags),
        };
        vec![(
            self.logical_id.clone(),
            // On stack deletion CloudFormation schedules the key's deletion; KMS waits out its
            // pending window (30 days unless set) before the key is gone.
            Resource::new("AWS::KMS::Key", &props).with_removal_policy("Delete"),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_policy_names_its_actions_and_conditions_service_use() {
        let mut key = Key::new("K", "d");
        key.grant_service(
            "CloudWatchAlarms",
            "cloudwatch.amazonaws.com",
            &["kms:Decrypt", "kms:GenerateDataKey"],
        );
        let policy = key.policy().to_json();
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 2);
        for s in statements {
            for a in s["Action"].as_array().expect("actions") {
                assert!(!a.as_str().expect("action").contains('*'), "{a}");
            }
        }
        assert_eq!(
            statements[1]["Principal"],
            json!({"Service": "cloudwatch.amazonaws.com"})
        );
        assert!(statements[1]["Condition"]["StringEquals"]["aws:SourceAccount"].is_object());
        let (_, resource) = &key.resources()[0];
        assert_eq!(resource.properties["EnableKeyRotation"], true);
    }
}
