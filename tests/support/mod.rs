//! Test support shared by the integration test binaries (`mod support;` in each).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod events;
pub mod redis_server;
