//! The deployer's pure core: stack states and what to do about them, change-set summaries, IAM
//! widening between two templates, what else a template change opens or loses (the approval
//! triggers), the resource-by-resource comparison of a deployed template with a new one (the
//! read-only `diff`), and the deploy fingerprint. No SDK calls, no IO.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Stack tag holding the fingerprint of the last successful deploy.
pub const FINGERPRINT_TAG: &str = "codegen:fingerprint";

/// What the deployer must do with a stack, given its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackState {
    /// No stack (or only a deleted one).
    Missing,
    /// Stable and usable: create/update complete or a completed update rollback.
    Stable,
    /// Created by a `CREATE` change set that never ran: update it with another `CREATE` change set.
    ReviewInProgress,
    /// An operation is running (e.g. a deploy that was killed half-way): wait for it.
    InProgress,
    /// The first create failed and rolled back: the stack must be deleted before creating again.
    RollbackComplete,
    /// An update rollback failed: continue the rollback.
    UpdateRollbackFailed,
    /// A failed state that needs a person (`CREATE_FAILED`, `DELETE_FAILED`, ...).
    Failed,
}

/// Classifies a CloudFormation stack status (the SDK's enum; a status this SDK does not know
/// is in progress when its name says so, and needs a person otherwise).
pub fn classify(status: &StackStatus) -> StackState {
    use StackStatus as S;
    match status {
        S::DeleteComplete => StackState::Missing,
        S::CreateComplete
        | S::UpdateComplete
        | S::UpdateRollbackComplete
        | S::ImportComplete
        | S::ImportRollbackComplete => StackState::Stable,
        S::ReviewInProgress => StackState::ReviewInProgress,
        S::RollbackComplete => StackState::RollbackComplete,
        S::UpdateRollbackFailed => StackState::UpdateRollbackFailed,
        other if is_in_progress(other) => StackState::InProgress,
        _ => StackState::Failed,
    }
}

fn is_in_progress(status: &StackStatus) -> bool {
    status.as_str().ends_with("_IN_PROGRESS")
}

/// Whether a status ends an operation (no further events will come).
pub fn is_terminal(status: &StackStatus) -> bool {
    !is_in_progress(status)
}

/// Whether a terminal status means the operation succeeded.
pub fn is_success(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::DeleteComplete
            | StackStatus::ImportComplete
    )
}

/// Fingerprint of what a deploy sends: the template body and its parameters. Equal fingerprints
/// mean CloudFormation would find nothing to change, so the deployer can skip asking it.
pub fn fingerprint(template_body: &str, parameters: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(template_body.as_bytes());
    for (k, v) in parameters {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
    }
    hex::encode(h.finalize())
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, ...
    pub action: String,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for modifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl ResourceChange {
    /// Whether the change replaces (or may replace) the physical resource.
    pub fn replaces(&self) -> bool {
        matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }
}

/// An IAM permission as a comparable tuple: where it is written and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    /// Logical id of the resource holding the statement.
    pub holder: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// The action.
    pub action: String,
    /// The resource (JSON text of the expression).
    pub resource: String,
    /// The condition block (JSON text), empty when none.
    pub condition: String,
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} on {}",
            self.holder,
            self.effect,
            self.action,
            resolve_expr(&self.resource)
        )?;
        if !self.condition.is_empty() {
            write!(f, " if {}", resolve_expr(&self.condition))?;
        }
        Ok(())
    }
}

/// An intrinsic expression as CDK's diff prints it: `{"Fn::Sub": "${X.Arn}/p/*"}` as
/// `${X.Arn}/p/*`, `{"Fn::GetAtt": ["X", "Arn"]}` as `${X.Arn}`, `{"Ref": "X"}` as `${X}`,
/// lists joined with `, `; anything else as compact JSON. `text` is a JSON text.
pub fn resolve_expr(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => resolve_value(&v),
        Err(_) => text.to_owned(),
    }
}

