//! What `diff` found: the `--json` document ([`DiffReport`]), how the function code compared
//! ([`CodeComparison`]) and the human-readable lines ([`Diff::lines`]). Pure.

use serde::Serialize;

use crate::plan::{self, ChangeSummary};

/// What `diff` found (the `--json` document).
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Stack name.
    pub stack: String,
    /// Whether a deploy would change anything.
    pub has_changes: bool,
    /// Whether the deploy would create the stack.
    pub creates_stack: bool,
    /// Why a deploy would need approval, if it would.
    pub needs_approval: Option<String>,
    /// The changes.
    pub changes: ChangeSummary,
}

/// What was found about the function code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeComparison {
    /// The deployed functions run this package (same content-hash key).
    Unchanged,
    /// A deploy would switch the functions to another package.
    Changed {
        /// The deployed package's key.
        deployed: String,
        /// This package's key.
        new: String,
    },
    /// The stack does not exist yet: a deploy creates the functions with this package.
    New(String),
    /// Not compared, and why.
    NotCompared(String),
    /// Compared by CloudFormation (`--change-set`): the package was built and uploaded.
    ByChangeSet(String),
}

impl std::fmt::Display for CodeComparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unchanged => write!(f, "function code: unchanged (same package hash)"),
            Self::Changed { deployed, new } => {
                write!(f, "function code: changed ({deployed} -> {new})")
            }
            Self::New(key) => write!(f, "function code: new ({key})"),
            Self::NotCompared(why) => write!(f, "function code: not compared ({why})"),
            Self::ByChangeSet(key) => {
                write!(f, "function code: compared by CloudFormation ({key})")
            }
        }
    }
}

/// Everything `diff` found: the report (`--json`) and what only the human-readable form shows.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The report.
    pub report: DiffReport,
    /// Whether this came from the read-only comparison (`false`: a CloudFormation change set).
    pub(crate) read_only: bool,
    /// IAM permissions the change takes away (Allows removed, Denies added).
    pub(crate) iam_removed: Vec<String>,
    /// Stack parameters, stack tags and template sections other than `Resources` that change.
    pub(crate) settings: Vec<String>,
    /// The function code.
    pub code: CodeComparison,
    /// What else a reader should know (the stack's state, what the comparison cannot tell).
    pub(crate) notes: Vec<String>,
}

impl Diff {
    /// The human-readable result, CDK-style: one headline, then `[+]/[-]/[~]` lines, IAM grants
    /// added and removed, parameter and tag changes, the code, and why approval is needed.
    pub fn lines(&self) -> Vec<String> {
        let r = &self.report;
        let how = if self.read_only {
            "compared with the deployed template, read-only"
        } else {
            "CloudFormation change set"
        };
        let mut out = vec![if !r.has_changes {
            format!("{}: no changes ({how})", r.stack)
        } else if r.creates_stack {
            format!(
                "{}: creates the stack, {} resource(s) ({how})",
                r.stack,
                r.changes.changes.len()
            )
        } else {
            format!("{}: {} change(s) ({how})", r.stack, r.changes.changes.len())
        }];
        out.extend(r.changes.lines().into_iter().map(|l| format!("  {l}")));
        if !self.iam_removed.is_empty() {
            out.push("  IAM permissions removed:".to_owned());
            out.extend(
                plan::grant_table('-', &self.iam_removed)
                    .into_iter()
                    .map(|l| format!("    {l}")),
            );
        }
        out.extend(self.settings.iter().map(|l| format!("  {l}")));
        out.push(format!("  {}", self.code));
        out.extend(self.notes.iter().map(|l| format!("  note: {l}")));
        if let Some(reason) = &r.needs_approval {
            out.push(format!("  deploying needs approval: {reason}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(has_changes: bool, creates_stack: bool) -> DiffReport {
        DiffReport {
            stack: "codegen-dev".into(),
            has_changes,
            creates_stack,
            needs_approval: None,
            changes: ChangeSummary::default(),
        }
    }

    #[test]
    fn lines_say_how_the_diff_was_made_and_what_was_not_compared() {
        let d = Diff {
            report: report(false, false),
            read_only: true,
            iam_removed: vec![],
            settings: vec![],
            code: CodeComparison::NotCompared("no build for arm64".into()),
            notes: vec![],
        };
        assert_eq!(
            d.lines(),
            vec![
                "codegen-dev: no changes (compared with the deployed template, read-only)",
                "  function code: not compared (no build for arm64)",
            ]
        );
    }

    #[test]
    fn lines_list_removed_grants_settings_and_the_approval_reason() {
        let mut r = report(true, false);
        r.needs_approval = Some("role FunctionRole: trust policy changed".into());
        r.changes.changes.push(plan::ResourceChange {
            action: plan::ChangeAction::Modify,
            logical_id: "FunctionRole".into(),
            resource_type: "AWS::IAM::Role".into(),
            replacement: None,
        });
        let d = Diff {
            report: r,
            read_only: true,
            iam_removed: vec!["FunctionRole Allow s3:GetObject on \"arn\"".into()],
            settings: vec!["parameter CodeS3Key: a.zip -> b.zip".into()],
            code: CodeComparison::Changed {
                deployed: "a.zip".into(),
                new: "b.zip".into(),
            },
            notes: vec![],
        };
        assert_eq!(
            d.lines(),
            vec![
                "codegen-dev: 1 change(s) (compared with the deployed template, read-only)",
                "  [~] AWS::IAM::Role FunctionRole",
                "  IAM permissions removed:",
                "      Holder        Effect  Action        Resource",
                "    - FunctionRole  Allow   s3:GetObject  \"arn\"",
                "  parameter CodeS3Key: a.zip -> b.zip",
                "  function code: changed (a.zip -> b.zip)",
                "  deploying needs approval: role FunctionRole: trust policy changed",
            ]
        );
    }
}
