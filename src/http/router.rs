//! The router: every route with its middleware chain, in the order a request meets it.
//!
//! Outermost, on every route: request id and tracing span, metrics, a panic caught as a `500`
//! problem, a timeout and a body limit.
//! Then, per route: rate limit → authentication → admission → validation (the handler's
//! [`ValidJson`](super::json::ValidJson) argument) → handler. Admin routes: rate limit → admin
//! token → audit (every successful change recorded with the state before and after) → handler.
//! The static fallback, the dashboard page and unmatched paths pass the rate limit too.

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::any;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::admission::require_admission;
use super::auth::{authenticate, identify, require_admin};
use super::checkout_timing::time_checkout;
use super::openapi;
use super::pages::{self, add_security_headers};
use super::panic::catch_panics;
use super::routes::{
    admin_audit, admin_events, admin_stream, challenge, checkout, checkout_health, dashboard, draw,
    events, invitations, operations, socket_tickets, tickets,
};
use super::state::AppState;
use super::telemetry::{record_metrics, request_span};
use super::ws;
use crate::error::ApiError;
use crate::http::audit_layer::record_change;
use crate::http::routes::admin_ratelimit::admin_routes;
use crate::ratelimit::RateLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The rate-limit step of a route, by endpoint name: the limiter's rules match the route by its
/// path or by this name (`group = "checkout"`).
fn rate_limit(state: &AppState, endpoint: &'static str) -> RateLimitLayer {
    RateLimitLayer::new(state.ratelimit.clone()).group(endpoint)
}

/// The whole application router, and the OpenAPI document collected from its handlers.
pub fn router(state: AppState) -> Router {
    let s = &state;
    let shopper = |endpoint| {
        ServiceBuilder::new()
            .layer(rate_limit(s, endpoint))
            .layer(from_fn_with_state(s.clone(), authenticate))
    };
    let admin = |endpoint| {
        ServiceBuilder::new()
            .layer(rate_limit(s, endpoint))
            .layer(from_fn_with_state(s.clone(), require_admin))
            .layer(from_fn_with_state(s.clone(), record_change))
    };
    let public = |endpoint| ServiceBuilder::new().layer(rate_limit(s, endpoint));

    // Every route is registered through `routes!`, which reads the handler's path, method and
    // OpenAPI description from its `#[utoipa::path]`: serving a route documents it.
    let shoppers = OpenApiRouter::new()
        .routes(routes!(events::public_state).layer(public("event_state")))
        .routes(routes!(draw::draw).layer(public("draw")))
        .routes(
            routes!(tickets::join).layer(
                ServiceBuilder::new()
                    .layer(rate_limit(s, "join"))
                    // Anonymous callers pass: the event decides whether visitors may join.
                    .layer(from_fn_with_state(s.clone(), identify)),
            ),
        )
        .routes(
            routes!(challenge::challenge).layer(
                ServiceBuilder::new()
                    .layer(rate_limit(s, "challenge"))
                    // Anonymous callers pass, as for the join the challenge is for.
                    .layer(from_fn_with_state(s.clone(), identify)),
            ),
        )
        .routes(routes!(tickets::read).layer(shopper("ticket_read")))
        .routes(routes!(tickets::leave).layer(shopper("ticket_leave")))
        .routes(routes!(socket_tickets::issue).layer(shopper("socket_ticket")))
        // Authentication is the route's own: browsers send the token in the query.
        .routes(routes!(ws::position_socket).layer(public("ws")))
        .routes(routes!(operations::jwks).layer(public("jwks")));

    let checkout = OpenApiRouter::new()
        .routes(
            routes!(checkout::checkout).layer(
                ServiceBuilder::new()
                    .layer(rate_limit(s, "checkout"))
                    .layer(from_fn_with_state(s.clone(), authenticate))
                    .layer(from_fn_with_state(s.clone(), require_admission)),
            ),
        )
        // The admission was consumed by the checkout; the order now belongs to the shopper.
        .routes(routes!(checkout::pay).layer(shopper("pay")))
        .routes(routes!(checkout::order).layer(shopper("order_read")));

    let operators = OpenApiRouter::new()
        .routes(routes!(admin_events::create, admin_events::list).layer(admin("admin")))
        .routes(
            routes!(
                admin_events::detail,
                admin_events::change,
                admin_events::remove
            )
            .layer(admin("admin")),
        )
        // The limiter's own rules and bans: `GET`/`PUT /v1/admin/ratelimit`, `/v1/admin/bans`.
        .merge(admin_routes(state.ratelimit.clone()).layer(admin("admin")))
        .routes(routes!(invitations::issue).layer(admin("admin")))
        .routes(routes!(checkout_health::report).layer(admin("admin")))
        .routes(routes!(admin_audit::audit_log).layer(admin("admin")))
        .routes(routes!(admin_stream::stream).layer(admin("admin")))
        // The dashboard page itself is public: its data needs the token.
        .routes(
            routes!(dashboard::page)
                .layer(from_fn(add_security_headers))
                .layer(public("admin")),
        );

    let operations = OpenApiRouter::new()
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(operations::metrics))
        .routes(routes!(openapi::document))
        .routes(routes!(operations::dev_login).layer(public("login")));

    let (documented, collected) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(shoppers)
        .merge(checkout)
        .merge(operators)
        .merge(operations)
        .split_for_parts();

    // Pages and static files pass the limiter too (its `pages` rule is sized for a crowd behind
    // one address) and may be cached for a minute by browsers and proxies.
    let static_files = pages::serve
        .layer(from_fn(add_security_headers))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static(STATIC_CACHE_CONTROL),
        ))
        .layer(public("static"));
    let timeout = s.settings.request_timeout;
    let body_limit = s.settings.body_limit_bytes;

    documented
        .route("/v1/{*rest}", any(api_not_found).layer(public("unmatched")))
        .fallback(static_files)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(openapi::Document(openapi::finish(collected))))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn(record_metrics))
                .layer(from_fn_with_state(state.clone(), time_checkout))
                // Inside the metrics and the trace span: a panic is counted and logged as a 500.
                .layer(catch_panics())
                .layer(HandleErrorLayer::new(timed_out))
                .timeout(timeout)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}

/// How long browsers and proxies may keep a page or asset: short enough that a new release is
/// picked up within a minute (its modules are not mixed with an old release's for long), long
/// enough that a crowd reloading its pages asks us about once a minute each.
const STATIC_CACHE_CONTROL: &str = "public, max-age=60";

async fn api_not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
    )
    .detail("this endpoint does not take that method: see /openapi.json")
}

async fn timed_out(error: tower::BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "The request took too long",
        )
        .detail("the request did not finish in time; try again shortly")
        .retry_after(2)
    } else {
        ApiError::internal(error)
    }
}
