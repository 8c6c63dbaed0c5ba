//! Middleware: every answer of the built-in checkout (reserve and pay), timed and judged for the
//! outflow that follows the checkout's health.
//!
//! It sits outside the request timeout, so a checkout that timed out counts as the failure
//! (`503 timeout`) the shopper saw. Refusals by the rate limiter (`429`) are not the checkout's
//! answers and are left out; server errors (`5xx`) count as failures.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;
use super::telemetry::checkout_step;
use crate::domain::EventId;

/// Records the answer's time and outcome in [`AppState::checkout_health`].
pub async fn time_checkout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let on_checkout = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| checkout_step(route.as_str()).is_some());
    // `/v1/events/{event}/…`: the event is the third segment.
    let event = on_checkout
        .then(|| request.uri().path().split('/').nth(3).map(EventId::parse))
        .flatten()
        .and_then(Result::ok);
    let Some(event) = event else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS {
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        state
            .checkout_health
            .record(&event, state.now(), latency_ms, status.is_server_error());
    }
    response
}
