//! Operations and development: health, readiness, metrics, the JWKS and dev login.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Identity, Tier};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::state::AppState;

/// How long `/readyz` waits for the store before calling it down.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// Lifetime of a dev-login token.
const DEV_TOKEN_TTL_SECONDS: i64 = 3600;

/// The answer of the probes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    pub status: &'static str,
}

/// `GET /healthz`: `200` while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "200 while the process runs",
    responses((status = 200, description = "alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: `200` when the store answers, else `503` with `Retry-After`.
#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "200 when the store answers",
    responses(
        (status = 200, description = "ready", body = Health),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match tokio::time::timeout(READINESS_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ready" })),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ApiError::unavailable().detail("the queue store did not answer in time")),
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    summary = "Prometheus text format; every metric is named waitroom_*",
    responses((status = 200, description = "the metrics", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /.well-known/jwks.json`: the public keys verifying admission tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations",
    summary = "Public keys (OKP Ed25519, alg EdDSA) verifying admission tokens",
    responses((status = 200, description = "the JWKS", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `POST /v1/dev/login` body.
#[derive(Debug, Deserialize, garde::Validate, ToSchema)]
#[schema(as = DevLogin)]
pub struct DevLoginBody {
    /// 1 to 128 bytes with no control characters.
    #[garde(custom(valid_user_id))]
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001f\\u007f]+$"
    )]
    pub user_id: String,
    /// anonymous, new, regular (the default), trusted, premium or admin.
    #[garde(inner(custom(valid_tier)))]
    #[schema(pattern = "^(anonymous|new|regular|trusted|premium|admin)$")]
    pub tier: Option<String>,
}

/// A user token issued by dev login.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevToken {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the token is valid.
    pub expires_in: i64,
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
#[utoipa::path(post, path = "/v1/dev/login", tag = "operations",
    summary = "A user token for trying the service (only with WAITROOM_DEV_LOGIN; 404 otherwise)",
    request_body = DevLoginBody,
    responses(
        (status = 200, description = "a user token valid for an hour", body = DevToken),
        (status = 400, description = "malformed JSON"),
        (status = 404, description = "dev login is off"),
        (status = 422, description = "validation_failed"),
    ))]
pub async fn dev_login(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<DevLoginBody>,
) -> Result<Json<DevToken>, ApiError> {
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
    Ok(Json(DevToken {
        access_token: token,
        token_type: "Bearer",
        expires_in: DEV_TOKEN_TTL_SECONDS,
    }))
}
