//! The admission check as a tower layer, for any axum or tower checkout service.
//!
//! ```no_run
//! # use waitroom::admission::{AdmissionLayer, AdmissionVerifier};
//! # fn jwks() -> String { String::new() }
//! let verifier = AdmissionVerifier::from_jwks(&jwks()).expect("waitroom's JWKS");
//! let app: axum::Router = axum::Router::new()
//!     .route("/checkout", axum::routing::post(|| async { "reserved" }))
//!     .layer(AdmissionLayer::new(verifier));
//! ```
//!
//! Requests without a valid `Admission-Token` are answered `403 not_admitted` (problem JSON);
//! the others reach the service with the verified [`Admission`] in their extensions. When an
//! earlier layer has put an [`AdmittedSubject`] in the extensions (the caller, as authenticated),
//! the token must belong to it. Each admission is valid once: the service records the `jti`
//! (ticket id) it has accepted, as waitroom's own checkout does in its store.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use super::token::{Admission, AdmissionError, AdmissionVerifier, Expected};
use crate::clock::{Clock, SystemClock};
use crate::domain::EventId;
use crate::error::ApiError;

/// The header carrying the admission token.
pub const ADMISSION_TOKEN_HEADER: &str = "admission-token";

/// The `Admission-Token` header's value.
pub fn admission_token(headers: &HeaderMap) -> Result<&str, AdmissionError> {
    headers
        .get(ADMISSION_TOKEN_HEADER)
        .ok_or(AdmissionError::Missing)?
        .to_str()
        .map_err(|_| AdmissionError::Invalid)
}

/// The caller's user or visitor id, put in the request extensions by the authentication step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmittedSubject(pub String);

/// Requires a valid admission token on every request of the wrapped service.
#[derive(Clone)]
pub struct AdmissionLayer {
    verifier: Arc<AdmissionVerifier>,
    clock: Arc<dyn Clock>,
    event: Option<EventId>,
}

impl AdmissionLayer {
    /// Verifies with `verifier` at the system clock's time, for any event.
    pub fn new(verifier: AdmissionVerifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            clock: Arc::new(SystemClock),
            event: None,
        }
    }

    /// Accepts only admissions to `event`.
    pub fn for_event(mut self, event: EventId) -> Self {
        self.event = Some(event);
        self
    }

    /// Takes the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn check<B>(&self, request: &Request<B>) -> Result<Admission, AdmissionError> {
        let token = admission_token(request.headers())?;
        let subject = request.extensions().get::<AdmittedSubject>();
        let expected = Expected {
            subject: subject.map(|AdmittedSubject(subject)| subject.as_str()),
            event: self.event.as_ref(),
        };
        self.verifier.verify(token, self.clock.now_ms(), expected)
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = RequireAdmission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAdmission {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AdmissionLayer`].
#[derive(Clone)]
pub struct RequireAdmission<S> {
    inner: S,
    layer: AdmissionLayer,
}

impl<S, B> Service<Request<B>> for RequireAdmission<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.layer.check(&request) {
            Ok(admission) => {
                request.extensions_mut().insert(admission);
                // The clone is the one polled ready next time; this one was made ready above.
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move { ready.call(request).await })
            }
            Err(error) => {
                let response = ApiError::from(error).into_response();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tower::ServiceExt as _;

    use super::*;
    use crate::admission::{SigningKeys, sign_admission};
    use crate::clock::ManualClock;
    use crate::domain::TicketId;

    const NOW: i64 = 1_800_000_000_000;

    fn app(keys: &SigningKeys) -> axum::Router {
        let layer = AdmissionLayer::new(AdmissionVerifier::from_keys(keys))
            .for_event(EventId::parse("sale").unwrap())
            .with_clock(Arc::new(ManualClock::new(NOW)));
        axum::Router::new()
            .route(
                "/checkout",
                post(
                    |axum::Extension(admission): axum::Extension<Admission>| async move {
                        admission.subject
                    },
                ),
            )
            .layer(layer)
    }

    fn request(token: Option<&str>) -> Request<Body> {
        let mut builder = Request::post("/checkout");
        if let Some(token) = token {
            builder = builder.header(ADMISSION_TOKEN_HEADER, token);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_valid_admission_reaches_the_service() {
        let keys = SigningKeys::generate().unwrap();
        let event = EventId::parse("sale").unwrap();
        let token = sign_admission(
            &keys,
            "alice",
            &event,
            TicketId::random(),
            NOW,
            NOW + 60_000,
        )
        .unwrap();
        let response = app(&keys).oneshot(request(Some(&token))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn no_admission_or_another_events_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let other = EventId::parse("other").unwrap();
        let token = sign_admission(
            &keys,
            "alice",
            &other,
            TicketId::random(),
            NOW,
            NOW + 60_000,
        )
        .unwrap();
        for request in [request(None), request(Some(&token))] {
            let response = app(&keys).oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
    }
}
