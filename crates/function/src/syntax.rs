//! The syntax check of extracted code: parse it with the language's tree-sitter grammar (the
//! language table's `grammar` column) and report every error-recovery node as a diagnostic with a
//! 1-based line and column and a message that names the construct. Pure: no IO.
//!
//! What counts as an error: tree-sitter never fails a parse, it recovers. A tree that contains an
//! `ERROR` node (input it had to skip) or a `MISSING` node (a token it had to invent, such as a
//! closing `)`) is code that does not parse, so the check is `ok: false` for both, however small
//! the recovery. Code with nothing to parse (empty, or only comments) is an error too, not "ok".
//!
//! Bounds: the parse is cancelled through tree-sitter's progress callback after
//! [`parse_budget`] (a few milliseconds per KiB), and input over [`MAX_CHECK_BYTES`] is not
//! parsed; both report `{"checked": false}` with the reason, never a guess. The tree is walked with
//! a cursor (no recursion), so deeply nested input cannot exhaust the stack.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use codegen_contract::{MAX_SYNTAX_ERRORS, SyntaxCheck, SyntaxError};
use tree_sitter::{Node, ParseOptions, Parser, Tree};

use crate::language::Language;

/// Largest input the check parses (a model answer of 8192 tokens is about 32 KiB).
pub const MAX_CHECK_BYTES: usize = 512 * 1024;
/// Longest piece of source quoted in a message.
const MAX_QUOTE_CHARS: usize = 24;

/// Time the parser may take for `bytes` of input once it has met a syntax error: 10 ms plus 3 ms
/// per KiB. Real code parses at about 0.1-0.25 ms per KiB (BENCHMARKS.md, "Syntax check"); the
/// budget stops adversarial input, on which tree-sitter's error recovery can take milliseconds
/// per KiB. Cancelling then is safe: the code does not parse, whatever the clock says.
pub fn parse_budget(bytes: usize) -> Duration {
    let kib = u64::try_from(bytes.div_ceil(1024)).unwrap_or(u64::MAX);
    Duration::from_millis(10_u64.saturating_add(kib.saturating_mul(3)))
}

/// Time the parser may take while it has met no error: 100 ms plus 10 ms per KiB, ten times the
/// error budget, so that code that does parse is not cut short by a busy or throttled CPU and then
/// reported unchecked. Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>), so the stages'
/// 512 MB functions get under a third of one.
pub fn clean_parse_budget(bytes: usize) -> Duration {
    let kib = u64::try_from(bytes.div_ceil(1024)).unwrap_or(u64::MAX);
    Duration::from_millis(100_u64.saturating_add(kib.saturating_mul(10)))
}

/// Checks `code` as `language`.
pub fn check(code: &str, language: &Language) -> SyntaxCheck {
    let _span = crate::trace::local("syntax check").entered();
    let Some(grammar) = language.grammar else {
        return SyntaxCheck::unchecked(format!(
            "no tree-sitter grammar for {} in this build",
            language.name
        ));
    };
    if code.trim().is_empty() {
        return SyntaxCheck::checked(
            1,
            vec![SyntaxError {
                line: 1,
                column: 1,
                message: "no code: the answer is empty".to_owned(),
            }],
        );
    }
    if code.len() > MAX_CHECK_BYTES {
        return SyntaxCheck::unchecked(format!(
            "the code is {} bytes, over the check's limit of {MAX_CHECK_BYTES}",
            code.len()
        ));
    }
    let mut parser = Parser::new();
    if let Err(e) = parser.set_language(&grammar.tree_sitter()) {
        // Only an ABI mismatch between the runtime and a grammar crate gets here (a unit test
        // loads every grammar of the table).
        return SyntaxCheck::unchecked(format!("{} did not load: {e}", grammar.crate_name));
    }
    let budget = parse_budget(code.len());
    match parse_within(&mut parser, code, budget, clean_parse_budget(code.len())) {
        Parsed::Tree(tree) => diagnose(&tree, code),
        // Every version of the parse stack was in error when the budget ran out (tree-sitter's
        // `has_error`): the code does not parse, and that much is certain.
        Parsed::GaveUp {
            had_error: true,
            at_byte,
        } => {
            let (line, column) = position_at(at_byte, code);
            SyntaxCheck::checked(
                1,
                vec![SyntaxError {
                    line,
                    column,
                    message: format!(
                        "too many syntax errors to list: the parser stopped here after {} ms",
                        budget.as_millis()
                    ),
                }],
            )
        }
        Parsed::GaveUp {
            had_error: false, ..
        } => SyntaxCheck::unchecked(format!(
            "the parser gave up after its budget of {} ms",
            clean_parse_budget(code.len()).as_millis()
        )),
    }
}

