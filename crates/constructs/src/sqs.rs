//! The SQS [`Queue`] construct: server-side encrypted (SQS-managed keys), an optional dead-letter
//! queue with a bounded receive count, and the grants a producer and a Lambda consumer need.

use serde_json::{Value, json};

use crate::expr::Expr;
use crate::iam::{Role, Statement};
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// What a producer needs.
pub const SEND_ACTIONS: &[&str] = &["sqs:SendMessage"];
/// What a Lambda event source mapping needs from the function's role to poll a queue: "Lambda
/// needs the following permissions to manage messages in your Amazon SQS queue:
/// sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes"
/// (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions>).
pub const CONSUME_ACTIONS: &[&str] = &[
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
];

/// A standard SQS queue.
#[derive(Debug, Clone)]
pub struct Queue {
    logical_id: String,
    name: String,
    retention_seconds: u32,
    visibility_timeout_seconds: Option<u32>,
    dead_letter: Option<(Expr, u32)>,
    tags: Tags,
}

impl Queue {
    /// A queue named `name` keeping messages `retention_seconds` (60 s to 14 days).
    pub fn new(logical_id: &str, name: &str, retention_seconds: u32) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            retention_seconds,
            visibility_timeout_seconds: None,
            dead_letter: None,
            tags: Tags::new(),
        }
    }

    /// How long a received message stays hidden before it is delivered again.
    #[must_use]
    pub fn with_visibility_timeout(mut self, seconds: u32) -> Self {
        self.visibility_timeout_seconds = Some(seconds);
        self
    }

    /// Moves a message to `dead_letter` after `max_receive_count` deliveries.
    #[must_use]
    pub fn with_dead_letter_queue(mut self, dead_letter: &Queue, max_receive_count: u32) -> Self {
        self.dead_letter = Some((dead_letter.arn(), max_receive_count));
        self
    }

    /// Tags.
    #[must_use]
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags.clone_from(tags);
        self
    }

    /// `Fn::GetAtt Queue.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// `Ref Queue`: the queue URL.
    pub fn url(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// Lets `role` send messages to this queue, and nothing else.
    pub fn grant_send(&self, role: &mut Role) {
        role.add_to_policy(Statement::allow(
            &format!("{}Send", self.logical_id),
            SEND_ACTIONS,
            vec![self.arn()],
        ));
    }

    /// Lets `role` (a Lambda function's, through an event source mapping) consume this queue.
    pub fn grant_consume(&self, role: &mut Role) {
        role.add_to_policy(Statement::allow(
            &format!("{}Consume", self.logical_id),
            CONSUME_ACTIONS,
            vec![self.arn()],
        ));
    }
}

impl Construct for Queue {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut props = json!({
            "QueueName": self.name,
            "MessageRetentionPeriod": self.retention_seconds,
            // Encryption at rest with SQS-owned keys: no KMS key to manage or pay for.
            "SqsManagedSseEnabled": true,
            "Tags": tag_list(&self.tags),
        });
        if let Some(v) = self.visibility_timeout_seconds {
            props["VisibilityTimeout"] = json!(v);
        }
        if let Some((arn, count)) = &self.dead_letter {
            props["RedrivePolicy"] = json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": count,
            });
        }
        if self.tags.is_empty()
            && let Value::Object(map) = &mut props
        {
            map.remove("Tags");
        }
        vec![(
            self.logical_id.clone(),
            Resource::new("AWS::SQS::Queue", &props).skip_checkov(
                "CKV_AWS_27",
                "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled, SSE-SQS); the check \
                 only accepts a KMS key, which would add a key policy to manage and per-request \
                 KMS cost for messages that carry nothing but a job id.",
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_with_dead_letter_and_grants() {
        let dlq = Queue::new("Dlq", "q-dlq", 1_209_600);
        let q = Queue::new("Q", "q", 3600)
            .with_visibility_timeout(90)
            .with_dead_letter_queue(&dlq, 3);
        let res = q.resources();
        let p = &res[0].1.properties;
        assert_eq!(p["SqsManagedSseEnabled"], true);
        assert_eq!(p["VisibilityTimeout"], 90);
        assert_eq!(p["RedrivePolicy"]["maxReceiveCount"], 3);
        assert_eq!(
            p["RedrivePolicy"]["deadLetterTargetArn"],
            json!({"Fn::GetAtt": ["Dlq", "Arn"]})
        );
        assert!(p.get("Tags").is_none());
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        q.grant_send(&mut role);
        q.grant_consume(&mut role);
        let s = &role.policy().statements;
        assert_eq!(s[0].actions, SEND_ACTIONS);
        assert_eq!(s[1].actions, CONSUME_ACTIONS);
        assert!(s.iter().all(|s| s.resources == vec![q.arn()]));
    }
}
