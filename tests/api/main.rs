//! End-to-end tests: a real server on port 0 per test, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod stores;

mod admin_events;
mod admission_tokens;
mod checkout;
mod interop;
mod malformed_input;
mod operations;
mod pages;
mod redis_instances;
mod sale;
mod test_app;
mod tickets;
