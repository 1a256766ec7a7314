//! The roles' permissions: one role per function, each with exactly what it needs.

use super::*;

/// The dev model's inference profile and the foundation model it routes to.
const PROFILE_ARN: &str = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.anthropic.claude-sonnet-4-6";
const FOUNDATION_MODEL_ARNS: [&str; 3] = [
    "arn:${AWS::Partition}:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-6",
    "arn:${AWS::Partition}:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-6",
];

/// Statements of the one inline policy of role `role_id`: every permission of this stack's roles
/// is written into that one policy by grants (`support::lookups::role_statements` with that
/// expectation).
fn grant_statements<'a>(t: &'a Value, role_id: &str) -> Vec<&'a Value> {
    let documents = role_policy_documents(t, role_id);
    assert_eq!(
        documents.len(),
        1,
        "{role_id}: one inline policy, written by grants"
    );
    documents.into_iter().flat_map(statements).collect()
}

/// `(action, resource as JSON text)` for every action/resource pair `statements` allow, sorted,
/// so the comparison is independent of statement order.
fn pairs_of(statements: &[&Value]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for stmt in statements {
        assert_eq!(
            stmt["Effect"], "Allow",
            "role statements are allows: {stmt}"
        );
        for key in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(stmt.get(key).is_none(), "{key} is never used: {stmt}");
        }
        for action in as_list(&stmt["Action"]) {
            for resource in as_list(&stmt["Resource"]) {
                pairs.push((str_of(action).to_owned(), resource.to_string()));
            }
        }
    }
    pairs.sort();
    pairs
}

/// Every `(action, resource)` pair role `role_id` allows.
pub(super) fn allowed_pairs(t: &Value, role_id: &str) -> Vec<(String, String)> {
    pairs_of(&grant_statements(t, role_id))
}

fn pair(action: &str, resource: &Value) -> (String, String) {
    (action.to_owned(), resource.to_string())
}

/// The ARN pattern of the code bucket's objects under `prefix`.
fn objects_under(prefix: &str) -> Value {
    sub(&format!("${{CodeBucket.Arn}}/{prefix}*"))
}

/// What the Bedrock grant writes for `action`: the profile plus the routed foundation models.
fn bedrock_pairs(action: &str) -> Vec<(String, String)> {
    std::iter::once(PROFILE_ARN)
        .chain(FOUNDATION_MODEL_ARNS)
        .map(|arn| pair(action, &sub(arn)))
        .collect()
}

/// The complete permission set of a part's role in dev (and what AWS evaluates in local).
pub(super) fn expected_pairs(part: Part) -> Vec<(String, String)> {
    let code = objects_under(OUTPUT_PREFIX);
    let job_records = objects_under(JOBS_PREFIX);
    let consume = |queue: &str| {
        [
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ]
        .map(|action| pair(action, &get_att(queue, "Arn")))
    };
    let logs = get_att(part.logs, "Arn");
    let mut pairs = vec![
        pair("logs:CreateLogStream", &logs),
        pair("logs:PutLogEvents", &logs),
        // Every function is traced; X-Ray's writes take no resource.
        pair("xray:PutTelemetryRecords", &json!("*")),
        pair("xray:PutTraceSegments", &json!("*")),
    ];
    match part.name {
        // Write generated code, call the model.
        "sync" => {
            pairs.push(pair("s3:PutObject", &code));
            pairs.extend(bedrock_pairs("bedrock:InvokeModel"));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        // The front door may create job records and enqueue, not write code.
        "submit" => {
            pairs.push(pair("s3:PutObject", &job_records));
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.push(pair("sqs:SendMessage", &get_att(JOBS_QUEUE, "Arn")));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        // The status reader may read job records and the code objects they point to.
        "status" => {
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.push(pair("s3:GetObject", &code));
        }
        // The worker may write code and job records, read back code an earlier attempt stored,
        // call the model and consume both queues.
        "worker" => {
            pairs.push(pair("s3:PutObject", &code));
            pairs.push(pair("s3:GetObject", &code));
            pairs.push(pair("s3:PutObject", &job_records));
            pairs.push(pair("s3:GetObject", &job_records));
            pairs.extend(bedrock_pairs("bedrock:InvokeModel"));
            pairs.extend(consume(JOBS_QUEUE));
            pairs.extend(consume(DEAD_LETTER_QUEUE));
            pairs.push(pair("dynamodb:UpdateItem", &get_att(QUOTA_TABLE, "Arn")));
        }
        other => panic!("unknown part {other}"),
    }
    pairs.sort();
    pairs
}

/// The roles in the template allowing at least one `(action, resource)` pair `holds` accepts.
pub(super) fn roles_allowing(t: &Value, holds: impl Fn(&str, &str) -> bool) -> BTreeSet<&str> {
    find_resources(t, ROLE)
        .into_iter()
        .filter(|(id, _)| {
            allowed_pairs(t, id)
                .iter()
                .any(|(action, resource)| holds(action.as_str(), resource.as_str()))
        })
        .map(|(id, _)| id)
        .collect()
}

pub(super) fn role_ids(parts: &[Part]) -> BTreeSet<&'static str> {
    parts.iter().map(|p| p.role).collect()
}

/// The statements of `role_id` whose Sid marks them as emulator-only, and the others.
fn split_emulator_only<'a>(t: &'a Value, role_id: &str) -> (Vec<&'a Value>, Vec<&'a Value>) {
    grant_statements(t, role_id)
        .into_iter()
        .partition(|s| str_of(&s["Sid"]).starts_with("EmulatorOnly"))
}

