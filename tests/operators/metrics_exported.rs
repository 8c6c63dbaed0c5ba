//! Every metric the Grafana dashboard and the alert rules name is one `/metrics` really exports,
//! and moves by what a short sale on a running app did: joins, a socket, admissions, a checkout
//! and payment, an admin change, a ban, and a store outage. Series are created at zero, so a name
//! that is exported proves nothing: the values before and after the sale are compared.
//!
//! Per-event series (this sale's event is its own) must move by exactly what the sale did; the
//! process-wide ones (other tests in this binary share the recorder) by at least that.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use waitroom::store::redis::RedisStore;
use waitroom::telemetry::metrics::{self as m, ALL};

use crate::admin_app::{TestApp, admin, get, open_sale};
use crate::support::redis_server::RedisServer;
use crate::support::scrape::Scrape;

/// The `waitroom_*` metric names in `text`, with histogram series suffixes taken off.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("waitroom_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every expression of the dashboard and of the alert rules.
fn referenced_metrics() -> BTreeSet<String> {
    let dashboard = std::fs::read_to_string("deploy/grafana/dashboards/waitroom.json").unwrap();
    let dashboard: Value = serde_json::from_str(&dashboard).unwrap();
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            expressions.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        expressions.push(variable["definition"].as_str().unwrap().to_owned());
    }
    let alerts = std::fs::read_to_string("deploy/alerts.yml").unwrap();
    let alerts: serde_yaml::Value = serde_yaml::from_str(&alerts).unwrap();
    for group in alerts["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            expressions.push(rule["expr"].as_str().unwrap().to_owned());
        }
    }
    expressions.iter().flat_map(|e| metric_names(e)).collect()
}

/// The app's `/metrics`.
async fn scrape(app: &TestApp) -> Scrape {
    Scrape::parse(&get(app, "/metrics").await.text().await.unwrap())
}

