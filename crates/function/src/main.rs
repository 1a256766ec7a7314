//! Lambda entry point: JSON logs, configuration and SDK clients built once per cold start, then
//! the runtime loop with the handler borrowing them.

// The runtime's service layers around the handler (and the metrics scope around each request)
// nest futures past the default query depth of 128 when the compiler lays out `main`'s future.
#![recursion_limit = "256"]

use aws_config::BehaviorVersion;
use codegen_function::config::Role;
use codegen_function::worker::{self, SqsEvent};
use codegen_function::{BUILD_LABEL, Config, Deps, clients, handle, pipeline, trace};
use lambda_runtime::{LambdaEvent, service_fn};
use time::OffsetDateTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // CloudWatch adds its own timestamp and has no terminal: JSON lines, no colour codes. The log
    // level filters the log lines only; the trace layer exports its own spans whatever the level.
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    // Lambda sets the daemon's address on a traced function (crates/function/src/trace.rs).
    let traces = std::env::var(trace::DAEMON_ADDRESS_VAR)
        .ok()
        .and_then(|value| trace::daemon_address(&value))
        .map(trace::provider)
        .transpose()?;
    tracing_subscriber::registry()
        .with(logs)
        .with(traces.as_ref().map(trace::layer))
        .init();

    let config = Config::from_env().inspect_err(|e| {
        tracing::error!(build = BUILD_LABEL, error = %e, "invalid configuration");
    })?;
    // aws_config reads the region, credentials and AWS_ENDPOINT_URL from the environment.
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let bedrock = clients::bedrock_client(&sdk, &config);
    let s3 = clients::s3_client(&sdk, &config);
    let sqs = (config.role == Role::Submit).then(|| clients::sqs_client(&sdk));
    let dynamodb = config
        .quotas
        .as_ref()
        .map(|_| clients::dynamodb_client(&sdk));
    tracing::info!(
        build = BUILD_LABEL,
        model = %config.model_id,
        bucket = %config.bucket,
        prefix = %config.prefix,
        region = sdk.region().map_or("(none)", |r| r.as_ref()),
        custom_endpoint = sdk.endpoint_url().is_some(),
        s3_force_path_style = config.s3_force_path_style,
        model_timeout_ms = u64::try_from(config.model_timeout.as_millis()).unwrap_or(u64::MAX),
        role = config.role.as_str(),
        repair = config.repair.as_str(),
        quotas = config.quotas.is_some(),
        "cold start"
    );

    let deps = Deps {
        bedrock: &bedrock,
        s3: &s3,
        sqs: sqs.as_ref(),
        dynamodb: dynamodb.as_ref(),
        config: &config,
        clock: OffsetDateTime::now_utc,
    };
    if config.role == Role::Worker {
        lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
            let deadline = pipeline::deadline_from_epoch_ms(event.context.deadline);
            let trace_header = event.context.xray_trace_id.clone();
            let response = trace::invocation(
                trace_header.as_deref(),
                worker::handle(&deps, event.payload, deadline),
            )
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }))
        .await
    } else {
        lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async {
            let trace_header = event.context.xray_trace_id.clone();
            trace::invocation(trace_header.as_deref(), handle(&deps, event)).await
        }))
        .await
    }
}
