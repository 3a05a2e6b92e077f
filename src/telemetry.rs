//! The node's telemetry wiring.
//!
//! - Metrics: the OpenTelemetry meter provider whose Prometheus exporter
//!   feeds the process-wide Prometheus registry that `GET /metrics` renders.
//!   Instruments are named in each crate's metrics module
//!   (`actors::metrics`, `storage::metrics`, `gpu::telemetry`,
//!   `supervisor::metrics`, `http::metrics`); this module only connects them.
//! - Traces and logs (`[telemetry]`): the `tracing` spans of requests,
//!   negotiations and model batches become OpenTelemetry spans when JSON logs
//!   or OTLP export are on; JSON log lines then carry `trace_id`/`span_id`,
//!   and spans are exported over OTLP/HTTP when an endpoint is configured.

use crate::config::{LogFormat, TelemetrySection};
use anyhow::{Context, Result};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_http::HttpError;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;
use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

static PROVIDER: OnceLock<SdkMeterProvider> = OnceLock::new();

/// Installs the global meter provider, once per process (a test process may
/// start several nodes: they share it). Call before anything records.
pub fn init_metrics() -> Result<()> {
    if PROVIDER.get().is_some() {
        return Ok(());
    }
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(prometheus::default_registry().clone())
        // Names are written out in full (`_total`, `_seconds`) where they are defined.
        .without_units()
        .without_counter_suffixes()
        .without_target_info()
        .scope_info_enabled(false)
        .build()
        .context("building the Prometheus exporter")?;
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    if PROVIDER.set(provider.clone()).is_ok() {
        opentelemetry::global::set_meter_provider(provider);
    }
    Ok(())
}

static TRACER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Longest wait for one OTLP export.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs the log subscriber per `[telemetry]` (`RUST_LOG` filters), with
/// the OpenTelemetry bridge when JSON logs or OTLP export are on. Call once,
/// inside the tokio runtime (the exporter sends on it).
pub fn init_tracing(cfg: &TelemetrySection) -> Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into());
    let traced = cfg.log_format == LogFormat::Json || !cfg.otlp_endpoint.is_empty();
    let otel = if traced {
        let mut builder =
            SdkTracerProvider::builder().with_resource(Resource::builder().with_service_name("autoglm").build());
        if !cfg.otlp_endpoint.is_empty() {
            let endpoint = format!("{}/v1/traces", cfg.otlp_endpoint.trim_end_matches('/'));
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(HyperOnTokio::new())
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .context("[telemetry] otlp_endpoint")?;
            builder = builder.with_batch_exporter(exporter);
        }
        let provider = builder.build();
        let tracer = provider.tracer("autoglm");
        let _ = TRACER.set(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    } else {
        None
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match cfg.log_format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(WithTraceIds(tracing_subscriber::fmt::format().json().with_current_span(true))),
            )
            .try_init(),
    }
    .context("installing the log subscriber")
}

/// Sends the spans still buffered (graceful shutdown); no-op without traces.
pub async fn shutdown_tracing() {
    if let Some(provider) = TRACER.get().cloned() {
        // Blocks until the exporter is done, which needs the runtime: off its threads.
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "flushing traces");
        }
    }
}

/// A JSON event format that starts each line with the current span's
/// OpenTelemetry `trace_id` and `span_id`, then the wrapped format's fields.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let ids = ctx.lookup_current().and_then(|span| {
            tracing::dispatcher::get_default(|d| tracing_opentelemetry::get_otel_context(&span.id(), d)).and_then(
                |cx| {
                    let sc = cx.span().span_context().clone();
                    sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
                },
            )
        });
        match (ids, line.strip_prefix('{')) {
            (Some((trace, span)), Some(rest)) => {
                write!(writer, "{{\"trace_id\":\"{trace}\",\"span_id\":\"{span}\",{rest}")
            }
            _ => writer.write_str(&line),
        }
    }
}

/// The OTLP exporter's HTTP client: hyper, with every request run on the
/// node's tokio runtime (the batch exporter calls from its own thread).
#[derive(Debug)]
struct HyperOnTokio {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    runtime: tokio::runtime::Handle,
}

impl HyperOnTokio {
    fn new() -> Self {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Self { client, runtime: tokio::runtime::Handle::current() }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HyperOnTokio {
    async fn send_bytes(
        &self,
        request: hyper::Request<bytes::Bytes>,
    ) -> Result<hyper::Response<bytes::Bytes>, HttpError> {
        use http_body_util::BodyExt;
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let request = hyper::Request::from_parts(parts, http_body_util::Full::new(body));
        self.runtime
            .spawn(async move {
                let response = tokio::time::timeout(EXPORT_TIMEOUT, client.request(request))
                    .await
                    .map_err(|_| "OTLP export timed out")??;
                let (parts, body) = response.into_parts();
                let body = body.collect().await?.to_bytes();
                Ok::<_, HttpError>(hyper::Response::from_parts(parts, body))
            })
            .await?
    }
}
