//! The rate limiter's tests, one module per area: the conformance suite on both stores, bans,
//! client identity, the tower layer, rule reloads, penalty metrics, Redis under load and in a
//! cluster, the cross-instance tally, and the bounds on the state a million clients leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod bans;
mod bounds;
mod cluster;
mod http;
mod identity;
mod metrics;
mod redis;
mod reload;
mod suite;
mod tally;
