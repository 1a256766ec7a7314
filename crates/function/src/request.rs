//! Request parsing and validation: route, method, content type, body encoding and size, and the
//! JSON fields of `PUT /code-generation`. Every rejection is an [`ApiError`] whose message says
//! what to fix. Pure: no IO.

use std::collections::BTreeSet;
use std::fmt;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use codegen_contract::{
    ErrorCode, JOBS_PATH, JOBS_SUBMIT_METHOD, JOBS_SUBMIT_ROUTE_KEY, ROUTE_KEY, ROUTE_METHOD,
    ROUTE_PATH,
};
use http::{HeaderMap, Method};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::config::Config;
use crate::error::ApiError;
use crate::language::{self, Language};
use crate::sampling::{Overrides, Sampling};

/// The fields a request body may contain (`language` is an alias of `key`).
pub const ALLOWED_FIELDS: [&str; 7] = [
    "message",
    "key",
    "language",
    "temperature",
    "top_k",
    "top_p",
    "max_tokens",
];

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    /// What to implement (non-empty, within the size limit, no NUL).
    pub message: String,
    /// Target language.
    pub language: &'static Language,
    /// Sampling values the caller set explicitly.
    pub overrides: Overrides,
}

/// A route the function serves: method, path and API Gateway route key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path (without the stage prefix).
    pub path: &'static str,
    /// API Gateway route key.
    pub key: &'static str,
}

/// `PUT /code-generation`.
pub const SYNC_ROUTE: RouteSpec = RouteSpec {
    method: ROUTE_METHOD,
    path: ROUTE_PATH,
    key: ROUTE_KEY,
};

/// `POST /code-generation/jobs`.
pub const SUBMIT_ROUTE: RouteSpec = RouteSpec {
    method: JOBS_SUBMIT_METHOD,
    path: JOBS_PATH,
    key: JOBS_SUBMIT_ROUTE_KEY,
};

/// Runs every check on an API Gateway v2 event for `PUT /code-generation`, in the order a caller
/// would fix them: route, method, content type, body presence, encoding and size, then the JSON
/// fields.
pub fn validate(
    event: &ApiGatewayV2httpRequest,
    config: &Config,
) -> Result<ValidRequest, ApiError> {
    validate_for(&SYNC_ROUTE, event, config)
}

/// [`validate`] for any route that takes the generation body (the jobs submission route too).
pub fn validate_for(
    route: &RouteSpec,
    event: &ApiGatewayV2httpRequest,
    config: &Config,
) -> Result<ValidRequest, ApiError> {
    check_event_route(route, event)?;
    check_content_type(&event.headers)?;
    let body = decode_body(
        event.body.as_deref(),
        event.is_base64_encoded,
        config.max_body_bytes,
    )?;
    parse_body(&body, config.max_message_bytes)
}

/// [`check_route`] on an event's method, path, stage and route key.
pub fn check_event_route(
    route: &RouteSpec,
    event: &ApiGatewayV2httpRequest,
) -> Result<(), ApiError> {
    let ctx = &event.request_context;
    let path = event.raw_path.as_deref().or(ctx.http.path.as_deref());
    check_route_for(
        route,
        &ctx.http.method,
        path,
        ctx.stage.as_deref(),
        event.route_key.as_deref().or(ctx.route_key.as_deref()),
    )
}

/// Checks the route (404) and then the method (405) of `PUT /code-generation`. The path may carry
/// the stage prefix (`/dev/code-generation`); a route key equal to [`ROUTE_KEY`] means API Gateway
/// already matched the route (for example behind a custom domain's base path).
pub fn check_route(
    method: &Method,
    raw_path: Option<&str>,
    stage: Option<&str>,
    route_key: Option<&str>,
) -> Result<(), ApiError> {
    check_route_for(&SYNC_ROUTE, method, raw_path, stage, route_key)
}

/// [`check_route`] for any route with a fixed path.
pub fn check_route_for(
    route: &RouteSpec,
    method: &Method,
    raw_path: Option<&str>,
    stage: Option<&str>,
    route_key: Option<&str>,
) -> Result<(), ApiError> {
    let path_matches = raw_path.is_some_and(|p| {
        p == route.path
            || stage.is_some_and(|s| {
                s != "$default"
                    && p.strip_prefix('/')
                        .and_then(|rest| rest.strip_prefix(s))
                        .is_some_and(|rest| rest == route.path)
            })
    });
    if !path_matches && route_key != Some(route.key) {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no route for {} {}: this function serves {}",
                method,
                raw_path.unwrap_or("(no path)"),
                route.key
            ),
        ));
    }
    if method.as_str() != route.method {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "method {method} is not allowed on {}: use {}",
                route.path, route.method
            ),
        ));
    }
    Ok(())
}

