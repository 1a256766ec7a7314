//! The asset bucket (`codegen-assets-<account>-<region>`): created on first use like CDK's
//! bootstrap, private and encrypted, holding function packages by content hash. Not part of the
//! app stack, so `destroy` keeps it unless `--all`.

use anyhow::{Context, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

use crate::package::Package;
use crate::report::progress;

/// Name of the asset bucket for an account and region.
pub fn bucket_name(account: &str, region: &str) -> String {
    // One definition, shared with the deployer's IAM policy that grants access to it.
    codegen_infra::deployer_policy::asset_bucket_name(account, region)
}

fn is_not_found(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("NotFound" | "NoSuchBucket" | "NoSuchKey" | "404")
    )
}

/// Whether the bucket exists (and is ours to use).
pub async fn bucket_exists(s3: &Client, bucket: &str) -> anyhow::Result<bool> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(err) => {
            let raw_status = err.raw_response().map(|r| r.status().as_u16());
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_not_found()) || raw_status == Some(404) {
                Ok(false)
            } else if raw_status == Some(403) {
                bail!(
                    "asset bucket {bucket} exists but is not accessible (owned by another account?)"
                )
            } else {
                Err(anyhow::Error::new(err)
                    .context(format!("failed to check asset bucket {bucket}")))
            }
        }
    }
}

/// Creates the asset bucket if it is missing: public access blocked, SSE-S3 encrypted.
pub async fn ensure_bucket(s3: &Client, bucket: &str, region: &str) -> anyhow::Result<bool> {
    if bucket_exists(s3, bucket).await? {
        return Ok(false);
    }
    progress(format!("creating asset bucket {bucket}"));
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that rejects an explicit location constraint.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(err) => {
            return Err(
                anyhow::Error::new(err).context(format!("failed to create asset bucket {bucket}"))
            );
        }
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("failed to block public access on {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .context("invalid encryption settings")?,
        )
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .context("invalid encryption configuration")?,
        )
        .send()
        .await
        .with_context(|| format!("failed to enable encryption on {bucket}"))?;
    Ok(true)
}

/// Uploads the package under its content-hash key unless that key is already there.
/// Returns whether it uploaded.
pub async fn upload_if_missing(
    s3: &Client,
    bucket: &str,
    package: &Package,
) -> anyhow::Result<bool> {
    let key = package.asset_key();
    match s3.head_object().bucket(bucket).key(&key).send().await {
        Ok(_) => return Ok(false),
        Err(err) => {
            let not_found = err.as_service_error().is_some_and(|e| e.is_not_found())
                || err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404)
                || is_not_found(err.code());
            if !not_found {
                return Err(
                    anyhow::Error::new(err).context(format!("failed to check s3://{bucket}/{key}"))
                );
            }
        }
    }
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(ByteStream::from(package.bytes.clone()))
        .content_type("application/zip")
        .metadata("sha256", &package.sha256_hex)
        .metadata("architecture", package.architecture.as_str())
        .send()
        .await
        .with_context(|| format!("failed to upload function package to s3://{bucket}/{key}"))?;
    Ok(true)
}
