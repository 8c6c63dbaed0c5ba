//! The queue engine's hot operations on both stores: join, position (a ticket read), drain and
//! reserve. The Redis store runs against a private redis-server on loopback started here (as the
//! tests do), with the server's clock; the memory store with the system clock.
//!
//! `cargo bench --bench engine`. Absolute times drift with the machine; compare each operation
//! with `ping` (one round trip doing nothing) in the same run, and the stores with each other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use redis_server::RedisServer;
use tokio::runtime::Runtime;
use waitroom::clock::SystemClock;
use waitroom::domain::{
    EventConfig, EventId, Identity, Mode, OperatorStatus, OrderId, OrderItem, ReserveOutcome,
    ReserveRequest, Sku, TicketId,
};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

/// Shoppers already waiting in the position and drain events.
const WAITING: u64 = 20_000;

fn shopper(n: u64) -> Identity {
    Identity::user(&format!("shopper-{n}")).unwrap()
}

fn tee() -> Sku {
    Sku::parse("TEE").unwrap()
}

/// An open event admitting `per_second` shoppers with a burst of `burst`.
fn open_event(id: &str, now: i64, per_second: u64, burst: u32) -> EventConfig {
    EventConfig {
        id: EventId::parse(id).unwrap(),
        name: id.into(),
        starts_at: now,
        prequeue_opens_at: None,
        outflow_milli_per_second: per_second * 1_000,
        outflow_burst: burst,
        max_active: None,
        cap_follows_stock: false,
        admission_ttl_seconds: 3_600,
        reservation_ttl_seconds: 3_600,
        allow_anonymous: true,
        inventory: BTreeMap::from([(tee(), 1_000_000_000_000)]),
        mode: Mode::Queue,
        abandon_after_seconds: 3_600,
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

/// One store under test, with the events the benchmarks use.
struct Subject {
    name: &'static str,
    store: Arc<dyn QueueStore>,
    _server: Option<RedisServer>,
}

async fn prepare(store: &dyn QueueStore) {
    let now = store.now().await.unwrap();
    for config in [
        open_event("join", now, 1, 1),
        open_event("position", now, 1, 1),
        open_event("drain", now, 1_000, 1),
        open_event("reserve", now, 1_000_000, 1_000_000),
    ] {
        store.create_event(&config).await.unwrap();
    }
    for name in ["position", "drain"] {
        let event = EventId::parse(name).unwrap();
        for n in 0..WAITING {
            store
                .join(&event, &shopper(n), TicketId::random())
                .await
                .unwrap();
        }
    }
}

fn subjects(runtime: &Runtime) -> Vec<Subject> {
    runtime.block_on(async {
        let memory: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(Arc::new(SystemClock)));
        let server = RedisServer::start();
        let redis: Arc<dyn QueueStore> =
            Arc::new(RedisStore::connect(&server.url(), None).await.unwrap());
        prepare(memory.as_ref()).await;
        prepare(redis.as_ref()).await;
        vec![
            Subject {
                name: "memory",
                store: memory,
                _server: None,
            },
            Subject {
                name: "redis",
                store: redis,
                _server: Some(server),
            },
        ]
    })
}

fn engine(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    for subject in subjects(&runtime) {
        let mut group = c.benchmark_group(subject.name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let store = &subject.store;
        // Every joiner is new: the counter runs on across samples.
        let mut next_joiner = WAITING;

        // The floor: one round trip that does nothing (for Redis, a PING on the same connection).
        group.bench_function("ping", |b| {
            b.to_async(&runtime)
                .iter(|| async { store.ping().await.unwrap() })
        });

        group.bench_function("join", |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (store, first) = (store.clone(), next_joiner);
                next_joiner += iters;
                async move {
                    let event = EventId::parse("join").unwrap();
                    let began = Instant::now();
                    for n in first..first + iters {
                        store
                            .join(&event, &shopper(n), TicketId::random())
                            .await
                            .unwrap();
                    }
                    began.elapsed()
                }
            })
        });

        group.bench_function("position", |b| {
            let event = EventId::parse("position").unwrap();
            let middle = shopper(WAITING / 2);
            b.to_async(&runtime).iter(|| async {
                let ticket = store.ticket(&event, &middle, false).await.unwrap();
                assert!(ticket.and_then(|t| t.position).is_some());
            })
        });

        group.bench_function("drain", |b| {
            let event = EventId::parse("drain").unwrap();
            b.to_async(&runtime).iter(|| async {
                store.drain(&event).await.unwrap().unwrap();
            })
        });

        group.bench_function("reserve", |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (store, first) = (store.clone(), next_joiner);
                next_joiner += iters;
                async move {
                    let event = EventId::parse("reserve").unwrap();
                    let mut spent = Duration::ZERO;
                    for n in first..first + iters {
                        // Untimed: join and be admitted.
                        let identity = shopper(n);
                        let ticket_id = TicketId::random();
                        store.join(&event, &identity, ticket_id).await.unwrap();
                        store.drain(&event).await.unwrap();
                        let request = ReserveRequest {
                            identity,
                            ticket_id,
                            order_id: OrderId::random(),
                            idempotency_key: None,
                            items: vec![OrderItem {
                                sku: tee(),
                                quantity: 1,
                            }],
                        };
                        let began = Instant::now();
                        let outcome = store.reserve(&event, &request).await.unwrap();
                        spent += began.elapsed();
                        assert!(
                            matches!(outcome, ReserveOutcome::Reserved(_)),
                            "{outcome:?}"
                        );
                    }
                    spent
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
