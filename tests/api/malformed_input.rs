//! No input, however malformed, produces a 500: bodies, paths, headers and tokens.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::test_app::{ADMIN_TOKEN, assert_problem, spawn_app};

const BODIES: &[&str] = &[
    "",
    "{",
    "null",
    "[]",
    "\"text\"",
    "12",
    "{\"items\": null}",
    "{\"items\": [null]}",
    "{\"items\": [{\"sku\": {}, \"quantity\": -1}]}",
    "{\"items\": [{\"sku\": \"A\", \"quantity\": 1e400}]}",
    "{\"items\": [{\"sku\": \"A\", \"quantity\": 18446744073709551616}]}",
    "{\"payment\": []}",
    "{\"id\": \"x\", \"starts_at\": \"2027-13-45T99:00:00Z\"}",
    "{\"user_id\": \"\u{0000}\"}",
    "{\"status\": 7}",
    "{\"max_active\": \"lots\"}",
    "\u{feff}{}",
    "{\"a\": \"\\ud800\"}",
];

crate::on_both_stores! {
    async fn malformed_bodies_never_cause_a_server_error() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let routes = [
            (Method::POST, "/v1/events/sale/tickets"),
            (Method::POST, "/v1/events/sale/checkout"),
            (
                Method::POST,
                "/v1/events/sale/orders/00000000-0000-4000-8000-000000000000/pay",
            ),
            (Method::POST, "/v1/admin/events"),
            (Method::PATCH, "/v1/admin/events/sale"),
            (Method::POST, "/v1/dev/login"),
        ];
        for (method, path) in routes {
            for body in BODIES {
                let token = if path.contains("admin") {
                    ADMIN_TOKEN
                } else {
                    user.as_str()
                };
                let response = app
                    .request(method.clone(), path)
                    .bearer_auth(token)
                    .header("Admission-Token", &admission)
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                assert!(
                    status.as_u16() < 500,
                    "{method} {path} {body:?} -> {status}"
                );
                if !status.is_success() {
                    let content_type = response.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    assert_eq!(
                        content_type, "application/problem+json",
                        "{method} {path} {body:?}"
                    );
                }
            }
        }
    }

    async fn a_malformed_json_body_is_a_bad_request() {
        let app = spawn_app().await;
        let response = app
            .admin(Method::POST, "/v1/admin/events")
            .header("Content-Type", "application/json")
            .body("{\"id\": ")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn an_oversized_body_is_refused() {
        let app = spawn_app().await;
        let huge = json!({ "name": "x".repeat(200_000) });
        let response = app
            .admin(Method::POST, "/v1/admin/events")
            .json(&huge)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }

    async fn malformed_credentials_and_paths_never_cause_a_server_error() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let paths = [
            "/v1/events/sale/tickets/%FF%FE",
            "/v1/events/%00/tickets",
            "/v1/events/sale/tickets/00000000-0000-0000-0000-000000000000",
            "/v1/events/sale/orders/x/pay",
            "/v1/admin/events/%2e%2e",
        ];
        let tokens = [
            "",
            "Bearer",
            "Bearer ",
            "Bearer a.b",
            "Bearer ....",
            "Bearer eyJhbGciOiJub25lIn0.e30.",
            "Bearer \u{7f}",
        ];
        for path in paths {
            for token in tokens {
                for method in [Method::GET, Method::POST, Method::DELETE, Method::PATCH] {
                    let response = app
                        .request(method.clone(), path)
                        .header("Authorization", token)
                        .header("Cookie", "waitroom_visitor=garbage; other=1")
                        .header("Admission-Token", "garbage")
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    assert!(
                        response.status().as_u16() < 500,
                        "{method} {path} {token:?} -> {}",
                        response.status()
                    );
                }
            }
        }
    }
}
