//! `/openapi.json` and the router describe the same API.
//!
//! The router registers every route through `utoipa_axum::routes!`, which takes the path and
//! method from the handler's `#[utoipa::path]`. These tests hold that in place from both sides:
//! no route is added past the document (the sources), every documented operation is served, and
//! on a documented path every method the document leaves out is refused with `405`.

use reqwest::Method;
use serde_json::Value;

use crate::admin_app::{ADMIN_TOKEN, get, spawn_on_memory};

/// The files that build the router.
const ROUTER_SOURCES: &[&str] = &["src/http/router.rs", "src/http/routes/admin_ratelimit.rs"];
/// The only route registered without a document entry: unknown `/v1` paths answer a `404`
/// problem.
const UNDOCUMENTED: &[&str] = &[r#".route("/v1/{*rest}","#];
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

#[test]
fn no_route_is_registered_past_the_document() {
    for file in ROUTER_SOURCES {
        // Without whitespace, so a call reads the same however it is wrapped.
        let source: String = std::fs::read_to_string(file)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut documented = 0;
        for (at, _) in source.match_indices(".route") {
            let call = &source[at..];
            if call.starts_with(".routes(routes!(") {
                documented += 1;
                continue;
            }
            assert!(
                UNDOCUMENTED.iter().any(|allowed| call.starts_with(allowed)),
                "{file}: a route registered without routes!(…): {}",
                &call[..call.len().min(60)]
            );
        }
        assert!(
            !source.contains(".nest("),
            "{file}: nested routers are not documented"
        );
        assert!(documented >= 3, "{file}: the routes!(…) calls were read");
    }
}

/// The document of a fresh app.
async fn document(app: &crate::admin_app::TestApp) -> Value {
    let response = get(app, "/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// A concrete URL path for a documented one: every parameter filled with a well-formed value.
fn concrete(path: &str) -> String {
    path.replace("{event}", "no-such-event")
        .replace("{ticket}", "0193a0a0-0000-7000-8000-000000000000")
        .replace("{order}", "0193a0a0-0000-7000-8000-000000000001")
        .replace("{key}", "ip:203.0.113.7")
}

/// Sends `method path` with the admin token and returns the status and, for a problem, its code
/// and detail.
async fn probe(app: &crate::admin_app::TestApp, method: &str, path: &str) -> (u16, String, String) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let response = app
        .http
        .request(method, format!("http://{}{}", app.addr, concrete(path)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let is_problem = response
        .headers()
        .get("content-type")
        .is_some_and(|value| value == "application/problem+json");
    // The dashboard's stream never ends: its headers are the answer.
    let body: Value = if is_problem {
        response.json().await.unwrap_or_default()
    } else {
        Value::Null
    };
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
    (status, text("code"), text("detail"))
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_on_memory().await;
    let document = document(&app).await;
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "the document has the API's paths");
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let (status, code, detail) = probe(&app, method, path).await;
            // Unknown `/v1` paths get the catch-all's problem, others the pages' 404 (a problem
            // from the built-in pages, a bare 404 from a static_dir).
            let unrouted = status == 404
                && (detail.starts_with("no such endpoint")
                    || detail == "no such page"
                    || code.is_empty());
            assert!(
                status != 405 && !unrouted,
                "{method} {path} is documented but not served: {status} {code} {detail}"
            );
            // Whatever it answered (an unknown event's 404, a missing body's 4xx) is an answer
            // the document lists for this operation.
            let responses = &document["paths"][path][method]["responses"];
            assert!(
                responses.get(status.to_string()).is_some() || responses.get("default").is_some(),
                "{method} {path} answered {status} {code}, which its document leaves out"
            );
        }
    }
}

#[tokio::test]
async fn a_method_missing_from_the_document_is_refused() {
    let app = spawn_on_memory().await;
    let document = document(&app).await;
    let mut refused = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        let operations = operations.as_object().unwrap();
        for method in METHODS.iter().filter(|m| !operations.contains_key(**m)) {
            let (status, code, _) = probe(&app, method, path).await;
            assert_eq!(
                (status, code.as_str()),
                (405, "method_not_allowed"),
                "{method} {path} is served but not documented"
            );
            refused += 1;
        }
    }
    assert!(refused >= 60, "undocumented methods were tried: {refused}");
}

#[tokio::test]
async fn every_documented_operation_answers_problems_as_problem_json() {
    let app = spawn_on_memory().await;
    let document = document(&app).await;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has responses");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status} is a problem document"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_schemas_come_from_the_code() {
    let app = spawn_on_memory().await;
    let document = document(&app).await;
    let schemas = &document["components"]["schemas"];
    // A ticket as the handlers serialise it: the required fields are the view's non-optional ones.
    let mut required: Vec<&str> = schemas["Ticket"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        ["event", "joined_at", "status", "ticket_id"],
        "{}",
        schemas["Ticket"]
    );
    let chance = &schemas["Ticket"]["properties"]["chance_of_success"];
    assert_eq!(chance["minimum"].as_f64(), Some(0.0), "{chance}");
    assert_eq!(chance["maximum"].as_f64(), Some(1.0), "{chance}");
    assert!(
        schemas["SocketServerFrame"]
            .to_string()
            .contains("chance_of_success"),
        "{}",
        schemas["SocketServerFrame"]
    );
    assert_eq!(
        schemas["TicketStatus"]["enum"],
        serde_json::json!(["waiting", "admitted", "expired", "left"])
    );
    assert_eq!(schemas["CreateEvent"]["additionalProperties"], false);
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn every_link_leads_to_an_operation_and_its_parameters() {
    let app = spawn_on_memory().await;
    let document = document(&app).await;
    let mut operations = std::collections::HashMap::new();
    for operations_of_path in document["paths"].as_object().unwrap().values() {
        for operation in operations_of_path.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(
                operations.insert(id.clone(), operation.clone()).is_none(),
                "{id} is unique"
            );
        }
    }
    let mut links = 0;
    for operation in operations.values() {
        for response in operation["responses"].as_object().unwrap().values() {
            let Some(named) = response["links"].as_object() else {
                continue;
            };
            for (name, link) in named {
                let target = &operations[link["operationId"].as_str().unwrap()];
                for parameter in link["parameters"].as_object().unwrap().keys() {
                    let (place, name_of) = match parameter.split_once('.') {
                        Some((place, name_of)) => (place, name_of),
                        None => ("path", parameter.as_str()),
                    };
                    let known = target["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == name_of && p["in"] == place);
                    assert!(
                        known,
                        "link {name}: {parameter} is not a parameter of its target"
                    );
                }
                links += 1;
            }
        }
    }
    assert!(links >= 6, "the document links operations: {links}");
}

#[tokio::test]
async fn the_page_branding_is_documented() {
    let app = spawn_on_memory().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("CreateEvent", "page"),
        ("PatchEvent", "page"),
        ("AdminEvent", "page"),
        ("PublicEvent", "page"),
        ("PageBranding", "logo_url"),
        ("PageBranding", "links"),
        ("PageColors", "primary"),
        ("PageLink", "url"),
        ("ShopperPage", "colors"),
        ("ShopperColors", "on_primary"),
        ("ShopperColors", "adjusted"),
    ] {
        assert!(
            !schemas[schema]["properties"][field].is_null(),
            "{schema}.{field} is not documented"
        );
    }
    assert!(
        !schemas["LocalText"].is_null(),
        "LocalText is not documented"
    );
}
