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

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus, TemplateStage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Prepared;
use crate::plan::ChangeSummary;
use crate::{cfn, plan};

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

/// The live state `--execute` compares with the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The caller's account now.
    pub(crate) account: String,
    /// [`Intent::stack_id`] now.
    pub(crate) stack_id: Option<String>,
    /// [`Intent::stack_last_changed`] now.
    pub(crate) stack_last_changed: Option<String>,
    /// [`Intent::deployed_template_sha256`] now.
    pub(crate) deployed_template_sha256: Option<String>,
    /// The package and template synthesised now: SHA-256s and parameters.
    pub(crate) package_sha256: String,
    /// See [`Intent::template_sha256`].
    pub(crate) template_sha256: String,
    /// See [`Intent::parameters`].
    pub(crate) parameters: BTreeMap<String, String>,
    /// The change set now, if the plan has one.
    pub(crate) change_set: Option<ObservedChangeSet>,
}

/// A change set as `DescribeChangeSet` and `GetTemplate` show it now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObservedChangeSet {
    /// `CREATE_COMPLETE`, ...
    pub(crate) status: String,
    /// `AVAILABLE`, ...
    pub(crate) execution_status: String,
    /// Its description.
    pub(crate) description: String,
    /// Its parameters.
    pub(crate) parameters: BTreeMap<String, String>,
    /// [`template_sha256`] of its template.
    pub(crate) template_sha256: String,
    /// Its summary lines, computed as the plan's were.
    pub(crate) summary: Vec<String>,
}

/// Every way the observed state differs from the plan, one line each (empty: execute). Pure.
pub(crate) fn differences(plan: &Plan, now: &Observed) -> Vec<String> {
    let i = &plan.body.intent;
    let mut out = Vec::new();
    let mut check = |what: &str, planned: String, observed: String| {
        if planned != observed {
            out.push(format!("{what}: planned {planned}, now {observed}"));
        }
    };
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
    check("account", i.account.clone(), now.account.clone());
    check("stack id", show(&i.stack_id), show(&now.stack_id));
    check(
        "stack's last change",
        show(&i.stack_last_changed),
        show(&now.stack_last_changed),
    );
    check(
        "deployed template (SHA-256)",
        show(&i.deployed_template_sha256),
        show(&now.deployed_template_sha256),
    );
    check(
        "package (SHA-256)",
        i.package_sha256.clone(),
        now.package_sha256.clone(),
    );
    check(
        "synthesised template (SHA-256)",
        i.template_sha256.clone(),
        now.template_sha256.clone(),
    );
    check(
        "template parameters",
        format!("{:?}", i.parameters),
        format!("{:?}", now.parameters),
    );
    match (&plan.body.change_set, &now.change_set) {
        (None, None) => {}
        (Some(planned), None) => check("change set", planned.id.clone(), "not found".to_owned()),
        (None, Some(_)) => check("change set", "none".to_owned(), "one".to_owned()),
        (Some(_), Some(cs)) => {
            check(
                "change set status",
                ChangeSetStatus::CreateComplete.as_str().to_owned(),
                cs.status.clone(),
            );
            check(
                "change set execution status",
                ExecutionStatus::Available.as_str().to_owned(),
                cs.execution_status.clone(),
            );
            check(
                "change set description",
                change_set_description(i),
                cs.description.clone(),
            );
            check(
                "change set parameters",
                format!("{:?}", i.parameters),
                format!("{:?}", cs.parameters),
            );
            check(
                "change set template (SHA-256)",
                i.template_sha256.clone(),
                cs.template_sha256.clone(),
            );
            check(
                "change set summary",
                plan.body.summary.join(" | "),
                cs.summary.join(" | "),
            );
        }
    }
    out
}

/// The stack's status and last change, as [`Intent::stack_last_changed`] records them.
pub(crate) fn last_changed(stack: &aws_sdk_cloudformation::types::Stack) -> Option<String> {
    let when = stack.last_updated_time().or(stack.creation_time())?;
    Some(format!(
        "{} at {}.{:09}",
        cfn::status_of(stack),
        when.secs(),
        when.subsec_nanos()
    ))
}

/// The stack, unless it is only the shell a CREATE change set makes (`REVIEW_IN_PROGRESS`: "Ongoing
/// creation of one or more stacks with an expected StackId but without any templates or
/// resources", CloudFormation user guide, stack status codes,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html>,
/// checked 2026-12-07): a plan that creates the stack sees none
/// before its change set exists and the shell after.
fn existing(
    stack: Option<aws_sdk_cloudformation::types::Stack>,
) -> Option<aws_sdk_cloudformation::types::Stack> {
    stack.filter(|s| {
        cfn::stack_status(s) != aws_sdk_cloudformation::types::StackStatus::ReviewInProgress
    })
}

