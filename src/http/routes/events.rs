//! `GET /v1/events/{event}`: the public state of an event.

use axum::Json;
use axum::extract::State;

use crate::error::ApiError;
use crate::http::paths::EventPath;
use crate::http::state::AppState;
use crate::http::views::{PublicEventView, public_event_view};

/// The event's public state, with the wait a shopper joining now can expect.
#[utoipa::path(get, path = "/v1/events/{event}", tag = "shoppers",
    summary = "Public state of an event, with the wait a shopper joining now can expect",
    params(EventPath),
    responses(
        (status = 200, description = "the event", body = PublicEventView),
        (status = 404, description = "no such event"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn public_state(
    State(state): State<AppState>,
    EventPath(event): EventPath,
) -> Result<Json<PublicEventView>, ApiError> {
    let no_event = || ApiError::not_found(format!("no event {event}"));
    let config = state.store.event(&event).await?.ok_or_else(no_event)?;
    let stats = state.store.stats(&event).await?.ok_or_else(no_event)?;
    Ok(Json(public_event_view(&config, &stats, state.now())))
}
