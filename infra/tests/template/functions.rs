//! The functions: code, timeouts, concurrency and the environment they are told to use.

use super::permissions::allowed_pairs;
use super::*;

#[test]
fn functions_run_the_bootstrap_from_the_package_parameters() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, FUNCTION, PARTS.len());
        assert_eq!(
            t["Parameters"]["Architecture"]["Default"],
            cfg.function.architecture.as_str()
        );
        for part in PARTS {
            resource_has_properties(
                &t,
                part.function,
                FUNCTION,
                &json!({
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": [reference("Architecture")],
                    "Code": {
                        "S3Bucket": reference("CodeS3Bucket"),
                        "S3Key": reference("CodeS3Key"),
                        "S3ObjectVersion": reference("CodeS3ObjectVersion"),
                    },
                    "Role": get_att(part.role, "Arn"),
                    "MemorySize": cfg.function.memory_mb,
                    "LoggingConfig": { "LogGroup": reference(part.logs) },
                }),
            );
        }
    }
}

#[test]
fn sync_function_finishes_before_api_gateway_gives_up() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let f = properties(&t, SYNC.function, FUNCTION);
        assert_eq!(f["FunctionName"], cfg.function_name());
        let timeout = u64_of(&f["Timeout"]);
        assert_eq!(timeout, u64::from(cfg.function.timeout_seconds));
        assert!(
            timeout < u64::from(API_GATEWAY_TIMEOUT_SECONDS),
            "{timeout}"
        );
        assert_eq!(
            f["ReservedConcurrentExecutions"].as_u64(),
            cfg.function.reserved_concurrency.map(u64::from)
        );
    }
}

#[test]
fn jobs_api_functions_are_short_capped_and_named_after_their_role() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        for part in [SUBMIT, STATUS] {
            let f = properties(&t, part.function, FUNCTION);
            assert_eq!(f["FunctionName"], cfg.jobs_function_name(part.name));
            let timeout = u64_of(&f["Timeout"]);
            assert_eq!(timeout, u64::from(JOBS_API_TIMEOUT_SECONDS));
            assert!(
                timeout < u64::from(API_GATEWAY_TIMEOUT_SECONDS),
                "{}: {timeout}",
                part.function
            );
            // The same cost ceiling as the synchronous route (checkov CKV_AWS_115).
            assert_eq!(
                f["ReservedConcurrentExecutions"].as_u64(),
                cfg.function.reserved_concurrency.map(u64::from),
                "{}",
                part.function
            );
        }
    }
}

/// The worker exists for generations longer than API Gateway allows; its reserved concurrency is
/// the ceiling on parallel model calls.
#[test]
fn worker_outlasts_api_gateway_within_lambdas_limit_and_is_capped() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let f = properties(&t, WORKER.function, FUNCTION);
        assert_eq!(f["FunctionName"], cfg.jobs_function_name("worker"));
        let timeout = u64_of(&f["Timeout"]);
        assert_eq!(timeout, u64::from(cfg.jobs.worker_timeout_seconds));
        assert!(
            timeout > u64::from(API_GATEWAY_TIMEOUT_SECONDS) && timeout <= 900,
            "{}: {timeout}",
            cfg.name
        );
        // Both event sources' maximum concurrency (queue + dead-letter queue).
        assert_eq!(
            f["ReservedConcurrentExecutions"],
            cfg.jobs.max_concurrency + codegen_infra::stack::DEAD_LETTER_CONCURRENCY,
            "{}",
            cfg.name
        );
    }
}

/// The variables each part gets on top of `env::ALL`.
fn extra_env(part: Part) -> Vec<&'static str> {
    let mut names = vec![env::ROLE];
    match part.name {
        "submit" => names.push(env::JOBS_QUEUE_URL),
        "status" => names.push(env::JOB_STALE_AFTER_SECONDS),
        "worker" => names.extend([env::JOBS_DEAD_LETTER_ARN, env::JOB_STALE_AFTER_SECONDS]),
        _ => {}
    }
    names
}

