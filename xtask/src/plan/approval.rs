//! The approval triggers: what a change of the deployed template opens or loses beyond new IAM
//! grants (route authorization, trust policies, permissions boundaries, public access blocks,
//! bucket policies). Pure.

use cfn_constructs::view::TemplateView;
use serde_json::Value;

/// The properties of the resources of `resource_type` that both templates have under the same
/// logical id: (id, old properties, new properties).
fn in_both<'a>(
    old: &TemplateView<'a>,
    new: &TemplateView<'a>,
    resource_type: &str,
) -> Vec<(&'a str, &'a Value, &'a Value)> {
    new.resources_of_type(resource_type)
        .filter_map(|(id, n)| {
            let o = old.resource_of_type(id, resource_type)?;
            Some((id, o.properties(), n.properties()))
        })
        .collect()
}

/// A property value for a message: strings as they are, anything else as JSON, a missing one as
/// `(unset)`.
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(unset)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Route authorization values that leave a route open. An unset `AuthorizationType` counts as
/// open: the property is optional and `NONE` is its documented value for open access
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-route.html>:
/// "For HTTP APIs, valid values are NONE for open access, JWT ..., AWS_IAM ... and CUSTOM").
fn is_open_route(authorization: &str) -> bool {
    matches!(authorization, "NONE" | "(unset)")
}

