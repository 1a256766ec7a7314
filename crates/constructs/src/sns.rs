//! The SNS [`Topic`] construct: a topic encrypted with a KMS key, its subscriptions, and the topic
//! policy that lets CloudWatch alarms of this account publish to it. Pure: no SDK, no IO.
//!
//! An alarm can publish to an encrypted topic only when the key policy lets
//! `cloudwatch.amazonaws.com` use the key: AWS documents `kms:Decrypt` and `kms:GenerateDataKey*`
//! ("Enable compatibility between event sources from AWS services and encrypted topics", Amazon SNS
//! Developer Guide,
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services>;
//! seen quoted 2026-12-07, the page itself not read here). [`ALARM_KEY_ACTIONS`] names
//! `kms:GenerateDataKey` instead of the `*` form, since no action here may carry a wildcard: check
//! on the first AWS deploy that an alarm's notification arrives (if SNS used another
//! `GenerateDataKey` variant, CloudWatch's publish would be refused and the notification dropped).

use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::iam::{PolicyDocument, Statement};
use crate::kms::Key;
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// What CloudWatch needs of the topic's key to publish an alarm.
pub const ALARM_KEY_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];
/// What the topic policy grants CloudWatch.
pub const ALARM_PUBLISH_ACTIONS: &[&str] = &["sns:Publish"];

/// A subscription: a protocol and an endpoint (`email` and an address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    /// `email`, `https`, ...
    pub protocol: String,
    /// The address or URL.
    pub endpoint: String,
}

/// An encrypted topic.
#[derive(Debug, Clone)]
pub struct Topic {
    logical_id: String,
    name: String,
    key_arn: Expr,
    subscriptions: Vec<Subscription>,
    publishers: Vec<Statement>,
    tags: Tags,
}

impl Topic {
    /// A topic named `name`, encrypted with `key` (whose policy must let the publishers use it).
    pub fn new(logical_id: &str, name: &str, key: &Key) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            key_arn: key.arn(),
            subscriptions: Vec::new(),
            publishers: Vec::new(),
            tags: Tags::new(),
        }
    }

    /// Adds subscriptions.
    pub fn with_subscriptions(mut self, subscriptions: Vec<Subscription>) -> Self {
        self.subscriptions.extend(subscriptions);
        self
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// `Ref Topic`: the topic's ARN.
    pub fn arn(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// Lets CloudWatch alarms of this account publish to the topic, and use `key` for it.
    pub fn grant_alarm_publish(&mut self, key: &mut Key) {
        key.grant_service(
            "CloudWatchAlarmsUseKey",
            "cloudwatch.amazonaws.com",
            ALARM_KEY_ACTIONS,
        );
        self.publishers.push(
            Statement::allow(
                "CloudWatchAlarmsPublish",
                ALARM_PUBLISH_ACTIONS,
                vec![self.arn()],
            )
            .with_principal(json!({ "Service": "cloudwatch.amazonaws.com" }))
            .with_condition(
                "StringEquals",
                "aws:SourceAccount",
                Expr::sub("${AWS::AccountId}").to_json(),
            ),
        );
    }

    /// The topic policy.
    pub fn policy(&self) -> PolicyDocument {
        PolicyDocument {
            statements: self.publishers.clone(),
        }
    }

    fn policy_id(&self) -> String {
        format!("{}Policy", self.logical_id)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicProps {
    topic_name: String,
    kms_master_key_id: Expr,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscription: Vec<Subscription>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicPolicyProps {
    topics: Vec<Expr>,
    policy_document: Value,
}

impl Construct for Topic {
    fn resources(&self) -> Vec<(String, Resource)> {
        let props = TopicProps {
            topic_name: self.name.clone(),
            kms_master_key_id: self.key_arn.clone(),
            subscription: self.subscriptions.clone(),
            tags: tag_list(&self.tags),
        };
        let mut out = vec![(
            self.logical_id.clone(),
            Resource::new("AWS::SNS::Topic", &props),
        )];
        if !self.publishers.is_empty() {
            let policy = TopicPolicyProps {
                topics: vec![self.arn()],
                policy_document: self.policy().to_json(),
            };
            out.push((
                self.policy_id(),
                Resource::new("AWS::SNS::TopicPolicy", &policy),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarm_topic_is_encrypted_and_only_cloudwatch_publishes() {
        let mut key = Key::new("Key", "d");
        let mut topic = Topic::new("Alarms", "t", &key).with_subscriptions(vec![Subscription {
            protocol: "email".into(),
            endpoint: "ops@example.com".into(),
        }]);
        topic.grant_alarm_publish(&mut key);
        let resources = topic.resources();
        let (_, t) = &resources[0];
        assert_eq!(
            t.properties["KmsMasterKeyId"],
            json!({"Fn::GetAtt": ["Key", "Arn"]})
        );
        assert_eq!(t.properties["Subscription"][0]["Protocol"], "email");
        let (id, p) = &resources[1];
        assert_eq!(id, "AlarmsPolicy");
        let s = &p.properties["PolicyDocument"]["Statement"][0];
        assert_eq!(s["Action"], json!(["sns:Publish"]));
        assert_eq!(
            s["Principal"],
            json!({"Service": "cloudwatch.amazonaws.com"})
        );
        let key_policy = key.policy().to_json();
        assert_eq!(
            key_policy["Statement"][1]["Action"],
            json!(ALARM_KEY_ACTIONS)
        );
    }
}
