//! A waitroom on a random port with the admin token, and admin request helpers.

use std::sync::Arc;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use waitroom::clock::{SystemClock, to_rfc3339};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;

pub use crate::support::live_app::TestApp;

/// The admin token of [`TestApp::spawn`].
pub const ADMIN_TOKEN: &str = "test-admin";

/// An app on a fresh memory store.
pub async fn spawn_on_memory() -> TestApp {
    let store: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(Arc::new(SystemClock)));
    TestApp::spawn(store).await
}

/// An open sale starting a second ago: 100 shoppers a second, 50 `TSHIRT`s.
pub fn open_sale(id: &str, now_ms: i64) -> Value {
    json!({
        "id": id,
        "name": format!("Sale {id}"),
        "starts_at": to_rfc3339(now_ms - 1_000),
        "outflow_per_second": 100,
        "outflow_burst": 10,
        "admission_ttl_seconds": 300,
        "inventory": { "TSHIRT": 50 },
    })
}

/// Sends an admin request with the token.
pub async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = app
        .http
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// A `GET` without credentials.
pub async fn get(app: &TestApp, path: &str) -> Response {
    app.http
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap()
}
