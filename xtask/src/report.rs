//! How commands talk to people and pipelines: progress on stderr, results on stdout (human text
//! or `--json`), and distinct exit codes.

use std::io::Write;

/// Process exit codes: the one list, rendered into `--help` ([`Exit::help`]) and the command
/// reference (`docs/reference/commands.md`, written by `cargo xtask docs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked (for `diff`: there are no changes).
    Success = 0,
    /// The command failed; the error is on stderr.
    Failure = 1,
    /// Invalid command line (clap's own code).
    Usage = 2,
    /// `diff` found changes.
    ChangesPresent = 3,
    /// The change needs approval and there was neither a terminal nor `--yes`.
    NeedsApproval = 4,
}

impl Exit {
    /// Every exit code, in numeric order.
    pub const ALL: [Exit; 5] = [
        Self::Success,
        Self::Failure,
        Self::Usage,
        Self::ChangesPresent,
        Self::NeedsApproval,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// What the code means, as `--help` and the command reference say it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success (diff: no changes)",
            Self::Failure => "failure; the error is on stderr",
            Self::Usage => "invalid usage (clap)",
            Self::ChangesPresent => "diff found changes",
            Self::NeedsApproval => {
                "the change needs approval (IAM widening, an opened route, a changed trust \
                 policy, a removed or changed permissions boundary, a changed public access \
                 block or bucket policy, replacement or removal of a resource; for destroy, \
                 deletion) and neither a terminal nor --yes was there to give it"
            }
        }
    }

    /// The paragraph `--help` ends with: every code and its meaning.
    pub fn help() -> String {
        let codes: Vec<String> = Self::ALL
            .iter()
            .map(|e| format!("{} {}", e.code(), e.meaning()))
            .collect();
        format!("Exit codes: {}.", codes.join(", "))
    }
}

/// Writes a progress line to stderr. Progress never goes to stdout, so `--json` output stays
/// machine-readable.
pub(crate) fn progress(line: impl AsRef<str>) {
    let mut err = std::io::stderr().lock();
    // A closed stderr must not abort a deploy half-way.
    let _ = writeln!(err, "{}", line.as_ref());
}

/// Writes a result to stdout.
pub(crate) fn result(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.as_ref());
}

/// Writes a JSON document to stdout, as [`json_text`] writes it.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    result(json_text(value)?);
    Ok(())
}

/// The text `--json` prints for `value` (pretty JSON). Public so that the tests of the documented
/// shapes (`tests/tests/json_shapes.rs`) read exactly what the commands print.
pub fn json_text(value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// Asks `question` on stderr and reads a y/N answer from stdin (anything but `y`/`yes` is no).
/// Callers check for a terminal first: a prompt never appears without one.
pub(crate) fn confirm(question: &str) -> anyhow::Result<bool> {
    use anyhow::Context as _;
    use std::io::BufRead as _;
    progress(format!("{question} [y/N]"));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("failed to read the answer")?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