/// What a bounded parse gave.
enum Parsed {
    /// The whole tree.
    Tree(Tree),
    /// The budget ran out.
    GaveUp {
        /// Whether the parser had met an error by then.
        had_error: bool,
        /// How far it got.
        at_byte: usize,
    },
}

/// Parses `code`, cancelling when `error_budget` is spent after an error was met, or
/// `clean_budget` without one.
fn parse_within(
    parser: &mut Parser,
    code: &str,
    error_budget: Duration,
    clean_budget: Duration,
) -> Parsed {
    let started = Instant::now();
    let bytes = code.as_bytes();
    let mut had_error = false;
    let mut at_byte = 0;
    let mut progress = |state: &tree_sitter::ParseState| {
        had_error = state.has_error();
        at_byte = state.current_byte_offset();
        let budget = if had_error {
            error_budget
        } else {
            clean_budget
        };
        if started.elapsed() >= budget {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let tree = parser.parse_with_options(
        &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    );
    match tree {
        Some(tree) => Parsed::Tree(tree),
        None => Parsed::GaveUp { had_error, at_byte },
    }
}

/// The diagnostics of a parsed tree.
fn diagnose(tree: &Tree, code: &str) -> SyntaxCheck {
    let root = tree.root_node();
    let mut errors = Vec::new();
    let mut count: u32 = 0;
    if root.has_error() {
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            // An ERROR node that holds other ERROR or MISSING nodes is reported through them: they
            // are closer to the actual mistake than the region the parser gave up on.
            let is_problem = node.is_missing() || (node.is_error() && !has_nested_problem(node));
            if is_problem {
                count = count.saturating_add(1);
                if errors.len() < MAX_SYNTAX_ERRORS {
                    errors.push(describe(node, code));
                }
            }
            // Into a subtree only where an error is (a reported ERROR node is reported whole).
            if !is_problem && node.has_error() && cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        if count == 0 {
            // `has_error` without a node to show for it: still not ok.
            count = 1;
            errors.push(SyntaxError {
                line: 1,
                column: 1,
                message: "syntax error".to_owned(),
            });
        }
    } else if !has_code(root) {
        count = 1;
        errors.push(SyntaxError {
            line: 1,
            column: 1,
            message: "no code: only comments".to_owned(),
        });
    }
    errors.sort_by_key(|e| (e.line, e.column));
    SyntaxCheck::checked(count, errors)
}

/// Whether an ERROR node has an ERROR or MISSING node among its descendants.
fn has_nested_problem(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .any(|c| c.is_error() || c.is_missing() || c.has_error())
}

/// Whether the code has nothing but comments.
fn has_code(root: Node<'_>) -> bool {
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .any(|child| !child.kind().contains("comment"))
}

/// One diagnostic for an `ERROR` or `MISSING` node.
fn describe(node: Node<'_>, code: &str) -> SyntaxError {
    let end_of_code = code.trim_end().len();
    let context = node
        .parent()
        .filter(|p| p.parent().is_some() && !p.is_error())
        .map(|p| format!(" in {}", human(p.kind())))
        .unwrap_or_default();
    if node.is_missing() {
        let message = if node.is_named() {
            format!("missing {}{context}", human(node.kind()))
        } else {
            format!("missing `{}`{context}", node.kind())
        };
        // A token missing at the very end is reported where the code ends, not on a line past it.
        let (line, column) = position_at(node.start_byte().min(end_of_code), code);
        return SyntaxError {
            line,
            column,
            message,
        };
    }
    if node.end_byte() >= end_of_code {
        // The parser reached the end of the input inside this region: something was never
        // closed. Report it where the code ends, naming the innermost unclosed bracket.
        let (line, column) = position_at(end_of_code, code);
        let message = match unclosed_bracket(node, code) {
            Some((bracket, opened)) => format!(
                "unexpected end of input: `{bracket}` opened at line {opened} is not closed{context}"
            ),
            None => format!("unexpected end of input{context}"),
        };
        return SyntaxError {
            line,
            column,
            message,
        };
    }
    let (line, column) = position_at(node.start_byte(), code);
    let message = match (leaf_count(node), quote(node, code)) {
        (1, Some(token)) => format!("unexpected `{token}`{context}"),
        (_, Some(text)) => format!("cannot parse `{text}`{context}"),
        (_, None) => format!("syntax error{context}"),
    };
    SyntaxError {
        line,
        column,
        message,
    }
}

/// The innermost bracket among an ERROR node's own tokens that is never closed, and its line.
/// (Complete constructs inside the node are balanced; only its loose tokens can be open.)
fn unclosed_bracket(node: Node<'_>, code: &str) -> Option<(&'static str, u32)> {
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "{" => open.push(("{", child.start_byte())),
            "(" => open.push(("(", child.start_byte())),
            "[" => open.push(("[", child.start_byte())),
            closer @ ("}" | ")" | "]") => {
                let opener = match closer {
                    "}" => "{",
                    ")" => "(",
                    _ => "[",
                };
                if let Some(i) = open.iter().rposition(|(o, _)| *o == opener) {
                    open.truncate(i);
                }
            }
            _ => {}
        }
    }
    open.last()
        .map(|(bracket, byte)| (*bracket, position_at(*byte, code).0))
}