/// Accepts a missing content type or `application/json` (any case, optional `charset=utf-8`).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let reject = |shown: &str| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "content type `{shown}` is not supported: send the body as application/json \
                 (charset utf-8)"
            ),
        )
    };
    let Ok(raw) = value.to_str() else {
        return Err(reject("(not ASCII)"));
    };
    if raw.trim().is_empty() {
        return Ok(());
    }
    let mut parts = raw.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(reject(raw));
    }
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
                return Err(reject(raw));
            }
        }
    }
    Ok(())
}

/// Returns the body text: present, within `limit` bytes, base64-decoded when API Gateway says
/// so, and valid UTF-8.
pub fn decode_body(body: Option<&str>, is_base64: bool, limit: usize) -> Result<String, ApiError> {
    let body = body.unwrap_or_default();
    if body.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MissingBody,
            r#"the request has no body: send a JSON object like {"message": "...", "key": "python"}"#,
        ));
    }
    let too_large = |len: usize| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is {len} bytes; the limit is {limit} bytes"),
        )
    };
    if !is_base64 {
        if body.len() > limit {
            return Err(too_large(body.len()));
        }
        return Ok(strip_bom(body).to_owned());
    }
    // Reject before decoding: base64 is 4/3 of the decoded size.
    let encoded_limit = limit.div_ceil(3).saturating_mul(4);
    if body.len() > encoded_limit {
        return Err(too_large(body.len() / 4 * 3));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidEncoding,
                format!("the body is marked base64 but does not decode ({e})"),
            )
        })?;
    if bytes.len() > limit {
        return Err(too_large(bytes.len()));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidEncoding,
            format!(
                "the body is not valid UTF-8 (invalid byte at offset {}): send UTF-8 JSON",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(strip_bom(&text).to_owned())
}

fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// Parses and validates the JSON body.
pub fn parse_body(body: &str, max_message_bytes: usize) -> Result<ValidRequest, ApiError> {
    let fields = parse_object(body)?;
    validate_fields(fields, max_message_bytes)
}

/// The top level of a body: an object's fields in order, with the names seen twice.
#[derive(Debug)]
enum TopLevel {
    Object {
        fields: Vec<(String, Value)>,
        duplicates: Vec<String>,
    },
    NotObject(&'static str),
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut seen = BTreeSet::new();
        let mut fields = Vec::new();
        let mut duplicates = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            if !seen.insert(name.clone()) {
                duplicates.push(name);
                continue;
            }
            fields.push((name, value));
        }
        Ok(TopLevel::Object { fields, duplicates })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        // Consume the array so the parser still reports syntax errors inside it.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::NotObject("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject("null"))
    }
}

/// Parses the top-level object without losing duplicate keys (serde_json's own maps keep the last
/// one silently). Nesting beyond serde_json's recursion limit is a syntax error, not a panic.
fn parse_object(body: &str) -> Result<Vec<(String, Value)>, ApiError> {
    let mut de = serde_json::Deserializer::from_str(body);
    let parsed = de
        .deserialize_any(TopLevelVisitor)
        .and_then(|top| de.end().map(|()| top))
        .map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidJson,
                format!(
                    r#"the body is not valid JSON ({e}): send an object like {{"message": "...", "key": "python"}}"#
                ),
            )
        })?;
    match parsed {
        TopLevel::NotObject(kind) => Err(ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                r#"the body must be a JSON object like {{"message": "...", "key": "python"}}, not {kind}"#
            ),
        )),
        TopLevel::Object { duplicates, .. } if !duplicates.is_empty() => Err(ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                "duplicate field(s) {}: send each field once",
                quote_list(&duplicates)
            ),
        )),
        TopLevel::Object { fields, .. } => Ok(fields),
    }
}

/// How many field names an error message quotes, and how many characters of each: the names come
/// from the caller and the message is both returned and logged, so its size must not follow the
/// body's (3000 unknown fields once made a 40 KB error message and log line).
const QUOTED_NAMES: usize = 10;
const QUOTED_NAME_CHARS: usize = 40;

