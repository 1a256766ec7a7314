//! SDK clients, built once from `aws_config`: region, profile, credentials chain, endpoint, retries
//! and timeouts. Commands borrow [`Clients`]; nothing else builds a client.
//!
//! Endpoints are a trust boundary: whoever chooses the endpoint receives every signed request and
//! answers every question the deployer asks (which stack exists, which URL to invoke). So an
//! endpoint override (`--endpoint`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, a profile's
//! `endpoint_url`) is honoured only for stages marked `emulator:` in their stage file, and only to
//! a loopback `http://` address; for any other stage it is refused. On an emulator endpoint the
//! emulator's own credentials (`test`/`test`) are always used, never the caller's.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;
use codegen_infra::StageConfig;
use codegen_infra::config::is_loopback_http;

use crate::report::progress;

/// The environment variable the SDKs read as a global endpoint override.
pub(crate) const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL";

/// The emulator's credentials: ministack (like LocalStack) accepts `test`/`test` as its root
/// account's key, and a deployer pointed at an emulator must never send anything else.
pub(crate) const EMULATOR_ACCESS_KEY: &str = "test";

/// Where to connect, resolved from flags, environment and the stage file.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--endpoint`: overrides everything else (emulator stages only).
    pub endpoint: Option<String>,
    /// `--region`: overrides the stage's region.
    pub region: Option<String>,
    /// `--profile`: a named profile from the shared config files (ignored on emulator endpoints).
    pub profile: Option<String>,
    /// `--assume-role`: act as this role (`sts:AssumeRole` with the credentials above), e.g. the
    /// bootstrap's deploy role for a person deploying by hand, as CDK assumes its deploy role.
    /// CI gets the role from its OIDC token instead and leaves this unset.
    pub assume_role: Option<String>,
}

impl ConnectOptions {
    /// Options that target the emulator at `endpoint` and set nothing else.
    pub fn emulator(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            ..Self::default()
        }
    }
}

/// Every client the deployer uses, sharing one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The shared configuration (for signing `invoke` requests).
    pub sdk: SdkConfig,
    /// Region in use.
    pub region: String,
    /// Emulator endpoint, if any (`None`: real AWS).
    pub(crate) endpoint: Option<String>,
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
    pub(crate) bedrock: aws_sdk_bedrock::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

/// The endpoint for `stage`, from `--endpoint` (`flag`), else `AWS_ENDPOINT_URL` (`env`), else the
/// stage's own emulator endpoint. An override is refused unless the stage is an emulator stage
/// and the override is a loopback `http://` URL (parsed, not prefix-matched). Pure.
pub(crate) fn endpoint_for(
    stage: &StageConfig,
    flag: Option<&str>,
    env: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let chosen = match (flag, env.filter(|v| !v.is_empty())) {
        (Some(url), _) => Some((url, "--endpoint")),
        (None, Some(url)) => Some((url, ENDPOINT_ENV)),
        (None, None) => None,
    };
    let Some((url, source)) = chosen else {
        return Ok(stage.endpoint.clone());
    };
    if stage.emulator.is_none() {
        bail!(
            "refusing the endpoint override {source}={url} for stage `{}`: it is not an emulator \
             stage (no `emulator:` in its stage file), and an endpoint override would send its \
             signed requests, and the answers the deployer acts on, to another server. Unset \
             {source} to use AWS, or use an emulator stage (`--stage local`)",
            stage.name
        );
    }
    if !is_loopback_http(url) {
        bail!(
            "refusing the endpoint override {source}={url} for stage `{}`: an emulator endpoint \
             must be a loopback address (http://127.0.0.1:<port>, http://localhost:<port>)",
            stage.name
        );
    }
    Ok(Some(url.to_owned()))
}

