//! Who answers an approval question: [`Approver`]. The CLI asks on the terminal
//! ([`TerminalApprover`]: stdin must be a terminal, otherwise nobody can be asked and the change
//! stops); tests inject a [`ScriptedApprover`] with the answers they mean to check, so the approve
//! and the refuse paths run the same whether the suite runs from a terminal or not. IO: the
//! terminal approver reads stdin and writes the question to stderr; the scripted one none.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::Mutex;

/// The answer to an approval question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Go ahead.
    Approved,
    /// Do not.
    Refused,
    /// Nobody can be asked (no terminal): the change stops, and says how to approve it.
    CannotAsk,
}

/// Answers approval questions (`Sync`, so a deploy that holds one stays `Send`).
pub trait Approver: Sync {
    /// Asks `question` (a full sentence ending in a question mark).
    fn ask(&self, question: &str) -> anyhow::Result<Answer>;
}

/// Asks on the terminal: `[y/N]` on stderr, the answer from stdin. Without a terminal on stdin it
/// asks nothing and answers [`Answer::CannotAsk`]: a prompt never waits on a pipe in CI.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalApprover;

impl Approver for TerminalApprover {
    fn ask(&self, question: &str) -> anyhow::Result<Answer> {
        if !std::io::stdin().is_terminal() {
            return Ok(Answer::CannotAsk);
        }
        Ok(if crate::report::confirm(question)? {
            Answer::Approved
        } else {
            Answer::Refused
        })
    }
}

/// Answers from a script, in order, and records the questions (for tests). Asked once more than
/// scripted, it fails, so an unexpected question is an error rather than a silent answer.
#[derive(Debug, Default)]
pub struct ScriptedApprover {
    answers: Mutex<VecDeque<Answer>>,
    asked: Mutex<Vec<String>>,
}

impl ScriptedApprover {
    /// An approver that gives `answers`, one per question.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().collect()),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// The questions asked so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Approver for ScriptedApprover {
    fn ask(&self, question: &str) -> anyhow::Result<Answer> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(question.to_owned());
        }
        self.answers
            .lock()
            .ok()
            .and_then(|mut a| a.pop_front())
            .ok_or_else(|| anyhow::anyhow!("unexpected approval question: {question}"))
    }
}