fn resolve_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(resolve_value)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map
                .iter()
                .next()
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match (key, inner) {
                ("Ref", Value::String(id)) => format!("${{{id}}}"),
                ("Fn::GetAtt", Value::Array(parts)) => format!(
                    "${{{}}}",
                    parts
                        .iter()
                        .map(resolve_value)
                        .collect::<Vec<_>>()
                        .join(".")
                ),
                ("Fn::Sub", Value::String(text)) => text.clone(),
                // A condition block: `Operator key=value, ...`.
                (op, Value::Object(keys)) if !op.starts_with("Fn::") => format!(
                    "{op} {}",
                    keys.iter()
                        .map(|(k, v)| format!("{k}={}", resolve_value(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => v.to_string(),
            }
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| resolve_value(&serde_json::json!({ k: v })))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Grants (as [`Grant`]'s `Display` writes them: `Holder Effect Action on Resource [if
/// Condition]`) as an aligned table, the way `cdk diff` shows IAM changes: one row per grant with
/// its sign (`+` added, `-` removed).
pub fn grant_table(sign: char, grants: &[String]) -> Vec<String> {
    const HEADER: [&str; 5] = ["Holder", "Effect", "Action", "Resource", "Condition"];
    let rows: Vec<[String; 5]> = grants
        .iter()
        .map(|g| {
            let mut words = g.splitn(4, ' ');
            let mut next = || words.next().unwrap_or_default().to_owned();
            let (holder, effect, action, rest) = (next(), next(), next(), next());
            let rest = rest.strip_prefix("on ").unwrap_or(&rest);
            let (resource, condition) = rest.split_once(" if ").unwrap_or((rest, ""));
            [
                holder,
                effect,
                action,
                resource.to_owned(),
                condition.to_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |lead: char, cells: [&str; 5]| {
        let mut text = format!("{lead} ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        text.trim_end().to_owned()
    };
    // The condition column only when some grant has one.
    let mut header = HEADER;
    if rows.iter().all(|r| r[4].is_empty()) {
        header[4] = "";
    }
    let mut out = vec![line(' ', header)];
    for row in &rows {
        out.push(line(
            sign,
            [&row[0], &row[1], &row[2], &row[3], &row[4]].map(String::as_str),
        ));
    }
    out
}

fn as_list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

fn statements_of(resource: &Value) -> Vec<Value> {
    let props = &resource["Properties"];
    let mut docs = Vec::new();
    match resource["Type"].as_str() {
        Some("AWS::IAM::Role") => {
            for p in as_list(props.get("Policies")) {
                docs.push(p["PolicyDocument"].clone());
            }
            for arn in as_list(props.get("ManagedPolicyArns")) {
                docs.push(serde_json::json!({"Statement": [{
                    "Effect": "Allow", "Action": "managed-policy", "Resource": arn
                }]}));
            }
        }
        Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::S3::BucketPolicy") => {
            docs.push(props["PolicyDocument"].clone());
        }
        Some("AWS::Lambda::Permission") => {
            docs.push(serde_json::json!({"Statement": [{
                "Effect": "Allow",
                "Action": props["Action"],
                "Resource": props["FunctionName"],
                "Condition": {"Principal": props["Principal"], "SourceArn": props["SourceArn"]},
            }]}));
        }
        _ => {}
    }
    docs.iter()
        .flat_map(|d| as_list(d.get("Statement")))
        .collect()
}

/// Every IAM permission a template writes (role policies, resource policies, invoke permissions).
pub fn grants(template: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    for (id, resource) in resources {
        for stmt in statements_of(resource) {
            let effect = stmt["Effect"].as_str().unwrap_or("Allow").to_owned();
            let condition = stmt
                .get("Condition")
                .map(Value::to_string)
                .unwrap_or_default();
            for action in as_list(stmt.get("Action")) {
                for res in as_list(stmt.get("Resource")) {
                    out.insert(Grant {
                        holder: id.clone(),
                        effect: effect.clone(),
                        action: action
                            .as_str()
                            .map_or_else(|| action.to_string(), str::to_owned),
                        resource: res.to_string(),
                        condition: condition.clone(),
                    });
                }
            }
        }
    }
    out
}

/// `Allow` grants in `new` that `old` does not have (a missing `old` means a new stack). Removing a
/// `Deny` also widens access, so those are reported too.
pub fn widened(old: Option<&Value>, new: &Value) -> Vec<Grant> {
    let before = old.map(grants).unwrap_or_default();
    let after = grants(new);
    let mut out: Vec<Grant> = after
        .difference(&before)
        .filter(|g| g.effect == "Allow")
        .cloned()
        .collect();
    out.extend(
        before
            .difference(&after)
            .filter(|g| g.effect == "Deny")
            .cloned(),
    );
    out
}

/// `Allow` grants in `old` that `new` no longer has, and `Deny` grants `new` adds: what the change
/// takes away (shown by `diff`; never a reason for approval).
pub fn narrowed(old: Option<&Value>, new: &Value) -> Vec<Grant> {
    let before = old.map(grants).unwrap_or_default();
    let after = grants(new);
    let mut out: Vec<Grant> = before
        .difference(&after)
        .filter(|g| g.effect == "Allow")
        .cloned()
        .collect();
    out.extend(
        after
            .difference(&before)
            .filter(|g| g.effect == "Deny")
            .cloned(),
    );
    out
}

/// The resources of a template by logical id (empty for a missing template).
fn resources_of(template: Option<&Value>) -> BTreeMap<&str, &Value> {
    template
        .and_then(|t| t.get("Resources"))
        .and_then(Value::as_object)
        .map(|r| r.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// Resources of `resource_type` that both templates have under the same logical id.
fn in_both<'a>(
    old: &BTreeMap<&'a str, &'a Value>,
    new: &BTreeMap<&'a str, &'a Value>,
    resource_type: &str,
) -> Vec<(&'a str, &'a Value, &'a Value)> {
    new.iter()
        .filter(|(_, r)| r["Type"] == resource_type)
        .filter_map(|(id, n)| {
            let o = old.get(id).filter(|o| o["Type"] == resource_type)?;
            Some((*id, &o["Properties"], &n["Properties"]))
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

/// Whether `value` refers to the parameter or resource `name`: `{"Ref": name}` anywhere in it, or
/// `${name}` in the string of an `Fn::Sub`.
pub fn references(value: &Value, name: &str) -> bool {
    match value {
        Value::Object(map) => {
            if map.get("Ref").and_then(Value::as_str) == Some(name) {
                return true;
            }
            let sub_text = match map.get("Fn::Sub") {
                Some(Value::String(s)) => Some(s.as_str()),
                Some(Value::Array(parts)) => parts.first().and_then(Value::as_str),
                _ => None,
            };
            if sub_text.is_some_and(|s| s.contains(&format!("${{{name}}}"))) {
                return true;
            }
            map.values().any(|v| references(v, name))
        }
        Value::Array(items) => items.iter().any(|v| references(v, name)),
        _ => false,
    }
}

/// The resource changes a deploy of `new` over the deployed `old` would make, worked out from the
/// two templates alone (no change set): resources only in `new` are `Add`, only in `old` `Remove`,
/// and in both `Modify` when their definitions differ or they refer to one of
/// `changed_parameters` (a new package changes `CodeS3Key`, and so every function).
///
/// Whether a modification replaces the resource is CloudFormation's call, per property, so
/// `replacement` is left unset; `diff --change-set` asks CloudFormation.
pub fn template_changes(
    old: Option<&Value>,
    new: &Value,
    changed_parameters: &[String],
) -> Vec<ResourceChange> {
    let before = resources_of(old);
    let after = resources_of(Some(new));
    let ids: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let type_of = |r: &Value| r["Type"].as_str().unwrap_or_default().to_owned();
    ids.into_iter()
        .filter_map(|id| {
            let (action, resource_type) = match (before.get(id), after.get(id)) {
                (None, Some(n)) => ("Add", type_of(n)),
                (Some(o), None) => ("Remove", type_of(o)),
                (Some(o), Some(n)) => {
                    let uses_changed = changed_parameters.iter().any(|p| references(n, p));
                    if o == n && !uses_changed {
                        return None;
                    }
                    ("Modify", type_of(n))
                }
                (None, None) => return None,
            };
            Some(ResourceChange {
                action: action.to_owned(),
                logical_id: id.to_owned(),
                resource_type,
                replacement: None,
            })
        })
        .collect()
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
/// Removed resources come from the change set (or [`template_changes`]) through
/// [`ChangeSummary::approval_reasons`].
pub fn approval_triggers(old: Option<&Value>, new: &Value) -> Vec<String> {
    let Some(old) = old else {
        return Vec::new();
    };
    let before = resources_of(Some(old));
    let after = resources_of(Some(new));
    let mut out = Vec::new();

    // Route authorization: AWS::ApiGatewayV2::Route `AuthorizationType`, `AuthorizerId` and
    // `AuthorizationScopes` (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-route.html).
    for (id, route) in after
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
    {
        let props = &route["Properties"];
        let name = props["RouteKey"].as_str().unwrap_or(id);
        let auth = shown(props.get("AuthorizationType"));
        match before
            .get(id)
            .filter(|o| o["Type"] == "AWS::ApiGatewayV2::Route")
        {
            Some(o) => {
                let was = &o["Properties"];
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
    for (id, was) in before
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::S3::BucketPolicy")
    {
        match after
            .get(id)
            .filter(|n| n["Type"] == "AWS::S3::BucketPolicy")
        {
            None => out.push(format!("bucket policy {id}: removed")),
            Some(now) if now["Properties"] != was["Properties"] => {
                out.push(format!("bucket policy {id}: changed"));
            }
            Some(_) => {}
        }
    }
    out
}

/// What a change set would do, and whether it needs approval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    /// Resource changes.
    pub changes: Vec<ResourceChange>,
    /// Permissions the change adds (or denies it removes).
    pub iam_widening: Vec<String>,
}

impl ChangeSummary {
    /// Changes that replace a resource.
    pub fn replacements(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.replaces())
    }

    /// Changes that remove a resource (`Remove`: CloudFormation deletes it, "Remove (deletes a
    /// resource)", <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html>).
    pub fn removals(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.action == "Remove")
    }

    /// Why a person must approve this change, from the changes alone, one line each: IAM
    /// widening, replacements and removals.
    pub fn approval_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if !self.iam_widening.is_empty() {
            reasons.push(format!(
                "it widens IAM permissions ({} new grants)",
                self.iam_widening.len()
            ));
        }
        let replaced: Vec<&str> = self.replacements().map(|c| c.logical_id.as_str()).collect();
        if !replaced.is_empty() {
            reasons.push(format!("it replaces {}", replaced.join(", ")));
        }
        let removed: Vec<String> = self
            .removals()
            .map(|c| format!("{} ({})", c.logical_id, c.resource_type))
            .collect();
        if !removed.is_empty() {
            reasons.push(format!("it removes {}", removed.join(", ")));
        }
        reasons
    }

    /// Why a person must approve this change, if they must, from the changes alone (see
    /// [`Self::approval_reason_with`] for the template comparison).
    pub fn approval_reason(&self) -> Option<String> {
        self.approval_reason_with(&[])
    }

    /// Why a person must approve this change, if they must: [`Self::approval_reasons`] plus the
    /// `triggers` found by comparing the templates ([`approval_triggers`]), joined by `; `.
    pub fn approval_reason_with(&self, triggers: &[String]) -> Option<String> {
        let mut reasons = self.approval_reasons();
        reasons.extend(triggers.iter().cloned());
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// Whether the API must be redeployed (routes, integrations or the API itself changed).
    pub fn touches_api(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.resource_type.starts_with("AWS::ApiGatewayV2::"))
    }

    /// Human-readable lines, CDK-style: `[+] AWS::S3::Bucket CodeBucket`.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .changes
            .iter()
            .map(|c| {
                let sign = match c.action.as_str() {
                    "Add" => "[+]",
                    "Remove" => "[-]",
                    _ if c.replaces() => "[!]",
                    _ => "[~]",
                };
                let replace = if c.replaces() {
                    format!(
                        " (replacement: {})",
                        c.replacement.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                };
                format!("{sign} {} {}{replace}", c.resource_type, c.logical_id)
            })
            .collect();
        if !self.iam_widening.is_empty() {
            out.push("IAM permissions added:".to_owned());
            out.extend(
                grant_table('+', &self.iam_widening)
                    .into_iter()
                    .map(|l| format!("  {l}")),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grants_render_resolved_and_aligned() {
        assert_eq!(
            resolve_expr(r#"{"Fn::Sub":"${CodeBucket.Arn}/code-output/*"}"#),
            "${CodeBucket.Arn}/code-output/*"
        );
        assert_eq!(
            resolve_expr(r#"{"Fn::GetAtt":["FunctionLogGroup","Arn"]}"#),
            "${FunctionLogGroup.Arn}"
        );
        assert_eq!(resolve_expr(r#"{"Ref":"JobsQueue"}"#), "${JobsQueue}");
        assert_eq!(resolve_expr(r#""arn:aws:s3:::b""#), "arn:aws:s3:::b");
        assert_eq!(
            resolve_expr(r#"{"StringEquals":{"bedrock:InferenceProfileArn":{"Fn::Sub":"arn:p"}}}"#),
            "StringEquals bedrock:InferenceProfileArn=arn:p"
        );
        let grants: Vec<String> = [
            Grant {
                holder: "FunctionRole".into(),
                effect: "Allow".into(),
                action: "s3:PutObject".into(),
                resource: r#"{"Fn::Sub":"${CodeBucket.Arn}/code-output/*"}"#.into(),
                condition: String::new(),
            },
            Grant {
                holder: "JobsWorkerRole".into(),
                effect: "Allow".into(),
                action: "sqs:ReceiveMessage".into(),
                resource: r#"{"Fn::GetAtt":["JobsQueue","Arn"]}"#.into(),
                condition: r#"{"StringEquals":{"aws:SourceAccount":"1"}}"#.into(),
            },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            grants[0],
            "FunctionRole Allow s3:PutObject on ${CodeBucket.Arn}/code-output/*"
        );
        let table = grant_table('+', &grants);
        assert_eq!(
            table,
            [
                "  Holder          Effect  Action              Resource                         Condition",
                "+ FunctionRole    Allow   s3:PutObject        ${CodeBucket.Arn}/code-output/*",
                "+ JobsWorkerRole  Allow   sqs:ReceiveMessage  ${JobsQueue.Arn}                 StringEquals aws:SourceAccount=1",
            ]
        );
    }

    fn role(actions: &[&str]) -> Value {
        json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": ["arn:a"]}
            ]}}
        ]}}}})
    }

    #[test]
    fn statuses_map_to_actions() {
        for (status, state) in [
            ("CREATE_COMPLETE", StackState::Stable),
            ("UPDATE_ROLLBACK_COMPLETE", StackState::Stable),
            ("ROLLBACK_COMPLETE", StackState::RollbackComplete),
            ("UPDATE_ROLLBACK_FAILED", StackState::UpdateRollbackFailed),
            ("UPDATE_IN_PROGRESS", StackState::InProgress),
            ("REVIEW_IN_PROGRESS", StackState::ReviewInProgress),
            ("DELETE_FAILED", StackState::Failed),
            ("SOME_NEW_IN_PROGRESS", StackState::InProgress),
        ] {
            assert_eq!(classify(&StackStatus::from(status)), state, "{status}");
        }
        let rolled_back = StackStatus::from("ROLLBACK_COMPLETE");
        assert!(is_terminal(&rolled_back) && !is_success(&rolled_back));
    }

    #[test]
    fn widening_detects_new_allows_only() {
        let old = role(&["s3:PutObject"]);
        assert!(widened(Some(&old), &old).is_empty());
        let new = role(&["s3:PutObject", "s3:GetObject"]);
        let w = widened(Some(&old), &new);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].action, "s3:GetObject");
        assert!(
            widened(Some(&new), &old).is_empty(),
            "narrowing is not widening"
        );
        assert_eq!(
            widened(None, &new).len(),
            2,
            "a new stack widens by everything it grants"
        );
    }

    #[test]
    fn removing_a_deny_widens() {
        let with_deny = json!({"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:b"}]}}}}});
        let without = json!({"Resources": {}});
        assert_eq!(widened(Some(&with_deny), &without).len(), 1);
    }

    #[test]
    fn approval_needed_for_replacement_or_widening() {
        let mut s = ChangeSummary {
            changes: vec![ResourceChange {
                action: "Modify".into(),
                logical_id: "Function".into(),
                resource_type: "AWS::Lambda::Function".into(),
                replacement: Some("False".into()),
            }],
            iam_widening: vec![],
        };
        assert_eq!(s.approval_reason(), None);
        assert!(!s.touches_api());
        s.changes[0].replacement = Some("True".into());
        assert!(
            s.approval_reason()
                .expect("reason")
                .contains("replaces Function")
        );
        assert_eq!(
            s.lines()[0],
            "[!] AWS::Lambda::Function Function (replacement: True)"
        );
    }

    // --- Approval triggers and the template comparison, on the real synthesised templates. ---

    const DEV: &str = include_str!("../../infra/stages/dev.yaml");

    /// The dev stage's template, its file text edited by `edit` first.
    fn dev_template_with(edit: impl FnOnce(String) -> String) -> Value {
        let cfg = codegen_infra::config::parse_stage("dev", "dev.yaml", &edit(DEV.to_owned()))
            .expect("the edited dev stage is valid");
        codegen_infra::stack(&cfg).to_json_value()
    }

    fn dev_template() -> Value {
        dev_template_with(|t| t)
    }

    fn resource<'a>(t: &'a mut Value, id: &str) -> &'a mut Value {
        t.get_mut("Resources")
            .and_then(|r| r.get_mut(id))
            .unwrap_or_else(|| panic!("the dev template has no resource {id}"))
    }

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
                action: "Modify".into(),
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
                action: "Remove".into(),
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

    #[test]
    fn reasons_are_joined_one_per_finding() {
        let summary = ChangeSummary {
            changes: vec![],
            iam_widening: vec!["R Allow s3:GetObject on \"arn:a\"".into()],
        };
        assert_eq!(
            summary
                .approval_reason_with(&["role R: trust policy changed".into()])
                .as_deref(),
            Some("it widens IAM permissions (1 new grants); role R: trust policy changed")
        );
    }

    #[test]
    fn template_changes_follow_changed_parameters_into_the_functions() {
        let t = dev_template();
        let changes = template_changes(Some(&t), &t, &["CodeS3Key".to_owned()]);
        let ids: Vec<&str> = changes.iter().map(|c| c.logical_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "Function",
                "JobsStatusFunction",
                "JobsSubmitFunction",
                "JobsWorkerFunction"
            ]
        );
        assert!(changes.iter().all(|c| c.action == "Modify"));
        let created = template_changes(None, &t, &[]);
        assert!(!created.is_empty() && created.iter().all(|c| c.action == "Add"));
        let removed = template_changes(Some(&t), &json!({"Resources": {}}), &[]);
        assert_eq!(removed.len(), created.len());
        assert!(removed.iter().all(|c| c.action == "Remove"));
    }

    #[test]
    fn references_find_refs_and_subs() {
        assert!(references(&json!({"Ref": "P"}), "P"));
        assert!(references(&json!({"S3Key": {"Ref": "P"}}), "P"));
        assert!(references(&json!({"Fn::Sub": "arn:${P}/x"}), "P"));
        assert!(references(&json!({"Fn::Sub": ["${P}", {}]}), "P"));
        assert!(!references(&json!({"Fn::Sub": "${PX}"}), "P"));
        assert!(!references(&json!({"Ref": "Q", "P": 1}), "P"));
    }

    #[test]
    fn narrowing_lists_removed_allows_and_added_denies() {
        let old = role(&["s3:PutObject", "s3:GetObject"]);
        let new = role(&["s3:PutObject"]);
        let n = narrowed(Some(&old), &new);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].action, "s3:GetObject");
        assert!(narrowed(Some(&new), &old).is_empty());
    }

    #[test]
    fn fingerprint_depends_on_template_and_parameters() {
        let p = vec![("K".to_owned(), "a.zip".to_owned())];
        let q = vec![("K".to_owned(), "b.zip".to_owned())];
        assert_eq!(fingerprint("t", &p), fingerprint("t", &p));
        assert_ne!(fingerprint("t", &p), fingerprint("t", &q));
        assert_ne!(fingerprint("t", &p), fingerprint("u", &p));
    }
}
