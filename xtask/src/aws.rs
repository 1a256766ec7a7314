//! SDK clients, built once from `aws_config`: region, profile, credentials chain, endpoint
//! (`--endpoint`, `AWS_ENDPOINT_URL` or the stage's emulator endpoint), retries and timeouts.
//! Commands borrow [`Clients`]; nothing else builds a client.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use codegen_infra::StageConfig;

use crate::report::progress;

/// Where to connect, resolved from flags, environment and the stage file.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--endpoint`: overrides everything else.
    pub endpoint: Option<String>,
    /// `--region`: overrides the stage's region.
    pub region: Option<String>,
    /// `--profile`: a named profile from the shared config files.
    pub profile: Option<String>,
}

/// Every client the deployer uses, sharing one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The shared configuration (for signing `invoke` requests).
    pub sdk: SdkConfig,
    /// Region in use.
    pub region: String,
    /// Emulator endpoint, if any (`None`: real AWS).
    pub endpoint: Option<String>,
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3 (path-style when an endpoint is set).
    pub s3: aws_sdk_s3::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// API Gateway v2.
    pub apigw: aws_sdk_apigatewayv2::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// Bedrock control plane (model-access preflight).
    pub bedrock: aws_sdk_bedrock::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

/// The endpoint to use: `--endpoint`, else `AWS_ENDPOINT_URL`, else the stage's emulator endpoint.
pub fn resolve_endpoint(stage: &StageConfig, opts: &ConnectOptions) -> Option<String> {
    opts.endpoint
        .clone()
        .or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| stage.endpoint.clone())
}

/// Builds the clients for a stage.
pub async fn connect(stage: &StageConfig, opts: &ConnectOptions) -> Clients {
    let region = opts.region.clone().unwrap_or_else(|| stage.region.clone());
    let endpoint = resolve_endpoint(stage, opts);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.clone()))
        // CloudFormation and S3 throttle bursts of calls; the standard mode retries with jittered
        // backoff. Five attempts ride out a throttled burst without hiding a real outage.
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
        let has_env_credentials = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
        if stage.emulator.is_some() && !has_env_credentials && opts.profile.is_none() {
            // Emulators accept any key; without this the default chain would probe instance
            // metadata and stall for seconds before failing.
            progress(format!("using the emulator's test credentials for {url}"));
            loader = loader
                .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
        }
    }
    let sdk = loader.load().await;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
        // Emulators answer on one host; virtual-hosted bucket names would not resolve.
        .force_path_style(endpoint.is_some())
        .build();
    Clients {
        region,
        endpoint,
        cfn: aws_sdk_cloudformation::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        iam: aws_sdk_iam::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        apigw: aws_sdk_apigatewayv2::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        bedrock: aws_sdk_bedrock::Client::new(&sdk),
        logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
        sdk,
    }
}

/// The caller's account id and ARN (STS `GetCallerIdentity`), with a message that says what to
/// fix when there are no usable credentials.
pub async fn caller_identity(clients: &Clients) -> anyhow::Result<(String, String)> {
    use anyhow::Context;
    let out = clients.sts.get_caller_identity().send().await.with_context(|| {
        format!(
            "failed to identify the caller in {} (configure credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or OIDC)",
            clients.endpoint.as_deref().unwrap_or("AWS")
        )
    })?;
    Ok((
        out.account().unwrap_or_default().to_owned(),
        out.arn().unwrap_or_default().to_owned(),
    ))
}
