//! Storage of generated code in S3: object key naming (pure) and the PutObject call (IO).
//!
//! Keys are `<prefix><yyyy>/<mm>/<dd>/<yyyymmddTHHMMSS.mmmZ>-<request id>.<ext>`. They never
//! contain caller text; the request id (unique per invocation) keeps keys of concurrent requests
//! apart even within the same millisecond.

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use codegen_contract::{RepairReport, S3Location, SyntaxCheck};
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::Instrument;

use crate::language::Language;

/// Longest request-id part of a key.
const MAX_ID_LEN: usize = 64;

/// The request id reduced to `[A-Za-z0-9-]`, at most 64 characters; `unknown` when nothing is
/// left.
pub fn sanitise_request_id(request_id: &str) -> String {
    let clean: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(MAX_ID_LEN)
        .collect();
    if clean.is_empty() {
        "unknown".to_owned()
    } else {
        clean
    }
}

/// The object key for code generated at `now` by invocation `request_id`.
pub fn object_key(
    prefix: &str,
    now: OffsetDateTime,
    request_id: &str,
    language: &Language,
) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    let day = format_description!("[year]/[month]/[day]");
    let stamp =
        format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z");
    // Formatting a UTC timestamp with these descriptions cannot fail for years 0..=9999; the
    // fallback keeps the function total anyway.
    let day = now.format(&day).unwrap_or_else(|_| "0000/00/00".to_owned());
    let stamp = now
        .format(&stamp)
        .unwrap_or_else(|_| now.unix_timestamp_nanos().to_string());
    format!(
        "{prefix}{day}/{stamp}-{}.{}",
        sanitise_request_id(request_id),
        language.extension
    )
}

/// The `s3://` location of an object.
pub fn location(bucket: &str, key: &str) -> S3Location {
    S3Location {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        uri: format!("s3://{bucket}/{key}"),
    }
}

/// Longest `syntax-first-error` value: S3 limits the user-defined metadata of a PUT to 2 KB, keys
/// and values together (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>).
const MAX_FIRST_ERROR_CHARS: usize = 200;

/// What the object says about its code besides the language: the syntax check and the repair.
#[derive(Debug, Clone, Copy)]
pub struct CodeFacts<'a> {
    /// The syntax check of the stored code.
    pub syntax: &'a SyntaxCheck,
    /// The repair, when the first answer did not parse.
    pub repair: Option<&'a RepairReport>,
    /// Whether the model stopped at max_tokens, so the code may be cut (thinking counts toward
    /// the limit on thinking models).
    pub cut: bool,
}

/// Metadata stored with each object (`x-amz-meta-*`): `language`, `model`, `request-id`, then
/// `syntax` (`ok`, `errors` or `unchecked`), `syntax-errors` (the count, when checked),
/// `syntax-first-error` (`<line>:<column> <message>`, when there are errors) and `repair`
/// (`applied`, `not-kept` or `not-attempted`, when the first answer did not parse), and
/// `truncated: max-tokens` when the model stopped at the output-token limit.
pub fn metadata(
    language: &Language,
    model_id: &str,
    request_id: &str,
    facts: CodeFacts<'_>,
) -> Vec<(&'static str, String)> {
    let mut md = vec![
        ("language", language.name.to_owned()),
        ("model", header_safe(model_id)),
        ("request-id", sanitise_request_id(request_id)),
    ];
    let syntax = facts.syntax;
    let verdict = if !syntax.checked {
        "unchecked"
    } else if syntax.is_ok() {
        "ok"
    } else {
        "errors"
    };
    md.push(("syntax", verdict.to_owned()));
    if syntax.checked {
        md.push(("syntax-errors", syntax.count().to_string()));
    }
    if let Some(e) = syntax.first_error().filter(|_| syntax.has_errors()) {
        let text: String = header_safe(&format!("{}:{} {}", e.line, e.column, e.message))
            .chars()
            .take(MAX_FIRST_ERROR_CHARS)
            .collect();
        md.push(("syntax-first-error", text));
    }
    if let Some(r) = facts.repair {
        let outcome = if r.applied {
            "applied"
        } else if r.attempted {
            "not-kept"
        } else {
            "not-attempted"
        };
        md.push(("repair", outcome.to_owned()));
    }
    if facts.cut {
        md.push(("truncated", "max-tokens".to_owned()));
    }
    md
}

/// Metadata travels as HTTP headers: keep printable ASCII only.
fn header_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect()
}

/// Why the code could not be stored, short enough for a response warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("S3 PutObject failed ({reason})")]
pub struct StorageError {
    /// The S3 error code (`AccessDenied`, `NoSuchBucket`), or the kind of transport failure.
    pub reason: String,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The object was written.
    Written,
    /// `create_only` and an object was already there (an earlier attempt of the same job wrote
    /// it): nothing was overwritten.
    AlreadyThere,
}

