//! The OpenAPI 3.1 document of the API's routes (`docs/reference/openapi.json`), built from the
//! contract's route constants and types, and the example values it shows. Pure.

use codegen_contract::{
    ErrorCode, IDEMPOTENCY_HEADER, JOB_ID_LEN, JOB_STATUS_METHOD, JOB_STATUS_PATH, JOBS_PATH,
    JOBS_SUBMIT_METHOD, JobStatus, MAX_IDEMPOTENCY_KEY_LEN, MAX_SYNTAX_ERRORS, ROUTE_METHOD,
    ROUTE_PATH, RepairMode,
};
use serde_json::{Value, json};

use super::error_codes::error_routes;
use super::examples;

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// The schemas of the contract types (JSON Schema 2020-12, as OpenAPI 3.1 uses it). The tests
/// check every object's `properties` and `required` against the serialised contract types.
fn schemas() -> Value {
    let error_codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let statuses: Vec<&str> = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    let repair_modes: Vec<&str> = RepairMode::ALL.iter().map(|m| m.as_str()).collect();
    json!({
        "GenerateRequest": {
            "type": "object",
            "description": "Body of PUT /code-generation and POST /code-generation/jobs. Unknown fields are refused (`unknown_field`).",
            "additionalProperties": false,
            "required": ["message"],
            "oneOf": [{ "required": ["key"] }, { "required": ["language"] }],
            "properties": {
                "message": { "type": "string", "minLength": 1, "description": "What to implement, in plain words; at most the stage's `function.max_message_bytes` bytes (8 KiB in dev)." },
                "key": { "type": "string", "description": "Target language (`python`, `rust`, `ts`, ...): a name from the language table." },
                "language": { "type": "string", "description": "Alias of `key`." },
                "temperature": { "type": "number", "minimum": 0, "maximum": 1, "description": "Sampling temperature override (sent only to models that accept it; `sampling` says what was sent)." },
                "top_k": { "type": "integer", "minimum": 1, "maximum": 500, "description": "top_k override." },
                "top_p": { "type": "number", "minimum": 0, "maximum": 1, "description": "top_p override." },
                "max_tokens": { "type": "integer", "minimum": 1, "maximum": 8192, "description": "Output token budget of the answer (and at most the model's own limit)." }
            }
        },
        "GenerateResponse": {
            "type": "object",
            "description": "Success (200) of PUT /code-generation, and a succeeded job's `result`.",
            "required": ["code", "language", "model", "stored", "s3", "usage", "syntax", "sampling", "request_id"],
            "properties": {
                "code": { "type": "string", "description": "The generated code, without markdown fences or commentary." },
                "language": { "type": "string", "description": "Canonical language name." },
                "model": { "type": "string", "description": "Model id the code came from." },
                "stored": { "type": "boolean", "description": "Whether the code was written to S3 (`false` only when S3 failed after generation; `warnings` says why)." },
                "s3": { "oneOf": [reference("S3Location"), { "type": "null" }] },
                "usage": reference("Usage"),
                "cost": reference("Cost"),
                "syntax": reference("SyntaxCheck"),
                "repair": reference("RepairReport"),
                "sampling": reference("SentSampling"),
                "request_id": { "type": "string", "description": "Lambda request id, also in the S3 key and the logs." },
                "warnings": { "type": "array", "items": { "type": "string" }, "description": "Non-fatal problems; absent when there are none." }
            }
        },
        "S3Location": {
            "type": "object",
            "required": ["bucket", "key", "uri"],
            "properties": {
                "bucket": { "type": "string" },
                "key": { "type": "string", "description": "`code-output/<yyyy>/<mm>/<dd>/<timestamp>-<request id>.<ext>`" },
                "uri": { "type": "string", "description": "`s3://bucket/key`" }
            }
        },
        "Usage": {
            "type": "object",
            "description": "Tokens of every model call the answer took (a repair included).",
            "required": ["input_tokens", "output_tokens", "total_tokens"],
            "properties": {
                "input_tokens": { "type": "integer", "minimum": 0 },
                "output_tokens": { "type": "integer", "minimum": 0 },
                "total_tokens": { "type": "integer", "minimum": 0 },
                "cache_read_input_tokens": { "type": "integer", "minimum": 0, "description": "Prompt tokens read from Bedrock's prompt cache; absent: none." },
                "cache_write_input_tokens": { "type": "integer", "minimum": 0, "description": "Prompt tokens written to it; absent: none." }
            }
        },
        "Cost": {
            "type": "object",
            "description": "What the answer's model calls cost (docs/cost.md): from Bedrock's own token counts and the model catalogue's dated prices; absent for a model without a price.",
            "required": ["usd", "micro_usd", "tokens", "rates_micro_usd_per_mtok", "endpoint", "prices_as_of", "price_source"],
            "properties": {
                "usd": { "type": "string", "description": "USD with six decimals, written from `micro_usd`." },
                "micro_usd": { "type": "integer", "minimum": 0, "description": "USD 10^-6, rounded up per model call." },
                "tokens": reference("Usage"),
                "rates_micro_usd_per_mtok": reference("Rates"),
                "endpoint": { "type": "string", "enum": ["global", "regional"], "description": "Which of the model's prices applied." },
                "prices_as_of": { "type": "string", "description": "When the prices were read (YYYY-MM-DD)." },
                "price_source": { "type": "string", "description": "Where they come from." }
            }
        },
        "Rates": {
            "type": "object",
            "description": "Micro-dollars per million tokens.",
            "required": ["input", "output", "cache_write", "cache_read"],
            "properties": {
                "input": { "type": "integer", "minimum": 0 },
                "output": { "type": "integer", "minimum": 0, "description": "Thinking included: it is billed as output." },
                "cache_write": { "type": "integer", "minimum": 0 },
                "cache_read": { "type": "integer", "minimum": 0 }
            }
        },
        "SentSampling": {
            "type": "object",
            "description": "The sampling parameters sent to the model (`null`: not sent).",
            "required": ["temperature", "top_p", "top_k", "max_tokens"],
            "properties": {
                "temperature": nullable("number"),
                "top_p": nullable("number"),
                "top_k": nullable("integer"),
                "max_tokens": { "type": "integer", "description": "The answer's budget plus `thinking_tokens`." },
                "thinking": { "type": "string", "description": "The thinking setting sent (`adaptive` or `disabled`); absent: none sent." },
                "effort": { "type": "string", "description": "The effort sent; absent: none sent." },
                "thinking_tokens": { "type": "integer", "description": "The part of `max_tokens` reserved for thinking; absent: the model does not think on this route." }
            }
        },
        "SyntaxCheck": {
            "type": "object",
            "description": "The tree-sitter check of `code`: `{checked: true, ok, error_count, errors}` or `{checked: false, reason}`.",
            "required": ["checked"],
            "properties": {
                "checked": { "type": "boolean" },
                "ok": { "type": "boolean" },
                "error_count": { "type": "integer", "minimum": 0 },
                "errors": { "type": "array", "maxItems": MAX_SYNTAX_ERRORS, "items": reference("SyntaxError") },
                "reason": { "type": "string" }
            }
        },
        "SyntaxError": {
            "type": "object",
            "required": ["line", "column", "message"],
            "properties": {
                "line": { "type": "integer", "minimum": 1 },
                "column": { "type": "integer", "minimum": 1, "description": "In Unicode characters." },
                "message": { "type": "string" }
            }
        },
        "RepairReport": {
            "type": "object",
            "description": "Present only when the first answer did not parse.",
            "required": ["mode", "attempted", "applied", "errors_before"],
            "properties": {
                "mode": { "type": "string", "enum": repair_modes },
                "attempted": { "type": "boolean" },
                "applied": { "type": "boolean" },
                "errors_before": { "type": "integer", "minimum": 0 },
                "errors_after": { "type": "integer", "minimum": 0 },
                "usage": reference("Usage"),
                "reason": { "type": "string" }
            }
        },
        "ErrorResponse": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": reference("ErrorBody") }
        },
        "ErrorBody": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "enum": error_codes, "description": "Stable error code (docs/reference/error-codes.md)." },
                "message": { "type": "string", "description": "What went wrong and what to fix." }
            }
        },
        "JobStatus": { "type": "string", "enum": statuses },
        "SubmitResponse": {
            "type": "object",
            "required": ["job_id", "status", "status_url"],
            "properties": {
                "job_id": { "type": "string", "pattern": format!("^[0-9a-f]{{{JOB_ID_LEN}}}$") },
                "status": reference("JobStatus"),
                "status_url": { "type": "string", "description": "Path to poll, relative to the stage; also in `Location`." }
            }
        },
        "JobResponse": {
            "type": "object",
            "required": ["job_id", "status", "created_at", "updated_at", "attempts"],
            "properties": {
                "job_id": { "type": "string" },
                "status": reference("JobStatus"),
                "created_at": { "type": "string", "format": "date-time" },
                "updated_at": { "type": "string", "format": "date-time" },
                "attempts": { "type": "integer", "minimum": 0 },
                "result": reference("GenerateResponse"),
                "error": reference("ErrorBody")
            }
        }
    })
}

