//! Resource changes and the change summary: what a change set (or, for the read-only `diff`, the
//! comparison of two templates) would do, and why a person must approve it. Pure.

use std::collections::BTreeSet;

use cfn_constructs::view::{ResourceView, TemplateView};
use serde::Serialize;
use serde_json::Value;

use super::iam::grant_table;

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// What CloudFormation does to the resource.
    pub action: ChangeAction,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Whether a modification replaces the resource (unset for other actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
}

impl ResourceChange {
    /// Whether the change replaces (or may replace) the physical resource.
    pub(crate) fn replaces(&self) -> bool {
        matches!(
            self.replacement,
            Some(Replacement::True | Replacement::Conditional)
        )
    }
}

/// What a change does to a resource, as CloudFormation's `ChangeAction` names it (and as the JSON
/// output writes it: `Add`, `Modify`, `Remove`, ...;
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ChangeAction {
    /// The resource is created.
    Add,
    /// The resource is updated (or replaced, see [`ResourceChange::replacement`]).
    Modify,
    /// The resource is deleted.
    Remove,
    /// The resource is imported.
    Import,
    /// Decided when the change set runs.
    Dynamic,
    /// A drifted resource is brought back to its template.
    SyncWithActual,
    /// An action this deployer does not know, by its name.
    #[serde(untagged)]
    Other(String),
}

impl ChangeAction {
    /// The action CloudFormation names `name`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "Add" => Self::Add,
            "Modify" => Self::Modify,
            "Remove" => Self::Remove,
            "Import" => Self::Import,
            "Dynamic" => Self::Dynamic,
            "SyncWithActual" => Self::SyncWithActual,
            other => Self::Other(other.to_owned()),
        }
    }

    /// CloudFormation's name of the action.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Add => "Add",
            Self::Modify => "Modify",
            Self::Remove => "Remove",
            Self::Import => "Import",
            Self::Dynamic => "Dynamic",
            Self::SyncWithActual => "SyncWithActual",
            Self::Other(name) => name,
        }
    }
}

impl std::fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a modification replaces the resource, as CloudFormation's `Replacement` names it (and
/// as the JSON output writes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Replacement {
    /// The resource is replaced.
    True,
    /// The resource is updated in place.
    False,
    /// Replaced or not depending on a value known only when the change set runs.
    Conditional,
    /// A value this deployer does not know, by its name.
    #[serde(untagged)]
    Other(String),
}

impl Replacement {
    /// The value CloudFormation names `name`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "True" => Self::True,
            "False" => Self::False,
            "Conditional" => Self::Conditional,
            other => Self::Other(other.to_owned()),
        }
    }

    /// CloudFormation's name of the value.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Conditional => "Conditional",
            Self::Other(name) => name,
        }
    }
}

/// Whether `value` refers to the parameter or resource `name`: `{"Ref": name}` anywhere in it, or
/// `${name}` in the string of an `Fn::Sub`.
pub(crate) fn references(value: &Value, name: &str) -> bool {
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
pub(crate) fn template_changes(
    old: Option<&Value>,
    new: &Value,
    changed_parameters: &[String],
) -> Vec<ResourceChange> {
    let before = TemplateView::of(old);
    let after = TemplateView::new(new);
    let ids: BTreeSet<&str> = before.logical_ids().chain(after.logical_ids()).collect();
    let type_of = |r: ResourceView<'_>| r.type_name().unwrap_or_default().to_owned();
    ids.into_iter()
        .filter_map(|id| {
            let (action, resource_type) = match (before.resource(id), after.resource(id)) {
                (None, Some(n)) => (ChangeAction::Add, type_of(n)),
                (Some(o), None) => (ChangeAction::Remove, type_of(o)),
                (Some(o), Some(n)) => {
                    let uses_changed = changed_parameters.iter().any(|p| references(n.value(), p));
                    if o.value() == n.value() && !uses_changed {
                        return None;
                    }
                    (ChangeAction::Modify, type_of(n))
                }
                (None, None) => return None,
            };
            Some(ResourceChange {
                action,
                logical_id: id.to_owned(),
                resource_type,
                replacement: None,
            })
        })
        .collect()
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
    pub(crate) fn replacements(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.replaces())
    }

    /// Changes that remove a resource (`Remove`: CloudFormation deletes it, "Remove (deletes a
    /// resource)", <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html>).
    pub(crate) fn removals(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes
            .iter()
            .filter(|c| c.action == ChangeAction::Remove)
    }

    /// Why a person must approve this change, from the changes alone, one line each: IAM
    /// widening, replacements and removals.
    pub(crate) fn approval_reasons(&self) -> Vec<String> {
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
    /// `Self::approval_reason_with` for the template comparison).
    pub fn approval_reason(&self) -> Option<String> {
        self.approval_reason_with(&[])
    }

    /// Why a person must approve this change, if they must: [`Self::approval_reasons`] plus the
    /// `triggers` found by comparing the templates ([`approval_triggers`](super::approval_triggers)), joined by `; `.
    pub(crate) fn approval_reason_with(&self, triggers: &[String]) -> Option<String> {
        let mut reasons = self.approval_reasons();
        reasons.extend(triggers.iter().cloned());
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// Whether the API must be redeployed (routes, integrations or the API itself changed).
    pub(crate) fn touches_api(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.resource_type.starts_with("AWS::ApiGatewayV2::"))
    }

    /// Human-readable lines, CDK-style: `[+] AWS::S3::Bucket CodeBucket`.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .changes
            .iter()
            .map(|c| {
                let sign = match c.action {
                    ChangeAction::Add => "[+]",
                    ChangeAction::Remove => "[-]",
                    _ if c.replaces() => "[!]",
                    _ => "[~]",
                };
                let replace = if c.replaces() {
                    format!(
                        " (replacement: {})",
                        c.replacement.as_ref().map_or("?", Replacement::as_str)
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
    use crate::plan::fixtures::dev_template;
    use serde_json::json;

    #[test]
    fn approval_needed_for_replacement_or_widening() {
        let mut s = ChangeSummary {
            changes: vec![ResourceChange {
                action: ChangeAction::Modify,
                logical_id: "Function".into(),
                resource_type: "AWS::Lambda::Function".into(),
                replacement: Some(Replacement::False),
            }],
            iam_widening: vec![],
        };
        assert_eq!(s.approval_reason(), None);
        assert!(!s.touches_api());
        s.changes[0].replacement = Some(Replacement::True);
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
        assert!(changes.iter().all(|c| c.action == ChangeAction::Modify));
        let created = template_changes(None, &t, &[]);
        assert!(!created.is_empty() && created.iter().all(|c| c.action == ChangeAction::Add));
        let removed = template_changes(Some(&t), &json!({"Resources": {}}), &[]);
        assert_eq!(removed.len(), created.len());
        assert!(removed.iter().all(|c| c.action == ChangeAction::Remove));
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
}
