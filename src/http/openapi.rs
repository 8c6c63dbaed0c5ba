//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API.
//!
//! Built in code, route by route, next to the router it describes; `tests/operators` reads the
//! router's source and checks that every route and method it serves is in the document, and
//! `tests/schemathesis/run.sh` checks the live server's answers against it.

use axum::Json;
use serde_json::{Value, json};

/// A response of the problem+json kind.
fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// A JSON response described by a schema reference or inline schema.
fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

/// A path parameter with an example value (the demo event's id), so that generated requests
/// also reach a real event.
fn param_with_example(name: &str, description: &str, example: &str) -> Value {
    let mut param = param(name, description);
    param["example"] = json!(example);
    param
}

/// The document.
pub fn openapi() -> Value {
    let event = param_with_example(
        "event",
        "event id: [a-z0-9][a-z0-9-]{0,63}",
        crate::app::DEMO_EVENT,
    );
    let ticket = param("ticket", "ticket id (UUID)");
    let order = param("order", "order id (UUID)");
    let user = json!([{ "userToken": [] }, { "visitorCookie": [] }]);
    let admin = json!([{ "adminToken": [] }]);
    let unavailable = problem("the store is unavailable (Retry-After)");
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "waitroom",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A virtual waiting room and flash-sale admission gateway. Errors are RFC 9457 problem documents with a machine-readable `code`."
        },
        "paths": {
            "/v1/events/{event}": { "get": {
                "summary": "Public state of an event, with the wait a shopper joining now can expect",
                "parameters": [event],
                "responses": { "200": ok("the event", schema("PublicEvent")), "404": problem("no such event"), "503": unavailable }
            }},
            "/v1/events/{event}/tickets": { "post": {
                "summary": "Join the queue (idempotent per identity). Anonymous callers get a visitor identity where the event allows it (cookie waitroom_visitor and field visitor_token)",
                "parameters": [event], "security": user,
                "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": {
                    "201": ok("a new ticket", schema("Ticket")), "200": ok("the caller's existing ticket", schema("Ticket")),
                    "400": problem("malformed JSON"), "401": problem("no or bad credentials, and the event admits signed-in shoppers only"),
                    "404": problem("no such event"), "409": problem("event_not_open, event_closed or sold_out"), "503": unavailable
                }
            }},
            "/v1/events/{event}/tickets/{ticket}": {
                "get": {
                    "summary": "The caller's ticket; with admission_token and admission_expires_at when admitted. Reading it keeps the place (presence)",
                    "parameters": [event, ticket], "security": user,
                    "responses": { "200": ok("the ticket", schema("Ticket")), "401": problem("no or bad credentials"), "404": problem("no such ticket for this caller"), "503": unavailable }
                },
                "delete": {
                    "summary": "Leave the queue (or give up an admission)",
                    "parameters": [event, ticket], "security": user,
                    "responses": { "204": { "description": "left" }, "401": problem("no or bad credentials"), "404": problem("no such ticket for this caller"), "503": unavailable }
                }
            },
            "/v1/events/{event}/tickets/{ticket}/ws": { "get": {
                "summary": "WebSocket of the ticket's owner (browsers: ?access_token=<user or visitor token>, or the waitroom_visitor cookie; Origin must be the server's own or in WAITROOM_ALLOWED_ORIGINS, none is accepted). Server text frames: {\"type\":\"position\",\"position\":N,\"eta_seconds\":S,\"serving\":X} (position and eta_seconds null before the draw), {\"type\":\"admitted\",\"admission_token\":\"…\",\"admission_expires_at\":\"…\"} then close 1000, {\"type\":\"status\",\"status\":\"paused\"} on status changes, {\"type\":\"ticket\",\"status\":\"expired\"|\"left\"} then close 1000, {\"type\":\"pong\"} to a client {\"type\":\"ping\"}. A frame at least every 15 s; close 1001 on shutdown (reconnect)",
                "parameters": [event, ticket,
                    { "name": "access_token", "in": "query", "required": false, "schema": { "type": "string" } }],
                "security": user,
                "responses": {
                    "101": { "description": "switching to the WebSocket protocol" },
                    "401": problem("no or bad credentials"), "403": problem("origin_not_allowed"),
                    "404": problem("no such ticket for this caller, or no such event"),
                    "426": problem("upgrade_required: not a WebSocket handshake"), "503": unavailable
                }
            }},
            "/.well-known/jwks.json": { "get": {
                "summary": "Public keys (OKP Ed25519, alg EdDSA) verifying admission tokens",
                "responses": { "200": ok("the JWKS", json!({ "type": "object" })) }
            }},
            "/v1/events/{event}/checkout": { "post": {
                "summary": "Reserve stock with an admission (consumed atomically). Headers: Authorization (the admitted shopper), Admission-Token, optional Idempotency-Key (a retry gets the first answer)",
                "parameters": [event,
                    { "name": "Admission-Token", "in": "header", "required": true, "schema": { "type": "string" } },
                    { "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 } }],
                "security": user,
                "requestBody": body(schema("CheckoutRequest")),
                "responses": {
                    "201": ok("reserved", schema("Reservation")), "400": problem("malformed JSON"),
                    "401": problem("no or bad user token"), "403": problem("not_admitted: missing, forged, expired, other shopper's or other event's admission token"),
                    "409": problem("admission_used or sold_out"), "422": problem("validation_failed"), "503": unavailable
                }
            }},
            "/v1/events/{event}/orders/{order}/pay": { "post": {
                "summary": "Pay a reservation (mock payment); idempotent",
                "parameters": [event, order], "security": user,
                "requestBody": body(schema("PayRequest")),
                "responses": {
                    "200": ok("paid", schema("Paid")), "401": problem("no or bad user token"), "404": problem("no such order of this shopper"),
                    "409": problem("reservation_expired"), "422": problem("validation_failed"), "503": unavailable
                }
            }},
            "/v1/admin/events": {
                "post": {
                    "summary": "Create an event", "security": admin, "requestBody": body(schema("CreateEvent")),
                    "responses": { "201": ok("created", schema("AdminEvent")), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled (WAITROOM_ADMIN_TOKEN unset)"), "409": problem("event_exists"), "422": problem("validation_failed"), "503": unavailable }
                },
                "get": {
                    "summary": "Every event with live stats", "security": admin,
                    "responses": { "200": ok("events", json!({ "type": "object", "properties": { "events": { "type": "array", "items": schema("AdminEvent") } } })), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "503": unavailable }
                }
            },
            "/v1/admin/events/{event}": {
                "get": {
                    "summary": "An event with live stats: queue length, joined, admitted, active, sold per SKU, outflow actual vs set", "parameters": [event], "security": admin,
                    "responses": { "200": ok("the event", schema("AdminEvent")), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "404": problem("no such event"), "503": unavailable }
                },
                "patch": {
                    "summary": "Change any setting live; status paused/open/closed pauses, resumes or ends the event", "parameters": [event], "security": admin,
                    "requestBody": body(schema("PatchEvent")),
                    "responses": { "200": ok("the changed event", schema("AdminEvent")), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "404": problem("no such event"), "422": problem("validation_failed"), "503": unavailable }
                }
            },
            "/healthz": { "get": { "summary": "200 while the process runs", "responses": { "200": ok("alive", json!({ "type": "object" })) } } },
            "/readyz": { "get": { "summary": "200 when the store answers", "responses": { "200": ok("ready", json!({ "type": "object" })), "503": unavailable } } },
            "/metrics": { "get": { "summary": "Prometheus text format", "responses": { "200": { "description": "metrics", "content": { "text/plain": {} } } } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": ok("OpenAPI 3.1", json!({ "type": "object" })) } } },
            "/v1/events/{event}/tickets/{ticket}/ws": { "get": {
                "summary": "WebSocket of the ticket's owner (user token as ?access_token= or the visitor cookie): position, admitted and status messages",
                "parameters": [event, ticket, { "name": "access_token", "in": "query", "required": false, "schema": { "type": "string" } }],
                "security": user,
                "responses": {
                    "101": { "description": "switching to the WebSocket protocol" },
                    "400": problem("a path id is malformed"), "401": problem("no or bad credentials"), "403": problem("the page's origin may not open the socket"),
                    "404": problem("no such ticket for this caller"), "426": problem("upgrade_required: not a WebSocket handshake"), "503": unavailable
                }
            }},
            "/v1/admin/ratelimit": {
                "get": {
                    "summary": "The rate-limit rules in force (the rules file's shape, as JSON)", "security": admin,
                    "responses": { "200": ok("the rules", json!({ "type": "object" })), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled") }
                },
                "put": {
                    "summary": "Replace the rules whole (JSON, or TOML with a toml content type); a set with mistakes is refused with every field at fault and the old rules stay",
                    "security": admin, "requestBody": body(json!({ "type": "object" })),
                    "responses": { "200": ok("the rules now in force", json!({ "type": "object" })), "400": problem("malformed body"), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "422": problem("validation_failed") }
                }
            },
            "/v1/admin/bans": {
                "get": {
                    "summary": "Bans in force, with reason, count and expiry", "security": admin,
                    "responses": { "200": ok("bans", json!({ "type": "object", "required": ["bans"], "properties": { "bans": { "type": "array", "items": schema("Ban") } } })), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "503": unavailable }
                },
                "post": {
                    "summary": "Ban a client key (ip:…, user:…, key:…, or a bare address) for some seconds", "security": admin,
                    "requestBody": body(schema("NewBan")),
                    "responses": { "201": ok("the ban", schema("Ban")), "400": problem("malformed body"), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "422": problem("validation_failed"), "503": unavailable }
                }
            },
            "/v1/admin/bans/{key}": { "delete": {
                "summary": "Lift a ban", "security": admin,
                "parameters": [param("key", "the banned client key, e.g. ip:203.0.113.7")],
                "responses": { "204": { "description": "lifted" }, "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "404": problem("no such ban"), "503": unavailable }
            }},
            "/v1/admin/audit": { "get": {
                "summary": "Every change made through the admin API, newest first: who, when, what, before and after", "security": admin,
                "parameters": [{ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }],
                "responses": { "200": ok("the entries", json!({ "type": "object", "required": ["entries"], "properties": { "entries": { "type": "array", "items": schema("AuditEntry") } } })), "401": problem("wrong or missing admin token"), "403": problem("admin API disabled"), "422": problem("validation_failed: limit"), "503": unavailable }
            }},
            "/v1/admin/stream": { "get": {
                "summary": "The dashboard's live feed: server-sent events `stats` (every event's figures and the limiter) about once a second", "security": admin,
                "responses": { "200": { "description": "an event stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } }, "401": problem("wrong or missing admin token"), "403": problem("admin API disabled") }
            }},
            "/admin": { "get": {
                "summary": "The operators' dashboard page (it asks for the admin token)",
                "responses": { "200": { "description": "the page", "content": { "text/html": { "schema": { "type": "string" } } } } }
            }},
            "/v1/dev/login": { "post": {
                "summary": "Only with dev login on: a user token valid for an hour",
                "requestBody": body(schema("DevLogin")),
                "responses": { "200": ok("a user token", json!({ "type": "object", "properties": { "access_token": { "type": "string" }, "token_type": { "type": "string" }, "expires_in": { "type": "integer" } } })), "404": problem("dev login is off"), "422": problem("validation_failed") }
            }}
        },
        "components": {
            "securitySchemes": {
                "userToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "user JWT (sub, exp, optional tier) or a visitor_token" },
                "visitorCookie": { "type": "apiKey", "in": "cookie", "name": "waitroom_visitor" },
                "adminToken": { "type": "http", "scheme": "bearer", "description": "WAITROOM_ADMIN_TOKEN" }
            },
            "schemas": schemas()
        }
    });
    add_rate_limit_answers(&mut document);
    document
}

/// Paths the rate limiter never limits (probes, scrapers, keys, this document).
const NEVER_LIMITED: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/.well-known/jwks.json",
];

/// Every other operation may answer `429` (over a limit) and `403` (banned or denied).
fn add_rate_limit_answers(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in paths.iter_mut() {
        if NEVER_LIMITED.contains(&path.as_str()) {
            continue;
        }
        for operation in operations
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            responses.entry("429").or_insert_with(|| {
                problem("rate_limited: over a rate limit (Retry-After, RateLimit-* headers)")
            });
            responses.entry("403").or_insert_with(|| {
                problem("banned or on the deny list (Retry-After while banned)")
            });
        }
    }
}

fn schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let seconds = json!({ "type": ["integer", "null"], "minimum": 0 });
    let items = json!({ "type": "array", "items": { "type": "object", "required": ["sku", "quantity"],
        "properties": { "sku": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1, "maximum": 1000 } } } });
    let settings = json!({
        "id": { "type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$" }, "name": { "type": "string" },
        "starts_at": time, "prequeue_opens_at": { "type": ["string", "null"], "format": "date-time" },
        "outflow_per_second": { "type": "number", "exclusiveMinimum": 0 }, "outflow_burst": { "type": "integer", "minimum": 1 },
        "max_active": { "type": ["integer", "null"], "minimum": 1 }, "cap_follows_stock": { "type": "boolean" },
        "admission_ttl_seconds": { "type": "integer", "default": 300 }, "reservation_ttl_seconds": { "type": "integer", "default": 600 },
        "allow_anonymous": { "type": "boolean", "default": false },
        "inventory": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } },
        "mode": { "enum": ["queue", "safety_net"], "default": "queue" }, "abandon_after_seconds": { "type": "integer", "default": 60 }
    });
    let mut patch = settings.clone();
    if let Some(fields) = patch.as_object_mut() {
        fields.remove("id");
        fields.insert(
            "status".into(),
            json!({ "enum": ["paused", "open", "closed"] }),
        );
    }
    json!({
        "Problem": { "type": "object", "required": ["type", "title", "status", "detail", "code"], "properties": {
            "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" }, "detail": { "type": "string" },
            "code": { "type": "string", "description": "e.g. not_admitted, admission_used, sold_out, validation_failed, rate_limited, unavailable" },
            "errors": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } } } },
        "PublicEvent": { "type": "object", "properties": {
            "id": { "type": "string" }, "name": { "type": "string" },
            "status": { "enum": ["scheduled", "prequeue", "open", "paused", "sold_out", "closed"] },
            "starts_at": time, "prequeue_opens_at": time, "queue_length": { "type": "integer" }, "serving": { "type": "integer" },
            "outflow_per_second": { "type": "number" }, "estimated_wait_seconds": seconds, "allow_anonymous": { "type": "boolean" },
            "mode": { "enum": ["queue", "safety_net"] }, "units_left": { "type": "integer" },
            "skus": { "type": "array", "items": { "type": "string" }, "description": "the SKUs the sale offers" },
            "seed_hash": { "type": "string", "description": "hex SHA-256 of the seed's text, published before the draw" },
            "seed": { "type": "string", "description": "present after the draw" } } },
        "Ticket": { "type": "object", "required": ["ticket_id", "event", "status", "position", "eta_seconds", "joined_at"], "properties": {
            "ticket_id": { "type": "string", "format": "uuid" }, "event": { "type": "string" },
            "status": { "enum": ["waiting", "admitted", "expired", "left"] },
            "position": { "type": ["integer", "null"], "description": "1 = next; null before the draw" },
            "eta_seconds": seconds, "joined_at": time,
            "admission_token": { "type": "string" }, "admission_expires_at": time, "admission_used": { "type": "boolean" },
            "visitor_token": { "type": "string", "description": "join answer of an anonymous visitor" } } },
        "CheckoutRequest": { "type": "object", "required": ["items"], "properties": { "items": items } },
        "Reservation": { "type": "object", "properties": { "order_id": { "type": "string", "format": "uuid" }, "event": { "type": "string" },
            "status": { "const": "reserved" }, "items": items, "reserved_until": time } },
        "PayRequest": { "type": "object", "required": ["payment"], "properties": { "payment": { "type": "object", "required": ["card_token"],
            "properties": { "card_token": { "type": "string" } } } } },
        "Paid": { "type": "object", "properties": { "order_id": { "type": "string" }, "event": { "type": "string" }, "status": { "const": "paid" }, "items": items } },
        "CreateEvent": { "type": "object", "required": ["id", "name", "starts_at", "outflow_per_second"], "properties": settings },
        "PatchEvent": { "type": "object", "properties": patch },
        "AdminEvent": { "type": "object", "description": "the settings, the live status, `stats` (queue_length, joined, admitted, active, stock_left, sold, reserved, …) and `outflow` (set_per_second, actual_per_second)" },
        "Ban": { "type": "object", "required": ["key", "reason", "count", "expires_at"], "properties": {
            "key": { "type": "string" }, "reason": { "type": "string" }, "count": { "type": "integer" }, "expires_at": time } },
        "NewBan": { "type": "object", "required": ["key", "seconds"], "additionalProperties": false, "properties": {
            "key": { "type": "string", "pattern": "^((ip|user|key):.+|[0-9a-fA-F:.]+(/[0-9]{1,3})?)$", "description": "ip:…, user:…, key:… or an address" },
            "seconds": { "type": "integer", "minimum": 1, "maximum": 2_592_000 }, "reason": { "type": "string" } } },
        "AuditEntry": { "type": "object", "required": ["at", "actor", "action", "target", "status", "before", "after"], "properties": {
            "at": time, "actor": { "type": "string", "description": "admin: and a fingerprint of the token" },
            "action": { "enum": ["event.create", "event.change", "ratelimit.replace", "ban.create", "ban.lift"] },
            "target": { "type": "string" }, "request_id": { "type": "string" }, "status": { "type": "integer" },
            "before": { "description": "the state before (null when there was none)" }, "after": { "description": "the state after (null when there is none)" } } },
        "DevLogin": { "type": "object", "required": ["user_id"], "properties": { "user_id": { "type": "string" },
            "tier": { "enum": ["anonymous", "new", "regular", "trusted", "premium", "admin"] } } }
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    let mut document = openapi();
    if let Some(paths) = document["paths"].as_object_mut() {
        paths.extend(crate::ratelimit::admin::openapi_paths());
    }
    Json(document)
}
