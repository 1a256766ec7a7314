//! Traces: the function's own work (the model call, the S3 write, the syntax check) as X-Ray
//! subsegments of the segment Lambda records for each traced invocation.
//!
//! How it fits together, each piece checked against AWS's documentation (2026-12-07):
//!
//! - With `TracingConfig: {Mode: Active}` Lambda samples invocations, records its own segment and
//!   hands the function the trace header (`Root=…;Parent=…;Sampled=…`) in the runtime API's
//!   `Lambda-Runtime-Trace-Id` header; `lambda_runtime` puts it in `Context::xray_trace_id`
//!   ("Use Lambda environment variables", <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html>:
//!   `_X_AMZN_TRACE_ID` is not defined for OS-only runtimes, which take the header instead).
//! - "Lambda runs the X-Ray daemon and records a segment with details about invoking and running
//!   the function. For further instrumentation, you can bundle the X-Ray SDK with your function to
//!   record outgoing calls" ("AWS Lambda and AWS X-Ray",
//!   <https://docs.aws.amazon.com/xray/latest/devguide/xray-services-lambda.html>). Lambda sets
//!   `AWS_XRAY_DAEMON_ADDRESS` (`host:port`) to where that daemon listens.
//! - A subsegment sent on its own is a segment document with `type: "subsegment"` and a
//!   `parent_id`; documents go to the daemon over UDP behind the header
//!   `{"format": "json", "version": 1}` ("Sending trace data to AWS X-Ray",
//!   <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html>).
//!
//! There is no X-Ray SDK for Rust, and AWS now recommends OpenTelemetry over the X-Ray SDKs
//! (the same Lambda page: the SDKs and daemon entered maintenance mode on 2026-02-25). So the
//! spans are ordinary `tracing` spans with the OpenTelemetry semantic-convention fields
//! (`rpc.system = "aws-api"`, `rpc.service`, `rpc.method`, `otel.kind`), turned into OpenTelemetry
//! spans by `tracing-opentelemetry` and into X-Ray segment documents, sent to the daemon, by the
//! OpenTelemetry project's X-Ray exporter (`opentelemetry-aws`). This module only wires them:
//! which spans are exported ([`TARGET`] only), under which parent (the header's), and never a
//! trace of its own (the root sampler is "always off": a span is recorded only when Lambda
//! sampled the invocation).
//!
//! HTTP APIs start no trace: "X-Ray only supports tracing for REST APIs through API Gateway"
//! (<https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html>), so a trace
//! starts at the function.

use std::net::{SocketAddr, ToSocketAddrs};

use std::future::Future;

use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_aws::trace::XrayIdGenerator;
use opentelemetry_aws::xray_exporter::XrayExporter;
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::registry::LookupSpan;

/// The `tracing` target of every span that becomes a subsegment; no other span is exported (the
/// runtime's own spans, for one, would be orphans: Lambda's segment already covers them).
pub const TARGET: &str = "codegen_function::trace";

/// The variable Lambda sets to the daemon's address when the function is traced.
pub const DAEMON_ADDRESS_VAR: &str = codegen_contract::env::XRAY_DAEMON_ADDRESS;

/// The daemon's UDP address from the value of [`DAEMON_ADDRESS_VAR`]: `host:port`, or the SDKs'
/// two-address form `tcp:host:port udp:host:port` (either order), of which the UDP one is used
/// (the X-Ray SDK for Java's `DaemonConfiguration`, which reads the same variable and has
/// separate UDP and TCP addresses,
/// <https://docs.aws.amazon.com/xray-sdk-for-java/latest/javadoc/com/amazonaws/xray/config/DaemonConfiguration.html>,
/// checked 2026-12-07). `None` when the value names no address.
pub fn daemon_address(value: &str) -> Option<SocketAddr> {
    let value = value.trim();
    let udp = if value.contains(' ') || value.starts_with("udp:") || value.starts_with("tcp:") {
        value
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))?
    } else {
        value
    };
    udp.to_socket_addrs().ok()?.next()
}

/// A tracer provider that sends each finished span to the daemon at `daemon` as soon as it ends
/// (a Lambda environment is frozen between invocations, so nothing may wait in a batch), and
/// records a span only under a sampled parent taken from Lambda's trace header.
///
/// # Errors
/// The UDP socket could not be opened.
pub fn provider(daemon: SocketAddr) -> std::io::Result<SdkTracerProvider> {
    let exporter = XrayExporter::new(XrayDaemonClient::new(daemon)?);
    Ok(SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)))
        .with_id_generator(XrayIdGenerator::default())
        .with_simple_exporter(exporter)
        .build())
}

/// The layer that turns the spans of [`TARGET`] into OpenTelemetry spans of `provider`.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> Filtered<
    tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
    FilterFn,
    S,
>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let only_ours: FilterFn = FilterFn::new(|meta| meta.target() == TARGET);
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("codegen-function"))
        .with_filter(only_ours)
}

tokio::task_local! {
    /// The OpenTelemetry context of the current invocation: Lambda's segment as a remote parent
    /// when the invocation is sampled, empty otherwise.
    static INVOCATION: Context;
}

/// Runs `fut` (one invocation's handler) with `trace_header` (the context's `xray_trace_id`) as
/// the parent of every span [`aws_call_span!`] and [`local`] open inside it: their subsegments
/// hang directly under the segment Lambda records for the invocation, as an X-Ray SDK's would.
/// Without a header, or unsampled, nothing is recorded.
///
/// The parent travels in a task-local instead of an enclosing span because a span stays open
/// while anything created under it is alive (the SDK's own spans, its connections), so an
/// enclosing span's subsegment could be sent late or never.
pub async fn invocation<F: Future>(trace_header: Option<&str>, fut: F) -> F::Output {
    let context = trace_header
        .and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str)
        .map_or_else(Context::new, |parent| {
            Context::new().with_remote_span_context(parent)
        });
    INVOCATION.scope(context, fut).await
}

