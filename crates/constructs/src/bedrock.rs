//! The Bedrock model a function may invoke, and its grant.
//!
//! The Converse API is authorised as `bedrock:InvokeModel` (there is no `bedrock:Converse` IAM
//! action: "This operation requires permission for the bedrock:InvokeModel action",
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>). What the
//! grant names depends on how the model is reached:
//! - directly: the foundation model in the stack's region;
//! - through a geographic inference profile (`us.`, `eu.`, ...): the profile, and the foundation
//!   model in every region the profile routes to from the stack's region, the latter only through
//!   that profile (`bedrock:InferenceProfileArn`)
//!   (<https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html>);
//! - through a global profile (`global.`): the profile, the foundation model in the stack's region,
//!   and the region-less `arn:aws:bedrock:::foundation-model/<id>` with
//!   `aws:RequestedRegion = "unspecified"`, both only through the profile
//!   (<https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>).

use serde_json::json;

use crate::expr::Expr;
use crate::iam::{Role, Statement};

/// Actions [`BedrockModel::grant_invoke`] grants. Converse and InvokeModel both use this action.
pub const INVOKE_ACTIONS: &[&str] = &["bedrock:InvokeModel"];

/// The action the ministack emulator checks for Converse. It does not exist in AWS IAM; it is
/// only ever granted by [`BedrockModel::grant_invoke_on_ministack`], in emulator stages.
pub const MINISTACK_CONVERSE_ACTION: &str = "bedrock:Converse";

/// Condition key naming the inference profile a foundation-model call came through.
pub const INFERENCE_PROFILE_ARN_KEY: &str = "bedrock:InferenceProfileArn";

/// How a function reaches its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The foundation model in the stack's region, on demand.
    Direct,
    /// A geographic cross-region inference profile and the regions it routes to from the stack's
    /// region.
    Geographic {
        /// Profile id (`us.anthropic.claude-...`).
        profile_id: String,
        /// Destination regions.
        regions: Vec<String>,
    },
    /// A global cross-region inference profile (any commercial region).
    Global {
        /// Profile id (`global.anthropic.claude-...`).
        profile_id: String,
    },
}

/// A Bedrock model a function may invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockModel {
    /// Foundation model id (`anthropic.claude-...`).
    pub foundation_model_id: String,
    /// How it is reached.
    pub access: Access,
}

impl BedrockModel {
    /// The id the function passes to Converse.
    pub fn invoked_id(&self) -> &str {
        match &self.access {
            Access::Direct => &self.foundation_model_id,
            Access::Geographic { profile_id, .. } | Access::Global { profile_id } => profile_id,
        }
    }

    /// ARN of the inference profile in the stack's account and region.
    pub fn inference_profile_arn(&self) -> Option<Expr> {
        match &self.access {
            Access::Direct => None,
            Access::Geographic { profile_id, .. } | Access::Global { profile_id } => {
                Some(Expr::sub(format!(
                    "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/{profile_id}"
                )))
            }
        }
    }

    fn foundation_model_arn(&self, region: &str) -> Expr {
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:bedrock:{region}::foundation-model/{}",
            self.foundation_model_id
        ))
    }

    /// Lets `role` invoke this model (and only this model).
    pub fn grant_invoke(&self, role: &mut Role) {
        let Some(profile) = self.inference_profile_arn() else {
            role.add_to_policy(Statement::allow(
                "BedrockInvokeFoundationModel",
                INVOKE_ACTIONS,
                vec![self.foundation_model_arn("${AWS::Region}")],
            ));
            return;
        };
        role.add_to_policy(Statement::allow(
            "BedrockInvokeInferenceProfile",
            INVOKE_ACTIONS,
            vec![profile.clone()],
        ));
        match &self.access {
            Access::Direct => {}
            Access::Geographic { regions, .. } => role.add_to_policy(
                Statement::allow(
                    "BedrockInvokeRoutedFoundationModel",
                    INVOKE_ACTIONS,
                    regions
                        .iter()
                        .map(|r| self.foundation_model_arn(r))
                        .collect(),
                )
                .with_condition(
                    "StringEquals",
                    INFERENCE_PROFILE_ARN_KEY,
                    json!(profile),
                ),
            ),
            Access::Global { .. } => {
                role.add_to_policy(
                    Statement::allow(
                        "BedrockInvokeRegionalFoundationModel",
                        INVOKE_ACTIONS,
                        vec![self.foundation_model_arn("${AWS::Region}")],
                    )
                    .with_condition(
                        "StringEquals",
                        INFERENCE_PROFILE_ARN_KEY,
                        json!(profile),
                    ),
                );
                // Requests a global profile routes elsewhere are authorised against the
                // region-less ARN, with "unspecified" as the requested region.
                role.add_to_policy(
                    Statement::allow(
                        "BedrockInvokeGlobalFoundationModel",
                        INVOKE_ACTIONS,
                        vec![Expr::sub(format!(
                            "arn:${{AWS::Partition}}:bedrock:::foundation-model/{}",
                            self.foundation_model_id
                        ))],
                    )
                    .with_condition("StringEquals", "aws:RequestedRegion", json!("unspecified"))
                    .with_condition(
                        "StringEquals",
                        INFERENCE_PROFILE_ARN_KEY,
                        json!(profile),
                    ),
                );
            }
        }
    }
}

