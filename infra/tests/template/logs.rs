//! Log groups: owned by the stack, retained, named after their source.

use super::*;

#[test]
fn log_groups_are_owned_retained_and_named_after_their_source() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let groups = find_resources(&t, "AWS::Logs::LogGroup");
        assert_eq!(groups.len(), PARTS.len() + 1);
        for (id, group) in &groups {
            assert_eq!(group["DeletionPolicy"], "Delete", "{id}");
            assert_eq!(
                group["Properties"]["RetentionInDays"], cfg.logs.retention_days,
                "{id}"
            );
        }
        assert_eq!(
            properties(&t, SYNC.logs, "AWS::Logs::LogGroup")["LogGroupName"],
            format!("/aws/lambda/{}", cfg.function_name())
        );
        for part in PARTS {
            let function_name = str_of(&properties(&t, part.function, FUNCTION)["FunctionName"]);
            assert_eq!(
                properties(&t, part.logs, "AWS::Logs::LogGroup")["LogGroupName"],
                format!("/aws/lambda/{function_name}"),
                "{}",
                part.logs
            );
        }
    }
}