/// Refuses service-specific endpoint variables (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_STS`,
/// ...) for a stage that is not an emulator stage: the SDK honours them ahead of the global one,
/// also for the STS calls of the credentials chain. On emulator stages every client's endpoint is
/// set explicitly, which takes precedence. Pure.
pub(crate) fn check_service_endpoint_vars<'a>(
    stage: &StageConfig,
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<()> {
    if stage.emulator.is_some() {
        return Ok(());
    }
    let prefix = format!("{ENDPOINT_ENV}_");
    let mut set: Vec<&str> = vars
        .into_iter()
        .filter(|(name, value)| name.starts_with(&prefix) && !value.is_empty())
        .map(|(name, _)| name)
        .collect();
    if set.is_empty() {
        return Ok(());
    }
    set.sort_unstable();
    bail!(
        "refusing the endpoint override{} {} for stage `{}`: it is not an emulator stage, so its \
         requests go to AWS only. Unset {}",
        if set.len() > 1 { "s" } else { "" },
        set.join(", "),
        stage.name,
        if set.len() > 1 { "them" } else { "it" },
    )
}

/// The checked endpoint for `stage` from `opts` and the process environment (see
/// [`endpoint_for`]).
pub(crate) fn checked_endpoint(
    stage: &StageConfig,
    opts: &ConnectOptions,
) -> anyhow::Result<Option<String>> {
    let env = std::env::var(ENDPOINT_ENV).ok();
    endpoint_for(stage, opts.endpoint.as_deref(), env.as_deref())
}

/// Builds the clients for a stage, refusing endpoint overrides the stage may not use.
pub async fn try_connect(stage: &StageConfig, opts: &ConnectOptions) -> anyhow::Result<Clients> {
    let endpoint = checked_endpoint(stage, opts)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    check_service_endpoint_vars(stage, env.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let region = opts.region.clone().unwrap_or_else(|| stage.region.clone());
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
    match &endpoint {
        Some(url) => {
            // The emulator's key, whatever the caller has: real credentials must never be sent to
            // (and so be signed for) a process on this machine. No profile is read either.
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() || opts.profile.is_some() {
                progress(format!(
                    "using the emulator's test credentials for {url}, not the caller's own"
                ));
            }
            loader = loader
                .endpoint_url(url)
                .credentials_provider(Credentials::new(
                    EMULATOR_ACCESS_KEY,
                    EMULATOR_ACCESS_KEY,
                    None,
                    None,
                    "emulator",
                ));
        }
        None => {
            if let Some(profile) = &opts.profile {
                loader = loader.profile_name(profile);
            }
        }
    }
    let mut sdk = loader.load().await;
    if endpoint.is_none()
        && let Some(url) = sdk.endpoint_url()
    {
        bail!(
            "refusing the endpoint {url} configured in the shared AWS config (`endpoint_url`) for \
             stage `{}`: it is not an emulator stage, so its requests go to AWS only",
            stage.name
        );
    }
    if endpoint.is_none() {
        crate::identity::require_credentials(&sdk).await?;
    }
    if let Some(role) = &opts.assume_role {
        sdk = assume_role(&sdk, endpoint.as_deref(), role).await?;
    }
    let clients = clients_from(sdk, region, endpoint, None);
    // Emulator stages answer only once the emulator runs: they are checked by
    // `local::connect_starting_emulator` after it starts, and only when they name an account.
    if clients.endpoint.is_none() {
        check_account(&clients, stage).await?;
    }
    Ok(clients)
}

/// The configuration `sdk` with the credentials of a session of `role` (`sts:AssumeRole`, signed
/// with `sdk`'s credentials, at the same endpoint).
async fn assume_role(
    sdk: &SdkConfig,
    endpoint: Option<&str>,
    role: &str,
) -> anyhow::Result<SdkConfig> {
    use anyhow::Context;
    let mut builder = aws_sdk_sts::config::Builder::from(sdk);
    builder.set_endpoint_url(endpoint.map(str::to_owned));
    let sts = aws_sdk_sts::Client::from_conf(builder.build());
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name("codegen-xtask")
        .send()
        .await
        .with_context(|| format!("failed to assume role {role}"))?;
    let c = out
        .credentials()
        .with_context(|| format!("assuming {role} returned no credentials"))?;
    let credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "assume-role",
    );
    progress(format!("acting as {role}"));
    Ok(sdk
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build())
}

