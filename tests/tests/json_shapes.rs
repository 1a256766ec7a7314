//! The `--json` output of `deploy` (a report and the approval form), `diff`, `destroy`,
//! `bootstrap` and `outputs` has the shape that `docs/json-output.md` documents. No AWS, no
//! emulator.
//!
//! Both sides come from their source, neither from this file: the documented keys, their types and
//! their words (`result` values) are read from the page's tables, and the JSON is the text the
//! commands print, written by the same functions (`xtask::report::json_text`, which `--json`
//! prints, and `DeployOutcome::json_text`, which prints a deploy's outcome, approval form
//! included) from the report types. So a renamed, added or removed field, or a new result word,
//! fails here until the page says the same; the page's own examples are checked against its
//! tables too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use xtask::bootstrap::{Bootstrap, BootstrapReport, BootstrapResult};
use xtask::deploy::{DeployOutcome, DeployReport, DeployResult, PackageReport};
use xtask::destroy::{DestroyReport, DestroyResult};
use xtask::diff::DiffReport;
use xtask::plan::{ChangeAction, ChangeSummary, Replacement, ResourceChange};
use xtask::report::json_text;

/// A JSON type as the page's "Type" column names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kind {
    /// The column's text, for messages.
    text: String,
    /// The JSON types allowed.
    allowed: Vec<&'static str>,
    /// For "object of X" / "array of X": the type of every member.
    members: Option<&'static str>,
    /// "only on ...": the key may be absent.
    optional: bool,
}

/// The JSON type name of `v`, in the page's words.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_u64() => "number",
        Value::Number(_) => "signed or fractional number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn singular(word: &str) -> &'static str {
    match word.trim_end_matches('s') {
        "string" => "string",
        "number" => "number",
        "object" => "object",
        "bool" => "bool",
        other => panic!("docs/json-output.md: unknown member type `{other}`"),
    }
}

impl Kind {
    fn parse(text: &str) -> Kind {
        let optional = text.contains("only on");
        let head = text.split(',').next().unwrap_or_default().trim();
        let mut allowed = Vec::new();
        let mut members = None;
        for alternative in head.split(" or ") {
            let mut words = alternative.split_whitespace();
            let base = words.next().unwrap_or_default();
            allowed.push(match base {
                "string" => "string",
                "bool" => "bool",
                "number" => "number",
                "object" => "object",
                "array" => "array",
                "null" => "null",
                other => panic!("docs/json-output.md: unknown type `{other}` in `{text}`"),
            });
            if words.next() == Some("of") {
                members = words.next().map(singular);
            }
        }
        Kind {
            text: text.to_owned(),
            allowed,
            members,
            optional,
        }
    }

    fn check(&self, what: &str, v: &Value) {
        assert!(
            self.allowed.contains(&type_of(v)),
            "{what} should be {}, is {v}",
            self.text
        );
        let Some(member) = self.members else { return };
        let values: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            Value::Object(map) => map.values().collect(),
            _ => Vec::new(),
        };
        for value in values {
            assert_eq!(
                type_of(value),
                member,
                "{what}: every member should be a {member} ({})",
                self.text
            );
        }
    }
}

/// One row of a key table: the key, its type and the backquoted words of its meaning.
#[derive(Debug, Clone)]
struct Row {
    kind: Kind,
    words: BTreeSet<String>,
}

/// One `## heading` section of the page: its key table and its ```json example.
#[derive(Debug, Default)]
struct Section {
    rows: BTreeMap<String, Row>,
    example: Option<Value>,
}

impl Section {
    /// The rows for the top-level keys (`changes[].action` is a nested key).
    fn top_level(&self) -> BTreeMap<&str, &Row> {
        self.rows
            .iter()
            .filter(|(k, _)| !k.contains("[]."))
            .map(|(k, r)| (k.as_str(), r))
            .collect()
    }

    /// The rows for the keys of each member of the array `key` (`changes[].action` for
    /// `changes`).
    fn members_of(&self, key: &str) -> BTreeMap<&str, &Row> {
        let prefix = format!("{key}[].");
        self.rows
            .iter()
            .filter_map(|(k, r)| k.strip_prefix(&prefix).map(|m| (m, r)))
            .collect()
    }

