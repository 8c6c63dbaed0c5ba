//! Operators' event endpoints: create, list, detail with live stats, and live changes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::admin_bodies::{CreateEventBody, PatchEventBody};
use crate::clock::to_rfc3339;
use crate::domain::{EventConfig, EventId, EventStats, event_status};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::paths::EventPath;
use crate::http::state::AppState;

/// `POST /v1/admin/events`: `201` with the event, `409 event_exists` if the id is taken.
pub async fn create(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<CreateEventBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let config = body.into_config(state.now())?;
    if !state.store.create_event(&config).await? {
        return Err(
            ApiError::new(StatusCode::CONFLICT, "event_exists", "The event exists")
                .detail(format!("an event {} exists already", config.id)),
        );
    }
    tracing::info!(event = %config.id, "event created");
    // This instance starts the outflow at once; others find the event at their next discovery.
    state.outflow.ensure_running(&config.id);
    Ok((
        StatusCode::CREATED,
        Json(detail_view(&state, &config.id).await?),
    ))
}

/// `GET /v1/admin/events`: every event with its live stats.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut events = Vec::new();
    for id in state.store.event_ids().await? {
        // An event deleted between the two reads is simply not listed.
        if let Ok(view) = detail_view(&state, &id).await {
            events.push(view);
        }
    }
    Ok(Json(json!({ "events": events })))
}

/// `GET /v1/admin/events/{event}`.
pub async fn detail(
    State(state): State<AppState>,
    EventPath(event): EventPath,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(detail_view(&state, &event).await?))
}

/// `PATCH /v1/admin/events/{event}`: any setting, live; `{"status":"paused"}` and `"open"`
/// stop and resume the outflow, `"closed"` ends the event.
pub async fn change(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    ValidJson(body): ValidJson<PatchEventBody>,
) -> Result<Json<Value>, ApiError> {
    let current = state
        .store
        .event(&event)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {event}")))?;
    let changed = body.apply(current)?;
    let updated = state.store.update_event(&changed).await;
    state.event_settings.forget(&event);
    if !updated? {
        return Err(ApiError::not_found(format!("no event {event}")));
    }
    tracing::info!(%event, "event changed");
    Ok(Json(detail_view(&state, &event).await?))
}

async fn detail_view(state: &AppState, event: &EventId) -> Result<Value, ApiError> {
    let no_event = || ApiError::not_found(format!("no event {event}"));
    let config = state.store.event(event).await?.ok_or_else(no_event)?;
    let stats = state.store.stats(event).await?.ok_or_else(no_event)?;
    let now = state.now();
    let actual = state.outflow_meter.record(event, stats.admitted, now);
    let mut view = admin_view(&config, &stats, now, actual);
    // Rates over the last seconds come from the live statistics' poll.
    let live = state.live_stats.event(event);
    view["joins_per_second"] = json!(live.as_ref().and_then(|live| live.joins_per_second));
    view["serving"] = json!(stats.serving);
    view["checkout"] = json!({
        "reserved": stats.orders_reserved,
        "paid": stats.orders_paid,
        "expired": stats.orders_expired,
    });
    Ok(view)
}

fn admin_view(
    config: &EventConfig,
    stats: &EventStats,
    now: crate::clock::UnixMillis,
    actual_outflow: Option<f64>,
) -> Value {
    let mut view = json!({
        "id": config.id.as_str(),
        "name": config.name,
        "status": event_status(config, stats.units_left(), now),
        "operator_status": config.operator_status,
        "starts_at": to_rfc3339(config.starts_at),
        "prequeue_opens_at": config.prequeue_opens_at.map(to_rfc3339),
        "outflow_per_second": config.outflow_per_second(),
        "outflow_burst": config.outflow_burst,
        "max_active": config.max_active,
        "cap_follows_stock": config.cap_follows_stock,
        "admission_ttl_seconds": config.admission_ttl_seconds,
        "reservation_ttl_seconds": config.reservation_ttl_seconds,
        "allow_anonymous": config.allow_anonymous,
        "inventory": config.inventory,
        "mode": config.mode,
        "abandon_after_seconds": config.abandon_after_seconds,
        "seed_hash": config.seed_hash,
        "created_at": to_rfc3339(config.created_at),
        "stats": stats,
        "outflow": {
            "set_per_second": config.outflow_per_second(),
            "actual_per_second": actual_outflow,
        },
    });
    // The seed stays secret until the draw, from operators' dashboards too.
    if stats.drawn {
        view["seed"] = json!(config.seed);
    }
    view
}
