//! `POST /v1/admin/events/{event}/checkout-health`: an external checkout reports how it is
//! doing, so the outflow of an event with a `checkout_target` follows it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::admission::checkout_health::{HealthReading, HealthSource};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::paths::EventPath;
use crate::http::routes::tickets::event_config;
use crate::http::state::AppState;
use crate::queue::backoff::CheckoutHealth;

/// The checkout's figures over its last spell (say the last 30 s).
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckoutHealthReport)]
pub struct CheckoutHealthBody {
    /// 95th percentile of the checkout's answer time, in ms.
    #[garde(range(max = 3_600_000))]
    #[schema(minimum = 0, maximum = 3_600_000)]
    pub p95_ms: u32,
    /// Share of the checkout's answers that failed (server errors, timeouts), 0 to 1.
    #[garde(range(min = 0.0, max = 1.0))]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub error_rate: f64,
    /// How many answers the figures rest on; fewer than 20 are not judged.
    #[garde(range(min = 1))]
    #[schema(minimum = 1)]
    pub samples: u32,
}

/// `POST /v1/admin/events/{event}/checkout-health`.
#[utoipa::path(post, path = "/v1/admin/events/{event}/checkout-health", tag = "operators",
    operation_id = "report_checkout_health",
    summary = "Report an external checkout's health",
    description = "For a shop that runs its own checkout: its p95 answer time, its share of failed answers and how many answers they rest on. The report is kept by the instance that receives it and wins over the built-in checkout's own figures for 30 s, so report every few seconds. While the event has a `checkout_target`, the outflow backs off when the report is worse than the target and climbs back when it is within it. Answers the health the outflow is now judged on.",
    params(EventPath),
    request_body = CheckoutHealthBody,
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the health the outflow is judged on", body = HealthReading),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no or bad admin token"),
        (status = 404, description = "no such event"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn report(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    ValidJson(body): ValidJson<CheckoutHealthBody>,
) -> Result<Json<HealthReading>, ApiError> {
    event_config(&state, &event).await?;
    let health = CheckoutHealth {
        p95_ms: body.p95_ms,
        error_rate: body.error_rate,
        samples: body.samples,
    };
    let now = state.now();
    state.checkout_health.report(&event, health, now);
    Ok(Json(HealthReading {
        health,
        source: HealthSource::Reported,
        at: now,
    }))
}
