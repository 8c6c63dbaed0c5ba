//! Every metric waitroom exports, named and described in one place.
//!
//! Names start with `waitroom_` and end with their unit (`_seconds`, `_total` for counters,
//! `_per_second`, `_shoppers`, `_units`). Labels are bounded: route templates (never raw paths),
//! status codes, event ids (operators create events), SKUs of an event, rule names, outcome words.
//! The per-event figures come from the store, so every instance reports the same value: aggregate
//! them across instances with `max`, not `sum`.
//!
//! [`install`] sets up the process's Prometheus recorder once and describes every metric;
//! [`ALL`] lists them, so a test can check that dashboards and alerts name only real metrics.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use crate::ratelimit::metric_names::{
    RATELIMIT_BANS, RATELIMIT_DECISIONS, RATELIMIT_PENALTIES, RATELIMIT_STORE_ERRORS,
};

/// Requests answered, by `route` template, `method` and `status`.
pub const HTTP_REQUESTS: &str = "waitroom_http_requests_total";
/// Request latency, by `route`, `method` and `status`.
pub const HTTP_DURATION: &str = "waitroom_http_request_duration_seconds";
/// Checkout and pay answers, by `step` (`checkout`, `pay`) and `outcome` (`reserved`, `paid`, or
/// the problem code: `sold_out`, `admission_used`, `not_admitted`, …).
pub const CHECKOUT_OUTCOMES: &str = "waitroom_checkout_outcomes_total";
/// Histogram: from an admission to its shopper's first try at the checkout, by how the shopper
/// heard of it (`channel`: `socket` or `polling`).
pub const CHECKOUT_REACH: &str = "waitroom_checkout_reach_seconds";
/// Shoppers waiting, by `event`.
pub const QUEUE_LENGTH: &str = "waitroom_event_queue_length_shoppers";
/// Joins so far, by `event`.
pub const JOINS: &str = "waitroom_event_joins_total";
/// Admissions so far, by `event`.
pub const ADMISSIONS: &str = "waitroom_event_admissions_total";
/// Admitted shoppers who have not finished (unused admissions and unpaid reservations).
pub const ACTIVE: &str = "waitroom_event_active_shoppers";
/// The serving number: the highest queue score admitted so far.
pub const SERVING: &str = "waitroom_event_serving_number";
/// The configured outflow.
pub const OUTFLOW_SET: &str = "waitroom_event_outflow_set_per_second";
/// The outflow in force: the set rate, or lower while it follows an unhealthy checkout.
pub const OUTFLOW_EFFECTIVE: &str = "waitroom_event_outflow_effective_per_second";
/// Changes of the outflow made after the checkout's health, by direction (`down`, `up`).
pub const OUTFLOW_FOLLOW_CHANGES: &str = "waitroom_outflow_follow_changes_total";
/// The outflow achieved over the last seconds.
pub const OUTFLOW_ACTUAL: &str = "waitroom_event_outflow_actual_per_second";
/// Joins per second over the last seconds.
pub const INFLOW: &str = "waitroom_event_inflow_per_second";
/// Waiting shoppers dropped for being away too long.
pub const ABANDONED: &str = "waitroom_event_abandoned_total";
/// Orders by `event` and `state` (`reserved`, `paid`, `expired`).
pub const ORDERS: &str = "waitroom_event_orders_total";
/// Units paid for, by `event` and `sku`.
pub const UNITS_SOLD: &str = "waitroom_event_sold_units_total";
/// Units neither sold nor reserved, by `event` and `sku`.
pub const UNITS_LEFT: &str = "waitroom_event_left_units";
/// 1 while an operator holds the event paused.
pub const PAUSED: &str = "waitroom_event_paused";
/// Open position sockets on this instance.
pub const WS_CONNECTIONS: &str = "waitroom_ws_connections";
/// Frames sent on position sockets, by `type`.
pub const WS_MESSAGES_SENT: &str = "waitroom_ws_messages_sent_total";
/// Frames received on position sockets.
pub const WS_MESSAGES_RECEIVED: &str = "waitroom_ws_messages_received_total";
/// Histogram: the time between two position frames on one socket. A still queue sends one per
/// keepalive (1.5 s); above that, the instance woke the socket late.
pub const WS_POSITION_GAP: &str = "waitroom_ws_position_gap_seconds";
/// Admissions handed over on a socket.
pub const WS_ADMISSIONS_PUSHED: &str = "waitroom_ws_admissions_pushed_total";
/// Queue store call latency, by `operation`.
pub const STORE_DURATION: &str = "waitroom_store_operation_duration_seconds";
/// Queue store failures, by `operation` and `kind` (`unavailable`, `corrupt`).
pub const STORE_ERRORS: &str = "waitroom_store_errors_total";
/// Changes made through the admin API, by `action`.
pub const ADMIN_CHANGES: &str = "waitroom_admin_changes_total";
/// Always 1, labelled with the `version`.
pub const BUILD_INFO: &str = "waitroom_build_info";

