//! Logging and tracing for both binaries: `tracing` to stdout (pretty in development, JSON
//! otherwise) and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans exported over OTLP/HTTP.
//!
//! It lives here because `provisioning` is the one library both services link and the fixed
//! workspace layout has no room for a plumbing crate. W3C trace context is the propagation format.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::Environment;

#[derive(Clone, Debug, clap::Args)]
pub struct TelemetrySettings {
    /// Log filter in `RUST_LOG` syntax.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub filter: String,
    /// Log format; defaults to `pretty` in development and `json` elsewhere.
    #[arg(long, env = "LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// OTLP/HTTP collector (e.g. `http://127.0.0.1:4318`); spans are exported when set.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Flushes and stops span export when dropped (at the end of `main`).
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.shutdown() {
                eprintln!("OpenTelemetry shutdown: {err}");
            }
        }
    }
}

/// Installs the global subscriber for `service`. Call once, early in `main`.
pub fn init(
    service: &'static str,
    environment: Environment,
    settings: &TelemetrySettings,
) -> TelemetryGuard {
    let format = settings.log_format.unwrap_or(match environment {
        Environment::Development => LogFormat::Pretty,
        Environment::Production => LogFormat::Json,
    });
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };

    let provider = settings.otlp_endpoint.as_ref().and_then(|_| {
        // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) itself.
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(Resource::builder().with_service_name(service).build())
                    .build(),
            ),
            Err(err) => {
                eprintln!("OTLP export disabled: {err}");
                None
            }
        }
    });
    let otel_layer = provider.as_ref().map(|provider| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer().with_tracer(provider.tracer(service))
    });

    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init();
    TelemetryGuard { provider }
}
