//! The headers every page answer carries: what the browser may load and run for our pages.
//!
//! The policy allows exactly what the pages use: their own scripts, styles, sockets and workers
//! (the proof-of-work worker), images from our origin, `data:` (the blank favicon) and `https:`
//! (an event's logo, which operators host anywhere). No inline script or style, no framing
//! (the queue page must not be clickjacked into a "leave the line" click), no plugins.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The `Content-Security-Policy` of every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: https:; connect-src 'self'; worker-src 'self'; \
     font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Referrers leave the site with the origin only: a page's query never reaches another site.
const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// Middleware: adds the security headers to the answer, unless the handler chose its own.
pub async fn add_security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, REFERRER_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
