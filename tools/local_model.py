#!/usr/bin/env python3
"""The local stage's model: a canned answer that is code in the requested language.

ministack's Bedrock mock answers every Converse call with a line of text
("[ministack mock ...] reply for prompt#..."), which the function then reports as code that does
not parse: the first answer a newcomer sees would be a syntax warning. ministack forwards Converse
to an OpenAI-compatible server when MINISTACK_BEDROCK_PROXY_URL is set (and falls back to its mock
on any error); `cargo xtask` starts this server beside the emulator, in the emulator's process
group, and points the variable here.

It answers POST /v1/chat/completions with one fenced block in the language the function's prompt
names (the tag after "starts with ```" in the system prompt): a binary search that parses with the
function's tree-sitter grammars (crates/function/src/syntax.rs), under a comment saying it is the
local stage's canned answer. Token counts are the text's length / 4, like ministack's mock.
Standard library only; binds the loopback address given as its one argument.

Usage: python3 tools/local_model.py 127.0.0.1:PORT
"""
import hashlib
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTE = "local stage: canned answer (the emulator has no model)"

SNIPPETS = {
    "python": f'''# {NOTE}
def binary_search(items, target):
    """Index of target in the sorted list items, or -1."""
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


if __name__ == "__main__":
    print(binary_search([1, 3, 5, 7, 9], 7))
''',
    "javascript": f'''// {NOTE}
function binarySearch(items, target) {{
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {{
    const mid = Math.floor((lo + hi) / 2);
    if (items[mid] === target) return mid;
    if (items[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }}
  return -1;
}}

console.log(binarySearch([1, 3, 5, 7, 9], 7));
''',
    "typescript": f'''// {NOTE}
function binarySearch(items: number[], target: number): number {{
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {{
    const mid = Math.floor((lo + hi) / 2);
    if (items[mid] === target) return mid;
    if (items[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }}
  return -1;
}}

console.log(binarySearch([1, 3, 5, 7, 9], 7));
''',
    "rust": f'''// {NOTE}
fn binary_search(items: &[i32], target: i32) -> Option<usize> {{
    let (mut lo, mut hi) = (0, items.len());
    while lo < hi {{
        let mid = lo + (hi - lo) / 2;
        match items[mid].cmp(&target) {{
            std::cmp::Ordering::Equal => return Some(mid),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }}
    }}
    None
}}

fn main() {{
    println!("{{:?}}", binary_search(&[1, 3, 5, 7, 9], 7));
}}
''',
    "go": f'''// {NOTE}
package main

import "fmt"

func binarySearch(items []int, target int) int {{
	lo, hi := 0, len(items)-1
	for lo <= hi {{
		mid := (lo + hi) / 2
		switch {{
		case items[mid] == target:
			return mid
		case items[mid] < target:
			lo = mid + 1
		default:
			hi = mid - 1
		}}
	}}
	return -1
}}

func main() {{
	fmt.Println(binarySearch([]int{{1, 3, 5, 7, 9}}, 7))
}}
''',
    "java": f'''// {NOTE}
public class Main {{
    static int binarySearch(int[] items, int target) {{
        int lo = 0, hi = items.length - 1;
        while (lo <= hi) {{
            int mid = (lo + hi) >>> 1;
            if (items[mid] == target) return mid;
            if (items[mid] < target) lo = mid + 1;
            else hi = mid - 1;
        }}
        return -1;
    }}

    public static void main(String[] args) {{
        System.out.println(binarySearch(new int[] {{1, 3, 5, 7, 9}}, 7));
    }}
}}
''',
    "c": f'''/* {NOTE} */
#include <stdio.h>

int binary_search(const int *items, int n, int target) {{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {{
        int mid = lo + (hi - lo) / 2;
        if (items[mid] == target) return mid;
        if (items[mid] < target) lo = mid + 1;
        else hi = mid - 1;
    }}
    return -1;
}}

int main(void) {{
    int items[] = {{1, 3, 5, 7, 9}};
    printf("%d\\n", binary_search(items, 5, 7));
    return 0;
}}
''',
    "cpp": f'''// {NOTE}
#include <iostream>
#include <vector>

int binary_search(const std::vector<int>& items, int target) {{
    int lo = 0, hi = static_cast<int>(items.size()) - 1;
    while (lo <= hi) {{
        int mid = lo + (hi - lo) / 2;
        if (items[mid] == target) return mid;
        if (items[mid] < target) lo = mid + 1;
        else hi = mid - 1;
    }}
    return -1;
}}

int main() {{
    std::cout << binary_search({{1, 3, 5, 7, 9}}, 7) << std::endl;
    return 0;
}}
''',
}

TAG = re.compile(r"starts with ```(\S+) and")


def answer(messages):
    """The assistant's reply for an OpenAI-style message list."""
    system = " ".join(m.get("content", "") for m in messages if m.get("role") == "system")
    match = TAG.search(system if isinstance(system, str) else "")
    tag = match.group(1) if match else ""
    # Languages without a grammar here are not syntax-checked: one comment line is enough.
    comment = {"ruby": "#", "rb": "#", "r": "#", "perl": "#", "pl": "#", "lua": "--"}.get(tag, "//")
    code = SNIPPETS.get(tag, f"{comment} {NOTE}\n")
    # Like ministack's mock, the reply names a hash of the prompt, so a changed prompt (the watch
    # test edits it) gives a changed answer; hex digits are safe in every language's comment.
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8]
    code = code.replace(NOTE, f"{NOTE}, prompt {digest}", 1)
    return f"```{tag}\n{code}```"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            messages = request.get("messages", [])
            text = answer(messages)
        except (ValueError, AttributeError, TypeError):
            self.send_error(400)
            return
        prompt = "".join(str(m.get("content", "")) for m in messages)
        body = json.dumps(
            {
                "id": "local-model",
                "object": "chat.completion",
                "model": request.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": max(1, len(prompt) // 4),
                    "completion_tokens": max(1, len(text) // 4),
                },
            }
        ).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        sys.stderr.write("local_model: " + (format % args) + "\n")


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("local_model.py: loopback only")
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
