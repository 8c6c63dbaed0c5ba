//! The tickers of one instance: one per event that is not closed, found by reading the store's
//! event list now and then and started at once when a socket asks for an event not running yet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{broadcast, watch};

use super::presence::{Presence, PresenceGuard};
use super::ticker::{EventFeed, Ticker, run_ticker};
use super::{OutflowSettings, OutflowSnapshot};
use crate::domain::{DrainNotice, EventId, EventStatus, Identity, InstanceId};
use crate::queue::checkout_lag::Channel;
use crate::store::known_settings::{KeptByActivity, is_closed};
use crate::store::{QueueStore, StoreError};

/// Every event's ticker on this instance. Every instance runs one registry; the store makes that
/// safe.
pub struct OutflowRegistry {
    store: Arc<dyn QueueStore>,
    settings: OutflowSettings,
    /// The running tickers' feeds by event.
    feeds: Mutex<HashMap<EventId, Arc<EventFeed>>>,
    /// Turns true once at shutdown: tickers stop, sockets say goodbye.
    stopping: watch::Sender<bool>,
    /// This instance in the store's presence records; new with every process.
    instance: InstanceId,
    /// Events found closed, kept with their activity number then: discovery reads such an event
    /// again only when its number moved (an operator reopened it) or after
    /// [`CLOSED_KEEP_MS`](crate::store::known_settings::CLOSED_KEEP_MS).
    closed: KeptByActivity<()>,
    /// The zero of the times `closed` is kept by (the runtime's clock, which tests pause).
    epoch: tokio::time::Instant,
}

/// What a socket holds of its event's ticker.
#[derive(Debug)]
pub struct Subscription {
    /// The event's latest snapshot.
    pub snapshots: watch::Receiver<OutflowSnapshot>,
    /// True once the instance shuts down.
    pub stopping: watch::Receiver<bool>,
    presence: Arc<Presence>,
}

impl Subscription {
    /// Keeps `identity` held by this instance (seen while it lives) until the guard is dropped.
    pub fn enter(&self, identity: Identity) -> PresenceGuard {
        self.presence.enter(identity)
    }
}

