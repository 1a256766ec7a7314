//! Resource counts and logical ids.

use super::*;

fn expected_counts(with_bucket_policy: bool) -> BTreeMap<String, usize> {
    let mut expected: BTreeMap<String, usize> = [
        ("AWS::S3::Bucket", 1),
        (ROLE, 4),
        // One per function, plus the API's access logs.
        ("AWS::Logs::LogGroup", 5),
        (FUNCTION, 4),
        ("AWS::Lambda::Permission", 3),
        (EVENT_SOURCE, 2),
        (QUEUE, 2),
        // The API itself is the bootstrap's (infra/tests/api_scope.rs).
        ("AWS::ApiGatewayV2::Integration", 3),
        ("AWS::ApiGatewayV2::Route", 3),
        ("AWS::ApiGatewayV2::Stage", 1),
        // Monitoring (infra/src/alarms.rs; each alarm is asserted in infra/tests/alarms.rs): the
        // encrypted alarm topic, its key and policy, 14 alarms and the dashboard.
        ("AWS::CloudWatch::Alarm", 14),
        ("AWS::CloudWatch::Dashboard", 1),
        // The budget table (infra/src/quotas.rs): both committed emulator and dev stages have
        // budgets.
        ("AWS::DynamoDB::Table", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if with_bucket_policy {
        expected.insert("AWS::S3::BucketPolicy".to_owned(), 1);
    }
    expected
}

#[test]
fn dev_has_exactly_the_expected_resources() {
    let t = synth(&dev());
    // An exact map also proves the absence of everything else: no ApiGatewayV2::Deployment (the
    // deployer deploys explicitly), no IAM::Policy / ManagedPolicy / User; one KMS key, the alarm
    // topic's.
    assert_eq!(type_counts(&t), expected_counts(true));
    for absent in [
        "AWS::ApiGatewayV2::Deployment",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::User",
    ] {
        resource_count_is(&t, absent, 0);
    }
}

#[test]
fn local_has_no_bucket_policy_and_otherwise_the_same_resources() {
    // ministack serves plain HTTP, so the TLS-only bucket policy would deny every request there
    // (see infra/src/stack/).
    let t = synth(&local());
    assert_eq!(type_counts(&t), expected_counts(false));
    resource_count_is(&t, "AWS::S3::BucketPolicy", 0);
    resource_count_is(&t, "AWS::ApiGatewayV2::Deployment", 0);
}

/// A renamed logical id makes CloudFormation replace the resource: a new bucket (the old one
/// deleted with its objects), new queues (queued jobs lost), new log groups. So the ids are pinned.
#[test]
fn logical_ids_are_stable() {
    let t = synth(&dev());
    let actual: BTreeSet<&str> = resources(&t).keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = [
        "ApiAccessLogGroup",
        "ApiStage",
        "CodeBucket",
        "CodeBucketPolicy",
        JOBS_QUEUE,
        DEAD_LETTER_QUEUE,
        QUOTA_TABLE,
        "JobsWorkerQueueSource",
        "JobsWorkerDeadLetterSource",
        "Dashboard",
        "AlarmApi5xx",
        "AlarmBedrockThrottles",
        "AlarmDeadLetterQueue",
        "AlarmJobAge",
        "AlarmJobsFailed",
        "AlarmOutputTokens",
    ]
    .into_iter()
    .collect();
    let function_alarms: Vec<String> = ["Sync", "Submit", "Status", "Worker"]
        .into_iter()
        .flat_map(|r| ["Errors", "Throttles"].map(|k| format!("Alarm{r}{k}")))
        .collect();
    expected.extend(function_alarms.iter().map(String::as_str));
    for part in PARTS {
        expected.extend([part.function, part.role, part.logs]);
    }
    let route_ids: Vec<String> = [
        "ApiPutCodeGeneration",
        "ApiPostCodeGenerationJobs",
        "ApiGetCodeGenerationJobsJobId",
    ]
    .into_iter()
    .flat_map(|r| ["Integration", "Route", "Permission"].map(|s| format!("{r}{s}")))
    .collect();
    expected.extend(route_ids.iter().map(String::as_str));
    assert_eq!(actual, expected);
}
