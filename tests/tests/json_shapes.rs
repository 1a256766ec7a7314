//! The `--json` output of `deploy`, `diff`, `destroy`, `bootstrap` and `outputs` has the shape that
//! `docs/json-output.md` documents: every documented top-level key is there with its documented
//! type, and no undocumented key appears. Serialises report values built here; no AWS, no
//! emulator. The doc's own example blocks are checked against the same shapes, so a change to a
//! report type fails here until the doc is updated.

use std::collections::BTreeMap;

use serde_json::Value;
use xtask::deploy::{DeployReport, PackageReport};
use xtask::destroy::DestroyReport;
use xtask::diff::DiffReport;
use xtask::plan::{ChangeAction, ChangeSummary, Replacement, ResourceChange};

/// JSON types as the doc names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Bool,
    Number,
    Object,
    Array,
    /// A string or `null`.
    OptString,
}

impl Kind {
    fn matches(self, v: &Value) -> bool {
        match self {
            Kind::String => v.is_string(),
            Kind::Bool => v.is_boolean(),
            Kind::Number => v.is_u64(),
            Kind::Object => v.is_object(),
            Kind::Array => v.is_array(),
            Kind::OptString => v.is_string() || v.is_null(),
        }
    }
}

const DEPLOY_KEYS: &[(&str, Kind)] = &[
    ("stack", Kind::String),
    ("stage", Kind::String),
    ("result", Kind::String),
    ("stack_status", Kind::String),
    ("changes", Kind::Object),
    ("package", Kind::Object),
    ("api_deployment_id", Kind::OptString),
    ("outputs", Kind::Object),
    ("timings_ms", Kind::Object),
];

const PACKAGE_KEYS: &[(&str, Kind)] = &[
    ("uri", Kind::String),
    ("sha256", Kind::String),
    ("size", Kind::Number),
    ("uploaded", Kind::Bool),
    ("architecture", Kind::String),
];

const CHANGES_KEYS: &[(&str, Kind)] = &[("changes", Kind::Array), ("iam_widening", Kind::Array)];

const NEEDS_APPROVAL_KEYS: &[(&str, Kind)] = &[
    ("result", Kind::String),
    ("reason", Kind::String),
    ("changes", Kind::Object),
];

const DIFF_KEYS: &[(&str, Kind)] = &[
    ("stack", Kind::String),
    ("has_changes", Kind::Bool),
    ("creates_stack", Kind::Bool),
    ("needs_approval", Kind::OptString),
    ("changes", Kind::Object),
];

const DESTROY_KEYS: &[(&str, Kind)] = &[
    ("stack", Kind::String),
    ("result", Kind::String),
    ("objects_deleted", Kind::Number),
    ("uploads_aborted", Kind::Number),
    ("asset_bucket_deleted", Kind::Bool),
    ("retained", Kind::Array),
];

const BOOTSTRAP_KEYS: &[(&str, Kind)] = &[
    ("stack", Kind::String),
    ("result", Kind::String),
    ("bootstrap", Kind::Object),
];

const BOOTSTRAP_OUTPUT_KEYS: &[(&str, Kind)] = &[
    ("stack", Kind::String),
    ("asset_bucket", Kind::String),
    ("account", Kind::String),
    ("execution_role_arn", Kind::String),
    ("deploy_role_arn", Kind::String),
    ("diff_role_arn", Kind::String),
    ("boundary_arn", Kind::String),
];

/// Asserts that `v` is an object with exactly the documented keys, each of its documented type.
fn assert_shape(what: &str, v: &Value, keys: &[(&str, Kind)]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for (key, kind) in keys {
        let value = obj
            .get(*key)
            .unwrap_or_else(|| panic!("{what}: documented key `{key}` is missing: {v}"));
        assert!(
            kind.matches(value),
            "{what}: `{key}` should be {kind:?}, is {value}"
        );
    }
    for key in obj.keys() {
        assert!(
            keys.iter().any(|(k, _)| k == key),
            "{what}: key `{key}` is not documented in docs/json-output.md"
        );
    }
}

fn assert_change_entries(what: &str, changes: &Value) {
    assert_shape(&format!("{what}.changes"), changes, CHANGES_KEYS);
    for c in changes["changes"]
        .as_array()
        .expect("changes.changes is a list")
    {
        let obj = c.as_object().expect("a change is an object");
        for key in ["action", "logical_id", "resource_type"] {
            assert!(obj[key].is_string(), "{what}: change.{key}: {c}");
        }
        // `replacement` appears only for modifications.
        for key in obj.keys() {
            assert!(
                ["action", "logical_id", "resource_type", "replacement"].contains(&key.as_str()),
                "{what}: undocumented change key `{key}`"
            );
        }
    }
    for w in changes["iam_widening"]
        .as_array()
        .expect("iam_widening is a list")
    {
        assert!(w.is_string(), "{what}: iam_widening entries are strings");
    }
}