#[test]
fn each_function_runs_as_its_own_role() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let actual: BTreeMap<&str, &str> = find_resources(&t, FUNCTION)
            .into_iter()
            .map(|(id, f)| (id, referenced_id(&f["Properties"]["Role"])))
            .collect();
        let expected: BTreeMap<&str, &str> = PARTS.iter().map(|p| (p.function, p.role)).collect();
        assert_eq!(actual, expected, "{}", cfg.name);
    }
}

#[test]
fn dev_sync_role_allows_exactly_put_invoke_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, SYNC.role), expected_pairs(SYNC));
}

/// The front door may create job records and enqueue, not write code or call the model.
#[test]
fn dev_submit_role_allows_exactly_job_records_enqueue_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, SUBMIT.role), expected_pairs(SUBMIT));
}

/// The status reader may read job records and the code objects they point to, nothing else.
#[test]
fn dev_status_role_allows_exactly_reads_of_job_records_and_code_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, STATUS.role), expected_pairs(STATUS));
}

/// The worker may write code and job records, read job records and code, call the model and
/// consume the jobs queue and its dead-letter queue, nothing else.
#[test]
fn dev_worker_role_allows_exactly_code_job_records_model_queues_and_log_writes() {
    let t = synth(&dev());
    assert_eq!(allowed_pairs(&t, WORKER.role), expected_pairs(WORKER));
}

/// Whether a role's `(action, resource)` pair gives it a capability.
type Holds = Box<dyn Fn(&str, &str) -> bool>;

/// Each capability, across every role in the template (a new role is covered without editing
/// this test), is held by exactly the roles that need it.
#[test]
fn capabilities_are_held_by_exactly_the_roles_that_need_them() {
    let code = objects_under(OUTPUT_PREFIX).to_string();
    let cases: [(&str, Holds, Vec<Part>); 7] = [
        (
            "any Bedrock action",
            Box::new(|a: &str, _: &str| a.starts_with("bedrock:")),
            vec![SYNC, WORKER],
        ),
        (
            "consuming SQS (any SQS action but SendMessage)",
            Box::new(|a: &str, _: &str| a.starts_with("sqs:") && a != "sqs:SendMessage"),
            vec![WORKER],
        ),
        (
            "sqs:SendMessage",
            Box::new(|a: &str, _: &str| a == "sqs:SendMessage"),
            vec![SUBMIT],
        ),
        (
            "writing generated code",
            Box::new(move |a: &str, r: &str| a == "s3:PutObject" && r == code),
            vec![SYNC, WORKER],
        ),
        (
            "any S3 action but GetObject",
            Box::new(|a: &str, _: &str| a.starts_with("s3:") && a != "s3:GetObject"),
            vec![SYNC, SUBMIT, WORKER],
        ),
        (
            // Reserving and settling budgets (the model callers) and job slots (submit, worker).
            "dynamodb:UpdateItem on the budget table",
            Box::new(|a: &str, _: &str| a == "dynamodb:UpdateItem"),
            vec![SYNC, SUBMIT, WORKER],
        ),
        (
            "any action but S3 object reads/writes, logs, traces, Bedrock, SQS and budget updates",
            Box::new(|a: &str, _: &str| {
                !["s3:GetObject", "s3:PutObject", "dynamodb:UpdateItem"].contains(&a)
                    && !XRAY_WRITE_ACTIONS.contains(&a)
                    && !["logs:", "bedrock:", "sqs:"]
                        .iter()
                        .any(|p| a.starts_with(p))
            }),
            vec![],
        ),
    ];
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (capability, holds, parts) in &cases {
            assert_eq!(
                roles_allowing(&t, holds),
                role_ids(parts),
                "{}: roles allowing {capability}",
                cfg.name
            );
        }
    }
}