/// A short sale through every part of the app that counts something; `/metrics` while its
/// socket was open.
async fn run_a_sale(app: &TestApp) -> Scrape {
    let created = admin(
        app,
        Method::POST,
        "/v1/admin/events",
        Some(open_sale("metered", app.state.now())),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // Held until the scrape: the ticker would admit the shopper before the socket opens.
    let held = admin(
        app,
        Method::PATCH,
        "/v1/admin/events/metered",
        Some(json!({ "status": "paused" })),
    )
    .await;
    assert_eq!(held.status(), StatusCode::OK);
    let token = app.token("metered-shopper");
    let ticket = app.join("metered", &token).await;
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_owned();

    let mut socket = app.socket("metered", &ticket_id, &token).await;
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    // The paused queue is still: the second position is the keepalive's, 1.5 s after the first.
    let positions = tokio::time::timeout(Duration::from_secs(5), async {
        let mut positions = 0;
        while let Some(Ok(message)) = socket.next().await {
            if message
                .to_text()
                .is_ok_and(|text| text.contains("\"position\""))
            {
                positions += 1;
                if positions == 2 {
                    break;
                }
            }
        }
        positions
    })
    .await;
    assert!(
        matches!(positions, Ok(2)),
        "the socket told its position twice: {positions:?}"
    );

    let while_open = scrape(app).await;

    let opened = admin(
        app,
        Method::PATCH,
        "/v1/admin/events/metered",
        Some(json!({ "status": "open" })),
    )
    .await;
    assert_eq!(opened.status(), StatusCode::OK);
    // The socket hands the admission over (the ticker drains as soon as the sale opens).
    let pushed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if message
                .to_text()
                .is_ok_and(|text| text.contains("\"admitted\""))
            {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(pushed, Ok(true)),
        "the socket told of the admission"
    );
    let read: Value = app
        .http
        .get(format!(
            "http://{}/v1/events/metered/tickets/{ticket_id}",
            app.addr
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admission = read["admission_token"]
        .as_str()
        .expect("admitted")
        .to_owned();
    let order: Value = app
        .http
        .post(format!("http://{}/v1/events/metered/checkout", app.addr))
        .bearer_auth(&token)
        .header("Admission-Token", &admission)
        .json(&json!({ "items": [{ "sku": "TSHIRT", "quantity": 1 }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paid = app
        .http
        .post(format!(
            "http://{}/v1/events/metered/orders/{}/pay",
            app.addr,
            order["order_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({ "payment": { "card_token": "tok_visa" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    drop(socket);

    let paused = admin(
        app,
        Method::PATCH,
        "/v1/admin/events/metered",
        Some(json!({ "status": "paused" })),
    )
    .await;
    assert_eq!(paused.status(), StatusCode::OK);
    let banned = admin(
        app,
        Method::POST,
        "/v1/admin/bans",
        Some(json!({ "key": "ip:198.51.100.1", "seconds": 30 })),
    )
    .await;
    assert_eq!(banned.status(), StatusCode::CREATED);
    app.state.live_stats.poll().await.unwrap();
    exceed_a_tight_rule(app).await;
    while_open
}

/// Puts a rule of one request a minute on the public event state in force, then asks twelve
/// times: limited, delayed, then banned.
async fn exceed_a_tight_rule(app: &TestApp) {
    let mut rules: Value = admin(app, Method::GET, "/v1/admin/ratelimit", None)
        .await
        .json()
        .await
        .unwrap();
    let tight = json!({ "name": "tight", "paths": ["/v1/events/*"], "methods": ["GET"], "limit": 1, "period": "1m", "adaptive": false });
    rules["rules"].as_array_mut().unwrap().insert(0, tight);
    let replaced = admin(app, Method::PUT, "/v1/admin/ratelimit", Some(rules)).await;
    assert_eq!(
        replaced.status(),
        StatusCode::OK,
        "{:?}",
        replaced.text().await
    );
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(get(app, "/v1/events/metered").await.status().as_u16());
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&403), "banned at last: {statuses:?}");
    let top = app.state.ratelimit.limited_clients().top(5);
    assert!(
        top.iter()
            .any(|client| client.key == "ip:127.0.0.1" && client.rule == "tight"),
        "{top:?}"
    );
}

#[tokio::test]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported() {
    let mut redis = RedisServer::start();
    let store = Arc::new(RedisStore::connect(&redis.url(), None).await.unwrap());
    let app = TestApp::spawn(store).await;
    let before = scrape(&app).await;
    let while_open = run_a_sale(&app).await;
    let after_sale = scrape(&app).await;
    redis.stop();
    assert_eq!(
        get(&app, "/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let after_outage = scrape(&app).await;

    the_sale_moved_every_metric(&before, &while_open, &after_sale, &after_outage);

    let response = get(&app, "/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let exported = metric_names(&response.text().await.unwrap());

    let referenced = referenced_metrics();
    assert!(
        referenced.len() >= 20,
        "the files were read: {referenced:?}"
    );
    let missing: Vec<_> = referenced.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "referenced but not exported: {missing:?}"
    );
    let never_exported: Vec<_> = ALL
        .iter()
        .map(|(name, ..)| (*name).to_owned())
        .filter(|name| !exported.contains(name))
        .collect();
    assert!(
        never_exported.is_empty(),
        "described but not exported: {never_exported:?}"
    );
}

/// What the sale of [`run_a_sale`] did, metric by metric.
fn the_sale_moved_every_metric(
    before: &Scrape,
    while_open: &Scrape,
    after: &Scrape,
    after_outage: &Scrape,
) {
    let metered = [("event", "metered")];
    let exactly = |name: &str, labels: &[(&str, &str)], expected: f64| {
        let value = after.value(name, labels);
        assert_eq!(value, expected, "{name}{labels:?} after the sale");
    };
    // One shopper joined, was admitted, bought one of 50 T-shirts; then the event was paused.
    exactly(m::JOINS, &metered, 1.0);
    exactly(m::ADMISSIONS, &metered, 1.0);
    exactly(m::ABANDONED, &metered, 0.0);
    exactly(m::QUEUE_LENGTH, &metered, 0.0);
    exactly(m::ACTIVE, &metered, 0.0);
    exactly(m::SERVING, &metered, 1.0);
    exactly(m::OUTFLOW_SET, &metered, 100.0);
    exactly(m::PAUSED, &metered, 1.0);
    exactly(m::ORDERS, &[("event", "metered"), ("state", "paid")], 1.0);
    exactly(
        m::UNITS_SOLD,
        &[("event", "metered"), ("sku", "TSHIRT")],
        1.0,
    );
    exactly(
        m::UNITS_LEFT,
        &[("event", "metered"), ("sku", "TSHIRT")],
        49.0,
    );
    exactly(m::BUILD_INFO, &[], 1.0);
    // The tight rule is this test's own: one request allowed, then refusals up to a ban.
    let tight = |outcome| [("rule", "tight"), ("outcome", outcome)];
    exactly(m::RATELIMIT_DECISIONS, &tight("allowed"), 1.0);
    let at_least = |scrape: &Scrape, name: &str, labels: &[(&str, &str)], moved: f64| {
        let delta = scrape.value(name, labels) - before.value(name, labels);
        assert!(
            delta >= moved,
            "{name}{labels:?} moved by {delta}, at least {moved} expected"
        );
    };
    at_least(after, m::RATELIMIT_DECISIONS, &tight("limited"), 1.0);
    at_least(after, m::RATELIMIT_DECISIONS, &tight("banned"), 1.0);
    at_least(after, m::RATELIMIT_PENALTIES, &[("stage", "ban")], 1.0);
    // The operator's ban and the penalty's.
    at_least(after, m::RATELIMIT_BANS, &[], 2.0);
    let join = [("route", "/v1/events/{event}/tickets"), ("method", "POST")];
    at_least(after, m::HTTP_REQUESTS, &join, 1.0);
    at_least(after, &format!("{}_count", m::HTTP_DURATION), &join, 1.0);
    at_least(
        after,
        m::CHECKOUT_OUTCOMES,
        &[("step", "checkout"), ("outcome", "reserved")],
        1.0,
    );
    at_least(
        after,
        m::CHECKOUT_OUTCOMES,
        &[("step", "pay"), ("outcome", "paid")],
        1.0,
    );
    // The shopper heard of the admission on the socket, then went to the checkout.
    let reach = format!("{}_count", m::CHECKOUT_REACH);
    exactly(&reach, &[("event", "metered"), ("channel", "socket")], 1.0);
    exactly(&reach, &[("event", "metered"), ("channel", "polling")], 0.0);
    // Create, pause, ban, the rules replaced.
    at_least(after, m::ADMIN_CHANGES, &[], 4.0);
    at_least(while_open, m::WS_CONNECTIONS, &[], 1.0);
    at_least(after, m::WS_MESSAGES_RECEIVED, &[], 1.0);
    at_least(after, m::WS_MESSAGES_SENT, &[], 2.0);
    at_least(after, m::WS_ADMISSIONS_PUSHED, &[], 1.0);
    // The gap between the two positions told while the sale was paused: one keepalive.
    at_least(
        while_open,
        &format!("{}_count", m::WS_POSITION_GAP),
        &[],
        1.0,
    );
    at_least(while_open, &format!("{}_sum", m::WS_POSITION_GAP), &[], 1.4);
    at_least(
        after,
        &format!("{}_count", m::STORE_DURATION),
        &[("operation", "join")],
        1.0,
    );
    // The outage: Redis stopped, the readiness probe's ping failed.
    at_least(
        after_outage,
        m::STORE_ERRORS,
        &[("kind", "unavailable")],
        1.0,
    );
}

#[test]
fn histogram_series_count_as_their_metric() {
    let names = metric_names(
        "waitroom_x_seconds_bucket{le=\"1\"} 3\nwaitroom_y_total 2\nrate(waitroom_z[1m])",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["waitroom_x_seconds", "waitroom_y_total", "waitroom_z"]
    );
}
