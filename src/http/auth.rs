//! Authentication steps of the middleware chain: who is calling, and may they.
//!
//! [`identify`] notes a shopper when credentials are sent and lets anonymous callers through
//! (joining an event that allows visitors); [`authenticate`] requires a shopper; [`require_admin`]
//! guards `/v1/admin/*`. Credentials: `Authorization: Bearer <user JWT or visitor token>`, else
//! the `waitroom_visitor` cookie. A bearer token that does not verify is a `401`, never silently
//! anonymous; a stale visitor cookie is simply ignored (the visitor gets a new identity).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::state::AppState;
use crate::admission::AdmittedSubject;
use crate::error::ApiError;
use crate::identity::{AuthError, Shopper, VISITOR_COOKIE};

/// Who is calling a shopper route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A verified user or visitor.
    Shopper(Shopper),
    /// No credentials at all.
    Anonymous,
}

/// The caller's credentials, judged. Used by the middleware and by routes outside the chain
/// (the WebSocket reads `?access_token=` first).
pub fn caller_of(state: &AppState, headers: &HeaderMap) -> Result<Caller, AuthError> {
    let now = state.now();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = bearer_token(value).ok_or(AuthError::Invalid)?;
        return state.auth.bearer(token, now).map(Caller::Shopper);
    }
    let visitor =
        cookie(headers, VISITOR_COOKIE).and_then(|token| state.auth.visitor(&token, now).ok());
    Ok(visitor.map_or(Caller::Anonymous, Caller::Shopper))
}

/// Middleware: notes the caller (possibly anonymous) in the request's extensions.
pub async fn identify(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = caller_of(&state, request.headers())?;
    note_caller(&mut request, caller);
    Ok(next.run(request).await)
}

/// Middleware: requires a verified shopper (`401` otherwise).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match caller_of(&state, request.headers())? {
        Caller::Anonymous => Err(AuthError::Missing.into()),
        caller => {
            note_caller(&mut request, caller);
            Ok(next.run(request).await)
        }
    }
}

/// Puts the caller, and a shopper's identity and admission subject, in the extensions.
fn note_caller(request: &mut Request, caller: Caller) {
    if let Caller::Shopper(shopper) = &caller {
        let subject = AdmittedSubject(shopper.identity.subject().to_owned());
        request.extensions_mut().insert(subject);
        request.extensions_mut().insert(shopper.clone());
    }
    request.extensions_mut().insert(caller);
}

/// Whether `presented` is the admin token, compared in constant time.
pub fn is_admin_token(presented: &str, expected: &str) -> bool {
    is_admin_digest(presented, &admin_token_digest(expected))
}

/// The digest of the admin token that [`is_admin_digest`] compares with: hashing first makes
/// the comparison constant-time in the length too.
pub fn admin_token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` is the admin token whose digest is `expected`, in constant time.
pub fn is_admin_digest(presented: &str, expected: &[u8; 32]) -> bool {
    let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    presented.ct_eq(expected).into()
}

/// Middleware: requires `Authorization: Bearer $WAITROOM_ADMIN_TOKEN`.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(expected) = &state.settings.admin_token else {
        return Err(ApiError::forbidden(
            "the admin API is disabled: set WAITROOM_ADMIN_TOKEN to enable it",
        ));
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::unauthenticated("send the admin bearer token"))?;
    if is_admin_token(presented, expected) {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::unauthenticated("the admin bearer token is wrong"))
    }
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Shopper>()
            .cloned()
            .ok_or_else(|| AuthError::Missing.into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous))
    }
}
