//! `GET /admin`: the operators' dashboard page. The page is public; its data needs the token.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::http::state::AppState;

/// The dashboard's page (it asks for the admin token, then reads the admin API).
#[utoipa::path(get, path = "/admin", tag = "operators",
    summary = "The operators' dashboard page (it asks for the admin token)",
    responses((status = 200, description = "the page", content_type = "text/html", body = String)))]
pub async fn page(State(state): State<AppState>, request: Request) -> Response {
    let file = ServeFile::new(state.settings.static_dir.join("admin/index.html"));
    match file.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
