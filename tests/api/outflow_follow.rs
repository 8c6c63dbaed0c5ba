//! An outflow that follows the checkout: the `checkout_target` setting, the health the outflow
//! is judged on, and the outflow backing off and climbing back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{START, TestApp, assert_field_error, event_body, spawn_app};

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
}
