//! Label values of the request metrics come from a fixed set: a client cannot grow `/metrics`
//! (and the process's memory) by inventing HTTP methods.

use reqwest::Method;

use crate::admin_app::{get, spawn_on_memory};

#[tokio::test]
async fn invented_methods_are_counted_under_one_other_label() {
    let app = spawn_on_memory().await;
    for invented in ["BREW", "WHEN", "PROPFIND-ME"] {
        let method = Method::from_bytes(invented.as_bytes()).unwrap();
        app.http
            .request(method, format!("http://{}/v1/events/some-sale", app.addr))
            .send()
            .await
            .unwrap();
    }

    let metrics = get(&app, "/metrics").await.text().await.unwrap();

    for invented in ["BREW", "WHEN", "PROPFIND-ME"] {
        assert!(
            !metrics.contains(&format!("method=\"{invented}\"")),
            "`{invented}` became a label value"
        );
    }
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("waitroom_http_requests_total")
                && line.contains("method=\"OTHER\"")),
        "the invented methods are counted as OTHER"
    );
}
