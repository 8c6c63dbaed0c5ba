//! `GET /v1/events/{event}/draw`: the lottery's public record, from which anyone recomputes the
//! pre-queue's order (see [`crate::queue::draw`]) and each closed arrival window's
//! ([`super::draw_windows`]).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::domain::{DrawPageOutcome, DrawPageRequest, TicketId};
use crate::error::ApiError;
use crate::http::paths::EventPath;
use crate::http::routes::draw_windows::{WindowsView, windows_view};
use crate::http::routes::tickets::event_config;
use crate::http::state::AppState;

/// Entrants per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;
/// The most entrants one page holds.
const MOST_PER_PAGE: u32 = 1_000;

/// Which page of entrants.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrawQuery {
    /// The last ticket id of the previous page (its `next`); omitted for the first page.
    #[param(value_type = Option<String>, format = Uuid)]
    after: Option<String>,
    /// Page arrival window `window`'s entrants (in `windows.page`) instead of the pre-queue's.
    #[param(value_type = Option<u64>, minimum = 0)]
    window: Option<String>,
    /// Entrants per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// The draw's public record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Draw)]
pub struct DrawView {
    /// Lowercase hex SHA-256 of the seed, published before the draw.
    pub seed_hash: String,
    /// Lowercase hex SHA-256 of the entrants' ticket ids (hyphenated, lowercase) sorted
    /// ascending, each followed by a newline; `null` until the pre-queue closes.
    pub entrants_commitment: Option<String>,
    /// Whether the draw has happened.
    pub drawn: bool,
    /// The seed, once drawn: check that it hashes to `seed_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// How many entrants the draw placed, once drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrants_total: Option<u64>,
    /// This page's entrants' ticket ids in draw order (first place first), once drawn. An
    /// entrant's key is SHA-256 of `seed + ":" + entrants_commitment + ":" + ticket_id`; places
    /// go by ascending key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub entrants: Option<Vec<TicketId>>,
    /// The `after` of the next page; `null` on the last page and before the draw.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next: Option<TicketId>,
    /// The arrival windows' record, for an event with arrival windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsView>,
}

impl DrawQuery {
    /// The page asked for, or the 422 saying which parameter is wrong.
    fn request(&self) -> Result<DrawPageRequest, ApiError> {
        let after = self
            .after
            .as_deref()
            .map(|text| {
                TicketId::parse(text).map_err(|_| {
                    ApiError::invalid_field("after", "a ticket id (a UUID) from the draw")
                })
            })
            .transpose()?;
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MOST_PER_PAGE).contains(n))
                .ok_or_else(|| ApiError::invalid_field("limit", "a whole number from 1 to 1000"))?,
        };
        Ok(DrawPageRequest { after, limit })
    }

    /// The window asked for, if any, or the 422 saying it is not a window number.
    fn window(&self) -> Result<Option<u64>, ApiError> {
        self.window
            .as_deref()
            .map(|text| {
                text.parse::<u64>()
                    .map_err(|_| ApiError::invalid_field("window", "a window number (0, 1, ...)"))
            })
            .transpose()
    }
}

/// `GET /v1/events/{event}/draw`.
#[utoipa::path(get, path = "/v1/events/{event}/draw", tag = "shoppers",
    summary = "The pre-queue lottery's public record, to check the draw",
    description = "Before the draw: `seed_hash` only. When the pre-queue closes (at the start): `entrants_commitment`. After the draw: the `seed` and the entrants' ticket ids in draw order, paged with `after` and `limit`. Anyone can check that SHA-256(seed) is `seed_hash`, that the published entrants hash to `entrants_commitment`, and that sorting them by SHA-256(`seed:entrants_commitment:ticket_id`) gives the published order; `load/verify_draw.py` does it. An event with arrival windows adds `windows`: the window secret's `seed_hash` from the event's creation; each window's `seed` and entrant count 2 s after it closes (`closed`), its entrants in window order with `?window=N` (paged with `after` and `limit`, in `windows.page`; the pre-queue's `entrants` are then left out); the `secret` once no window can open any more. Sorting a window's entrants by the first 32 bits of SHA-1(`seed:ticket_id`), then by ticket id, gives the published order.",
    params(EventPath, DrawQuery),
    responses(
        (status = 200, description = "the draw's record", body = DrawView),
        (status = 404, description = "no such event"),
        (status = 422, description = "validation_failed: `after` is not a ticket id of this draw (or of the window asked for), `limit` is not 1 to 1000, or `window` names no window published yet"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn draw(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    query: Result<Query<DrawQuery>, QueryRejection>,
) -> Result<Json<DrawView>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_field("query", e.body_text()))?;
    let request = query.request()?;
    let window = query.window()?;
    let config = event_config(&state, &event).await?;
    // A window's page takes `after` and `limit`; the pre-queue then answers without entrants.
    let prequeue_request = match window {
        Some(_) => DrawPageRequest {
            after: None,
            limit: 0,
        },
        None => request,
    };
    let windows = windows_view(
        &state,
        &event,
        &config,
        window.map(|index| (index, request)),
    )
    .await?;
    let page = match state.store.draw_page(&event, prequeue_request).await? {
        DrawPageOutcome::Page(page) => page,
        DrawPageOutcome::UnknownCursor => {
            return Err(ApiError::invalid_field(
                "after",
                "names no entrant of this draw",
            ));
        }
        DrawPageOutcome::NoEvent => {
            return Err(ApiError::not_found(format!("no event {event}")));
        }
    };
    let drawn = page.drawn;
    Ok(Json(DrawView {
        seed_hash: config.seed_hash.clone(),
        entrants_commitment: page.commitment,
        drawn,
        seed: page.seed.filter(|_| drawn),
        entrants_total: drawn.then_some(page.entrants_total),
        entrants: (drawn && window.is_none()).then_some(page.entrants),
        next: page.next,
        windows,
    }))
}
