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

// The webhook is posted from a task on this one-thread runtime, so it logs through this subscriber.
#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_ban_webhook_is_logged_by_its_origin_without_its_secret_path() {
    use waitroom::ratelimit::alerts::{Alerter, BanAlert};
    let captured = Captured::default();
    let _default = tracing::subscriber::set_default(subscriber(LogFormat::Json, captured.clone()));
    // A port nothing listens on: the post fails at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/T0/s3cret-webhook-path?token=k3y-in-query");

    Alerter::default().raise(
        BanAlert::new("ip:192.0.2.1", "flood", 1, 0, None),
        Some(&url),
        0,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let found = captured
            .lines()
            .into_iter()
            .find(|line| line["message"] == "webhook unreachable");
        if let Some(line) = found {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the failure was not logged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    assert_eq!(
        line["url"],
        format!("http://127.0.0.1:{port}/***"),
        "{line}"
    );
    let everything = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!everything.contains("s3cret-webhook-path"), "{everything}");
    assert!(!everything.contains("k3y-in-query"), "{everything}");
}
