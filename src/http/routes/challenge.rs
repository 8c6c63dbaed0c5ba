//! `GET /v1/events/{event}/challenge`: a proof-of-work challenge for the caller.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::clock::to_rfc3339;
use crate::defences::Challenge;
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::paths::EventPath;
use crate::http::routes::tickets::{event_config, set_visitor_cookie, shopper_of};
use crate::http::state::AppState;

/// A challenge to solve before joining.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProofChallenge)]
pub struct ChallengeView {
    /// The text to hash: find a decimal `nonce` such that SHA-256 of `challenge + ":" + nonce`
    /// starts with `difficulty` zero bits.
    pub challenge: String,
    /// Leading zero bits asked (0: the event asks for no proof; any nonce does).
    pub difficulty: u8,
    /// When the challenge stops being accepted.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// For an anonymous caller of an event that admits visitors: the visitor identity the
    /// challenge is bound to (also set as the `waitroom_visitor` cookie); join with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_token: Option<String>,
}

/// `GET /v1/events/{event}/challenge`.
#[utoipa::path(get, path = "/v1/events/{event}/challenge", tag = "shoppers",
    summary = "A proof-of-work challenge to solve before joining",
    description = "Bound to the event and to the caller's identity, valid for two minutes, usable for one join. The difficulty is the event's `proof_difficulty`, raised by the server while new identities join far faster than usual. `static/pow-worker.js` solves it in a Web Worker.",
    params(EventPath),
    security(("userToken" = []), ("visitorCookie" = []), ()),
    responses(
        (status = 200, description = "a challenge", body = ChallengeView),
        (status = 401, description = "no or bad credentials, and the event admits signed-in shoppers only"),
        (status = 403, description = "members_only: a visitor identity, and the event admits signed-in shoppers only"),
        (status = 404, description = "no such event"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn challenge(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = event_config(&state, &event).await?;
    let now = state.now();
    let (shopper, visitor_token) = shopper_of(&state, &config, caller, now)?;
    let difficulty = state
        .surge
        .difficulty(&event, config.defences.proof_difficulty, now);
    metrics::gauge!("waitroom_proof_difficulty", "event" => event.to_string())
        .set(f64::from(difficulty));
    let challenge = Challenge::issue(
        &state.defence_keys,
        &event,
        &shopper.identity,
        difficulty,
        now,
    );
    let view = ChallengeView {
        challenge: challenge.text,
        difficulty: challenge.difficulty,
        expires_at: to_rfc3339(challenge.expires_at),
        visitor_token: visitor_token.clone(),
    };
    let mut response = Json(view).into_response();
    if let Some(token) = visitor_token {
        let peer = peer.map(|Extension(ConnectInfo(peer))| peer);
        set_visitor_cookie(&state, &mut response, &token, peer, &headers);
    }
    Ok(response)
}
