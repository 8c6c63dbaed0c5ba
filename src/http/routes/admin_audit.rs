//! `GET /v1/admin/audit`: the audit log, newest first.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::clock::to_rfc3339;
use crate::error::ApiError;
use crate::http::state::AppState;

/// Entries answered when the query does not say.
const DEFAULT_LIMIT: usize = 100;
/// Most entries answered at once.
const MAX_LIMIT: usize = 1_000;

/// The query: `?limit=N` (1–1000, default 100).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries, newest first (1–1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One change made through the admin API.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntryView {
    #[schema(format = DateTime)]
    pub at: String,
    /// `admin:` and a fingerprint of the admin token; `waitroom` for the server's own changes.
    pub actor: String,
    /// `event.create`, `event.change`, `event.remove`, `ratelimit.replace`, `ratelimit.delete`,
    /// `ban.create`, `ban.lift`, or
    /// `outflow.follow_checkout` (the outflow moved after the checkout's health; `after` holds
    /// the `reason` and the `checkout_health` judged).
    pub action: String,
    /// What changed: an event id, a client key, `rules`.
    pub target: String,
    /// The request's id, to find its log lines.
    pub request_id: String,
    /// The answer's status code.
    pub status: u16,
    /// The state before (`null` when there was none).
    pub before: Value,
    /// The state after (`null` when there is none).
    pub after: Value,
}

/// The answer of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntryView>,
}

/// `GET /v1/admin/audit?limit=N`.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "operators",
    summary = "Every change made through the admin API, newest first: who, when, what, before and after",
    params(AuditQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the entries", body = AuditLog),
        (status = 400, description = "a query string that cannot be read (such as `limit` given twice)"),
        (status = 422, description = "validation_failed: limit"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn audit_log(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditLog>, ApiError> {
    // A query axum cannot read is the caller's mistake, answered as a problem like any other.
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::invalid_field("limit", format!("a whole number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let entries = state
        .audit
        .audit_entries(limit)
        .await?
        .into_iter()
        .map(|entry| AuditEntryView {
            at: to_rfc3339(entry.at_ms),
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            request_id: entry.request_id,
            status: entry.status,
            before: entry.before,
            after: entry.after,
        })
        .collect();
    Ok(Json(AuditLog { entries }))
}
