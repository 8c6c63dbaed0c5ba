//! Every penalty stage a client enters is counted once in `waitroom_ratelimit_penalties_total`,
//! on both stores, as the Prometheus exporter behind `/metrics` renders it.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;

use crate::harness::{Harness, STRICT_PENALTIES, get};
use crate::support::stores::Backend;

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

// A recorder of the test's own, on the test's thread, where the limiter counts: the process's
// recorder is shared by every test of this binary, and others enter penalty stages at the same
// time, so deltas read from it would count theirs too. One test for both stores, one after the
// other, so that each delta is that store's alone.
#[test]
fn each_penalty_stage_is_counted_when_a_client_enters_it() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test");
    ::metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            assert_eq!(
                escalate(Backend::Memory, &handle).await,
                [1, 1, 1],
                "memory"
            );
            assert_eq!(escalate(Backend::Redis, &handle).await, [1, 1, 1], "redis");
        });
    });
}
