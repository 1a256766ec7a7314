//! The asset bucket: created by the stage's bootstrap stack (`cargo xtask bootstrap`, a
//! CloudFormation-generated name nobody can claim in advance), private, encrypted and versioned,
//! holding the stack's function packages by content hash under the stack's own prefix, and its
//! deploy record. Not part of the app stack, so `destroy` keeps it unless `--all`.
//!
//! Trust: every call names the account that must own the bucket
//! (`ExpectedBucketOwner`: "If the account ID that you provide does not match the actual owner of
//! the bucket, the request fails with the HTTP status code 403 Forbidden (access denied)", S3 API
//! reference). A package is uploaded with its SHA-256 (`x-amz-checksum-sha256`, which S3 compares
//! with the body before storing it: "If the two values don't match, Amazon S3 reports an error",
//! S3 user guide, "Checking object integrity"), an object already under the package's key is used
//! only if its stored SHA-256 is the local build's, and the deploy pins the object version it
//! checked. Touches S3 only.

use anyhow::{Context, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode};
use sha2::{Digest, Sha256};

use crate::package::{Package, base64_encode};
use crate::report::progress;

/// The asset bucket as every call addresses it: its name and the account that must own it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AssetBucket {
    /// Bucket name.
    pub(crate) name: String,
    /// Account id of the expected owner (sent as `ExpectedBucketOwner` on every call).
    pub(crate) owner: String,
}

/// How an existing package object's bytes may be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Real S3: only the object's stored SHA-256 checksum counts; an object without one is
    /// refused (it was not uploaded by this deployer).
    StoredChecksum,
    /// An emulator: an object without a stored checksum is downloaded and hashed instead (and the
    /// deployer says so).
    StoredChecksumOrDownload,
}

/// The package object a deploy uses: its key and the exact version whose bytes were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishedPackage {
    /// Object key.
    pub(crate) key: String,
    /// Object version (what the template's `CodeS3ObjectVersion` pins).
    pub(crate) version_id: String,
    /// Whether this call uploaded it (false: an object with the same SHA-256 was already there).
    pub(crate) uploaded: bool,
}

fn is_not_found(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("NotFound" | "NoSuchBucket" | "NoSuchKey" | "404")
    )
}

/// Whether the bucket exists and is owned by `owner`. S3 answers 403 when it exists but belongs to
/// another account (or the caller may not see it): that is an error, never "missing".
pub(crate) async fn owned_bucket_exists(
    s3: &Client,
    bucket: &str,
    owner: &str,
) -> anyhow::Result<bool> {
    head_bucket(s3, bucket, Some(owner)).await
}

/// Whether the bucket exists, for a bucket the caller named itself (the end-to-end suites); the
/// deployer's own checks go through `owned_bucket_exists`.
pub async fn bucket_exists(s3: &Client, bucket: &str) -> anyhow::Result<bool> {
    head_bucket(s3, bucket, None).await
}

/// [`owned_bucket_exists`], with the owner check only when `owner` is given.
pub(crate) async fn head_bucket(
    s3: &Client,
    bucket: &str,
    owner: Option<&str>,
) -> anyhow::Result<bool> {
    let owner_text = owner.unwrap_or("the caller's account");
    match s3
        .head_bucket()
        .bucket(bucket)
        .set_expected_bucket_owner(owner.map(str::to_owned))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err) => {
            let raw_status = err.raw_response().map(|r| r.status().as_u16());
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_not_found()) || raw_status == Some(404) {
                Ok(false)
            } else if raw_status == Some(403) {
                bail!(
                    "bucket {bucket} exists but is not accessible as a bucket of {owner_text}: it \
                     belongs to another account, or this caller may not read it (S3 answered 403 \
                     to HeadBucket)"
                )
            } else {
                Err(anyhow::Error::new(err).context(format!("failed to check bucket {bucket}")))
            }
        }
    }
}

/// Checks that the bootstrap's asset bucket exists, belongs to its expected owner and is
/// versioned: the template pins the version of the package it verified ("After you enable
/// versioning on a bucket, Amazon S3 automatically adds a unique version ID to every object
/// stored", S3 user guide, "Adding objects to versioning-enabled buckets"). The deployer never
/// creates or reconfigures it: the bootstrap stack owns it.
pub(crate) async fn require_bucket(s3: &Client, bucket: &AssetBucket) -> anyhow::Result<()> {
    if !owned_bucket_exists(s3, &bucket.name, &bucket.owner).await? {
        bail!(
            "the bootstrap's asset bucket {} does not exist: run `cargo xtask bootstrap` again \
             with administrator credentials",
            bucket.name
        );
    }
    let current = s3
        .get_bucket_versioning()
        .bucket(&bucket.name)
        .expected_bucket_owner(&bucket.owner)
        .send()
        .await
        .with_context(|| format!("failed to read the versioning state of {}", bucket.name))?;
    if current.status() != Some(&BucketVersioningStatus::Enabled) {
        bail!(
            "asset bucket {} is not versioned, so a deploy cannot pin the package it verified: \
             run `cargo xtask bootstrap` again (the bootstrap template enables versioning)",
            bucket.name
        );
    }
    Ok(())
}

