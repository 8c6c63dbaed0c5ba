//! End-to-end tests: a real server on port 0 per test, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod admin_events;
mod admission_tokens;
mod arrival_windows;
mod branding;
mod checkout;
mod crowd;
mod draw;
mod interop;
mod join_defences;
mod key_rotation;
mod malformed_input;
mod members_only;
mod operations;
mod orders;
mod outflow_follow;
mod pages;
mod redis_instances;
mod sale;
mod socket_caps;
mod test_app;
mod tickets;
mod visitor_cookie;
mod window_draw;
