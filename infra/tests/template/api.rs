//! The API: routes and their integrations, the deployed stage, and the Lambda invoke permissions.

use super::*;

#[test]
fn routes_require_iam_auth_in_the_committed_stages() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::ApiGatewayV2::Route", ROUTES.len());
        for (route_key, part, _, _) in ROUTES {
            has_resource_properties(
                &t,
                "AWS::ApiGatewayV2::Route",
                &json!({
                    "RouteKey": route_key,
                    "AuthorizationType": "AWS_IAM",
                    "ApiId": imported_api_id(&cfg),
                }),
            );
            // The route reaches its own function and no other.
            let (_, r) = route(&t, route_key);
            resource_has_properties(
                &t,
                integration_of(r),
                "AWS::ApiGatewayV2::Integration",
                &json!({ "IntegrationUri": get_att(part.function, "Arn") }),
            );
        }
    }
}

#[test]
fn routes_are_open_only_when_the_stage_says_auth_none() {
    let cfg = stage_from_text(
        "dev",
        &dev_text_with(
            "auth: aws_iam",
            &format!(
                "auth: none\n  unauthenticated_acknowledged: \"{}\"",
                codegen_infra::config::UNAUTHENTICATED_ACKNOWLEDGEMENT
            ),
        ),
    );
    let t = synth(&cfg);
    for (route_key, ..) in ROUTES {
        assert_eq!(
            route(&t, route_key).1["Properties"]["AuthorizationType"],
            "NONE",
            "{route_key}"
        );
    }
}

#[test]
fn integrations_proxy_to_the_functions_within_the_api_gateway_limit() {
    let t = synth(&dev());
    resource_count_is(&t, "AWS::ApiGatewayV2::Integration", ROUTES.len());
    let targets: BTreeSet<&str> = find_resources(&t, "AWS::ApiGatewayV2::Integration")
        .into_iter()
        .map(|(id, integration)| {
            let p = &integration["Properties"];
            assert_eq!(p["IntegrationType"], "AWS_PROXY", "{id}");
            assert_eq!(p["PayloadFormatVersion"], "2.0", "{id}");
            assert_eq!(p["ApiId"], imported_api_id(&dev()), "{id}");
            let timeout = u64_of(&p["TimeoutInMillis"]);
            assert!((50..=30_000).contains(&timeout), "{id}: {timeout}");
            referenced_id(&p["IntegrationUri"])
        })
        .collect();
    // The worker is reached only through its queues.
    assert_eq!(
        targets,
        BTreeSet::from([SYNC.function, SUBMIT.function, STATUS.function])
    );
}

#[test]
fn stage_is_deployed_explicitly_throttled_and_access_logged() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        let stage_resource = resource(&t, "ApiStage", "AWS::ApiGatewayV2::Stage");
        let stage = &stage_resource["Properties"];
        assert_eq!(stage["StageName"], cfg.name.as_str());
        assert_eq!(stage["AutoDeploy"], false);
        assert_eq!(stage["ApiId"], imported_api_id(&cfg));
        let settings = &stage["DefaultRouteSettings"];
        assert_eq!(
            settings["ThrottlingRateLimit"].as_f64(),
            Some(cfg.api.throttling.rate_limit)
        );
        assert_eq!(
            settings["ThrottlingBurstLimit"],
            cfg.api.throttling.burst_limit
        );
        // The stage waits for every route.
        let depends_on: BTreeSet<&str> = as_list(&stage_resource["DependsOn"])
            .into_iter()
            .map(str_of)
            .collect();
        assert_eq!(
            depends_on,
            logical_ids(find_resources(&t, "AWS::ApiGatewayV2::Route")),
            "{}",
            cfg.name
        );

        let (access_logs_id, _) = find_resources(&t, "AWS::Logs::LogGroup")
            .into_iter()
            .find(|(_, g)| {
                g["Properties"]["LogGroupName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("/aws/apigateway/"))
            })
            .expect("an access log group");
        assert_eq!(
            stage["AccessLogSettings"]["DestinationArn"],
            sub(&format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{access_logs_id}}}"
            ))
        );
        let format = str_of(&stage["AccessLogSettings"]["Format"]);
        let parsed: Value = serde_json::from_str(format).expect("access log format is JSON");
        assert_eq!(parsed["requestId"], "$context.requestId");
    }
}

#[test]
fn invoke_permissions_are_scoped_to_this_api_stage_method_and_path() {
    for cfg in [dev(), local()] {
        let t = synth(&cfg);
        resource_count_is(&t, "AWS::Lambda::Permission", ROUTES.len());
        for (route_key, part, permission_id, method_and_path) in ROUTES {
            let source_arn = format!("/{}/{method_and_path}", cfg.name);
            resource_has_properties(
                &t,
                permission_id,
                "AWS::Lambda::Permission",
                &json!({
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "FunctionName": get_att(part.function, "Arn"),
                    "SourceArn": {"Fn::Join": ["", [
                        sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"),
                        imported_api_id(&cfg),
                        source_arn,
                    ]]},
                }),
            );
            // The only wildcard is the status route's `{job_id}`, one whole last path segment.
            let wildcards = source_arn.matches('*').count();
            if route_key == JOB_STATUS_ROUTE_KEY {
                assert!(
                    source_arn.ends_with("/jobs/*") && wildcards == 1,
                    "{source_arn}"
                );
            } else {
                assert_eq!(wildcards, 0, "no wildcards: {source_arn}");
            }
        }
    }
}
