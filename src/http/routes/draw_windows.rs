//! The arrival windows' part of the draw's public record (`windows` in
//! `GET /v1/events/{event}/draw`): what lets anyone recompute each closed window's order (see
//! [`crate::queue::window`]). Nothing about a window is shown before it is published.

use serde::Serialize;

use crate::clock::to_rfc3339;
use crate::domain::{DrawPageRequest, EventConfig, EventId, TicketId};
use crate::error::ApiError;
use crate::http::state::AppState;

/// The arrival windows' record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DrawWindows)]
pub struct WindowsView {
    /// Lowercase hex SHA-256 of the window secret, published from the event's creation.
    pub seed_hash: String,
    /// The window secret, once no window can open any more (`null` before): check that it
    /// hashes to `seed_hash` and that every window's `seed` is SHA-1 of `secret + ":" + window`.
    pub secret: Option<String>,
    /// The windows published so far (those that closed at least 2 s ago and had entrants),
    /// earliest first.
    pub closed: Vec<ClosedWindowView>,
    /// With `?window=`: a page of that window's entrants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<WindowEntrantsView>,
}

/// One published window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DrawWindow)]
pub struct ClosedWindowView {
    /// The window's number: 0 for the opening window, then 1, 2, ... (`?window=` pages it).
    pub window: u64,
    /// When the window opened.
    pub opens_at: String,
    /// When the window closed.
    pub closes_at: String,
    /// The window's seed, lowercase hex SHA-1 of `secret + ":" + window`. An entrant's slot is
    /// the first 32 bits (8 hex digits) of SHA-1 of `seed + ":" + ticket_id`.
    pub seed: String,
    /// How many joined in the window, whether they left or were admitted since.
    pub entrants_total: u64,
}

/// A page of one window's entrants.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DrawWindowPage)]
pub struct WindowEntrantsView {
    /// The window's number.
    pub window: u64,
    /// The page's ticket ids in window order: ascending slot, then ascending ticket id. Shoppers
    /// waiting in the window are let through in this order (two with the same slot, about one
    /// pair in 2^32 / entrants, in order of arrival).
    #[schema(value_type = Vec<String>)]
    pub entrants: Vec<TicketId>,
    /// The `after` of the next page; `null` on the last page.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next: Option<TicketId>,
}

/// The record of `config`'s windows now, with a page of window `page.0` when asked for; `None`
/// for an event that never had windows.
pub(super) async fn windows_view(
    state: &AppState,
    event: &EventId,
    config: &EventConfig,
    page: Option<(u64, DrawPageRequest)>,
) -> Result<Option<WindowsView>, ApiError> {
    let windows = &config.arrival_windows;
    if windows.seed.is_empty() {
        return match page {
            Some(_) => Err(no_such_window()),
            None => Ok(None),
        };
    }
    // What is published follows the store's time, by which windows close: an instance whose
    // clock runs ahead must not show a seed (or the secret) while its window still takes joins,
    // or a shopper could leave and join again until a ticket lands on a good slot.
    let now = state.store.now().await?;
    let mut closed = Vec::new();
    for (index, entrants_total) in state.store.window_entrants(event).await? {
        if let Some(window) = windows.published_window(config.starts_at, index, now) {
            closed.push(ClosedWindowView {
                window: index,
                opens_at: to_rfc3339(window.opens_at),
                closes_at: to_rfc3339(window.closes_at),
                seed: windows.window_seed(index),
                entrants_total,
            });
        }
    }
    let page = match page {
        None => None,
        Some((index, request)) => {
            // An open window's order is the order of its secret slots: never before it closes.
            if windows
                .published_window(config.starts_at, index, now)
                .is_none()
            {
                return Err(no_such_window());
            }
            let entrants = state
                .store
                .window_page(event, index, request)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_field("after", "names no entrant of this window")
                })?;
            Some(WindowEntrantsView {
                window: index,
                entrants: entrants.entrants,
                next: entrants.next,
            })
        }
    };
    Ok(Some(WindowsView {
        seed_hash: windows.seed_hash.clone(),
        secret: windows
            .secret_published(config.starts_at, now)
            .then(|| windows.seed.clone()),
        closed,
        page,
    }))
}

fn no_such_window() -> ApiError {
    ApiError::invalid_field(
        "window",
        "names no arrival window of this event published yet",
    )
}
