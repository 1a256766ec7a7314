//! The CloudWatch Logs [`LogGroup`] construct: created by the stack (so it is removed with it),
//! with a retention period, and the grant a function needs to write to it.

use serde::Serialize;
use serde_json::Value;

use crate::expr::Expr;
use crate::iam::{Role, Statement};
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// Actions [`LogGroup::grant_write`] grants. No `logs:CreateLogGroup`: the stack owns the group.
pub const WRITE_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// Retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A log group with a fixed name and retention.
#[derive(Debug, Clone)]
pub struct LogGroup {
    logical_id: String,
    name: String,
    retention_days: u32,
    tags: Tags,
}

impl LogGroup {
    /// A log group named `name`, keeping events for `retention_days` (one of [`RETENTION_DAYS`]).
    pub fn new(logical_id: &str, name: &str, retention_days: u32) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            retention_days,
            tags: Tags::new(),
        }
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// The log group name (a literal, known at synth time).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Ref LogGroup`: the name, as a reference (creates a dependency).
    pub fn name_ref(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// `Fn::GetAtt LogGroup.Arn`, which ends in `:*` and so covers the group's log streams.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// The ARN without the trailing `:*`, the form API Gateway access logging expects.
    pub fn arn_without_wildcard(&self) -> Expr {
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{}}}",
            self.logical_id
        ))
    }

    /// Lets `role` create streams in this group and write events to them.
    pub fn grant_write(&self, role: &mut Role) {
        role.add_to_policy(Statement::allow(
            &format!("{}Write", self.logical_id),
            WRITE_ACTIONS,
            vec![self.arn()],
        ));
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogGroupProps {
    log_group_name: String,
    retention_in_days: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

impl Construct for LogGroup {
    fn resources(&self) -> Vec<(String, Resource)> {
        let props = LogGroupProps {
            log_group_name: self.name.clone(),
            retention_in_days: self.retention_days,
            tags: tag_list(&self.tags),
        };
        let resource = Resource::new("AWS::Logs::LogGroup", &props)
            .with_removal_policy("Delete")
            .skip_checkov(
                "CKV_AWS_158",
                "Log events are encrypted at rest by CloudWatch Logs; a customer-managed KMS key \
                 per stage would add cost and key-policy management without a data-classification need.",
            );
        vec![(self.logical_id.clone(), resource)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_grant_covers_only_this_group() {
        let group = LogGroup::new("Fn Logs".replace(' ', "").as_str(), "/aws/lambda/x", 30);
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        group.grant_write(&mut role);
        let stmt = &role.policy().statements[0];
        assert_eq!(stmt.actions, WRITE_ACTIONS);
        assert_eq!(stmt.resources, vec![Expr::get_att("FnLogs", "Arn")]);
    }
}