impl BedrockModel {
    /// [`Self::grant_invoke`], plus one statement for the ministack emulator (Sid prefixed
    /// `EmulatorOnly`). ministack authorises Converse as `bedrock:Converse` (AWS:
    /// `bedrock:InvokeModel`) on `foundation-model/<the id in the request>`, even when that id is an
    /// inference profile. The extra statement names exactly the configured id, so calls to any
    /// other model are still denied there; the AWS statements are unchanged.
    pub fn grant_invoke_on_ministack(&self, role: &mut Role) {
        self.grant_invoke(role);
        let called = self.invoked_id();
        role.add_to_policy(Statement::allow(
            "EmulatorOnlyMinistackConverse",
            &[MINISTACK_CONVERSE_ACTION],
            vec![Expr::sub(format!(
                "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{called}"
            ))],
        ));
        role.ignore_cfn_lint(
            "W3037",
            "bedrock:Converse is not an IAM action on AWS; only the ministack emulator checks it (emulator stages only).",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> BedrockModel {
        BedrockModel {
            foundation_model_id: "anthropic.claude-x-v1:0".into(),
            access: Access::Geographic {
                profile_id: "us.anthropic.claude-x-v1:0".into(),
                regions: vec!["us-east-1".into(), "us-west-2".into()],
            },
        }
    }

    #[test]
    fn profile_grant_names_profile_and_routed_models_only() {
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        profile().grant_invoke(&mut role);
        let stmts = &role.policy().statements;
        assert_eq!(stmts.len(), 2);
        assert!(stmts.iter().all(|s| s.actions == INVOKE_ACTIONS));
        assert_eq!(stmts[1].resources.len(), 2);
        assert!(stmts[1].conditions.contains_key("StringEquals"));
    }

    #[test]
    fn global_grant_has_the_three_documented_statements() {
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        BedrockModel {
            foundation_model_id: "anthropic.claude-x".into(),
            access: Access::Global {
                profile_id: "global.anthropic.claude-x".into(),
            },
        }
        .grant_invoke(&mut role);
        let stmts = &role.policy().statements;
        assert_eq!(stmts.len(), 3);
        let profile = json!(Expr::sub(
            "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/global.anthropic.claude-x"
        ));
        assert_eq!(
            stmts[1].resources,
            vec![Expr::sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/anthropic.claude-x"
            )]
        );
        assert_eq!(
            stmts[1].conditions["StringEquals"][INFERENCE_PROFILE_ARN_KEY],
            profile
        );
        assert_eq!(
            stmts[2].resources,
            vec![Expr::sub(
                "arn:${AWS::Partition}:bedrock:::foundation-model/anthropic.claude-x"
            )]
        );
        let cond = &stmts[2].conditions["StringEquals"];
        assert_eq!(cond["aws:RequestedRegion"], json!("unspecified"));
        assert_eq!(cond[INFERENCE_PROFILE_ARN_KEY], profile);
    }

    #[test]
    fn ministack_grant_adds_one_statement_for_the_called_id() {
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        profile().grant_invoke_on_ministack(&mut role);
        let stmts = &role.policy().statements;
        assert_eq!(stmts.len(), 3);
        assert_eq!(stmts[2].actions, [MINISTACK_CONVERSE_ACTION]);
        assert_eq!(
            stmts[2].resources,
            vec![Expr::sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/us.anthropic.claude-x-v1:0"
            )]
        );
        assert_eq!(
            stmts[2].sid.as_deref(),
            Some("EmulatorOnlyMinistackConverse")
        );
    }

    #[test]
    fn direct_model_grant() {
        let mut role = Role::for_service("R", "lambda.amazonaws.com", "d");
        BedrockModel {
            access: Access::Direct,
            ..profile()
        }
        .grant_invoke(&mut role);
        assert_eq!(role.policy().statements.len(), 1);
    }
}