fn quote_list(names: &[String]) -> String {
    let mut quoted: Vec<String> = names
        .iter()
        .take(QUOTED_NAMES)
        .map(|n| {
            let shown: String = n.chars().take(QUOTED_NAME_CHARS).collect();
            let ellipsis = if shown.len() < n.len() { "..." } else { "" };
            format!("`{}{ellipsis}`", shown.escape_debug())
        })
        .collect();
    if names.len() > QUOTED_NAMES {
        quoted.push(format!("and {} more", names.len() - QUOTED_NAMES));
    }
    quoted.join(", ")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn validate_fields(
    fields: Vec<(String, Value)>,
    max_message_bytes: usize,
) -> Result<ValidRequest, ApiError> {
    let unknown: Vec<String> = fields
        .iter()
        .filter(|(name, _)| !ALLOWED_FIELDS.contains(&name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnknownField,
            format!(
                "unknown field(s) {}: allowed fields are message, key (or its alias language), \
                 temperature, top_k, top_p, max_tokens",
                quote_list(&unknown)
            ),
        ));
    }

    let mut message = None;
    let mut key = None;
    let mut overrides = Overrides::default();
    for (name, value) in fields {
        match name.as_str() {
            "message" => message = Some(value),
            "key" | "language" => {
                if key.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "`key` and `language` are the same field: send only one of them",
                    ));
                }
                key = Some(value);
            }
            "temperature" => {
                overrides.temperature =
                    float_param("temperature", &value, Sampling::check_temperature)?;
            }
            "top_p" => overrides.top_p = float_param("top_p", &value, Sampling::check_top_p)?,
            "top_k" => overrides.top_k = int_param("top_k", &value, Sampling::check_top_k)?,
            "max_tokens" => {
                overrides.max_tokens = int_param("max_tokens", &value, Sampling::check_max_tokens)?;
            }
            _ => {}
        }
    }

    let message = check_message(message, max_message_bytes)?;
    let language = check_language(key)?;
    Ok(ValidRequest {
        message,
        language,
        overrides,
    })
}

fn check_message(value: Option<Value>, max_bytes: usize) -> Result<String, ApiError> {
    let invalid = |why: String| ApiError::new(ErrorCode::InvalidMessage, why);
    let message = match value {
        None => {
            return Err(ApiError::new(
                ErrorCode::MissingMessage,
                "`message` is required: describe the code to generate in plain words",
            ));
        }
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(invalid(format!(
                "`message` must be a string describing the code to generate, not {}",
                type_name(&other)
            )));
        }
    };
    if message.trim().is_empty() {
        return Err(invalid(
            "`message` is empty: describe the code to generate in plain words".to_owned(),
        ));
    }
    if message.contains('\0') {
        return Err(invalid(
            "`message` contains a NUL character (\\u0000): remove it".to_owned(),
        ));
    }
    if message.len() > max_bytes {
        return Err(ApiError::new(
            ErrorCode::MessageTooLarge,
            format!(
                "`message` is {} bytes; the limit is {max_bytes} bytes: shorten it",
                message.len()
            ),
        ));
    }
    Ok(message)
}

fn check_language(value: Option<Value>) -> Result<&'static Language, ApiError> {
    let supported = language::supported_list();
    let name = match value {
        None | Some(Value::Null) => {
            return Err(ApiError::new(
                ErrorCode::MissingLanguage,
                format!("`key` (the target language) is required; supported: {supported}"),
            ));
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(ApiError::new(
                ErrorCode::MissingLanguage,
                format!("`key` (the target language) is empty; supported: {supported}"),
            ));
        }
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedLanguage,
                format!(
                    "`key` must be a string naming the language, not {}; supported: {supported}",
                    type_name(&other)
                ),
            ));
        }
    };
    language::lookup(&name).ok_or_else(|| {
        let shown: String = name.chars().take(40).collect();
        ApiError::new(
            ErrorCode::UnsupportedLanguage,
            format!(
                "language `{}` is not supported; supported: {supported} (common aliases such as \
                 py, js, ts, c++, golang, rs, c#, sh also work)",
                shown.escape_debug()
            ),
        )
    })
}

fn float_param(
    field: &'static str,
    value: &Value,
    check: fn(f64) -> Result<f64, crate::sampling::SamplingError>,
) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(v) => check(v).map(Some).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("`{}` must be {} (got {})", e.field, e.expected, e.got),
                )
            }),
            None => Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("`{field}` must be a number from 0 to 1"),
            )),
        },
        other => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!(
                "`{field}` must be a number from 0 to 1, not {}",
                type_name(other)
            ),
        )),
    }
}

fn int_param(
    field: &'static str,
    value: &Value,
    check: fn(u32) -> Result<u32, crate::sampling::SamplingError>,
) -> Result<Option<u32>, ApiError> {
    let range = match field {
        "top_k" => "a whole number from 1 to 500",
        _ => "a whole number from 1 to 8192",
    };
    let invalid = |got: String| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`{field}` must be {range} (got {got})"),
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(v) => check(v).map(Some).map_err(|_| invalid(v.to_string())),
            None => Err(invalid(n.to_string())),
        },
        other => Err(invalid(type_name(other).to_owned())),
    }
}
