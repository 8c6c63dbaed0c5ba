//! One event's ticker on one instance: drains the queue a few times a second, publishes what it
//! saw to the event's sockets, and reports the pages open here to the store: a heartbeat, and who
//! opened or closed a page since the last report.
//!
//! Every instance runs one per event; the drain's arithmetic lives in the store, so N instances
//! admit exactly what one would. A failing store is logged and retried on the next tick.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::poll_watch::PollWatch;
use super::presence::Presence;
use super::rate::ServingRate;
use super::{OutflowSettings, OutflowSnapshot};
use crate::domain::{
    DrainNotice, DrainOutcome, EventId, EventStatus, Identity, InstanceId, PresenceReport,
};
use crate::queue::chance::{Departures, SaleOutlook};
use crate::queue::checkout_lag::{Channel, LagFigures, PurchaseLags};
use crate::store::{QueueStore, StoreError};

/// How long a ticker rests before a waiting page's ticket read counts as news of a join it was
/// never told: longer than the activity number's poll and the first retries of a bump.
pub const UNTOLD_AFTER: Duration = Duration::from_secs(5);

/// The channel an event's snapshots go out on, and the sockets it serves on this instance.
#[derive(Debug)]
pub struct EventFeed {
    /// The event.
    pub event: EventId,
    /// The latest snapshot; sockets hold receivers.
    pub snapshots: watch::Sender<OutflowSnapshot>,
    /// Identities with an open socket here, reported to the store as they open and close.
    pub presence: Arc<Presence>,
    /// This instance, as the store knows it.
    pub instance: InstanceId,
    /// Rung when an operator changes the event, or when it stirs while the ticker rests: the
    /// ticker re-reads its settings and drains at once, so no socket opened meanwhile is told an
    /// old status and no shopper waits for the end of a rest.
    pub wake: Notify,
    /// When the current rest began (see [`OutflowSettings::rest`]); `None` while the ticker is
    /// busy.
    pub rest_began: Mutex<Option<Instant>>,
    /// Something happened since the ticker last chose to rest.
    pub stirred: AtomicBool,
    /// How many statuses operators' changes have published here (see
    /// [`Self::operator_changed`]); a drain that started before the latest one may carry the
    /// status from before it.
    pub operator_statuses: AtomicU64,
    /// Rung when another instance's drain admitted shoppers of this event: the ticker drains at
    /// once, so sockets here whose shoppers it admitted learn it now.
    pub peer_drained: Notify,
    /// How long the shoppers who reserved here took from admission to checkout.
    pub purchase_lags: Mutex<PurchaseLags>,
    /// How the pages that poll here come back.
    pub poll_watch: Mutex<PollWatch>,
}

impl EventFeed {
    /// A feed with no snapshot yet.
    pub fn new(event: EventId, instance: InstanceId) -> Self {
        Self {
            event,
            snapshots: watch::Sender::new(OutflowSnapshot::default()),
            presence: Arc::new(Presence::default()),
            instance,
            wake: Notify::new(),
            rest_began: Mutex::new(None),
            stirred: AtomicBool::new(false),
            operator_statuses: AtomicU64::new(0),
            peer_drained: Notify::new(),
            purchase_lags: Mutex::new(PurchaseLags::default()),
            poll_watch: Mutex::new(PollWatch::default()),
        }
    }

    /// A shopper who heard of their admission over `channel` reached the checkout here
    /// `lag_ms` after it.
    pub fn reached_checkout(&self, channel: Channel, lag_ms: i64) {
        if let Ok(mut lags) = self.purchase_lags.lock() {
            lags.record(Instant::now().into_std(), channel, lag_ms);
        }
    }

    /// The page of a waiting `identity` read its ticket here. A ticker resting for longer than
    /// [`UNTOLD_AFTER`] wakes: someone waits whose join it was never told of (an instance that
    /// stopped before it bumped the event's activity number). A join told by its bump wakes the
    /// ticker sooner on its own, so a read just after a rest began changes nothing.
    pub fn ticket_read(&self, identity: &Identity) {
        let now = Instant::now();
        if let Ok(mut watch) = self.poll_watch.lock() {
            watch.read(identity, now.into_std());
        }
        if self
            .rest_began()
            .is_some_and(|began| now.duration_since(began) >= UNTOLD_AFTER)
        {
            self.stir();
        }
    }

