//! One million distinct clients: the state stays bounded and every piece of it expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::redis_server::RedisServer;
use futures_util::StreamExt;
use waitroom::clock::{Clock, ManualClock};
use waitroom::ratelimit::decision::{DecisionInput, Limit};
use waitroom::ratelimit::gcra::GcraLimit;
use waitroom::ratelimit::outcome::Decision;
use waitroom::ratelimit::penalty::PenaltyPolicy;
use waitroom::ratelimit::store::{
    BucketKey, MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore,
};

const CLIENTS: u32 = 1_000_000;

/// One request per `interval_s`, so a bucket lives `interval_s` after its request.
fn input(interval_s: i64) -> DecisionInput<'static> {
    DecisionInput {
        limit: Limit::Gcra(GcraLimit {
            interval_us: interval_s * 1_000_000,
            burst: 1,
        }),
        cost: 1,
        // Leaked: every decision of the test borrows it.
        penalty: Box::leak(Box::new(PenaltyPolicy {
            decay_ms: 60_000,
            delay_after: 0,
            delay_step_ms: 0,
            max_delay_ms: 0,
            reduce_after: 0,
            reduce_permille: 1000,
            ban_after: 0,
            ban_lengths_ms: vec![60_000],
            strike_memory_ms: 0,
        })),
        liability: waitroom::ratelimit::scope::Liability::Own,
        ban_scope: waitroom::ratelimit::scope::BanScope::Everyone,
    }
}

fn client(i: u32) -> BucketKey {
    BucketKey {
        client: format!("ip:10.{}.{}.{}", i >> 16, (i >> 8) & 0xff, i & 0xff).into(),
        bucket: "api".into(),
    }
}

fn info_field(info: &str, name: &str) -> i64 {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(-1)
}

fn keyspace(server: &RedisServer) -> (i64, i64) {
    let info = server.cli(&["INFO", "keyspace"]);
    let db0 = info
        .lines()
        .find_map(|line| line.strip_prefix("db0:"))
        .unwrap_or("keys=0,expires=0");
    let field = |name: &str| {
        db0.split(',')
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("keys"), field("expires"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_clients_on_redis_use_bounded_memory_and_every_key_expires() {
    let server = RedisServer::start();
    let store = Arc::new(RedisRateLimitStore::connect(&server.url()).await.unwrap());
    let before = info_field(&server.cli(&["INFO", "memory"]), "used_memory");
    // Buckets live 5 s after their request: the keyspace holds only the last few seconds' clients.
    let input = Arc::new(input(5));
    let started = Instant::now();
    let allowed = futures_util::stream::iter(0..CLIENTS)
        .map(|i| {
            let (store, input) = (store.clone(), input.clone());
            async move { store.decide(&client(i), &input).await.unwrap() }
        })
        .buffer_unordered(128)
        .filter(|decision| std::future::ready(matches!(decision, Decision::Allowed { .. })))
        .count()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(
        allowed, CLIENTS as usize,
        "each client's first request passes"
    );

    let (keys, expires) = keyspace(&server);
    let used = info_field(&server.cli(&["INFO", "memory"]), "used_memory") - before;
    let per_key = used / keys.max(1);
    println!(
        "{keys} keys, {expires} with a TTL, {per_key} bytes each, {:.0} decisions/s",
        f64::from(CLIENTS) / elapsed.as_secs_f64()
    );
    assert_eq!(keys, expires, "every key has a TTL");
    assert!(
        keys > 0 && keys < i64::from(CLIENTS),
        "expired buckets are gone: {keys} left"
    );
    assert!(per_key <= 200, "{per_key} bytes per client key");

    // The rest go by themselves once their interval has passed.
    let drained = tokio::time::timeout(Duration::from_secs(120), async {
        while keyspace(&server).0 > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(drained.is_ok(), "keys left: {:?}", keyspace(&server));
}

#[test]
fn a_million_clients_in_memory_leave_only_the_live_ones_behind() {
    let clock = ManualClock::new(1_800_000_000_000);
    let store = MemoryRateLimitStore::new(Arc::new(clock.clone()) as Arc<dyn Clock>);
    let input = input(1);
    let mut largest = 0;
    for i in 0..CLIENTS {
        // A new client every millisecond; each bucket lives one second, so ~1,000 are live.
        clock.advance_ms(1);
        assert!(matches!(
            store.decide_now(&client(i), &input),
            Decision::Allowed { .. }
        ));
        if i % 10_000 == 0 {
            largest = largest.max(store.len());
        }
    }
    assert!(largest < 70_000, "at most {largest} clients held at once");
    clock.advance(Duration::from_secs(2));
    store.evict_expired();
    assert!(store.is_empty());
}
