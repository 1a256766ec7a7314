//! The error-code table (`docs/reference/error-codes.md`): every contract `ErrorCode` with its
//! status, the routes that answer it and what it means to a caller. Pure.

use codegen_contract::ErrorCode;

use super::markdown::{GENERATED_NOTE, cell};

/// What each error code means to a caller, and what to do about it. An exhaustive match: a new
/// code does not compile until it is documented here.
pub fn error_meaning(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidJson => "The body is not valid JSON, or not a JSON object.",
        ErrorCode::InvalidEncoding => "The body is not valid UTF-8, or not valid base64.",
        ErrorCode::MissingMessage => "`message` is missing.",
        ErrorCode::InvalidMessage => {
            "`message` is empty, not a string, or contains forbidden characters."
        }
        ErrorCode::MessageTooLarge => {
            "`message` is longer than the stage's `function.max_message_bytes`."
        }
        ErrorCode::MissingLanguage => "`key` (or its alias `language`) is missing.",
        ErrorCode::UnsupportedLanguage => {
            "`key` names no supported language (the message lists them)."
        }
        ErrorCode::InvalidParameter => {
            "A sampling or limit parameter is out of range or of the wrong type (also \
             `max_tokens` above the model's own limit, and a malformed `Idempotency-Key`)."
        }
        ErrorCode::UnknownField => "The body has a field the API does not know (named).",
        ErrorCode::MissingBody => "There is no body.",
        ErrorCode::PayloadTooLarge => "The body is over 64 KiB.",
        ErrorCode::UnsupportedMediaType => "The content type is not `application/json`.",
        ErrorCode::MethodNotAllowed => "Wrong method on the route (`Allow` names the right one).",
        ErrorCode::NotFound => "No such route.",
        ErrorCode::Throttled => {
            "Bedrock throttled the call after 3 attempts, or a quota is exhausted: retry after \
             `Retry-After` (5 s)."
        }
        ErrorCode::ModelUnavailable => {
            "Bedrock is unavailable, overloaded or the model not ready (`Retry-After: 10`), or the \
             account's Marketplace subscription to the model is still being created \
             (`Retry-After: 60`)."
        }
        ErrorCode::ModelAccess => {
            "The account may not use the model (use-case form or subscription missing, or the \
             model id is wrong); the message says which steps are missing."
        }
        ErrorCode::ModelError => "Bedrock returned an error that is not the caller's fault.",
        ErrorCode::ModelTimeout => {
            "No answer within the model budget (25 s on the synchronous route): use the jobs \
             route for long generations."
        }
        ErrorCode::EmptyGeneration => "The model answered without any code.",
        ErrorCode::ModelRefused => {
            "The model declined (stop reason `refusal`, a content filter or a guardrail): \
             rephrase; retrying the same request does not help."
        }
        ErrorCode::ThinkingExhausted => {
            "A thinking model stopped at `max_tokens` before writing code: raise the stage's \
             thinking reservation or lower its effort (the message names both)."
        }
        ErrorCode::InvalidJobId => "The job id is not 32 lowercase hex digits.",
        ErrorCode::JobNotFound => {
            "No such job for this caller (never existed, another principal's, or expired)."
        }
        ErrorCode::IdempotencyConflict => {
            "The `Idempotency-Key` was used before with a different body."
        }
        ErrorCode::JobsUnavailable => {
            "The job could not be recorded or queued (S3 or SQS unavailable): retry after \
             `Retry-After` with the same `Idempotency-Key`."
        }
        ErrorCode::UnidentifiedCaller => {
            "The request's IAM identity is missing or of a kind that cannot own jobs \
             (docs/principals.md)."
        }
        ErrorCode::QuotaExceeded => {
            "The caller's budget for the UTC day (or the request's ceiling) would be exceeded; no \
             model call was made: retry after `Retry-After` (the next UTC midnight), or ask for a \
             higher override (docs/cost.md)."
        }
        ErrorCode::TooManyJobs => {
            "The caller already has as many jobs queued or running as the stage allows \
             (`quotas.max_jobs_per_caller`): retry after `Retry-After` or when one finishes."
        }
        ErrorCode::BudgetUnavailable => {
            "The budget store could not be reached, so no model call was made: retry after \
             `Retry-After`."
        }
        ErrorCode::Internal => "A bug or misconfiguration in the function.",
    }
}

