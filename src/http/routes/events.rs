//! `GET /v1/events/{event}`: the public state of an event, served from a snapshot at most a
//! second old ([`crate::http::public_snapshot`]).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::paths::EventPath;
use crate::http::state::AppState;
use crate::http::views::{PublicEventView, public_event_view};

/// The event's public state, with the wait a shopper joining now can expect.
#[utoipa::path(get, path = "/v1/events/{event}", tag = "shoppers",
    summary = "Public state of an event, with the wait a shopper joining now can expect",
    description = "Served from a snapshot at most a second old, so that a crowd of waiting pages costs the store one read per second.",
    params(EventPath),
    responses(
        (status = 200, description = "the event", body = PublicEventView),
        (status = 404, description = "no such event"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn public_state(
    State(state): State<AppState>,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    let now = state.now();
    let body = state
        .public_snapshots
        .get_or_build(&event, now, || async {
            let no_event = || ApiError::not_found(format!("no event {event}"));
            let config = state.store.event(&event).await?.ok_or_else(no_event)?;
            let stats = state.store.stats(&event).await?.ok_or_else(no_event)?;
            let view: PublicEventView = public_event_view(&config, &stats, now);
            serde_json::to_vec(&view).map_err(ApiError::internal)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
