//! Live statistics of every event, read from the store about once a second on each instance.
//!
//! One poll serves three readers: the per-event Prometheus gauges, the admin API's rates (joins
//! and admissions per second), and the dashboard's stream. Its cost is a few store reads a second
//! per instance for every event someone waits in or is admitted to, whatever the number of
//! shoppers or of dashboards open. An event at rest (nobody waiting or admitted) is read again
//! only when its activity number moves (a join, a leave, an operator's change, on any instance)
//! or after [`KEEP_MS`](crate::store::known_settings::KEEP_MS) (a closed event after
//! [`CLOSED_KEEP_MS`](crate::store::known_settings::CLOSED_KEEP_MS)).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::admission::checkout_health::{CheckoutHealthMeter, HealthReading};
use crate::clock::{Clock, UnixMillis, to_rfc3339};
use crate::domain::{EventConfig, EventId, EventStats, OperatorStatus, Sku, event_status};
use crate::queue::backoff::effective_per_second;
use crate::store::known_settings::{KeptByActivity, is_closed};
use crate::store::{QueueStore, StoreError};
use crate::telemetry::metrics as m;

/// How long the rates are measured over.
const RATE_WINDOW_MS: i64 = 5_000;

/// One event as the dashboard and the gauges see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventLive {
    /// The event id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status now (`open`, `paused`, …).
    pub status: &'static str,
    /// When it starts.
    pub starts_at: String,
    /// The configured outflow, shoppers per second.
    pub outflow_set_per_second: f64,
    /// The outflow in force: the set one, or lower while it follows an unhealthy checkout.
    pub outflow_effective_per_second: f64,
    /// The outflow achieved over the last seconds (`None` until measured).
    pub outflow_actual_per_second: Option<f64>,
    /// The checkout's health the outflow follows, when the event has a target, as this
    /// instance judges it (`None`: no target, or no figures yet).
    pub checkout_health: Option<HealthReading>,
    /// Joins per second over the last seconds (`None` until measured).
    pub joins_per_second: Option<f64>,
    /// The cap on admitted, unfinished shoppers.
    pub max_active: Option<u32>,
    /// The hash of the draw's seed.
    pub seed_hash: String,
    /// The seed, once drawn.
    pub seed: Option<String>,
    /// The store's counters and stock.
    pub stats: EventStats,
}

/// Every event at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsFrame {
    /// When it was read (RFC 3339).
    pub at: String,
    /// The events, by id.
    pub events: Vec<EventLive>,
}

/// Recent `(time, joined, admitted)` samples of one event.
type Samples = VecDeque<(UnixMillis, u64, u64)>;

/// The poll and its latest frame.
pub struct LiveStats {
    store: Arc<dyn QueueStore>,
    clock: Arc<dyn Clock>,
    checkout_health: Arc<CheckoutHealthMeter>,
    frames: watch::Sender<Arc<StatsFrame>>,
    samples: Mutex<HashMap<EventId, Samples>>,
    /// Settings and counters of events found at rest.
    at_rest: KeptByActivity<(EventConfig, EventStats)>,
}

