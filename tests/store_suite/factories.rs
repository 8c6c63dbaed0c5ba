//! How each store under test is built: an `async fn() -> Harness` per store, listed in the
//! `stores!` invocation of `main.rs`.
//!
//! A factory builds a fresh, empty store whose time is the harness's [`ManualClock`], standing at
//! [`T0`]. Anything that must live as long as the store (a private server) goes in `_guard`.
//!
//! The property tests call a factory once per property and use a fresh event per random sale;
//! they drain through `drainers` at once (on Redis, three more connections).

use std::sync::Arc;

use waitroom::clock::ManualClock;
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

use crate::harness::{Harness, T0};
use crate::support::redis_server::RedisServer;

/// The embedded in-memory store.
pub async fn memory() -> Harness {
    let clock = ManualClock::new(T0);
    let store: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
    Harness {
        drainers: vec![store.clone(), store.clone(), store.clone()],
        store,
        clock,
        _guard: Box::new(()),
    }
}

/// The Redis store on a private redis-server (kept alive by the harness), with the manual clock
/// injected in place of the server's time.
pub async fn redis() -> Harness {
    let server = RedisServer::start();
    let clock = ManualClock::new(T0);
    let mut drainers: Vec<Arc<dyn QueueStore>> = Vec::new();
    for _ in 0..3 {
        let store = RedisStore::connect(&server.url(), Some(Arc::new(clock.clone())))
            .await
            .unwrap();
        drainers.push(Arc::new(store));
    }
    let store = RedisStore::connect(&server.url(), Some(Arc::new(clock.clone())))
        .await
        .unwrap();
    Harness {
        store: Arc::new(store),
        clock,
        drainers,
        _guard: Box::new(server),
    }
}
