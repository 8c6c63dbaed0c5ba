//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated from the code.
//!
//! Each handler carries its `#[utoipa::path]` and each body and answer its `ToSchema`; the router
//! registers handlers through `utoipa_axum::routes!`, so a route is documented by being served.
//! [`finish`] then applies the conventions every operation shares (problem documents, the
//! limiter's answers) once, instead of repeating them on each handler. `tests/operators` checks
//! the document against the router, and `tests/schemathesis/run.sh` the live server against the
//! document.

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;
use crate::live::{ClientMessage, ServerMessage};

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "waitroom",
        description = "A virtual waiting room and flash-sale admission gateway. Errors are RFC 9457 problem documents with a machine-readable `code`."
    ),
    components(schemas(Problem, ServerMessage, ClientMessage, crate::ratelimit::alerts::Alert)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "shoppers", description = "The queue: events, tickets, the live socket"),
        (name = "checkout", description = "The reference checkout behind admission tokens"),
        (name = "operators", description = "The admin API (Authorization: Bearer $WAITROOM_ADMIN_TOKEN)"),
        (name = "operations", description = "Health, readiness, metrics, keys, this document"),
    )
)]
pub struct ApiDoc;

/// The ways a caller proves who they are.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: &str, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(format)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "userToken",
            bearer(
                "JWT",
                "a shopper's token from the shop's identity provider (or a visitor token)",
            ),
        );
        components.add_security_scheme("adminToken", bearer("opaque", "WAITROOM_ADMIN_TOKEN"));
        components.add_security_scheme(
            "visitorCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::identity::VISITOR_COOKIE,
                "an anonymous visitor's signed token, set by the join",
            ))),
        );
    }
}

/// Paths no rate limit applies to (probes, scrapers, keys, this document).
const NEVER_LIMITED: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/.well-known/jwks.json",
];

/// The finished document, rendered once: what the router collected, with the answers many
/// operations share written once here (the admin check's 401 and 403, the limiter's 429 and 403)
/// and every error described as a problem document.
pub fn finish(collected: utoipa::openapi::OpenApi) -> Bytes {
    let mut document = serde_json::to_value(collected).unwrap_or(Value::Null);
    document["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    for_each_operation(&mut document, |path, operation| {
        let needs_admin = operation["security"]
            .as_array()
            .is_some_and(|ways| ways.iter().any(|way| way.get("adminToken").is_some()));
        let Some(responses) = operation["responses"].as_object_mut() else {
            return;
        };
        if needs_admin {
            responses
                .entry("401")
                .or_insert_with(|| json!({ "description": "wrong or missing admin token" }));
            responses.entry("403").or_insert_with(|| {
                json!({ "description": "the admin API is disabled (WAITROOM_ADMIN_TOKEN unset), or the caller is banned" })
            });
        }
        if !NEVER_LIMITED.contains(&path) {
            responses.entry("429").or_insert_with(|| {
                json!({ "description": "rate_limited: over a rate limit (Retry-After, RateLimit-* headers)" })
            });
            responses.entry("403").or_insert_with(|| {
                json!({ "description": "banned or on the deny list (Retry-After while banned)" })
            });
        }
        // Every error is a problem document.
        for (status, response) in responses.iter_mut() {
            if (status.starts_with('4') || status.starts_with('5'))
                && response.get("content").is_none()
            {
                response["content"] = json!({ "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" } } });
            }
        }
    });
    Bytes::from(serde_json::to_vec(&document).unwrap_or_default())
}

fn for_each_operation(document: &mut Value, mut apply: impl FnMut(&str, &mut Value)) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            if operation.get("responses").is_some() {
                apply(path, operation);
            }
        }
    }
}

/// The rendered document, shared with the handler that serves it.
#[derive(Debug, Clone)]
pub struct Document(pub Bytes);

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "the document", content_type = "application/json", body = Object)))]
pub async fn document(Extension(Document(document)): Extension<Document>) -> Response {
    let mut response = document.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