/// The number of tokens (leaves) under a node, counting up to 2.
fn leaf_count(node: Node<'_>) -> usize {
    if node.child_count() == 0 {
        return 1;
    }
    let mut cursor = node.walk();
    let mut leaves = 0;
    'walk: loop {
        if cursor.goto_first_child() {
            continue;
        }
        leaves += 1;
        if leaves >= 2 {
            return leaves;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == node {
                break 'walk;
            }
        }
    }
    leaves
}

/// 1-based line and column (in characters) of a byte offset.
fn position_at(byte: usize, code: &str) -> (u32, u32) {
    let mut byte = byte.min(code.len());
    while !code.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &code[..byte];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count();
    let to_u32 = |n: usize| u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
    (to_u32(line), to_u32(column))
}

/// The first line of a node's text, briefly, for a message.
fn quote(node: Node<'_>, code: &str) -> Option<String> {
    let text = code.get(node.start_byte()..node.end_byte())?;
    let first_line = text.lines().next().unwrap_or_default().trim();
    if first_line.is_empty() {
        return None;
    }
    let mut quoted: String = first_line.chars().take(MAX_QUOTE_CHARS).collect();
    if first_line.chars().count() > MAX_QUOTE_CHARS {
        quoted.push('…');
    }
    // A backtick inside the quote would end the markdown-style quoting early.
    Some(quoted.replace('`', "'"))
}

/// `function_definition` -> `function definition`.
fn human(kind: &str) -> String {
    kind.trim_start_matches('_').replace('_', " ")
}

