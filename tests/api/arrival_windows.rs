//! Arrival window settings through the admin API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{assert_field_error, assert_problem, event_body, spawn_app};

crate::on_both_stores! {
    async fn an_event_set_to_a_one_minute_window_keeps_its_secret_through_changes() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now() + 60_000, 100);
        body["opening_window_seconds"] = json!(60);
        let created = app.create_event(&body).await;
        assert_eq!(created.status(), StatusCode::CREATED);

        let event: Value = app.admin(Method::GET, "/v1/admin/events/drop").send().await.unwrap().json().await.unwrap();
        assert_eq!(event["opening_window_seconds"], 60);
        assert_eq!(event["arrival_window_seconds"], 0);
        let hash = event["window_seed_hash"].as_str().unwrap().to_owned();
        assert_eq!(hash.len(), 64);

        let changed = app
            .admin(Method::PATCH, "/v1/admin/events/drop")
            .json(&json!({ "opening_window_seconds": 0, "arrival_window_seconds": 30 }))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        let event: Value = app.admin(Method::GET, "/v1/admin/events/drop").send().await.unwrap().json().await.unwrap();
        assert_eq!((event["opening_window_seconds"].clone(), event["arrival_window_seconds"].clone()), (json!(0), json!(30)));
        assert_eq!(event["window_seed_hash"], hash.as_str(), "the secret is drawn once");
    }

    async fn once_the_sale_has_started_its_windows_cannot_move() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now() + 60_000, 100);
        body["opening_window_seconds"] = json!(60);
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        app.clock.advance_ms(60_000);

        for (change, field) in [
            (json!({ "opening_window_seconds": 30 }), "opening_window_seconds"),
            (json!({ "opening_window_seconds": 0 }), "opening_window_seconds"),
            (json!({ "arrival_window_seconds": 10 }), "arrival_window_seconds"),
            (json!({ "starts_at": "2030-01-01T00:00:00Z" }), "starts_at"),
        ] {
            let refused = app
                .admin(Method::PATCH, "/v1/admin/events/drop")
                .json(&change)
                .send()
                .await
                .unwrap();
            assert_field_error(refused, field).await;
        }

        let event: Value = app.admin(Method::GET, "/v1/admin/events/drop").send().await.unwrap().json().await.unwrap();
        assert_eq!((event["opening_window_seconds"].clone(), event["arrival_window_seconds"].clone()), (json!(60), json!(0)));
        let renamed = app
            .admin(Method::PATCH, "/v1/admin/events/drop")
            .json(&json!({ "name": "Still the same windows" }))
            .send()
            .await
            .unwrap();
        assert_eq!(renamed.status(), StatusCode::OK, "other settings still change");
    }

    async fn a_window_longer_than_a_day_is_refused_and_nothing_is_created() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now(), 100);
        body["opening_window_seconds"] = json!(86_401);

        let refused = app.create_event(&body).await;

        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let missing = app.admin(Method::GET, "/v1/admin/events/drop").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    async fn a_shopper_held_in_an_open_window_is_told_no_chance_until_it_closes() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now(), 1);
        body["opening_window_seconds"] = json!(60);
        body["outflow_per_second"] = json!(1);
        body["outflow_burst"] = json!(1);
        body["inventory"] = json!({ "SKU-1": 1 });
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        let event = waitroom::domain::EventId::parse("drop").unwrap();
        let tokens = [app.login("ana").await, app.login("ben").await, app.login("cy").await];
        let mut tickets = Vec::new();
        for token in &tokens {
            tickets.push(app.join_ok("drop", token).await);
        }
        let read = |n: usize| {
            let (ticket, token) = (tickets[n].clone(), tokens[n].clone());
            let app = &app;
            async move {
                let view: Value = app.ticket("drop", &ticket, &token).await.json().await.unwrap();
                view
            }
        };

        app.drain(&event).await;
        for n in 0..3 {
            let view = read(n).await;
            assert_eq!(view["status"], "waiting", "nobody goes through while the window is open");
            assert_eq!(view["chance_of_success"], Value::Null, "{view}");
        }

        app.clock.advance_ms(60_000);
        app.drain(&event).await;
        let mut chances = Vec::new();
        for n in 0..3 {
            let view = read(n).await;
            if view["status"] == "waiting" {
                chances.push(view["chance_of_success"].as_f64().expect("a chance once drawn"));
            }
        }
        assert_eq!(chances.len(), 2, "one of the three went through at the close");
        assert!(chances.iter().all(|c| (0.0..=1.0).contains(c)), "{chances:?}");
    }
}
