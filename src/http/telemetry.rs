//! Per-request telemetry: the span carrying the request id, and the request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::PrometheusHandle;
use tracing::Span;

use crate::error::ProblemCode;
use crate::telemetry::metrics::{CHECKOUT_OUTCOMES, HTTP_DURATION, HTTP_REQUESTS, install};

/// The process's Prometheus recorder (see [`crate::telemetry::metrics::install`]).
pub fn prometheus_handle() -> PrometheusHandle {
    install()
}

/// The span of one request, named by its route and carrying its request id.
pub fn request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
        status = tracing::field::Empty,
    )
}

/// Middleware: counts requests and times them, by route template, method and status; counts
/// checkout outcomes by their problem code.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    Span::current().record("status", status.as_u16());
    if let Some(step) = checkout_step(&route) {
        let code = response
            .extensions()
            .get::<ProblemCode>()
            .map(|code| code.0);
        let outcome = match (code, step) {
            (Some(code), _) => code,
            (None, "checkout") => "reserved",
            (None, _) => "paid",
        };
        metrics::counter!(CHECKOUT_OUTCOMES, "step" => step, "outcome" => outcome).increment(1);
    }
    let labels = [
        ("route", route),
        ("method", method),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    if status.is_server_error() {
        tracing::warn!(
            status = status.as_u16(),
            "request failed on the server side"
        );
    }
    response
}

fn checkout_step(route: &str) -> Option<&'static str> {
    match route {
        "/v1/events/{event}/checkout" => Some("checkout"),
        "/v1/events/{event}/orders/{order}/pay" => Some("pay"),
        _ => None,
    }
}