/// Every metric name with its kind, unit and description.
pub const ALL: &[(&str, Kind, Unit, &str)] = &[
    (
        HTTP_REQUESTS,
        Kind::Counter,
        Unit::Count,
        "HTTP requests by route template, method and status",
    ),
    (
        HTTP_DURATION,
        Kind::Histogram,
        Unit::Seconds,
        "HTTP request latency by route, method and status",
    ),
    (
        CHECKOUT_OUTCOMES,
        Kind::Counter,
        Unit::Count,
        "checkout and pay answers by step and outcome",
    ),
    (
        CHECKOUT_REACH,
        Kind::Histogram,
        Unit::Seconds,
        "time from an admission to the shopper's first try at the checkout, by event and \
         by whether the admission was pushed on a socket or read by polling",
    ),
    (
        QUEUE_LENGTH,
        Kind::Gauge,
        Unit::Count,
        "shoppers waiting in the queue",
    ),
    (JOINS, Kind::Counter, Unit::Count, "joins so far"),
    (
        ADMISSIONS,
        Kind::Counter,
        Unit::Count,
        "shoppers admitted so far",
    ),
    (
        ACTIVE,
        Kind::Gauge,
        Unit::Count,
        "admitted shoppers who have not finished",
    ),
    (SERVING, Kind::Gauge, Unit::Count, "the serving number"),
    (
        OUTFLOW_SET,
        Kind::Gauge,
        Unit::CountPerSecond,
        "the configured outflow",
    ),
    (
        OUTFLOW_EFFECTIVE,
        Kind::Gauge,
        Unit::CountPerSecond,
        "the outflow in force (below the set rate while the checkout is unhealthy)",
    ),
    (
        OUTFLOW_FOLLOW_CHANGES,
        Kind::Counter,
        Unit::Count,
        "changes of the outflow made after the checkout's health",
    ),
    (
        OUTFLOW_ACTUAL,
        Kind::Gauge,
        Unit::CountPerSecond,
        "the outflow achieved lately",
    ),
    (
        INFLOW,
        Kind::Gauge,
        Unit::CountPerSecond,
        "joins per second lately",
    ),
    (
        ABANDONED,
        Kind::Counter,
        Unit::Count,
        "waiting shoppers dropped for being away",
    ),
    (ORDERS, Kind::Counter, Unit::Count, "orders by state"),
    (
        UNITS_SOLD,
        Kind::Counter,
        Unit::Count,
        "units paid for by SKU",
    ),
    (
        UNITS_LEFT,
        Kind::Gauge,
        Unit::Count,
        "units neither sold nor reserved by SKU",
    ),
    (
        PAUSED,
        Kind::Gauge,
        Unit::Count,
        "1 while an operator holds the event paused",
    ),
    (
        WS_CONNECTIONS,
        Kind::Gauge,
        Unit::Count,
        "open position sockets on this instance",
    ),
    (
        WS_MESSAGES_SENT,
        Kind::Counter,
        Unit::Count,
        "frames sent on position sockets by type",
    ),
    (
        WS_MESSAGES_RECEIVED,
        Kind::Counter,
        Unit::Count,
        "frames received on position sockets",
    ),
    (
        WS_POSITION_GAP,
        Kind::Histogram,
        Unit::Seconds,
        "time between two position frames on one socket: the keepalive in a still queue, more \
         when the instance woke the socket late",
    ),
    (
        WS_ADMISSIONS_PUSHED,
        Kind::Counter,
        Unit::Count,
        "admissions handed over on a socket",
    ),
    (
        RATELIMIT_DECISIONS,
        Kind::Counter,
        Unit::Count,
        "rate-limit verdicts by rule and outcome",
    ),
    (
        RATELIMIT_PENALTIES,
        Kind::Counter,
        Unit::Count,
        "rate-limit penalties by stage",
    ),
    (RATELIMIT_BANS, Kind::Counter, Unit::Count, "bans started"),
    (
        RATELIMIT_STORE_ERRORS,
        Kind::Counter,
        Unit::Count,
        "rate-limit store failures by fail mode",
    ),
    (
        STORE_DURATION,
        Kind::Histogram,
        Unit::Seconds,
        "queue store call latency by operation",
    ),
    (
        STORE_ERRORS,
        Kind::Counter,
        Unit::Count,
        "queue store failures by operation and kind",
    ),
    (
        ADMIN_CHANGES,
        Kind::Counter,
        Unit::Count,
        "changes made through the admin API by action",
    ),
    (
        BUILD_INFO,
        Kind::Gauge,
        Unit::Count,
        "always 1, labelled with the version",
    ),
];

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution in buckets.
    Histogram,
}