/// The warning for code that did not parse: what language, how many errors, the first one.
pub fn warning(check: &SyntaxCheck, language: &Language) -> Option<String> {
    if !check.has_errors() {
        return None;
    }
    let count = check.count();
    let first = check
        .first_error()
        .map(|e| {
            format!(
                ", the first at line {}, column {}: {}",
                e.line, e.column, e.message
            )
        })
        .unwrap_or_default();
    Some(format!(
        "the code does not parse as {}: {count} syntax error{}{first}",
        language.display,
        if count == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::lookup;

    fn lang(name: &str) -> &'static Language {
        lookup(name).expect("known")
    }

    fn first(code: &str, language: &str) -> (u32, u32, String) {
        let c = check(code, lang(language));
        assert!(c.has_errors(), "{language}: {code:?} parsed: {c:?}");
        let e = c.first_error().expect("an error");
        (e.line, e.column, e.message.clone())
    }

    #[test]
    fn valid_code_is_ok() {
        for (language, code) in [
            ("python", "def f(x):\n    return x + 1\n"),
            ("rust", "fn main() {\n    println!(\"hi\");\n}\n"),
            ("go", "package main\n\nfunc main() {}\n"),
            ("javascript", "const f = (x) => x + 1;\n"),
            ("typescript", "const f = (x: number): number => x + 1;\n"),
            ("java", "class A { void f() {} }\n"),
            ("c", "int main(void) { return 0; }\n"),
            (
                "cpp",
                "#include <vector>\nint main() { std::vector<int> v; }\n",
            ),
        ] {
            let c = check(code, lang(language));
            assert!(c.is_ok(), "{language}: {c:?}");
            assert_eq!(c.errors, Some(vec![]));
        }
    }

    #[test]
    fn a_missing_token_is_named_with_its_construct() {
        let (line, column, message) = first("fn main() {\n    let x = (1 + 2;\n}\n", "rust");
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("missing `)`"), "{message}");
        assert!(column >= 13, "{column}");
        let (line, _, message) = first("int main(void) {\n  return 0;\n", "c");
        assert_eq!(
            (line, message.contains("missing `}`")),
            (2, true),
            "{message}"
        );
    }

    #[test]
    fn error_recovery_nodes_are_not_ok() {
        let (line, _, message) = first("def f(:\n    return 1\n", "python");
        assert_eq!(line, 1, "{message}");
        let (line, column, message) = first("x = 1\ny = = 2\n", "python");
        assert_eq!((line, column), (2, 5), "{message}");
        assert!(message.starts_with("unexpected `=`"), "{message}");
    }

    #[test]
    fn messages_name_what_the_parser_could_not_take() {
        let (line, _, message) = first(
            include_str!("../../../tests/fixtures/syntax/python/broken-def-colon.py"),
            "python",
        );
        assert_eq!(
            (line, message.as_str()),
            (3, "cannot parse `def hypotenuse(a, b)`")
        );
        let (_, _, message) = first(
            include_str!("../../../tests/fixtures/syntax/go/broken-stray.go"),
            "go",
        );
        assert_eq!(message, "unexpected `]` in binary expression");
        let (line, column, message) = first("const c = {\n  a: [1, 2,\n", "javascript");
        assert_eq!((line, column), (2, 12), "{message}");
        assert!(
            message.starts_with("unexpected end of input: `[` opened at line 2 is not closed"),
            "{message}"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let (line, column, message) = first("s = \"héllo\"; t = = 1\n", "python");
        assert_eq!((line, column), (1, 18), "{message}");
    }

    #[test]
    fn empty_or_comment_only_code_is_an_error() {
        for code in ["", "  \n\t\n"] {
            let c = check(code, lang("python"));
            assert!(c.has_errors(), "{code:?}");
            assert!(c.first_error().is_some_and(|e| e.message.contains("empty")));
        }
        let c = check("# just a comment\n", lang("python"));
        assert!(c.has_errors(), "{c:?}");
        let c = check("// a\n/* b */\n", lang("rust"));
        assert_eq!(
            c.first_error().map(|e| e.message.as_str()),
            Some("no code: only comments")
        );
    }

    #[test]
    fn languages_without_a_grammar_are_not_checked() {
        let c = check("fun main() {", lang("kotlin"));
        assert!(!c.checked && c.ok.is_none() && c.errors.is_none());
        assert!(c.reason.as_deref().is_some_and(|r| r.contains("kotlin")));
        let json = serde_json::to_value(&c).expect("json");
        assert_eq!(json["checked"], false);
    }

    #[test]
    fn the_error_list_is_bounded_and_the_count_is_not() {
        let code = "x = = 1\n".repeat(40);
        let c = check(&code, lang("python"));
        assert_eq!(c.errors.as_ref().map(Vec::len), Some(MAX_SYNTAX_ERRORS));
        assert!(c.count() >= 20, "{}", c.count());
        let lines: Vec<u32> = c.errors.iter().flatten().map(|e| e.line).collect();
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        assert_eq!(lines, sorted);
    }

    #[test]
    fn oversized_input_is_not_parsed() {
        let code = "x = 1\n".repeat(MAX_CHECK_BYTES / 6 + 1);
        let c = check(&code, lang("python"));
        assert!(!c.checked, "{:?}", c.reason);
    }

    #[test]
    fn the_warning_says_what_and_where() {
        let c = check("def f(:\n", lang("python"));
        let w = warning(&c, lang("python")).expect("a warning");
        assert!(
            w.starts_with(
                "the code does not parse as Python 3: 1 syntax error, the first at line 1"
            ),
            "{w}"
        );
        assert_eq!(
            warning(&check("x = 1\n", lang("python")), lang("python")),
            None
        );
        assert_eq!(warning(&check("x", lang("kotlin")), lang("kotlin")), None);
    }

    #[test]
    fn code_that_parses_gets_ten_times_the_error_budget() {
        for bytes in [0, 1024, 32 * 1024] {
            assert!(clean_parse_budget(bytes) >= parse_budget(bytes) * 3);
        }
        assert_eq!(clean_parse_budget(8 * 1024), Duration::from_millis(180));
    }

    #[test]
    fn the_budget_grows_with_the_input() {
        assert_eq!(parse_budget(0), Duration::from_millis(10));
        assert_eq!(parse_budget(1024), Duration::from_millis(13));
        assert_eq!(parse_budget(10 * 1024 + 1), Duration::from_millis(43));
    }
}
