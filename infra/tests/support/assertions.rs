//! CDK-style assertions on a synthesised template, in the spirit of AWS CDK's
//! `aws-cdk-lib/assertions` `Template`: [`resource_count_is`], [`has_resource_properties`],
//! [`find_resources`], plus lookups by logical id and counts by type. Pure: works on the template
//! as CloudFormation reads it (`Template::to_json_value()`), no IO. The template is read by the
//! construct library's [`TemplateView`], the reader the deployer uses too; these functions add
//! what a test needs on top (failing with what they looked for, partial matching).
//!
//! Matching is partial, like CDK's `Match.objectLike` applied deeply: every key of an expected
//! object must be present in the actual object and match recursively, extra actual keys are
//! ignored; arrays must have the same length and match element by element, in order; anything
//! else must be equal (numbers compare by value, so `5` matches `5.0`).

use std::collections::{BTreeMap, BTreeSet};

use cfn_constructs::view::TemplateView;
use serde_json::{Map, Value, json};

/// The template, read; a template without a `Resources` object fails.
#[track_caller]
fn view(t: &Value) -> TemplateView<'_> {
    assert!(
        t["Resources"].is_object(),
        "template has a Resources object"
    );
    TemplateView::new(t)
}

/// The template's `Resources` object.
pub fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"]
        .as_object()
        .expect("template has a Resources object")
}

/// Every resource of `type_name`, by logical id (CDK's `findResources(type)`).
#[track_caller]
pub fn find_resources<'a>(t: &'a Value, type_name: &str) -> Vec<(&'a str, &'a Value)> {
    view(t)
        .resources_of_type(type_name)
        .map(|(id, r)| (id, r.value()))
        .collect()
}

/// The logical ids of `found` (what [`find_resources`] returns), sorted, for set comparisons.
pub fn logical_ids<'a>(found: impl IntoIterator<Item = (&'a str, &'a Value)>) -> BTreeSet<&'a str> {
    found.into_iter().map(|(id, _)| id).collect()
}

/// How many resources of each type the template has (for an exact inventory, where
/// [`resource_count_is`] checks one type).
#[track_caller]
pub fn type_counts(t: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (id, r) in view(t).resources() {
        let type_name = r.type_name().unwrap_or_else(|| panic!("{id} has no Type"));
        *counts.entry(type_name.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// The resources of `type_name` whose `Properties` match `props` partially (CDK's
/// `findResources(type, { Properties: props })`).
pub fn find_resources_like<'a>(
    t: &'a Value,
    type_name: &str,
    props: &Value,
) -> Vec<(&'a str, &'a Value)> {
    find_resources(t, type_name)
        .into_iter()
        .filter(|(_, r)| matches(props, &r["Properties"]).is_ok())
        .collect()
}

/// Asserts that the template has exactly `count` resources of `type_name` (CDK's
/// `resourceCountIs`), naming the ones it found when it has not.
#[track_caller]
pub fn resource_count_is(t: &Value, type_name: &str, count: usize) {
    let found = find_resources(t, type_name);
    assert_eq!(
        found.len(),
        count,
        "expected {count} {type_name}, found {:?}",
        found.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
}

/// Asserts that at least one resource of `type_name` has properties matching `props` partially
/// (CDK's `hasResourceProperties`). On failure, says for each candidate where it differs.
#[track_caller]
pub fn has_resource_properties(t: &Value, type_name: &str, props: &Value) {
    let candidates = find_resources(t, type_name);
    let mut mismatches = Vec::new();
    for (id, resource) in &candidates {
        match matches(props, &resource["Properties"]) {
            Ok(()) => return,
            Err(why) => mismatches.push(format!("  {id}: {why}")),
        }
    }
    panic!(
        "no {type_name} has properties like {props}; {} candidate(s):\n{}",
        candidates.len(),
        mismatches.join("\n")
    );
}

/// The resource with logical id `id`, which must exist and be of `type_name`.
#[track_caller]
pub fn resource<'a>(t: &'a Value, id: &str, type_name: &str) -> &'a Value {
    let r = view(t)
        .resource(id)
        .unwrap_or_else(|| panic!("no resource {id}"));
    assert_eq!(r.type_name(), Some(type_name), "{id} has the wrong type");
    r.value()
}

/// The `Properties` of [`resource`].
#[track_caller]
pub fn properties<'a>(t: &'a Value, id: &str, type_name: &str) -> &'a Value {
    &resource(t, id, type_name)["Properties"]
}

/// Asserts that the resource `id` (of `type_name`) has properties matching `props` partially:
/// [`has_resource_properties`] for one resource picked by logical id.
#[track_caller]
pub fn resource_has_properties(t: &Value, id: &str, type_name: &str, props: &Value) {
    if let Err(why) = matches(props, properties(t, id, type_name)) {
        panic!("{id} ({type_name}) does not have properties like {props}: {why}");
    }
}

/// `{"Ref": id}`.
pub fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// `{"Fn::GetAtt": [id, attribute]}`.
pub fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

/// `{"Fn::Sub": template}`.
pub fn sub(template: &str) -> Value {
    json!({ "Fn::Sub": template })
}

