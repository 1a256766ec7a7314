//! Checks before a deploy changes anything: that the stage's Bedrock model can be used in the
//! region (access granted, Marketplace agreement in place), that its inference profile routes
//! where the IAM grant allows, and whether it is a legacy model. Three Bedrock control-plane calls
//! (`GetFoundationModelAvailability`, `GetInferenceProfile`, `GetFoundationModel`); the deployer
//! policy grants exactly these.

use std::collections::BTreeSet;

use anyhow::bail;
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityOutput;
use aws_sdk_bedrock::types::{
    AgreementStatus, AuthorizationStatus, EntitlementAvailability, FoundationModelLifecycle,
    FoundationModelLifecycleStatus, InferenceProfileStatus, RegionAvailability,
};
use codegen_infra::StageConfig;
use codegen_infra::config::ModelRoute;

use crate::aws::Clients;
use crate::report::progress;

/// What the availability answer means for a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelAccess {
    /// Usable.
    Ready,
    /// Not usable yet: what is missing, in words.
    Missing(Vec<String>),
}

/// Reads a `GetFoundationModelAvailability` answer.
pub(crate) fn classify(out: &GetFoundationModelAvailabilityOutput) -> ModelAccess {
    let mut missing = Vec::new();
    if *out.authorization_status() != AuthorizationStatus::Authorized {
        missing.push("model access is not granted to this account".to_owned());
    }
    if *out.entitlement_availability() != EntitlementAvailability::Available {
        missing.push("the account is not entitled to the model".to_owned());
    }
    if *out.region_availability() != RegionAvailability::Available {
        missing.push("the model is not offered in this region".to_owned());
    }
    if let Some(agreement) = out.agreement_availability()
        && *agreement.status() != AgreementStatus::Available
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

/// The remedy for a model the account cannot use yet. AWS retired the console's "Model access"
/// page: "Access to all Amazon Bedrock foundation models is enabled by default with the correct AWS
/// Marketplace permissions"; what remains is Anthropic's one-time use-case form and the Marketplace
/// subscription that the first call creates, which needs `aws-marketplace:Subscribe`,
/// `aws-marketplace:Unsubscribe` and `aws-marketplace:ViewSubscriptions` and can take up to 15
/// minutes (<https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html>).
pub(crate) fn access_remedy(model: &str, region: &str, stage: &str) -> String {
    format!(
        "Bedrock model access is automatic, with two one-time steps per account: (1) for Anthropic \
         models, submit the use-case form (Bedrock console, model catalog, the model's page); (2) \
         make the first call to {model} in {region} as a principal allowed \
         aws-marketplace:Subscribe, aws-marketplace:Unsubscribe and \
         aws-marketplace:ViewSubscriptions, which creates the Marketplace subscription (up to 15 \
         minutes). Or choose another model in infra/stages/{stage}.yaml"
    )
}

/// What Bedrock says of the stage's inference profile, compared with the grant the stack writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteCheck {
    /// The profile routes to exactly the granted regions (or, global, to the granted model).
    Matches,
    /// Bedrock routes to regions the grant does not name: every call served there is denied.
    Missing(Vec<String>),
    /// The grant names regions Bedrock does not list (wider than needed, not failing).
    Extra(Vec<String>),
    /// The profile serves another foundation model than the stage expects.
    OtherModel(String),
}

/// Compares a profile's `models[].modelArn` list with the stage's route. Pure.
pub(crate) fn compare_route(
    route: &ModelRoute,
    foundation_model: &str,
    model_arns: &[String],
) -> RouteCheck {
    let mut listed = BTreeSet::new();
    for arn in model_arns {
        // arn:aws:bedrock:<region>::foundation-model/<id>; the global profile lists region-less ARNs.
        let (head, id) = arn.rsplit_once('/').unwrap_or((arn.as_str(), ""));
        if id != foundation_model {
            return RouteCheck::OtherModel(id.to_owned());
        }
        if let Some(region) = head.split(':').nth(3).filter(|r| !r.is_empty()) {
            listed.insert(region.to_owned());
        }
    }
    let ModelRoute::Geographic { regions } = route else {
        return RouteCheck::Matches;
    };
    let granted: BTreeSet<String> = regions.iter().cloned().collect();
    let missing: Vec<String> = listed.difference(&granted).cloned().collect();
    if !missing.is_empty() {
        return RouteCheck::Missing(missing);
    }
    let extra: Vec<String> = granted.difference(&listed).cloned().collect();
    if extra.is_empty() {
        RouteCheck::Matches
    } else {
        RouteCheck::Extra(extra)
    }
}

