//! The bucket: private, encrypted, versioned, expiring, and TLS-only by its policy.

use super::*;

#[test]
fn bucket_is_private_encrypted_versioned_and_expires_code_and_job_records() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::S3::Bucket", 1);
        let bucket = resource(&t, "CodeBucket", "AWS::S3::Bucket");
        assert_eq!(bucket["DeletionPolicy"], "Delete", "{}", cfg.name);
        resource_has_properties(
            &t,
            "CodeBucket",
            "AWS::S3::Bucket",
            &json!({
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true,
                    "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                },
                "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
                "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" }
                }] },
                "VersioningConfiguration": { "Status": "Enabled" },
            }),
        );
        let p = &bucket["Properties"];
        assert!(p.get("BucketName").is_none(), "name is generated");
        assert!(p.get("AccessControl").is_none(), "no ACLs");

        let rules = p["LifecycleConfiguration"]["Rules"]
            .as_array()
            .expect("lifecycle rules");
        assert!(rules.iter().all(|r| r["Status"] == "Enabled"));
        // Exactly two expiry rules: generated code and the job records that point to it.
        let expiry: Vec<(&str, &str, u64)> = rules
            .iter()
            .filter(|r| r.get("ExpirationInDays").is_some())
            .map(|r| {
                (
                    str_of(&r["Id"]),
                    str_of(&r["Prefix"]),
                    u64_of(&r["ExpirationInDays"]),
                )
            })
            .collect();
        let days = u64::from(cfg.bucket.code_expiry_days);
        assert_eq!(
            expiry,
            [
                ("expire-generated-code", OUTPUT_PREFIX, days),
                ("expire-job-records", JOBS_PREFIX, days),
            ],
            "{}",
            cfg.name
        );
        assert!(
            rules
                .iter()
                .any(|r| r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1),
            "{}: incomplete multipart uploads are aborted",
            cfg.name
        );
        assert!(
            rules
                .iter()
                .any(|r| r["NoncurrentVersionExpiration"]["NoncurrentDays"]
                    == cfg.bucket.noncurrent_expiry_days),
            "{}: noncurrent versions expire",
            cfg.name
        );
    }
}

#[test]
fn dev_bucket_policy_denies_plain_http_on_bucket_and_objects() {
    let t = synth(&dev());
    resource_count_is(&t, "AWS::S3::BucketPolicy", 1);
    let policy = properties(&t, "CodeBucketPolicy", "AWS::S3::BucketPolicy");
    assert_eq!(policy["Bucket"], reference("CodeBucket"));
    assert_eq!(
        policy["PolicyDocument"],
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ["s3:*"],
                "Resource": [get_att("CodeBucket", "Arn"), sub("${CodeBucket.Arn}/*")],
                "Condition": { "Bool": { "aws:SecureTransport": "false" } }
            }]
        })
    );
}
