//! Samples the event's public state while the sale runs: the queue length over time for the
//! report, and the status that tells every journey when the sale is over.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::api::Api;
use crate::clock::RunClock;
use crate::recorder::Actor;
use crate::sale::SaleSignal;

/// The public state at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSample {
    /// When it was read (Unix ms).
    pub at_ms: i64,
    /// `queue_length`.
    pub queue_length: Option<u64>,
    /// `serving`.
    pub serving: Option<u64>,
    /// `status`.
    pub status: Option<String>,
}

/// Reads `GET /v1/events/{event}` every `interval` until the run stops, publishing the status.
pub async fn sample_queue(
    api: Api,
    event: String,
    clock: RunClock,
    interval: Duration,
    signal: Arc<watch::Sender<SaleSignal>>,
) -> Vec<QueueSample> {
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !signal.borrow().stop {
        ticks.tick().await;
        let Ok(reply) = api.event_state(Actor::Shopper, &event).await else {
            continue;
        };
        if !reply.is_success() {
            continue;
        }
        let sample = QueueSample {
            at_ms: clock.now_ms(),
            queue_length: reply.body.get("queue_length").and_then(Value::as_u64),
            serving: reply.body.get("serving").and_then(Value::as_u64),
            status: reply.text("status").map(str::to_owned),
        };
        if let Some(length) = sample.queue_length {
            api.recorder()
                .live
                .queue_length
                .store(length, Ordering::Relaxed);
        }
        signal.send_if_modified(|current| {
            let changed = sample.status.is_some() && current.status != sample.status;
            if changed {
                current.status.clone_from(&sample.status);
            }
            changed
        });
        samples.push(sample);
    }
    samples
}
