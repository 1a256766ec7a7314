//! The asset bucket: the stage's function packages and deploy record, under a name CloudFormation
//! generates. Pure.

use cfn_constructs::Expr;
use cfn_constructs::iam::Statement;
use cfn_constructs::s3::Bucket;

use super::ids::ASSET_BUCKET;
use crate::config::{Emulator, StageConfig};
use crate::names;

/// The asset bucket and the keys in it that the roles are scoped to.
pub(super) struct Assets {
    /// The bucket.
    pub(super) bucket: Bucket,
    /// The stack's function packages (`<package prefix>*`).
    pub(super) packages: Expr,
    /// The stack's deploy record.
    pub(super) record: Expr,
}

/// The stage's asset bucket, versioned, with the stage's tags.
pub(super) fn asset_bucket(cfg: &StageConfig) -> Assets {
    let stack_name = cfg.stack_name.as_str();
    let mut bucket =
        Bucket::new(ASSET_BUCKET, cfg.bucket.noncurrent_expiry_days).with_tags(&cfg.tags);
    if cfg.emulator == Some(Emulator::Ministack) {
        // Emulator difference: ministack serves plain HTTP, so a TLS-only policy denies everything.
        bucket = bucket.without_tls_enforcement_for_plain_http_emulator();
    }
    Assets {
        packages: bucket.arn_for_objects(&format!("{}*", names::package_prefix(stack_name))),
        record: bucket.arn_for_objects(&names::deployment_record_key(stack_name)),
        bucket,
    }
}

/// The asset bucket as a deploy's preparation checks it (deploy and plan roles): HeadBucket is
/// authorised as s3:ListBucket, and versioning must be on (the template pins the package's object
/// version).
pub(super) fn read_asset_bucket(assets: &Bucket) -> Statement {
    Statement::allow(
        "AssetBucket",
        &["s3:GetBucketVersioning", "s3:ListBucket"],
        vec![assets.arn()],
    )
}