impl OutflowRegistry {
    /// A registry with no ticker running yet.
    pub fn new(store: Arc<dyn QueueStore>, settings: OutflowSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            feeds: Mutex::new(HashMap::new()),
            stopping: watch::Sender::new(false),
            instance: InstanceId::random(),
            closed: KeptByActivity::default(),
            epoch: tokio::time::Instant::now(),
        })
    }

    /// This instance as the store's presence records know it.
    pub fn instance(&self) -> &InstanceId {
        &self.instance
    }

    /// Subscribes to an event's snapshots, starting its ticker if needed; `None` when there is no
    /// such event.
    pub async fn subscribe(
        self: &Arc<Self>,
        event: &EventId,
    ) -> Result<Option<Subscription>, StoreError> {
        let feed = match self.running(event) {
            Some(feed) => feed,
            None => {
                if self.store.event(event).await?.is_none() {
                    return Ok(None);
                }
                // A closed event gets a ticker too: its one drain tells the socket it is closed.
                self.start(event)
            }
        };
        Ok(Some(Subscription {
            snapshots: feed.snapshots.subscribe(),
            stopping: self.stopping.subscribe(),
            presence: Arc::clone(&feed.presence),
        }))
    }

    /// Starts the event's ticker here unless one runs (an event just created on this instance
    /// need not wait for the next discovery).
    pub fn ensure_running(self: &Arc<Self>, event: &EventId) {
        self.start(event);
    }

    /// Tells the event's ticker here that its settings changed, making its status `status` when
    /// known: the snapshot tells sockets that status at once, and the ticker refreshes and drains
    /// now. Other instances see the change at their next refresh.
    pub fn changed(&self, event: &EventId, status: Option<EventStatus>) {
        if let Some(feed) = self.running(event) {
            feed.operator_changed(status);
        }
    }

    /// A shopper reserved (or found their SKU sold out) in the event here, `lag_ms` after their
    /// admission: the chance of success shown to those still waiting takes it into account.
    pub fn reached_checkout(&self, event: &EventId, channel: Channel, lag_ms: i64) {
        if let Some(feed) = self.running(event) {
            feed.reached_checkout(channel, lag_ms);
        }
    }

    /// The page of a waiting `identity` read its ticket in the event here (a poll).
    pub fn ticket_read(&self, event: &EventId, identity: &Identity) {
        if let Some(feed) = self.running(event) {
            feed.ticket_read(identity);
        }
    }

    /// Something happened to the event (its activity number moved): its ticker here wakes if it
    /// rests.
    pub fn stir(&self, event: &EventId) {
        if let Some(feed) = self.running(event) {
            feed.stir();
        }
    }

    /// The latest snapshot of an event whose ticker runs here.
    pub fn snapshot(&self, event: &EventId) -> Option<OutflowSnapshot> {
        self.running(event)
            .map(|feed| feed.snapshots.borrow().clone())
    }

    /// Events whose ticker runs here.
    pub fn running_events(&self) -> Vec<EventId> {
        let mut events: Vec<EventId> = self.lock().keys().cloned().collect();
        events.sort();
        events
    }

    /// Reads the store's events once and starts a ticker for each one that is neither closed nor
    /// running; returns how many it started. An event found closed is not read again until its
    /// activity number moves or [`CLOSED_KEEP_MS`](crate::store::known_settings::CLOSED_KEEP_MS) has passed: old sales cost nothing.
    pub async fn discover(self: &Arc<Self>) -> Result<usize, StoreError> {
        // Without the numbers every event is read, as before any was found closed.
        let numbers = self.store.activity().await.unwrap_or_default();
        let ids = self.store.event_ids().await?;
        let now = i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mut started = 0;
        for event in &ids {
            let number = numbers.get(event).copied();
            let known_closed = self.closed.get(event, number, now, |_| true).is_some();
            if known_closed || self.running(event).is_some() {
                continue;
            }
            let Some(config) = self.store.event(event).await? else {
                continue;
            };
            if is_closed(&config) {
                self.closed.keep(event, number, now, ());
            } else {
                self.closed.forget(event);
                self.start(event);
                started += 1;
            }
        }
        self.closed.retain(&ids);
        Ok(started)
    }

    /// Discovers events every `settings.discover` until [`shutdown`](Self::shutdown), then lets
    /// the tickers stop.
    /// Meanwhile reads the store's activity numbers every `settings.activity_poll` and stirs the
    /// tickers of events that moved, so a join through another instance wakes a resting ticker
    /// here within that time.
    pub async fn run(self: Arc<Self>) {
        if let Some(notices) = self.store.drain_notices() {
            tokio::spawn(Arc::clone(&self).follow_drains(notices));
        }
        let mut stopping = self.stopping.subscribe();
        let mut next_discovery = tokio::time::Instant::now();
        let mut seen: Option<HashMap<EventId, u64>> = None;
        loop {
            let now = tokio::time::Instant::now();
            if now >= next_discovery {
                next_discovery = now + self.settings.discover;
                if let Err(error) = self.discover().await {
                    tracing::warn!(%error, "outflow: cannot read the event list; retrying");
                }
            }
            match self.store.activity().await {
                Ok(numbers) => {
                    if let Some(before) = &seen {
                        for (event, number) in &numbers {
                            if before.get(event) != Some(number) {
                                self.stir(event);
                            }
                        }
                    }
                    seen = Some(numbers);
                }
                Err(error) => tracing::debug!(%error, "outflow: cannot read the activity"),
            }
            let next = next_discovery.min(now + self.settings.activity_poll);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                _ = stopping.wait_for(|stopping| *stopping) => return,
            }
        }
    }

    /// Wakes the ticker here of each event another instance's drain admitted shoppers of, until
    /// [`shutdown`](Self::shutdown).
    async fn follow_drains(self: Arc<Self>, mut notices: broadcast::Receiver<DrainNotice>) {
        let mut stopping = self.stopping.subscribe();
        loop {
            let notice = tokio::select! {
                notice = notices.recv() => notice,
                _ = stopping.wait_for(|stopping| *stopping) => return,
            };
            match notice {
                Ok(notice) if notice.instance != self.instance => {
                    if let Some(feed) = self.running(&notice.event) {
                        feed.peer_drained.notify_one();
                    }
                }
                // This instance's own notice, or notices missed while behind: the tickers'
                // own drains cover those.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Stops every ticker and tells every socket the instance is going away.
    pub fn shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    fn running(&self, event: &EventId) -> Option<Arc<EventFeed>> {
        self.lock().get(event).cloned()
    }

    /// Starts the event's ticker unless one runs; returns the running feed either way.
    fn start(self: &Arc<Self>, event: &EventId) -> Arc<EventFeed> {
        let mut feeds = self.lock();
        if let Some(feed) = feeds.get(event) {
            return Arc::clone(feed);
        }
        let feed = Arc::new(EventFeed::new(event.clone(), self.instance.clone()));
        feeds.insert(event.clone(), Arc::clone(&feed));
        drop(feeds);
        tracing::info!(%event, "outflow ticker starts");
        let ticker = Ticker::new(
            Arc::clone(&self.store),
            Arc::clone(&feed),
            self.settings.clone(),
        );
        let registry = Arc::clone(self);
        let stop = self.stopping.subscribe();
        let stopped = Arc::clone(&feed);
        tokio::spawn(async move {
            run_ticker(ticker, stop).await;
            registry.forget(&stopped);
        });
        feed
    }

    /// Removes a stopped ticker's feed, unless a new one already replaced it.
    fn forget(&self, feed: &Arc<EventFeed>) {
        let mut feeds = self.lock();
        if feeds
            .get(&feed.event)
            .is_some_and(|running| Arc::ptr_eq(running, feed))
        {
            feeds.remove(&feed.event);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Arc<EventFeed>>> {
        // Each change to the map is one insert or remove: it is consistent even after a panic.
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
