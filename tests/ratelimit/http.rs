//! The limiter as a tower layer: the answers and headers clients see.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use waitroom::ratelimit::scope::BanScope;

use crate::harness::{Harness, QUIET};
use crate::support::stores::Backend;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use serde_json::Value;
use tower::ServiceExt;
use waitroom::clock::{Clock, ManualClock};
use waitroom::config::Settings;
use waitroom::ratelimit::RateLimitLayer;

const THREE_A_MINUTE: &str = r#"
[[rules]]
name = "api"
paths = ["/v1/**"]
limit = 3
period = "1m"
fail_mode = "closed"
[access]
deny_ips = ["198.51.100.0/24"]
"#;

fn app(h: &Harness) -> Router {
    Router::new()
        .route("/v1/things", get(|| async { "things" }))
        .layer(RateLimitLayer::new(h.limiter.clone()))
}

async fn send(router: &Router, path: &str, peer: &str) -> Response<Body> {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    router.clone().oneshot(request).await.unwrap()
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |value| value.to_str().unwrap())
}

async fn problem(response: Response<Body>) -> Value {
    let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn allowed_responses_carry_the_ratelimit_headers() {
    let h = Harness::start(Backend::Memory, &format!("{QUIET}{THREE_A_MINUTE}")).await;
    let response = send(&app(&h), "/v1/things", "203.0.113.7").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "ratelimit-limit"), "3");
    assert_eq!(header(&response, "ratelimit-remaining"), "2");
    assert_eq!(header(&response, "ratelimit-reset"), "20");
}

#[tokio::test]
async fn responses_carry_the_ietf_draft_policy_and_state_fields() {
    let h = Harness::start(Backend::Memory, &format!("{QUIET}{THREE_A_MINUTE}")).await;
    let router = app(&h);
    let first = send(&router, "/v1/things", "203.0.113.7").await;
    assert_eq!(header(&first, "ratelimit-policy"), "\"api\";q=3;w=60");
    assert_eq!(header(&first, "ratelimit"), "\"api\";r=2;t=20");
    for _ in 0..2 {
        send(&router, "/v1/things", "203.0.113.7").await;
    }
    let limited = send(&router, "/v1/things", "203.0.113.7").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "ratelimit-policy"), "\"api\";q=3;w=60");
    assert_eq!(header(&limited, "ratelimit"), "\"api\";r=0;t=60");
}

#[tokio::test]
async fn the_older_three_fields_can_be_turned_off() {
    let toml = format!("{QUIET}{THREE_A_MINUTE}\n[headers]\nlegacy = false");
    let h = Harness::start(Backend::Memory, &toml).await;
    let response = send(&app(&h), "/v1/things", "203.0.113.7").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "ratelimit"), "\"api\";r=2;t=20");
    for older in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(response.headers().get(older).is_none(), "{older} was sent");
    }
}

#[tokio::test]
async fn a_429_is_problem_json_with_a_retry_after_that_really_passes() {
    let h = Harness::start(Backend::Memory, &format!("{QUIET}{THREE_A_MINUTE}")).await;
    let router = app(&h);
    for _ in 0..3 {
        assert_eq!(
            send(&router, "/v1/things", "203.0.113.7").await.status(),
            StatusCode::OK
        );
    }
    let limited = send(&router, "/v1/things", "203.0.113.7").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "content-type"), "application/problem+json");
    assert_eq!(header(&limited, "ratelimit-remaining"), "0");
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert_eq!(retry_after, 20);
    assert_eq!(problem(limited).await["code"], "rate_limited");

    h.clock
        .advance(Duration::from_millis(retry_after * 1000 - 1));
    let early = send(&router, "/v1/things", "203.0.113.7").await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&early, "retry-after"),
        "1",
        "never less than a second"
    );
    h.clock.advance(Duration::from_millis(1));
    assert_eq!(
        send(&router, "/v1/things", "203.0.113.7").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn denied_and_banned_clients_get_a_403() {
    let h = Harness::start(Backend::Memory, &format!("{QUIET}{THREE_A_MINUTE}")).await;
    let router = app(&h);
    let denied = send(&router, "/v1/things", "198.51.100.9").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(denied).await["code"], "forbidden");

    h.limiter
        .ban(
            "ip:203.0.113.7",
            Duration::from_secs(300),
            "test",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    let banned = send(&router, "/v1/things", "203.0.113.7").await;
    assert_eq!(banned.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&banned, "retry-after"), "300");
    assert_eq!(problem(banned).await["code"], "banned");
}

