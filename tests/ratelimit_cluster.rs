//! The limiter on a three-node Redis Cluster: one decision's keys share the client's hash tag,
//! so scripts never touch two slots, and clients spread over the nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::redis_server::RedisServer;
use waitroom::ratelimit::decision::{DecisionInput, Limit};
use waitroom::ratelimit::gcra::GcraLimit;
use waitroom::ratelimit::outcome::Decision;
use waitroom::ratelimit::penalty::PenaltyPolicy;
use waitroom::ratelimit::sliding_window::WindowLimit;
use waitroom::ratelimit::store::{BucketKey, RateLimitStore, RedisRateLimitStore};

fn cluster() -> Vec<RedisServer> {
    let nodes: Vec<RedisServer> = (0..3)
        .map(|_| {
            RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
        })
        .collect();
    let addresses: Vec<String> = nodes
        .iter()
        .map(|node| format!("127.0.0.1:{}", node.port()))
        .collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli --cluster create");
    assert!(created.status.success(), "{created:?}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !nodes
        .iter()
        .all(|node| node.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    {
        assert!(Instant::now() < deadline, "the cluster never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    nodes
}

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
    }
}

#[tokio::test]
async fn decisions_penalties_and_bans_work_across_a_redis_cluster() {
    let nodes = cluster();
    let urls: Vec<String> = nodes.iter().map(|node| node.url()).collect();
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
            client: format!("user:{i}"),
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
    let holding: Vec<usize> = nodes
        .iter()
        .map(|node| node.cli(&["DBSIZE"]).trim().parse().unwrap())
        .collect();
    assert!(
        holding.iter().all(|&keys| keys > 0),
        "clients spread: {holding:?}"
    );

    store
        .ban("ip:192.0.2.7", 60_000, "test", 3_600_000)
        .await
        .unwrap();
    let bans = store.bans().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert!(store.lift_ban("ip:192.0.2.7").await.unwrap());
    assert!(store.bans().await.unwrap().is_empty());
}
