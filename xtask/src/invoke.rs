//! `invoke`: sends the real `PUT /code-generation` request to the deployed route, signed with
//! SigV4 (service `execute-api`) when the route uses IAM auth, and prints the code and where it
//! was stored.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use codegen_contract::{BUILD_HEADER, ErrorResponse, GenerateRequest, GenerateResponse};
use codegen_infra::config::AuthMode;

use crate::aws::Clients;

/// The HTTP answer of the API.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The function's build label header, if sent.
    pub build: Option<String>,
    /// Raw body.
    pub body: String,
}

impl ApiResponse {
    /// The body as a success response.
    pub fn success(&self) -> Option<GenerateResponse> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body as an error response.
    pub fn error(&self) -> Option<ErrorResponse> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Signs `request` for API Gateway with the clients' credentials and region.
pub async fn sign_request(
    clients: &Clients,
    request: &mut http::Request<Vec<u8>>,
) -> anyhow::Result<()> {
    let provider = clients
        .sdk
        .credentials_provider()
        .context("no credentials provider configured: cannot sign the request")?;
    let credentials = provider
        .provide_credentials()
        .await
        .context("failed to load credentials to sign the request")?;
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&clients.region)
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .context("invalid signing parameters")?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .context("request cannot be signed")?;
    let (instructions, _signature) = sign(signable, &params)
        .context("failed to sign the request")?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// Sends a raw body to the route (signed unless `unsigned`), with a 35 s timeout (API Gateway
/// answers within 30 s).
pub async fn send_raw(
    clients: &Clients,
    url: &str,
    method: &str,
    body: Vec<u8>,
    content_type: &str,
    signed: bool,
) -> anyhow::Result<ApiResponse> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", content_type)
        .body(body)
        .context("invalid request")?;
    if signed {
        sign_request(clients, &mut request).await?;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(35))
        .build()
        .context("failed to build the HTTP client")?;
    let request =
        reqwest::Request::try_from(request.map(reqwest::Body::from)).context("invalid request")?;
    let response = client
        .execute(request)
        .await
        .with_context(|| format!("request to {url} failed"))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let build = header(BUILD_HEADER);
    let body = response
        .text()
        .await
        .context("failed to read the response body")?;
    Ok(ApiResponse {
        status,
        retry_after,
        build,
        body,
    })
}

/// Sends a generation request to the route, signing it when the stage uses IAM auth.
pub async fn invoke(
    clients: &Clients,
    auth: AuthMode,
    url: &str,
    request: &GenerateRequest,
) -> anyhow::Result<ApiResponse> {
    let body = serde_json::to_vec(request).context("failed to encode the request")?;
    send_raw(
        clients,
        url,
        "PUT",
        body,
        "application/json",
        auth == AuthMode::AwsIam,
    )
    .await
}

/// Fails with the API's error message unless the response is a 200.
pub fn expect_success(response: &ApiResponse) -> anyhow::Result<GenerateResponse> {
    if response.status != 200 {
        let detail = response
            .error()
            .map(|e| format!("{}: {}", e.error.code, e.error.message))
            .unwrap_or_else(|| response.body.clone());
        bail!("the API answered {}: {detail}", response.status);
    }
    response
        .success()
        .context("the API answered 200 with an unexpected body")
}
