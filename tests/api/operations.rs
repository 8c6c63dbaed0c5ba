//! Health, readiness, metrics, the OpenAPI document, the JWKS and dev login.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::config::Settings;

use crate::test_app::{
    assert_field_error, assert_problem, spawn_app, spawn_app_with, test_settings,
};

crate::on_both_stores! {
    async fn health_is_ok_while_the_process_runs() {
        let app = spawn_app().await;
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    }

    async fn readiness_is_ok_when_the_store_answers() {
        let app = spawn_app().await;
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn every_response_carries_a_request_id() {
        let app = spawn_app().await;
        let response = app.get("/healthz").await;
        assert!(response.headers().contains_key("x-request-id"));
    }

    async fn metrics_count_requests_in_prometheus_text() {
        let app = spawn_app().await;
        app.get("/healthz").await;
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(text.contains("waitroom_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/healthz\""), "{text}");
    }

    async fn the_openapi_document_describes_every_route() {
        let app = spawn_app().await;
        let document: Value = app.get("/openapi.json").await.json().await.unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let paths = document["paths"].as_object().unwrap();
        for (path, method) in [
            ("/v1/events/{event}", "get"),
            ("/v1/events/{event}/tickets", "post"),
            ("/v1/events/{event}/tickets/{ticket}", "get"),
            ("/v1/events/{event}/tickets/{ticket}", "delete"),
            ("/.well-known/jwks.json", "get"),
            ("/v1/events/{event}/checkout", "post"),
            ("/v1/events/{event}/orders/{order}/pay", "post"),
            ("/v1/admin/events", "post"),
            ("/v1/admin/events", "get"),
            ("/v1/admin/events/{event}", "get"),
            ("/v1/admin/events/{event}", "patch"),
            ("/healthz", "get"),
            ("/readyz", "get"),
            ("/metrics", "get"),
            ("/openapi.json", "get"),
            ("/v1/dev/login", "post"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path}"
            );
        }
    }

    async fn the_jwks_publishes_the_ed25519_signing_key() {
        let app = spawn_app().await;
        let jwks: Value = app
            .get("/.well-known/jwks.json")
            .await
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], app.state.keys.current().kid);
    }

    async fn dev_login_is_not_found_when_it_is_off() {
        let app = spawn_app_with(Settings {
            dev_login: false,
            ..test_settings()
        })
        .await;
        let response = app
            .request(Method::POST, "/v1/dev/login")
            .json(&json!({ "user_id": "alice" }))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn dev_login_refuses_an_unknown_tier() {
        let app = spawn_app().await;
        let response = app
            .request(Method::POST, "/v1/dev/login")
            .json(&json!({ "user_id": "alice", "tier": "gold" }))
            .send()
            .await
            .unwrap();
        assert_field_error(response, "tier").await;
    }

    async fn an_unknown_api_path_is_a_problem_not_found() {
        let app = spawn_app().await;
        assert_problem(
            app.get("/v1/nothing/here").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    async fn a_wrong_method_is_a_problem_method_not_allowed() {
        let app = spawn_app().await;
        let response = app
            .request(Method::PUT, "/v1/events/sale")
            .send()
            .await
            .unwrap();
        assert_problem(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }

    async fn shutdown_stops_the_server_and_tells_long_lived_connections() {
        let app = spawn_app().await;
        let mut shutdown = app.state.shutdown.clone();
        let address = app.address.clone();
        app.stop().await.unwrap();
        assert!(*shutdown.borrow_and_update());
        assert!(reqwest::get(format!("{address}/healthz")).await.is_err());
    }
}
