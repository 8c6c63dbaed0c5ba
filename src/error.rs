//! The one API error, and its mapping to RFC 9457 problem JSON.
//!
//! Handlers and layers return [`ApiError`]; its `IntoResponse` writes the problem document with
//! the one writer the rate limiter answers with too ([`crate::ratelimit::problem`]), and every
//! `From` that turns a module's error into one sits beside it. Client errors say exactly what is
//! wrong; server errors say little to the client and everything to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::admission::AdmissionError;
use crate::defences::InvitationError;
use crate::defences::proof_of_work::ProofError;
use crate::identity::AuthError;
use crate::ratelimit::problem::ProblemAnswer;
pub use crate::ratelimit::problem::{FieldError, Problem, ProblemCode};
use crate::store::StoreError;

/// An error answered to a client as `application/problem+json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A machine-readable code: `rate_limited`, `not_admitted`, `validation_failed`, …
    pub code: &'static str,
    /// A short summary of the kind of problem, the same for every instance of the code.
    pub title: &'static str,
    /// What happened this time.
    pub detail: String,
    /// Field errors, for `validation_failed`.
    pub errors: Vec<FieldError>,
    /// Seconds after which a retry may succeed (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A new error with no field errors and no retry hint.
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: title.to_owned(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Sets the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Sets `Retry-After` (at least one second).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// `422 validation_failed` with the given field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request is not valid",
            )
            .detail(detail)
        }
    }

    /// `422 validation_failed` for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// `400 bad_request`: the request could not be read at all (malformed JSON, wrong type).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The request cannot be read",
        )
        .detail(detail)
    }

    /// `404 not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found").detail(detail)
    }

    /// `401 unauthenticated`: no credentials, or credentials that do not verify.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication is required",
        )
        .detail(detail)
    }

    /// `403 forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").detail(detail)
    }

    /// `503 unavailable`: the store cannot be reached. Retry in a few seconds.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is briefly unavailable",
        )
        .detail("the queue store cannot be reached; try again shortly")
        .retry_after(2)
    }

    /// `500 internal`: logged in full here, told to the client in a word.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
        .detail("something went wrong on our side; it has been logged")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                Self::unavailable()
            }
            StoreError::Corrupt(cause) => Self::internal(cause),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::unauthenticated(error.to_string())
    }
}

impl From<AdmissionError> for ApiError {
    fn from(error: AdmissionError) -> Self {
        Self::new(StatusCode::FORBIDDEN, "not_admitted", "Not admitted").detail(error.to_string())
    }
}

impl From<ProofError> for ApiError {
    fn from(error: ProofError) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "proof_invalid",
            "The proof of work is not valid",
        )
        .detail(error.to_string())
    }
}

impl From<InvitationError> for ApiError {
    fn from(error: InvitationError) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "invitation_required",
            "An invitation is required",
        )
        .detail(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = ProblemAnswer {
            status: self.status,
            code: self.code,
            title: self.title,
            detail: &self.detail,
            errors: &self.errors,
            retry_after: self.retry_after,
        }
        .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110: a 401 names the scheme that would be accepted.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_carries_its_code_and_retry_after() {
        let response = ApiError::unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn validation_lists_every_field() {
        let error = ApiError::validation(vec![
            FieldError {
                field: "items".into(),
                message: "must not be empty".into(),
            },
            FieldError {
                field: "payment.card_token".into(),
                message: "missing".into(),
            },
        ]);
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.errors.len(), 2);
        assert!(error.detail.contains("payment.card_token"));
    }
}
