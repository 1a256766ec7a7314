//! The stage file's `alarms:` section (every key optional); the alarms it configures are built in
//! `infra/src/alarms.rs`. Pure.

use serde::Deserialize;

use super::error::StageError;

/// The stage file's `alarms:` block. Every threshold has a default; an empty block (or none)
/// creates every alarm, notifying a topic with no subscription until `email` names one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmsConfig {
    /// Addresses subscribed to the stage's alarm topic (each confirms by email).
    pub email: Vec<String>,
    /// Notify this existing SNS topic instead of creating one (then `email` must be empty).
    pub topic_arn: Option<String>,
    /// Messages in the dead-letter queue that fire its alarm.
    pub dead_letter_messages: u32,
    /// Jobs failed for good in five minutes that fire the jobs alarm.
    pub jobs_failed: u32,
    /// Percent of API requests answered 5xx in five minutes that fires the API alarm.
    pub api_5xx_rate_percent: f64,
    /// Errors of one function in five minutes that fire its alarm.
    pub function_errors: u32,
    /// Throttles of one function in five minutes that fire its alarm.
    pub function_throttles: u32,
    /// Bedrock throttles of the stage's model in five minutes that fire its alarm.
    pub bedrock_throttles: u32,
    /// Output tokens in one hour (all routes of the stage's model) that fire the token alarm.
    pub output_tokens_per_hour: u64,
}

impl Default for AlarmsConfig {
    fn default() -> Self {
        Self {
            email: Vec::new(),
            topic_arn: None,
            dead_letter_messages: 1,
            jobs_failed: 1,
            api_5xx_rate_percent: 5.0,
            function_errors: 1,
            function_throttles: 1,
            bedrock_throttles: 1,
            output_tokens_per_hour: 2_000_000,
        }
    }
}

impl AlarmsConfig {
    /// Checks the block; `invalid` builds the error for a key.
    pub fn validate(
        &self,
        invalid: &impl Fn(&str, String) -> StageError,
    ) -> Result<(), StageError> {
        for e in &self.email {
            let ok = e.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && host.contains('.') && !e.contains(char::is_whitespace)
            });
            if !ok {
                return Err(invalid(
                    "alarms.email",
                    format!("`{e}` is not an email address"),
                ));
            }
        }
        if let Some(arn) = &self.topic_arn {
            if !(arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns")) {
                return Err(invalid(
                    "alarms.topic_arn",
                    format!(
                        "`{arn}` is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
                    ),
                ));
            }
            if !self.email.is_empty() {
                return Err(invalid(
                    "alarms.email",
                    "is set with alarms.topic_arn: subscribe the addresses to that topic instead"
                        .to_owned(),
                ));
            }
        }
        if !(self.api_5xx_rate_percent > 0.0 && self.api_5xx_rate_percent <= 100.0) {
            return Err(invalid(
                "alarms.api_5xx_rate_percent",
                format!(
                    "is {}: use a percentage above 0, at most 100",
                    self.api_5xx_rate_percent
                ),
            ));
        }
        for (key, value) in [
            (
                "alarms.dead_letter_messages",
                u64::from(self.dead_letter_messages),
            ),
            ("alarms.jobs_failed", u64::from(self.jobs_failed)),
            ("alarms.function_errors", u64::from(self.function_errors)),
            (
                "alarms.function_throttles",
                u64::from(self.function_throttles),
            ),
            (
                "alarms.bedrock_throttles",
                u64::from(self.bedrock_throttles),
            ),
            ("alarms.output_tokens_per_hour", self.output_tokens_per_hour),
        ] {
            if value == 0 {
                return Err(invalid(
                    key,
                    "is 0: an alarm at 0 would always fire; use 1 or more".to_owned(),
                ));
            }
        }
        Ok(())
    }
}
