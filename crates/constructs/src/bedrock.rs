//! The Bedrock model a function may invoke, and its grant.
//!
//! The Converse API is authorised as `bedrock:InvokeModel` (there is no `bedrock:Converse` IAM
//! action). A cross-region inference profile needs two permissions: on the profile itself, and on
//! the foundation model in every region the profile routes to, conditioned on the call going
//! through that profile.

use serde_json::json;

use crate::expr::Expr;
use crate::iam::{Role, Statement};

/// Actions [`BedrockModel::grant_invoke`] grants. Converse and InvokeModel both use this action.
pub const INVOKE_ACTIONS: &[&str] = &["bedrock:InvokeModel"];

/// The action the ministack emulator checks for Converse. It does not exist in AWS IAM; it is
/// only ever granted by [`BedrockModel::grant_invoke_on_ministack`], in emulator stages.
pub const MINISTACK_CONVERSE_ACTION: &str = "bedrock:Converse";

/// A Bedrock model, called either through a cross-region inference profile or directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockModel {
    /// Inference profile id (`us.anthropic.claude-...`), if the model is reached through one.
    pub inference_profile_id: Option<String>,
    /// Foundation model id (`anthropic.claude-...`).
    pub foundation_model_id: String,
    /// Regions the profile routes to (the stack's own region when called directly).
    pub regions: Vec<String>,
}

impl BedrockModel {
    /// ARN of the inference profile in the stack's account and region.
    pub fn inference_profile_arn(&self) -> Option<Expr> {
        self.inference_profile_id.as_ref().map(|id| {
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/{id}"
            ))
        })
    }

    /// ARNs of the foundation model in every routed region (or the stack's region).
    pub fn foundation_model_arns(&self) -> Vec<Expr> {
        let id = &self.foundation_model_id;
        if self.regions.is_empty() {
            return vec![Expr::sub(format!(
                "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{id}"
            ))];
        }
        self.regions
            .iter()
            .map(|r| {
                Expr::sub(format!(
                    "arn:${{AWS::Partition}}:bedrock:{r}::foundation-model/{id}"
                ))
            })
            .collect()
    }

    /// Lets `role` invoke this model (and only this model).
    pub fn grant_invoke(&self, role: &mut Role) {
        match self.inference_profile_arn() {
            Some(profile) => {
                role.add_to_policy(Statement::allow(
                    "BedrockInvokeInferenceProfile",
                    INVOKE_ACTIONS,
                    vec![profile.clone()],
                ));
                role.add_to_policy(
                    Statement::allow(
                        "BedrockInvokeRoutedFoundationModel",
                        INVOKE_ACTIONS,
                        self.foundation_model_arns(),
                    )
                    .with_condition(
                        "StringEquals",
                        "bedrock:InferenceProfileArn",
                        json!(profile),
                    ),
                );
            }
            None => role.add_to_policy(Statement::allow(
                "BedrockInvokeFoundationModel",
                INVOKE_ACTIONS,
                self.foundation_model_arns(),
            )),
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
        let called = self
            .inference_profile_id
            .as_deref()
            .unwrap_or(&self.foundation_model_id);
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
            inference_profile_id: Some("us.anthropic.claude-x-v1:0".into()),
            foundation_model_id: "anthropic.claude-x-v1:0".into(),
            regions: vec!["us-east-1".into(), "us-west-2".into()],
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
            inference_profile_id: None,
            regions: vec![],
            ..profile()
        }
        .grant_invoke(&mut role);
        assert_eq!(role.policy().statements.len(), 1);
    }
}
