//! Outputs: exactly what the deployer reads.

use super::*;

#[test]
fn outputs_are_exactly_what_the_deployer_reads() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let names: BTreeSet<&str> = t["Outputs"]
            .as_object()
            .expect("outputs")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = [
            outputs::API_ENDPOINT,
            outputs::INVOKE_URL,
            outputs::BUCKET_NAME,
            outputs::FUNCTION_NAME,
            outputs::ROLE_ARN,
            outputs::API_ID,
            outputs::STAGE_NAME,
            outputs::LOG_GROUP,
            outputs::JOBS_QUEUE_URL,
            outputs::JOBS_WORKER_FUNCTION,
        ]
        .into_iter()
        .collect();
        assert_eq!(names, expected);
        let value = |name: &str| &t["Outputs"][name]["Value"];
        assert_eq!(*value(outputs::STAGE_NAME), cfg.name.as_str());
        assert_eq!(*value(outputs::BUCKET_NAME), reference("CodeBucket"));
        assert_eq!(*value(outputs::FUNCTION_NAME), reference(SYNC.function));
        assert_eq!(*value(outputs::ROLE_ARN), get_att(SYNC.role, "Arn"));
        assert_eq!(*value(outputs::LOG_GROUP), reference(SYNC.logs));
        assert_eq!(*value(outputs::API_ID), imported_api_id(&cfg));
        assert_eq!(
            *value(outputs::INVOKE_URL),
            json!({"Fn::Join": ["", [
                {"Fn::ImportValue": codegen_infra::names::api_endpoint_export(&cfg.stack_name)},
                format!("/{}/code-generation", cfg.name),
            ]]})
        );
        assert_eq!(*value(outputs::JOBS_QUEUE_URL), reference(JOBS_QUEUE));
        assert_eq!(
            *value(outputs::JOBS_WORKER_FUNCTION),
            reference(WORKER.function)
        );
    }
}
