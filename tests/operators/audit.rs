//! Every change made through the admin API is in the audit log, with who, what, before, after.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::store::audit::{AuditEntry, AuditLog};
use waitroom::store::redis::RedisStore;

use crate::admin_app::{ADMIN_TOKEN, admin, open_sale, spawn_on_memory};
use crate::support::redis_server::RedisServer;

async fn entries(app: &crate::admin_app::TestApp) -> Vec<Value> {
    let response = admin(app, Method::GET, "/v1/admin/audit", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn event_changes_are_recorded_newest_first_with_the_state_before_and_after() {
    let app = spawn_on_memory().await;
    let created = admin(
        &app,
        Method::POST,
        "/v1/admin/events",
        Some(open_sale("audited", app.state.now())),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let changed = admin(
        &app,
        Method::PATCH,
        "/v1/admin/events/audited",
        Some(json!({ "outflow_per_second": 5, "status": "paused" })),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);

    let entries = entries(&app).await;

    assert_eq!(entries.len(), 2);
    let (change, create) = (&entries[0], &entries[1]);
    assert_eq!(create["action"], "event.create");
    assert_eq!(create["target"], "audited");
    assert_eq!(create["before"], Value::Null);
    assert_eq!(create["after"]["outflow_milli_per_second"], 100_000);
    assert_eq!(change["action"], "event.change");
    assert_eq!(change["before"]["outflow_milli_per_second"], 100_000);
    assert_eq!(change["after"]["outflow_milli_per_second"], 5_000);
    assert_eq!(change["after"]["operator_status"], "paused");
    assert!(
        change["after"].get("seed").is_none(),
        "the seed stays secret"
    );
    let actor = change["actor"].as_str().unwrap();
    assert!(
        actor.starts_with("admin:") && !actor.contains(ADMIN_TOKEN),
        "{actor}"
    );
}

#[tokio::test]
async fn the_secrets_of_an_event_stay_out_of_its_entries() {
    let app = spawn_on_memory().await;
    let mut sale = open_sale("windowed", app.state.now());
    sale["opening_window_seconds"] = json!(60);
    let created = admin(&app, Method::POST, "/v1/admin/events", Some(sale)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = "/v1/admin/events/windowed";
    for change in [json!({ "name": "Renamed" }), json!({ "status": "closed" })] {
        let changed = admin(&app, Method::PATCH, path, Some(change)).await;
        assert_eq!(changed.status(), StatusCode::OK);
    }
    let removed = admin(&app, Method::DELETE, path, None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let entries = entries(&app).await;

    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "event.remove",
            "event.change",
            "event.change",
            "event.create"
        ]
    );
    let states = entries.iter().flat_map(|e| [&e["before"], &e["after"]]);
    let settings: Vec<&Value> = states.filter(|state| !state.is_null()).collect();
    assert_eq!(settings.len(), 6, "{settings:?}");
    for state in settings {
        assert!(state.get("seed").is_none(), "the draw's seed: {state}");
        let windows = &state["arrival_windows"];
        assert_eq!(windows["opening_seconds"], 60);
        assert!(windows["seed_hash"].is_string(), "{windows}");
        assert!(
            windows.get("seed").is_none(),
            "the windows' secret: {windows}"
        );
    }
}

#[tokio::test]
async fn bans_and_rules_changes_are_recorded_and_refused_changes_are_not() {
    let app = spawn_on_memory().await;
    let rules: Value = admin(&app, Method::GET, "/v1/admin/ratelimit", None)
        .await
        .json()
        .await
        .unwrap();
    let ban = admin(
        &app,
        Method::POST,
        "/v1/admin/bans",
        Some(json!({ "key": "ip:203.0.113.9", "seconds": 60, "reason": "scraper" })),
    )
    .await;
    assert_eq!(ban.status(), StatusCode::CREATED);
    let lifted = admin(&app, Method::DELETE, "/v1/admin/bans/ip:203.0.113.9", None).await;
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    let replaced = admin(
        &app,
        Method::PUT,
        "/v1/admin/ratelimit",
        Some(rules.clone()),
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let refused = admin(
        &app,
        Method::PUT,
        "/v1/admin/ratelimit",
        Some(json!({ "rules": "not a list" })),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let entries = entries(&app).await;

    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["ratelimit.replace", "ban.lift", "ban.create"]);
    assert_eq!(entries[2]["target"], "ip:203.0.113.9");
    assert_eq!(entries[2]["after"]["reason"], "scraper");
    assert_eq!(entries[1]["before"]["key"], "ip:203.0.113.9");
    assert_eq!(entries[1]["after"], Value::Null);
    assert_eq!(entries[0]["before"], rules);
}

#[tokio::test]
async fn the_audit_log_needs_the_admin_token_and_a_sane_limit() {
    let app = spawn_on_memory().await;
    let anonymous = crate::admin_app::get(&app, "/v1/admin/audit").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let too_many = admin(&app, Method::GET, "/v1/admin/audit?limit=100000", None).await;
    assert_eq!(too_many.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

fn entry(n: i64) -> AuditEntry {
    AuditEntry {
        at_ms: n,
        actor: "admin:0123456789ab".into(),
        action: "event.change".into(),
        target: format!("sale-{n}"),
        request_id: String::new(),
        status: 200,
        before: json!({ "n": n - 1 }),
        after: json!({ "n": n }),
    }
}

#[tokio::test]
async fn the_redis_audit_log_is_one_list_shared_by_every_connection_newest_first() {
    let server = RedisServer::start();
    let writer = RedisStore::connect(&server.url(), None).await.unwrap();
    let reader: Arc<dyn AuditLog> =
        Arc::new(RedisStore::connect(&server.url(), None).await.unwrap());
    for n in 1..=3 {
        writer.append_audit(&entry(n)).await.unwrap();
    }

    let newest = reader.audit_entries(2).await.unwrap();

    assert_eq!(newest, vec![entry(3), entry(2)]);
    assert_eq!(server.cli(&["LLEN", "wr:audit"]).trim(), "3");
}
