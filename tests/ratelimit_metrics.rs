//! Every penalty stage a client enters is counted once in `waitroom_ratelimit_penalties_total`,
//! on both stores, as `/metrics` renders it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ratelimit_support;
mod support;

use std::time::Duration;

use ratelimit_support::{Backend, Harness, STRICT_PENALTIES, get};
use waitroom::telemetry::metrics;

/// The value of `waitroom_ratelimit_penalties_total{stage="<stage>"}` in a rendering.
fn stage_count(text: &str, stage: &str) -> u64 {
    let series = format!("waitroom_ratelimit_penalties_total{{stage=\"{stage}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

fn counts(handle: &metrics_exporter_prometheus::PrometheusHandle) -> [u64; 3] {
    let text = handle.render();
    ["delay", "reduced", "ban"].map(|stage| stage_count(&text, stage))
}

/// Drives one client through delay, reduced limit and ban; returns how each counter grew.
async fn escalate(
    backend: Backend,
    handle: &metrics_exporter_prometheus::PrometheusHandle,
) -> [u64; 3] {
    let before = counts(handle);
    let h = Harness::start(backend, STRICT_PENALTIES).await;
    let req = get("/v1/things", "203.0.113.9");
    assert_eq!(h.allowed_of(12, &req).await, 10, "two violations: delayed");
    let delayed = counts(handle);
    assert_eq!(h.allowed_of(2, &req).await, 0, "four violations: reduced");
    let reduced = counts(handle);
    assert_eq!(h.allowed_of(2, &req).await, 0, "six violations: banned");
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.allowed_of(3, &req).await,
        0,
        "still banned: nothing new entered"
    );
    let after = counts(handle);
    assert_eq!(delayed[0] - before[0], 1, "delay entered once by then");
    assert_eq!(reduced[1] - before[1], 1, "reduced entered once by then");
    assert_eq!(reduced[2], before[2], "no ban yet");
    [0, 1, 2].map(|i| after[i] - before[i])
}

// One test for both stores: the recorder is global to the binary, so the deltas are read while
// nothing else counts.
#[tokio::test]
async fn each_penalty_stage_is_counted_when_a_client_enters_it() {
    let handle = metrics::install();
    assert_eq!(
        escalate(Backend::Memory, &handle).await,
        [1, 1, 1],
        "memory"
    );
    assert_eq!(escalate(Backend::Redis, &handle).await, [1, 1, 1], "redis");
}
