//! What `--execute` compares: the world as observed now ([`Observed`]) against the plan, each
//! difference named (`differences`). Pure.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};

use super::{Plan, change_set_description};

/// The live state `--execute` compares with the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The caller's account now.
    pub(crate) account: String,
    /// [`Intent::stack_id`] now.
    pub(crate) stack_id: Option<String>,
    /// [`Intent::stack_last_changed`] now.
    pub(crate) stack_last_changed: Option<String>,
    /// [`Intent::deployed_template_sha256`] now.
    pub(crate) deployed_template_sha256: Option<String>,
    /// The package and template synthesised now: SHA-256s and parameters.
    pub(crate) package_sha256: String,
    /// See [`Intent::template_sha256`].
    pub(crate) template_sha256: String,
    /// See [`Intent::parameters`].
    pub(crate) parameters: BTreeMap<String, String>,
    /// The change set now, if the plan has one.
    pub(crate) change_set: Option<ObservedChangeSet>,
}

/// A change set as `DescribeChangeSet` and `GetTemplate` show it now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObservedChangeSet {
    /// `CREATE_COMPLETE`, ...
    pub(crate) status: String,
    /// `AVAILABLE`, ...
    pub(crate) execution_status: String,
    /// Its description.
    pub(crate) description: String,
    /// Its parameters.
    pub(crate) parameters: BTreeMap<String, String>,
    /// [`template_sha256`] of its template.
    pub(crate) template_sha256: String,
    /// Its summary lines, computed as the plan's were.
    pub(crate) summary: Vec<String>,
}

/// Every way the observed state differs from the plan, one line each (empty: execute). Pure.
pub(crate) fn differences(plan: &Plan, now: &Observed) -> Vec<String> {
    let i = &plan.body.intent;
    let mut out = Vec::new();
    let mut check = |what: &str, planned: String, observed: String| {
        if planned != observed {
            out.push(format!("{what}: planned {planned}, now {observed}"));
        }
    };
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
    check("account", i.account.clone(), now.account.clone());
    check("stack id", show(&i.stack_id), show(&now.stack_id));
    check(
        "stack's last change",
        show(&i.stack_last_changed),
        show(&now.stack_last_changed),
    );
    check(
        "deployed template (SHA-256)",
        show(&i.deployed_template_sha256),
        show(&now.deployed_template_sha256),
    );
    check(
        "package (SHA-256)",
        i.package_sha256.clone(),
        now.package_sha256.clone(),
    );
    check(
        "synthesised template (SHA-256)",
        i.template_sha256.clone(),
        now.template_sha256.clone(),
    );
    check(
        "template parameters",
        format!("{:?}", i.parameters),
        format!("{:?}", now.parameters),
    );
    match (&plan.body.change_set, &now.change_set) {
        (None, None) => {}
        (Some(planned), None) => check("change set", planned.id.clone(), "not found".to_owned()),
        (None, Some(_)) => check("change set", "none".to_owned(), "one".to_owned()),
        (Some(_), Some(cs)) => {
            check(
                "change set status",
                ChangeSetStatus::CreateComplete.as_str().to_owned(),
                cs.status.clone(),
            );
            check(
                "change set execution status",
                ExecutionStatus::Available.as_str().to_owned(),
                cs.execution_status.clone(),
            );
            check(
                "change set description",
                change_set_description(i),
                cs.description.clone(),
            );
            check(
                "change set parameters",
                format!("{:?}", i.parameters),
                format!("{:?}", cs.parameters),
            );
            check(
                "change set template (SHA-256)",
                i.template_sha256.clone(),
                cs.template_sha256.clone(),
            );
            check(
                "change set summary",
                plan.body.summary.join(" | "),
                cs.summary.join(" | "),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::reviewed::tests::plan;

    fn observed(plan: &Plan) -> Observed {
        let i = &plan.body.intent;
        Observed {
            account: i.account.clone(),
            stack_id: i.stack_id.clone(),
            stack_last_changed: i.stack_last_changed.clone(),
            deployed_template_sha256: i.deployed_template_sha256.clone(),
            package_sha256: i.package_sha256.clone(),
            template_sha256: i.template_sha256.clone(),
            parameters: i.parameters.clone(),
            change_set: Some(ObservedChangeSet {
                status: "CREATE_COMPLETE".into(),
                execution_status: "AVAILABLE".into(),
                description: change_set_description(i),
                parameters: i.parameters.clone(),
                template_sha256: i.template_sha256.clone(),
                summary: plan.body.summary.clone(),
            }),
        }
    }

    #[test]
    fn an_unchanged_world_executes_and_every_difference_is_named() {
        let plan = plan();
        assert_eq!(differences(&plan, &observed(&plan)), Vec::<String>::new());
        type Edit = fn(&mut Observed);
        let cases: [(&str, Edit); 11] = [
            ("account", |o| o.account = "111122223333".into()),
            ("stack's last change", |o| {
                o.stack_last_changed = Some("UPDATE_COMPLETE at 2.000000000".into())
            }),
            ("deployed template", |o| o.deployed_template_sha256 = None),
            ("package", |o| o.package_sha256 = "dd".repeat(32)),
            ("synthesised template", |o| {
                o.template_sha256 = "ee".repeat(32)
            }),
            ("change set execution status", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.execution_status = "OBSOLETE".into();
                }
            }),
            ("change set description", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.description = "created by cargo xtask".into();
                }
            }),
            ("change set parameters", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.parameters.insert("CodeS3Key".into(), "evil.zip".into());
                }
            }),
            ("change set template", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.template_sha256 = "ff".repeat(32);
                }
            }),
            ("change set summary", |o| {
                if let Some(cs) = &mut o.change_set {
                    cs.summary.push("[-] AWS::S3::Bucket CodeBucket".into());
                }
            }),
            ("change set", |o| o.change_set = None),
        ];
        for (what, edit) in cases {
            let mut now = observed(&plan);
            edit(&mut now);
            let found = differences(&plan, &now);
            assert_eq!(found.len(), 1, "{what}: {found:?}");
            assert!(found[0].starts_with(what), "{what}: {found:?}");
        }
    }
}