fn sample_changes() -> ChangeSummary {
    ChangeSummary {
        changes: vec![
            ResourceChange {
                action: ChangeAction::Modify,
                logical_id: "Function".into(),
                resource_type: "AWS::Lambda::Function".into(),
                replacement: Some(Replacement::False),
            },
            ResourceChange {
                action: ChangeAction::Add,
                logical_id: "CodeBucket".into(),
                resource_type: "AWS::S3::Bucket".into(),
                replacement: None,
            },
        ],
        iam_widening: vec!["FunctionRole Allow s3:PutObject on \"...\"".into()],
    }
}

fn sample_deploy(api_deployment_id: Option<&str>) -> DeployReport {
    DeployReport {
        stack: "codegen-dev".into(),
        stage: "dev".into(),
        result: xtask::deploy::DeployResult::Updated,
        stack_status: "UPDATE_COMPLETE".into(),
        changes: sample_changes(),
        package: PackageReport {
            uri: "s3://codegen-assets-123456789012-us-east-1/codegen-function/ab.zip".into(),
            sha256: "ab".into(),
            size: 4_200_000,
            uploaded: true,
            architecture: "arm64".into(),
        },
        api_deployment_id: api_deployment_id.map(str::to_owned),
        outputs: BTreeMap::from([("ApiId".to_owned(), "abc123".to_owned())]),
        timings_ms: BTreeMap::from([("total".to_owned(), 61_000)]),
    }
}

/// Serialises a report as `--json` does (this crate has no direct `serde` dependency to name the
/// trait in a function signature).
macro_rules! to_json {
    ($value:expr) => {
        serde_json::to_value($value).expect("reports serialise")
    };
}

#[test]
fn deploy_report_has_the_documented_shape() {
    for id in [Some("dep1"), None] {
        let v = to_json!(&sample_deploy(id));
        assert_shape("deploy", &v, DEPLOY_KEYS);
        assert_shape("deploy.package", &v["package"], PACKAGE_KEYS);
        assert_change_entries("deploy", &v["changes"]);
        assert!(
            v["timings_ms"]
                .as_object()
                .expect("timings")
                .values()
                .all(Value::is_u64)
        );
        assert!(
            v["outputs"]
                .as_object()
                .expect("outputs")
                .values()
                .all(Value::is_string)
        );
    }
    // A modification carries `replacement`; an addition does not.
    let v = to_json!(&sample_deploy(None));
    assert_eq!(v["changes"]["changes"][0]["replacement"], "False");
    assert!(v["changes"]["changes"][1].get("replacement").is_none());
}

#[test]
fn needs_approval_form_has_the_documented_shape() {
    // Built exactly as cli.rs builds it.
    let v = serde_json::json!({
        "result": "needs_approval",
        "reason": "this change needs approval because it widens IAM permissions (1 new grants)",
        "changes": sample_changes(),
    });
    assert_shape("deploy (needs approval)", &v, NEEDS_APPROVAL_KEYS);
    assert_change_entries("deploy (needs approval)", &v["changes"]);
}

#[test]
fn diff_report_has_the_documented_shape() {
    for (has_changes, needs_approval) in [(true, Some("it replaces Api")), (false, None)] {
        let report = DiffReport {
            stack: "codegen-dev".into(),
            has_changes,
            creates_stack: false,
            needs_approval: needs_approval.map(str::to_owned),
            changes: if has_changes {
                sample_changes()
            } else {
                ChangeSummary::default()
            },
        };
        let v = to_json!(&report);
        assert_shape("diff", &v, DIFF_KEYS);
        assert_change_entries("diff", &v["changes"]);
    }
}

#[test]
fn destroy_report_has_the_documented_shape() {
    let report = DestroyReport {
        stack: "codegen-dev".into(),
        result: xtask::destroy::DestroyResult::Deleted,
        objects_deleted: 3,
        uploads_aborted: 0,
        asset_bucket_deleted: false,
        retained: Vec::new(),
    };
    assert_shape("destroy", &to_json!(&report), DESTROY_KEYS);
}