/// The error for a package object whose bytes are not this build's.
fn tampered(bucket: &str, key: &str, stored: &str, package: &Package) -> anyhow::Error {
    anyhow::anyhow!(
        "refusing to deploy: s3://{bucket}/{key} is not this build's package (its SHA-256 is \
         {stored}, this build's is {} = hex {}); the object under this content-addressed key was \
         replaced or written by something other than this deployer. Nothing was changed. Check \
         who wrote it (its versions and CloudTrail), delete it, and deploy again",
        package.sha256_base64,
        package.sha256_hex
    )
}

/// Makes sure `key` holds exactly this package and returns the version to deploy.
///
/// An object already there is used only if its stored SHA-256 (HeadObject with checksum mode
/// enabled) is the package's; one with another SHA-256 is refused as tampered, and one without a
/// SHA-256 is refused on real S3 and, on an emulator ([`Verification::StoredChecksumOrDownload`]),
/// downloaded and hashed. A missing object is uploaded with its SHA-256, which S3 verifies
/// against the body before storing it. Either way the returned version is the one whose bytes were
/// verified, so a later write to the key cannot change what is deployed.
pub(crate) async fn publish_package(
    s3: &Client,
    bucket: &AssetBucket,
    key: &str,
    package: &Package,
    verification: Verification,
) -> anyhow::Result<PublishedPackage> {
    let AssetBucket { name, owner } = bucket;
    let head = s3
        .head_object()
        .bucket(name)
        .key(key)
        .expected_bucket_owner(owner)
        // "To retrieve the checksum, this parameter must be enabled" (S3 API reference, HeadObject).
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    let existing = match head {
        Ok(head) => Some(head),
        Err(err) => {
            let not_found = err.as_service_error().is_some_and(|e| e.is_not_found())
                || err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404)
                || is_not_found(err.code());
            if !not_found {
                return Err(
                    anyhow::Error::new(err).context(format!("failed to check s3://{name}/{key}"))
                );
            }
            None
        }
    };
    if let Some(head) = existing {
        let version = head.version_id().map(str::to_owned);
        match head.checksum_sha256() {
            Some(stored) if stored == package.sha256_base64 => {}
            Some(stored) => return Err(tampered(name, key, stored, package)),
            None if verification == Verification::StoredChecksumOrDownload => {
                verify_by_download(s3, bucket, key, version.as_deref(), package).await?;
            }
            None => bail!(
                "refusing to deploy: s3://{name}/{key} has no SHA-256 checksum, so its bytes \
                 cannot be checked against this build's package (SHA-256 {}); this deployer \
                 always uploads with one, so something else wrote it. Nothing was changed. Check \
                 who wrote it, delete it, and deploy again",
                package.sha256_base64
            ),
        }
        // An object written before versioning was enabled has the version id "null" (or none):
        // upload the verified bytes again to get a version that can be pinned.
        if let Some(version_id) = version.filter(|v| v != "null") {
            return Ok(PublishedPackage {
                key: key.to_owned(),
                version_id,
                uploaded: false,
            });
        }
    }
    let put = s3
        .put_object()
        .bucket(name)
        .key(key)
        .expected_bucket_owner(owner)
        .body(ByteStream::from(package.bytes.clone()))
        .content_type("application/zip")
        // S3 recomputes the SHA-256 of the body and refuses the upload (BadDigest) if it differs.
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(&package.sha256_base64)
        .metadata("sha256", &package.sha256_hex)
        .metadata("architecture", package.architecture.as_str())
        .send()
        .await
        .with_context(|| format!("failed to upload function package to s3://{name}/{key}"))?;
    if let Some(stored) = put.checksum_sha256()
        && stored != package.sha256_base64
    {
        return Err(tampered(name, key, stored, package));
    }
    let version_id = put
        .version_id()
        .filter(|v| *v != "null")
        .with_context(|| {
            format!(
                "s3://{name}/{key} was uploaded without a version id: the asset bucket is not \
                 versioned, so the deployed package could not be pinned"
            )
        })?
        .to_owned();
    Ok(PublishedPackage {
        key: key.to_owned(),
        version_id,
        uploaded: true,
    })
}

