//! The S3 [`Bucket`] construct: private, encrypted, TLS-only, versioned, with lifecycle rules, and
//! the grants other constructs use to reach it.

use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::iam::{PolicyDocument, Role, Statement};
use crate::template::{Construct, Resource};
use crate::{Tags, tag_list};

/// Actions [`Bucket::grant_put`] grants: writing objects, nothing else (no read, no delete, no ACLs).
pub const PUT_ACTIONS: &[&str] = &["s3:PutObject"];
/// Actions [`Bucket::grant_read`] grants (GetObject also authorises HeadObject).
pub const READ_ACTIONS: &[&str] = &["s3:GetObject"];

/// A lifecycle rule that expires current objects under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryRule {
    /// Rule id.
    pub id: String,
    /// Key prefix the rule applies to.
    pub prefix: String,
    /// Days after which current versions expire.
    pub expiration_days: u32,
}

/// A private bucket with every protection on by default.
#[derive(Debug, Clone)]
pub struct Bucket {
    logical_id: String,
    expiry_rules: Vec<ExpiryRule>,
    noncurrent_expiration_days: u32,
    enforce_tls: bool,
    tags: Tags,
}

impl Bucket {
    /// A bucket with a CloudFormation-generated name: all public-access blocks on, owner-enforced
    /// object ownership (no ACLs), SSE-S3 default encryption, versioning, a TLS-only bucket policy,
    /// incomplete multipart uploads aborted after a day, old versions expired after
    /// `noncurrent_expiration_days`.
    pub fn new(logical_id: &str, noncurrent_expiration_days: u32) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            expiry_rules: Vec::new(),
            noncurrent_expiration_days,
            enforce_tls: true,
            tags: Tags::new(),
        }
    }

    /// Drops the TLS-only bucket policy. Only for emulators that serve plain HTTP, where
    /// `aws:SecureTransport` is always false and the policy would deny every request.
    pub fn without_tls_enforcement_for_plain_http_emulator(mut self) -> Self {
        self.enforce_tls = false;
        self
    }

    /// Adds a rule expiring objects under `prefix` after `days`.
    pub fn with_expiry(mut self, id: &str, prefix: &str, days: u32) -> Self {
        self.expiry_rules.push(ExpiryRule {
            id: id.to_owned(),
            prefix: prefix.to_owned(),
            expiration_days: days,
        });
        self
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// `Ref Bucket`: the bucket name.
    pub fn name(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// `Fn::GetAtt Bucket.Arn`.
    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// Logical id of the bucket policy this construct adds.
    pub fn policy_logical_id(&self) -> String {
        format!("{}Policy", self.logical_id)
    }

    /// The ARN pattern of objects matching `key_pattern` (e.g. `code-output/*`).
    pub fn arn_for_objects(&self, key_pattern: &str) -> Expr {
        Expr::sub(format!("${{{}.Arn}}/{key_pattern}", self.logical_id))
    }

    /// Lets `role` write objects whose keys match `key_pattern`, and nothing else.
    pub fn grant_put(&self, role: &mut Role, key_pattern: &str) {
        role.add_to_policy(Statement::allow(
            &format!("{}PutObjects", self.logical_id),
            PUT_ACTIONS,
            vec![self.arn_for_objects(key_pattern)],
        ));
    }

    /// Lets `role` read objects whose keys match `key_pattern`, and nothing else.
    pub fn grant_read(&self, role: &mut Role, key_pattern: &str, sid_suffix: &str) {
        role.add_to_policy(Statement::allow(
            &format!("{}Read{sid_suffix}", self.logical_id),
            READ_ACTIONS,
            vec![self.arn_for_objects(key_pattern)],
        ));
    }

    /// [`Self::grant_put`] with a distinguishing statement id, for a second prefix.
    pub fn grant_put_named(&self, role: &mut Role, key_pattern: &str, sid_suffix: &str) {
        role.add_to_policy(Statement::allow(
            &format!("{}Put{sid_suffix}", self.logical_id),
            PUT_ACTIONS,
            vec![self.arn_for_objects(key_pattern)],
        ));
    }

    fn bucket_policy(&self) -> PolicyDocument {
        let deny_insecure = Statement::deny(
            "DenyInsecureTransport",
            // A deny of every S3 action is the documented way to refuse plain HTTP.
            &["s3:*"],
            vec![self.arn(), self.arn_for_objects("*")],
        )
        .with_principal(json!({ "AWS": "*" }))
        .with_condition("Bool", "aws:SecureTransport", json!("false"));
        PolicyDocument {
            statements: vec![deny_insecure],
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketProps {
    public_access_block_configuration: Value,
    ownership_controls: Value,
    bucket_encryption: Value,
    versioning_configuration: Value,
    lifecycle_configuration: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Value>,
}

impl Construct for Bucket {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut rules: Vec<Value> = self
            .expiry_rules
            .iter()
            .map(|r| {
                json!({
                    "Id": r.id,
                    "Status": "Enabled",
                    "Prefix": r.prefix,
                    "ExpirationInDays": r.expiration_days,
                })
            })
            .collect();
        rules.push(json!({
            "Id": "housekeeping",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 },
            "NoncurrentVersionExpiration": { "NoncurrentDays": self.noncurrent_expiration_days },
        }));
        let props = BucketProps {
            public_access_block_configuration: json!({
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            }),
            ownership_controls: json!({ "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] }),
            bucket_encryption: json!({
                "ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" },
                    "BucketKeyEnabled": true,
                }]
            }),
            versioning_configuration: json!({ "Status": "Enabled" }),
            lifecycle_configuration: json!({ "Rules": rules }),
            tags: tag_list(&self.tags),
        };
        let bucket = Resource::new("AWS::S3::Bucket", &props)
            // `destroy` empties the bucket first; leaving it behind would leak data and cost.
            .with_removal_policy("Delete")
            .skip_checkov(
                "CKV_AWS_18",
                "Server access logging would need a second bucket per stage; CloudTrail data \
                 events are the recommended audit trail for this low-volume bucket.",
            );
        let mut out = vec![(self.logical_id.clone(), bucket)];
        if self.enforce_tls {
            let policy = Resource::new(
                "AWS::S3::BucketPolicy",
                &json!({
                    "Bucket": self.name(),
                    "PolicyDocument": self.bucket_policy().to_json(),
                }),
            );
            out.push((self.policy_logical_id(), policy));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_put_is_scoped_to_the_prefix() {
        let bucket = Bucket::new("Out", 30);
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        bucket.grant_put(&mut role, "code-output/*");
        let stmt = &role.policy().statements[0];
        assert_eq!(stmt.actions, vec!["s3:PutObject"]);
        assert_eq!(stmt.resources, vec![Expr::sub("${Out.Arn}/code-output/*")]);
    }

    #[test]
    fn bucket_is_private_encrypted_and_tls_only() {
        let res = Bucket::new("Out", 30)
            .with_expiry("expire", "code-output/", 7)
            .resources();
        let bucket = &res[0].1.properties;
        for k in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(bucket["PublicAccessBlockConfiguration"][k], true, "{k}");
        }
        assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
        let policy = &res[1].1.properties["PolicyDocument"]["Statement"][0];
        assert_eq!(policy["Effect"], "Deny");
        assert_eq!(policy["Condition"]["Bool"]["aws:SecureTransport"], "false");
    }
}
