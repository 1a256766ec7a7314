//! Checks before a deploy changes anything: that the stage's Bedrock model can be used in the
//! region (model access granted, agreement accepted), with a message that says what to enable.
//! One Bedrock control-plane call (`GetFoundationModelAvailability`).

use anyhow::bail;
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityOutput;
use codegen_infra::StageConfig;

use crate::aws::Clients;
use crate::report::progress;

/// What the availability answer means for a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelAccess {
    /// Usable.
    Ready,
    /// Not usable yet: what is missing, in words.
    Missing(Vec<String>),
}

/// Reads a `GetFoundationModelAvailability` answer.
pub fn classify(out: &GetFoundationModelAvailabilityOutput) -> ModelAccess {
    let mut missing = Vec::new();
    if out.authorization_status().as_str() != "AUTHORIZED" {
        missing.push("model access is not granted to this account".to_owned());
    }
    if out.entitlement_availability().as_str() != "AVAILABLE" {
        missing.push("the account is not entitled to the model".to_owned());
    }
    if out.region_availability().as_str() != "AVAILABLE" {
        missing.push("the model is not offered in this region".to_owned());
    }
    if let Some(agreement) = out.agreement_availability()
        && agreement.status().as_str() != "AVAILABLE"
    {
        let detail = agreement.error_message().unwrap_or("not accepted");
        missing.push(format!(
            "the model's end-user agreement is {}: {detail}",
            agreement.status().as_str()
        ));
    }
    if missing.is_empty() {
        ModelAccess::Ready
    } else {
        ModelAccess::Missing(missing)
    }
}

/// Fails the deploy when the stage's model cannot be used, before anything is changed.
///
/// Emulator endpoints do not implement this API: the check is skipped there, visibly. A caller that may
/// not ask (no `bedrock:GetFoundationModelAvailability`) gets a warning, not a failure: the
/// deploy itself does not need Bedrock, only the function does.
pub async fn check_model_access(clients: &Clients, cfg: &StageConfig) -> anyhow::Result<()> {
    let model = &cfg.model.foundation_model;
    if let Some(endpoint) = &clients.endpoint {
        // Emulators (the `local` stage, or any stage with --endpoint / AWS_ENDPOINT_URL) have no
        // model-access control plane to ask.
        progress(format!(
            "skipping the Bedrock model-access check for {model}: {endpoint} is an emulator endpoint"
        ));
        return Ok(());
    }
    let answer = clients
        .bedrock
        .get_foundation_model_availability()
        .model_id(model)
        .send()
        .await;
    match answer {
        Ok(out) => match classify(&out) {
            ModelAccess::Ready => Ok(()),
            ModelAccess::Missing(reasons) => bail!(
                "Bedrock model {model} cannot be used in {}: {}. Enable it in the Bedrock console \
                 (Model access) for this account and region{}, or choose another model in \
                 infra/stages/{}.yaml",
                clients.region,
                reasons.join("; "),
                if cfg.model.regions.is_empty() {
                    String::new()
                } else {
                    format!(
                        " and the regions its inference profile routes to ({})",
                        cfg.model.regions.join(", ")
                    )
                },
                cfg.name
            ),
        },
        Err(err) => {
            let code = err.code().unwrap_or("unknown error").to_owned();
            if code == "AccessDeniedException" {
                progress(format!(
                    "warning: could not check Bedrock model access for {model} (AccessDenied on \
                     bedrock:GetFoundationModelAvailability); the function will fail with model_access if it is not enabled"
                ));
                Ok(())
            } else if code == "ResourceNotFoundException" || code == "ValidationException" {
                bail!(
                    "Bedrock does not know model {model} in {}: check model.foundation_model in infra/stages/{}.yaml",
                    clients.region,
                    cfg.name
                )
            } else {
                progress(format!(
                    "warning: could not check Bedrock model access for {model}: {code}"
                ));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_bedrock::types::{
        AgreementAvailability, AgreementStatus, AuthorizationStatus, EntitlementAvailability,
        RegionAvailability,
    };

    fn answer(
        auth: AuthorizationStatus,
        agreement: AgreementStatus,
    ) -> GetFoundationModelAvailabilityOutput {
        GetFoundationModelAvailabilityOutput::builder()
            .model_id("anthropic.claude-sonnet-4-5-20250929-v1:0")
            .authorization_status(auth)
            .entitlement_availability(EntitlementAvailability::Available)
            .region_availability(RegionAvailability::Available)
            .agreement_availability(
                AgreementAvailability::builder()
                    .status(agreement)
                    .build()
                    .expect("agreement"),
            )
            .build()
            .expect("output")
    }

    #[test]
    fn granted_and_accepted_is_ready() {
        assert_eq!(
            classify(&answer(
                AuthorizationStatus::Authorized,
                AgreementStatus::Available
            )),
            ModelAccess::Ready
        );
    }

    #[test]
    fn missing_access_and_agreement_are_both_named() {
        let ModelAccess::Missing(reasons) = classify(&answer(
            AuthorizationStatus::NotAuthorized,
            AgreementStatus::Pending,
        )) else {
            panic!("expected missing access");
        };
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("not granted"));
        assert!(reasons[1].contains("PENDING"));
    }
}
