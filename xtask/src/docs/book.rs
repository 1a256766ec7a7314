//! Tests of the book itself, run without mdbook: every page exists and is in `SUMMARY.md`, every
//! relative link between pages points to a file (and a heading) that exists, and the API
//! reference's JSON examples are values of the contract types. Reads `docs/`.

use std::collections::BTreeSet;
use std::path::Path;

use codegen_contract::{
    ErrorCode, ErrorResponse, GenerateRequest, GenerateResponse, JobResponse, SubmitResponse,
};
use serde_json::Value;

/// mdBook's id for a heading: lowercase, spaces to `-`, only alphanumerics, `-` and `_` kept.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            !in_code
        })
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .map(|h| anchor(&h.replace('`', "")))
        .collect()
}

/// The targets of `[text](target)` links in markdown text, code blocks excluded.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    out
}

fn check_links(root: &Path, file: &Path, problems: &mut Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let dir = file.parent().unwrap_or(root);
    for link in links(&text) {
        if link.contains("://") || link.starts_with("mailto:") {
            continue;
        }
        let (path, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
        let target = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !target.exists() {
            problems.push(format!("{}: link to missing {link}", file.display()));
            continue;
        }
        if !fragment.is_empty() && target.extension().is_some_and(|e| e == "md") {
            let target_text = std::fs::read_to_string(&target).unwrap_or_default();
            if !anchors(&target_text).contains(fragment) {
                problems.push(format!(
                    "{}: no heading #{fragment} in {path}",
                    file.display()
                ));
            }
        }
    }
}

#[test]
fn summary_lists_every_page_and_links_resolve() {
    let root = crate::project_root();
    let docs = root.join("docs");
    let summary = std::fs::read_to_string(docs.join("SUMMARY.md")).expect("docs/SUMMARY.md");
    let listed: BTreeSet<String> = links(&summary).into_iter().collect();
    let mut problems = Vec::new();
    for page in &listed {
        if !docs.join(page).is_file() {
            problems.push(format!("SUMMARY.md lists missing {page}"));
        }
    }
    let mut pages = Vec::new();
    for dir in [docs.clone(), docs.join("reference")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    for page in &pages {
        let name = page
            .strip_prefix(&docs)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name != "SUMMARY.md" && !listed.contains(&name) {
            problems.push(format!("docs/{name} is not in SUMMARY.md"));
        }
        check_links(&root, page, &mut problems);
    }
    check_links(&root, &root.join("README.md"), &mut problems);
    assert!(
        problems.is_empty(),
        "the book:\n  {}",
        problems.join("\n  ")
    );
}

/// The JSON examples of the API reference page (`docs/api.md`), each after a marker comment
/// `<!-- example: Type -->`, are values of that contract type: they parse, and serialise back
/// to the same JSON (a misspelt or unknown field would be dropped and differ).
#[test]
fn api_reference_examples_are_contract_values() {
    let path = crate::project_root().join("docs/api.md");
    let text = std::fs::read_to_string(&path).expect("docs/api.md");
    let mut checked = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(kind) = line
            .trim()
            .strip_prefix("<!-- example: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut body = String::new();
        let mut in_block = false;
        for l in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                if in_block {
                    break;
                }
                in_block = true;
            } else if in_block {
                body.push_str(l);
                body.push('\n');
            }
        }
        let value: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("docs/api.md: the {kind} example is not JSON: {e}"));
        let back = match kind {
            "GenerateRequest" => round_trip::<GenerateRequest>(&value),
            "GenerateResponse" => round_trip::<GenerateResponse>(&value),
            "ErrorResponse" => round_trip::<ErrorResponse>(&value),
            "SubmitResponse" => round_trip::<SubmitResponse>(&value),
            "JobResponse" => round_trip::<JobResponse>(&value),
            other => panic!("docs/api.md: unknown example type {other}"),
        };
        assert_eq!(
            back, value,
            "docs/api.md: the {kind} example is not a {kind}"
        );
        if kind == "ErrorResponse" {
            let code = value["error"]["code"].as_str().unwrap_or_default();
            assert!(ErrorCode::parse(code).is_some(), "unknown code {code}");
        }
        checked += 1;
    }
    assert!(checked >= 5, "docs/api.md has {checked} marked examples");
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("does not parse as the contract type: {e}"));
    serde_json::to_value(&typed).unwrap_or(Value::Null)
}
