//! The dashboard's refusals add up across instances sharing a Redis, and an instance that stops
//! drops out of the sum.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::{QUIET, check, passed, request, rules};
use crate::support::redis_server::RedisServer;
use axum::http::Method;
use waitroom::clock::{Clock, ManualClock};
use waitroom::ratelimit::limiter::RateLimiter;
use waitroom::ratelimit::store::{MemoryRateLimitStore, RedisRateLimitStore};

const RULES: &str = "[[rules]]\nname = \"api\"\nlimit = 1\nperiod = \"1h\"";

async fn instance(server: &RedisServer, clock: &Arc<ManualClock>) -> Arc<RateLimiter> {
    let clock: Arc<dyn Clock> = clock.clone();
    let store = RedisRateLimitStore::connect(&server.url())
        .await
        .unwrap()
        .with_clock(clock.clone());
    Arc::new(RateLimiter::new(
        rules(&format!("{QUIET}\n{RULES}")),
        Arc::new(store),
        clock,
    ))
}

/// Sends `n` requests from `peer`; answers how many were refused.
async fn refuse(limiter: &RateLimiter, peer: &str, n: usize) -> usize {
    let req = request(Method::GET, "/v1/anything", peer);
    let mut refused = 0;
    for _ in 0..n {
        refused += usize::from(!passed(&check(limiter, &req).await));
    }
    refused
}

#[tokio::test]
async fn two_instances_on_one_redis_show_the_sum_of_their_refusals() {
    let server = RedisServer::start();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let a = instance(&server, &clock).await;
    let b = instance(&server, &clock).await;
    assert_eq!(refuse(&a, "198.51.100.1", 4).await, 3);
    assert_eq!(
        refuse(&b, "198.51.100.1", 3).await,
        3,
        "the budget is shared"
    );
    assert_eq!(refuse(&b, "198.51.100.2", 2).await, 1);

    a.exchange_tally().await;
    b.exchange_tally().await;
    let sum = b.cluster_tally();
    assert_eq!(sum.instances, 2);
    assert_eq!(sum.refusals_per_rule["api"], 7);
    let top: Vec<(&str, u64)> = sum
        .top_limited_clients
        .iter()
        .map(|client| (client.key.as_str(), client.refused))
        .collect();
    assert_eq!(top, [("ip:198.51.100.1", 6), ("ip:198.51.100.2", 1)]);

    // a stops publishing: eleven seconds on, b's sum is its own.
    clock.advance(Duration::from_secs(11));
    b.exchange_tally().await;
    let sum = b.cluster_tally();
    assert_eq!(sum.instances, 1);
    assert_eq!(sum.refusals_per_rule["api"], 4);
    let fields = server.cli(&["HLEN", "wr:rl:tallies"]);
    assert_eq!(
        fields.trim(),
        "1",
        "the stopped instance's tally is removed"
    );
    let ttl: i64 = server
        .cli(&["PTTL", "wr:rl:tallies"])
        .trim()
        .parse()
        .unwrap();
    assert!(
        ttl > 0,
        "the tallies expire when every instance stops: {ttl}"
    );
}

#[tokio::test]
async fn on_the_memory_store_the_sum_is_the_instance_itself() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let limiter = RateLimiter::new(
        rules(&format!("{QUIET}\n{RULES}")),
        Arc::new(MemoryRateLimitStore::new(clock.clone())),
        clock,
    );
    assert_eq!(refuse(&limiter, "198.51.100.1", 3).await, 2);
    assert_eq!(
        limiter.cluster_tally().instances,
        0,
        "nothing exchanged yet"
    );
    limiter.exchange_tally().await;
    let sum = limiter.cluster_tally();
    assert_eq!(sum.instances, 1);
    assert_eq!(sum.refusals_per_rule["api"], 2);
    assert_eq!(sum.top_limited_clients[0].key, "ip:198.51.100.1");
}
