//! JSON logs: every line of a request carries its request id; an admin change is an `info` line
//! with who, what and which.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;
use waitroom::config::LogFormat;
use waitroom::telemetry::logs::subscriber;

use crate::admin_app::{admin, open_sale, spawn_on_memory};

/// Log lines written into memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect()
    }
}

// The test runtime has one thread, so the app's tasks log through this thread's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn an_admin_change_is_an_info_line_inside_its_requests_span_with_the_request_id() {
    let captured = Captured::default();
    let _default = tracing::subscriber::set_default(subscriber(LogFormat::Json, captured.clone()));
    let app = spawn_on_memory().await;

    let response = admin(
        &app,
        Method::POST,
        "/v1/admin/events",
        Some(open_sale("logged", app.state.now())),
    )
    .await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let lines = captured.lines();
    let change = lines
        .iter()
        .find(|line| line["message"] == "admin change")
        .expect("the change is logged");
    assert_eq!(change["level"], "INFO");
    assert_eq!(change["action"], "event.create");
    assert_eq!(change["subject"], "logged");
    assert!(change["actor"].as_str().unwrap().starts_with("admin:"));
    assert_eq!(change["span"]["name"], "request");
    assert_eq!(change["span"]["request_id"], request_id.as_str());
    assert_eq!(change["span"]["route"], "/v1/admin/events");
}
