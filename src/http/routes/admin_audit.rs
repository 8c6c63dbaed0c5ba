//! `GET /v1/admin/audit`: the audit log, newest first.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::to_rfc3339;
use crate::error::ApiError;
use crate::http::state::AppState;

/// Entries answered when the query does not say.
const DEFAULT_LIMIT: usize = 100;
/// Most entries answered at once.
const MAX_LIMIT: usize = 1_000;

/// The query: `?limit=N` (1–1000, default 100).
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
}

/// `GET /v1/admin/audit?limit=N`.
pub async fn audit_log(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let entries: Vec<Value> = state
        .audit
        .audit_entries(limit)
        .await?
        .into_iter()
        .map(|entry| {
            json!({
                "at": to_rfc3339(entry.at_ms),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "request_id": entry.request_id,
                "status": entry.status,
                "before": entry.before,
                "after": entry.after,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
