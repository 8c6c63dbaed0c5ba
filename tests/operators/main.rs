//! Operators' end-to-end tests: metrics that dashboards and alerts rely on, the audit log, the
//! dashboard's stream, the OpenAPI document against the router, and the deployment files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod admin_app;
mod audit;
mod deployment;
mod events_file;
mod logs;
mod metric_labels;
mod metrics_exported;
mod openapi_routes;
mod retention;
mod shared_rules;
mod stream;
mod webhook;
