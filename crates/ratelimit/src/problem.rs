//! RFC 9457 problem documents, as the limiter answers a refused request and the service answers
//! every error: one writer, so both look the same to a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Where in the request: a JSON path such as `items[0].quantity`, or a header or path name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document, as every error is answered.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// Machine-readable: `not_admitted`, `admission_used`, `sold_out`, `validation_failed`,
    /// `rate_limited`, `unavailable`, …
    code: &'a str,
    /// The fields at fault, for `validation_failed`.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// What a problem answer says: its status, code, title and detail, the fields at fault, and
/// `Retry-After` (seconds) for 429 and 503.
pub struct ProblemAnswer<'a> {
    /// The HTTP status.
    pub status: StatusCode,
    /// A machine-readable code: `rate_limited`, `banned`, …
    pub code: &'static str,
    /// A short summary of the kind of problem.
    pub title: &'a str,
    /// What happened this time.
    pub detail: &'a str,
    /// Field errors, for `validation_failed`.
    pub errors: &'a [FieldError],
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u64>,
}

impl ProblemAnswer<'_> {
    /// The `application/problem+json` response, with `Retry-After` when set and the code in the
    /// response's extensions ([`ProblemCode`]).
    pub fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!(
                "https://waitroom.dev/problems/{}",
                self.code.replace('_', "-")
            ),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // Layers outside the handler (metrics) read the code without parsing the body.
        response.extensions_mut().insert(ProblemCode(self.code));
        response
    }
}

/// The `code` of a problem response, kept in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);
