//! A ban on a client key refuses every request that carries that key in any of its identities
//! (IP, user, API key), whichever identity the matching rule charges; on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod ratelimit_support;
mod support;

use std::time::Duration;

use axum::http::Method;
use ratelimit_support::{Backend, Harness, get, passed, request};
use waitroom::ratelimit::limiter::Verdict;

const BANNED_IP: &str = "203.0.113.7";
const OTHER_IP: &str = "198.51.100.1";

const RULES: &str = r#"
[adaptive]
enabled = false
[penalties]
delay_after = 0
reduce_after = 0
ban_after = 2
ban_lengths = ["1m"]
[[rules]]
name = "login"
paths = ["/v1/auth/login"]
key = "ip"
limit = 1
period = "1h"
[[rules]]
name = "keyed"
paths = ["/v1/keyed"]
key = "api_key"
limit = 100
period = "1m"
[[rules]]
name = "api"
key = "user"
limit = 100
period = "1m"
"#;

fn banned(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Banned { .. })
}

async fn an_operators_ip_ban_refuses_that_address_on_every_rule(backend: Backend) {
    let h = Harness::start(backend, RULES).await;
    let ann_here = get("/v1/things", BANNED_IP).user("ann", "regular");
    let ann_elsewhere = get("/v1/things", OTHER_IP).user("ann", "regular");
    let key_here = get("/v1/keyed", BANNED_IP).api_key("k-123");
    assert!(passed(&h.check(&ann_here).await), "nobody is banned yet");
    h.limiter
        .ban(&format!("ip:{BANNED_IP}"), Duration::from_secs(60), "abuse")
        .await
        .unwrap();
    assert!(
        banned(&h.check(&ann_here).await),
        "user-keyed rule, banned IP"
    );
    assert!(banned(&h.check(&key_here).await), "API-key rule, banned IP");
    assert!(
        passed(&h.check(&ann_elsewhere).await),
        "the user is not banned"
    );
    assert!(passed(
        &h.check(&get("/v1/keyed", OTHER_IP).api_key("k-123")).await
    ));
    h.limiter
        .lift_ban(&format!("ip:{BANNED_IP}"))
        .await
        .unwrap();
    assert!(passed(&h.check(&ann_here).await), "lifted: back at once");
}

async fn a_user_ban_follows_the_user_to_ip_keyed_rules(backend: Backend) {
    let h = Harness::start(backend, RULES).await;
    let bob_login = request(Method::POST, "/v1/auth/login", OTHER_IP).user("bob", "regular");
    h.limiter
        .ban("user:bob", Duration::from_secs(60), "fraud")
        .await
        .unwrap();
    assert!(
        banned(&h.check(&bob_login).await),
        "IP-keyed rule, banned user"
    );
    let someone_else = request(Method::POST, "/v1/auth/login", OTHER_IP);
    assert!(
        passed(&h.check(&someone_else).await),
        "the IP itself is not banned"
    );
    h.clock.advance(Duration::from_secs(60));
    assert!(passed(
        &h.check(&get("/v1/x", OTHER_IP).user("bob", "regular"))
            .await
    ));
}

async fn a_ban_earned_by_an_address_stops_its_signed_in_users_too(backend: Backend) {
    let h = Harness::start(backend, RULES).await;
    let login = request(Method::POST, "/v1/auth/login", BANNED_IP);
    assert_eq!(h.allowed_of(1, &login).await, 1);
    assert!(matches!(h.check(&login).await, Verdict::Limited { .. }));
    assert!(
        banned(&h.check(&login).await),
        "the second violation bans the IP"
    );
    let cy = get("/v1/things", BANNED_IP).user("cy", "regular");
    assert!(banned(&h.check(&cy).await), "its users are refused with it");
    h.clock.advance(Duration::from_secs(60));
    assert!(passed(&h.check(&cy).await), "until the ban ends");
}

on_both_stores!(
    an_operators_ip_ban_refuses_that_address_on_every_rule,
    a_user_ban_follows_the_user_to_ip_keyed_rules,
    a_ban_earned_by_an_address_stops_its_signed_in_users_too,
);

/// Another instance learns of a ban on one of a request's other identities within a second:
/// the ban index is looked at once a second, and not per request, while no ban is in force.
#[tokio::test]
async fn a_ban_from_another_instance_reaches_the_other_identities_within_a_second() {
    use std::sync::Arc;
    use waitroom::clock::{Clock, ManualClock};
    use waitroom::ratelimit::store::{RateLimitStore, RedisRateLimitStore};

    let server = support::redis_server::RedisServer::start();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let instance = |clock: Arc<ManualClock>| {
        let url = server.url();
        async move {
            RedisRateLimitStore::connect(&url)
                .await
                .unwrap()
                .with_clock(clock as Arc<dyn Clock>)
        }
    };
    let banning = instance(clock.clone()).await;
    let checking = instance(clock.clone()).await;
    let ip = waitroom::ratelimit::client_key::ClientKey::from("ip:203.0.113.7");

    assert_eq!(
        checking
            .banned_until(std::slice::from_ref(&ip))
            .await
            .unwrap(),
        None
    );
    let ban = banning
        .ban(ip.as_str(), 60_000, "test", 600_000)
        .await
        .unwrap();

    clock.advance(Duration::from_millis(500));
    assert_eq!(
        checking
            .banned_until(std::slice::from_ref(&ip))
            .await
            .unwrap(),
        None,
        "within the second, the last look stands"
    );
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        checking
            .banned_until(std::slice::from_ref(&ip))
            .await
            .unwrap(),
        Some(ban.until_ms),
        "a second on, the ban is seen"
    );
    assert_eq!(
        banning
            .banned_until(std::slice::from_ref(&ip))
            .await
            .unwrap(),
        Some(ban.until_ms),
        "the banning instance sees its own ban at once"
    );
}