/// What a change of the deployed template `old` to `new` opens or loses beyond new IAM grants, one
/// line per finding, for the approval prompt. Empty for a new stack (`old` is `None`), whose
/// grants already need approval.
///
/// - a route's authorization changes (`route PUT /code-generation: authorization AWS_IAM -> NONE`),
///   or a route is added open;
/// - a role's trust policy (`AssumeRolePolicyDocument`: who may assume it) changes;
/// - a role's permissions boundary (the ceiling on what its policies can grant) is removed or
///   changed;
/// - a bucket's `PublicAccessBlockConfiguration` changes in any way;
/// - a bucket policy changes or is removed.
///
/// Removed resources come from the change set (or [`template_changes`](super::template_changes)) through
/// [`ChangeSummary::approval_reasons`](super::ChangeSummary::approval_reasons).
pub(crate) fn approval_triggers(old: Option<&Value>, new: &Value) -> Vec<String> {
    let Some(old) = old else {
        return Vec::new();
    };
    let before = TemplateView::new(old);
    let after = TemplateView::new(new);
    let mut out = Vec::new();

    // Route authorization: AWS::ApiGatewayV2::Route `AuthorizationType`, `AuthorizerId` and
    // `AuthorizationScopes` (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-route.html).
    for (id, route) in after.resources_of_type("AWS::ApiGatewayV2::Route") {
        let props = route.properties();
        let name = props["RouteKey"].as_str().unwrap_or(id);
        let auth = shown(props.get("AuthorizationType"));
        match before.resource_of_type(id, "AWS::ApiGatewayV2::Route") {
            Some(o) => {
                let was = o.properties();
                let was_auth = shown(was.get("AuthorizationType"));
                if was_auth != auth {
                    out.push(format!("route {name}: authorization {was_auth} -> {auth}"));
                } else if was.get("AuthorizerId") != props.get("AuthorizerId")
                    || was.get("AuthorizationScopes") != props.get("AuthorizationScopes")
                {
                    out.push(format!("route {name}: authorizer or scopes changed"));
                }
            }
            None if is_open_route(&auth) => {
                out.push(format!("route {name}: added with authorization {auth}"));
            }
            None => {}
        }
    }

    // Roles: the trust policy says who may assume the role ("Trust policies define which entities
    // can assume the role"); the permissions boundary sets "the maximum permissions that an
    // identity-based policy can grant" (https://docs.aws.amazon.com/cdk/api/latest/python/aws_cdk.aws_iam/CfnRoleProps.html,
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
    for (id, was, now) in in_both(&before, &after, "AWS::IAM::Role") {
        if was.get("AssumeRolePolicyDocument") != now.get("AssumeRolePolicyDocument") {
            out.push(format!("role {id}: trust policy changed"));
        }
        match (
            was.get("PermissionsBoundary"),
            now.get("PermissionsBoundary"),
        ) {
            (Some(b), None) => out.push(format!(
                "role {id}: permissions boundary removed (was {})",
                shown(Some(b))
            )),
            (Some(b), Some(c)) if b != c => out.push(format!(
                "role {id}: permissions boundary changed ({} -> {})",
                shown(Some(b)),
                shown(Some(c))
            )),
            _ => {}
        }
    }

    // Buckets: the four public-access settings
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-publicaccessblockconfiguration.html).
    for (id, was, now) in in_both(&before, &after, "AWS::S3::Bucket") {
        let (b, c) = (
            was.get("PublicAccessBlockConfiguration"),
            now.get("PublicAccessBlockConfiguration"),
        );
        if b == c {
            continue;
        }
        if c.is_none() {
            out.push(format!("bucket {id}: public access block removed"));
            continue;
        }
        let flags: Vec<String> = [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ]
        .into_iter()
        .filter_map(|flag| {
            let x = b.and_then(|v| v.get(flag));
            let y = c.and_then(|v| v.get(flag));
            (x != y).then(|| format!("{flag} {} -> {}", shown(x), shown(y)))
        })
        .collect();
        if flags.is_empty() {
            out.push(format!("bucket {id}: public access block changed"));
        } else {
            out.push(format!(
                "bucket {id}: public access block changed ({})",
                flags.join(", ")
            ));
        }
    }

    // Bucket policies: any change to what a policy says or which bucket it is on, or its removal.
    for (id, was) in before.resources_of_type("AWS::S3::BucketPolicy") {
        match after.resource_of_type(id, "AWS::S3::BucketPolicy") {
            None => out.push(format!("bucket policy {id}: removed")),
            Some(now) if now.properties() != was.properties() => {
                out.push(format!("bucket policy {id}: changed"));
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{dev_template, dev_template_with, resource};
    use crate::plan::{
        ChangeAction, ChangeSummary, ResourceChange, narrowed, template_changes, widened,
    };
    use serde_json::json;

    /// What deploy would ask approval for: the change summary from the two templates (as the
    /// read-only diff builds it) plus the template triggers.
    fn reason(old: &Value, new: &Value) -> Option<String> {
        let summary = ChangeSummary {
            changes: template_changes(Some(old), new, &[]),
            iam_widening: widened(Some(old), new)
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        summary.approval_reason_with(&approval_triggers(Some(old), new))
    }

    #[test]
    fn an_unchanged_template_needs_no_approval_and_shows_no_change() {
        let t = dev_template();
        assert!(approval_triggers(Some(&t), &t).is_empty());
        assert!(template_changes(Some(&t), &t, &[]).is_empty());
        assert!(narrowed(Some(&t), &t).is_empty());
        assert_eq!(reason(&t, &t), None);
        // A change that opens and loses nothing needs none either.
        let throttled = dev_template_with(|t| t.replace("rate_limit: 5", "rate_limit: 6"));
        assert_eq!(reason(&t, &throttled), None);
        assert_eq!(
            template_changes(Some(&t), &throttled, &[]),
            vec![ResourceChange {
                action: ChangeAction::Modify,
                logical_id: "ApiStage".into(),
                resource_type: "AWS::ApiGatewayV2::Stage".into(),
                replacement: None,
            }]
        );
    }

    #[test]
    fn opening_a_route_needs_approval() {
        let old = dev_template();
        let ack = codegen_infra::config::UNAUTHENTICATED_ACKNOWLEDGEMENT;
        let open = dev_template_with(|t| {
            t.replace(
                "auth: aws_iam",
                &format!("auth: none\n  unauthenticated_acknowledged: \"{ack}\""),
            )
        });
        let triggers = approval_triggers(Some(&old), &open);
        for route in [
            "PUT /code-generation",
            "POST /code-generation/jobs",
            "GET /code-generation/jobs/{job_id}",
        ] {
            let line = format!("route {route}: authorization AWS_IAM -> NONE");
            assert!(triggers.contains(&line), "{line} in {triggers:?}");
        }
        assert!(
            reason(&old, &open)
                .expect("needs approval")
                .contains("route PUT /code-generation: authorization AWS_IAM -> NONE")
        );
        // Closing it again is a change of authorization too (and is shown as one).
        assert!(
            approval_triggers(Some(&open), &old)
                .contains(&"route PUT /code-generation: authorization NONE -> AWS_IAM".into())
        );
    }

    #[test]
    fn adding_an_open_route_or_changing_its_authorizer_needs_approval() {
        let new = dev_template();
        let mut old = new.clone();
        if let Some(r) = old.get_mut("Resources").and_then(Value::as_object_mut) {
            r.remove("ApiPutCodeGenerationRoute");
        }
        assert!(
            approval_triggers(Some(&old), &new).is_empty(),
            "a new AWS_IAM route opens nothing"
        );
        let mut open = new.clone();
        resource(&mut open, "ApiPutCodeGenerationRoute")["Properties"]
            .as_object_mut()
            .expect("properties")
            .remove("AuthorizationType");
        assert_eq!(
            approval_triggers(Some(&old), &open),
            vec!["route PUT /code-generation: added with authorization (unset)".to_owned()]
        );
        let mut scoped = new.clone();
        resource(&mut scoped, "ApiPutCodeGenerationRoute")["Properties"]["AuthorizationScopes"] =
            json!(["read"]);
        assert_eq!(
            approval_triggers(Some(&new), &scoped),
            vec!["route PUT /code-generation: authorizer or scopes changed".to_owned()]
        );
    }

    #[test]
    fn a_changed_trust_policy_needs_approval() {
        let old = dev_template();
        let mut new = old.clone();
        resource(&mut new, "FunctionRole")["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            [0]["Principal"] = json!({"AWS": "arn:aws:iam::111122223333:root"});
        assert_eq!(
            approval_triggers(Some(&old), &new),
            vec!["role FunctionRole: trust policy changed".to_owned()]
        );
        assert!(
            reason(&old, &new)
                .expect("needs approval")
                .contains("role FunctionRole: trust policy changed")
        );
    }

    #[test]
    fn removing_or_changing_a_permissions_boundary_needs_approval() {
        const ROLES: [&str; 4] = [
            "FunctionRole",
            "JobsSubmitRole",
            "JobsStatusRole",
            "JobsWorkerRole",
        ];
        let bounded = |arn: Option<&str>| {
            let mut t = dev_template();
            for id in ROLES {
                let props = resource(&mut t, id)
                    .get_mut("Properties")
                    .and_then(Value::as_object_mut)
                    .expect("role properties");
                match arn {
                    Some(arn) => props.insert("PermissionsBoundary".into(), json!(arn)),
                    None => props.remove("PermissionsBoundary"),
                };
            }
            t
        };
        let a = bounded(Some("arn:aws:iam::123456789012:policy/boundary-a"));
        let b = bounded(Some("arn:aws:iam::123456789012:policy/boundary-b"));
        let none = bounded(None);
        let removed = approval_triggers(Some(&a), &none);
        assert!(
            removed.contains(
                &"role FunctionRole: permissions boundary removed (was arn:aws:iam::123456789012:policy/boundary-a)"
                    .to_owned()
            ),
            "{removed:?}"
        );
        assert_eq!(removed.len(), 4, "every role loses it: {removed:?}");
        let changed = approval_triggers(Some(&a), &b);
        assert!(
            changed.contains(&"role JobsWorkerRole: permissions boundary changed (arn:aws:iam::123456789012:policy/boundary-a -> arn:aws:iam::123456789012:policy/boundary-b)".to_owned()),
            "{changed:?}"
        );
        assert!(
            approval_triggers(Some(&none), &a).is_empty(),
            "adding a boundary only narrows"
        );
        // The synthesised stack carries the bootstrap's boundary on every role.
        let synthesised = dev_template();
        assert!(approval_triggers(Some(&synthesised), &dev_template()).is_empty());
        assert_eq!(approval_triggers(Some(&synthesised), &none).len(), 4);
    }

    #[test]
    fn a_changed_public_access_block_needs_approval() {
        let old = dev_template();
        let mut weakened = old.clone();
        resource(&mut weakened, "CodeBucket")["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] =
            json!(false);
        assert_eq!(
            approval_triggers(Some(&old), &weakened),
            vec![
                "bucket CodeBucket: public access block changed (BlockPublicPolicy true -> false)"
                    .to_owned()
            ]
        );
        let mut removed = old.clone();
        resource(&mut removed, "CodeBucket")["Properties"]
            .as_object_mut()
            .expect("properties")
            .remove("PublicAccessBlockConfiguration");
        assert_eq!(
            approval_triggers(Some(&old), &removed),
            vec!["bucket CodeBucket: public access block removed".to_owned()]
        );
        assert!(reason(&old, &removed).is_some());
    }

    #[test]
    fn a_changed_or_removed_bucket_policy_needs_approval() {
        let old = dev_template();
        let mut changed = old.clone();
        resource(&mut changed, "CodeBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
            [0]["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        assert_eq!(
            approval_triggers(Some(&old), &changed),
            vec!["bucket policy CodeBucketPolicy: changed".to_owned()]
        );
        let mut removed = old.clone();
        if let Some(r) = removed.get_mut("Resources").and_then(Value::as_object_mut) {
            r.remove("CodeBucketPolicy");
        }
        assert_eq!(
            approval_triggers(Some(&old), &removed),
            vec!["bucket policy CodeBucketPolicy: removed".to_owned()]
        );
        let why = reason(&old, &removed).expect("needs approval");
        assert!(
            why.contains("it removes CodeBucketPolicy (AWS::S3::BucketPolicy)"),
            "{why}"
        );
        // Losing the TLS-only Deny widens access too, and the diff lists it.
        assert!(why.contains("it widens IAM permissions"), "{why}");
    }

    #[test]
    fn any_removed_resource_needs_approval() {
        let summary = ChangeSummary {
            changes: vec![ResourceChange {
                action: ChangeAction::Remove,
                logical_id: "JobsQueue".into(),
                resource_type: "AWS::SQS::Queue".into(),
                replacement: None,
            }],
            iam_widening: vec![],
        };
        assert_eq!(
            summary.approval_reason().as_deref(),
            Some("it removes JobsQueue (AWS::SQS::Queue)")
        );
        assert_eq!(summary.lines(), vec!["[-] AWS::SQS::Queue JobsQueue"]);
        // From the templates alone, too.
        let old = dev_template();
        let mut new = old.clone();
        if let Some(r) = new.get_mut("Resources").and_then(Value::as_object_mut) {
            r.remove("ApiAccessLogGroup");
        }
        assert!(
            reason(&old, &new)
                .expect("needs approval")
                .contains("it removes ApiAccessLogGroup (AWS::Logs::LogGroup)")
        );
    }
}
