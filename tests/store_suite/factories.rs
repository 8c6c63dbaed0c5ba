//! How each store under test is built: an `async fn() -> Harness` per store, listed in the
//! `stores!` invocation of `main.rs`.
//!
//! A factory builds a fresh, empty store whose time is the harness's [`ManualClock`], standing at
//! [`T0`]. Anything that must live as long as the store (a private server) goes in `_guard`.
//!
//! The Redis factory goes here: start a [`crate::support::redis_server::RedisServer`], build a
//! `RedisStore` on its URL with the manual clock injected, and keep the server in `_guard`.

use std::sync::Arc;

use waitroom::clock::ManualClock;
use waitroom::store::memory::MemoryStore;

use crate::harness::{Harness, T0};

/// The embedded in-memory store.
pub async fn memory() -> Harness {
    let clock = ManualClock::new(T0);
    Harness {
        store: Arc::new(MemoryStore::new(Arc::new(clock.clone()))),
        clock,
        _guard: Box::new(()),
    }
}