/// The error responses of a route, one per HTTP status, each listing its codes.
fn error_responses(route: &str) -> serde_json::Map<String, Value> {
    let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
    for code in ErrorCode::ALL {
        let routes = error_routes(code);
        let answers = match route {
            "S" => routes.starts_with('S'),
            other => routes.split(' ').any(|r| r == other),
        };
        if answers {
            by_status
                .entry(code.status())
                .or_default()
                .push(code.as_str());
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            (
                status.to_string(),
                json!({
                    "description": format!("`{}`", codes.join("`, `")),
                    "content": { "application/json": { "schema": reference("ErrorResponse") } }
                }),
            )
        })
        .collect()
}

fn with_errors(mut responses: serde_json::Map<String, Value>, route: &str) -> Value {
    responses.extend(error_responses(route));
    responses.insert(
        "403".into(),
        json!({
            "description": "From API Gateway: the request is not signed, or the signer may not `execute-api:Invoke` the route (body `{\"message\": ...}`). From the function: `unidentified_caller` on the jobs routes.",
        }),
    );
    Value::Object(responses)
}

/// The OpenAPI 3.1 document of the API's three routes, built from the contract's route constants
/// and types.
pub fn openapi() -> Value {
    let sigv4 = json!([{ "sigv4": [] }]);
    let build_header = json!({
        "x-codegen-build": { "description": "Build label of the function that answered.", "schema": { "type": "string" } }
    });
    let sync = with_errors(
        serde_json::Map::from_iter([(
            "200".to_owned(),
            json!({
                "description": "The code, its syntax check, where it was stored and what was sent to the model.",
                "headers": build_header,
                "content": { "application/json": {
                    "schema": reference("GenerateResponse"),
                    "example": to_value(&examples::response())
                } }
            }),
        )]),
        "S",
    );
    let submit = with_errors(
        serde_json::Map::from_iter([(
            "202".to_owned(),
            json!({
                "description": "Accepted (or, for a reused `Idempotency-Key` with the same body, the job it created).",
                "headers": {
                    "Location": { "description": "The job's status URL.", "schema": { "type": "string" } }
                },
                "content": { "application/json": {
                    "schema": reference("SubmitResponse"),
                    "example": to_value(&examples::submitted())
                } }
            }),
        )]),
        "J",
    );
    let status = with_errors(
        serde_json::Map::from_iter([(
            "200".to_owned(),
            json!({
                "description": "The job: `result` once succeeded (exactly the synchronous success body), `error` once failed (exactly the synchronous error object).",
                "content": { "application/json": {
                    "schema": reference("JobResponse"),
                    "example": to_value(&examples::job())
                } }
            }),
        )]),
        "G",
    );
    let body = json!({
        "required": true,
        "content": { "application/json": {
            "schema": reference("GenerateRequest"),
            "example": to_value(&examples::request())
        } }
    });
    let mut paths = serde_json::Map::new();
    paths.insert(
        ROUTE_PATH.to_owned(),
        json!({ ROUTE_METHOD.to_lowercase(): {
            "operationId": "generateCode",
            "summary": "Generate code synchronously (within API Gateway's 30 s).",
            "security": sigv4,
            "requestBody": body,
            "responses": sync
        } }),
    );
    paths.insert(
        JOBS_PATH.to_owned(),
        json!({ JOBS_SUBMIT_METHOD.to_lowercase(): {
            "operationId": "submitJob",
            "summary": "Submit a generation job (same body as the synchronous route).",
            "security": sigv4,
            "parameters": [{
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": format!("Makes a retried submission return the same job (per principal). Header name `{IDEMPOTENCY_HEADER}`, case-insensitive."),
                "schema": { "type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LEN }
            }],
            "requestBody": body,
            "responses": submit
        } }),
    );
    paths.insert(
        JOB_STATUS_PATH.to_owned(),
        json!({ JOB_STATUS_METHOD.to_lowercase(): {
            "operationId": "getJob",
            "summary": "Read a job (only the principal that submitted it may).",
            "security": sigv4,
            "parameters": [{
                "name": "job_id",
                "in": "path",
                "required": true,
                "schema": { "type": "string", "pattern": format!("^[0-9a-f]{{{JOB_ID_LEN}}}$") }
            }],
            "responses": status
        } }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "codegen-stack",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The code-generation API (API Gateway HTTP API, IAM auth). Generated by `cargo xtask docs` from crates/contract; do not edit."
        },
        "servers": [{
            "url": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
            "description": "`cargo xtask outputs --stage <stage>` prints the invoke URL.",
            "variables": {
                "api_id": { "default": "abc123" },
                "region": { "default": "us-east-1" },
                "stage": { "default": "dev" }
            }
        }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 for the service `execute-api` in the stage's region (the route uses AWS_IAM authorization).",
                    "x-amazon-apigateway-authtype": "awsSigv4"
                }
            },
            "schemas": schemas()
        }
    })
}

