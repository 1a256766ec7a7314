//! A typed CloudFormation model and CDK-style constructs, with no SDK and no IO.
//!
//! - [`expr`]: values that may be intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, ...).
//! - [`template`]: the template document and [`template::Stack`], which collects resources.
//! - [`view`]: reading a synthesised template back (resources, properties, IAM statements), for
//!   the deployer and the tests alike.
//! - [`iam`]: policy documents and the [`iam::Role`] construct that grants write into.
//! - [`s3`], [`sqs`], [`dynamodb`], [`logs`], [`lambda`], [`apigw`], [`bedrock`]: constructs for the services this stack
//!   uses. Each one owns the IAM actions it can grant (named constants next to the construct), so
//!   permissions are written by grants, never by hand.
//!
//! Synthesis is deterministic: maps are `BTreeMap`s and property structs serialise their fields in
//! declaration order, so the same input always gives byte-identical output.

pub mod apigw;
pub mod bedrock;
pub mod cloudwatch;
pub mod dynamodb;
pub mod expr;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod sns;
pub mod sqs;
pub mod template;
pub mod view;

pub use expr::Expr;
pub use template::{Output, Parameter, Resource, Stack, Template};

/// Tags as CloudFormation's list form (`[{Key, Value}]`), sorted by key.
pub type Tags = std::collections::BTreeMap<String, String>;

/// Renders [`Tags`] in the `[{Key, Value}]` list form most resource types use.
pub(crate) fn tag_list(tags: &Tags) -> Vec<serde_json::Value> {
    tags.iter()
        .map(|(k, v)| serde_json::json!({ "Key": k, "Value": v }))
        .collect()
}
