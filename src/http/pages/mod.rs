//! The pages: the queue page, the checkout page and the dashboard, with their assets.
//!
//! They are built into the binary ([`embedded`]), so `waitroom` started from any directory serves
//! them; `static_dir` replaces them with a directory on disk (a shop's own pages, or pages being
//! edited). Either way every page answer carries the same [`security_headers`].

mod embedded;
mod security_headers;

pub use embedded::{EMBEDDED_PAGES, embedded_page};
pub use security_headers::{CONTENT_SECURITY_POLICY, add_security_headers};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::state::AppState;
use crate::error::ApiError;

/// Serves the page or asset the request names.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    serve_file(&state, &path, request).await
}

/// Serves the page or asset at `path`: from `static_dir` when one is set, else from the binary.
pub async fn serve_file(state: &AppState, path: &str, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
        )
        .detail("pages are read with GET")
        .into_response();
    }
    let Some(dir) = &state.settings.static_dir else {
        return embedded_page(path);
    };
    let answer = if path == request.uri().path() {
        ServeDir::new(dir).oneshot(request).await
    } else {
        ServeFile::new(dir.join(path.trim_start_matches('/')))
            .oneshot(request)
            .await
    };
    match answer {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
