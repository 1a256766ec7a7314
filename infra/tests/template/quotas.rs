//! Budgets per caller (infra/src/quotas.rs): the budget table and who may update it.

use super::permissions::{allowed_pairs, role_ids, roles_allowing};
use super::*;

#[test]
fn the_budget_table_is_on_demand_expires_old_days_and_only_the_model_callers_and_submit_update_it()
{
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let table = properties(&t, QUOTA_TABLE, "AWS::DynamoDB::Table");
        assert_eq!(table["TableName"], cfg.quota_table_name().as_str());
        assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            table["TimeToLiveSpecification"],
            json!({"AttributeName": codegen_contract::quota::EXPIRES_AT_ATTR, "Enabled": true})
        );
        assert_eq!(
            table["KeySchema"],
            json!([{"AttributeName": codegen_contract::quota::KEY_ATTR, "KeyType": "HASH"}])
        );
        // Exactly these roles touch the table, each with UpdateItem on it and nothing else.
        let dynamo = roles_allowing(&t, |action, _| action.starts_with("dynamodb:"));
        assert_eq!(dynamo, role_ids(&[SYNC, SUBMIT, WORKER]), "{}", cfg.name);
        for (id, _) in find_resources(&t, ROLE) {
            for (action, resource) in allowed_pairs(&t, id) {
                if action.starts_with("dynamodb:") {
                    assert_eq!(
                        (action.as_str(), resource.as_str()),
                        (
                            "dynamodb:UpdateItem",
                            get_att(QUOTA_TABLE, "Arn").to_string().as_str()
                        ),
                        "{} {id}",
                        cfg.name
                    );
                }
            }
        }
    }
    // Without a `quotas` section: no table, no grant, no variable.
    let mut off = dev();
    off.quotas = None;
    let t = synth(&off);
    assert!(find_resources(&t, "AWS::DynamoDB::Table").is_empty());
    assert!(roles_allowing(&t, |action, _| action.starts_with("dynamodb:")).is_empty());
    assert!(!t.to_string().contains(codegen_contract::quota::env::TABLE));
}
