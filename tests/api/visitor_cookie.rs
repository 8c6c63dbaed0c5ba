//! The visitor cookie: `HttpOnly; SameSite=Lax` always, `Secure` when a trusted proxy says the
//! request came over HTTPS, and only then.

use reqwest::{Method, StatusCode};
use serde_json::json;
use waitroom::config::Settings;

use crate::test_app::{TestApp, event_body, spawn_app_with, test_settings};

/// The `Set-Cookie` of an anonymous join, sent with `X-Forwarded-Proto: proto` when given.
async fn visitor_cookie(app: &TestApp, proto: Option<&str>) -> String {
    let mut body = event_body("street", app.now(), 5);
    body["allow_anonymous"] = json!(true);
    let _ = app.create_event(&body).await;
    let mut request = app
        .request(Method::POST, "/v1/events/street/tickets")
        .json(&json!({}));
    if let Some(proto) = proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|attribute| attribute.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn behind_a_trusted_proxy_over_https_the_visitor_cookie_is_secure_and_lax() {
    let app = spawn_app_with(Settings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..test_settings()
    })
    .await;
    let over_https = attributes(&visitor_cookie(&app, Some("https")).await);
    assert!(over_https.contains(&"secure".to_owned()), "{over_https:?}");
    assert!(
        over_https.contains(&"samesite=lax".to_owned()),
        "{over_https:?}"
    );
    assert!(
        over_https.contains(&"httponly".to_owned()),
        "{over_https:?}"
    );
    let over_http = attributes(&visitor_cookie(&app, Some("http")).await);
    assert!(!over_http.contains(&"secure".to_owned()), "{over_http:?}");
    assert!(
        over_http.contains(&"samesite=lax".to_owned()),
        "{over_http:?}"
    );
}

#[tokio::test]
async fn an_untrusted_peer_claiming_https_gets_no_secure_cookie() {
    let app = spawn_app_with(test_settings()).await;
    let cookie = attributes(&visitor_cookie(&app, Some("https")).await);
    assert!(!cookie.contains(&"secure".to_owned()), "{cookie:?}");
    assert!(cookie.contains(&"samesite=lax".to_owned()), "{cookie:?}");
}
