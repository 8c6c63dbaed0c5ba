//! The operators' API for the limiter: rules and bans.
//!
//! * `GET /v1/admin/ratelimit`: the rules in force (the rules file's shape, as JSON).
//! * `PUT /v1/admin/ratelimit`: replaces them whole (JSON, or TOML with a `toml` content type)
//!   and stores them for every instance (they win over the rules file, after restarts too); a
//!   set with mistakes is `422 validation_failed` with every field at fault, and nothing changes.
//! * `DELETE /v1/admin/ratelimit`: drops the stored rules; every instance returns to its file.
//!
//! The rules' answers carry `Waitroom-Rules-Source` (`file` or `store`) and
//! `Waitroom-Rules-Version` (the stored rules' version this instance applied).
//! * `GET /v1/admin/bans`: current bans with reason, count and expiry.
//! * `POST /v1/admin/bans`: `{"key": "ip:203.0.113.7", "seconds": 600, "reason": "…",
//!   "scope": "everyone"}` bans a client key (`ip:…`, `user:…`, `key:…`; a bare address is read
//!   as its `ip:` key). `scope` is `everyone` (the default: every request carrying the key) or,
//!   for an address, `anonymous` (only its anonymous traffic; verified users behind it pass, as
//!   with the limiter's own bans of an address).
//! * `DELETE /v1/admin/bans/{key}`: lifts a ban (`204`), `404` when there is none.
//!
//! The router carries no authentication: the service nests it behind its admin check.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::to_rfc3339;
use crate::error::ApiError;
use crate::http::audit_layer::actor_of;
use crate::ratelimit::identity::{ip_key, parse_net};
use crate::ratelimit::limiter::RateLimiter;
use crate::ratelimit::rules::RuleSetConfig;
use crate::ratelimit::scope::BanScope;
use crate::ratelimit::shared_rules::{RulesChangeError, RulesOrigin};
use crate::ratelimit::store::BanRecord;

/// The admin routes of the limiter, documented, to be merged behind the admin authentication.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(
    limiter: Arc<RateLimiter>,
) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(get_rules, put_rules, delete_rules))
        .routes(routes!(list_bans, create_ban))
        .routes(routes!(lift_ban))
        .with_state(limiter)
}

/// The header naming where the rules in force come from: `file` or `store`.
pub const RULES_SOURCE_HEADER: &str = "Waitroom-Rules-Source";
/// The header with the version of the stored rules the instance applied (`0`: none ever).
pub const RULES_VERSION_HEADER: &str = "Waitroom-Rules-Version";

/// The rules in force as the rules' endpoints answer them: the body, and their origin in headers.
fn rules_answer(limiter: &RateLimiter, origin: &RulesOrigin) -> Response {
    (
        [
            (RULES_SOURCE_HEADER, origin.source.as_str().to_owned()),
            (RULES_VERSION_HEADER, origin.version.to_string()),
        ],
        axum::Json(limiter.rules().config.clone()),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/admin/ratelimit", tag = "operators",
    summary = "The rate-limit rules in force (the shape of config/ratelimit.toml, as JSON)",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the rules", body = Object, headers(
            ("Waitroom-Rules-Source" = String, description = "`store` (rules stored for every instance) or `file` (this instance's configuration)"),
            ("Waitroom-Rules-Version" = u64, description = "the stored rules' version this instance applied; `0` while none were ever stored"),
        )),
    ))]
async fn get_rules(State(limiter): State<Arc<RateLimiter>>) -> Response {
    rules_answer(&limiter, &limiter.rules_origin())
}

#[utoipa::path(put, path = "/v1/admin/ratelimit", tag = "operators",
    summary = "Replace the rate-limit rules whole, on every instance",
    description = "JSON, or TOML with a `toml` content type. A set with mistakes is refused with every field at fault, and the rules in force stay. The rules are stored (with a version and their author) and win over every instance's rules file, after restarts too, until `DELETE` drops them; this instance applies them at once, the others within a second.",
    security(("adminToken" = [])),
    request_body(content(
        (Object = "application/json"),
        (String = "application/toml"),
    )),
    responses(
        (status = 200, description = "the rules now in force", body = Object, headers(
            ("Waitroom-Rules-Source" = String, description = "`store`"),
            ("Waitroom-Rules-Version" = u64, description = "the new version of the stored rules"),
        )),
        (status = 400, description = "malformed body"),
        (status = 422, description = "validation_failed, with errors per field"),
        (status = 503, description = "the store did not take the rules; nothing changed (Retry-After)"),
    ))]
async fn put_rules(
    State(limiter): State<Arc<RateLimiter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_toml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("toml"));
    let config = if is_toml {
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("not UTF-8"))?;
        RuleSetConfig::from_toml(text)
    } else {
        serde_json::from_slice::<RuleSetConfig>(&body).map_err(|error| error.to_string())
    }
    .map_err(|message| ApiError::invalid_field("body", message))?;
    let origin = limiter
        .store_rules(&config, &actor_of(&headers))
        .await
        .map_err(change_error)?;
    Ok(rules_answer(&limiter, &origin))
}

#[utoipa::path(delete, path = "/v1/admin/ratelimit", tag = "operators",
    summary = "Drop the stored rate-limit rules: every instance returns to its rules file",
    description = "This instance applies its configuration's rules at once, the others within a second. Dropping when no rules are stored is harmless.",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the rules now in force (the file's)", body = Object, headers(
            ("Waitroom-Rules-Source" = String, description = "`file`"),
            ("Waitroom-Rules-Version" = u64, description = "the new version of the stored rules"),
        )),
        (status = 503, description = "the store did not take the change; nothing changed (Retry-After)"),
    ))]
