//! The dashboard's feed: server-sent events with every event's figures, for the admin only.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::admin_app::{admin, get, open_sale, spawn_on_memory};

#[tokio::test]
async fn the_stream_sends_every_events_figures_and_the_limiter_at_once() {
    let app = spawn_on_memory().await;
    let created = admin(
        &app,
        Method::POST,
        "/v1/admin/events",
        Some(open_sale("streamed", app.state.now())),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    app.state.live_stats.poll().await.unwrap();

    let mut stream = admin(&app, Method::GET, "/v1/admin/stream", None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .expect("a first event at once")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(chunk.to_vec()).unwrap();

    assert!(text.starts_with("event: stats\ndata: "), "{text}");
    let data: serde_json::Value =
        serde_json::from_str(text.lines().nth(1).unwrap().trim_start_matches("data: ")).unwrap();
    let event = &data["events"][0];
    assert_eq!(event["id"], "streamed");
    assert_eq!(event["outflow_set_per_second"], 100.0);
    assert_eq!(event["stats"]["stock_left"]["TSHIRT"], 50);
    assert!(data["ratelimit"]["bans"].is_array());
}

#[tokio::test]
async fn the_stream_refuses_callers_without_the_admin_token() {
    let app = spawn_on_memory().await;
    assert_eq!(
        get(&app, "/v1/admin/stream").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_event_detail_has_joins_per_second_serving_and_checkout_outcomes() {
    let app = spawn_on_memory().await;
    admin(
        &app,
        Method::POST,
        "/v1/admin/events",
        Some(open_sale("detailed", app.state.now())),
    )
    .await;
    let token = app.token("shopper-1");
    app.join("detailed", &token).await;
    app.state.live_stats.poll().await.unwrap();

    let detail: serde_json::Value = admin(&app, Method::GET, "/v1/admin/events/detailed", None)
        .await
        .json()
        .await
        .unwrap();

    assert!(detail.get("joins_per_second").is_some());
    assert_eq!(detail["stats"]["joined"], 1);
    assert_eq!(detail["serving"], 0);
    assert_eq!(detail["checkout"]["reserved"], 0);
    assert_eq!(detail["outflow"]["set_per_second"], 100.0);
    assert!(detail["seed_hash"].is_string());
}
