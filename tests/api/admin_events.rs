//! The operators' event endpoints.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::config::Settings;

use crate::test_app::{
    START, assert_field_error, assert_problem, event_body, spawn_app, spawn_app_with, test_settings,
};

crate::on_both_stores! {
    async fn the_admin_api_is_forbidden_when_no_admin_token_is_configured() {
        let app = spawn_app_with(Settings {
            admin_token: None,
            ..test_settings()
        })
        .await;
        let response = app
            .admin(Method::GET, "/v1/admin/events")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }

    async fn the_admin_api_refuses_a_missing_or_wrong_token() {
        let app = spawn_app().await;
        let missing = app.get("/v1/admin/events").await;
        assert_problem(missing, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let wrong = app
            .request(Method::POST, "/v1/admin/events")
            .bearer_auth("test-admin-token-0123456780")
            .json(&event_body("sale", START, 1))
            .send()
            .await
            .unwrap();
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let user = app.login("mallory").await;
        let as_user = app
            .request(Method::GET, "/v1/admin/events")
            .bearer_auth(user)
            .send()
            .await
            .unwrap();
        assert_problem(as_user, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    async fn an_event_is_created_with_defaults_and_listed() {
        let app = spawn_app().await;
        let body = json!({
            "id": "spring", "name": "Spring sale", "starts_at": "2027-01-15T08:00:00Z",
            "outflow_per_second": 2.5, "inventory": { "TEE": 10 }
        });
        let response = app.create_event(&body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["id"], "spring");
        assert_eq!(created["outflow_per_second"], 2.5);
        assert_eq!(created["outflow_burst"], 3);
        assert_eq!(created["mode"], "queue");
        assert_eq!(created["abandon_after_seconds"], 60);
        assert_eq!(created["allow_anonymous"], false);
        assert_eq!(created["stats"]["stock_left"]["TEE"], 10);
        assert!(created.get("seed").is_none());

        let list: Value = app.admin_json(Method::GET, "/v1/admin/events", None).await;
        assert_eq!(list["events"].as_array().unwrap().len(), 1);
        assert_eq!(list["events"][0]["id"], "spring");
    }

    async fn only_a_closed_event_is_removed_with_all_it_kept_and_its_id_is_free_again() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let token = app.login("ann").await;
        let ticket = app.join_ok("sale", &token).await;
        let path = "/v1/admin/events/sale";

        let open = app.admin(Method::DELETE, path).send().await.unwrap();
        assert_problem(open, StatusCode::CONFLICT, "event_not_closed").await;
        let kept = app.ticket("sale", &ticket, &token).await;
        assert_eq!(kept.status(), StatusCode::OK);
        let closing = json!({ "status": "closed" });
        app.admin_json(Method::PATCH, path, Some(&closing)).await;

        let removed = app.admin(Method::DELETE, path).send().await.unwrap();

        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/events/sale").await.status(), StatusCode::NOT_FOUND);
        let gone = app.ticket("sale", &ticket, &token).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        let list: Value = app.admin_json(Method::GET, "/v1/admin/events", None).await;
        assert_eq!(list["events"], json!([]));
        let twice = app.admin(Method::DELETE, path).send().await.unwrap();
        assert_problem(twice, StatusCode::NOT_FOUND, "not_found").await;
        let audit: Value = app.admin_json(Method::GET, "/v1/admin/audit", None).await;
        let entry = &audit["entries"][0];
        assert_eq!((&entry["action"], &entry["target"]), (&json!("event.remove"), &json!("sale")));
        assert_eq!(entry["before"]["operator_status"], "closed");
        assert_eq!(entry["after"], Value::Null);

        let again = app.create_event(&event_body("sale", START, 1)).await;
        assert_eq!(again.status(), StatusCode::CREATED);
        let fresh = app.join("sale", Some(&token)).await;
        assert_eq!(fresh.status(), StatusCode::CREATED);
        let fresh: Value = fresh.json().await.unwrap();
        assert_ne!(fresh["ticket_id"], json!(ticket));
        assert_eq!(fresh["position"], 1);
    }

    async fn a_close_starts_the_retention_and_a_reopen_stops_it() {
        let app = spawn_app().await;
        let mut body = event_body("sale", START, 1);
        body["retention_seconds"] = json!(3_600);
        let created: Value = app.create_event(&body).await.json().await.unwrap();
        assert_eq!(created["retention_seconds"], 3_600);
        assert_eq!((&created["closed_at"], &created["removed_at"]), (&Value::Null, &Value::Null));
        let path = "/v1/admin/events/sale";
        let now = app.now();

        let closing = json!({ "status": "closed" });
        let closed: Value = app.admin_json(Method::PATCH, path, Some(&closing)).await;
        app.clock.advance_ms(5_000);
        let renamed: Value =
            app.admin_json(Method::PATCH, path, Some(&json!({ "name": "Old sale" }))).await;
        let reopened: Value =
            app.admin_json(Method::PATCH, path, Some(&json!({ "status": "open" }))).await;
        let kept: Value =
            app.admin_json(Method::PATCH, path, Some(&json!({ "retention_seconds": null }))).await;

        let at = |ms: i64| json!(waitroom::clock::to_rfc3339(ms));
        assert_eq!(closed["closed_at"], at(now));
        assert_eq!(closed["removed_at"], at(now + 3_600_000));
        assert_eq!(renamed["closed_at"], at(now), "a later change keeps the close's time");
        assert_eq!((&reopened["closed_at"], &reopened["removed_at"]), (&Value::Null, &Value::Null));
        assert_eq!(kept["retention_seconds"], Value::Null);
        for wrong in [json!(-1), json!(315_360_001), json!("a day")] {
            let refused = app
                .admin(Method::PATCH, path)
                .json(&json!({ "retention_seconds": wrong }))
                .send()
                .await
                .unwrap();
            assert_field_error(refused, "retention_seconds").await;
        }
        let unchanged: Value = app.admin_json(Method::GET, path, None).await;
        assert_eq!(unchanged["retention_seconds"], Value::Null);
    }

    async fn creating_an_event_twice_is_a_conflict() {
        let app = spawn_app().await;
        app.open_event("sale", 1).await;
        let again = app.create_event(&event_body("sale", START, 1)).await;
        assert_problem(again, StatusCode::CONFLICT, "event_exists").await;
    }

    async fn an_invalid_event_is_refused_with_every_field_named() {
        let app = spawn_app().await;
        let body = json!({
            "id": "Bad Id", "name": "", "starts_at": "tomorrow", "outflow_per_second": 0,
            "outflow_burst": 0, "admission_ttl_seconds": 0
        });
        let problem = assert_problem(
            app.create_event(&body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for field in [
            "id",
            "name",
            "starts_at",
            "outflow_per_second",
            "outflow_burst",
            "admission_ttl_seconds",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
    }

    async fn unknown_fields_and_wrong_types_are_refused() {
        let app = spawn_app().await;
        let mut body = event_body("sale", START, 1);
        body["outflow_per_sec"] = json!(3);
        let problem = assert_problem(
            app.create_event(&body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("outflow_per_sec")
        );

        let mut body = event_body("sale", START, 1);
        body["inventory"] = json!({ "bad sku": 3 });
        let problem = assert_problem(
            app.create_event(&body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("inventory")
        );

        let mut body = event_body("sale", START, 1);
        body["mode"] = json!("safety_net");
        let problem = assert_problem(
            app.create_event(&body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "max_active");
    }

    async fn an_event_is_paused_and_resumed_live() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let patch = |status: &'static str| {
            app.admin(Method::PATCH, "/v1/admin/events/sale")
                .json(&json!({ "status": status }))
                .send()
        };
        let paused: Value = patch("paused").await.unwrap().json().await.unwrap();
        assert_eq!(paused["status"], "paused");
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["status"], "paused");

        let open: Value = patch("open").await.unwrap().json().await.unwrap();
        assert_eq!(open["status"], "open");
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["status"], "open");
    }

    async fn any_setting_changes_live_and_null_clears_the_cap() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let response = app
            .admin(Method::PATCH, "/v1/admin/events/sale")
            .json(&json!({ "outflow_per_second": 50, "max_active": 7, "name": "Renamed", "inventory": { "SKU-1": 9 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let changed: Value = response.json().await.unwrap();
        assert_eq!(changed["outflow_per_second"], 50.0);
        assert_eq!(changed["max_active"], 7);
        assert_eq!(changed["name"], "Renamed");
        assert_eq!(changed["stats"]["stock_left"]["SKU-1"], 9);

        let cleared: Value = app
            .admin(Method::PATCH, "/v1/admin/events/sale")
            .json(&json!({ "max_active": null }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cleared["max_active"], Value::Null);
        assert_eq!(cleared["outflow_per_second"], 50.0);
    }

    async fn a_bad_change_is_refused_and_changes_nothing() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        for body in [
            json!({ "status": "sleeping" }),
            json!({ "outflow_per_second": -1 }),
            json!({ "id": "renamed" }),
            json!({ "prequeue_opens_at": "2099-01-01T00:00:00Z" }),
        ] {
            let response = app
                .admin(Method::PATCH, "/v1/admin/events/sale")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_problem(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
        }
        let detail: Value = app.admin_json(Method::GET, "/v1/admin/events/sale", None).await;
        assert_eq!(detail["status"], "open");
        assert_eq!(detail["outflow_per_second"], 10.0);
    }

    async fn an_unknown_event_is_not_found_for_operators_too() {
        let app = spawn_app().await;
        let detail = app
            .admin(Method::GET, "/v1/admin/events/nothing")
            .send()
            .await
            .unwrap();
        assert_problem(detail, StatusCode::NOT_FOUND, "not_found").await;
        let patch = app
            .admin(Method::PATCH, "/v1/admin/events/nothing")
            .json(&json!({ "status": "paused" }))
            .send()
            .await
            .unwrap();
        assert_problem(patch, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn the_detail_shows_live_stats_and_the_outflow_set_and_actual() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        // Paused while they join: the instance's ticker would admit them at once.
        let paused = json!({"status": "paused"});
        app.admin_json(Method::PATCH, "/v1/admin/events/sale", Some(&paused))
            .await;
        for user in ["a", "b", "c"] {
            let token = app.login(user).await;
            app.join_ok("sale", &token).await;
        }
        let first: Value = app.admin_json(Method::GET, "/v1/admin/events/sale", None).await;
        assert_eq!(first["stats"]["queue_length"], 3);
        assert_eq!(first["stats"]["joined"], 3);
        assert_eq!(first["outflow"]["set_per_second"], 10.0);
        // The achieved outflow is the live statistics' measure between two of their polls.
        app.state.live_stats.poll().await.unwrap();

        let resumed = json!({"status": "open"});
        app.admin_json(Method::PATCH, "/v1/admin/events/sale", Some(&resumed))
            .await;
        app.clock.advance_ms(1_000);
        app.drain(&event).await;
        app.state.live_stats.poll().await.unwrap();
        let second: Value = app.admin_json(Method::GET, "/v1/admin/events/sale", None).await;
        assert_eq!(second["stats"]["admitted"], 3);
        assert_eq!(second["stats"]["active"], 3);
        assert_eq!(second["outflow"]["actual_per_second"], 3.0);
    }
}