    fn rest_began(&self) -> Option<Instant> {
        *self
            .rest_began
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_rest_began(&self, began: Option<Instant>) {
        *self
            .rest_began
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = began;
    }

    /// The times from admission to checkout measured here (see [`PurchaseLags`]), from what the
    /// waiting pages show until reservations are measured.
    fn lag_figures(&self) -> LagFigures {
        let now = Instant::now().into_std();
        let sockets = self.presence.len();
        let pages = match self.poll_watch.lock() {
            Ok(watch) => watch.pages(now, sockets),
            Err(poisoned) => poisoned.into_inner().pages(now, sockets),
        };
        match self.purchase_lags.lock() {
            Ok(lags) => lags.figures(now, pages),
            Err(poisoned) => poisoned.into_inner().figures(now, pages),
        }
    }

    /// An operator changed the event here: the status it makes (when known) is published at
    /// once, and the ticker re-reads the settings and drains without waiting for its tick. A
    /// drain already in flight keeps this status instead of the one it read before the change.
    pub fn operator_changed(&self, status: Option<EventStatus>) {
        if status.is_some() {
            self.operator_statuses.fetch_add(1, Ordering::SeqCst);
            self.snapshots.send_if_modified(|snapshot| {
                let before = snapshot.status;
                snapshot.status = status;
                before != status
            });
        }
        // A permit is kept when the ticker is mid-tick, so the change is never missed.
        self.wake.notify_one();
    }

    /// Wakes the ticker if it rests; a busy ticker looks soon enough on its own.
    pub fn stir(&self) {
        // Paired with `run_ticker`, which marks its rest under the lock before it looks at
        // `stirred`: the lock orders the two marks, so either it sees `stirred`, or this sees the
        // rest and wakes it.
        self.stirred.store(true, Ordering::SeqCst);
        if self.rest_began().is_some() {
            self.wake.notify_one();
        }
    }
}

/// Whether the ticker goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// Tick again.
    Continue,
    /// The event is closed or gone: the ticker stops.
    Finished,
}

/// The state of one event's ticker between ticks.
pub struct Ticker {
    store: Arc<dyn QueueStore>,
    feed: Arc<EventFeed>,
    settings: OutflowSettings,
    rate: ServingRate,
    /// How fast waiting shoppers leave, for the chance of success.
    departures: Departures,
    next_refresh: Instant,
    /// The next heartbeat is due then.
    next_beat: Instant,
    beat_every: Duration,
    /// Opened pages are told no sooner than this (closed ones with the next heartbeat).
    next_report: Instant,
    failures: u64,
    /// The next drain answers another instance's notice: it tells nobody in turn, or the
    /// instances would wake each other without end.
    answering_peer: bool,
}

impl Ticker {
    /// A ticker that refreshes and reports at its first tick.
    pub fn new(
        store: Arc<dyn QueueStore>,
        feed: Arc<EventFeed>,
        settings: OutflowSettings,
    ) -> Self {
        let now = Instant::now();
        Self {
            store,
            feed,
            rate: ServingRate::new(settings.rate_window),
            departures: Departures::default(),
            settings,
            next_refresh: now,
            next_beat: now,
            beat_every: beat_interval(0),
            next_report: now,
            failures: 0,
            answering_peer: false,
        }
    }

