//! Code extraction from a model reply: finds markdown fenced blocks (CommonMark rules: a fence is
//! three or more backticks or tildes, closed by a fence of the same character at least as long,
//! with no info string), prefers the block tagged with the requested language, else the largest
//! block, and falls back to the whole reply when there is no fence. Pure: no IO.

use crate::language::Language;

/// One fenced block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The info string after the opening fence (`python title="x.py"`), trimmed.
    pub info: String,
    /// The lines between the fences.
    pub body: String,
}

/// Extracts the code from `reply`, or `None` when nothing but whitespace remains. The result has
/// no leading or trailing blank lines and ends with exactly one newline.
pub fn extract_code(reply: &str, language: &Language) -> Option<String> {
    let blocks = fenced_blocks(reply);
    let chosen = if blocks.is_empty() {
        strip_inline_fence(reply.trim()).to_owned()
    } else {
        let tagged = blocks
            .iter()
            .filter(|b| language.matches_fence_tag(&b.info))
            .filter(|b| !b.body.trim().is_empty());
        let pick = largest(tagged).or_else(|| largest(blocks.iter()));
        pick.map(|b| b.body.clone()).unwrap_or_default()
    };
    tidy(&chosen)
}

/// The first block with the most non-whitespace content.
fn largest<'a>(blocks: impl Iterator<Item = &'a Block>) -> Option<&'a Block> {
    let mut best: Option<&Block> = None;
    for b in blocks {
        if best.is_none_or(|cur| b.body.trim().len() > cur.body.trim().len()) {
            best = Some(b);
        }
    }
    best
}

/// A reply that is a single-line fence (```` ```print(1)``` ````) or an inline code span.
fn strip_inline_fence(text: &str) -> &str {
    let n = text.chars().take_while(|&c| c == '`').count();
    if n == 0 || text.len() < 2 * n || !text.ends_with(&"`".repeat(n)) {
        return text;
    }
    let inner = &text[n..text.len() - n];
    // A language tag glued to the code ("```python print(1)```") stays: it cannot be told apart.
    inner.trim()
}

/// Every fenced block in `text`, in order. An unclosed fence runs to the end of the text (a
/// reply cut off at max_tokens).
pub fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((fence_char, fence_len, info)) = opening_fence(line) else {
            continue;
        };
        let mut body = Vec::new();
        for inner in lines.by_ref() {
            if is_closing_fence(inner, fence_char, fence_len) {
                break;
            }
            body.push(inner.strip_suffix('\r').unwrap_or(inner));
        }
        blocks.push(Block {
            info: info.to_owned(),
            body: body.join("\n"),
        });
    }
    blocks
}

fn fence_run(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let c = trimmed.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let len = trimmed.chars().take_while(|&x| x == c).count();
    (len >= 3).then(|| (c, len, &trimmed[len..]))
}

fn opening_fence(line: &str) -> Option<(char, usize, &str)> {
    let (c, len, rest) = fence_run(line)?;
    let info = rest.trim();
    // CommonMark: a backtick fence's info string may not contain backticks.
    if c == '`' && info.contains('`') {
        return None;
    }
    Some((c, len, info))
}

fn is_closing_fence(line: &str, fence_char: char, fence_len: usize) -> bool {
    matches!(fence_run(line), Some((c, len, rest)) if c == fence_char && len >= fence_len && rest.trim().is_empty())
}

