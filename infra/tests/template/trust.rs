//! The roles' trust policies and permissions boundary.

use super::permissions::{allowed_pairs, expected_pairs};
use super::*;

#[test]
fn trust_policies_are_lambda_only_and_scoped_to_the_account() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, ROLE, PARTS.len());
        for (role_id, role) in find_resources(&t, ROLE) {
            let role = &role["Properties"];
            assert_eq!(
                role["AssumeRolePolicyDocument"],
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Service": "lambda.amazonaws.com" },
                        "Action": ["sts:AssumeRole"],
                        "Condition": {
                            "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } }
                        }
                    }]
                }),
                "{} {role_id}",
                cfg.name
            );
            assert!(
                role.get("ManagedPolicyArns").is_none(),
                "{} {role_id}",
                cfg.name
            );
            assert_eq!(
                role["PermissionsBoundary"],
                json!({"Fn::Sub": format!(
                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}-boundary",
                    cfg.stack_name
                )}),
                "{} {role_id}: the bootstrap's boundary",
                cfg.name
            );
        }
    }
}

#[test]
fn every_role_carries_the_bootstraps_permissions_boundary_named_after_the_stack() {
    let t = synth(&dev_with_stack_name("other-app"));
    for part in PARTS {
        assert_eq!(
            properties(&t, part.role, ROLE)["PermissionsBoundary"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/other-app-boundary"}),
            "{}",
            part.role
        );
        // The boundary changes nothing else about the role's permissions.
        assert_eq!(allowed_pairs(&t, part.role), expected_pairs(part));
    }
    assert_eq!(
        codegen_infra::names::permissions_boundary("other-app"),
        "other-app-boundary",
        "the bootstrap names the policy the same way"
    );
}