/// Builds the clients for a stage. An endpoint override the stage may not use is refused: the
/// refusal is printed and every call made with these clients fails with it. Prefer
/// [`try_connect`], which returns the refusal as an error before anything is built.
pub async fn connect(stage: &StageConfig, opts: &ConnectOptions) -> Clients {
    match try_connect(stage, opts).await {
        Ok(clients) => clients,
        Err(refusal) => {
            let message = format!("{refusal:#}");
            progress(&message);
            let region = opts.region.clone().unwrap_or_else(|| stage.region.clone());
            let sdk = SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(aws_config::Region::new(region.clone()))
                .build();
            clients_from(sdk, region, None, Some(RefuseEveryCall(message.into())))
        }
    }
}

/// Fails every call before anything is sent, with the reason the endpoint was refused.
#[derive(Debug, Clone)]
struct RefuseEveryCall(Arc<str>);

impl Intercept for RefuseEveryCall {
    fn name(&self) -> &'static str {
        "RefuseEveryCall"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Err(self.0.to_string().into())
    }
}

/// One client per service, each with its endpoint set explicitly: the emulator's, or none (the
/// service's AWS endpoint). Setting it on the client replaces any service-specific endpoint the
/// shared configuration would otherwise apply.
fn clients_from(
    sdk: SdkConfig,
    region: String,
    endpoint: Option<String>,
    refuse: Option<RefuseEveryCall>,
) -> Clients {
    macro_rules! client {
        ($krate:ident $(, $extra:ident($value:expr))*) => {{
            let mut builder = $krate::config::Builder::from(&sdk);
            builder.set_endpoint_url(endpoint.clone());
            $(builder = builder.$extra($value);)*
            if let Some(refuse) = &refuse {
                builder = builder.interceptor(refuse.clone());
            }
            $krate::Client::from_conf(builder.build())
        }};
    }
    Clients {
        cfn: client!(aws_sdk_cloudformation),
        // Emulators answer on one host; virtual-hosted bucket names would not resolve.
        s3: client!(aws_sdk_s3, force_path_style(endpoint.is_some())),
        iam: client!(aws_sdk_iam),
        lambda: client!(aws_sdk_lambda),
        apigw: client!(aws_sdk_apigatewayv2),
        sts: client!(aws_sdk_sts),
        bedrock: client!(aws_sdk_bedrock),
        logs: client!(aws_sdk_cloudwatchlogs),
        region,
        endpoint,
        sdk,
    }
}

