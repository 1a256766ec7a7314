//! The API Gateway v2 (HTTP API, payload format 2.0) event a request becomes, for the tests that
//! feed requests to the function without a gateway: the request parser's unit tests and the
//! handler's hostile-input test. One builder, so a field the function starts to read is added in
//! one place. Pure: no IO.

use serde_json::{Value, json};

/// A request as API Gateway hands it to the function. [`HttpEvent::default`] is a valid
/// `PUT /code-generation` on the `$default` stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEvent<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw path, including any stage prefix.
    pub path: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// Route key API Gateway matched (`$default` for the catch-all route).
    pub route_key: &'a str,
    /// `content-type` header; `None` means the event carries no header.
    pub content_type: Option<&'a str>,
    /// Event body as API Gateway sets it (base64 text when `is_base64`); `None` means no body.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64: bool,
}

impl Default for HttpEvent<'_> {
    fn default() -> Self {
        Self {
            method: "PUT",
            path: codegen_contract::ROUTE_PATH,
            stage: "$default",
            route_key: "$default",
            content_type: Some("application/json"),
            body: Some(r#"{"message":"reverse a string","key":"python"}"#.to_owned()),
            is_base64: false,
        }
    }
}

impl HttpEvent<'_> {
    /// The event as JSON, to deserialise into `aws_lambda_events`' `ApiGatewayV2httpRequest`.
    pub fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        if let Some(content_type) = &self.content_type {
            headers.insert("content-type".to_owned(), json!(content_type));
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "requestId": "gw-request-id",
                "routeKey": self.route_key,
                "stage": self.stage,
                "time": "25/Nov/2026:16:30:12 +0000",
                "timeEpoch": 1795710612123_i64,
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "codegen-tests"
                }
            },
            "isBase64Encoded": self.is_base64
        });
        if let Some(body) = &self.body {
            event["body"] = json!(body);
        }
        event
    }
}