impl LiveStats {
    /// A poll of `store` (and of this instance's `checkout_health`), with no frame yet.
    pub fn new(
        store: Arc<dyn QueueStore>,
        clock: Arc<dyn Clock>,
        checkout_health: Arc<CheckoutHealthMeter>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            checkout_health,
            frames: watch::Sender::new(Arc::new(StatsFrame::default())),
            samples: Mutex::new(HashMap::new()),
            at_rest: KeptByActivity::default(),
        })
    }

    /// A receiver of every new frame.
    pub fn subscribe(&self) -> watch::Receiver<Arc<StatsFrame>> {
        self.frames.subscribe()
    }

    /// The latest frame.
    pub fn latest(&self) -> Arc<StatsFrame> {
        self.frames.borrow().clone()
    }

    /// The latest figures of `event`, if it was in the last frame.
    pub fn event(&self, event: &EventId) -> Option<EventLive> {
        self.latest()
            .events
            .iter()
            .find(|live| live.id == event.as_str())
            .cloned()
    }

    /// Polls every `every` until `stop` becomes `true`.
    pub async fn run(self: Arc<Self>, every: Duration, stop: watch::Receiver<bool>) {
        let mut beat = crate::clock::Every::new(every, stop);
        while beat.tick().await {
            if let Err(error) = self.poll().await {
                tracing::warn!(%error, "live statistics: the store did not answer");
            }
        }
    }

    /// Reads every event once, updates the gauges and publishes a frame.
    pub async fn poll(&self) -> Result<Arc<StatsFrame>, StoreError> {
        let mut events = Vec::new();
        let activity = self.store.activity().await?;
        for id in self.store.event_ids().await? {
            let Some((config, stats)) = self.read(&id, activity.get(&id).copied()).await? else {
                continue;
            };
            // Only an event with a target has its outflow moved (removing the target returns it
            // to the set rate at once), so an idle event costs no read here.
            let followed = match config.checkout_target {
                Some(_) => self.store.followed_outflow(&id).await?,
                None => None,
            };
            let now = self.clock.now_ms();
            let (joins, admissions) = self.rates(&id, now, &stats);
            let live = EventLive {
                id: id.to_string(),
                name: config.name.clone(),
                status: event_status(&config, stats.units_left(), now).as_str(),
                starts_at: to_rfc3339(config.starts_at),
                outflow_set_per_second: config.outflow_per_second(),
                outflow_effective_per_second: effective_per_second(&config, followed),
                outflow_actual_per_second: admissions,
                checkout_health: config
                    .checkout_target
                    .and_then(|_| self.checkout_health.reading(&id, now)),
                joins_per_second: joins,
                max_active: config.max_active,
                seed_hash: config.seed_hash.clone(),
                seed: stats.drawn.then(|| config.seed.clone()),
                stats,
            };
            export(&config, &live);
            events.push(live);
        }
        let frame = Arc::new(StatsFrame {
            at: to_rfc3339(self.clock.now_ms()),
            events,
        });
        self.frames.send_replace(frame.clone());
        Ok(frame)
    }

    /// An event's settings and counters: as last read while it rests and its activity number
    /// has not moved, else from the store.
    async fn read(
        &self,
        id: &EventId,
        activity: Option<u64>,
    ) -> Result<Option<(EventConfig, EventStats)>, StoreError> {
        let now = self.clock.now_ms();
        if let Some(kept) = self
            .at_rest
            .get(id, activity, now, |(config, _)| is_closed(config))
        {
            return Ok(Some(kept));
        }
        let (Some(config), Some(stats)) =
            (self.store.event(id).await?, self.store.stats(id).await?)
        else {
            return Ok(None);
        };
        if stats.queue_length == 0 && stats.active == 0 {
            self.at_rest
                .keep(id, activity, now, (config.clone(), stats.clone()));
        } else {
            self.at_rest.forget(id);
        }
        Ok(Some((config, stats)))
    }

    /// Joins and admissions per second over the rate window, once it holds two samples.
    fn rates(
        &self,
        event: &EventId,
        now: UnixMillis,
        stats: &EventStats,
    ) -> (Option<f64>, Option<f64>) {
        let Ok(mut all) = self.samples.lock() else {
            return (None, None);
        };
        let samples = all.entry(event.clone()).or_default();
        samples.push_back((now, stats.joined, stats.admitted));
        while samples.len() > 2
            && samples
                .front()
                .is_some_and(|(at, ..)| now - at > RATE_WINDOW_MS)
        {
            samples.pop_front();
        }
        match (samples.front(), samples.back()) {
            (Some(&(from, joined0, admitted0)), Some(&(to, joined1, admitted1))) if to > from => {
                let seconds = (to - from) as f64 / 1000.0;
                let per_second = |a: u64, b: u64| Some(b.saturating_sub(a) as f64 / seconds);
                (
                    per_second(joined0, joined1),
                    per_second(admitted0, admitted1),
                )
            }
            _ => (None, None),
        }
    }
}