#[tokio::test]
async fn a_rule_failing_closed_answers_503_while_redis_is_down() {
    let mut h = Harness::start(Backend::Redis, &format!("{QUIET}{THREE_A_MINUTE}")).await;
    h.redis.as_mut().unwrap().stop();
    let response = send(&app(&h), "/v1/things", "203.0.113.7").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "retry-after"), "2");
}

/// The whole service with the shipped rules and an admin token, on `clock`.
async fn service(clock: &ManualClock) -> Router {
    let settings = Settings {
        admin_token: Some("admin-secret".to_owned()),
        ..Settings::default()
    };
    let built =
        waitroom::app::build_with_clock(settings, Arc::new(clock.clone()) as Arc<dyn Clock>)
            .await
            .unwrap();
    built.router.clone()
}

#[tokio::test]
async fn the_service_limits_its_routes_with_the_shipped_rules() {
    let clock = ManualClock::new(crate::harness::START_MS);
    let router = service(&clock).await;
    // A crowd behind one address: the event's public state, pages and static files hold
    // thousands of loads in the same second.
    for path in ["/v1/events/some-sale", "/queue.js", "/no-such-page"] {
        let mut statuses = std::collections::BTreeSet::new();
        for _ in 0..2_500 {
            statuses.insert(send(&router, path, "203.0.113.7").await.status());
        }
        assert!(
            !statuses.contains(&StatusCode::TOO_MANY_REQUESTS)
                && !statuses.contains(&StatusCode::FORBIDDEN),
            "{path}: {statuses:?}"
        );
    }
    let file = send(&router, "/queue.js", "203.0.113.7").await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(header(&file, "cache-control").contains("max-age="));
    assert!(header(&file, "ratelimit-policy").starts_with("\"pages\";"));

    // Unknown API paths pass the limiter too.
    let mut unmatched = std::collections::BTreeSet::new();
    for _ in 0..250 {
        let mut request = Request::post("/v1/no-such-thing")
            .body(Body::empty())
            .unwrap();
        let peer: SocketAddr = "198.51.100.20:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        unmatched.insert(router.clone().oneshot(request).await.unwrap().status());
    }
    assert!(
        unmatched.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{unmatched:?}"
    );

    let rules = as_operator(&router, "/v1/admin/ratelimit").await;
    assert_eq!(rules.status(), StatusCode::OK);
    assert_eq!(
        header(&rules, "ratelimit-limit"),
        "500",
        "the admin rule (50) at the admin tier (x10)"
    );
    assert_eq!(problem(rules).await["rules"][1]["name"], "admin");
}

/// A request carrying the admin token, from 127.0.0.1.
async fn as_operator(router: &Router, path: &str) -> Response<Body> {
    let mut request = Request::get(path)
        .header("authorization", "Bearer admin-secret")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo("127.0.0.1:1".parse::<SocketAddr>().unwrap()));
    router.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn the_operator_is_limited_as_the_operator_not_by_the_address_it_calls_from() {
    let clock = ManualClock::new(crate::harness::START_MS);
    let router = service(&clock).await;

    // More than the admin rule's 50 a minute that an address without the token would get.
    for _ in 0..80 {
        let read = as_operator(&router, "/v1/admin/events").await;
        assert_eq!(read.status(), StatusCode::OK);
    }
    let wrong = send(&router, "/v1/admin/events", "127.0.0.1").await;
    let from_the_same_address = send(&router, "/v1/events/some-sale", "127.0.0.1").await;

    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&wrong, "ratelimit-remaining"), "49");
    assert_eq!(
        header(&from_the_same_address, "ratelimit-remaining"),
        "9999",
        "the address's own budget is untouched by the operator's calls"
    );
}

