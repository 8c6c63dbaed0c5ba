//! The pages built into the binary: `static/` as it was when the binary was compiled.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::error::ApiError;

/// Every file of `static/`, compiled in (`build.rs` rebuilds when one changes).
pub static EMBEDDED_PAGES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/static");

/// The embedded file at a URL path: `/` and directories mean their `index.html`.
pub fn embedded_page(path: &str) -> Response {
    let Some(file) = find(path) else {
        return ApiError::not_found("no such page").into_response();
    };
    let mime = mime_guess::from_path(file.path()).first_or_octet_stream();
    let content_type = HeaderValue::from_str(mime.essence_str())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        // How long it may be kept is the router's one policy for pages and assets.
        [(header::CONTENT_TYPE, content_type)],
        file.contents(),
    )
        .into_response()
}

fn find(path: &str) -> Option<&'static include_dir::File<'static>> {
    let relative = path.trim_start_matches('/');
    // No `..`, no empty or hidden segments: only the names the directory holds.
    if relative
        .split('/')
        .any(|segment| segment == ".." || segment.starts_with('.'))
    {
        return None;
    }
    if relative.is_empty() || relative.ends_with('/') {
        return EMBEDDED_PAGES.get_file(format!("{relative}index.html"));
    }
    EMBEDDED_PAGES
        .get_file(relative)
        .or_else(|| EMBEDDED_PAGES.get_file(format!("{relative}/index.html")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(path: &str) -> Option<String> {
        let response = embedded_page(path);
        (response.status() == StatusCode::OK).then(|| {
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .to_owned()
        })
    }

    #[test]
    fn the_root_and_directories_serve_their_index() {
        assert_eq!(content_type("/").as_deref(), Some("text/html"));
        assert_eq!(content_type("/admin/").as_deref(), Some("text/html"));
        assert_eq!(content_type("/admin").as_deref(), Some("text/html"));
    }

    #[test]
    fn assets_have_their_types() {
        assert_eq!(
            content_type("/queue.js").as_deref(),
            Some("text/javascript")
        );
        assert_eq!(content_type("/waitroom.css").as_deref(), Some("text/css"));
    }

    #[test]
    fn paths_outside_the_pages_are_not_found() {
        assert_eq!(content_type("/../Cargo.toml"), None);
        assert_eq!(content_type("/admin/../../Cargo.toml"), None);
        assert_eq!(content_type("/nope.html"), None);
        assert_eq!(content_type("/.hidden"), None);
    }
}
