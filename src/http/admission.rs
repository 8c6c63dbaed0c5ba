//! The admission step of the middleware chain: the caller must be one the event admits (no
//! visitor in a members-only event), and their `Admission-Token` must be valid, be theirs and be
//! for the event of the path. Its single use is enforced later, atomically with the
//! stock reservation, by the store.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use super::membership::require_member;
use super::paths::EventPath;
use super::state::AppState;
use crate::admission::{Admission, AdmissionError, Expected, admission_token};
use crate::error::ApiError;
use crate::identity::Shopper;

/// Middleware: verifies the admission token and puts the [`Admission`] in the extensions.
pub async fn require_admission(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    shopper: Shopper,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // A visitor admitted while the event welcomed visitors buys nothing once it is members-only.
    if let Some(config) = state.event_settings.get(&event).await? {
        require_member(&config, &shopper)?;
    }
    let token = admission_token(request.headers())?;
    let expected = Expected {
        subject: Some(shopper.identity.subject()),
        event: Some(&event),
    };
    let admission = state.admissions.verify(token, state.now(), expected)?;
    request.extensions_mut().insert(admission);
    Ok(next.run(request).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Admission {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Admission>()
            .cloned()
            .ok_or_else(|| AdmissionError::Missing.into())
    }
}
