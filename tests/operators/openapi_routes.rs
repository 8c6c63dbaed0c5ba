//! Every route the router serves is in `/openapi.json`, with its methods.
//!
//! The routes are read from the router's source (`.route("…", get(…).post(…))`), so a route
//! added without documenting it fails here.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::admin_app::{get, spawn_on_memory};

const ROUTER_SOURCES: &[&str] = &["src/http/router.rs", "src/ratelimit/admin.rs"];
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// `(path, method)` of every route in the router's source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for file in ROUTER_SOURCES {
        let source = std::fs::read_to_string(file).unwrap();
        // Each piece after `.route(` or `.route_service(` holds one path and its methods.
        for piece in source.split(".route").skip(1) {
            let Some(rest) = piece
                .trim_start_matches("_service")
                .trim_start()
                .strip_prefix("(")
            else {
                continue;
            };
            let Some(path) = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|p| p.split('"').next())
            else {
                continue;
            };
            if path.contains('*') {
                continue; // the catch-all answering 404 for unknown API paths
            }
            let body = &rest[..call_length(rest)];
            let mut found = false;
            for method in METHODS {
                if body.contains(&format!("{method}(")) {
                    routes.insert((path.to_owned(), (*method).to_owned()));
                    found = true;
                }
            }
            if !found {
                routes.insert((path.to_owned(), "get".to_owned()));
            }
        }
    }
    routes
}

/// The length of the call whose `(` was just taken: up to its matching `)`.
fn call_length(text: &str) -> usize {
    let mut depth = 1;
    for (at, c) in text.char_indices() {
        depth += match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        };
        if depth == 0 {
            return at;
        }
    }
    text.len()
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_openapi_document() {
    let routes = routes_in_source();
    assert!(
        routes.len() >= 20,
        "the router's routes were read: {routes:?}"
    );
    let app = spawn_on_memory().await;

    let document: Value = get(&app, "/openapi.json").await.json().await.unwrap();

    let missing: Vec<_> = routes
        .iter()
        .filter(|(path, method)| document["paths"][path.as_str()][method.as_str()].is_null())
        .collect();
    assert!(missing.is_empty(), "undocumented routes: {missing:?}");
}

#[tokio::test]
async fn every_documented_operation_answers_problems_as_problem_json() {
    let app = spawn_on_memory().await;
    let document: Value = get(&app, "/openapi.json").await.json().await.unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has responses");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        !response["content"]["application/problem+json"].is_null(),
                        "{method} {path} {status} is a problem document"
                    );
                }
            }
        }
    }
}
