//! `POST /v1/admin/events/{event}/invitations`: invitations to an invitation-only event.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::clock::{parse_rfc3339, to_rfc3339};
use crate::defences::Invitation;
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::paths::EventPath;
use crate::http::routes::tickets::event_config;
use crate::http::state::AppState;

/// Most invitations one request issues.
const MAX_COUNT: u32 = 10_000;
/// How long invitations last when the request does not say.
const DEFAULT_LIFETIME_MS: i64 = 30 * 24 * 3_600_000;

/// What to issue.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IssueInvitations)]
pub struct IssueInvitationsBody {
    /// How many invitations (each with its own id).
    #[garde(range(min = 1, max = MAX_COUNT))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub count: u32,
    /// How many shoppers (identities) may join with each; default 1.
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub uses: Option<u32>,
    /// When they stop being accepted; default 30 days from now. Must be in the future.
    #[garde(skip)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The invitations issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Invitations)]
pub struct InvitationsView {
    /// The invitation texts: each goes in a join body as `"invitation"`.
    pub invitations: Vec<String>,
    /// How many shoppers may join with each.
    pub uses: u32,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `POST /v1/admin/events/{event}/invitations`.
#[utoipa::path(post, path = "/v1/admin/events/{event}/invitations", tag = "operators", operation_id = "issue_invitations",
    summary = "Issue invitations to an event",
    description = "Signed invitation texts for an event (`invitation_only` makes joins need one). An invitation serves `uses` identities; another identity beyond them is refused with `403 invitation_required`, and those it served may join again with it.",
    params(EventPath),
    request_body = IssueInvitationsBody,
    security(("adminToken" = [])),
    responses(
        (status = 201, description = "the invitations", body = InvitationsView),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no or bad admin token"),
        (status = 404, description = "no such event"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    ValidJson(body): ValidJson<IssueInvitationsBody>,
) -> Result<(StatusCode, Json<InvitationsView>), ApiError> {
    let config = event_config(&state, &event).await?;
    let now = state.now();
    let expires_at = match &body.expires_at {
        None => now + DEFAULT_LIFETIME_MS,
        Some(text) => parse_rfc3339(text).filter(|at| *at > now).ok_or_else(|| {
            ApiError::invalid_field("expires_at", "must be an RFC 3339 time in the future")
        })?,
    };
    let uses = body.uses.unwrap_or(1);
    let invitations = (0..body.count)
        .map(|_| Invitation::issue(&state.defence_keys, &config.id, uses, expires_at))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(InvitationsView {
            invitations,
            uses,
            expires_at: to_rfc3339(expires_at),
        }),
    ))
}