/// Drops leading and trailing blank lines and trailing whitespace, keeps the indentation of the
/// first line, and ends with one newline.
fn tidy(code: &str) -> Option<String> {
    let lines: Vec<&str> = code.lines().map(str::trim_end).collect();
    let first = lines.iter().position(|l| !l.is_empty())?;
    let last = lines.iter().rposition(|l| !l.is_empty())?;
    let mut out = lines[first..=last].join("\n");
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::lookup;

    fn py(reply: &str) -> Option<String> {
        extract_code(reply, lookup("python").expect("known"))
    }

    #[test]
    fn strips_a_single_fence() {
        assert_eq!(
            py("```python\nprint('hi')\n```").as_deref(),
            Some("print('hi')\n")
        );
        assert_eq!(py("```\nx = 1\n```").as_deref(), Some("x = 1\n"));
        assert_eq!(py("~~~py\nx = 1\n~~~").as_deref(), Some("x = 1\n"));
    }

    #[test]
    fn strips_chatter_around_the_block() {
        let reply = "Sure! Here is the code you asked for:\n\n```python\ndef f():\n    return 1\n```\n\nThis function returns 1. Let me know if you need anything else.";
        assert_eq!(py(reply).as_deref(), Some("def f():\n    return 1\n"));
    }

    #[test]
    fn prefers_the_block_tagged_with_the_language() {
        let reply = "Install it:\n```bash\npip install requests requests-toolbelt and many more words\n```\nThen:\n```python\nimport requests\n```\n";
        assert_eq!(py(reply).as_deref(), Some("import requests\n"));
        // Tags match case-insensitively and through aliases.
        let reply = "```text\nlots of output here and here and here\n```\n```Py\nx = 2\n```";
        assert_eq!(py(reply).as_deref(), Some("x = 2\n"));
    }

    #[test]
    fn falls_back_to_the_largest_block() {
        let reply = "```\nsmall\n```\n```ruby\nputs 'this one is larger'\n```\n";
        assert_eq!(py(reply).as_deref(), Some("puts 'this one is larger'\n"));
        // Equal sizes: the first wins.
        let reply = "```\naaa\n```\n```\nbbb\n```";
        assert_eq!(py(reply).as_deref(), Some("aaa\n"));
    }

    #[test]
    fn largest_tagged_block_wins_among_several() {
        let reply = "```python\na = 1\n```\n```python\ndef main():\n    pass\n```";
        assert_eq!(py(reply).as_deref(), Some("def main():\n    pass\n"));
    }

    #[test]
    fn no_fence_takes_the_trimmed_text() {
        assert_eq!(py("  \n\nprint(1)\n  \n").as_deref(), Some("print(1)\n"));
        assert_eq!(py("```print(1)```").as_deref(), Some("print(1)\n"));
        assert_eq!(py("`x = 1`").as_deref(), Some("x = 1\n"));
    }

    #[test]
    fn nested_backticks_stay_inside_a_longer_fence() {
        let reply = "````markdown\n# Title\n```python\nprint(1)\n```\n````";
        let md = extract_code(reply, lookup("python").expect("known"));
        assert_eq!(md.as_deref(), Some("# Title\n```python\nprint(1)\n```\n"));
    }

    #[test]
    fn backticks_inside_code_do_not_close_the_block() {
        // A line starting with ``` that carries an info string is not a closing fence.
        let reply = "```python\ns = '''\n```bash\n'''\nprint(s)\n```";
        assert_eq!(
            py(reply).as_deref(),
            Some("s = '''\n```bash\n'''\nprint(s)\n")
        );
        // Inline backticks in code are kept.
        let reply = "```bash\necho `date`\n```";
        assert_eq!(
            extract_code(reply, lookup("bash").expect("known")).as_deref(),
            Some("echo `date`\n")
        );
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        assert_eq!(
            py("```python\ndef f():\n    return").as_deref(),
            Some("def f():\n    return\n")
        );
    }

    #[test]
    fn keeps_indentation_and_crlf_is_normalised() {
        assert_eq!(
            py("```python\r\n\r\n    indented()\r\n```\r\n").as_deref(),
            Some("    indented()\n")
        );
    }

    #[test]
    fn empty_results_are_none() {
        assert_eq!(py(""), None);
        assert_eq!(py("   \n\t"), None);
        assert_eq!(py("```python\n\n```"), None);
        assert_eq!(py("``````"), None);
    }
}