/// Emulator fallback for an object without a stored SHA-256: downloads that version and hashes it.
async fn verify_by_download(
    s3: &Client,
    bucket: &AssetBucket,
    key: &str,
    version: Option<&str>,
    package: &Package,
) -> anyhow::Result<()> {
    let name = &bucket.name;
    progress(format!(
        "emulator: s3://{name}/{key} has no stored SHA-256 checksum; verifying it by downloading \
         and hashing it"
    ));
    let object = s3
        .get_object()
        .bucket(name)
        .key(key)
        .expected_bucket_owner(&bucket.owner)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .with_context(|| format!("failed to read s3://{name}/{key}"))?;
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("failed to read s3://{name}/{key}"))?
        .into_bytes();
    let digest = base64_encode(&Sha256::digest(&bytes));
    if digest != package.sha256_base64 {
        return Err(tampered(name, key, &digest, package));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::head_bucket::{HeadBucketError, HeadBucketOutput};
    use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::types::error::NotFound;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use codegen_infra::config::Architecture;

    const OWNER: &str = "123456789012";
    const KEY: &str = "codegen-function/codegen-dev/ab.zip";

    fn bucket() -> AssetBucket {
        AssetBucket {
            name: "codegen-dev-bootstrap-assetbucket-abc".to_owned(),
            owner: OWNER.to_owned(),
        }
    }

    fn package(bytes: &[u8]) -> Package {
        Package::new(bytes.to_vec(), Architecture::X86_64, "test.zip".into())
    }

    fn not_found() -> HeadObjectError {
        HeadObjectError::NotFound(NotFound::builder().build())
    }

    #[tokio::test]
    async fn uploads_a_new_package_with_its_sha256_and_the_expected_owner() {
        let p = package(b"the package");
        let digest = p.sha256_base64.clone();
        let head = mock!(Client::head_object)
            .match_requests(|r| {
                r.expected_bucket_owner() == Some(OWNER)
                    && r.checksum_mode() == Some(&ChecksumMode::Enabled)
            })
            .then_error(not_found);
        let expected = digest.clone();
        let put = mock!(Client::put_object)
            .match_requests(move |r| {
                r.expected_bucket_owner() == Some(OWNER)
                    && r.checksum_algorithm() == Some(&ChecksumAlgorithm::Sha256)
                    && r.checksum_sha256() == Some(expected.as_str())
                    && r.key() == Some(KEY)
            })
            .then_output(move || {
                PutObjectOutput::builder()
                    .version_id("v1")
                    .checksum_sha256(digest.clone())
                    .build()
            });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &put]);
        let published = publish_package(&s3, &bucket(), KEY, &p, Verification::StoredChecksum)
            .await
            .expect("uploaded");
        assert_eq!(
            published,
            PublishedPackage {
                key: KEY.into(),
                version_id: "v1".into(),
                uploaded: true
            }
        );
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_object_with_the_same_sha256_is_pinned_not_uploaded() {
        let p = package(b"the package");
        let digest = p.sha256_base64.clone();
        let head = mock!(Client::head_object).then_output(move || {
            HeadObjectOutput::builder()
                .checksum_sha256(digest.clone())
                .version_id("v7")
                .build()
        });
        let put = mock!(Client::put_object).then_output(|| PutObjectOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &put]);
        let published = publish_package(&s3, &bucket(), KEY, &p, Verification::StoredChecksum)
            .await
            .expect("verified");
        assert_eq!(published.version_id, "v7");
        assert!(!published.uploaded);
        assert_eq!(
            put.num_calls(),
            0,
            "nothing is uploaded over a verified object"
        );
    }

    #[tokio::test]
    async fn an_existing_object_with_another_sha256_is_refused_naming_both_digests() {
        let p = package(b"the package");
        let other = base64_encode(&Sha256::digest(b"an attacker's package"));
        let stored = other.clone();
        let head = mock!(Client::head_object).then_output(move || {
            HeadObjectOutput::builder()
                .checksum_sha256(stored.clone())
                .version_id("v8")
                .build()
        });
        let put = mock!(Client::put_object).then_output(|| PutObjectOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &put]);
        let err = publish_package(&s3, &bucket(), KEY, &p, Verification::StoredChecksum)
            .await
            .expect_err("tampered");
        let message = format!("{err:#}");
        assert!(message.contains(KEY), "{message}");
        assert!(message.contains(&other), "{message}");
        assert!(message.contains(&p.sha256_base64), "{message}");
        assert_eq!(put.num_calls(), 0, "a tampered object is not overwritten");
    }

    #[tokio::test]
    async fn an_object_without_a_checksum_is_refused_on_aws() {
        let p = package(b"the package");
        let head = mock!(Client::head_object)
            .then_output(|| HeadObjectOutput::builder().version_id("v9").build());
        let get = mock!(Client::get_object).then_output(|| GetObjectOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &get]);
        let err = publish_package(&s3, &bucket(), KEY, &p, Verification::StoredChecksum)
            .await
            .expect_err("unverifiable");
        assert!(
            format!("{err:#}").contains("has no SHA-256 checksum"),
            "{err:#}"
        );
        assert_eq!(get.num_calls(), 0);
    }

    #[tokio::test]
    async fn an_object_without_a_checksum_is_downloaded_and_hashed_on_an_emulator() {
        for (body, ok) in [(&b"the package"[..], true), (&b"other bytes"[..], false)] {
            let p = package(b"the package");
            let head = mock!(Client::head_object)
                .then_output(|| HeadObjectOutput::builder().version_id("v9").build());
            let get = mock!(Client::get_object)
                .match_requests(|r| {
                    r.version_id() == Some("v9") && r.expected_bucket_owner() == Some(OWNER)
                })
                .then_output(move || {
                    GetObjectOutput::builder()
                        .body(ByteStream::from(body.to_vec()))
                        .build()
                });
            let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &get]);
            let result = publish_package(
                &s3,
                &bucket(),
                KEY,
                &p,
                Verification::StoredChecksumOrDownload,
            )
            .await;
            assert_eq!(result.is_ok(), ok, "{result:?}");
            assert_eq!(get.num_calls(), 1);
        }
    }

    #[tokio::test]
    async fn a_bucket_owned_by_another_account_is_an_error_not_missing() {
        let head = mock!(Client::head_bucket)
            .match_requests(|r| r.expected_bucket_owner() == Some(OWNER))
            .then_http_response(|| {
                HttpResponse::new(StatusCode::try_from(403).expect("status"), SdkBody::empty())
            });
        let s3 = mock_client!(aws_sdk_s3, [&head]);
        let err = owned_bucket_exists(&s3, "codegen-assets-123456789012-us-east-1", OWNER)
            .await
            .expect_err("403");
        assert!(format!("{err:#}").contains("another account"), "{err:#}");

        let missing = mock!(Client::head_bucket)
            .then_error(|| HeadBucketError::NotFound(NotFound::builder().build()));
        let s3 = mock_client!(aws_sdk_s3, [&missing]);
        assert!(
            !owned_bucket_exists(&s3, "b", OWNER)
                .await
                .expect("404 is missing")
        );
        let present =
            mock!(Client::head_bucket).then_output(|| HeadBucketOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, [&present]);
        assert!(
            owned_bucket_exists(&s3, "b", OWNER)
                .await
                .expect("200 is present")
        );
    }

    /// The deployer never creates or reconfigures the bootstrap's bucket: a missing or
    /// unversioned one is an error that names the bootstrap, and every call names the owner.
    #[tokio::test]
    async fn the_bootstrap_bucket_must_exist_and_be_versioned() {
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
        let missing = mock!(Client::head_bucket)
            .then_error(|| HeadBucketError::NotFound(NotFound::builder().build()));
        let s3 = mock_client!(aws_sdk_s3, [&missing]);
        let err = require_bucket(&s3, &bucket()).await.expect_err("missing");
        assert!(
            format!("{err:#}").contains("cargo xtask bootstrap"),
            "{err:#}"
        );

        let versioning = |status: Option<BucketVersioningStatus>| {
            mock!(Client::get_bucket_versioning)
                .match_requests(|r| r.expected_bucket_owner() == Some(OWNER))
                .then_output(move || {
                    GetBucketVersioningOutput::builder()
                        .set_status(status.clone())
                        .build()
                })
        };
        let present = mock!(Client::head_bucket)
            .match_requests(|r| r.expected_bucket_owner() == Some(OWNER))
            .then_output(|| HeadBucketOutput::builder().build());
        let off = versioning(None);
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&present, &off]);
        let err = require_bucket(&s3, &bucket())
            .await
            .expect_err("unversioned");
        assert!(format!("{err:#}").contains("not versioned"), "{err:#}");
        let on = versioning(Some(BucketVersioningStatus::Enabled));
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&present, &on]);
        require_bucket(&s3, &bucket())
            .await
            .expect("versioned bucket");
    }
}