#[test]
fn function_environments_set_every_contract_variable_and_their_role() {
    for (cfg, path_style) in [(dev(), "false"), (local(), "true")] {
        let t = synth(&cfg);
        for part in PARTS {
            let f = properties(&t, part.function, FUNCTION);
            let at = format!("{} {}", cfg.name, part.function);
            let vars = f["Environment"]["Variables"]
                .as_object()
                .expect("environment variables");
            let names: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
            let quota_env = cfg.quotas.as_ref().map_or_else(Vec::new, |q| {
                std::iter::once(codegen_contract::quota::env::TABLE)
                    .chain(q.env().into_iter().map(|(name, _)| name))
                    .collect()
            });
            let expected: BTreeSet<&str> = env::ALL
                .into_iter()
                .chain(extra_env(part))
                .chain(quota_env)
                .collect();
            assert_eq!(names, expected, "{at}: set these variables, no others");
            for (name, value) in vars {
                let set = match value {
                    Value::String(s) => !s.is_empty(),
                    Value::Object(_) => true,
                    _ => false,
                };
                assert!(set, "{at}: {name} is unset or not a string: {value}");
            }

            assert_eq!(vars[env::ROLE], part.name, "{at}");
            assert_eq!(vars[env::BUCKET], reference("CodeBucket"), "{at}");
            assert_eq!(vars[env::PREFIX], OUTPUT_PREFIX, "{at}");
            assert_eq!(vars[env::MODEL_ID], cfg.model.id.as_str(), "{at}");
            assert_eq!(vars[env::S3_FORCE_PATH_STYLE], path_style, "{at}");
            assert_eq!(vars[env::REPAIR], cfg.function.repair.as_str(), "{at}");
            assert_eq!(vars[env::TOP_K], cfg.sampling.top_k.to_string(), "{at}");
            assert_eq!(
                vars[env::MAX_TOKENS],
                cfg.sampling.max_tokens.to_string(),
                "{at}"
            );
            assert_eq!(
                vars[env::MAX_MESSAGE_BYTES],
                cfg.function.max_message_bytes.to_string(),
                "{at}"
            );
            let parse_f64 = |name: &str| -> f64 {
                str_of(&vars[name])
                    .parse()
                    .unwrap_or_else(|e| panic!("{at}: {name} is a number: {e}"))
            };
            assert_eq!(parse_f64(env::TEMPERATURE), cfg.sampling.temperature);
            assert_eq!(parse_f64(env::TOP_P), cfg.sampling.top_p);

            // The model call must end early enough for S3 and the response before Lambda (and,
            // for the routes, API Gateway) give up.
            let timeout_ms = u64_of(&f["Timeout"]) * 1000;
            let model_timeout_ms: u64 = str_of(&vars[env::MODEL_TIMEOUT_MS])
                .parse()
                .expect("model timeout is an integer");
            assert_eq!(
                model_timeout_ms,
                timeout_ms - u64::from(AFTER_MODEL_BUDGET_MS),
                "{at}"
            );
            let headroom_ms = 3000;
            assert!(
                model_timeout_ms + headroom_ms < timeout_ms,
                "{at}: model timeout {model_timeout_ms} ms leaves under {headroom_ms} ms of {timeout_ms} ms"
            );
        }

        let var = |part: Part, name: &str| {
            properties(&t, part.function, FUNCTION)["Environment"]["Variables"][name].clone()
        };
        let stale_after = cfg.jobs.give_up_after_seconds.to_string();
        assert_eq!(var(SUBMIT, env::JOBS_QUEUE_URL), reference(JOBS_QUEUE));
        assert_eq!(var(STATUS, env::JOB_STALE_AFTER_SECONDS), stale_after);
        assert_eq!(var(WORKER, env::JOB_STALE_AFTER_SECONDS), stale_after);
        assert_eq!(
            var(WORKER, env::JOBS_DEAD_LETTER_ARN),
            get_att(DEAD_LETTER_QUEUE, "Arn")
        );
        assert_eq!(
            var(WORKER, env::MODEL_TIMEOUT_MS),
            (cfg.jobs.worker_timeout_seconds * 1000 - 4000).to_string()
        );
    }
}

/// What a function is told to use is what its role may use and what feeds it.
#[test]
fn functions_are_told_about_the_queues_their_roles_and_event_sources_use() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let var = |part: Part, name: &str| {
            properties(&t, part.function, FUNCTION)["Environment"]["Variables"][name].clone()
        };
        // The queue submit writes to (by URL) is the one its role may send to (by ARN) and the one
        // the worker's main event source reads.
        let submit_queue = referenced_id(&var(SUBMIT, env::JOBS_QUEUE_URL)).to_owned();
        let sends_to: Vec<String> = allowed_pairs(&t, SUBMIT.role)
            .into_iter()
            .filter(|(action, _)| action == "sqs:SendMessage")
            .map(|(_, resource)| resource)
            .collect();
        assert_eq!(sends_to, [get_att(&submit_queue, "Arn").to_string()]);
        assert_eq!(
            properties(&t, "JobsWorkerQueueSource", EVENT_SOURCE)["EventSourceArn"],
            get_att(&submit_queue, "Arn")
        );
        // The dead-letter ARN the worker recognises is where the queue redrives to and what its
        // dead-letter event source reads.
        let dead_letter_arn = var(WORKER, env::JOBS_DEAD_LETTER_ARN);
        assert_eq!(
            properties(&t, &submit_queue, QUEUE)["RedrivePolicy"]["deadLetterTargetArn"],
            dead_letter_arn
        );
        assert_eq!(
            properties(&t, "JobsWorkerDeadLetterSource", EVENT_SOURCE)["EventSourceArn"],
            dead_letter_arn
        );
    }
}

#[test]
fn every_function_is_traced_and_its_role_may_write_exactly_the_traces() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let functions: Vec<_> = resources(&t)
            .values()
            .filter(|r| r["Type"] == "AWS::Lambda::Function")
            .collect();
        assert_eq!(functions.len(), PARTS.len(), "{}", cfg.name);
        for f in functions {
            assert_eq!(
                f["Properties"]["TracingConfig"],
                json!({"Mode": "Active"}),
                "{f}"
            );
        }
        let roles: Vec<_> = resources(&t)
            .values()
            .filter(|r| r["Type"] == "AWS::IAM::Role")
            .collect();
        for role in roles {
            let traces: Vec<&Value> = role["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
                .filter(|s| s["Sid"] == "Traces")
                .collect();
            assert_eq!(traces.len(), 1, "{role}");
            assert_eq!(traces[0]["Action"], json!(XRAY_WRITE_ACTIONS), "{role}");
            assert_eq!(traces[0]["Resource"], json!(["*"]), "{role}");
        }
    }
}
