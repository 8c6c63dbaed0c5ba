//! Test support shared by the integration test binaries (`mod support;` in each).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod alert_receiver;
pub mod counting_store;
pub mod crowd;
pub mod events;
pub mod live_app;
pub mod processes;
pub mod redis_cluster;
pub mod redis_server;
pub mod sale_words;
pub mod scrape;
pub mod slow_calls;
pub mod stores;