/// Sets the per-event Prometheus series.
fn export(config: &EventConfig, live: &EventLive) {
    let event = live.id.clone();
    let stats = &live.stats;
    let gauge = |name: &'static str, value: f64| {
        metrics::gauge!(name, "event" => event.clone()).set(value);
    };
    gauge(m::QUEUE_LENGTH, stats.queue_length as f64);
    gauge(m::ACTIVE, stats.active as f64);
    gauge(m::SERVING, stats.serving as f64);
    gauge(m::OUTFLOW_SET, live.outflow_set_per_second);
    gauge(m::OUTFLOW_EFFECTIVE, live.outflow_effective_per_second);
    gauge(
        m::OUTFLOW_ACTUAL,
        live.outflow_actual_per_second.unwrap_or(0.0),
    );
    gauge(m::INFLOW, live.joins_per_second.unwrap_or(0.0));
    gauge(
        m::PAUSED,
        f64::from(u8::from(config.operator_status == OperatorStatus::Paused)),
    );
    let counter = |name: &'static str, value: u64| {
        metrics::counter!(name, "event" => event.clone()).absolute(value);
    };
    // From zero, so that `increase()` sees an event's first change of the followed outflow.
    for direction in ["down", "up"] {
        metrics::counter!(m::OUTFLOW_FOLLOW_CHANGES, "event" => event.clone(), "direction" => direction)
            .increment(0);
    }
    counter(m::JOINS, stats.joined);
    counter(m::ADMISSIONS, stats.admitted);
    counter(m::ABANDONED, stats.abandoned);
    for (state, count) in [
        ("reserved", stats.orders_reserved),
        ("paid", stats.orders_paid),
        ("expired", stats.orders_expired),
    ] {
        metrics::counter!(m::ORDERS, "event" => event.clone(), "state" => state).absolute(count);
    }
    per_sku(&event, &stats.sold, |labels, units| {
        metrics::counter!(m::UNITS_SOLD, &labels).absolute(units);
    });
    per_sku(&event, &stats.stock_left, |labels, units| {
        metrics::gauge!(m::UNITS_LEFT, &labels).set(units as f64);
    });
}

fn per_sku(
    event: &str,
    units: &BTreeMap<Sku, u64>,
    mut record: impl FnMut([(&'static str, String); 2], u64),
) {
    for (sku, count) in units {
        record(
            [("event", event.to_owned()), ("sku", sku.to_string())],
            *count,
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::{Identity, TicketId};
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn joins_per_second_are_measured_between_polls_on_the_stores_clock() {
        let clock = ManualClock::new(1_800_000_000_000);
        let store: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
        let mut sale = crate::config::demo_event(clock.now_ms()).unwrap();
        sale.starts_at = clock.now_ms() - 1_000;
        store.create_event(&sale).await.unwrap();
        let live = LiveStats::new(store.clone(), Arc::new(clock.clone()), Default::default());
        let first = live.poll().await.unwrap();
        assert_eq!(
            first.events[0].joins_per_second, None,
            "one sample is no rate"
        );

        for n in 0..10 {
            let shopper = Identity::user(&format!("shopper-{n}")).unwrap();
            store
                .join(&sale.id, &shopper, TicketId::random())
                .await
                .unwrap();
        }
        clock.advance_ms(2_000);
        let second = live.poll().await.unwrap();

        let event = &second.events[0];
        assert_eq!(event.joins_per_second, Some(5.0));
        assert_eq!(event.stats.joined, 10);
        assert_eq!(event.status, "open");
        assert_eq!(live.event(&sale.id).unwrap().joins_per_second, Some(5.0));
    }
}
