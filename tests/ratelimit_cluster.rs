//! The limiter on a three-node Redis Cluster: one decision's keys share the client's hash tag,
//! so scripts never touch two slots, and clients spread over the nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use waitroom::ratelimit::scope::BanScope;

use support::redis_cluster::RedisCluster;
use waitroom::ratelimit::decision::{DecisionInput, Limit};
use waitroom::ratelimit::gcra::GcraLimit;
use waitroom::ratelimit::outcome::Decision;
use waitroom::ratelimit::penalty::PenaltyPolicy;
use waitroom::ratelimit::sliding_window::WindowLimit;
use waitroom::ratelimit::store::{BucketKey, RateLimitStore, RedisRateLimitStore};

fn input(limit: Limit) -> DecisionInput {
    DecisionInput {
        limit,
        cost: 1,
        penalty: Arc::new(PenaltyPolicy {
            decay_ms: 60_000,
            delay_after: 0,
            delay_step_ms: 0,
            max_delay_ms: 0,
            reduce_after: 0,
            reduce_permille: 1000,
            ban_after: 3,
            ban_lengths_ms: vec![60_000],
            strike_memory_ms: 3_600_000,
        }),
        liability: waitroom::ratelimit::scope::Liability::Own,
        ban_scope: waitroom::ratelimit::scope::BanScope::Everyone,
    }
}

#[tokio::test]
async fn decisions_penalties_and_bans_work_across_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.node_urls();
    let store = RedisRateLimitStore::connect_cluster(&urls).await.unwrap();
    let gcra = input(Limit::Gcra(GcraLimit {
        interval_us: 60_000_000,
        burst: 2,
    }));
    let window = input(Limit::SlidingWindow(WindowLimit {
        window_ms: 60_000,
        limit: 2,
    }));
    for i in 0..50 {
        let key = BucketKey {
            client: format!("user:{i}").into(),
            bucket: "api".into(),
        };
        let mut allowed = 0;
        for _ in 0..4 {
            let decision = store
                .decide(&key, if i % 2 == 0 { &gcra } else { &window })
                .await;
            if matches!(decision.unwrap(), Decision::Allowed { .. }) {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 2, "client {i}");
    }
    let holding: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|node| node.cli(&["DBSIZE"]).trim().parse().unwrap())
        .collect();
    assert!(
        holding.iter().all(|&keys| keys > 0),
        "clients spread: {holding:?}"
    );

    store
        .ban(
            "ip:192.0.2.7",
            60_000,
            "test",
            3_600_000,
            BanScope::Everyone,
        )
        .await
        .unwrap();
    let bans = store.bans().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert!(store.lift_ban("ip:192.0.2.7").await.unwrap());
    assert!(store.bans().await.unwrap().is_empty());
}
