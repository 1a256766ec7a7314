//! What a deploy reports: [`DeployReport`] (with its [`DeployResult`] and [`PackageReport`]) and
//! [`DeployOutcome`], and the JSON `deploy --json` prints for them (`docs/json-output.md`). Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::assets::PublishedPackage;
use crate::package::Package;
use crate::plan::ChangeSummary;

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// Stack name.
    pub stack: String,
    /// Stage name.
    pub stage: String,
    /// What the deploy did.
    pub result: DeployResult,
    /// Final stack status.
    pub stack_status: String,
    /// Resource changes and IAM widening that were applied.
    pub changes: ChangeSummary,
    /// The function package.
    pub package: PackageReport,
    /// API deployment created for the stage, if one was needed.
    pub api_deployment_id: Option<String>,
    /// Stack outputs plus the resolved invoke URL.
    pub outputs: BTreeMap<String, String>,
    /// Milliseconds spent, by phase.
    pub timings_ms: BTreeMap<String, u128>,
}

/// What a deploy did, as the JSON output and the result line write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployResult {
    /// The stack was created.
    Created,
    /// The stack was updated through a change set.
    Updated,
    /// Nothing changed (same fingerprint, or a change set without changes).
    Unchanged,
    /// The functions' code was replaced outside CloudFormation.
    Hotswapped,
}

impl DeployResult {
    /// `Created` for a stack's first change set, `Updated` for any other.
    pub(crate) fn of_change_set(create: bool) -> Self {
        if create { Self::Created } else { Self::Updated }
    }

    /// The word the JSON output and the result line use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Hotswapped => "hotswapped",
        }
    }
}

impl std::fmt::Display for DeployResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The package that was deployed.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// `s3://bucket/key`.
    pub uri: String,
    /// Hex SHA-256.
    pub sha256: String,
    /// Bytes.
    pub size: usize,
    /// Whether it was uploaded by this deploy (false: the hash was already there).
    pub uploaded: bool,
    /// Architecture.
    pub architecture: String,
}

impl PackageReport {
    pub(super) fn new(package: &Package, bucket: &str, published: &PublishedPackage) -> Self {
        Self {
            uri: format!("s3://{bucket}/{}", published.key),
            sha256: package.sha256_hex.clone(),
            size: package.bytes.len(),
            uploaded: published.uploaded,
            architecture: package.architecture.as_str().to_owned(),
        }
    }
}

/// The outcome of `deploy`.
#[derive(Debug, Clone)]
pub enum DeployOutcome {
    /// Deployed (or nothing to do).
    Done(Box<DeployReport>),
    /// Stopped before executing: the change needs approval and none could be given.
    NeedsApproval {
        /// Why.
        reason: String,
        /// What would change.
        changes: ChangeSummary,
    },
}

/// The `--json` form of a deploy that stopped for approval (`docs/json-output.md`, "needs
/// approval"); the field order is the printed key order.
#[derive(Serialize)]
struct NeedsApprovalForm<'a> {
    result: &'static str,
    reason: &'a str,
    changes: &'a ChangeSummary,
}

impl DeployOutcome {
    /// What `deploy --json` prints for this outcome: the report, or the approval form.
    pub fn json_text(&self) -> anyhow::Result<String> {
        match self {
            Self::Done(report) => crate::report::json_text(report.as_ref()),
            Self::NeedsApproval { reason, changes } => {
                crate::report::json_text(&NeedsApprovalForm {
                    result: "needs_approval",
                    reason,
                    changes,
                })
            }
        }
    }
}
