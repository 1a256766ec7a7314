//! The synchronous route's request and answer (also a succeeded job's result): the code, where it
//! was stored, tokens, cost, the sampling sent, the syntax check and the repair.

use serde::{Deserialize, Serialize};

use crate::cost;

/// Whether the function asks the model once more when the code it returned does not parse (the
/// stage's `function.repair`, passed to the function as [`crate::env::REPAIR`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairMode {
    /// Never: code that does not parse is stored and returned with its diagnostics.
    #[default]
    Off,
    /// At most one follow-up model call with the diagnostics, when the route's time budget
    /// allows it; the version with fewer syntax errors is kept.
    Once,
}

impl RepairMode {
    /// Every mode.
    pub const ALL: [RepairMode; 2] = [Self::Off, Self::Once];

    /// The wire form (stage file, environment variable).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Once => "once",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Body of `PUT /code-generation`, as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// What to implement, in plain words.
    pub message: String,
    /// Target language (`python`, `rust`, `ts`, ...). `language` is accepted as an alias.
    #[serde(alias = "language")]
    pub key: String,
    /// Sampling temperature override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// top_k override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// top_p override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Max output tokens override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// Where the generated code was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key (always under [`OUTPUT_PREFIX`]).
    pub key: String,
    /// `s3://bucket/key`.
    pub uri: String,
}

/// Token usage reported by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// Sum of both.
    pub total_tokens: u32,
    /// Prompt tokens read from Bedrock's prompt cache (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u32,
    /// Prompt tokens written to Bedrock's prompt cache (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Usage {
    /// The usage of two calls together (saturating).
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
            cache_read_input_tokens: self
                .cache_read_input_tokens
                .saturating_add(other.cache_read_input_tokens),
            cache_write_input_tokens: self
                .cache_write_input_tokens
                .saturating_add(other.cache_write_input_tokens),
        }
    }
}

/// The sampling parameters actually sent to the model (`null`: not sent, the model's own default
/// applied). Which ones a model accepts is in [`crate::models::CATALOGUE`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentSampling {
    /// Temperature sent.
    pub temperature: Option<f64>,
    /// top_p sent.
    pub top_p: Option<f64>,
    /// top_k sent (as the additional model request field `top_k`).
    pub top_k: Option<u32>,
    /// max_tokens sent: the answer's budget plus [`thinking_tokens`](Self::thinking_tokens).
    pub max_tokens: u32,
    /// The thinking setting sent (`adaptive` or `disabled`; absent: none sent, the model's
    /// default applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// The effort sent (absent: none sent, the model's default applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// The part of `max_tokens` reserved for thinking on this route (absent: the model does not
    /// think here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_tokens: Option<u32>,
}

/// Longest list of syntax errors a response or an object's metadata carries (`error_count` has
/// the full count).
pub const MAX_SYNTAX_ERRORS: usize = 10;

/// The syntax check of the returned code: `{"checked": true, "ok": bool, "error_count": n,
/// "errors": [...]}` for a language with a grammar, `{"checked": false, "reason": "..."}`
/// otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxCheck {
    /// Whether the code was parsed at all.
    pub checked: bool,
    /// Checked: whether it parsed without any error or missing token. Absent when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// Checked: how many errors the parser found (`errors` lists at most
    /// [`MAX_SYNTAX_ERRORS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_count: Option<u32>,
    /// Checked: the first errors in source order (empty when `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<SyntaxError>>,
    /// Not checked: why (no grammar for the language, input too large, parser budget spent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SyntaxCheck {
    /// A check that was not made, and why.
    pub fn unchecked(reason: impl Into<String>) -> Self {
        Self {
            checked: false,
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// A check that was made; `error_count` is the full count, `errors` the first ones.
    pub fn checked(error_count: u32, mut errors: Vec<SyntaxError>) -> Self {
        errors.truncate(MAX_SYNTAX_ERRORS);
        Self {
            checked: true,
            ok: Some(error_count == 0),
            error_count: Some(error_count),
            errors: Some(errors),
            reason: None,
        }
    }

    /// Checked and found no error.
    pub fn is_ok(&self) -> bool {
        self.checked && self.ok == Some(true)
    }

    /// Checked and found errors.
    pub fn has_errors(&self) -> bool {
        self.checked && self.ok == Some(false)
    }

    /// The number of errors found (0 when not checked).
    pub fn count(&self) -> u32 {
        self.error_count.unwrap_or(0)
    }

    /// The first error, if any.
    pub fn first_error(&self) -> Option<&SyntaxError> {
        self.errors.as_ref().and_then(|e| e.first())
    }
}

/// One syntax error: where it is (1-based line, and column in characters) and what the parser
/// expected or did not expect there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxError {
    /// Line, from 1.
    pub line: u32,
    /// Column in Unicode characters, from 1.
    pub column: u32,
    /// What is wrong, naming the construct (`missing `)` in parameters`).
    pub message: String,
}

/// What the follow-up model call for code that did not parse did (present only when the first
/// answer did not parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairReport {
    /// The stage's repair setting.
    pub mode: RepairMode,
    /// Whether a follow-up model call was made.
    pub attempted: bool,
    /// Whether the returned (and stored) code is the follow-up's.
    pub applied: bool,
    /// Syntax errors of the first answer.
    pub errors_before: u32,
    /// Syntax errors of the follow-up's answer; absent when none was made or it gave no code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_after: Option<u32>,
    /// Tokens the follow-up call cost; already included in the response's `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why no follow-up was made, or why its answer was not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Successful answer (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateResponse {
    /// The generated code, without markdown fences or commentary.
    pub code: String,
    /// Canonical language name (e.g. `python`).
    pub language: String,
    /// Model id the code came from.
    pub model: String,
    /// Whether the code was written to S3. `false` only when S3 failed after generation.
    pub stored: bool,
    /// Where the code was stored; `None` when `stored` is `false`.
    pub s3: Option<S3Location>,
    /// Token usage, of every model call the answer took (a repair included).
    pub usage: Usage,
    /// What those calls cost, from `usage` and the catalogue's dated prices; absent only for a
    /// model the catalogue has no price for (a warning says so) and in records written before
    /// costs existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::Cost>,
    /// The syntax check of `code` (answers recorded before the check existed read as unchecked).
    #[serde(default)]
    pub syntax: SyntaxCheck,
    /// The repair of code that did not parse; absent when the first answer parsed or was not
    /// checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairReport>,
    /// The sampling parameters sent to the model; `warnings` says what was not sent and why.
    pub sampling: SentSampling,
    /// Lambda request id, also part of the S3 key and the logs.
    pub request_id: String,
    /// Non-fatal problems (e.g. why the code was not stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
