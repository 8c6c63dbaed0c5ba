//! Redis memory per waiting shopper: joins N shoppers to one open event through the Redis store
//! and compares Redis `INFO memory` `used_memory` before and after, every key counted.
//!
//! `cargo bench --bench redis_memory` (N = 1,000,000; `WAITROOM_MEMORY_SHOPPERS=N` to change it).
//! Identities are `v:` and 22 characters, the size of a 128-bit visitor id in base64url; with
//! `WAITROOM_MEMORY_IDS=uuid`, signed-in users whose ids are UUIDs (36 characters), as most shops'
//! are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use redis_server::RedisServer;
use waitroom::domain::{EventConfig, EventId, Identity, JoinOutcome, Mode, OperatorStatus, Sku};
use waitroom::store::QueueStore;
use waitroom::store::redis::{RedisStore, event_key_prefix};

/// Concurrent joiners: enough to keep Redis busy over one multiplexed connection.
const JOINERS: u64 = 64;

fn used_memory(server: &RedisServer) -> u64 {
    server
        .cli(&["INFO", "memory"])
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("INFO memory reports used_memory")
}

fn visitor(n: u64) -> Identity {
    Identity::visitor(&format!("{n:0>22}")).unwrap()
}

/// The `n`-th shopper: a visitor, or a user with a UUID-shaped id (see the module's note).
fn shopper(n: u64, uuids: bool) -> Identity {
    if uuids {
        let digits = format!("{n:032x}");
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &digits[..8],
            &digits[8..12],
            &digits[12..16],
            &digits[16..20],
            &digits[20..]
        );
        Identity::user(&uuid).unwrap()
    } else {
        visitor(n)
    }
}

fn open_event(now: i64) -> EventConfig {
    EventConfig {
        id: EventId::parse("memory").unwrap(),
        name: "Memory".into(),
        starts_at: now,
        prequeue_opens_at: None,
        outflow_milli_per_second: 1_000,
        outflow_burst: 1,
        max_active: None,
        cap_follows_stock: false,
        admission_ttl_seconds: 600,
        reservation_ttl_seconds: 600,
        allow_anonymous: true,
        inventory: BTreeMap::from([(Sku::parse("TSHIRT").unwrap(), 1_000)]),
        mode: Mode::Queue,
        abandon_after_seconds: 60,
        max_units_per_order: Default::default(),
        max_units_per_shopper: Default::default(),
        operator_status: OperatorStatus::Auto,
        seed_hash: String::new(),
        seed: "5eed".into(),
        created_at: now - 60_000,
        defences: Default::default(),
        page: None,
        checkout_target: None,
        arrival_windows: Default::default(),
        retention: Default::default(),
    }
}

#[tokio::main]
async fn main() {
    let shoppers: u64 = std::env::var("WAITROOM_MEMORY_SHOPPERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let uuids = std::env::var("WAITROOM_MEMORY_IDS").is_ok_and(|ids| ids == "uuid");
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), None).await.unwrap();
    let event = EventId::parse("memory").unwrap();
    let now = store.now().await.unwrap();
    store.create_event(&open_event(now)).await.unwrap();
    store
        .join(
            &event,
            &visitor(u64::MAX),
            waitroom::domain::TicketId::random(),
        )
        .await
        .unwrap();
    let before = used_memory(&server);
    let began = Instant::now();

    let next = Arc::new(AtomicU64::new(0));
    let joiners: Vec<_> = (0..JOINERS)
        .map(|_| {
            let (store, event, next) = (store.clone(), event.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= shoppers {
                        break;
                    }
                    let joined = store
                        .join(
                            &event,
                            &shopper(n, uuids),
                            waitroom::domain::TicketId::random(),
                        )
                        .await
                        .unwrap();
                    assert!(matches!(joined, JoinOutcome::Joined { created: true, .. }));
                }
            })
        })
        .collect();
    for joiner in joiners {
        joiner.await.unwrap();
    }

    let elapsed = began.elapsed();
    let after = used_memory(&server);
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!(stats.queue_length, shoppers + 1);
    let keys = server.cli(&["DBSIZE"]);
    println!("shoppers waiting        {}", stats.queue_length);
    println!(
        "identity length         {} bytes",
        shopper(0, uuids).as_str().len()
    );
    println!("redis keys              {}", keys.trim());
    println!("used_memory before      {before}");
    println!("used_memory after       {after}");
    println!(
        "bytes per shopper       {:.1}",
        (after.saturating_sub(before)) as f64 / shoppers as f64
    );
    let queue_key = format!("{}q", event_key_prefix(&event));
    let queue_bytes: u64 = server
        .cli(&["MEMORY", "USAGE", &queue_key, "SAMPLES", "0"])
        .trim()
        .parse()
        .unwrap_or(0);
    println!(
        "  of which the queue    {:.1} (zset member and score); the rest is the ticket record",
        queue_bytes as f64 / stats.queue_length as f64
    );
    println!(
        "joins                   {shoppers} in {:.1} s ({:.0}/s, {JOINERS} concurrent)",
        elapsed.as_secs_f64(),
        shoppers as f64 / elapsed.as_secs_f64()
    );
}
