//! `GET /v1/admin/stream`: the dashboard's live feed, as server-sent events.
//!
//! One `stats` event per poll of the live statistics (about a second): every event's figures,
//! and the limiter across instances (refusals per rule, the clients refused most, the bans in
//! force, where the rules come from). It needs the admin token like every admin route; the dashboard reads it with
//! `fetch`, so the token travels in the `Authorization` header and never in a URL.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::admin::live_stats::StatsFrame;
use crate::http::routes::admin_ratelimit::BanView;
use crate::http::state::AppState;

/// `GET /v1/admin/stream`.
#[utoipa::path(get, path = "/v1/admin/stream", tag = "operators",
    summary = "The dashboard's live feed: server-sent events `stats` (every event's figures and the limiter) about once a second",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "an event stream", content_type = "text/event-stream", body = String),
    ))]
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let frames = state.live_stats.subscribe();
    let first = true;
    let events = stream::unfold(
        (state, frames, first),
        |(state, mut frames, first)| async move {
            // The first event goes out at once with the latest frame; then one per new frame.
            if !first && !next_frame(&mut frames, &state).await {
                return None;
            }
            let frame = frames.borrow_and_update().clone();
            let event = Event::default()
                .event("stats")
                .data(feed(&state, &frame).await.to_string());
            Some((Ok(event), (state, frames, false)))
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Waits for a new frame; `false` when the server is shutting down or the poll stopped.
async fn next_frame(frames: &mut watch::Receiver<Arc<StatsFrame>>, state: &AppState) -> bool {
    let mut stopping = state.shutdown.clone();
    if *stopping.borrow() {
        return false;
    }
    tokio::select! {
        changed = frames.changed() => changed.is_ok() && !*stopping.borrow(),
        _ = stopping.changed() => false,
    }
}

/// One event of the stream: the statistics and the limiter.
async fn feed(state: &AppState, frame: &StatsFrame) -> Value {
    // The same view of a ban as `GET /v1/admin/bans`, scope included.
    let bans: Vec<BanView> = match state.ratelimit.bans().await {
        Ok(bans) => bans.into_iter().map(BanView::from).collect(),
        Err(error) => {
            tracing::warn!(%error, "dashboard stream: bans unavailable");
            Vec::new()
        }
    };
    // Every instance's refusals, summed (the limiter exchanges tallies once a second).
    let tally = state.ratelimit.cluster_tally();
    json!({
        "at": frame.at,
        "events": frame.events,
        "ratelimit": {
            "refusals_per_rule": tally.refusals_per_rule,
            "top_limited_clients": tally.top_limited_clients,
            "instances": tally.instances,
            "bans": bans,
            // Whether the rules in force are stored ones (and which version) or the file's.
            "rules": state.ratelimit.rules_origin(),
        },
    })
}
