//! The supported languages: one table with each language's canonical name, the aliases callers
//! may use, the file extension and S3 content type of stored code, the markdown fence tags a
//! model may use for it, and the tree-sitter grammar that checks its syntax, if one is compiled
//! in. Pure: no IO.

use std::fmt;

/// A tree-sitter grammar compiled into the function (docs/languages.md lists each one's crate
/// and what it adds to the package).
#[derive(Clone, Copy)]
pub struct Grammar {
    /// The crate it comes from.
    pub crate_name: &'static str,
    /// The grammar itself.
    pub language: tree_sitter_language::LanguageFn,
}

impl Grammar {
    /// The grammar as the tree-sitter runtime takes it.
    pub fn tree_sitter(&self) -> tree_sitter::Language {
        self.language.into()
    }
}

impl fmt::Debug for Grammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grammar")
            .field("crate_name", &self.crate_name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Grammar {
    fn eq(&self, other: &Self) -> bool {
        self.crate_name == other.crate_name
    }
}

impl Eq for Grammar {}

/// One supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// Canonical name, reported in responses and S3 metadata.
    pub name: &'static str,
    /// Human name used in the prompt.
    pub display: &'static str,
    /// Other names callers may send (matched case-insensitively, like `name`).
    pub aliases: &'static [&'static str],
    /// File extension of the stored object, without the dot.
    pub extension: &'static str,
    /// Content type of the stored object.
    pub content_type: &'static str,
    /// Markdown fence info strings that mark a block in this language (lowercase); the first is
    /// the one the prompt asks for.
    pub fence_tags: &'static [&'static str],
    /// The grammar the syntax check parses it with; `None`: not checked (`{"checked": false}`).
    pub grammar: Option<Grammar>,
}

macro_rules! lang {
    ($name:literal, $display:literal, [$($alias:literal),*], $ext:literal, $ct:literal, [$($tag:literal),+] $(, $krate:literal => $grammar:expr)?) => {
        Language {
            name: $name,
            display: $display,
            aliases: &[$($alias),*],
            extension: $ext,
            content_type: concat!($ct, "; charset=utf-8"),
            fence_tags: &[$($tag),+],
            grammar: grammar!($($krate => $grammar)?),
        }
    };
}

macro_rules! grammar {
    () => {
        None
    };
    ($krate:literal => $grammar:expr) => {
        Some(Grammar {
            crate_name: $krate,
            language: $grammar,
        })
    };
}

