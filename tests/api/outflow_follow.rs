//! An outflow that follows the checkout: the `checkout_target` setting, the health the outflow
//! is judged on, and the outflow backing off and climbing back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::alert_receiver::AlertReceiver;
use crate::support::stores::Backend;
use crate::test_app::{
    START, TestApp, assert_field_error, event_body, spawn_app, spawn_app_with, test_settings,
};

/// Creates an event with `extra` settings on top of [`event_body`]; answers its detail.
async fn event_with(app: &TestApp, id: &str, extra: Value) -> Value {
    let mut body = event_body(id, START, 100);
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let response = app.create_event(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// `POST /v1/admin/events/{event}/checkout-health`.
async fn report(app: &TestApp, event: &str, p95_ms: u32, error_rate: f64) -> reqwest::Response {
    app.admin(
        Method::POST,
        &format!("/v1/admin/events/{event}/checkout-health"),
    )
    .json(&json!({ "p95_ms": p95_ms, "error_rate": error_rate, "samples": 200 }))
    .send()
    .await
    .unwrap()
}

/// Judges every event's checkout once; answers the event's outflow in force.
async fn follow(app: &TestApp, event: &str) -> f64 {
    app.state.outflow_follower.follow_all().await.unwrap();
    let detail = app
        .admin_json(Method::GET, &format!("/v1/admin/events/{event}"), None)
        .await;
    detail["outflow_effective_per_second"].as_f64().unwrap()
}

/// A sale at ten a second that follows a checkout whose p95 must stay under 500 ms and whose
/// failures under 5%.
async fn followed_sale(app: &TestApp) {
    let target = json!({ "p95_ms": 500, "max_error_rate": 0.05 });
    event_with(app, "drop", json!({ "checkout_target": target })).await;
}

crate::on_both_stores! {
    async fn a_checkout_target_is_kept_shown_changed_and_turned_off() {
        let app = spawn_app().await;
        let target = json!({ "p95_ms": 800, "max_error_rate": 0.05 });
        let created = event_with(&app, "drop", json!({ "checkout_target": target })).await;
        assert_eq!(created["checkout_target"], target);

        let stricter = json!({ "checkout_target": { "p95_ms": 400, "max_error_rate": 0.01 } });
        let changed = app.admin_json(Method::PATCH, "/v1/admin/events/drop", Some(&stricter)).await;
        assert_eq!(changed["checkout_target"]["p95_ms"], 400);
        assert_eq!(changed["checkout_target"]["max_error_rate"], 0.01);

        let off = json!({ "checkout_target": null });
        let changed = app.admin_json(Method::PATCH, "/v1/admin/events/drop", Some(&off)).await;
        assert_eq!(changed["checkout_target"], Value::Null);
        let read = app.admin_json(Method::GET, "/v1/admin/events/drop", None).await;
        assert_eq!(read["checkout_target"], Value::Null);
    }

    async fn a_checkout_target_out_of_bounds_is_refused_and_changes_nothing() {
        let app = spawn_app().await;
        event_with(&app, "drop", json!({})).await;
        for bad in [
            json!({ "p95_ms": 0, "max_error_rate": 0.1 }),
            json!({ "p95_ms": 600_001, "max_error_rate": 0.1 }),
            json!({ "p95_ms": 500, "max_error_rate": 1.5 }),
            json!({ "p95_ms": 500, "max_error_rate": -0.1 }),
        ] {
            let response = app
                .admin(Method::PATCH, "/v1/admin/events/drop")
                .json(&json!({ "checkout_target": bad }))
                .send()
                .await
                .unwrap();
            assert_field_error(response, "checkout_target").await;
            let created = app
                .create_event(&json!({
                    "id": "other", "name": "Other", "starts_at": "2027-01-15T08:00:00Z",
                    "outflow_per_second": 1, "checkout_target": bad
                }))
                .await;
            assert_field_error(created, "checkout_target").await;
        }
        let read = app.admin_json(Method::GET, "/v1/admin/events/drop", None).await;
        assert_eq!(read["checkout_target"], Value::Null);
        let unknown_field = app
            .admin(Method::PATCH, "/v1/admin/events/drop")
            .json(&json!({ "checkout_target": { "p95_ms": 500, "max_error_rate": 0.1, "p99_ms": 9 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown_field.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn the_outflow_backs_off_while_the_checkout_is_slow_and_climbs_back_slowly() {
        let app = spawn_app().await;
        followed_sale(&app).await;
        assert_eq!(follow(&app, "drop").await, 10.0, "no figures: the set rate");

        let mut down = Vec::new();
        for _ in 0..5 {
            assert_eq!(
                report(&app, "drop", 2_000, 0.0).await.status(),
                StatusCode::OK
            );
            down.push(follow(&app, "drop").await);
            app.clock.advance_ms(4_999);
            assert_eq!(
                follow(&app, "drop").await,
                *down.last().unwrap(),
                "5 s between steps"
            );
            app.clock.advance_ms(1);
        }
        let mut up = Vec::new();
        for _ in 0..20 {
            report(&app, "drop", 120, 0.0).await;
            up.push(follow(&app, "drop").await);
            app.clock.advance_ms(5_000);
        }

        assert_eq!(down, [5.0, 2.5, 1.25, 1.0, 1.0], "halving down to a tenth");
        let climb: Vec<f64> = (1..=18).map(|n| 1.0 + 0.5 * n as f64).collect();
        assert_eq!(up[..18], climb[..], "a twentieth of the set rate per step");
        assert_eq!(up[18..], [10.0, 10.0], "never above the set rate");
        let detail = app
            .admin_json(Method::GET, "/v1/admin/events/drop", None)
            .await;
        assert_eq!(detail["checkout_health"]["source"], "reported");
        assert_eq!(detail["checkout_health"]["p95_ms"], 120);
    }

    async fn failures_back_the_outflow_off_and_each_change_is_in_the_audit_log() {
        let app = spawn_app().await;
        followed_sale(&app).await;

        report(&app, "drop", 100, 0.2).await;
        let backed_off = follow(&app, "drop").await;
        app.clock.advance_ms(5_000);
        report(&app, "drop", 100, 0.0).await;
        let climbed = follow(&app, "drop").await;

        assert_eq!((backed_off, climbed), (5.0, 5.5));
        let log = app.admin_json(Method::GET, "/v1/admin/audit", None).await;
        let changes: Vec<&Value> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["action"] == "outflow.follow_checkout")
            .collect();
        assert_eq!(changes.len(), 2, "{log}");
        let (up, down) = (changes[0], changes[1]);
        assert_eq!(down["target"], "drop");
        assert_eq!(down["actor"], "waitroom");
        assert_eq!(down["before"]["outflow_effective_per_second"], 10.0);
        assert_eq!(down["after"]["outflow_effective_per_second"], 5.0);
        assert_eq!(down["after"]["reason"], "error_rate_above_target");
        assert_eq!(down["after"]["checkout_health"]["error_rate"], 0.2);
        assert_eq!(up["after"]["reason"], "checkout_healthy");
        assert_eq!(up["after"]["outflow_effective_per_second"], 5.5);
    }

    async fn the_drain_admits_at_the_backed_off_rate() {
        let app = spawn_app().await;
        followed_sale(&app).await;
        let event = waitroom::domain::EventId::parse("drop").unwrap();
        for n in 0..60 {
            let token = app.login(&format!("shopper-{n}")).await;
            app.join_ok("drop", &token).await;
        }
        app.drain(&event).await;
        let after_burst = app
            .admin_json(Method::GET, "/v1/admin/events/drop", None)
            .await;

        report(&app, "drop", 2_000, 0.0).await;
        assert_eq!(follow(&app, "drop").await, 5.0);
        app.clock.advance_ms(4_000);
        app.drain(&event).await;
        let detail = app
            .admin_json(Method::GET, "/v1/admin/events/drop", None)
            .await;

        let admitted = |view: &Value| view["stats"]["admitted"].as_u64().unwrap();
        assert_eq!(
            admitted(&detail) - admitted(&after_burst),
            20,
            "five a second for 4 s"
        );
    }

    async fn removing_the_target_returns_the_outflow_to_its_set_rate_at_once() {
        let app = spawn_app().await;
        followed_sale(&app).await;
        report(&app, "drop", 2_000, 0.0).await;
        assert_eq!(follow(&app, "drop").await, 5.0);

        let off = json!({ "checkout_target": null });
        app.admin_json(Method::PATCH, "/v1/admin/events/drop", Some(&off))
            .await;

        assert_eq!(follow(&app, "drop").await, 10.0);
    }

    async fn the_built_in_checkout_is_measured_and_too_few_answers_are_not_judged() {
        let app = spawn_app().await;
        followed_sale(&app).await;
        let token = app.login("alice").await;
        for _ in 0..19 {
            let refused = app
                .checkout(
                    "drop",
                    Some(&token),
                    Some("not-an-admission"),
                    None,
                    &json!({}),
                )
                .await;
            assert!(refused.status().is_client_error());
        }
        let detail = app
            .admin_json(Method::GET, "/v1/admin/events/drop", None)
            .await;
        assert_eq!(detail["checkout_health"]["source"], "measured");
        assert_eq!(detail["checkout_health"]["samples"], 19);
        assert_eq!(detail["checkout_health"]["error_rate"], 0.0);
        // Nineteen answers are not enough to judge: the outflow stays as set.
        assert_eq!(follow(&app, "drop").await, 10.0);
    }

    async fn a_health_report_is_validated_and_needs_the_admin_token_and_the_event() {
        let app = spawn_app().await;
        followed_sale(&app).await;

        let too_high = report(&app, "drop", 100, 1.5).await;
        let unknown = report(&app, "nothing", 100, 0.0).await;
        let anonymous = app
            .request(Method::POST, "/v1/admin/events/drop/checkout-health")
            .json(&json!({ "p95_ms": 100, "error_rate": 0.0, "samples": 50 }))
            .send()
            .await
            .unwrap();

        assert_field_error(too_high, "error_rate").await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let detail = app
            .admin_json(Method::GET, "/v1/admin/events/drop", None)
            .await;
        assert_eq!(detail["checkout_health"], Value::Null);
    }

    async fn the_outflow_in_force_is_a_gauge_and_in_the_dashboards_feed() {
        let app = spawn_app().await;
        // The metrics registry is the process's: each store's test has its own event.
        let id = &format!("metered-{}", Backend::selected().name());
        let target = json!({ "p95_ms": 500, "max_error_rate": 0.05 });
        event_with(&app, id, json!({ "checkout_target": target })).await;
        report(&app, id, 2_000, 0.0).await;
        assert_eq!(follow(&app, id).await, 5.0);

        app.state.live_stats.poll().await.unwrap();
        let event = waitroom::domain::EventId::parse(id).unwrap();
        let live = app.state.live_stats.event(&event).unwrap();
        let metrics = app.get("/metrics").await.text().await.unwrap();

        assert_eq!(live.outflow_effective_per_second, 5.0);
        assert_eq!(live.outflow_set_per_second, 10.0);
        assert_eq!(live.checkout_health.map(|h| h.health.p95_ms), Some(2_000));
        let gauge = format!("waitroom_event_outflow_effective_per_second{{event=\"{id}\"}} 5");
        assert!(metrics.lines().any(|line| line == gauge), "{gauge} in {metrics}");
    }

    async fn the_openapi_document_shows_the_target_and_the_health_report() {
        let app = spawn_app().await;
        let document: Value = app.get("/openapi.json").await.json().await.unwrap();
        let schemas = &document["components"]["schemas"];
        let report = &document["paths"]["/v1/admin/events/{event}/checkout-health"]["post"];
        assert_eq!(report["operationId"], "report_checkout_health");
        assert!(schemas["CreateEvent"]["properties"]["checkout_target"].is_object());
        assert!(schemas["PatchEvent"]["properties"]["checkout_target"].is_object());
        assert!(schemas["AdminEvent"]["properties"]["outflow_effective_per_second"].is_object());
        assert!(schemas["CheckoutTarget"]["properties"]["max_error_rate"].is_object());
        assert!(schemas["CheckoutHealthReport"]["properties"]["samples"].is_object());
    }

    async fn each_back_off_is_alerted_once_and_a_climb_is_not() {
        let receiver = AlertReceiver::start("alert-secret").await;
        let mut settings = test_settings();
        settings.webhook_secret = Some("alert-secret".to_owned());
        let alerts: toml::Table =
            toml::from_str(&format!("[alerts]\nwebhook_url = \"{}\"", receiver.url)).unwrap();
        settings.ratelimit = Some(alerts);
        let app = spawn_app_with(settings).await;
        followed_sale(&app).await;

        report(&app, "drop", 2_000, 0.0).await;
        assert_eq!(follow(&app, "drop").await, 5.0);
        app.clock.advance_ms(5_000);
        report(&app, "drop", 2_000, 0.0).await;
        assert_eq!(follow(&app, "drop").await, 2.5);
        app.clock.advance_ms(5_000);
        report(&app, "drop", 100, 0.0).await;
        assert_eq!(follow(&app, "drop").await, 3.0, "climbs back");

        let taken = receiver.wait_for(3).await;
        let alerts: Vec<&Value> = taken.iter().map(|taken| &taken.alert).collect();
        assert_eq!(alerts.len(), 2, "one per back-off, none for the climb: {alerts:?}");
        for alert in &alerts {
            assert_eq!(alert["kind"], "outflow_backoff");
            assert_eq!(alert["event"], "drop");
            assert_eq!(alert["set_outflow_per_second"], 10.0);
        }
        let mut rates: Vec<f64> = alerts
            .iter()
            .map(|alert| alert["outflow_per_second"].as_f64().unwrap())
            .collect();
        rates.sort_by(f64::total_cmp);
        assert_eq!(rates, [2.5, 5.0]);
    }
}