/// Asks STS who the caller is and checks the account against the stage
/// ([`crate::identity::accept_account`]). Returns the caller's account id.
pub(crate) async fn check_account(
    clients: &Clients,
    stage: &StageConfig,
) -> anyhow::Result<String> {
    let (actual, _) = caller_identity(clients).await?;
    crate::identity::accept_account(stage, &actual)?;
    Ok(actual)
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

#[cfg(test)]
mod tests {
    use super::*;
    use codegen_infra::config::parse_stage;

    fn stage(name: &str) -> StageConfig {
        let root = crate::project_root();
        codegen_infra::load_stage(&root, name).expect("stage loads")
    }

    #[test]
    fn aws_stages_refuse_every_endpoint_override() {
        let dev = stage("dev");
        assert_eq!(endpoint_for(&dev, None, None).expect("no override"), None);
        assert_eq!(
            endpoint_for(&dev, None, Some("")).expect("empty is unset"),
            None
        );
        for (flag, env) in [
            (Some("http://127.0.0.1:4566"), None),
            (None, Some("http://127.0.0.1:4566")),
            (None, Some("https://evil.example.com")),
            (
                Some("https://s3.amazonaws.com"),
                Some("http://127.0.0.1:4566"),
            ),
        ] {
            let err = endpoint_for(&dev, flag, env).expect_err("refused");
            let message = format!("{err:#}");
            assert!(message.contains("not an emulator stage"), "{message}");
            assert!(message.contains("`dev`"), "{message}");
        }
    }

    #[test]
    fn emulator_stages_take_loopback_overrides_only() {
        let local = stage("local");
        assert_eq!(
            endpoint_for(&local, None, None).expect("the stage's own"),
            local.endpoint
        );
        assert_eq!(
            endpoint_for(
                &local,
                Some("http://127.0.0.1:5000"),
                Some("http://127.0.0.1:6000")
            )
            .expect("flag wins"),
            Some("http://127.0.0.1:5000".to_owned())
        );
        assert_eq!(
            endpoint_for(&local, None, Some("http://localhost:6000/")).expect("env"),
            Some("http://localhost:6000/".to_owned())
        );
        for url in [
            "http://10.0.0.1:4566",
            "https://127.0.0.1:4566",
            "http://127.0.0.1@evil.example.com:4566",
            "http://localhost.evil.example.com:4566",
            "http://127.0.0.1:4566/path",
            "127.0.0.1:4566",
        ] {
            let err = endpoint_for(&local, Some(url), None).expect_err(url);
            assert!(format!("{err:#}").contains("loopback"), "{url}: {err:#}");
            assert!(endpoint_for(&local, None, Some(url)).is_err(), "{url}");
        }
    }

    #[test]
    fn service_specific_endpoints_are_refused_on_aws_stages_only() {
        let vars = [
            ("AWS_ENDPOINT_URL_STS", "https://sts.evil.example.com"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_EMPTY", ""),
            ("AWS_REGION", "us-east-1"),
        ];
        let err = check_service_endpoint_vars(&stage("dev"), vars).expect_err("refused");
        let message = format!("{err:#}");
        assert!(
            message.contains("AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS"),
            "{message}"
        );
        assert!(!message.contains("EMPTY"), "{message}");
        assert!(check_service_endpoint_vars(&stage("dev"), [("AWS_REGION", "x")]).is_ok());
        assert!(check_service_endpoint_vars(&stage("local"), vars).is_ok());
    }

    #[test]
    fn an_aws_stage_with_an_endpoint_in_its_file_is_not_an_emulator_stage() {
        // The stage file cannot name an endpoint without `emulator:` (validation), so an AWS
        // stage never has one to honour.
        let text = include_str!("../../infra/stages/dev.yaml").replace(
            "region: us-east-1",
            "region: us-east-1\nendpoint: http://127.0.0.1:4566",
        );
        assert!(parse_stage("dev", "dev.yaml", &text).is_err());
    }

    #[tokio::test]
    async fn a_refused_override_fails_every_call_with_the_reason() {
        let dev = stage("dev");
        let opts = ConnectOptions::emulator("http://127.0.0.1:9");
        let err = try_connect(&dev, &opts).await.expect_err("refused");
        assert!(format!("{err:#}").contains("not an emulator stage"));
        let clients = connect(&dev, &opts).await;
        assert_eq!(clients.endpoint, None);
        let err = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .expect_err("every call is refused");
        let chain = format!("{:#}", anyhow::Error::new(err));
        assert!(chain.contains("not an emulator stage"), "{chain}");
    }

    #[tokio::test]
    async fn emulator_clients_use_the_emulators_credentials() {
        let local = stage("local");
        let opts = ConnectOptions {
            endpoint: Some("http://127.0.0.1:9".into()),
            profile: Some("someone-elses-profile".into()),
            ..ConnectOptions::default()
        };
        let clients = try_connect(&local, &opts)
            .await
            .expect("loopback is allowed");
        assert_eq!(clients.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        use aws_credential_types::provider::ProvideCredentials;
        let creds = clients
            .sdk
            .credentials_provider()
            .expect("a provider")
            .provide_credentials()
            .await
            .expect("static credentials");
        assert_eq!(creds.access_key_id(), EMULATOR_ACCESS_KEY);
        assert_eq!(creds.secret_access_key(), EMULATOR_ACCESS_KEY);
    }
}
