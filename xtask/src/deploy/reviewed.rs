//! Prepare, review, execute exactly that: `deploy --prepare PLAN` creates the change set and writes
//! a plan file; `deploy --execute PLAN` executes that change set only if nothing it was reviewed
//! against has moved since.
//!
//! The plan file is JSON: the *intent* (stage, stack, account, region, the package's SHA-256, the
//! synthesised template's hash and parameters, and the stack as it was: id, last change, deployed
//! template's hash), the change set (id, name), the human-readable summary (the lines `diff` and
//! `deploy` print) and the approval reasons, sealed by a SHA-256 `digest` over all of it. The
//! change set's own description carries the intent's digest, written when it was created.
//!
//! `--execute` refuses unless: the seal matches the file (any edit to the file is refused); the
//! digest is the one the reviewers saw, when `--expect-digest` gives it; the caller's account,
//! the stack's id, last change and deployed template are the plan's (CloudFormation marks a change
//! set obsolete after another update, but ministack never does, so this is checked here); the
//! change set (by id) is `CREATE_COMPLETE` and `AVAILABLE`, carries the intent's digest, has the
//! plan's parameters and template, and summarises to the plan's lines; and the package and the
//! template synthesised now are the plan's. Then the change set runs as a normal deploy's would,
//! followed by the same post-deploy steps.
//!
//! The plan file, its seal and its reading and writing are here; what is compared at `--execute`
//! is `check` (pure), and the reads that observe the world now are `observe` (CloudFormation, STS
//! through `Prepared`).

mod check;
mod observe;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) use check::differences;
pub(crate) use observe::{intent_of, observe};

/// The plan file's format; a file of another format is refused.
pub(crate) const PLAN_FORMAT: u32 = 1;

/// What a plan was made for and against: everything `--execute` checks again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Stage name.
    pub(crate) stage: String,
    /// Stack name.
    pub(crate) stack: String,
    /// The caller's account when the plan was made.
    pub(crate) account: String,
    /// Region.
    pub(crate) region: String,
    /// Hex SHA-256 of the function package.
    pub(crate) package_sha256: String,
    /// Hex SHA-256 of the synthesised template ([`template_sha256`]).
    pub(crate) template_sha256: String,
    /// Template parameters.
    pub(crate) parameters: BTreeMap<String, String>,
    /// Whether the change set creates the stack.
    pub create: bool,
    /// The stack as it was: its id (`None`: it did not exist).
    pub(crate) stack_id: Option<String>,
    /// The stack's status and last change (update, else creation) as it was.
    pub(crate) stack_last_changed: Option<String>,
    /// Hex SHA-256 of the deployed template as it was ([`template_sha256`]).
    pub(crate) deployed_template_sha256: Option<String>,
    /// A fresh value, so that two plans of the same state never share a digest.
    pub(crate) nonce: String,
}

impl Intent {
    /// Hex SHA-256 of the intent's JSON: what the change set's description records.
    pub(crate) fn digest(&self) -> String {
        sha256_json(self)
    }
}

/// The change set a plan executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChangeSet {
    /// Its id (ARN).
    pub id: String,
    /// Its name.
    pub(crate) name: String,
}

/// The plan file's content, sealed by [`Plan::digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanBody {
    /// [`PLAN_FORMAT`].
    pub(crate) format: u32,
    /// What the plan was made for and against.
    pub intent: Intent,
    /// The change set to execute; `None`: nothing would change.
    pub change_set: Option<PlannedChangeSet>,
    /// The human-readable summary (the lines `diff` and `deploy` print).
    pub summary: Vec<String>,
    /// Why the change needs approval (every change of a production-class stage does).
    pub approval_reasons: Vec<String>,
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The content.
    #[serde(flatten)]
    pub body: PlanBody,
    /// Hex SHA-256 of the body's JSON.
    pub digest: String,
}

impl Plan {
    /// Seals `body`.
    pub(crate) fn seal(body: PlanBody) -> Self {
        let digest = sha256_json(&body);
        Self { body, digest }
    }

    /// Reads a plan file and checks its seal and format.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let plan: Plan = serde_json::from_str(text)
            .map_err(|e| format!("it is not a plan file written by `deploy --prepare` ({e})"))?;
        if plan.body.format != PLAN_FORMAT {
            return Err(format!(
                "its format is {}, this deployer reads format {PLAN_FORMAT}",
                plan.body.format
            ));
        }
        let actual = sha256_json(&plan.body);
        if actual != plan.digest {
            return Err(format!(
                "it was changed after it was written: its content hashes to {actual}, its digest \
                 says {}",
                plan.digest
            ));
        }
        Ok(plan)
    }
}