/// Buckets of request latencies, in seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of store calls: the memory store answers in microseconds, Redis in a millisecond.
const STORE_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Buckets of the time from an admission to the checkout: a socket's shopper takes a second or
/// two, a polling page up to its poll gap and more in a crowd, a slow shopper minutes.
const REACH_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// Buckets of the gap between a socket's position frames: fine around the 1.5 s keepalive and
/// the 2 s every page is promised, coarse beyond.
const GAP_BUCKETS: &[f64] = &[0.5, 1.0, 1.5, 1.6, 1.75, 2.0, 2.5, 3.0, 5.0, 10.0];

/// How often recorded histogram samples are folded into their buckets. Until then each sample
/// is kept, so without this a process nobody scrapes would grow by every request it serves.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether [`install`] has put the recorder in place (handles taken before are no-ops).
pub fn installed() -> bool {
    HANDLE.get().is_some()
}

/// The process's Prometheus recorder, installed once as the global `metrics` recorder (several
/// apps in one test process share it), with every metric described.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(STORE_DURATION.to_owned()), STORE_BUCKETS)
                .and_then(|builder| {
                    builder
                        .set_buckets_for_metric(Matcher::Full(CHECKOUT_REACH.to_owned()), REACH_BUCKETS)
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(Matcher::Full(WS_POSITION_GAP.to_owned()), GAP_BUCKETS)
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Suffix("_seconds".to_owned()),
                        REQUEST_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already; /metrics may be empty");
            }
            describe_all();
            start_series();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "no metrics upkeep thread: histograms fold only when scraped");
            }
            handle
        })
        .clone()
}

fn describe_all() {
    for &(name, kind, unit, description) in ALL {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, unit, description),
            Kind::Gauge => metrics::describe_gauge!(name, unit, description),
            Kind::Histogram => metrics::describe_histogram!(name, unit, description),
        }
    }
}

/// Series that exist before anything happens, so dashboards and alerts see zeros, not gaps.
fn start_series() {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    metrics::gauge!(WS_CONNECTIONS).set(0.0);
    metrics::counter!(WS_ADMISSIONS_PUSHED).increment(0);
    metrics::counter!(WS_MESSAGES_RECEIVED).increment(0);
    metrics::counter!(RATELIMIT_BANS).increment(0);
    for stage in ["delay", "reduced", "ban"] {
        metrics::counter!(RATELIMIT_PENALTIES, "stage" => stage).increment(0);
    }
    for mode in ["open", "closed", "local"] {
        metrics::counter!(RATELIMIT_STORE_ERRORS, "fail_mode" => mode).increment(0);
    }
}

/// Counts one change made through the admin API.
pub fn admin_change(action: &'static str) {
    metrics::counter!(ADMIN_CHANGES, "action" => action).increment(1);
}

/// Counts one frame sent on a position socket.
pub fn ws_sent(kind: &'static str) {
    metrics::counter!(WS_MESSAGES_SENT, "type" => kind).increment(1);
}

/// Counts one frame received on a position socket.
pub fn ws_received() {
    metrics::counter!(WS_MESSAGES_RECEIVED).increment(1);
}

/// Records the time since the socket's previous position frame.
pub fn ws_position_gap(gap: Duration) {
    metrics::histogram!(WS_POSITION_GAP).record(gap.as_secs_f64());
}

/// Holds one open position socket in the connections gauge while it lives.
#[derive(Debug)]
pub struct OpenSocket(());

impl OpenSocket {
    /// Counts a socket as open until the value is dropped.
    pub fn open() -> Self {
        metrics::gauge!(WS_CONNECTIONS).increment(1.0);
        OpenSocket(())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(WS_CONNECTIONS).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_named_waitroom_and_has_a_unit_or_total_suffix() {
        for (name, kind, _, _) in ALL {
            assert!(name.starts_with("waitroom_"), "{name}");
            let suffixed = match kind {
                Kind::Counter => name.ends_with("_total"),
                Kind::Histogram => name.ends_with("_seconds"),
                Kind::Gauge => [
                    "_shoppers",
                    "_number",
                    "_per_second",
                    "_units",
                    "_paused",
                    "_connections",
                    "_info",
                ]
                .iter()
                .any(|unit| name.ends_with(unit)),
            };
            assert!(suffixed, "{name} says its unit");
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|(name, ..)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