/// [`openapi`] as the checked-in text (pretty JSON, a final newline).
pub fn openapi_text() -> String {
    let mut text = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegen_contract::{
        GenerateRequest, GenerateResponse, JobResponse, RepairReport, SentSampling, SyntaxCheck,
        SyntaxError, Usage,
    };
    use std::collections::BTreeSet;

    fn keys(value: &Value) -> BTreeSet<String> {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Checks that schema `name` lists exactly the keys of `full` (every optional field set) as
    /// properties, plus `aliases`, and exactly the keys of `minimal` (every optional field unset)
    /// as required.
    fn assert_schema(name: &str, full: Value, minimal: Value, aliases: &[&str]) {
        let api = openapi();
        let schema = &api["components"]["schemas"][name];
        let mut expected = keys(&full);
        expected.extend(aliases.iter().map(|a| (*a).to_owned()));
        assert_eq!(
            keys(&schema["properties"]),
            expected,
            "{name}: the schema's properties are not the contract type's fields"
        );
        let required: BTreeSet<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut always = keys(&minimal);
        if name == "GenerateRequest" {
            // `key` or its alias `language`: the schema's `oneOf` says so.
            always.remove("key");
        }
        assert_eq!(
            required, always,
            "{name}: `required` is not the always-present fields"
        );
    }

    #[test]
    fn openapi_schemas_match_the_contract_types() {
        let usage = Usage::default();
        let full_sampling = SentSampling {
            temperature: Some(0.1),
            top_p: Some(0.2),
            top_k: Some(1),
            max_tokens: 1,
            thinking: Some("adaptive".into()),
            effort: Some("high".into()),
            thinking_tokens: Some(1024),
        };
        let full_check = SyntaxCheck {
            checked: true,
            ok: Some(false),
            error_count: Some(1),
            errors: Some(vec![SyntaxError {
                line: 1,
                column: 1,
                message: "m".into(),
            }]),
            reason: Some("r".into()),
        };
        let full_repair = RepairReport {
            mode: RepairMode::Once,
            attempted: true,
            applied: true,
            errors_before: 1,
            errors_after: Some(0),
            usage: Some(usage),
            reason: Some("r".into()),
        };
        let minimal_repair = RepairReport {
            errors_after: None,
            usage: None,
            reason: None,
            ..full_repair.clone()
        };
        let mut full_response = examples::response();
        full_response.repair = Some(full_repair.clone());
        full_response.warnings = vec!["w".into()];
        full_response.sampling = full_sampling.clone();
        let minimal_response = GenerateResponse {
            s3: None,
            repair: None,
            cost: None,
            warnings: vec![],
            ..examples::response()
        };
        let full_request = GenerateRequest {
            temperature: Some(0.1),
            top_k: Some(1),
            top_p: Some(0.1),
            max_tokens: Some(1),
            ..examples::request()
        };
        let minimal_request = GenerateRequest {
            max_tokens: None,
            ..examples::request()
        };
        let mut full_job = examples::job();
        full_job.error = Some(examples::error().error);
        let minimal_job = JobResponse {
            result: None,
            ..examples::job()
        };
        assert_schema(
            "GenerateRequest",
            to_value(&full_request),
            to_value(&minimal_request),
            &["language"],
        );
        assert_schema(
            "GenerateResponse",
            to_value(&full_response),
            to_value(&minimal_response),
            &[],
        );
        let s3 = to_value(&examples::response().s3);
        assert_schema("S3Location", s3.clone(), s3, &[]);
        let cached = Usage {
            cache_read_input_tokens: 1,
            cache_write_input_tokens: 1,
            ..usage
        };
        assert_schema("Usage", to_value(&cached), to_value(&usage), &[]);
        let cost = examples::response()
            .cost
            .expect("the example's model is priced");
        assert_schema("Cost", to_value(&cost), to_value(&cost), &[]);
        let rates = to_value(&cost.rates_micro_usd_per_mtok);
        assert_schema("Rates", rates.clone(), rates, &[]);
        assert_schema(
            "SentSampling",
            to_value(&full_sampling),
            to_value(&SentSampling::default()),
            &[],
        );
        assert_schema(
            "SyntaxCheck",
            to_value(&full_check),
            json!({"checked": false}),
            &[],
        );
        let error = SyntaxError {
            line: 1,
            column: 1,
            message: "m".into(),
        };
        assert_schema("SyntaxError", to_value(&error), to_value(&error), &[]);
        assert_schema(
            "RepairReport",
            to_value(&full_repair),
            to_value(&minimal_repair),
            &[],
        );
        let err = to_value(&examples::error());
        assert_schema("ErrorResponse", err.clone(), err.clone(), &[]);
        assert_schema("ErrorBody", err["error"].clone(), err["error"].clone(), &[]);
        let submitted = to_value(&examples::submitted());
        assert_schema("SubmitResponse", submitted.clone(), submitted, &[]);
        assert_schema(
            "JobResponse",
            to_value(&full_job),
            to_value(&minimal_job),
            &[],
        );
    }
}