/// Partial match of `actual` against `expected` (see the module docs); the error names the JSON
/// pointer of the first difference.
pub fn matches(expected: &Value, actual: &Value) -> Result<(), String> {
    match_at("", expected, actual)
}

fn match_at(path: &str, expected: &Value, actual: &Value) -> Result<(), String> {
    let at = if path.is_empty() { "/" } else { path };
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, want_value) in want {
                let child = format!("{path}/{key}");
                let have_value = have
                    .get(key)
                    .ok_or_else(|| format!("{child}: missing (expected {want_value})"))?;
                match_at(&child, want_value, have_value)?;
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                return Err(format!(
                    "{at}: expected {} element(s), got {}: {actual}",
                    want.len(),
                    have.len()
                ));
            }
            want.iter()
                .zip(have)
                .enumerate()
                .try_for_each(|(i, (w, h))| match_at(&format!("{path}/{i}"), w, h))
        }
        (Value::Number(want), Value::Number(have)) if want.as_f64() == have.as_f64() => Ok(()),
        (want, have) if want == have => Ok(()),
        (want, have) => Err(format!("{at}: expected {want}, got {have}")),
    }
}

#[test]
fn partial_matching_ignores_extra_keys_and_recurses() {
    let actual = json!({
        "A": 1,
        "B": { "C": [ { "D": "x", "E": true }, 2 ], "F": null },
        "G": 5.0,
    });
    for expected in [
        json!({}),
        json!({ "A": 1 }),
        json!({ "B": { "C": [ { "D": "x" }, 2 ] } }),
        json!({ "B": { "C": [ {}, 2 ] }, "G": 5 }),
    ] {
        assert_eq!(matches(&expected, &actual), Ok(()), "{expected}");
    }
}

#[test]
fn partial_matching_reports_where_it_differs() {
    let actual = json!({ "A": 1, "B": { "C": [ { "D": "x" }, 2 ] } });
    let cases = [
        (json!({ "A": 2 }), "/A: expected 2, got 1"),
        (json!({ "Z": 1 }), "/Z: missing"),
        (json!({ "B": { "C": [ { "D": "y" }, 2 ] } }), "/B/C/0/D:"),
        // Arrays match element-wise: neither a prefix nor a reordering matches.
        (
            json!({ "B": { "C": [ { "D": "x" } ] } }),
            "/B/C: expected 1 element(s)",
        ),
        (json!({ "B": { "C": [ 2, { "D": "x" } ] } }), "/B/C/0:"),
        (json!({ "A": "1" }), "/A: expected \"1\", got 1"),
        (json!([1]), "/: expected [1], got {"),
    ];
    for (expected, why) in cases {
        let err = matches(&expected, &actual).expect_err(&format!("{expected} must not match"));
        assert!(err.starts_with(why), "{expected}: {err}");
    }
}

#[test]
fn intrinsics_are_written_as_cloudformation_reads_them() {
    assert_eq!(reference("Api"), json!({ "Ref": "Api" }));
    assert_eq!(
        get_att("Api", "ApiEndpoint"),
        json!({ "Fn::GetAtt": ["Api", "ApiEndpoint"] })
    );
    assert_eq!(sub("${Api}/x"), json!({ "Fn::Sub": "${Api}/x" }));
}

#[test]
fn finders_select_by_type_and_properties() {
    let t = json!({ "Resources": {
        "Q1": { "Type": "AWS::SQS::Queue", "Properties": { "VisibilityTimeout": 60 } },
        "Q2": { "Type": "AWS::SQS::Queue", "Properties": {} },
        "F": { "Type": "AWS::Lambda::Function", "Properties": { "Timeout": 60 } },
    }});
    resource_count_is(&t, "AWS::SQS::Queue", 2);
    resource_count_is(&t, "AWS::SNS::Topic", 0);
    assert_eq!(
        type_counts(&t),
        BTreeMap::from([
            ("AWS::Lambda::Function".to_owned(), 1),
            ("AWS::SQS::Queue".to_owned(), 2)
        ])
    );
    fn ids<'a>(found: Vec<(&'a str, &'a Value)>) -> Vec<&'a str> {
        found.into_iter().map(|(id, _)| id).collect()
    }
    assert_eq!(ids(find_resources(&t, "AWS::SQS::Queue")), ["Q1", "Q2"]);
    assert_eq!(resources(&t).len(), 3);
    assert_eq!(
        ids(find_resources_like(
            &t,
            "AWS::SQS::Queue",
            &json!({ "VisibilityTimeout": 60 })
        )),
        ["Q1"]
    );
    has_resource_properties(&t, "AWS::SQS::Queue", &json!({ "VisibilityTimeout": 60 }));
    resource_has_properties(&t, "F", "AWS::Lambda::Function", &json!({ "Timeout": 60 }));
    let missing = std::panic::catch_unwind(|| {
        has_resource_properties(&t, "AWS::SQS::Queue", &json!({ "VisibilityTimeout": 30 }));
    });
    assert!(missing.is_err(), "a property no queue has must fail");
}
