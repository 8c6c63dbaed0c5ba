//! `GET /admin`: the operators' dashboard page. The page is public; its data needs the token.

use axum::extract::{Request, State};
use axum::response::Response;

use crate::http::pages::serve_file;
use crate::http::state::AppState;

/// The dashboard's page (it asks for the admin token, then reads the admin API).
#[utoipa::path(get, path = "/admin", tag = "operators",
    summary = "The operators' dashboard page (it asks for the admin token)",
    description = "Served with the pages' security headers (Content-Security-Policy, X-Content-Type-Options, Referrer-Policy, X-Frame-Options).",
    responses((status = 200, description = "the page", content_type = "text/html", body = String,
        headers(
            ("Content-Security-Policy" = String, description = "what the page may load: only its own origin's scripts, styles, sockets and workers; frame-ancestors 'none'"),
            ("X-Content-Type-Options" = String, description = "nosniff"),
            ("Referrer-Policy" = String, description = "strict-origin-when-cross-origin"),
        ))))]
pub async fn page(State(state): State<AppState>, request: Request) -> Response {
    serve_file(&state, "/admin/index.html", request).await
}