#[test]
fn each_role_writes_only_to_its_own_functions_log_group() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (function_id, function) in find_resources(&t, FUNCTION) {
            let p = &function["Properties"];
            let role_id = referenced_id(&p["Role"]);
            let group = get_att(referenced_id(&p["LoggingConfig"]["LogGroup"]), "Arn").to_string();
            let log_resources: BTreeSet<String> = allowed_pairs(&t, role_id)
                .into_iter()
                .filter(|(action, _)| action.starts_with("logs:"))
                .map(|(_, resource)| resource)
                .collect();
            assert_eq!(
                log_resources,
                BTreeSet::from([group]),
                "{}: {function_id}'s role {role_id}",
                cfg.name
            );
        }
    }
}

#[test]
fn routed_foundation_models_are_conditioned_on_the_inference_profile() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for (role_id, _) in find_resources(&t, ROLE) {
            // The emulator-only statement is checked in
            // `local_model_callers_add_only_the_emulator_converse_grant`.
            let (_, aws) = split_emulator_only(&t, role_id);
            for stmt in aws {
                let resources: Vec<String> = as_list(&stmt["Resource"])
                    .iter()
                    .map(|r| r.to_string())
                    .collect();
                let on_foundation_models =
                    resources.iter().any(|r| r.contains("foundation-model/"));
                let condition = &stmt["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"];
                if on_foundation_models {
                    assert_eq!(
                        *condition,
                        sub(PROFILE_ARN),
                        "{} {role_id}: foundation models only through the profile: {stmt}",
                        cfg.name
                    );
                    assert!(
                        resources.iter().all(|r| r.contains("foundation-model/")),
                        "{} {role_id}: the condition must not leak onto other resources: {stmt}",
                        cfg.name
                    );
                } else {
                    assert!(
                        stmt.get("Condition").is_none(),
                        "{} {role_id}: unexpected condition: {stmt}",
                        cfg.name
                    );
                }
            }
        }
    }
}

/// A `global.` profile: AWS's three statements (profile; regional foundation model through the
/// profile; region-less foundation model with `aws:RequestedRegion = unspecified` through the
/// profile), and nothing else for Bedrock, in every role that calls the model.
/// <https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>
#[test]
fn global_profile_synthesises_the_documented_statements() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: global.anthropic.claude-opus-4-8",
        ),
    );
    let t = synth(&cfg);
    let profile = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/global.anthropic.claude-opus-4-8";
    for part in MODEL_CALLERS {
        let bedrock: Vec<&Value> = grant_statements(&t, part.role)
            .into_iter()
            .filter(|s| str_of(&s["Sid"]).starts_with("Bedrock"))
            .collect();
        assert_eq!(bedrock.len(), 3, "{}: {bedrock:?}", part.role);
        assert_eq!(bedrock[0]["Resource"], json!([sub(profile)]));
        assert!(bedrock[0].get("Condition").is_none());
        assert_eq!(
            bedrock[1]["Resource"],
            json!([sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/anthropic.claude-opus-4-8"
            )])
        );
        assert_eq!(
            bedrock[1]["Condition"],
            json!({ "StringEquals": { "bedrock:InferenceProfileArn": sub(profile) } })
        );
        assert_eq!(
            bedrock[2]["Resource"],
            json!([sub(
                "arn:${AWS::Partition}:bedrock:::foundation-model/anthropic.claude-opus-4-8"
            )])
        );
        assert_eq!(
            bedrock[2]["Condition"],
            json!({ "StringEquals": {
                "aws:RequestedRegion": "unspecified",
                "bedrock:InferenceProfileArn": sub(profile)
            } })
        );
        for s in &bedrock {
            assert_eq!(s["Action"], json!(["bedrock:InvokeModel"]), "{s}");
        }
    }
}

