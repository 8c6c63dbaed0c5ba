//! `GET /v1/events/{event}/tickets/{ticket}/ws`: the position socket of a queue page.
//!
//! The route checks everything before upgrading: the page's `Origin` (the server's own, one of
//! `WAITROOM_ALLOWED_ORIGINS`, or none at all for apps and scripts), the owner's credentials
//! (a socket ticket in `?ticket=`, `?access_token=`, `Authorization`, or the visitor cookie) and
//! the ticket (others' are `404`).
//! The socket itself is [`run_socket`], which the route hands a small, bounded WebSocket.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{
    CloseFrame, Message, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::{Caller, caller_of};
use super::membership::require_member;
use super::paths::TicketPath;
use super::socket_slots::SlotRefusal;
use super::state::AppState;
use crate::domain::{Claim, ClaimOutcome, EventId};
use crate::error::ApiError;
use crate::identity::{AuthError, RedeemedSocketTicket, Shopper};
use crate::live::run_socket;

/// Client frames are tiny (`{"type":"ping"}`): anything larger is refused by the protocol layer.
const LARGEST_CLIENT_FRAME: usize = 4 * 1024;
/// The read buffer of a socket: small, so fifteen thousand sockets fit in little memory.
const READ_BUFFER: usize = 1024;
/// Frames waiting for a client that does not read: past this the socket fails and closes.
const LARGEST_SEND_BACKLOG: usize = 64 * 1024;

/// The query of the socket's URL.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// A socket ticket from `POST …/tickets/{ticket}/socket-ticket`: short-lived and single-use,
    /// so the URL a proxy logs holds nothing worth stealing. What the queue page uses.
    ticket: Option<String>,
    /// A user or visitor token, for apps that cannot set `Authorization` on a WebSocket. It is
    /// logged wherever the URL is: browsers use `ticket` (or the visitor cookie) instead.
    access_token: Option<String>,
}

/// Opens the position socket of the caller's own ticket.
#[utoipa::path(get, path = "/v1/events/{event}/tickets/{ticket}/ws", tag = "shoppers",
    summary = "The live position socket of the ticket's owner (WebSocket)",
    description = "Credentials: `?ticket=` (a socket ticket from `POST …/socket-ticket`: short-lived and single-use, what browsers should use), `?access_token=` (a user or visitor token, for apps; it ends up in proxies' logs), `Authorization`, or the visitor cookie. `Origin` must be the server's own or one of WAITROOM_ALLOWED_ORIGINS (none is accepted, for apps). Server frames are `SocketServerFrame`s: `position` when it changes and at least every 2 s, `admitted` then close 1000, `status` on status changes, `ticket` (expired or left) then close 1000, `pong` to a client's `ping` (`SocketClientFrame`). Close 1001 on shutdown: reconnect. Close 1008 right after the handshake: the shopper holds max_sockets_per_identity sockets already on this instance; close 1013: the instance holds max_sockets sockets (reconnect later or poll).",
    params(TicketPath, SocketQuery),
    security(("userToken" = []), ("visitorCookie" = [])),
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, description = "no or bad credentials, or a spent, expired or foreign socket ticket"),
        (status = 403, description = "origin_not_allowed: the page's origin may not open the socket; members_only: a visitor identity on an event for signed-in shoppers"),
        (status = 404, description = "no such ticket for this caller, or no such event"),
        (status = 426, description = "upgrade_required: not a WebSocket handshake"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn position_socket(
    State(state): State<AppState>,
    path: TicketPath,
    query: Result<Query<SocketQuery>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "This endpoint is a WebSocket",
        )
        .detail(format!(
            "open it as a WebSocket ({rejection}); poll GET …/tickets/{{ticket}} instead"
        ))
    })?;
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let shopper = owner(&state, &path, &query, &headers).await?;
    let config = state
        .event_settings
        .get(&path.event)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {}", path.event)))?;
    require_member(&config, &shopper)?;
    let ticket = state
        .store
        .ticket(&path.event, &shopper.identity, true)
        .await?
        .filter(|ticket| ticket.ticket_id == path.ticket)
        .ok_or_else(|| ApiError::not_found("no such ticket"))?;
    let slot = match state.socket_slots.take(&shopper.identity) {
        Ok(slot) => slot,
        Err(refusal) => return Ok(refuse(upgrade, refusal)),
    };
    let subscription = state
        .outflow
        .subscribe(&path.event)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {}", path.event)))?;
    let live = state.live.clone();
    let event = path.event;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(LARGEST_SEND_BACKLOG)
        .max_message_size(LARGEST_CLIENT_FRAME)
        .max_frame_size(LARGEST_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let open = metrics::gauge!("waitroom_websockets_open");
            open.increment(1.0);
            let end = run_socket(sink, stream, event, ticket, subscription, &live).await;
            open.decrement(1.0);
            drop(slot);
            tracing::debug!(?end, "position socket closed");
        }))
}