/// What the change set's description says for a plan with `intent`.
pub(crate) fn change_set_description(intent: &Intent) -> String {
    format!(
        "cargo xtask deploy --prepare: plan intent sha256:{}",
        intent.digest()
    )
}

/// Hex SHA-256 of a template's JSON, read and written again compactly (so the same template
/// hashes the same whether it comes from the synthesiser or from `GetTemplate`).
pub(crate) fn template_sha256(body: &str) -> anyhow::Result<String> {
    let value: serde_json::Value =
        serde_json::from_str(body).context("the template is not JSON")?;
    Ok(sha256_json(&value))
}

/// A value no other plan shares (the time in nanoseconds and the process id, hashed): plans of
/// the same state get different digests, so an old plan's digest never approves a new one.
pub(crate) fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hex::encode(Sha256::digest(format!("{nanos}-{}", std::process::id())))[..32].to_owned()
}

fn sha256_json(value: &impl Serialize) -> String {
    // Serialising plain data (strings, numbers, maps) cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Writes `plan` to `path` (pretty JSON, a trailing newline).
pub(crate) fn write_plan(path: &Path, plan: &Plan) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(plan).context("failed to serialise the plan")?;
    text.push('\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    std::fs::write(path, text)
        .with_context(|| format!("failed to write the plan {}", path.display()))
}

/// Reads and unseals the plan at `path`; with `expect_digest`, it must be that plan.
pub(crate) fn read_plan(path: &Path, expect_digest: Option<&str>) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the plan {}", path.display()))?;
    let plan = Plan::parse(&text)
        .map_err(|why| anyhow::anyhow!("refusing the plan {}: {why}", path.display()))?;
    if let Some(expected) = expect_digest
        && !expected.eq_ignore_ascii_case(&plan.digest)
    {
        bail!(
            "refusing the plan {}: its digest is {}, not the reviewed {expected}",
            path.display(),
            plan.digest
        );
    }
    Ok(plan)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::deploy::reviewed) fn intent() -> Intent {
        Intent {
            stage: "prod".into(),
            stack: "codegen-prod".into(),
            account: "444455556666".into(),
            region: "us-east-1".into(),
            package_sha256: "aa".repeat(32),
            template_sha256: "bb".repeat(32),
            parameters: BTreeMap::from([("CodeS3Key".into(), "k.zip".into())]),
            create: false,
            stack_id: Some(
                "arn:aws:cloudformation:us-east-1:444455556666:stack/codegen-prod/1".into(),
            ),
            stack_last_changed: Some("UPDATE_COMPLETE at 1.000000000".into()),
            deployed_template_sha256: Some("cc".repeat(32)),
            nonce: "n".into(),
        }
    }

    pub(in crate::deploy::reviewed) fn plan() -> Plan {
        Plan::seal(PlanBody {
            format: PLAN_FORMAT,
            intent: intent(),
            change_set: Some(PlannedChangeSet {
                id: "arn:aws:cloudformation:us-east-1:444455556666:changeSet/cs/1".into(),
                name: "cs".into(),
            }),
            summary: vec!["[~] AWS::Lambda::Function Function".into()],
            approval_reasons: vec!["stage `prod` is production-class".into()],
        })
    }

    #[test]
    fn a_plan_round_trips_and_any_edit_breaks_its_seal() {
        let plan = plan();
        let text = serde_json::to_string_pretty(&plan).expect("serialises");
        assert_eq!(Plan::parse(&text), Ok(plan.clone()));
        // Each of these edits leaves valid JSON of the right shape: only the seal catches them.
        for (from, to) in [
            (
                "[~] AWS::Lambda::Function Function",
                "[~] AWS::Lambda::Function Other",
            ),
            ("444455556666", "111122223333"),
            ("\"create\": false", "\"create\": true"),
            ("k.zip", "other.zip"),
        ] {
            let edited = text.replacen(from, to, 1);
            assert_ne!(edited, text, "{from}");
            let why = Plan::parse(&edited).expect_err("refused");
            assert!(why.contains("changed after it was written"), "{why}");
        }
        let resealed = text.replace(&plan.digest, &"0".repeat(64));
        assert!(Plan::parse(&resealed).is_err());
        assert!(Plan::parse("{}").is_err());
    }

    #[test]
    fn templates_hash_by_content_not_by_layout() {
        let compact = r#"{"Resources":{"A":{"Type":"AWS::S3::Bucket"}}}"#;
        let pretty = "{\n  \"Resources\": {\n    \"A\": { \"Type\": \"AWS::S3::Bucket\" }\n  }\n}";
        assert_eq!(
            template_sha256(compact).expect("json"),
            template_sha256(pretty).expect("json")
        );
        assert_ne!(
            template_sha256(compact).expect("json"),
            template_sha256(r#"{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}"#).expect("json")
        );
    }
}