async fn delete_rules(
    State(limiter): State<Arc<RateLimiter>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let origin = limiter
        .drop_stored_rules(&actor_of(&headers))
        .await
        .map_err(change_error)?;
    Ok(rules_answer(&limiter, &origin))
}

fn change_error(error: RulesChangeError) -> ApiError {
    match error {
        RulesChangeError::Invalid(errors) => ApiError::validation(errors),
        RulesChangeError::Store(error) => error.into(),
    }
}

/// A ban as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Ban)]
pub struct BanView {
    /// `ip:…`, `user:…` or `key:…` (a digest of the API key).
    key: String,
    reason: String,
    /// Bans of this client so far (each is longer).
    count: i64,
    #[schema(format = DateTime)]
    expires_at: String,
    /// Whom it refuses: `everyone` carrying the key, or only `anonymous` traffic from the
    /// address (what the limiter's own bans of an address use).
    scope: BanScope,
}

/// The bans in force.
#[derive(Debug, Serialize, ToSchema)]
struct BanList {
    bans: Vec<BanView>,
}

impl From<BanRecord> for BanView {
    fn from(ban: BanRecord) -> Self {
        Self {
            key: ban.key,
            reason: ban.reason,
            count: ban.count,
            expires_at: to_rfc3339(ban.until_ms),
            scope: ban.scope,
        }
    }
}

#[utoipa::path(get, path = "/v1/admin/bans", tag = "operators",
    summary = "Bans in force: key, reason, count and expiry",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the bans", body = BanList),
        (status = 503, description = "the limiter's store is unavailable (Retry-After)"),
    ))]
async fn list_bans(
    State(limiter): State<Arc<RateLimiter>>,
) -> Result<axum::Json<BanList>, ApiError> {
    let bans = limiter
        .bans()
        .await?
        .into_iter()
        .map(BanView::from)
        .collect();
    Ok(axum::Json(BanList { bans }))
}

/// A ban set by an operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewBan {
    /// `ip:…`, `user:…`, `key:…`, or an address (read as its `ip:` key).
    #[schema(pattern = "^((ip|user|key):.+|[0-9a-fA-F:.]+(/[0-9]{1,3})?)$")]
    key: String,
    #[schema(minimum = 1, maximum = 2_592_000)]
    seconds: u64,
    /// Shown in the ban list and the alert (default: banned by an operator).
    #[serde(default)]
    reason: Option<String>,
    /// `everyone` (the default) or, for an address, `anonymous`: only requests without a
    /// verified identity are refused.
    #[serde(default)]
    scope: BanScope,
}

/// The longest ban an operator can set at once.
const MAX_BAN_SECONDS: u64 = 30 * 86_400;

#[utoipa::path(post, path = "/v1/admin/bans", tag = "operators",
    summary = "Ban a client key for a number of seconds (an alert is raised)",
    description = "`scope` `everyone` (the default) refuses every request carrying the key; `anonymous` (addresses only) refuses only requests without a verified user or configured API key, as the limiter's own bans of an address do.",
    request_body = NewBan,
    security(("adminToken" = [])),
    responses(
        (status = 201, description = "the ban", body = BanView, links(
            ("LiftBan" = (operation_id = "lift_ban", parameters(("key" = "$response.body#/key")))),
        )),
        (status = 400, description = "malformed body"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the limiter's store is unavailable (Retry-After)"),
    ))]
async fn create_ban(
    State(limiter): State<Arc<RateLimiter>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ban: NewBan = serde_json::from_slice(&body)
        .map_err(|error| ApiError::invalid_field("body", error.to_string()))?;
    let key = client_key(&limiter, &ban.key)
        .ok_or_else(|| ApiError::invalid_field("key", "use ip:…, user:…, key:… or an address"))?;
    if !(1..=MAX_BAN_SECONDS).contains(&ban.seconds) {
        return Err(ApiError::invalid_field(
            "seconds",
            format!("must be between 1 and {MAX_BAN_SECONDS}"),
        ));
    }
    if ban.scope == BanScope::Anonymous && !key.starts_with("ip:") {
        return Err(ApiError::invalid_field(
            "scope",
            "`anonymous` applies to an address (ip:…); a user or an API key is banned whole",
        ));
    }
    let reason = ban
        .reason
        .filter(|reason| !reason.trim().is_empty())
        .unwrap_or_else(|| "banned by an operator".to_owned());
    let record = limiter
        .ban(&key, Duration::from_secs(ban.seconds), &reason, ban.scope)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(BanView::from(record))).into_response())
}

/// A client key as given, or the `ip:` key of a bare address (grouped like requests are).
fn client_key(limiter: &RateLimiter, given: &str) -> Option<String> {
    let given = given.trim();
    if ["ip:", "user:", "key:"]
        .iter()
        .any(|prefix| given.len() > prefix.len() && given.starts_with(prefix))
    {
        return Some(given.to_owned());
    }
    let net = parse_net(given).ok()?;
    let identity = &limiter.rules().identity;
    Some(ip_key(
        net.addr(),
        identity.ipv4_prefix,
        identity.ipv6_prefix,
    ))
}

#[utoipa::path(delete, path = "/v1/admin/bans/{key}", tag = "operators",
    summary = "Lift a ban",
    params(("key" = String, Path, description = "the banned client key, e.g. ip:203.0.113.7")),
    security(("adminToken" = [])),
    responses(
        (status = 204, description = "lifted"),
        (status = 404, description = "no such ban"),
        (status = 503, description = "the limiter's store is unavailable (Retry-After)"),
    ))]
async fn lift_ban(
    State(limiter): State<Arc<RateLimiter>>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = client_key(&limiter, &key).unwrap_or(key);
    if limiter.lift_ban(&key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("`{key}` is not banned")))
    }
}
