//! Response shaping: every answer is JSON with `content-type: application/json` and the build
//! header; errors carry the contract [`ErrorResponse`] body and, where useful, `Retry-After` or
//! `Allow`. Pure: no IO.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use codegen_contract::{
    BUILD_HEADER, ErrorBody, ErrorCode, ErrorResponse, GenerateResponse, ROUTE_METHOD,
};
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::error::ApiError;

/// The build label compiled into this binary (`CODEGEN_BUILD_LABEL` at build time, else the
/// crate version), sent in every response's `x-codegen-build` header.
pub const BUILD_LABEL: &str = match option_env!("CODEGEN_BUILD_LABEL") {
    Some(label) => label,
    None => env!("CARGO_PKG_VERSION"),
};

fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let label = HeaderValue::from_str(BUILD_LABEL)
        .unwrap_or_else(|_| HeaderValue::from_static(env!("CARGO_PKG_VERSION")));
    headers.insert(HeaderName::from_static(BUILD_HEADER), label);
    headers
}

/// A JSON response with the standard headers.
pub fn json<T: Serialize>(status: u16, body: &T) -> ApiGatewayV2httpResponse {
    // Serialising the contract types cannot fail (string keys, no maps with non-string keys);
    // the fallback keeps the handler total.
    let text = serde_json::to_string(body).unwrap_or_else(|_| {
        r#"{"error":{"code":"internal_error","message":"response serialisation failed"}}"#
            .to_owned()
    });
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(status);
    resp.headers = base_headers();
    resp.body = Some(Body::Text(text));
    resp.is_base64_encoded = false;
    resp
}

/// The 200 answer.
pub fn success(body: &GenerateResponse) -> ApiGatewayV2httpResponse {
    json(200, body)
}

/// The answer for an expected failure.
pub fn error(err: &ApiError) -> ApiGatewayV2httpResponse {
    let body = ErrorResponse {
        error: ErrorBody {
            code: err.code.as_str().to_owned(),
            message: err.message.clone(),
        },
    };
    let mut resp = json(err.status(), &body);
    if let Some(secs) = err.retry_after {
        resp.headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if err.code == ErrorCode::MethodNotAllowed {
        resp.headers
            .insert(ALLOW, HeaderValue::from_static(ROUTE_METHOD));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(resp: &ApiGatewayV2httpResponse) -> serde_json::Value {
        match &resp.body {
            Some(Body::Text(t)) => serde_json::from_str(t).expect("json"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn build_label_defaults_to_the_crate_version() {
        assert_eq!(codegen_contract::BUILD_LABEL_ENV, "CODEGEN_BUILD_LABEL");
        match option_env!("CODEGEN_BUILD_LABEL") {
            Some(l) => assert_eq!(BUILD_LABEL, l),
            None => assert_eq!(BUILD_LABEL, env!("CARGO_PKG_VERSION")),
        }
    }

    #[test]
    fn errors_are_contract_json_with_headers() {
        let resp = error(&ApiError::new(ErrorCode::InvalidJson, "bad").retry_after(3));
        assert_eq!(resp.status_code, 400);
        assert_eq!(resp.headers[CONTENT_TYPE], "application/json");
        assert_eq!(resp.headers[BUILD_HEADER], BUILD_LABEL);
        assert_eq!(resp.headers[RETRY_AFTER], "3");
        let parsed: ErrorResponse = serde_json::from_value(body_of(&resp)).expect("contract shape");
        assert_eq!(parsed.error.code, "invalid_json");
        assert_eq!(parsed.error.message, "bad");
    }

    #[test]
    fn method_not_allowed_names_the_allowed_method() {
        let resp = error(&ApiError::new(ErrorCode::MethodNotAllowed, "no"));
        assert_eq!(resp.status_code, 405);
        assert_eq!(resp.headers[ALLOW], "PUT");
        assert!(resp.headers.get(RETRY_AFTER).is_none());
    }
}