#[tokio::test]
async fn every_ban_is_posted_to_the_webhook() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let receiver = Router::new().route(
        "/alerts",
        axum::routing::post(move |axum::Json(alert): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(alert);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let toml = format!(
        "{QUIET}{THREE_A_MINUTE}\n[alerts]\nwebhook_url = \"http://127.0.0.1:{port}/alerts\""
    );
    let h = Harness::start(Backend::Memory, &toml).await;

    h.limiter
        .ban(
            "user:mallory",
            Duration::from_secs(60),
            "card testing",
            BanScope::Everyone,
        )
        .await
        .unwrap();

    let alert = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the webhook was called")
        .unwrap();
    assert_eq!(alert["key"], "user:mallory");
    assert_eq!(alert["reason"], "card testing");
    assert_eq!(alert["count"], 1);
    assert_eq!(alert["until"], "2027-01-15T08:01:00Z");
}

/// A request of `method` carrying the admin token from 127.0.0.1, with an optional JSON body.
async fn operator_call(
    router: &Router,
    method: axum::http::Method,
    path: &str,
    body: Option<Value>,
) -> Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", "Bearer admin-secret")
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |json| Body::from(json.to_string())))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo("127.0.0.1:1".parse::<SocketAddr>().unwrap()));
    router.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn a_banned_address_still_manages_bans_with_the_admin_token() {
    use axum::http::Method;
    let clock = ManualClock::new(crate::harness::START_MS);
    let router = service(&clock).await;
    let ban = serde_json::json!({ "key": "ip:127.0.0.1", "seconds": 600, "reason": "oops" });

    let created = operator_call(&router, Method::POST, "/v1/admin/bans", Some(ban)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(problem(created).await["scope"], "everyone");
    let anyone_else = send(&router, "/v1/admin/bans", "127.0.0.1").await;
    assert_eq!(
        anyone_else.status(),
        StatusCode::FORBIDDEN,
        "the address is banned"
    );

    let listed = operator_call(&router, Method::GET, "/v1/admin/bans", None).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = problem(listed).await;
    assert_eq!(listed["bans"][0]["key"], "ip:127.0.0.1");
    assert_eq!(listed["bans"][0]["scope"], "everyone");
    let lifted = operator_call(&router, Method::DELETE, "/v1/admin/bans/ip:127.0.0.1", None).await;
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    assert_ne!(
        send(&router, "/v1/admin/bans", "127.0.0.1").await.status(),
        StatusCode::FORBIDDEN,
        "lifted"
    );
}

#[tokio::test]
async fn the_operator_over_its_rule_gets_429_never_a_ban() {
    let clock = ManualClock::new(crate::harness::START_MS);
    let router = service(&clock).await;
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..700 {
        statuses.insert(as_operator(&router, "/v1/admin/events").await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(!statuses.contains(&StatusCode::FORBIDDEN), "{statuses:?}");
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        as_operator(&router, "/v1/admin/events").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_anonymous_ban_is_only_for_addresses() {
    use axum::http::Method;
    let clock = ManualClock::new(crate::harness::START_MS);
    let router = service(&clock).await;
    let ban = serde_json::json!({ "key": "user:ann", "seconds": 60, "scope": "anonymous" });
    let refused = operator_call(&router, Method::POST, "/v1/admin/bans", Some(ban)).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = serde_json::json!({ "key": "ip:192.0.2.1", "seconds": 60, "scope": "some" });
    let refused = operator_call(&router, Method::POST, "/v1/admin/bans", Some(unknown)).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ban = serde_json::json!({ "key": "192.0.2.1", "seconds": 60, "scope": "anonymous" });
    let created = operator_call(&router, Method::POST, "/v1/admin/bans", Some(ban)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(problem(created).await["scope"], "anonymous");
}
