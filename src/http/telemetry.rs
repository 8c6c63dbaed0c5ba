//! Per-request telemetry: the span carrying the request id, and the request metrics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::PrometheusHandle;
use tracing::Span;

use crate::error::ProblemCode;
use crate::telemetry::metrics::{
    CHECKOUT_OUTCOMES, HTTP_DURATION, HTTP_REQUESTS, install, installed as metrics_installed,
};

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
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status();
    Span::current().record("status", status.as_u16());
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    if let Some(step) = checkout_step(route) {
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
    let elapsed = started.elapsed().as_secs_f64();
    request_series(route, method, status, |requests, duration| {
        requests.increment(1);
        duration.record(elapsed);
    });
    if status.is_server_error() {
        tracing::warn!(
            status = status.as_u16(),
            "request failed on the server side"
        );
    }
    response
}

/// The request counter and histogram of one route, method and status.
type Series = (Counter, Histogram);
/// Series by route template, then by method label and status.
type SeriesByRoute = HashMap<Box<str>, Vec<(&'static str, StatusCode, Series)>>;

/// The `method` label of a request: one of the standard methods, or `OTHER`. Clients may send
/// any token as a method; each distinct label value is a series held for the life of the
/// process, so invented methods must not become labels.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("OTHER", |(_, label)| label)
}

thread_local! {
    /// Each worker thread's handles of the request series it has met, by route template, then
    /// by method and status: looking a series up in the recorder (labels built and hashed, a
    /// shared map read) costs more than the request's own counting. Series never go away, so a
    /// handle stays good; the few routes, methods and statuses bound the table.
    static SERIES: RefCell<SeriesByRoute> = RefCell::new(HashMap::new());
}

fn request_series(
    route: &str,
    method: &'static str,
    status: StatusCode,
    use_it: impl FnOnce(&Counter, &Histogram),
) {
    // Handles are kept only once the process's recorder is in place: before, they are no-ops.
    if !metrics_installed() {
        let (requests, duration) = register_series(route, method, status);
        return use_it(&requests, &duration);
    }
    SERIES.with_borrow_mut(|series| {
        let by_route = match series.get_mut(route) {
            Some(by_route) => by_route,
            None => series.entry(route.into()).or_default(),
        };
        let found = by_route.iter().position(|(known_method, known_status, _)| {
            *known_method == method && *known_status == status
        });
        let index = found.unwrap_or_else(|| {
            by_route.push((method, status, register_series(route, method, status)));
            by_route.len() - 1
        });
        let (_, _, (requests, duration)) = &by_route[index];
        use_it(requests, duration);
    });
}

fn register_series(route: &str, method: &'static str, status: StatusCode) -> Series {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.as_u16().to_string()),
    ];
    (
        metrics::counter!(HTTP_REQUESTS, &labels),
        metrics::histogram!(HTTP_DURATION, &labels),
    )
}

pub(crate) fn checkout_step(route: &str) -> Option<&'static str> {
    match route {
        "/v1/events/{event}/checkout" => Some("checkout"),
        "/v1/events/{event}/orders/{order}/pay" => Some("pay"),
        _ => None,
    }
}
