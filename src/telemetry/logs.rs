//! Logging set-up: JSON lines in production, readable lines in a terminal. `RUST_LOG` filters.
//!
//! Every request runs in one `request` span carrying its method, route, request id and status
//! (see [`crate::http::telemetry`]); JSON lines include the span's fields.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Installs the global tracing subscriber, writing to standard output (once; later calls change
/// nothing, so tests keep theirs).
pub fn init_tracing(format: LogFormat) {
    let _ = tracing::subscriber::set_global_default(subscriber(format, std::io::stdout));
}

/// The subscriber of `format` writing to `writer`, filtered by `RUST_LOG` (default `info`).
///
/// JSON lines carry the event's fields at the top level and the current span's fields (the
/// request's method, route, request id and status) under `span`.
pub fn subscriber<W>(format: LogFormat, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .finish(),
        ),
        LogFormat::Pretty => Box::new(builder.compact().finish()),
    }
}
