//! `GET /v1/events/{event}/draw`: the lottery's public record, from which anyone recomputes the
//! pre-queue's order (see [`crate::queue::draw`]).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::domain::{DrawPageOutcome, DrawPageRequest, TicketId};
use crate::error::ApiError;
use crate::http::paths::EventPath;
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
}

/// `GET /v1/events/{event}/draw`.
#[utoipa::path(get, path = "/v1/events/{event}/draw", tag = "shoppers",
    summary = "The pre-queue lottery's public record, to check the draw",
    description = "Before the draw: `seed_hash` only. When the pre-queue closes (at the start): `entrants_commitment`. After the draw: the `seed` and the entrants' ticket ids in draw order, paged with `after` and `limit`. Anyone can check that SHA-256(seed) is `seed_hash`, that the published entrants hash to `entrants_commitment`, and that sorting them by SHA-256(`seed:entrants_commitment:ticket_id`) gives the published order; `load/verify_draw.py` does it.",
    params(EventPath, DrawQuery),
    responses(
        (status = 200, description = "the draw's record", body = DrawView),
        (status = 404, description = "no such event"),
        (status = 422, description = "validation_failed: `after` is not a ticket id of this draw, or `limit` is not 1 to 1000"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn draw(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    query: Result<Query<DrawQuery>, QueryRejection>,
) -> Result<Json<DrawView>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_field("query", e.body_text()))?;
    let request = query.request()?;
    let config = event_config(&state, &event).await?;
    let page = match state.store.draw_page(&event, request).await? {
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
        entrants: drawn.then_some(page.entrants),
        next: page.next,
    }))
}
