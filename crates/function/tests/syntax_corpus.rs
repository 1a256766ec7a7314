//! The syntax check against a corpus of valid and broken snippets per checked language
//! (`tests/fixtures/syntax/<language>/*`), and property tests: no input makes the checker panic or
//! take more than a few milliseconds per KiB.
//!
//! Each snippet's first line is a comment saying what the check must find: `expect: ok`, or
//! `expect: error at line N` (the line of the first error, 1-based, counting that comment).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen_function::language::{LANGUAGES, Language, lookup};
use codegen_function::syntax::check;
use proptest::prelude::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/syntax")
}

#[derive(Debug)]
struct Snippet {
    path: PathBuf,
    language: &'static Language,
    code: String,
    /// `None`: must be ok; `Some(n)`: the first error is on line n.
    error_line: Option<u32>,
}

fn expectation(first_line: &str) -> Option<Option<u32>> {
    let rest = first_line
        .trim_start_matches(['#', '/'])
        .trim()
        .strip_prefix("expect: ")?;
    if rest == "ok" {
        return Some(None);
    }
    rest.strip_prefix("error at line ")?.parse().ok().map(Some)
}

fn corpus() -> Vec<Snippet> {
    let mut snippets = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/fixtures/syntax exists")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let language = lookup(name).unwrap_or_else(|| panic!("{name} is not a language"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("language dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for path in files {
            let code = std::fs::read_to_string(&path).expect("utf-8 snippet");
            let first = code.lines().next().unwrap_or_default();
            let error_line = expectation(first)
                .unwrap_or_else(|| panic!("{}: first line must say `expect: ...`", path.display()));
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            assert_eq!(
                stem.starts_with("valid-"),
                error_line.is_none(),
                "{}: valid-* files expect ok, broken-* files an error",
                path.display()
            );
            assert_eq!(
                path.extension().and_then(|e| e.to_str()),
                Some(language.extension),
                "{}",
                path.display()
            );
            snippets.push(Snippet {
                path,
                language,
                code,
                error_line,
            });
        }
    }
    snippets
}

#[test]
fn every_checked_language_has_valid_and_broken_snippets() {
    let snippets = corpus();
    for l in LANGUAGES.iter().filter(|l| l.grammar.is_some()) {
        let valid = snippets
            .iter()
            .filter(|s| s.language == l && s.error_line.is_none())
            .count();
        let broken = snippets
            .iter()
            .filter(|s| s.language == l && s.error_line.is_some())
            .count();
        assert!(
            valid >= 2 && broken >= 3,
            "{}: {valid} valid, {broken} broken",
            l.name
        );
    }
}

