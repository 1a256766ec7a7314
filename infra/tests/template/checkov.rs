//! Checkov skips: each one expected and justified.

use super::*;

#[test]
fn every_checkov_skip_is_expected_and_justified() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let mut skipped = BTreeSet::new();
        for (id, resource) in resources(&t) {
            for skip in as_list(&resource["Metadata"]["checkov"]["skip"]) {
                let check = str_of(&skip["id"]);
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    comment.trim().len() > 10,
                    "{}: checkov skip {check} on {id} needs a reason",
                    cfg.name
                );
                assert!(
                    skipped.insert((id.clone(), check.to_owned())),
                    "{id}: {check} skipped twice"
                );
            }
        }
        // Per function: no function DLQ (CKV_AWS_116), no VPC (117), no KMS for the
        // environment (173); per log group: no KMS key (158); per queue: SSE-SQS rather than a
        // KMS key (27); the bucket: no access logs (18). Nothing is skipped on the event
        // sources, roles or API.
        let mut expected: BTreeSet<(String, String)> = BTreeSet::from([
            ("ApiAccessLogGroup".to_owned(), "CKV_AWS_158".to_owned()),
            ("CodeBucket".to_owned(), "CKV_AWS_18".to_owned()),
            (JOBS_QUEUE.to_owned(), "CKV_AWS_27".to_owned()),
            (DEAD_LETTER_QUEUE.to_owned(), "CKV_AWS_27".to_owned()),
            // The budget table: no point-in-time recovery (28), DynamoDB's own key (119).
            (QUOTA_TABLE.to_owned(), "CKV_AWS_28".to_owned()),
            (QUOTA_TABLE.to_owned(), "CKV_AWS_119".to_owned()),
        ]);
        for part in PARTS {
            for check in ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"] {
                expected.insert((part.function.to_owned(), check.to_owned()));
            }
            expected.insert((part.logs.to_owned(), "CKV_AWS_158".to_owned()));
        }
        assert_eq!(skipped, expected, "{}", cfg.name);
    }
}