/// A warning for a model in its legacy phase, with the end-of-life date when Bedrock gives one.
pub(crate) fn lifecycle_warning(
    model: &str,
    lifecycle: Option<&FoundationModelLifecycle>,
) -> Option<String> {
    let lifecycle = lifecycle?;
    if *lifecycle.status() != FoundationModelLifecycleStatus::Legacy {
        return None;
    }
    let eol = lifecycle
        .end_of_life_time()
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .map_or_else(
            || "no end-of-life date published yet".to_owned(),
            |t| format!("end of life {t}"),
        );
    // A Legacy model is refused to accounts that have not used it recently ("marked by provider
    // as Legacy"): a deploy to a new account succeeds, and every request then fails.
    Some(format!(
        "warning: Bedrock lists {model} as LEGACY ({eol}): an account that has not called it \
         recently (a new account) is refused with a ValidationException (\"marked by provider as \
         Legacy\"), so the deploy succeeds and every request fails there; plan the move to a \
         current model (docs/models.md)"
    ))
}

/// Fails the deploy when the stage's model cannot be used, before anything is changed: model
/// access (`GetFoundationModelAvailability`), the profile's real destinations against the grant
/// (`GetInferenceProfile`), and the model's lifecycle (`GetFoundationModel`, a warning).
///
/// Emulator endpoints do not implement these APIs: the checks are skipped there, visibly. A caller
/// that may not ask gets a warning, not a failure: the deploy itself does not need Bedrock, only
/// the function does.
pub(crate) async fn check_model_access(clients: &Clients, cfg: &StageConfig) -> anyhow::Result<()> {
    let model = &cfg.model.foundation_model;
    // What the stage validation knows from the catalogue (a Legacy model's dates, an account
    // prerequisite) is said on every deploy, emulator or not.
    for warning in &cfg.warnings {
        progress(format!("warning: {warning}"));
    }
    if let Some(endpoint) = &clients.endpoint {
        // Emulators (the `local` stage, or any stage with --endpoint / AWS_ENDPOINT_URL) have no
        // model-access control plane to ask.
        progress(format!(
            "skipping the Bedrock model checks for {model}: {endpoint} is an emulator endpoint"
        ));
        return Ok(());
    }
    run_checks(&clients.bedrock, &clients.region, cfg).await
}

/// The checks against one Bedrock control-plane client (what the mock tests drive).
pub(crate) async fn run_checks(
    bedrock: &aws_sdk_bedrock::Client,
    region: &str,
    cfg: &StageConfig,
) -> anyhow::Result<()> {
    let model = &cfg.model.foundation_model;
    check_availability(bedrock, region, cfg).await?;
    if cfg.model.route != ModelRoute::Direct {
        check_profile(bedrock, region, cfg).await?;
    }
    match bedrock
        .get_foundation_model()
        .model_identifier(model)
        .send()
        .await
    {
        Ok(out) => {
            if let Some(w) =
                lifecycle_warning(model, out.model_details().and_then(|d| d.model_lifecycle()))
            {
                progress(w);
            }
        }
        Err(err) => progress(format!(
            "warning: could not read the lifecycle of {model}: {}",
            err.code().unwrap_or("unknown error")
        )),
    }
    Ok(())
}

