//! Operations and development: health, readiness, metrics, the JWKS and dev login.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{Identity, Tier};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::state::AppState;

/// How long `/readyz` waits for the store before calling it down.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// Lifetime of a dev-login token.
const DEV_TOKEN_TTL_SECONDS: i64 = 3600;

/// `GET /healthz`: `200` while the process runs.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: `200` when the store answers, else `503` with `Retry-After`.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(READINESS_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready" }))),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ApiError::unavailable().detail("the queue store did not answer in time")),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /.well-known/jwks.json`: the public keys verifying admission tokens.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `POST /v1/dev/login` body.
#[derive(Debug, Deserialize, garde::Validate)]
pub struct DevLoginBody {
    #[garde(custom(valid_user_id))]
    pub user_id: String,
    #[garde(inner(custom(valid_tier)))]
    pub tier: Option<String>,
}

fn valid_user_id(user_id: &str, _: &()) -> garde::Result {
    Identity::user(user_id)
        .map(|_| ())
        .map_err(|error| garde::Error::new(error.to_string()))
}

fn valid_tier(tier: &str, _: &()) -> garde::Result {
    match Tier::parse(tier) {
        Some(_) => Ok(()),
        None => Err(garde::Error::new(
            "one of anonymous, new, regular, trusted, premium, admin",
        )),
    }
}

/// `POST /v1/dev/login`: a user token valid for an hour, only with dev login on.
pub async fn dev_login(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<DevLoginBody>,
) -> Result<Json<Value>, ApiError> {
    if !state.settings.dev_login {
        return Err(ApiError::not_found("dev login is off"));
    }
    let tier = body
        .tier
        .as_deref()
        .and_then(Tier::parse)
        .unwrap_or(Tier::Regular);
    let token = state
        .auth
        .users()
        .issue(&body.user_id, tier, state.now(), DEV_TOKEN_TTL_SECONDS)
        .ok_or_else(|| ApiError::internal("dev login is on but user tokens have no secret"))?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": DEV_TOKEN_TTL_SECONDS,
    })))
}
