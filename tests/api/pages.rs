//! The pages: built into the binary, replaced by `static_dir` when one is set, and every one
//! served with the security headers.

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};

use crate::test_app::{spawn_app, spawn_app_with, test_settings};

/// The pages a shopper or an operator opens.
const PAGES: [&str; 4] = ["/", "/index.html", "/checkout.html", "/admin"];

#[tokio::test]
async fn the_built_in_pages_are_served_without_a_static_dir() {
    let app = spawn_app().await;
    assert_eq!(app.state.settings.static_dir, None);

    for path in PAGES {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html", "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<script"), "{path} is a page with its script");
    }
    let script = app.get("/queue.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()[CONTENT_TYPE], "text/javascript");
    assert!(script.text().await.unwrap().contains("socket-ticket"));
}

#[tokio::test]
async fn every_page_and_asset_carries_the_security_headers() {
    let app = spawn_app().await;

    for path in PAGES
        .iter()
        .chain(&["/queue.js", "/waitroom.css", "/admin/admin.js"])
    {
        let response = app.get(path).await;
        let headers = response.headers();
        let policy = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "worker-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(
            headers[REFERRER_POLICY], "strict-origin-when-cross-origin",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_static_dir_replaces_the_built_in_pages() {
    let dir = std::env::temp_dir().join(format!("waitroom-pages-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("admin")).unwrap();
    std::fs::write(dir.join("index.html"), "<p>the shop's own queue page</p>").unwrap();
    std::fs::write(
        dir.join("admin/index.html"),
        "<p>the shop's own dashboard</p>",
    )
    .unwrap();
    let mut settings = test_settings();
    settings.static_dir = Some(dir.clone());
    let app = spawn_app_with(settings).await;

    let queue = app.get("/").await;
    let headers = queue.headers().clone();
    let queue = queue.text().await.unwrap();
    let dashboard = app.get("/admin").await.text().await.unwrap();
    let missing = app.get("/checkout.html").await.status();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(queue, "<p>the shop's own queue page</p>");
    assert_eq!(dashboard, "<p>the shop's own dashboard</p>");
    assert_eq!(
        missing,
        StatusCode::NOT_FOUND,
        "nothing built in shows through"
    );
    assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn pages_are_read_only_and_unknown_ones_are_a_problem() {
    let app = spawn_app().await;

    let posted = app
        .request(reqwest::Method::POST, "/index.html")
        .send()
        .await
        .unwrap();
    let missing = app.get("/no-such-page.html").await;

    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()[CONTENT_TYPE], "application/problem+json");
}