    /// One tick at `now`: refresh the event's settings when due, drain, report when due.
    pub async fn tick(&mut self, now: Instant) -> TickOutcome {
        if now >= self.next_refresh {
            self.next_refresh = now + self.settings.refresh;
            if self.refresh().await == TickOutcome::Finished {
                return TickOutcome::Finished;
            }
        }
        let statuses_before = self.feed.operator_statuses.load(Ordering::SeqCst);
        let drained = self.store.drain(&self.feed.event).await;
        let outcome = match drained {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return TickOutcome::Finished,
            Err(error) => {
                self.failed("drain", &error);
                return TickOutcome::Continue;
            }
        };
        self.recovered();
        let answering_peer = std::mem::take(&mut self.answering_peer);
        if !outcome.admitted.is_empty() && !answering_peer {
            self.announce();
        }
        metrics::counter!("waitroom_outflow_drains_total").increment(1);
        metrics::counter!("waitroom_outflow_admitted_total")
            .increment(outcome.admitted.len() as u64);
        metrics::counter!("waitroom_outflow_abandoned_total").increment(outcome.abandoned);
        let closed = outcome.status == Some(EventStatus::Closed);
        let stale_status = self.feed.operator_statuses.load(Ordering::SeqCst) != statuses_before;
        self.publish(now, outcome, stale_status);
        if closed {
            return TickOutcome::Finished;
        }
        let opened_due = now >= self.next_report && self.feed.presence.has_opened();
        // With no page open here and nothing to tell, there is nobody to keep: no heartbeat.
        let holds = !self.feed.presence.is_empty() || self.feed.presence.has_changes();
        if (now >= self.next_beat && holds) || opened_due {
            self.report(now).await;
        }
        TickOutcome::Continue
    }

    /// How long to wait before the next tick: short while anyone waits or watches, longer while
    /// admitted shoppers are still to finish or the store fails, a rest when nothing can change
    /// without someone touching the event.
    pub fn delay(&self) -> Duration {
        let snapshot = self.feed.snapshots.borrow();
        let busy = snapshot.queue_length > 0
            || self.feed.snapshots.receiver_count() > 0
            || !self.feed.presence.is_empty()
            || self.feed.presence.has_changes();
        if busy {
            self.settings.tick
        } else if snapshot.active > 0 || snapshot.tick == 0 || self.failures > 0 {
            self.settings.idle_tick
        } else {
            self.settings.rest
        }
    }

    /// Re-reads the settings (rate, burst, grace period) and the counters the drain does not give.
    async fn refresh(&mut self) -> TickOutcome {
        let event = &self.feed.event;
        let config = match self.store.event(event).await {
            Ok(Some(config)) => config,
            Ok(None) => return TickOutcome::Finished,
            Err(error) => {
                self.failed("event", &error);
                return TickOutcome::Continue;
            }
        };
        self.beat_every = beat_interval(config.abandon_after_seconds);
        // A shorter grace period takes effect at once, not after the beat already planned.
        self.next_beat = self.next_beat.min(Instant::now() + self.beat_every);
        let stats = match self.store.stats(event).await {
            Ok(stats) => stats,
            Err(error) => {
                self.failed("stats", &error);
                None
            }
        };
        self.feed.snapshots.send_if_modified(|snapshot| {
            snapshot.outflow_per_second = config.outflow_per_second();
            snapshot.outflow_burst = config.outflow_burst;
            snapshot.config = Some(Arc::new(config.clone()));
            if let Some(stats) = &stats {
                snapshot.last_score = Some(snapshot.last_score.unwrap_or(0).max(stats.last_score));
                snapshot.drawn |= stats.drawn;
                let leaving = self
                    .departures
                    .per_second(stats.left.saturating_add(stats.abandoned));
                // The line moves at the measured pace when there is one: a followed checkout or
                // a cap slows it below the configured rate, and more leave over a longer wait.
                snapshot.outlook = Some(
                    SaleOutlook::of(stats)
                        .with_leaving(leaving, snapshot.effective_rate())
                        .with_lags(self.feed.lag_figures()),
                );
            }
            // Settings alone do not move anyone's position: sockets are not woken for them.
            false
        });
        TickOutcome::Continue
    }

    /// Publishes a drain, waking sockets only when something they show has changed.
    /// With `stale_status`, an operator changed the event while the drain ran: the status the
    /// change published stands until the next drain (which the change's wake-up makes at once).
    fn publish(&mut self, now: Instant, outcome: DrainOutcome, stale_status: bool) {
        self.rate.record(now, outcome.serving, outcome.queue_length);
        self.departures
            .drained(now.into_std(), outcome.queue_length);
        let measured = self.rate.per_second();
        self.feed.snapshots.send_if_modified(|snapshot| {
            let before = (snapshot.serving, snapshot.status, snapshot.drawn);
            let status_told = snapshot.status;
            snapshot.apply_drain(outcome);
            if stale_status {
                snapshot.status = status_told;
            }
            snapshot.serving_per_second = measured;
            let after = (snapshot.serving, snapshot.status, snapshot.drawn);
            snapshot.tick == 1 || before != after || !snapshot.admitted.is_empty()
        });
    }