#[test]
fn bootstrap_report_has_the_documented_shape() {
    let report = xtask::bootstrap::BootstrapReport {
        stack: "codegen-dev-bootstrap".into(),
        result: xtask::bootstrap::BootstrapResult::Created,
        bootstrap: Some(xtask::bootstrap::Bootstrap {
            stack: "codegen-dev-bootstrap".into(),
            asset_bucket: "b".into(),
            account: "1".into(),
            execution_role_arn: "e".into(),
            deploy_role_arn: "d".into(),
            diff_role_arn: "f".into(),
            boundary_arn: "p".into(),
        }),
    };
    let v = to_json!(&report);
    assert_shape("bootstrap", &v, BOOTSTRAP_KEYS);
    assert_shape(
        "bootstrap.bootstrap",
        &v["bootstrap"],
        BOOTSTRAP_OUTPUT_KEYS,
    );
    let removed = xtask::bootstrap::BootstrapReport {
        stack: "codegen-dev-bootstrap".into(),
        result: xtask::bootstrap::BootstrapResult::Deleted,
        bootstrap: None,
    };
    assert!(to_json!(&removed)["bootstrap"].is_null());
}

#[test]
fn outputs_are_a_flat_map_of_strings() {
    let outputs: BTreeMap<String, String> =
        BTreeMap::from([("ApiId".to_owned(), "abc123".to_owned())]);
    let v = to_json!(&outputs);
    assert!(
        v.as_object()
            .expect("an object")
            .values()
            .all(Value::is_string)
    );
}

/// The fenced ```json blocks of docs/json-output.md, by the heading they follow.
fn doc_examples() -> BTreeMap<String, Value> {
    let path = e2e_tests::root().join("docs").join("json-output.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    let mut examples = BTreeMap::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(body) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let value: Value = serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("example under `{heading}` is not JSON: {e}"));
                examples.insert(heading.clone(), value);
                block = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_owned();
        } else if line.trim_start() == "```json" {
            block = Some(String::new());
        }
    }
    examples
}

#[test]
fn the_doc_examples_have_the_documented_shapes() {
    let examples = doc_examples();
    let get = |heading: &str| {
        examples
            .get(heading)
            .unwrap_or_else(|| panic!("docs/json-output.md has no `## {heading}` example"))
    };
    let deploy = get("deploy --json");
    assert_shape("doc deploy", deploy, DEPLOY_KEYS);
    assert_shape("doc deploy.package", &deploy["package"], PACKAGE_KEYS);
    assert_change_entries("doc deploy", &deploy["changes"]);
    let approval = get("deploy --json, needs approval");
    assert_shape("doc needs approval", approval, NEEDS_APPROVAL_KEYS);
    let diff = get("diff --json");
    assert_shape("doc diff", diff, DIFF_KEYS);
    assert_change_entries("doc diff", &diff["changes"]);
    assert_shape("doc destroy", get("destroy --json"), DESTROY_KEYS);
    let bootstrap = get("bootstrap --json");
    assert_shape("doc bootstrap", bootstrap, BOOTSTRAP_KEYS);
    assert_shape(
        "doc bootstrap.bootstrap",
        &bootstrap["bootstrap"],
        BOOTSTRAP_OUTPUT_KEYS,
    );
    assert!(
        get("outputs --json")
            .as_object()
            .expect("outputs example is an object")
            .values()
            .all(Value::is_string)
    );
}

/// The typed results and change fields serialise as the words `docs/json-output.md` lists, the
/// same words the result lines print.
#[test]
fn results_and_change_fields_are_the_documented_words() {
    use xtask::bootstrap::BootstrapResult;
    use xtask::deploy::DeployResult;
    use xtask::destroy::DestroyResult;
    for (result, word) in [
        (DeployResult::Created, "created"),
        (DeployResult::Updated, "updated"),
        (DeployResult::Unchanged, "unchanged"),
        (DeployResult::Hotswapped, "hotswapped"),
    ] {
        assert_eq!(to_json!(result), word);
        assert_eq!(result.to_string(), word);
    }
    for (result, word) in [
        (DestroyResult::Deleted, "deleted"),
        (DestroyResult::Absent, "absent"),
    ] {
        assert_eq!(to_json!(result), word);
        assert_eq!(result.to_string(), word);
    }
    for (result, word) in [
        (BootstrapResult::Created, "created"),
        (BootstrapResult::Updated, "updated"),
        (BootstrapResult::Unchanged, "unchanged"),
        (BootstrapResult::Deleted, "deleted"),
        (BootstrapResult::Absent, "absent"),
    ] {
        assert_eq!(to_json!(result), word);
        assert_eq!(result.to_string(), word);
    }
    // CloudFormation's names, including one this deployer does not know yet.
    for name in [
        "Add",
        "Modify",
        "Remove",
        "Import",
        "Dynamic",
        "SyncWithActual",
        "SomethingNew",
    ] {
        let action = ChangeAction::from_name(name);
        assert_eq!(to_json!(&action), name);
        assert_eq!(action.to_string(), name);
    }
    for name in ["True", "False", "Conditional", "SomethingNew"] {
        assert_eq!(to_json!(Replacement::from_name(name)), name);
    }
}