/// The deployed template's hash, if the stack exists and has a JSON template.
async fn deployed_template_sha256(
    cfn_client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> anyhow::Result<Option<String>> {
    Ok(cfn::current_template(cfn_client, stack)
        .await?
        .map(|t| sha256_json(&t)))
}

/// The intent of a prepared deploy against the stack as it is now.
pub(crate) async fn intent_of(
    p: &Prepared,
    account: &str,
    nonce: String,
) -> anyhow::Result<Intent> {
    let stack = existing(cfn::describe_stack(&p.clients.cfn, &p.cfg.stack_name).await?);
    let deployed = match &stack {
        Some(_) => deployed_template_sha256(&p.clients.cfn, &p.cfg.stack_name).await?,
        None => None,
    };
    Ok(Intent {
        stage: p.cfg.name.clone(),
        stack: p.cfg.stack_name.clone(),
        account: account.to_owned(),
        region: p.clients.region.clone(),
        package_sha256: p.package.sha256_hex.clone(),
        template_sha256: template_sha256(&p.template_body)?,
        parameters: p.parameters.iter().cloned().collect(),
        create: stack.is_none(),
        stack_id: stack.as_ref().and_then(|s| s.stack_id()).map(str::to_owned),
        stack_last_changed: stack.as_ref().and_then(last_changed),
        deployed_template_sha256: deployed,
        nonce,
    })
}

/// Reads what `--execute` compares with `plan`, for the prepared deploy `p`.
pub(crate) async fn observe(p: &Prepared, plan: &Plan, account: &str) -> anyhow::Result<Observed> {
    let c = &p.clients.cfn;
    let stack_name = &p.cfg.stack_name;
    let stack = existing(cfn::describe_stack(c, stack_name).await?);
    let deployed_template = match &stack {
        Some(_) => cfn::current_template(c, stack_name).await?,
        None => None,
    };
    let change_set = match &plan.body.change_set {
        None => None,
        Some(planned) => observe_change_set(p, &planned.id, deployed_template.as_ref()).await?,
    };
    Ok(Observed {
        account: account.to_owned(),
        stack_id: stack.as_ref().and_then(|s| s.stack_id()).map(str::to_owned),
        stack_last_changed: stack.as_ref().and_then(last_changed),
        deployed_template_sha256: deployed_template.as_ref().map(sha256_json),
        package_sha256: p.package.sha256_hex.clone(),
        template_sha256: template_sha256(&p.template_body)?,
        parameters: p.parameters.iter().cloned().collect(),
        change_set,
    })
}

async fn observe_change_set(
    p: &Prepared,
    id: &str,
    deployed_template: Option<&serde_json::Value>,
) -> anyhow::Result<Option<ObservedChangeSet>> {
    let c = &p.clients.cfn;
    let stack_name = &p.cfg.stack_name;
    let described = c
        .describe_change_set()
        .stack_name(stack_name)
        .change_set_name(id)
        .send()
        .await;
    let out = match described {
        Ok(out) => out,
        Err(err)
            if err.as_service_error().is_some_and(
                aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetError::is_change_set_not_found_exception,
            ) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!("failed to describe change set {id}")));
        }
    };
    let template = c
        .get_template()
        .stack_name(stack_name)
        .change_set_name(id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .with_context(|| format!("failed to read the template of change set {id}"))?;
    let template_body = template.template_body().unwrap_or("{}");
    let new: serde_json::Value =
        serde_json::from_str(template_body).context("the change set's template is not JSON")?;
    let changes = cfn::collect_changes(c, stack_name, id).await?;
    let summary = ChangeSummary {
        changes,
        iam_widening: plan::widened(deployed_template, &new)
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    Ok(Some(ObservedChangeSet {
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        execution_status: out
            .execution_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        description: out.description().unwrap_or_default().to_owned(),
        parameters: out
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value()?.to_owned(),
                ))
            })
            .collect(),
        template_sha256: sha256_json(&new),
        summary: summary.lines(),
    }))
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
mod tests {
    use super::*;

    fn intent() -> Intent {
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

    fn plan() -> Plan {
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

    fn observed(plan: &Plan) -> Observed {
        let i = &plan.body.intent;
        Observed {
            account: i.account.clone(),
            stack_id: i.stack_id.clone(),
            stack_last_changed: i.stack_last_changed.clone(),
            deployed_template_sha256: i.deployed_template_sha256.clone(),
            package_sha256: i.package_sha256.clone(),
            template_sha256: i.template_sha256.clone(),
            parameters: i.parameters.clone(),
            change_set: Some(ObservedChangeSet {
                status: "CREATE_COMPLETE".into(),
                execution_status: "AVAILABLE".into(),
                description: change_set_description(i),
                parameters: i.parameters.clone(),
                template_sha256: i.template_sha256.clone(),
                summary: plan.body.summary.clone(),
            }),
        }
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
    fn an_unchanged_world_executes_and_every_difference_is_named() {
        let plan = plan();
        assert_eq!(differences(&plan, &observed(&plan)), Vec::<String>::new());
        type Edit = fn(&mut Observed);
        let cases: [(&str, Edit); 11] = [
            ("account", |o| o.account = "111122223333".into()),
            ("stack's last change", |o| {
                o.stack_last_changed = Some("UPDATE_COMPLETE at 2.000000000".into())
            }),
            ("deployed template", |o| o.deployed_template_sha256 = None),
            ("package", |o| o.package_sha256 = "dd".repeat(32)),
            ("synthesised template", |o| {
                o.template_sha256 = "ee".repeat(32)
            }),
            ("change set execution status", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.execution_status = "OBSOLETE".into();
                }
            }),
            ("change set description", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.description = "created by cargo xtask".into();
                }
            }),
            ("change set parameters", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.parameters.insert("CodeS3Key".into(), "evil.zip".into());
                }
            }),
            ("change set template", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.template_sha256 = "ff".repeat(32);
                }
            }),
            ("change set summary", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.summary.push("[-] AWS::S3::Bucket CodeBucket".into());
                }
            }),
            ("change set", |o| o.change_set = None),
        ];
        for (what, edit) in cases {
            let mut now = observed(&plan);
            edit(&mut now);
            let found = differences(&plan, &now);
            assert_eq!(found.len(), 1, "{what}: {found:?}");
            assert!(found[0].starts_with(what), "{what}: {found:?}");
        }
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