    /// Tells the other instances that this drain admitted shoppers, without waiting for it: a
    /// notice is only a speed-up.
    fn announce(&self) {
        let store = Arc::clone(&self.store);
        let notice = DrainNotice {
            instance: self.feed.instance.clone(),
            event: self.feed.event.clone(),
        };
        tokio::spawn(async move {
            if let Err(error) = store.announce_drain(&notice).await {
                tracing::debug!(event = %notice.event, %error, "outflow ticker: cannot announce a drain");
            }
        });
    }

    /// Tells the store this instance is alive, and which pages opened and closed here since the
    /// last report: one call whatever the number of sockets (the store splits big reports).
    async fn report(&mut self, now: Instant) {
        let changes = self.feed.presence.take_changes();
        let report = PresenceReport {
            instance: self.feed.instance.clone(),
            opened: changes.opened.clone(),
            closed: changes.closed.clone(),
        };
        match self.store.presence(&self.feed.event, &report).await {
            Ok(()) => {
                self.feed.presence.confirm(changes);
                self.next_beat = now + self.beat_every;
                self.next_report = now + self.settings.report_changes;
            }
            Err(error) => {
                self.feed.presence.restore(changes);
                self.failed("presence", &error);
                // Try again at the next tick rather than wait a whole interval.
                self.next_beat = Instant::now();
            }
        }
    }

    fn failed(&mut self, operation: &'static str, error: &StoreError) {
        self.failures += 1;
        metrics::counter!("waitroom_outflow_store_errors_total", "operation" => operation)
            .increment(1);
        // The first failure and then one in a hundred: a store outage must not flood the log.
        if self.failures % 100 == 1 {
            tracing::warn!(
                event = %self.feed.event, operation, %error, failures = self.failures,
                "outflow ticker: store call failed; retrying"
            );
        }
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            tracing::info!(event = %self.feed.event, failures = self.failures, "outflow ticker: store answers again");
            self.failures = 0;
        }
    }
}

/// How often an instance sends its heartbeat: a quarter of the grace period, between 1 and 15
/// seconds, so three heartbeats can fail in a row before a shopper with an open page could lose
/// the place. With abandonment off (a grace period of zero) every 15 s: opened and closed pages
/// are still told, so turning abandonment on later finds them held.
pub fn beat_interval(abandon_after_seconds: u32) -> Duration {
    if abandon_after_seconds == 0 {
        return Duration::from_secs(15);
    }
    Duration::from_millis(u64::from(abandon_after_seconds) * 250)
        .clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// Runs a ticker until its event closes or `stop` turns true.
pub async fn run_ticker(mut ticker: Ticker, mut stop: watch::Receiver<bool>) {
    loop {
        let started = Instant::now();
        if ticker.tick(started).await == TickOutcome::Finished {
            tracing::info!(event = %ticker.feed.event, "outflow ticker stops: the event is closed or gone");
            return;
        }
        let feed = Arc::clone(&ticker.feed);
        let mut delay = ticker.delay();
        if delay >= ticker.settings.rest {
            feed.set_rest_began(Some(started));
            if feed.stirred.swap(false, Ordering::SeqCst) {
                // Stirred since the drain: look again soon instead.
                delay = ticker.settings.tick;
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(started + delay) => {}
            () = feed.wake.notified() => ticker.next_refresh = Instant::now(),
            () = feed.peer_drained.notified() => ticker.answering_peer = true,
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        feed.set_rest_began(None);
        feed.stirred.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_beats_four_times_per_grace_period_within_bounds() {
        assert_eq!(beat_interval(60), Duration::from_secs(15));
        assert_eq!(beat_interval(20), Duration::from_secs(5));
        assert_eq!(beat_interval(2), Duration::from_secs(1));
        assert_eq!(beat_interval(3600), Duration::from_secs(15));
    }

    #[test]
    fn an_instance_beats_slowly_when_abandonment_is_off() {
        assert_eq!(beat_interval(0), Duration::from_secs(15));
    }
}