/// Which routes answer a code: `S` the synchronous route, `J` job submission, `G` job status.
/// Exhaustive, as [`error_meaning`].
pub(super) fn error_routes(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidJson
        | ErrorCode::InvalidEncoding
        | ErrorCode::MissingMessage
        | ErrorCode::InvalidMessage
        | ErrorCode::MessageTooLarge
        | ErrorCode::MissingLanguage
        | ErrorCode::UnsupportedLanguage
        | ErrorCode::InvalidParameter
        | ErrorCode::UnknownField
        | ErrorCode::MissingBody
        | ErrorCode::PayloadTooLarge
        | ErrorCode::UnsupportedMediaType => "S J",
        ErrorCode::MethodNotAllowed | ErrorCode::NotFound | ErrorCode::Internal => "S J G",
        ErrorCode::Throttled
        | ErrorCode::ModelUnavailable
        | ErrorCode::ModelAccess
        | ErrorCode::ModelError
        | ErrorCode::ModelTimeout
        | ErrorCode::EmptyGeneration
        | ErrorCode::ModelRefused
        | ErrorCode::ThinkingExhausted => "S, and a failed job's `error`",
        ErrorCode::InvalidJobId | ErrorCode::JobNotFound => "G",
        ErrorCode::IdempotencyConflict => "J",
        ErrorCode::JobsUnavailable | ErrorCode::UnidentifiedCaller => "J G",
        ErrorCode::QuotaExceeded | ErrorCode::BudgetUnavailable => "S J",
        ErrorCode::TooManyJobs => "J",
    }
}

/// The error-code table: every `ErrorCode` with its HTTP status, the routes that answer it and
/// what it means.
pub fn error_codes() -> String {
    let mut out = String::new();
    out.push_str("# Error codes\n\n");
    out.push_str(GENERATED_NOTE);
    out.push_str("\n\n");
    out.push_str(
        "Every error the function answers itself is JSON, `{\"error\": {\"code\": \"...\", \
         \"message\": \"...\"}}` (`ErrorResponse` in `crates/contract/src/error.rs`), with a stable \
         `code` from the table below and a message that says what to fix. A failed job carries \
         the same object as its `error`. Routes: S = `PUT /code-generation`, J = `POST \
         /code-generation/jobs`, G = `GET /code-generation/jobs/{job_id}`.\n\n",
    );
    out.push_str("| code | HTTP status | routes | meaning |\n|---|---|---|---|\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            code.as_str(),
            code.status(),
            cell(error_routes(code)),
            cell(error_meaning(code))
        ));
    }
    out.push_str(
        "\nAPI Gateway answers some requests before the function runs, with its own body \
         `{\"message\": \"...\"}` and no `code`: `403` for a request that is not signed or whose \
         signature or permissions do not allow `execute-api:Invoke`, `429` when the stage's \
         throttling (`api.throttling`) is exceeded, `404` for a route the API does not have, and \
         `503`/`504` when the integration itself fails or takes longer than 30 s (the function \
         answers `504 model_timeout` before that).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_error_code_is_in_the_table_and_the_openapi_enum() {
        let table = error_codes();
        let api = super::super::openapi();
        let listed = &api["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"];
        for code in ErrorCode::ALL {
            assert!(
                table.contains(&format!("| `{}` | {} |", code.as_str(), code.status())),
                "{}",
                code.as_str()
            );
            assert!(
                listed
                    .as_array()
                    .is_some_and(|l| l.contains(&json!(code.as_str())))
            );
        }
    }
}
