//! Recording every change made through the admin API: a middleware on the admin routes that
//! reads the state a change touches before it, lets the change happen, reads it again after, and
//! writes one [`AuditEntry`] (and one `info` log line) when the change succeeded.
//!
//! Handlers stay unaware of it: the route template says what a request changes.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::admin::retention::REMOVE_ACTION;
use crate::domain::EventId;
use crate::http::auth::bearer_token;
use crate::http::state::AppState;
use crate::store::audit::{AuditEntry, settings_for_audit};
use crate::telemetry::metrics::admin_change;

/// Largest answer read back to learn what a change created.
const ANSWER_LIMIT: usize = 1024 * 1024;

/// What a request to an admin route changes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    /// A new event: its id is in the answer.
    NewEvent,
    /// An existing event's settings.
    Event(EventId),
    /// The rate-limit rules.
    Rules,
    /// A new ban: its key is in the answer.
    NewBan,
    /// An existing ban, lifted.
    Ban(String),
}

impl Subject {
    fn of(method: &Method, route: &str, path: &str) -> Option<(&'static str, Subject)> {
        let last = path.rsplit('/').next().unwrap_or_default();
        match (method.as_str(), route) {
            ("POST", "/v1/admin/events") => Some(("event.create", Subject::NewEvent)),
            ("PATCH", "/v1/admin/events/{event}") => EventId::parse(last)
                .ok()
                .map(|event| ("event.change", Subject::Event(event))),
            ("DELETE", "/v1/admin/events/{event}") => EventId::parse(last)
                .ok()
                .map(|event| (REMOVE_ACTION, Subject::Event(event))),
            ("PUT", "/v1/admin/ratelimit") => Some(("ratelimit.replace", Subject::Rules)),
            ("DELETE", "/v1/admin/ratelimit") => Some(("ratelimit.delete", Subject::Rules)),
            ("POST", "/v1/admin/bans") => Some(("ban.create", Subject::NewBan)),
            ("DELETE", "/v1/admin/bans/{key}") => {
                Some(("ban.lift", Subject::Ban(percent_decoded(last))))
            }
            _ => None,
        }
    }
}

/// Who: `admin:` and the first 12 hex digits of the token's SHA-256, never the token itself.
pub fn actor_of(headers: &HeaderMap) -> String {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(bearer_token)
        .unwrap_or_default();
    token_fingerprint(token)
}

/// `admin:` and the first 12 hex digits of a token's SHA-256: names an operator in the audit log
/// and in the rate limiter without revealing the token.
pub fn token_fingerprint(token: &str) -> String {
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    format!("admin:{}", &digest[..12])
}

/// Middleware on the admin routes (inside the admin check): records each successful change.
pub async fn record_change(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let Some((action, subject)) = Subject::of(request.method(), &route, request.uri().path())
    else {
        return next.run(request).await;
    };
    let actor = actor_of(request.headers());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let before = snapshot(&state, &subject).await;
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let status = response.status().as_u16();
    let (response, answer) = read_answer(response).await;
    let (target, after) = match &subject {
        Subject::NewEvent => {
            let id = answer["id"].as_str().unwrap_or_default().to_owned();
            let after = match EventId::parse(&id) {
                Ok(event) => snapshot(&state, &Subject::Event(event)).await,
                Err(_) => Value::Null,
            };
            (id, after)
        }
        Subject::Event(event) => (event.to_string(), snapshot(&state, &subject).await),
        Subject::Rules => ("rules".to_owned(), snapshot(&state, &subject).await),
        Subject::NewBan => (
            answer["key"].as_str().unwrap_or_default().to_owned(),
            answer,
        ),
        Subject::Ban(key) => (key.clone(), Value::Null),
    };
    // `subject`, not `target`: JSON lines already use `target` for the module.
    tracing::info!(%actor, action, subject = %target, %request_id, "admin change");
    admin_change(action);
    let entry = AuditEntry {
        at_ms: state.now(),
        actor,
        action: action.to_owned(),
        target,
        request_id,
        status,
        before,
        after,
    };
    if let Err(error) = state.audit.append_audit(&entry).await {
        // The change is made; losing its record is worth an error line, not a failed request.
        tracing::error!(%error, action, "the audit entry could not be stored");
    }
    response
}

/// The state `subject` has now, as JSON (`null` when there is none); an event's secrets are
/// left out ([`settings_for_audit`]).
async fn snapshot(state: &AppState, subject: &Subject) -> Value {
    match subject {
        Subject::NewEvent | Subject::NewBan => Value::Null,
        Subject::Event(event) => match state.store.event(event).await {
            Ok(Some(config)) => settings_for_audit(&config),
            _ => Value::Null,
        },
        Subject::Rules => {
            serde_json::to_value(&state.ratelimit.rules().config).unwrap_or(Value::Null)
        }
        Subject::Ban(key) => match state.ratelimit.bans().await {
            Ok(bans) => bans
                .into_iter()
                .find(|ban| &ban.key == key)
                .map_or(Value::Null, |ban| json!(ban)),
            Err(_) => Value::Null,
        },
    }
}

/// Reads a JSON answer and gives back an equal response.
async fn read_answer(response: Response) -> (Response, Value) {
    let (parts, body) = response.into_parts();
    match to_bytes(body, ANSWER_LIMIT).await {
        Ok(bytes) => {
            let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (Response::from_parts(parts, Body::from(bytes)), answer)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), Value::Null),
    }
}

/// `%3A` and friends decoded (ban keys hold `:`), invalid escapes kept as written.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_patch_of_an_event_is_an_event_change_of_that_event() {
        let subject = Subject::of(
            &Method::PATCH,
            "/v1/admin/events/{event}",
            "/v1/admin/events/sale-1",
        );
        assert_eq!(
            subject,
            Some((
                "event.change",
                Subject::Event(EventId::parse("sale-1").unwrap())
            ))
        );
    }

    #[test]
    fn a_lifted_ban_names_its_decoded_key_and_reads_change_nothing() {
        let subject = Subject::of(
            &Method::DELETE,
            "/v1/admin/bans/{key}",
            "/v1/admin/bans/ip%3A10.0.0.1",
        );
        assert_eq!(
            subject,
            Some(("ban.lift", Subject::Ban("ip:10.0.0.1".into())))
        );
        assert_eq!(
            Subject::of(&Method::GET, "/v1/admin/events", "/v1/admin/events"),
            None
        );
    }

    #[test]
    fn the_actor_never_shows_the_token() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Bearer s3cret-token".parse().unwrap(),
        );
        let actor = actor_of(&headers);
        assert!(actor.starts_with("admin:") && actor.len() == 18, "{actor}");
        assert!(!actor.contains("s3cret"));
    }
}