/// `span` with the current invocation's parent ([`invocation`]); outside one, a root span, which
/// the sampler never records.
pub fn adopt(span: tracing::Span) -> tracing::Span {
    let context = INVOCATION.try_with(Context::clone).unwrap_or_default();
    // An error here only means no OpenTelemetry layer is installed (tests, local runs).
    let _ = span.set_parent(context);
    span
}

/// The span of a call to an AWS service, named and classified the way X-Ray names AWS calls
/// (`namespace: "aws"`, the service as the subsegment's name, the operation in `aws.operation`).
#[macro_export]
macro_rules! aws_call_span {
    ($service:literal, $operation:literal) => {
        $crate::trace::adopt(::tracing::info_span!(
            target: $crate::trace::TARGET,
            $operation,
            otel.kind = "client",
            rpc.system = "aws-api",
            rpc.service = $service,
            rpc.method = $operation,
        ))
    };
}

/// The span of local work worth seeing on a trace (the syntax check).
pub fn local(name: &'static str) -> tracing::Span {
    adopt(tracing::info_span!(target: TARGET, "local", otel.name = name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn daemon_address_forms() {
        let one = daemon_address("169.254.79.129:2000");
        assert_eq!(one, "169.254.79.129:2000".parse().ok());
        let both = daemon_address("tcp:127.0.0.2:2001 udp:127.0.0.1:2000");
        assert_eq!(both, "127.0.0.1:2000".parse().ok());
        let reversed = daemon_address("udp:127.0.0.1:2000 tcp:127.0.0.2:2001");
        assert_eq!(reversed, "127.0.0.1:2000".parse().ok());
        assert_eq!(daemon_address("tcp:127.0.0.2:2001"), None);
        assert_eq!(daemon_address(""), None);
        assert_eq!(daemon_address("not an address"), None);
    }

    /// The documents the daemon at `socket` received, without the daemon header, as JSON.
    fn received(socket: &UdpSocket) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut buf = vec![0_u8; 65_536];
        while let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (header, body) = text
                .split_once('\n')
                .expect("daemon header, newline, document");
            assert_eq!(header, r#"{"format": "json", "version": 1}"#);
            out.push(serde_json::from_str(body).expect("a JSON segment document"));
        }
        out
    }

    fn daemon() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback daemon");
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        socket
    }

    /// A trace id of now: the exporter drops a span whose trace id's time part is older than
    /// X-Ray accepts (`ConstraintError::InvalidTraceId`), as an old fixed id in a test would be.
    fn root() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        format!("1-{now:08x}-bd862e3fe1be46a994272793")
    }
    const PARENT: &str = "53995c3f42cd8ad8";

    #[tokio::test]
    async fn sampled_invocation_sends_subsegments_under_lambdas_segment() {
        let socket = daemon();
        let provider = provider(socket.local_addr().expect("addr")).expect("provider");
        let subscriber = tracing_subscriber::registry().with(layer(&provider));
        let _guard = tracing::subscriber::set_default(subscriber);

        let root = root();
        let header = format!("Root={root};Parent={PARENT};Sampled=1");
        invocation(Some(&header), async {
            async {}
                .instrument(aws_call_span!("BedrockRuntime", "Converse"))
                .await;
            local("syntax check").in_scope(|| {});
            // Whatever spans enclose ours, Lambda's segment is their parent.
            tracing::info_span!("not ours").in_scope(|| {
                aws_call_span!("S3", "PutObject").in_scope(|| {});
            });
        })
        .await;

        let docs = received(&socket);
        assert_eq!(docs.len(), 3, "{docs:#?}");
        for doc in &docs {
            assert_eq!(doc["trace_id"], root.as_str(), "{doc}");
            assert_eq!(doc["type"], "subsegment", "{doc}");
            assert_eq!(doc["parent_id"], PARENT, "under Lambda's segment: {doc}");
            assert!(
                doc["end_time"].as_f64() >= doc["start_time"].as_f64(),
                "{doc}"
            );
        }
        let by_name = |name: &str| {
            docs.iter()
                .find(|d| d["name"] == name)
                .unwrap_or_else(|| panic!("no {name} in {docs:#?}"))
        };
        let converse = by_name("BedrockRuntime");
        assert_eq!(converse["namespace"], "aws");
        assert_eq!(converse["aws"]["operation"], "Converse");
        assert_eq!(by_name("S3")["aws"]["operation"], "PutObject");
        assert!(by_name("syntax check").get("namespace").is_none());
    }

    #[tokio::test]
    async fn unsampled_or_untraced_invocations_send_nothing() {
        let socket = daemon();
        let provider = provider(socket.local_addr().expect("addr")).expect("provider");
        let subscriber = tracing_subscriber::registry().with(layer(&provider));
        let _guard = tracing::subscriber::set_default(subscriber);

        let unsampled = format!("Root={};Parent={PARENT};Sampled=0", root());
        for header in [Some(unsampled.as_str()), None] {
            invocation(header, async {
                aws_call_span!("S3", "PutObject").in_scope(|| {});
            })
            .await;
        }
        // Outside any invocation too.
        local("syntax check").in_scope(|| {});
        assert!(received(&socket).is_empty());
    }
}