/// HTTP status of a conditional write that lost (`If-None-Match: *` on an existing key).
pub const PRECONDITION_FAILED: u16 = 412;

/// Writes `code` to `bucket`/`key` with its content type and metadata. `create_only` makes the
/// write conditional on the key being free (`If-None-Match: *`, S3 conditional writes,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>), so a job
/// delivered twice never replaces its code.
pub async fn put_code(
    s3: &aws_sdk_s3::Client,
    target: &Target<'_>,
    code: &str,
    language: &Language,
    model_id: &str,
    facts: CodeFacts<'_>,
) -> Result<Stored, StorageError> {
    let mut req = s3
        .put_object()
        .bucket(target.bucket)
        .key(target.key)
        .content_type(language.content_type)
        .body(ByteStream::from(code.as_bytes().to_vec()));
    if target.create_only {
        req = req.if_none_match("*");
    }
    for (name, value) in metadata(language, model_id, target.request_id, facts) {
        req = req.metadata(name, value);
    }
    let span = crate::aws_call_span!("S3", "PutObject");
    match req.send().instrument(span).await {
        Ok(_) => Ok(Stored::Written),
        Err(e) if target.create_only && is_precondition_failed(&e) => Ok(Stored::AlreadyThere),
        Err(e) => Err(StorageError {
            reason: failure_reason(&e),
        }),
    }
}

/// An object already stored at a job's code key: its text and the model its metadata names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// The code.
    pub code: String,
    /// `x-amz-meta-model`, when present.
    pub model: Option<String>,
}

/// Reads the object at `bucket`/`key` (after a create-only write found it there). Needs
/// `s3:GetObject` on the key, which the worker has on the code prefix for this one purpose.
pub async fn read_code(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<StoredCode, StorageError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| StorageError {
            reason: failure_reason(&e),
        })?;
    let model = out.metadata().and_then(|m| m.get("model")).cloned();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| StorageError {
            reason: e.to_string(),
        })?
        .into_bytes();
    let code = String::from_utf8(bytes.to_vec()).map_err(|_| StorageError {
        reason: "the stored code is not UTF-8".to_owned(),
    })?;
    Ok(StoredCode { code, model })
}

/// Where generated code goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Key.
    pub key: &'a str,
    /// The invocation (sync) or job (worker) the code belongs to, for the object metadata.
    pub request_id: &'a str,
    /// Never overwrite an existing object.
    pub create_only: bool,
}

/// Whether a conditional write lost to an existing object (412 `PreconditionFailed`).
pub fn is_precondition_failed<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == PRECONDITION_FAILED)
        || err.code() == Some("PreconditionFailed")
}