async fn check_availability(
    bedrock: &aws_sdk_bedrock::Client,
    region: &str,
    cfg: &StageConfig,
) -> anyhow::Result<()> {
    let model = &cfg.model.foundation_model;
    let answer = bedrock
        .get_foundation_model_availability()
        .model_id(model)
        .send()
        .await;
    match answer {
        Ok(out) => match classify(&out) {
            ModelAccess::Ready => Ok(()),
            ModelAccess::Missing(reasons) => bail!(
                "Bedrock model {model} cannot be used in {}: {}. {}",
                region,
                reasons.join("; "),
                access_remedy(model, region, &cfg.name)
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
                    "Bedrock does not know model {model} in {}: check model.id in infra/stages/{}.yaml",
                    region,
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

async fn check_profile(
    bedrock: &aws_sdk_bedrock::Client,
    region: &str,
    cfg: &StageConfig,
) -> anyhow::Result<()> {
    let id = &cfg.model.id;
    let out = match bedrock
        .get_inference_profile()
        .inference_profile_identifier(id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err) => {
            let code = err.code().unwrap_or("unknown error");
            if code == "ResourceNotFoundException" || code == "ValidationException" {
                bail!(
                    "Bedrock has no inference profile {id} in {}: check model.id in \
                     infra/stages/{}.yaml (profiles exist per region; see docs/models.md, \
                     \"How a stage uses the catalogue\")",
                    region,
                    cfg.name
                );
            }
            progress(format!(
                "warning: could not read inference profile {id}: {code}; the grant follows the model \
                 catalogue unchecked"
            ));
            return Ok(());
        }
    };
    if *out.status() != InferenceProfileStatus::Active {
        bail!(
            "inference profile {id} is {} in {}",
            out.status().as_str(),
            region
        );
    }
    let arns: Vec<String> = out
        .models()
        .iter()
        .filter_map(|m| m.model_arn().map(str::to_owned))
        .collect();
    match compare_route(&cfg.model.route, &cfg.model.foundation_model, &arns) {
        RouteCheck::Matches => Ok(()),
        RouteCheck::Extra(regions) => {
            progress(format!(
                "note: the grant for {id} names regions Bedrock does not list from {}: {} \
                 (harmless; the model catalogue may be ahead of this region)",
                region,
                regions.join(", ")
            ));
            Ok(())
        }
        RouteCheck::Missing(regions) => bail!(
            "inference profile {id} routes from {} to {} as well, which the model catalogue \
             (crates/contract/src/models/data.rs) does not list: calls served there would be \
             denied. Add the regions to the catalogue row (with its source) and deploy again",
            region,
            regions.join(", ")
        ),
        RouteCheck::OtherModel(other) => bail!(
            "inference profile {id} serves {other}, not {}: check model.id in infra/stages/{}.yaml",
            cfg.model.foundation_model,
            cfg.name
        ),
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
    fn profile_destinations_are_compared_with_the_grant() {
        let route = ModelRoute::Geographic {
            regions: vec!["us-east-1".into(), "us-east-2".into(), "us-west-2".into()],
        };
        let arn = |r: &str| format!("arn:aws:bedrock:{r}::foundation-model/m");
        let all = [arn("us-east-1"), arn("us-east-2"), arn("us-west-2")];
        assert_eq!(compare_route(&route, "m", &all), RouteCheck::Matches);
        let more = [arn("us-east-1"), arn("us-west-1")];
        assert_eq!(
            compare_route(&route, "m", &more),
            RouteCheck::Missing(vec!["us-west-1".into()])
        );
        assert_eq!(
            compare_route(&route, "m", &all[..2]),
            RouteCheck::Extra(vec!["us-west-2".into()])
        );
        assert_eq!(
            compare_route(&route, "m", &[arn("us-east-1").replace("/m", "/other")]),
            RouteCheck::OtherModel("other".into())
        );
        let global = ["arn:aws:bedrock:::foundation-model/m".to_owned()];
        assert_eq!(
            compare_route(&ModelRoute::Global, "m", &global),
            RouteCheck::Matches
        );
    }

    #[test]
    fn legacy_models_warn_with_their_end_of_life() {
        let legacy = FoundationModelLifecycle::builder()
            .status(FoundationModelLifecycleStatus::Legacy)
            .end_of_life_time(aws_smithy_types::DateTime::from_secs(1_799_452_800))
            .build()
            .expect("lifecycle");
        let w = lifecycle_warning("m", Some(&legacy)).expect("warning");
        assert!(w.contains("LEGACY") && w.contains("2027-01-09"), "{w}");
        assert!(
            w.contains("new account") && w.contains("marked by provider"),
            "{w}"
        );
        let active = FoundationModelLifecycle::builder()
            .status(FoundationModelLifecycleStatus::Active)
            .build()
            .expect("lifecycle");
        assert_eq!(lifecycle_warning("m", Some(&active)), None);
    }

    #[test]
    fn remedy_is_current() {
        let r = access_remedy("anthropic.claude-sonnet-4-6", "us-east-1", "dev");
        assert!(
            r.contains("aws-marketplace:Subscribe") && r.contains("use-case form"),
            "{r}"
        );
        assert!(!r.contains("Model access"), "AWS retired that page: {r}");
    }

    mod against_mocks {
        use super::super::*;
        use super::answer;
        use aws_sdk_bedrock::operation::get_foundation_model::GetFoundationModelOutput;
        use aws_sdk_bedrock::operation::get_inference_profile::{
            GetInferenceProfileError, GetInferenceProfileOutput,
        };
        use aws_sdk_bedrock::types::{
            AgreementStatus, AuthorizationStatus, FoundationModelDetails, InferenceProfileModel,
            InferenceProfileType,
        };
        use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
        use aws_smithy_types::error::ErrorMetadata;

        fn dev() -> StageConfig {
            codegen_infra::load_stage(&crate::project_root(), "dev").expect("dev stage")
        }

        fn profile(regions: &[&str]) -> Rule {
            let arns: Vec<String> = regions
                .iter()
                .map(|r| {
                    format!("arn:aws:bedrock:{r}::foundation-model/anthropic.claude-sonnet-4-6")
                })
                .collect();
            mock!(aws_sdk_bedrock::Client::get_inference_profile).then_output(move || {
                GetInferenceProfileOutput::builder()
                    .inference_profile_name("US Claude Sonnet 4.6")
                    .inference_profile_arn("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6")
                    .inference_profile_id("us.anthropic.claude-sonnet-4-6")
                    .status(InferenceProfileStatus::Active)
                    .r#type(InferenceProfileType::SystemDefined)
                    .set_models(Some(
                        arns.iter()
                            .map(|a| InferenceProfileModel::builder().model_arn(a).build())
                            .collect(),
                    ))
                    .build()
                    .expect("output")
            })
        }

        fn available(auth: AuthorizationStatus) -> Rule {
            mock!(aws_sdk_bedrock::Client::get_foundation_model_availability)
                .then_output(move || answer(auth.clone(), AgreementStatus::Available))
        }

        fn lifecycle(status: FoundationModelLifecycleStatus) -> Rule {
            mock!(aws_sdk_bedrock::Client::get_foundation_model).then_output(move || {
                GetFoundationModelOutput::builder()
                    .model_details(
                        FoundationModelDetails::builder()
                            .model_arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6")
                            .model_id("anthropic.claude-sonnet-4-6")
                            .model_lifecycle(
                                FoundationModelLifecycle::builder()
                                    .status(status.clone())
                                    .build()
                                    .expect("lifecycle"),
                            )
                            .build()
                            .expect("details"),
                    )
                    .build()
            })
        }

        async fn run(rules: &[&Rule]) -> anyhow::Result<()> {
            let bedrock = mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, rules);
            run_checks(&bedrock, "us-east-1", &dev()).await
        }

        #[tokio::test]
        async fn a_profile_routing_where_the_grant_does_not_stops_the_deploy() {
            let ok = [
                available(AuthorizationStatus::Authorized),
                profile(&["us-east-1", "us-east-2", "us-west-2"]),
                lifecycle(FoundationModelLifecycleStatus::Legacy),
            ];
            run(&ok.iter().collect::<Vec<_>>())
                .await
                .expect("matching routes pass");
            let wider = [
                available(AuthorizationStatus::Authorized),
                profile(&["us-east-1", "us-east-2", "us-west-1", "us-west-2"]),
                lifecycle(FoundationModelLifecycleStatus::Active),
            ];
            let err = run(&wider.iter().collect::<Vec<_>>())
                .await
                .expect_err("an unlisted destination");
            assert!(format!("{err:#}").contains("us-west-1"), "{err:#}");
        }

        #[tokio::test]
        async fn missing_access_names_the_current_remedy() {
            let rules = [
                available(AuthorizationStatus::NotAuthorized),
                profile(&["us-east-1"]),
                lifecycle(FoundationModelLifecycleStatus::Active),
            ];
            let err = run(&rules.iter().collect::<Vec<_>>())
                .await
                .expect_err("no access");
            let text = format!("{err:#}");
            assert!(
                text.contains("use-case form") && text.contains("aws-marketplace:Subscribe"),
                "{text}"
            );
        }

        #[tokio::test]
        async fn a_profile_bedrock_does_not_have_stops_the_deploy() {
            let missing = mock!(aws_sdk_bedrock::Client::get_inference_profile).then_error(|| {
                GetInferenceProfileError::generic(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("not found")
                        .build(),
                )
            });
            let rules = [
                available(AuthorizationStatus::Authorized),
                missing,
                lifecycle(FoundationModelLifecycleStatus::Active),
            ];
            let err = run(&rules.iter().collect::<Vec<_>>())
                .await
                .expect_err("no profile");
            assert!(
                format!("{err:#}").contains("no inference profile"),
                "{err:#}"
            );
        }
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
