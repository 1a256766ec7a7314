//! The DynamoDB [`Table`] construct: on-demand, one string partition key, TTL on one attribute,
//! encrypted at rest (DynamoDB always encrypts; AWS-owned key by default), and the grants a
//! counter's writer and reader need.
//!
//! Actions (Service Authorization Reference, "Actions, resources, and condition keys for Amazon
//! DynamoDB", <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>,
//! checked 2026-12-07): `dynamodb:UpdateItem` and `dynamodb:GetItem` take a `table` resource
//! (`arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}`), so each grant names
//! exactly this table.

use serde_json::{Value, json};

use crate::expr::Expr;
use crate::iam::{Role, Statement};
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// What a writer of counters needs: conditional `ADD`s, nothing else (no scan, no delete).
pub const UPDATE_ACTIONS: &[&str] = &["dynamodb:UpdateItem"];
/// What a reader of one item needs.
pub const READ_ACTIONS: &[&str] = &["dynamodb:GetItem"];

/// An on-demand table with a string partition key.
#[derive(Debug, Clone)]
pub struct Table {
    logical_id: String,
    name: String,
    partition_key: String,
    ttl_attribute: Option<String>,
    tags: Tags,
}

impl Table {
    /// A table named `name` keyed by the string attribute `partition_key`.
    pub fn new(logical_id: &str, name: &str, partition_key: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            partition_key: partition_key.to_owned(),
            ttl_attribute: None,
            tags: Tags::new(),
        }
    }

    /// Items whose `attribute` (epoch seconds) is past expire.
    #[must_use]
    pub fn with_ttl(mut self, attribute: &str) -> Self {
        self.ttl_attribute = Some(attribute.to_owned());
        self
    }

    /// Tags.
    #[must_use]
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags.clone_from(tags);
        self
    }

    /// `Fn::GetAtt Table.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// `Ref Table`: the table name.
    pub fn name(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// Lets `role` update items of this table, and nothing else.
    pub fn grant_update(&self, role: &mut Role) {
        role.add_to_policy(Statement::allow(
            &format!("{}Update", self.logical_id),
            UPDATE_ACTIONS,
            vec![self.arn()],
        ));
    }

    /// Lets `role` read single items of this table.
    pub fn grant_read_item(&self, role: &mut Role) {
        role.add_to_policy(Statement::allow(
            &format!("{}Read", self.logical_id),
            READ_ACTIONS,
            vec![self.arn()],
        ));
    }
}

impl Construct for Table {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut props = json!({
            "TableName": self.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": self.partition_key, "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"}
            ],
            "Tags": tag_list(&self.tags),
        });
        if let Some(attr) = &self.ttl_attribute {
            props["TimeToLiveSpecification"] = json!({"AttributeName": attr, "Enabled": true});
        }
        if self.tags.is_empty()
            && let Value::Object(map) = &mut props
        {
            map.remove("Tags");
        }
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::DynamoDB::Table", &props)
                .skip_checkov(
                    "CKV_AWS_28",
                    "Point-in-time recovery is off: the table holds only counters of the current \
                     and last few days, which expire by TTL; restoring them would restore spent \
                     budgets, not data.",
                )
                .skip_checkov(
                    "CKV_AWS_119",
                    "Encrypted at rest with DynamoDB's AWS-owned key (always on); a customer key \
                     would add a key policy and per-request KMS cost for counters.",
                ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::Role;

    #[test]
    fn an_on_demand_table_with_ttl_and_exact_grants() {
        let t = Table::new("Quotas", "s-quotas", "pk").with_ttl("expires_at");
        let res = t.resources();
        let p = &res[0].1.properties;
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(p["KeySchema"][0]["AttributeName"], "pk");
        assert_eq!(p["TimeToLiveSpecification"]["AttributeName"], "expires_at");
        assert!(p.get("Tags").is_none());
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "role");
        t.grant_update(&mut role);
        let json = serde_json::to_string(&role.resources()[0].1.properties).expect("json");
        assert!(json.contains("dynamodb:UpdateItem"), "{json}");
        assert!(
            json.contains(r#"{"Fn::GetAtt":["Quotas","Arn"]}"#),
            "{json}"
        );
        assert!(
            !json.contains("dynamodb:*") && !json.contains("Scan"),
            "{json}"
        );
    }
}
