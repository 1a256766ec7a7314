//! Emptying a bucket before its stack is deleted: every object version, delete marker and
//! unfinished multipart upload (CloudFormation cannot delete a bucket that holds any). Used by
//! `destroy` for the code bucket and by `bootstrap destroy` for the asset bucket. IO: S3 only.

use anyhow::Context;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::assets;

/// Removes every object version, delete marker and multipart upload from a bucket, which must be
/// owned by `owner` (every call says so: S3 refuses it with 403 if another account owns the
/// bucket). Returns (objects deleted, uploads aborted). A missing bucket is empty.
pub(crate) async fn empty_owned_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
) -> anyhow::Result<(usize, usize)> {
    empty(s3, bucket, Some(owner)).await
}

/// Like `empty_owned_bucket`, for a bucket the caller named itself (the end-to-end suites' admin
/// clients), without an owner check. The deployer's own buckets always go through
/// `empty_owned_bucket`.
pub async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<(usize, usize)> {
    empty(s3, bucket, None).await
}

async fn empty(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: Option<&str>,
) -> anyhow::Result<(usize, usize)> {
    if !assets::head_bucket(s3, bucket, owner).await? {
        return Ok((0, 0));
    }
    // Paged by hand: the SDK has no paginator for ListObjectVersions or ListMultipartUploads
    // (their key/version/upload-id markers are not modelled as pagination tokens; aws-sdk-s3
    // 1.157's fluent builders have `into_paginator` for ListObjectsV2 but not for these two).
    let owner = owner.map(str::to_owned);
    let mut deleted = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.clone())
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .with_context(|| format!("failed to list object versions in {bucket}"))?;
        let ids: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .filter_map(|v| {
                ObjectIdentifier::builder()
                    .key(v.key()?)
                    .set_version_id(v.version_id().map(str::to_owned))
                    .build()
                    .ok()
            })
            .chain(page.delete_markers().iter().filter_map(|m| {
                ObjectIdentifier::builder()
                    .key(m.key()?)
                    .set_version_id(m.version_id().map(str::to_owned))
                    .build()
                    .ok()
            }))
            .collect();
        // DeleteObjects takes at most 1000 keys; a version listing page holds at most 1000 entries
        // of each kind, so chunk to stay within the limit.
        for chunk in ids.chunks(1000) {
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .delete(
                    Delete::builder()
                        .set_objects(Some(chunk.to_vec()))
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("failed to delete objects in {bucket}"))?;
            if let Some(e) = out.errors().first() {
                anyhow::bail!(
                    "failed to delete {} in {bucket}: {}",
                    e.key().unwrap_or_default(),
                    e.message().unwrap_or_default()
                );
            }
            deleted += chunk.len();
        }
        if page.is_truncated() == Some(true) {
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        } else {
            break;
        }
    }
    let mut aborted = 0;
    loop {
        let uploads = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.clone())
            .send()
            .await
            .with_context(|| format!("failed to list multipart uploads in {bucket}"))?;
        if uploads.uploads().is_empty() {
            break;
        }
        for u in uploads.uploads() {
            s3.abort_multipart_upload()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .key(u.key().unwrap_or_default())
                .upload_id(u.upload_id().unwrap_or_default())
                .send()
                .await
                .with_context(|| format!("failed to abort a multipart upload in {bucket}"))?;
            aborted += 1;
        }
    }
    Ok((deleted, aborted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput;
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::operation::list_multipart_uploads::ListMultipartUploadsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::{DeleteMarkerEntry, MultipartUpload, ObjectVersion};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::sync::{Arc, Mutex};

    /// Every version, every delete marker across pages, and every unfinished upload go; the
    /// second page is asked for with the first page's markers.
    #[tokio::test]
    async fn every_version_marker_and_upload_is_removed_across_pages() {
        let head = mock!(aws_sdk_s3::Client::head_bucket)
            .then_output(|| HeadBucketOutput::builder().build());
        let first = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|r| r.key_marker().is_none())
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .versions(
                        ObjectVersion::builder()
                            .key("code-output/a.py")
                            .version_id("1")
                            .build(),
                    )
                    .versions(
                        ObjectVersion::builder()
                            .key("code-output/a.py")
                            .version_id("2")
                            .build(),
                    )
                    .delete_markers(
                        DeleteMarkerEntry::builder()
                            .key("jobs/x.json")
                            .version_id("3")
                            .build(),
                    )
                    .is_truncated(true)
                    .next_key_marker("jobs/x.json")
                    .next_version_id_marker("3")
                    .build()
            });
        let second = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|r| {
                r.key_marker() == Some("jobs/x.json") && r.version_id_marker() == Some("3")
            })
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .versions(
                        ObjectVersion::builder()
                            .key("jobs/y.json")
                            .version_id("4")
                            .build(),
                    )
                    .is_truncated(false)
                    .build()
            });
        let deleted_keys = Arc::new(Mutex::new(Vec::new()));
        let seen = deleted_keys.clone();
        let delete = mock!(aws_sdk_s3::Client::delete_objects).then_compute_output(move |r| {
            if let Some(d) = r.delete() {
                seen.lock().expect("lock").extend(
                    d.objects()
                        .iter()
                        .map(|o| format!("{}@{}", o.key(), o.version_id().unwrap_or_default())),
                );
            }
            DeleteObjectsOutput::builder().build()
        });
        let uploads = mock!(aws_sdk_s3::Client::list_multipart_uploads)
            .sequence()
            .output(|| {
                ListMultipartUploadsOutput::builder()
                    .uploads(
                        MultipartUpload::builder()
                            .key("code-output/big.py")
                            .upload_id("u1")
                            .build(),
                    )
                    .build()
            })
            .output(|| ListMultipartUploadsOutput::builder().build())
            .build();
        let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
            .match_requests(|r| r.upload_id() == Some("u1"))
            .then_output(|| AbortMultipartUploadOutput::builder().build());
        let s3 = mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&head, &first, &second, &delete, &uploads, &abort]
        );
        let (deleted, aborted) = empty_bucket(&s3, "codegen-dev-codebucket-x")
            .await
            .expect("emptied");
        assert_eq!((deleted, aborted), (4, 1));
        assert_eq!(
            *deleted_keys.lock().expect("lock"),
            [
                "code-output/a.py@1",
                "code-output/a.py@2",
                "jobs/x.json@3",
                "jobs/y.json@4"
            ]
        );
        assert_eq!(
            (first.num_calls(), second.num_calls(), abort.num_calls()),
            (1, 1, 1)
        );
    }

    /// A missing bucket is already empty.
    #[tokio::test]
    async fn a_missing_bucket_is_empty() {
        let head = mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
            aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
                aws_sdk_s3::types::error::NotFound::builder().build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, [&head]);
        assert_eq!(empty_bucket(&s3, "gone").await.expect("ok"), (0, 0));
    }
}
