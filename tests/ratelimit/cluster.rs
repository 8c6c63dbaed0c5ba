//! The limiter on a Redis Cluster (three primaries, a replica each): one decision's keys share
//! the client's hash tag, so scripts never touch two slots, and clients spread over the nodes.

use waitroom::ratelimit::scope::{BanScope, Liability};

use crate::support::redis_cluster::RedisCluster;
use waitroom::ratelimit::decision::{DecisionInput, Limit};
use waitroom::ratelimit::gcra::GcraLimit;
use waitroom::ratelimit::outcome::Decision;
use waitroom::ratelimit::penalty::PenaltyPolicy;
use waitroom::ratelimit::sliding_window::WindowLimit;
use waitroom::ratelimit::store::{BucketKey, RateLimitStore, RedisRateLimitStore};

fn input(limit: Limit) -> DecisionInput<'static> {
    DecisionInput {
        limit,
        cost: 1,
        // Leaked: every decision of the test borrows it.
        penalty: Box::leak(Box::new(PenaltyPolicy {
            decay_ms: 60_000,
            delay_after: 0,
            delay_step_ms: 0,
            max_delay_ms: 0,
            reduce_after: 0,
            reduce_permille: 1000,
            ban_after: 3,
            ban_lengths_ms: vec![60_000],
            strike_memory_ms: 3_600_000,
        })),
        liability: Liability::Own,
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
    // Two allowed, then three violations: the third starts the ban (`ban_after`), and the next
    // request finds the client banned. Every step runs on the node that holds the client's slot.
    for i in 0..50 {
        let key = BucketKey {
            client: format!("user:{i}").into(),
            bucket: "api".into(),
        };
        let mut steps = Vec::new();
        for _ in 0..6 {
            let decision = store
                .decide(&key, if i % 2 == 0 { &gcra } else { &window })
                .await
                .unwrap();
            steps.push(match decision {
                Decision::Allowed { .. } => "allowed".to_owned(),
                Decision::Limited { ban: Some(_), .. } => "ban started".to_owned(),
                Decision::Limited { violations, .. } => format!("violation {violations}"),
                Decision::Banned { .. } => "banned".to_owned(),
            });
        }
        assert_eq!(
            steps,
            [
                "allowed",
                "allowed",
                "violation 1",
                "violation 2",
                "ban started",
                "banned"
            ],
            "client {i}"
        );
        let banned = store
            .banned_until(std::slice::from_ref(&key.client), Liability::Own)
            .await
            .unwrap();
        assert!(banned.is_some(), "client {i} is banned");
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
    let penalty_bans: Vec<String> = store
        .bans()
        .await
        .unwrap()
        .into_iter()
        .map(|ban| ban.key)
        .collect();
    assert_eq!(penalty_bans.len(), 50, "{penalty_bans:?}");
    assert!((0..50).all(|i| penalty_bans.contains(&format!("user:{i}"))));

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
    assert_eq!(bans.len(), 51);
    assert!(bans.iter().any(|ban| ban.key == "ip:192.0.2.7"));
    assert!(store.lift_ban("ip:192.0.2.7").await.unwrap());
    assert_eq!(store.bans().await.unwrap().len(), 50);
}