    fn row(&self, key: &str) -> &Row {
        self.rows
            .get(key)
            .unwrap_or_else(|| panic!("docs/json-output.md documents no key `{key}` here"))
    }

    fn example(&self) -> &Value {
        self.example
            .as_ref()
            .expect("docs/json-output.md has no example in this section")
    }
}

/// The backquoted words of a table cell.
fn backquoted(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `docs/json-output.md`, by `## heading`.
fn doc() -> BTreeMap<String, Section> {
    let path = e2e_tests::root().join("docs").join("json-output.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(body) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let value: Value = serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("example under `{heading}` is not JSON: {e}"));
                sections.entry(heading.clone()).or_default().example = Some(value);
                block = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_owned();
        } else if line.trim_start() == "```json" {
            block = Some(String::new());
        } else if let Some(row) = line.strip_prefix("| `") {
            let cells: Vec<&str> = row.split(" | ").collect();
            let [key, kind, meaning, ..] = cells.as_slice() else {
                panic!("docs/json-output.md: a key row without three cells: {line}");
            };
            let key = key.trim_end_matches('`');
            sections.entry(heading.clone()).or_default().rows.insert(
                key.to_owned(),
                Row {
                    kind: Kind::parse(kind),
                    words: backquoted(meaning),
                },
            );
        }
    }
    sections
}

fn section<'a>(doc: &'a BTreeMap<String, Section>, heading: &str) -> &'a Section {
    doc.get(heading)
        .unwrap_or_else(|| panic!("docs/json-output.md has no `## {heading}` section"))
}

/// Asserts that `v` is an object with exactly the documented keys (optional ones may be absent),
/// each of its documented type.
fn assert_keys(what: &str, v: &Value, rows: &BTreeMap<&str, &Row>) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    assert!(
        !rows.is_empty(),
        "{what}: docs/json-output.md lists no keys"
    );
    for (key, row) in rows {
        match obj.get(*key) {
            Some(value) => row.kind.check(&format!("{what}.{key}"), value),
            None => assert!(
                row.kind.optional,
                "{what}: documented key `{key}` is missing: {v}"
            ),
        }
    }
    for key in obj.keys() {
        assert!(
            rows.contains_key(key.as_str()),
            "{what}: key `{key}` is not documented in docs/json-output.md"
        );
    }
}

/// Asserts that the object `v` has exactly the keys of the page's example `documented`, and that
/// the page's table names each of them (in backquotes) in `row`'s meaning. For the nested objects
/// the page describes in prose (`package`, `bootstrap`).
fn assert_nested_keys(what: &str, v: &Value, documented: &Value, row: &Row) {
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .unwrap_or_else(|| panic!("{what}: not an object: {v}"))
            .keys()
            .cloned()
            .collect()
    };
    let printed = keys(v);
    assert_eq!(
        printed,
        keys(documented),
        "{what}: the printed keys are not the documented example's"
    );
    for key in &printed {
        assert!(
            row.words.contains(key),
            "{what}: key `{key}` is not named in docs/json-output.md"
        );
    }
}

/// Asserts that `summary` (a change summary) has the documented shape.
fn assert_change_summary(what: &str, summary: &Value, doc: &BTreeMap<String, Section>) {
    let section = section(doc, "The change summary");
    assert_keys(what, summary, &section.top_level());
    let members = section.members_of("changes");
    for change in summary["changes"].as_array().into_iter().flatten() {
        assert_keys(&format!("{what}.changes[]"), change, &members);
    }
}

/// The JSON a command prints for a value, parsed back (a macro: this crate has no direct `serde`
/// dependency to name the trait in a signature).
macro_rules! printed {
    ($value:expr) => {{
        let text = json_text($value).expect("reports serialise");
        serde_json::from_str::<Value>(&text).expect("--json prints JSON")
    }};
}

/// What a result prints as: its JSON and its result-line word, which must be the same.
macro_rules! words {
    ($results:expr) => {
        $results
            .iter()
            .map(|r| {
                let json = printed!(r);
                let word = json.as_str().expect("a result is a string").to_owned();
                assert_eq!(word, r.to_string(), "the JSON and the result line differ");
                word
            })
            .collect::<BTreeSet<String>>()
    };
}

