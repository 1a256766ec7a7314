//! The deploy record: what a fully finished deploy leaves in the asset bucket, and the check that
//! lets an unchanged deploy return at once.

use anyhow::Context;
use codegen_infra::names::deployment_record_key;
use serde::Serialize;

use super::Prepared;
use crate::plan::{FINGERPRINT_TAG, StackState};
use crate::{cfn, plan};

/// The record of a stack's last fully successful deploy, `deployments/<stack>.json` in the asset
/// bucket. Written last, after the API stage is deployed and the function verified, so a deploy
/// that failed after the stack update is never mistaken for done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct DeployRecord {
    /// Fingerprint of the template and parameters ([`plan::fingerprint`]).
    pub(crate) fingerprint: String,
    /// Key of the package in the asset bucket.
    pub(crate) package: String,
    /// The package object's version the template pinned.
    pub(crate) package_version: String,
    /// The API deployment this deploy created, if it created one.
    pub(crate) api_deployment_id: Option<String>,
}

/// The deploy record of `stack` in the asset bucket `bucket` (owned by `owner`), as bytes; `None`
/// when there is none. Shared by the unchanged-deploy check and promotion
/// ([`crate::promote::package_of_stage`]), which read it differently.
pub(crate) async fn read_record_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    stack: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let recorded = s3
        .get_object()
        .bucket(bucket)
        .key(deployment_record_key(stack))
        .expected_bucket_owner(owner)
        .send()
        .await;
    let obj = match recorded {
        Ok(obj) => obj,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!(
                "failed to read the deploy record of {stack} in {bucket}"
            )));
        }
    };
    let bytes = obj
        .body
        .collect()
        .await
        .context("failed to read the deploy record")?
        .into_bytes();
    Ok(Some(bytes.to_vec()))
}

/// Whether the last fully successful deploy had this fingerprint and the stack still matches it.
pub(super) async fn is_unchanged(
    p: &Prepared,
) -> anyhow::Result<Option<aws_sdk_cloudformation::types::Stack>> {
    let stack_name = &p.cfg.stack_name;
    let Some(stack) = cfn::describe_stack(&p.clients.cfn, stack_name).await? else {
        return Ok(None);
    };
    if plan::classify(&cfn::stack_status(&stack)) != StackState::Stable
        || cfn::tag_of(&stack, FINGERPRINT_TAG) != Some(p.fingerprint.as_str())
    {
        return Ok(None);
    }
    // The stack tag is written by the change set, before the API is deployed; the state object is
    // written last, so a deploy that failed after the stack update is not mistaken for done.
    let Some(bytes) =
        read_record_bytes(&p.clients.s3, &p.asset_bucket, &p.asset_owner, stack_name).await?
    else {
        // No record (never deployed to the end, or destroyed): ask CloudFormation.
        return Ok(None);
    };
    // A record this deployer cannot read (another version wrote it) only means "ask
    // CloudFormation", never "unchanged".
    let record: Option<DeployRecord> = serde_json::from_slice(&bytes).ok();
    Ok(record
        .is_some_and(|r| r.fingerprint == p.fingerprint)
        .then_some(stack))
}

/// Writes the [`DeployRecord`] of a deploy that finished.
pub(super) async fn record_success(
    p: &Prepared,
    api_deployment_id: Option<&str>,
) -> anyhow::Result<()> {
    let body = serde_json::to_string(&DeployRecord {
        fingerprint: p.fingerprint.clone(),
        package: p.published.key.clone(),
        package_version: p.published.version_id.clone(),
        api_deployment_id: api_deployment_id.map(str::to_owned),
    })
    .context("failed to serialise the deploy record")?;
    p.clients
        .s3
        .put_object()
        .bucket(&p.asset_bucket)
        .key(deployment_record_key(&p.cfg.stack_name))
        .expected_bucket_owner(&p.asset_owner)
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .context("failed to record the deploy state in the asset bucket")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::DeployRecord;

    #[test]
    fn reads_the_records_the_untyped_writer_wrote() {
        // What deploys wrote before the record had a type: the same keys, so an existing stack's
        // record still lets an unchanged deploy return at once.
        let old = r#"{"fingerprint":"ab12","package":"codegen-function/codegen-dev/ff.zip","package_version":"v1","api_deployment_id":null}"#;
        let record: DeployRecord = serde_json::from_str(old).expect("an old record reads");
        assert_eq!(record.fingerprint, "ab12");
        assert_eq!(record.api_deployment_id, None);
        let again: DeployRecord =
            serde_json::from_str(&serde_json::to_string(&record).expect("serialises"))
                .expect("round trip");
        assert_eq!(again, record);
    }
}
