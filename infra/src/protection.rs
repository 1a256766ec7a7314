//! A stage's identity and protection class: the AWS account it must be deployed into
//! (`account:` in the stage file) and whether it holds production data (`protection:
//! production`). Pure: what a production-class stage changes in the template lives here; what it
//! changes in the deployer's behaviour (termination protection, approval, hotswap, destroy) is
//! decided by the deployer from [`Protection`].

use std::fmt;

use cfn_constructs::Template;
use serde::Deserialize;

/// A 12-digit AWS account id ("An AWS account ID is a 12-digit number", AWS Account Management
/// reference guide, "View AWS account identifiers",
/// <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html>, checked
/// 2026-12-07).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Parses an account id: exactly 12 ASCII digits (leading zeros are significant).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "is `{text}`: an AWS account id is exactly 12 digits (quote it in YAML)"
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How much a stage protects what it holds (`protection:` in the stage file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Development and test stages: resources are deleted with the stack, hotswap is allowed where
    /// the stage file allows it, and only security-relevant changes ask for approval.
    #[default]
    Standard,
    /// Production: callers' data outlives the stack ([`retain_stateful`]), the stack has
    /// termination protection, every change asks for approval, no hotswap and no fast build
    /// profile, and `destroy` refuses without an explicit flag and lists what it kept. The stage
    /// file must name its `account`.
    Production,
}

impl Protection {
    /// Whether this is a production-class stage.
    pub fn is_production(self) -> bool {
        self == Self::Production
    }

    /// The stage-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Production => "production",
        }
    }
}

/// Resource types that hold callers' data or protect it, with what they hold. On a
/// production-class stage every resource of these types is `DeletionPolicy: Retain` and
/// `UpdateReplacePolicy: Retain` ("With the Retain option, CloudFormation keeps the resource
/// without deleting the resource or its contents when its resource is removed from the stack",
/// CloudFormation user guide, "DeletionPolicy attribute",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html>,
/// checked 2026-12-07). Every type a template of this project can contain is in this list or in
/// [`STATELESS_TYPES`]; a test fails on a type in neither, so a table, key or topic added later
/// is classified when it is added.
pub const STATEFUL_TYPES: &[(&str, &str)] = &[
    ("AWS::S3::Bucket", "generated code and job records"),
    (
        "AWS::Logs::LogGroup",
        "callers' prompts in the functions' logs, the API access log",
    ),
    (
        "AWS::SQS::Queue",
        "queued jobs, and the dead-letter queue's failed ones",
    ),
    ("AWS::DynamoDB::Table", "per-caller usage and budgets"),
    ("AWS::KMS::Key", "the key that decrypts retained data"),
    (
        "AWS::SNS::Topic",
        "who is told when an alarm fires (its subscriptions)",
    ),
];

/// Resource types that hold nothing a redeploy does not recreate from the template and the
/// package.
pub const STATELESS_TYPES: &[&str] = &[
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::CompositeAlarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::KMS::Alias",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

/// Whether resources of `type_name` hold callers' data or protect it.
pub fn is_stateful(type_name: &str) -> bool {
    STATEFUL_TYPES.iter().any(|(t, _)| *t == type_name)
}

/// Sets `DeletionPolicy` and `UpdateReplacePolicy` to `Retain` on every stateful resource of
/// `template` (a production-class stage's stack).
pub fn retain_stateful(template: &mut Template) {
    for resource in template.resources.values_mut() {
        if is_stateful(&resource.type_name) {
            resource.deletion_policy = Some("Retain".to_owned());
            resource.update_replace_policy = Some("Retain".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_eq!(
            AccountId::parse("012345678901").expect("valid").as_str(),
            "012345678901"
        );
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            " 12345678901",
            "１２３",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_type_is_both_stateful_and_stateless() {
        for (t, _) in STATEFUL_TYPES {
            assert!(!STATELESS_TYPES.contains(t), "{t}");
        }
    }
}