fn outcome(outcome: &DeployOutcome) -> Value {
    serde_json::from_str(&outcome.json_text().expect("serialises")).expect("--json prints JSON")
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

fn sample_deploy(result: DeployResult, api_deployment_id: Option<&str>) -> DeployReport {
    DeployReport {
        stack: "codegen-dev".into(),
        stage: "dev".into(),
        result,
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

/// Every `DeployResult`; the match makes a new variant fail to compile until it is listed.
fn every_deploy_result() -> [DeployResult; 4] {
    match DeployResult::Created {
        DeployResult::Created
        | DeployResult::Updated
        | DeployResult::Unchanged
        | DeployResult::Hotswapped => {}
    }
    [
        DeployResult::Created,
        DeployResult::Updated,
        DeployResult::Unchanged,
        DeployResult::Hotswapped,
    ]
}

fn every_destroy_result() -> [DestroyResult; 2] {
    match DestroyResult::Deleted {
        DestroyResult::Deleted | DestroyResult::Absent => {}
    }
    [DestroyResult::Deleted, DestroyResult::Absent]
}

fn every_bootstrap_result() -> [BootstrapResult; 5] {
    match BootstrapResult::Created {
        BootstrapResult::Created
        | BootstrapResult::Updated
        | BootstrapResult::Unchanged
        | BootstrapResult::Deleted
        | BootstrapResult::Absent => {}
    }
    [
        BootstrapResult::Created,
        BootstrapResult::Updated,
        BootstrapResult::Unchanged,
        BootstrapResult::Deleted,
        BootstrapResult::Absent,
    ]
}

/// Asserts that `words` (what the results print as) are exactly the words the page lists for
/// `result` in `heading`.
fn assert_result_words(doc: &BTreeMap<String, Section>, heading: &str, words: BTreeSet<String>) {
    assert_eq!(
        words,
        section(doc, heading).row("result").words,
        "{heading}: the printed results are not the documented words"
    );
}

#[test]
fn deploy_report_has_the_documented_shape() {
    let doc = doc();
    let page = section(&doc, "deploy --json");
    for (result, id) in every_deploy_result()
        .into_iter()
        .zip([Some("dep1"), None].into_iter().cycle())
    {
        let report = sample_deploy(result, id);
        let v = outcome(&DeployOutcome::Done(Box::new(report.clone())));
        assert_eq!(v, printed!(&report), "deploy --json prints its report");
        assert_keys("deploy", &v, &page.top_level());
        assert_nested_keys(
            "deploy.package",
            &v["package"],
            &page.example()["package"],
            page.row("package"),
        );
        assert_change_summary("deploy.changes", &v["changes"], &doc);
    }
    // A modification carries `replacement`; an addition does not.
    let v = printed!(&sample_deploy(DeployResult::Updated, None));
    assert_eq!(v["changes"]["changes"][0]["replacement"], "False");
    assert!(v["changes"]["changes"][1].get("replacement").is_none());
    assert_result_words(&doc, "deploy --json", words!(every_deploy_result()));
}

#[test]
fn needs_approval_form_has_the_documented_shape() {
    let doc = doc();
    let page = section(&doc, "deploy --json, needs approval");
    let v = outcome(&DeployOutcome::NeedsApproval {
        reason: "this change needs approval because it widens IAM permissions (1 new grants)"
            .into(),
        changes: sample_changes(),
    });
    assert_keys("deploy (needs approval)", &v, &page.top_level());
    assert_change_summary("deploy (needs approval).changes", &v["changes"], &doc);
    let words = &page.row("result").words;
    assert_eq!(words.len(), 1, "`result` is always one word: {words:?}");
    assert!(
        words.contains(v["result"].as_str().unwrap_or_default()),
        "result {} is not the documented {words:?}",
        v["result"]
    );
    // The printed key order is the one the page shows (and `--json` always printed).
    let text = DeployOutcome::NeedsApproval {
        reason: "r".into(),
        changes: ChangeSummary::default(),
    }
    .json_text()
    .expect("serialises");
    let order: Vec<usize> = ["\"result\"", "\"reason\"", "\"changes\""]
        .iter()
        .map(|k| text.find(k).expect("key printed"))
        .collect();
    assert!(order.is_sorted(), "{text}");
}

#[test]
fn diff_report_has_the_documented_shape() {
    let doc = doc();
    let page = section(&doc, "diff --json");
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
        let v = printed!(&report);
        assert_keys("diff", &v, &page.top_level());
        assert_change_summary("diff.changes", &v["changes"], &doc);
    }
}

#[test]
fn destroy_report_has_the_documented_shape() {
    let doc = doc();
    let page = section(&doc, "destroy --json");
    for result in every_destroy_result() {
        let report = DestroyReport {
            stack: "codegen-dev".into(),
            result,
            objects_deleted: 3,
            uploads_aborted: 0,
            asset_bucket_deleted: false,
            retained: vec!["AWS::S3::Bucket codegen-prod-codebucket".into()],
        };
        assert_keys("destroy", &printed!(&report), &page.top_level());
    }
    assert_result_words(&doc, "destroy --json", words!(every_destroy_result()));
}

#[test]
fn bootstrap_report_has_the_documented_shape() {
    let doc = doc();
    let page = section(&doc, "bootstrap --json");
    let report = BootstrapReport {
        stack: "codegen-dev-bootstrap".into(),
        result: BootstrapResult::Created,
        bootstrap: Some(Bootstrap {
            stack: "codegen-dev-bootstrap".into(),
            asset_bucket: "b".into(),
            account: "1".into(),
            execution_role_arn: "e".into(),
            deploy_role_arn: "d".into(),
            diff_role_arn: "f".into(),
            boundary_arn: "p".into(),
        }),
    };
    let v = printed!(&report);
    assert_keys("bootstrap", &v, &page.top_level());
    assert_nested_keys(
        "bootstrap.bootstrap",
        &v["bootstrap"],
        &page.example()["bootstrap"],
        page.row("bootstrap"),
    );
    let removed = BootstrapReport {
        stack: "codegen-dev-bootstrap".into(),
        result: BootstrapResult::Deleted,
        bootstrap: None,
    };
    let v = printed!(&removed);
    assert_keys("bootstrap destroy", &v, &page.top_level());
    assert!(v["bootstrap"].is_null());
    assert_result_words(&doc, "bootstrap --json", words!(every_bootstrap_result()));
}

/// `outputs --json` prints the stack's outputs map as it is; its example and the outputs of the
/// deploy example are the same flat object of strings.
#[test]
fn outputs_are_a_flat_map_of_strings() {
    let doc = doc();
    let example = section(&doc, "outputs --json").example();
    let outputs: BTreeMap<String, String> =
        serde_json::from_value(example.clone()).expect("the example is a map of strings");
    assert_eq!(&printed!(&outputs), example);
    assert_eq!(
        example,
        &section(&doc, "deploy --json").example()["outputs"],
        "the outputs and deploy examples show different outputs"
    );
}

/// The page's examples agree with its own tables.
#[test]
fn the_doc_examples_have_the_documented_shapes() {
    let doc = doc();
    for heading in [
        "deploy --json",
        "deploy --json, needs approval",
        "diff --json",
        "destroy --json",
        "bootstrap --json",
    ] {
        let page = section(&doc, heading);
        let example = page.example();
        assert_keys(&format!("doc {heading}"), example, &page.top_level());
        if let Some(summary) = example.get("changes") {
            assert_change_summary(&format!("doc {heading}.changes"), summary, &doc);
        }
        if let Some(words) = page.rows.get("result").map(|r| &r.words) {
            let word = example["result"].as_str().unwrap_or_default();
            assert!(words.contains(word), "doc {heading}: result `{word}`");
        }
    }
}

/// The change fields serialise as CloudFormation's names, including one this deployer does not
/// know yet, and the page lists the known replacement words.
#[test]
fn change_fields_are_cloudformations_words() {
    let doc = doc();
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
        assert_eq!(printed!(&action), name);
        assert_eq!(action.to_string(), name);
    }
    let documented = &section(&doc, "The change summary")
        .row("changes[].replacement")
        .words;
    for name in ["True", "False", "Conditional"] {
        assert_eq!(printed!(&Replacement::from_name(name)), name);
        assert!(documented.contains(name), "replacement `{name}`");
    }
    assert_eq!(
        printed!(&Replacement::from_name("SomethingNew")),
        "SomethingNew"
    );
}