/// Every supported language.
pub const LANGUAGES: &[Language] = &[
    lang!(
        "python",
        "Python 3",
        ["py", "python3", "py3"],
        "py",
        "text/x-python",
        ["python", "py", "python3"],
        "tree-sitter-python" => tree_sitter_python::LANGUAGE
    ),
    lang!(
        "javascript",
        "JavaScript (Node.js)",
        ["js", "node", "nodejs", "node.js", "ecmascript"],
        "js",
        "text/javascript",
        ["javascript", "js", "node", "jsx", "mjs"],
        "tree-sitter-javascript" => tree_sitter_javascript::LANGUAGE
    ),
    lang!(
        "typescript",
        "TypeScript",
        ["ts"],
        "ts",
        "text/x-typescript",
        ["typescript", "ts", "tsx"],
        // The `.ts` grammar: stored objects are `.ts`, where JSX is not valid.
        "tree-sitter-typescript" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT
    ),
    lang!(
        "cpp",
        "C++",
        ["c++", "cxx", "cplusplus"],
        "cpp",
        "text/x-c++src",
        ["cpp", "c++", "cxx", "cc", "hpp"],
        "tree-sitter-cpp" => tree_sitter_cpp::LANGUAGE
    ),
    lang!(
        "c",
        "C",
        [],
        "c",
        "text/x-csrc",
        ["c", "h"],
        "tree-sitter-c" => tree_sitter_c::LANGUAGE
    ),
    lang!(
        "go",
        "Go",
        ["golang"],
        "go",
        "text/x-go",
        ["go", "golang"],
        "tree-sitter-go" => tree_sitter_go::LANGUAGE
    ),
    lang!(
        "rust",
        "Rust",
        ["rs"],
        "rs",
        "text/x-rust",
        ["rust", "rs"],
        "tree-sitter-rust" => tree_sitter_rust::LANGUAGE
    ),
    lang!(
        "java",
        "Java",
        [],
        "java",
        "text/x-java",
        ["java"],
        "tree-sitter-java" => tree_sitter_java::LANGUAGE
    ),
    lang!(
        "kotlin",
        "Kotlin",
        ["kt", "kts"],
        "kt",
        "text/x-kotlin",
        ["kotlin", "kt", "kts"]
    ),
    lang!(
        "csharp",
        "C#",
        ["c#", "cs", "c-sharp", "dotnet"],
        "cs",
        "text/x-csharp",
        ["csharp", "cs", "c#"]
    ),
    lang!("ruby", "Ruby", ["rb"], "rb", "text/x-ruby", ["ruby", "rb"]),
    lang!("php", "PHP", [], "php", "text/x-php", ["php"]),
    lang!("swift", "Swift", [], "swift", "text/x-swift", ["swift"]),
    lang!("scala", "Scala", [], "scala", "text/x-scala", ["scala"]),
    lang!(
        "bash",
        "Bash",
        ["sh", "shell", "zsh"],
        "sh",
        "text/x-shellscript",
        ["bash", "sh", "shell", "zsh"]
    ),
    lang!(
        "sql",
        "SQL",
        ["postgresql", "mysql"],
        "sql",
        "application/sql",
        ["sql", "postgresql", "mysql", "plsql"]
    ),
    lang!("r", "R", ["rlang"], "r", "text/x-r", ["r"]),
    lang!("lua", "Lua", [], "lua", "text/x-lua", ["lua"]),
    lang!(
        "haskell",
        "Haskell",
        ["hs"],
        "hs",
        "text/x-haskell",
        ["haskell", "hs"]
    ),
    lang!("dart", "Dart", [], "dart", "text/x-dart", ["dart"]),
    lang!("perl", "Perl", ["pl"], "pl", "text/x-perl", ["perl", "pl"]),
    lang!(
        "elixir",
        "Elixir",
        ["ex", "exs"],
        "ex",
        "text/x-elixir",
        ["elixir", "ex", "exs"]
    ),
    lang!(
        "julia",
        "Julia",
        ["jl"],
        "jl",
        "text/x-julia",
        ["julia", "jl"]
    ),
    lang!(
        "powershell",
        "PowerShell",
        ["ps1", "pwsh"],
        "ps1",
        "text/x-powershell",
        ["powershell", "ps1", "pwsh"]
    ),
];

/// Finds a language by canonical name or alias, ignoring case and surrounding whitespace.
pub fn lookup(name: &str) -> Option<&'static Language> {
    let wanted = name.trim().to_lowercase();
    LANGUAGES
        .iter()
        .find(|l| l.name == wanted || l.aliases.contains(&wanted.as_str()))
}

