//! The HTTP edge of `invoke`: a request to the deployed API, signed with SigV4 (service
//! `execute-api`) when the route uses IAM auth, only for hosts that may receive the caller's
//! credentials (this region's API Gateway on AWS, loopback on an emulator), and the synchronous
//! route's call (`PUT /code-generation`).

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
    /// `Location`, if sent (a job's status URL).
    pub location: Option<String>,
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
pub(crate) async fn sign_request(
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
    send(
        clients,
        url,
        method,
        body,
        &[("content-type", content_type)],
        signed,
    )
    .await
}

/// Whether `url` is one `invoke` may sign a request for: the stack's own API, never a host taken
/// on trust from elsewhere. On AWS that is `https://<api id>.execute-api.<region>.amazonaws.com`
/// (API Gateway's default endpoint, "https://{api_id}.execute-api.{region}.amazonaws.com", API
/// Gateway developer guide, x-amazon-apigateway-endpoint-configuration), with `api_id` when known;
/// on an emulator endpoint (`emulator`), a loopback `http://` address. Pure.
pub(crate) fn check_signable_url(
    url: &str,
    region: &str,
    emulator: Option<&str>,
    api_id: Option<&str>,
) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let refuse = |why: String| -> anyhow::Result<()> {
        bail!("refusing to sign a request for {url}: {why}")
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("it carries user information".into());
    }
    if emulator.is_some() {
        let origin = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        if codegen_infra::config::is_loopback_http(&origin) {
            return Ok(());
        }
        return refuse(format!(
            "on an emulator endpoint only loopback http:// hosts are signed for, not {origin}"
        ));
    }
    let suffix = format!(".execute-api.{region}.amazonaws.com");
    let id = host.strip_suffix(&suffix).unwrap_or_default();
    let is_api_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if parsed.scheme() != "https" || parsed.port().is_some() || !is_api_id {
        return refuse(format!(
            "it is not an API Gateway endpoint of this region (https://<api id>{suffix})"
        ));
    }
    if let Some(expected) = api_id
        && id != expected
    {
        return refuse(format!("it is API {id}, not this stack's API {expected}"));
    }
    Ok(())
}

/// `check_signable_url` for `clients`, pinned to the stack's API id (its `ApiId` output).
pub fn check_invoke_url(clients: &Clients, url: &str, api_id: &str) -> anyhow::Result<()> {
    check_signable_url(
        url,
        &clients.region,
        clients.endpoint.as_deref(),
        Some(api_id),
    )
}

/// Sends a request with `headers` (signed with them unless `signed` is false). Redirects are not
/// followed: a signed request goes to the URL it was signed for and nowhere else, and it is signed
/// only for an API Gateway host of the clients' region or, on an emulator, a loopback host
/// (`check_signable_url`).
pub async fn send(
    clients: &Clients,
    url: &str,
    method: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
    signed: bool,
) -> anyhow::Result<ApiResponse> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(body).context("invalid request")?;
    if signed {
        check_signable_url(url, &clients.region, clients.endpoint.as_deref(), None)?;
        sign_request(clients, &mut request).await?;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(35))
        .redirect(reqwest::redirect::Policy::none())
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
    let location = header("location");
    let body = response
        .text()
        .await
        .context("failed to read the response body")?;
    Ok(ApiResponse {
        status,
        retry_after,
        build,
        location,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_only_for_this_regions_api_gateway_hosts_on_aws() {
        let ok = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation";
        assert!(check_signable_url(ok, "us-east-1", None, None).is_ok());
        assert!(check_signable_url(ok, "us-east-1", None, Some("a1b2c3d4e5")).is_ok());
        for (url, api_id) in [
            (ok, Some("zzzzzzzzzz")),
            (
                "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "http://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com:8443/dev/code-generation",
                None,
            ),
            ("https://evil.example.com/dev/code-generation", None),
            (
                "https://execute-api.us-east-1.amazonaws.com.evil.example.com/dev",
                None,
            ),
            (
                "https://x.y.execute-api.us-east-1.amazonaws.com/dev/code-generation",
                None,
            ),
            (
                "https://user@a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
                None,
            ),
            (
                "http://127.0.0.1:4566/_aws/execute-api/a/local/code-generation",
                None,
            ),
            ("not a url", None),
        ] {
            let err = check_signable_url(url, "us-east-1", None, api_id).expect_err(url);
            assert!(format!("{err:#}").contains("refusing to sign") || url == "not a url");
        }
    }

    #[test]
    fn signs_only_for_loopback_hosts_on_an_emulator() {
        let emulator = Some("http://127.0.0.1:4566");
        for url in [
            "http://127.0.0.1:4566/_aws/execute-api/a/local/code-generation",
            "http://127.0.0.1:5000/_aws/execute-api/a/local/code-generation",
            "http://localhost:4566/_aws/execute-api/a/local/code-generation",
        ] {
            assert!(
                check_signable_url(url, "us-east-1", emulator, None).is_ok(),
                "{url}"
            );
        }
        for url in [
            "http://10.0.0.1:4566/_aws/execute-api/a/local/code-generation",
            "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev/code-generation",
            "https://127.0.0.1:4566/x",
            "http://127.0.0.1@evil.example.com:4566/x",
        ] {
            assert!(
                check_signable_url(url, "us-east-1", emulator, None).is_err(),
                "{url}"
            );
        }
    }
}