/// Completes the handshake only to close the socket at once with the refusal's code: a page
/// learns why from the close code, which a failed handshake would not tell it.
fn refuse(upgrade: WebSocketUpgrade, refusal: SlotRefusal) -> Response {
    tracing::debug!(?refusal, "position socket refused");
    upgrade.on_upgrade(move |mut socket| async move {
        let frame = Message::Close(Some(CloseFrame {
            code: refusal.close_code(),
            reason: refusal.reason().into(),
        }));
        let _ = socket.send(frame).await;
    })
}

/// Records a socket ticket's one use in the store: a claim that admits one holder, and every
/// redemption is a new holder, so the second use is refused whichever instance it reaches.
async fn spend_on_every_instance(
    state: &AppState,
    event: &EventId,
    redeemed: &RedeemedSocketTicket,
) -> Result<(), ApiError> {
    let claim = Claim {
        name: format!("sock:{}", redeemed.id),
        holder: Uuid::new_v4().simple().to_string(),
        limit: 1,
        until: redeemed.expires_at,
    };
    match state.store.claim(event, &claim).await? {
        ClaimOutcome::Granted => Ok(()),
        ClaimOutcome::NoEvent => Err(ApiError::not_found(format!("no event {event}"))),
        ClaimOutcome::AlreadyHeld | ClaimOutcome::Refused => Err(AuthError::Invalid.into()),
    }
}

/// The shopper whose credentials came with the handshake: `?ticket=` first, then
/// `?access_token=`, then the `Authorization` header, then the visitor cookie.
async fn owner(
    state: &AppState,
    path: &TicketPath,
    query: &SocketQuery,
    headers: &HeaderMap,
) -> Result<Shopper, ApiError> {
    if let Some(ticket) = query.ticket.as_deref().filter(|ticket| !ticket.is_empty()) {
        let now = state.now();
        let redeemed = state
            .auth
            .redeem_socket_ticket(ticket, &path.event, path.ticket, now)?;
        spend_on_every_instance(state, &path.event, &redeemed).await?;
        return Ok(redeemed.shopper);
    }
    if let Some(token) = query
        .access_token
        .as_deref()
        .filter(|token| !token.is_empty())
    {
        return Ok(state.auth.bearer(token, state.now())?);
    }
    match caller_of(state, headers)? {
        Caller::Shopper(shopper) => Ok(shopper),
        Caller::Anonymous => Err(AuthError::Missing.into()),
    }
}

/// Refuses pages of other sites: a handshake's `Origin` must be the server's own or an allowed
/// one. No `Origin` at all (apps, scripts) is accepted: only browsers send it, and they always do.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| forbidden_origin())?
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_ascii_lowercase);
    let own = origin
        .split_once("://")
        .is_some_and(|(_, authority)| Some(authority) == host.as_deref());
    if own || state.settings.allowed_origins.contains(&origin) {
        Ok(())
    } else {
        Err(forbidden_origin())
    }
}

fn forbidden_origin() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "This page may not open the socket",
    )
    .detail("the page's origin is not this server's and not in WAITROOM_ALLOWED_ORIGINS")
}