/// A short, stable description of an SDK failure: the service error code when there is one.
pub fn failure_reason<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> String {
    match err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "connection failure".to_owned(),
        SdkError::ConstructionFailure(_) => "request construction failure".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        _ => err.code().unwrap_or("unknown error").to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::language::lookup;
    use time::macros::datetime;

    fn key_re_ok(key: &str, ext: &str) -> bool {
        // code-output/yyyy/mm/dd/yyyymmddTHHMMSS.mmmZ-<id>.<ext>
        let Some(rest) = key.strip_prefix("code-output/") else {
            return false;
        };
        let parts: Vec<&str> = rest.splitn(4, '/').collect();
        if parts.len() != 4 {
            return false;
        }
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let file = parts[3];
        let Some((stem, got_ext)) = file.rsplit_once('.') else {
            return false;
        };
        let (Some(stamp), Some(id)) = (stem.get(..20), stem.get(20..)) else {
            return false;
        };
        digits(parts[0], 4)
            && digits(parts[1], 2)
            && digits(parts[2], 2)
            && got_ext == ext
            && stamp.len() == 20
            && digits(&stamp[..8], 8)
            && &stamp[8..9] == "T"
            && digits(&stamp[9..15], 6)
            && &stamp[15..16] == "."
            && digits(&stamp[16..19], 3)
            && &stamp[19..20] == "Z"
            && id.starts_with('-')
            && id.len() > 1
            && id[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && stamp[..8] == format!("{}{}{}", parts[0], parts[1], parts[2])
    }

    #[test]
    fn key_format() {
        let now = datetime!(2026-11-25 16:30:12.123456 UTC);
        let key = object_key(
            "code-output/",
            now,
            "8f5a7c1e-0b8e-4d3f-9a6b-2f1c0d9e8a7b",
            lookup("python").expect("known"),
        );
        assert_eq!(
            key,
            "code-output/2026/11/25/20261125T163012.123Z-8f5a7c1e-0b8e-4d3f-9a6b-2f1c0d9e8a7b.py"
        );
        assert!(key_re_ok(&key, "py"));
    }

    #[test]
    fn key_uses_utc_and_the_language_extension() {
        let now = datetime!(2026-01-01 01:02:03.004 +05:00);
        let key = object_key("code-output/", now, "id", lookup("rs").expect("known"));
        assert_eq!(key, "code-output/2025/12/31/20251231T200203.004Z-id.rs");
        for l in crate::language::LANGUAGES {
            let key = object_key("code-output/", now, "id", l);
            assert!(key.ends_with(&format!("-id.{}", l.extension)), "{key}");
            assert!(key_re_ok(&key, l.extension), "{key}");
        }
    }

    #[test]
    fn request_ids_are_sanitised() {
        assert_eq!(sanitise_request_id("abc-DEF-123"), "abc-DEF-123");
        assert_eq!(sanitise_request_id("../../etc/passwd"), "etcpasswd");
        assert_eq!(sanitise_request_id("a b/c\\d.e%2F"), "abcde2F");
        assert_eq!(sanitise_request_id(""), "unknown");
        assert_eq!(sanitise_request_id("///"), "unknown");
        assert_eq!(sanitise_request_id(&"x".repeat(500)).len(), 64);
        let key = object_key(
            "code-output/",
            OffsetDateTime::UNIX_EPOCH,
            "../evil/..",
            lookup("go").expect("known"),
        );
        assert_eq!(key, "code-output/1970/01/01/19700101T000000.000Z-evil.go");
    }

    #[test]
    fn same_millisecond_different_requests_do_not_collide() {
        let now = datetime!(2026-11-25 16:30:12.123 UTC);
        let l = lookup("ts").expect("known");
        let a = object_key("code-output/", now, "11111111-aaaa", l);
        let b = object_key("code-output/", now, "22222222-bbbb", l);
        assert_ne!(a, b);
        assert!(key_re_ok(&a, "ts") && key_re_ok(&b, "ts"));
    }

    #[test]
    fn location_and_metadata() {
        let loc = location("bkt", "code-output/k.py");
        assert_eq!(loc.uri, "s3://bkt/code-output/k.py");
        let unchecked = SyntaxCheck::unchecked("no grammar");
        let md = metadata(
            lookup("py").expect("known"),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0\n",
            "req/1",
            CodeFacts {
                syntax: &unchecked,
                repair: None,
                cut: false,
            },
        );
        assert_eq!(md.len(), 4, "{md:?}");
        assert_eq!(md[3], ("syntax", "unchecked".to_owned()));
        assert_eq!(md[0], ("language", "python".to_owned()));
        assert_eq!(
            md[1],
            (
                "model",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned()
            )
        );
        assert_eq!(md[2], ("request-id", "req1".to_owned()));
    }

    #[test]
    fn metadata_carries_the_syntax_check_and_the_repair() {
        let py = lookup("py").expect("known");
        let broken = crate::syntax::check("x = 1\ny = = \"é\"\n", py);
        let repair = RepairReport {
            mode: codegen_contract::RepairMode::Once,
            attempted: true,
            applied: false,
            errors_before: 1,
            errors_after: Some(1),
            usage: None,
            reason: None,
        };
        let md = metadata(
            py,
            "m",
            "r",
            CodeFacts {
                syntax: &broken,
                repair: Some(&repair),
                cut: true,
            },
        );
        let get = |k: &str| md.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("syntax"), Some("errors"));
        assert_eq!(get("syntax-errors"), Some("1"));
        assert!(
            get("syntax-first-error").is_some_and(|v| v.starts_with("2:5 unexpected")),
            "{md:?}"
        );
        assert_eq!(get("repair"), Some("not-kept"));
        assert_eq!(get("truncated"), Some("max-tokens"));
        // Header-safe: printable ASCII only.
        assert!(
            md.iter()
                .all(|(_, v)| v.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        );
        let ok = crate::syntax::check("x = 1\n", py);
        let md = metadata(
            py,
            "m",
            "r",
            CodeFacts {
                syntax: &ok,
                repair: None,
                cut: false,
            },
        );
        let get = |k: &str| md.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (get("syntax"), get("syntax-errors")),
            (Some("ok"), Some("0"))
        );
        assert_eq!((get("syntax-first-error"), get("repair")), (None, None));
    }

    pub(crate) fn key_matches(key: &str, ext: &str) -> bool {
        key_re_ok(key, ext)
    }

    #[test]
    fn the_checker_rejects_bad_keys() {
        assert!(!key_matches("code-output/2026/11/25/x.py", "py"));
        assert!(!key_matches(
            "other/2026/11/25/20261125T163012.123Z-a.py",
            "py"
        ));
        assert!(!key_matches(
            "code-output/2026/11/25/20261125T163012.123Z-a.rs",
            "py"
        ));
    }
}