#[test]
fn the_corpus_gets_the_expected_verdict_and_first_error_line() {
    let mut failures = Vec::new();
    for s in corpus() {
        let c = check(&s.code, s.language);
        let first = c.first_error().map(|e| (e.line, e.message.clone()));
        let got_ok = c.is_ok();
        let right = match s.error_line {
            None => got_ok,
            Some(line) => {
                c.has_errors()
                    && first.as_ref().is_some_and(|(l, _)| *l == line)
                    && c.errors
                        .iter()
                        .flatten()
                        .all(|e| e.column >= 1 && !e.message.is_empty())
            }
        };
        if !right {
            failures.push(format!(
                "{}: expected {:?}, got ok={got_ok} first={first:?}",
                s.path.display(),
                s.error_line
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_cut_answer_is_never_ok() {
    // Every valid snippet cut in the middle of a line (as a reply cut at max_tokens is) fails, for
    // a cut inside a bracket or block; the check is not fooled by error recovery.
    for s in corpus().iter().filter(|s| s.error_line.is_none()) {
        let Some(open) = s.code.find('{').or_else(|| s.code.find('(')) else {
            continue;
        };
        let cut = &s.code[..=open];
        let c = check(cut, s.language);
        assert!(
            c.has_errors(),
            "{} cut after byte {open}: {c:?}",
            s.path.display()
        );
    }
}

/// The time the property tests allow: a few milliseconds per KiB (4 ms per KiB, and 20 ms for the
/// fixed cost of a parser and a tree), in this debug test build with the C parsers optimised. The
/// checker's own parse budget (`syntax::parse_budget`, 10 ms + 3 ms per KiB) enforces it; valid
/// code parses at about 0.1-0.25 ms per KiB.
fn allowed(bytes: usize) -> Duration {
    Duration::from_millis(20 + 4 * u64::try_from(bytes.div_ceil(1024)).unwrap_or(u64::MAX))
}

/// Times the check of `code`, the best of three runs (a descheduled thread is not the checker's
/// time).
fn timed(code: &str, language: &Language) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let _ = check(code, language);
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Text likely to drive parsers into error recovery: brackets, quotes, operators, keywords.
fn codeish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("`".to_owned()),
        Just("/*".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just(";".to_owned()),
        Just(":".to_owned()),
        Just("\n".to_owned()),
        Just("    ".to_owned()),
        Just("def ".to_owned()),
        Just("fn ".to_owned()),
        Just("class ".to_owned()),
        Just("if ".to_owned()),
        Just("template<".to_owned()),
        Just("#define ".to_owned()),
        "[a-z_]{1,6}",
        "[0-9.]{1,4}",
        "[=+*&|!-]{1,2}",
    ];
    prop::collection::vec(token, 0..400).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_and_stays_within_the_time_bound(
        text in prop_oneof![any::<String>(), codeish()],
        idx in 0..LANGUAGES.len(),
    ) {
        let language = &LANGUAGES[idx];
        let took = timed(&text, language);
        let c = check(&text, language);
        prop_assert!(took <= allowed(text.len()), "{} bytes of {} took {took:?}", text.len(), language.name);
        if language.grammar.is_some() {
            prop_assert!(c.checked || c.reason.as_deref().is_some_and(|r| r.contains("budget")), "{:?}", c.reason);
            prop_assert_eq!(c.ok == Some(true), c.count() == 0);
            for e in c.errors.iter().flatten() {
                prop_assert!(e.line >= 1 && e.column >= 1);
                prop_assert!(e.line as usize <= text.lines().count().max(1) + 1);
            }
        } else {
            prop_assert!(!c.checked);
        }
    }

    #[test]
    fn mutated_corpus_snippets_never_panic_and_stay_within_the_time_bound(
        idx in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in codeish(),
        delete in 0usize..40,
        repeat in 1usize..12,
    ) {
        let snippets = corpus();
        let s = idx.get(&snippets);
        // Cut, insert, and repeat a valid or broken snippet: realistic code, broken anywhere,
        // up to ~20 KiB (a long answer).
        let mut cut = at.index(s.code.len() + 1);
        while !s.code.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut end = (cut + delete).min(s.code.len());
        while !s.code.is_char_boundary(end) {
            end -= 1;
        }
        let one = format!("{}{insert}{}", &s.code[..cut], &s.code[end..]);
        let text = one.repeat(repeat);
        let took = timed(&text, s.language);
        let c = check(&text, s.language);
        // A verdict, or "not checked" only because the parser's budget ran out (never a guess).
        prop_assert!(c.checked || c.reason.as_deref().is_some_and(|r| r.contains("budget")), "{:?}", c.reason);
        prop_assert!(took <= allowed(text.len()), "{} bytes of {} took {took:?}", text.len(), s.language.name);
    }
}

#[test]
fn pathological_nesting_is_bounded() {
    // Deep nesting and long unclosed runs: the parser's worst inputs.
    for (name, text) in [
        ("python", "(".repeat(20_000)),
        ("rust", "{".repeat(20_000)),
        ("cpp", "template<".repeat(5_000)),
        ("javascript", "[".repeat(20_000) + &"]".repeat(10_000)),
        ("c", "/*".repeat(10_000)),
        ("go", "func(".repeat(5_000)),
    ] {
        let language = lookup(name).expect("known");
        let took = timed(&text, language);
        let c = check(&text, language);
        assert!(
            took <= allowed(text.len()),
            "{name}: {} bytes took {took:?}",
            text.len()
        );
        // Either a verdict or a visible "not checked" with the reason; never a panic.
        assert!(c.checked || c.reason.is_some(), "{name}");
    }
}
