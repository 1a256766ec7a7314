//! The function's two kinds of failure: [`ApiError`], what the handler reports to the caller (a
//! contract [`ErrorCode`], which fixes the HTTP status, a message that says what to fix, and
//! optional HTTP hints), and [`ConfigError`], why an instance refuses to start. Pure: no IO.

use codegen_contract::ErrorCode;

/// An expected failure, answered as `Ok(4xx/5xx JSON)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// Stable error code; its status is the HTTP status.
    pub code: ErrorCode,
    /// What went wrong and what to do about it.
    pub message: String,
    /// Seconds for the `Retry-After` header (429 and 503).
    pub retry_after: Option<u32>,
    /// What model calls made before the failure cost, in micro-dollars (`None`: no model answer
    /// was received), so that a budget reservation settles to what was billed.
    pub spent_micro_usd: Option<u64>,
}

impl ApiError {
    /// An error without HTTP hints.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            spent_micro_usd: None,
        }
    }

    /// Records what the failed request's model calls cost.
    #[must_use]
    pub fn spent(mut self, micro_usd: Option<u64>) -> Self {
        self.spent_micro_usd = micro_usd;
        self
    }

    /// Adds a `Retry-After` hint.
    #[must_use]
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

/// Why the configuration could not be read. The function refuses to start on any of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is missing or empty.
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    /// A variable is set but its value is not usable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
}
