//! Rules changed at run time: from the watched file and from the admin API, whole or not at all.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{Harness, QUIET, get};
use crate::support::stores::Backend;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use waitroom::http::routes::admin_ratelimit::admin_routes;
use waitroom::ratelimit::reload::{ReloadCount, watch_rules_file};

fn limit_rules(limit: u32) -> String {
    format!("{QUIET}\n[[rules]]\nname = \"api\"\nkey = \"ip\"\nlimit = {limit}\nperiod = \"1m\"")
}

fn temp_rules_file(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waitroom-rules-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ratelimit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits (on the watcher's own signal, at most 10 s) until `done` holds for its count.
async fn until(
    count: &mut tokio::sync::watch::Receiver<ReloadCount>,
    done: impl Fn(&ReloadCount) -> bool,
) -> ReloadCount {
    tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| done(c)))
        .await
        .expect("the watcher reacted within 10 s")
        .expect("the watcher is alive")
        .clone()
}

#[tokio::test]
async fn saving_the_rules_file_applies_the_new_rules_within_seconds() {
    let path = temp_rules_file(&limit_rules(5));
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let watcher = watch_rules_file(h.limiter.clone(), path.clone()).unwrap();
    let mut count = watcher.count();
    assert_eq!(h.allowed_of(20, &get("/v1/x", "192.0.2.1")).await, 5);

    std::fs::write(&path, limit_rules(12)).unwrap();
    until(&mut count, |c| c.applied == 1).await;

    assert_eq!(h.allowed_of(20, &get("/v1/x", "192.0.2.2")).await, 12);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_bad_rules_file_is_refused_and_the_rules_in_force_stay() {
    let path = temp_rules_file(&limit_rules(5));
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let watcher = watch_rules_file(h.limiter.clone(), path.clone()).unwrap();
    let mut count = watcher.count();

    std::fs::write(&path, limit_rules(0)).unwrap();
    let refused = until(&mut count, |c| c.refused == 1).await;

    assert_eq!(refused.last_errors[0].field, "rules[0].limit");
    assert_eq!(h.limiter.rules().config.rules[0].limit, 5);
    assert_eq!(h.allowed_of(20, &get("/v1/x", "192.0.2.1")).await, 5);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

async fn call(h: &Harness, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let app = axum::Router::from(admin_routes::<()>(h.limiter.clone()));
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app.oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn rules_put_through_the_admin_api_apply_at_once() {
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let (status, mut rules) = call(&h, "GET", "/v1/admin/ratelimit", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rules["rules"][0]["period"], "1m");

    rules["rules"][0]["limit"] = json!(9);
    let (status, echoed) = call(&h, "PUT", "/v1/admin/ratelimit", Some(rules)).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed["rules"][0]["limit"], 9);
    assert_eq!(h.allowed_of(20, &get("/v1/x", "192.0.2.1")).await, 9);
}

#[tokio::test]
async fn a_bad_rule_set_put_through_the_admin_api_is_a_422_with_its_fields_and_changes_nothing() {
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let (_, mut rules) = call(&h, "GET", "/v1/admin/ratelimit", None).await;
    rules["rules"][0]["limit"] = json!(50);
    rules["rules"][0]["algorithm"] = json!("sliding_window");
    rules["rules"][0]["burst"] = json!(10);
    rules["access"]["deny_ips"] = json!(["300.1.1.1/8"]);

    let (status, problem) = call(&h, "PUT", "/v1/admin/ratelimit", Some(rules)).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rules[0].burst", "access.deny_ips[0]"]);
    assert_eq!(
        h.allowed_of(20, &get("/v1/x", "192.0.2.1")).await,
        5,
        "the old rules stay"
    );
}

#[tokio::test]
async fn bans_are_created_listed_and_lifted_through_the_admin_api() {
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let ban = json!({"key": "198.51.100.7", "seconds": 600, "reason": "card testing"});
    let (status, created) = call(&h, "POST", "/v1/admin/bans", Some(ban)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["key"], "ip:198.51.100.7");
    assert_eq!(created["count"], 1);
    assert!(!crate::harness::passed(
        &h.check(&get("/v1/x", "198.51.100.7")).await
    ));

    let (_, listed) = call(&h, "GET", "/v1/admin/bans", None).await;
    assert_eq!(listed["bans"][0]["reason"], "card testing");
    assert_eq!(listed["bans"][0]["expires_at"], "2027-01-15T08:10:00Z");

    let (status, _) = call(&h, "DELETE", "/v1/admin/bans/ip:198.51.100.7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(crate::harness::passed(
        &h.check(&get("/v1/x", "198.51.100.7")).await
    ));
    let (status, _) = call(&h, "DELETE", "/v1/admin/bans/ip:198.51.100.7", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_ban_without_a_key_or_with_a_silly_length_is_a_422() {
    let h = Harness::start(Backend::Memory, &limit_rules(5)).await;
    let (status, problem) = call(
        &h,
        "POST",
        "/v1/admin/bans",
        Some(json!({"key": "nobody", "seconds": 60})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("key"))
    );
    let (status, problem) = call(
        &h,
        "POST",
        "/v1/admin/bans",
        Some(json!({"key": "user:x", "seconds": 0})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("seconds"))
    );
}
