//! The deployer's pure core: stack states and what to do about them, change-set summaries, IAM
//! widening between two templates, and the deploy fingerprint. No SDK calls, no IO.

use std::collections::BTreeSet;

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

/// Classifies a CloudFormation stack status.
pub fn classify(status: &str) -> StackState {
    match status {
        "DELETE_COMPLETE" => StackState::Missing,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackState::Stable,
        "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
        "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
        "UPDATE_ROLLBACK_FAILED" => StackState::UpdateRollbackFailed,
        s if s.ends_with("_IN_PROGRESS") => StackState::InProgress,
        _ => StackState::Failed,
    }
}

/// Whether a status ends an operation (no further events will come).
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Whether a terminal status means the operation succeeded.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE"
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
            self.holder, self.effect, self.action, self.resource
        )?;
        if !self.condition.is_empty() {
            write!(f, " if {}", self.condition)?;
        }
        Ok(())
    }
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

    /// Why a person must approve this change, if they must.
    pub fn approval_reason(&self) -> Option<String> {
        let replaced: Vec<&str> = self.replacements().map(|c| c.logical_id.as_str()).collect();
        let mut reasons = Vec::new();
        if !self.iam_widening.is_empty() {
            reasons.push(format!(
                "it widens IAM permissions ({} new grants)",
                self.iam_widening.len()
            ));
        }
        if !replaced.is_empty() {
            reasons.push(format!("it replaces {}", replaced.join(", ")));
        }
        (!reasons.is_empty()).then(|| reasons.join(" and "))
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
            out.extend(self.iam_widening.iter().map(|g| format!("  + {g}")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(actions: &[&str]) -> Value {
        json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": ["arn:a"]}
            ]}}
        ]}}}})
    }

    #[test]
    fn statuses_map_to_actions() {
        assert_eq!(classify("CREATE_COMPLETE"), StackState::Stable);
        assert_eq!(classify("UPDATE_ROLLBACK_COMPLETE"), StackState::Stable);
        assert_eq!(classify("ROLLBACK_COMPLETE"), StackState::RollbackComplete);
        assert_eq!(
            classify("UPDATE_ROLLBACK_FAILED"),
            StackState::UpdateRollbackFailed
        );
        assert_eq!(classify("UPDATE_IN_PROGRESS"), StackState::InProgress);
        assert_eq!(classify("REVIEW_IN_PROGRESS"), StackState::ReviewInProgress);
        assert_eq!(classify("DELETE_FAILED"), StackState::Failed);
        assert!(is_terminal("ROLLBACK_COMPLETE") && !is_success("ROLLBACK_COMPLETE"));
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

    #[test]
    fn fingerprint_depends_on_template_and_parameters() {
        let p = vec![("K".to_owned(), "a.zip".to_owned())];
        let q = vec![("K".to_owned(), "b.zip".to_owned())];
        assert_eq!(fingerprint("t", &p), fingerprint("t", &p));
        assert_ne!(fingerprint("t", &p), fingerprint("t", &q));
        assert_ne!(fingerprint("t", &p), fingerprint("u", &p));
    }
}