/// The canonical names, comma-separated, for error messages.
pub fn supported_list() -> String {
    LANGUAGES
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Language {
    /// Whether a fence info string (`python`, `Python title="x.py"`, `{.rust}`) marks this
    /// language.
    pub fn matches_fence_tag(&self, info: &str) -> bool {
        let tag = info
            .split(|c: char| c.is_whitespace() || c == ',')
            .next()
            .unwrap_or_default()
            .trim_matches(|c| c == '{' || c == '}' || c == '.')
            .to_lowercase();
        !tag.is_empty() && self.fence_tags.contains(&tag.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn name_of(s: &str) -> Option<&'static str> {
        lookup(s).map(|l| l.name)
    }

    #[test]
    fn aliases_resolve_case_insensitively() {
        let cases = [
            ("py", "python"),
            ("Python3", "python"),
            ("PYTHON", "python"),
            ("js", "javascript"),
            ("JavaScript", "javascript"),
            ("node", "javascript"),
            ("ts", "typescript"),
            ("TypeScript", "typescript"),
            ("c++", "cpp"),
            ("CPP", "cpp"),
            ("golang", "go"),
            ("Go", "go"),
            ("rs", "rust"),
            ("Rust", "rust"),
            ("java", "java"),
            ("kotlin", "kotlin"),
            ("kt", "kotlin"),
            ("C#", "csharp"),
            ("csharp", "csharp"),
            ("cs", "csharp"),
            ("c", "c"),
            ("C", "c"),
            ("ruby", "ruby"),
            ("rb", "ruby"),
            ("php", "php"),
            ("swift", "swift"),
            ("scala", "scala"),
            ("bash", "bash"),
            ("sh", "bash"),
            ("shell", "bash"),
            ("sql", "sql"),
            ("r", "r"),
            ("R", "r"),
            ("lua", "lua"),
            ("haskell", "haskell"),
            ("hs", "haskell"),
            ("dart", "dart"),
            ("perl", "perl"),
            ("  python  ", "python"),
        ];
        for (input, expected) in cases {
            assert_eq!(name_of(input), Some(expected), "{input}");
        }
    }

    #[test]
    fn unknown_languages_are_rejected() {
        for s in ["", " ", "cobol", "pythonn", "python 3", "../py", "py\0"] {
            assert_eq!(name_of(s), None, "{s:?}");
        }
    }

    #[test]
    fn extensions_and_content_types() {
        let expect = [
            ("python", "py", "text/x-python; charset=utf-8"),
            ("javascript", "js", "text/javascript; charset=utf-8"),
            ("typescript", "ts", "text/x-typescript; charset=utf-8"),
            ("cpp", "cpp", "text/x-c++src; charset=utf-8"),
            ("rust", "rs", "text/x-rust; charset=utf-8"),
            ("go", "go", "text/x-go; charset=utf-8"),
            ("csharp", "cs", "text/x-csharp; charset=utf-8"),
            ("bash", "sh", "text/x-shellscript; charset=utf-8"),
            ("sql", "sql", "application/sql; charset=utf-8"),
        ];
        for (name, ext, ct) in expect {
            let l = lookup(name).expect("known");
            assert_eq!((l.extension, l.content_type), (ext, ct), "{name}");
        }
    }

    #[test]
    fn table_is_consistent() {
        let mut names = BTreeSet::new();
        for l in LANGUAGES {
            // Every name and alias resolves to exactly this entry.
            for n in std::iter::once(&l.name).chain(l.aliases) {
                assert!(names.insert(*n), "{n} is listed twice");
                assert_eq!(n.to_lowercase(), *n, "{n} must be lowercase");
                assert_eq!(lookup(n), Some(l));
            }
            assert!(!l.fence_tags.is_empty());
            assert!(l.fence_tags.iter().all(|t| t.to_lowercase() == *t));
            assert!(
                l.extension
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
            assert!(l.content_type.ends_with("; charset=utf-8"));
        }
    }

    #[test]
    fn supported_list_names_every_language() {
        let list = supported_list();
        for l in LANGUAGES {
            assert!(list.split(", ").any(|n| n == l.name), "{}", l.name);
        }
    }

    #[test]
    fn the_checked_languages_have_loadable_grammars() {
        let checked: Vec<&str> = LANGUAGES
            .iter()
            .filter(|l| l.grammar.is_some())
            .map(|l| l.name)
            .collect();
        assert_eq!(
            checked,
            [
                "python",
                "javascript",
                "typescript",
                "cpp",
                "c",
                "go",
                "rust",
                "java"
            ]
        );
        for l in LANGUAGES {
            if let Some(g) = l.grammar {
                assert!(g.crate_name.starts_with("tree-sitter-"), "{}", l.name);
                let mut parser = tree_sitter::Parser::new();
                parser
                    .set_language(&g.tree_sitter())
                    .unwrap_or_else(|e| panic!("{}: {e}", l.name));
            }
        }
    }

    #[test]
    fn fence_tags_match_loosely() {
        let py = lookup("python").expect("known");
        assert!(py.matches_fence_tag("python"));
        assert!(py.matches_fence_tag("Python title=\"main.py\""));
        assert!(py.matches_fence_tag("{.py}"));
        assert!(!py.matches_fence_tag(""));
        assert!(!py.matches_fence_tag("bash"));
        assert!(lookup("cpp").expect("known").matches_fence_tag("c++"));
    }
}
