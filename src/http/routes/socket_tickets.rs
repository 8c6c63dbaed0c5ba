//! `POST /v1/events/{event}/tickets/{ticket}/socket-ticket`: a pass for the position socket's URL.
//!
//! A page's credentials never go in the socket's URL (proxies log URLs): the page sends them here
//! in the `Authorization` header or the visitor cookie, and opens the socket with the short-lived,
//! single-use ticket it gets back (`…/ws?ticket=`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::clock::to_rfc3339;
use crate::error::ApiError;
use crate::http::paths::TicketPath;
use crate::http::state::AppState;
use crate::identity::Shopper;

/// A socket ticket: put it in the socket's URL as `?ticket=` within its life.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SocketTicketView {
    /// Opens this ticket's position socket once, for this shopper, until `expires_at`.
    pub socket_ticket: String,
    /// When it stops opening the socket (RFC 3339; about 30 s after it was issued).
    pub expires_at: String,
}

/// Issues a socket ticket for the caller's own queue ticket.
#[utoipa::path(post, path = "/v1/events/{event}/tickets/{ticket}/socket-ticket", tag = "shoppers", operation_id = "issue_socket_ticket",
    summary = "A short-lived, single-use ticket for the position socket's URL",
    description = "Browsers cannot send `Authorization` on a WebSocket, and a token in a URL is logged by proxies. Send the credentials here (bearer token or visitor cookie) and open `…/ws?ticket=<socket_ticket>` within 30 s. The ticket opens one socket, of this queue ticket, for this shopper; the socket answers 401 to a spent, expired or foreign one, and 404 when the queue ticket is not the caller's.",
    params(TicketPath),
    security(("userToken" = []), ("visitorCookie" = [])),
    responses(
        (status = 201, description = "the socket ticket", body = SocketTicketView),
        (status = 401, description = "no or bad credentials"),
        (status = 404, description = "no such event or ticket"),
        (status = 429, description = "rate_limited (Retry-After)"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    path: TicketPath,
    shopper: Shopper,
) -> Result<(axum::http::StatusCode, Json<SocketTicketView>), ApiError> {
    let (socket_ticket, expires_at) = state
        .auth
        .issue_socket_ticket(&shopper, &path.event, path.ticket, state.now())
        .map_err(ApiError::internal)?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(SocketTicketView {
            socket_ticket,
            expires_at: to_rfc3339(expires_at),
        }),
    ))
}
