//! A shopper's place in the queue: join, read (the polling twin of the WebSocket), leave.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::clock::UnixMillis;
use crate::domain::{EventConfig, EventId, EventStatus, JoinOutcome, TicketId, TicketStatus};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::join_defences::{self, ProofBody};
use crate::http::json::ValidJson;
use crate::http::membership::require_member;
use crate::http::paths::{EventPath, TicketPath};
use crate::http::state::AppState;
use crate::http::views::{TicketView, ticket_view};
use crate::http::visitor_cookie::{came_over_https, visitor_cookie};
use crate::identity::Shopper;
use crate::queue::checkout_lag::Channel;

/// The body of a join: `{}`, or what the event's defences ask for.
#[derive(Debug, Default, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = JoinRequest)]
pub struct JoinBody {
    /// A proof of work, where the event's `proof_difficulty` is above 0.
    #[garde(dive)]
    pub proof: Option<ProofBody>,
    /// An invitation issued by the operator, where the event is `invitation_only`.
    #[garde(skip)]
    pub invitation: Option<String>,
}

/// `POST /v1/events/{event}/tickets`: `201` with a new ticket, `200` with the caller's existing one.
#[utoipa::path(post, path = "/v1/events/{event}/tickets", tag = "shoppers",
    summary = "Join the queue (idempotent per identity)",
    description = "Anonymous callers get a visitor identity where the event allows it (cookie `waitroom_visitor` and field `visitor_token`). The cookie is `HttpOnly; SameSite=Lax`, and `Secure` when a trusted proxy says the request came over HTTPS (`X-Forwarded-Proto: https`). An event that does not allow anonymous visitors refuses visitor identities too (`403 members_only`).",
    params(EventPath),
    request_body(content = Option<JoinBody>, description = "`{}` or nothing; `proof` and `invitation` where the event asks for them"),
    security(("userToken" = []), ("visitorCookie" = []), ()),
    responses(
        (status = 201, description = "a new ticket", body = TicketView, links(
            ("ReadTicket" = (operation_id = "read", parameters(("event" = "$request.path.event"), ("ticket" = "$response.body#/ticket_id")))),
            ("LeaveQueue" = (operation_id = "leave", parameters(("event" = "$request.path.event"), ("ticket" = "$response.body#/ticket_id")))),
        )),
        (status = 200, description = "the caller's existing ticket", body = TicketView, links(
            ("ReadTicket" = (operation_id = "read", parameters(("event" = "$request.path.event"), ("ticket" = "$response.body#/ticket_id")))),
            ("LeaveQueue" = (operation_id = "leave", parameters(("event" = "$request.path.event"), ("ticket" = "$response.body#/ticket_id")))),
        )),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no or bad credentials, and the event admits signed-in shoppers only"),
        (status = 403, description = "members_only: a visitor identity, and the event admits signed-in shoppers only; proof_required or proof_invalid: the event asks for a proof of work; invitation_required: the event is invitation-only and the join has no valid invitation with a use left"),
        (status = 404, description = "no such event"),
        (status = 409, description = "event_not_open, event_closed or sold_out"),
        (status = 422, description = "validation_failed: the body is not a join (an object with an optional `proof` and `invitation`)"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn join(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<JoinBody>,
) -> Result<Response, ApiError> {
    let config = event_config(&state, &event).await?;
    let now = state.now();
    let (shopper, visitor_token) = shopper_of(&state, &config, caller, now)?;
    let presented = join_defences::Presented {
        proof: body.proof.as_ref(),
        invitation: body.invitation.as_deref(),
    };
    join_defences::check(&state, &config, &shopper.identity, presented, now).await?;
    let outcome = state
        .store
        .join(&event, &shopper.identity, TicketId::random())
        .await?;
    let (ticket, created) = match outcome {
        JoinOutcome::Joined { ticket, created } => (ticket, created),
        JoinOutcome::NoEvent => return Err(ApiError::not_found(format!("no event {event}"))),
        JoinOutcome::NotAccepting(status) => return Err(not_accepting(&config, status)),
    };
    if created {
        state.surge.record_new_identity(&event, now);
    }
    let mut view = ticket_view(&state, &config, &ticket, None).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let Some(token) = visitor_token else {
        return Ok((status, Json(view)).into_response());
    };
    view.visitor_token = Some(token.clone());
    let mut response = (status, Json(view)).into_response();
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer);
    set_visitor_cookie(&state, &mut response, &token, peer, &headers);
    Ok(response)
}

/// Who the caller shops as on this event: their user or visitor identity (a member where the
/// event admits members only), or a new visitor (with its token to hand back) where the event
/// admits anonymous shoppers.
pub(crate) fn shopper_of(
    state: &AppState,
    config: &EventConfig,
    caller: Caller,
    now: UnixMillis,
) -> Result<(Shopper, Option<String>), ApiError> {
    match caller {
        Caller::Shopper(shopper) => {
            require_member(config, &shopper)?;
            let renewed = state
                .auth
                .renew_visitor(&shopper, now)
                .map_err(ApiError::internal)?;
            Ok((shopper, renewed))
        }
        Caller::Anonymous if config.allow_anonymous => {
            let (shopper, token) = state.auth.new_visitor(now).map_err(ApiError::internal)?;
            Ok((shopper, Some(token)))
        }
        Caller::Anonymous => Err(ApiError::unauthenticated(
            "this event admits signed-in shoppers only: send Authorization: Bearer <token>",
        )),
    }
}

/// Hands a visitor token to the browser as the visitor cookie (`Secure` when a trusted proxy
/// says the request came over HTTPS).
pub(crate) fn set_visitor_cookie(
    state: &AppState,
    response: &mut Response,
    token: &str,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) {
    let secure = came_over_https(&state.settings.trusted_proxies, peer, headers);
    if let Ok(value) = HeaderValue::from_str(&visitor_cookie(token, secure)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

/// `GET /v1/events/{event}/tickets/{ticket}`: the caller's ticket (others get `404`). Reading it
/// marks the shopper as present, so a polling page keeps its place.
#[utoipa::path(get, path = "/v1/events/{event}/tickets/{ticket}", tag = "shoppers",
    summary = "The caller's ticket, with admission_token and admission_expires_at when admitted",
    description = "Reading it keeps the place: a page that polls counts as present.",
    params(TicketPath),
    security(("userToken" = []), ("visitorCookie" = [])),
    responses(
        (status = 200, description = "the ticket", body = TicketView, links(
            ("CheckOut" = (operation_id = "checkout", parameters(("event" = "$request.path.event"), ("header.Admission-Token" = "$response.body#/admission_token")))),
        )),
        (status = 401, description = "no or bad credentials"),
        (status = 404, description = "no such ticket for this caller"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn read(
    State(state): State<AppState>,
    path: TicketPath,
    shopper: Shopper,
) -> Result<Response, ApiError> {
    let config = event_config(&state, &path.event).await?;
    let ticket = state
        .store
        .ticket(&path.event, &shopper.identity, true)
        .await?
        .filter(|ticket| ticket.ticket_id == path.ticket)
        .ok_or_else(|| ApiError::not_found("no such ticket"))?;
    if ticket.status == TicketStatus::Waiting {
        // How often pages poll tells how late a polling shopper hears of their admission.
        state.outflow.ticket_read(&path.event, &shopper.identity);
    }
    // The view borrows the event's settings: it is written before they go.
    Ok(Json(ticket_view(&state, &config, &ticket, Some(Channel::Polling)).await?).into_response())
}

/// `DELETE /v1/events/{event}/tickets/{ticket}`: leave the queue (`204`). Leaving is idempotent:
/// a page that retries a leave whose answer it lost must not be told the ticket is unknown.
#[utoipa::path(delete, path = "/v1/events/{event}/tickets/{ticket}", tag = "shoppers",
    summary = "Leave the queue (or give up an admission)",
    description = "Idempotent: leaving the caller's current ticket again, once it has left or its admission expired, answers `204` again and changes nothing. Another shopper's ticket, or one replaced by a newer join, is `404`.",
    params(TicketPath),
    security(("userToken" = []), ("visitorCookie" = [])),
    responses(
        (status = 204, description = "left (now, or already before)"),
        (status = 401, description = "no or bad credentials"),
        (status = 404, description = "no such ticket for this caller"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn leave(
    State(state): State<AppState>,
    path: TicketPath,
    shopper: Shopper,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .leave(&path.event, &shopper.identity, path.ticket)
        .await?
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| ApiError::not_found("no such ticket"))
}

pub(crate) async fn event_config(
    state: &AppState,
    event: &EventId,
) -> Result<Arc<EventConfig>, ApiError> {
    state
        .event_settings
        .get(event)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {event}")))
}

fn not_accepting(config: &EventConfig, status: EventStatus) -> ApiError {
    let (code, title, detail) = match status {
        EventStatus::SoldOut => (
            "sold_out",
            "Sold out",
            "every unit has been sold".to_owned(),
        ),
        EventStatus::Closed => (
            "event_closed",
            "The event is closed",
            "the event has ended".to_owned(),
        ),
        _ => (
            "event_not_open",
            "The queue is not open yet",
            format!(
                "the queue opens at {}",
                crate::clock::to_rfc3339(config.prequeue_opens())
            ),
        ),
    };
    ApiError::new(StatusCode::CONFLICT, code, title).detail(detail)
}