/// A geographic profile from another source region names that region's documented destinations.
#[test]
fn geographic_profile_follows_the_source_region() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with("region: us-east-1", "region: eu-west-1").replace(
            "id: us.anthropic.claude-sonnet-4-6",
            "id: eu.anthropic.claude-sonnet-4-6",
        ),
    );
    let t = synth(&cfg);
    for part in MODEL_CALLERS {
        let routed = statement_with_sid(
            grant_statements(&t, part.role),
            "BedrockInvokeRoutedFoundationModel",
        );
        let regions: Vec<String> = as_list(&routed["Resource"])
            .iter()
            .map(|r| {
                let arn = r["Fn::Sub"].as_str().unwrap_or_default();
                let after = arn.split_once(":bedrock:").map_or("", |(_, rest)| rest);
                after.split(':').next().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            regions,
            ["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"],
            "{}",
            part.role
        );
    }
}

/// In local, the roles that call Bedrock (sync and worker) each get the ministack-only
/// `bedrock:Converse` statement with its cfn-lint suppression; no other role does, and what AWS
/// would evaluate is exactly dev's permission set for every role.
#[test]
fn local_model_callers_add_only_the_emulator_converse_grant() {
    let t = synth(&local());
    for part in PARTS {
        let calls_model = MODEL_CALLERS.iter().any(|p| p.role == part.role);
        let (emulator_only, aws) = split_emulator_only(&t, part.role);
        assert_eq!(pairs_of(&aws), expected_pairs(part), "{}", part.role);

        // ministack authorises Converse as `bedrock:Converse` on `foundation-model/<the id in the
        // request>`, here the inference profile id: one statement naming exactly that id.
        let expected_emulator_only = if calls_model {
            vec![pair(
                "bedrock:Converse",
                &sub(
                    "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/us.anthropic.claude-sonnet-4-6",
                ),
            )]
        } else {
            Vec::new()
        };
        assert_eq!(
            pairs_of(&emulator_only),
            expected_emulator_only,
            "{}",
            part.role
        );

        for stmt in grant_statements(&t, part.role) {
            let sid = str_of(&stmt["Sid"]);
            let is_converse = as_list(&stmt["Action"]).contains(&&json!("bedrock:Converse"));
            assert_eq!(
                is_converse,
                sid.starts_with("EmulatorOnly"),
                "bedrock:Converse statements, and only they, are marked EmulatorOnly: {stmt}"
            );
        }

        let metadata = &resource(&t, part.role, ROLE)["Metadata"];
        if calls_model {
            assert_eq!(
                metadata["cfn-lint"]["config"]["ignore_checks"],
                json!(["W3037"]),
                "{}",
                part.role
            );
            let reason = metadata["Comments"]["cfn-lint W3037"]
                .as_str()
                .expect("the W3037 ignore has a reason");
            assert!(reason.contains("ministack"), "{reason}");
        } else {
            assert!(metadata.is_null(), "{}: {metadata}", part.role);
        }
    }
}

#[test]
fn dev_never_mentions_bedrock_converse_or_lint_ignores() {
    let t = synth(&dev());
    let text = t.to_string();
    assert!(
        !text.contains("bedrock:Converse"),
        "dev grants only real IAM actions"
    );
    assert!(!text.contains("EmulatorOnly"));
    for (role_id, role) in find_resources(&t, ROLE) {
        assert!(role.get("Metadata").is_none(), "{role_id}");
    }
}
