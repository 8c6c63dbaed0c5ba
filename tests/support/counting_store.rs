//! A [`QueueStore`] that counts every call and the work it asks for, by operation, and passes it
//! on to a real store: the structural tests measure store work per tick with it, and the
//! push-delay tests read when each ticket was admitted by a drain.
//!
//! Work is what the store does, not how often it is asked: a `touch` of N identities is N, a
//! `presence` report is one (the instance's heartbeat) plus one per identity it names, every
//! other call is one. A batch of a thousand shoppers in one call is a thousand shoppers' work.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use waitroom::clock::UnixMillis;
use waitroom::domain::{
    Claim, ClaimOutcome, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest, EventChange,
    EventConfig, EventId, EventStats, Identity, JoinOutcome, Order, OrderId, PayOutcome,
    PresenceReport, ReserveOutcome, ReserveRequest, Ticket, TicketId,
};
use waitroom::queue::backoff::FollowedOutflow;
use waitroom::store::{QueueStore, StoreError};

/// Counts calls and work per operation name (`"drain"`, `"ticket"`, …) on the way to `inner`.
pub struct CountingStore {
    inner: Arc<dyn QueueStore>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    work: Mutex<BTreeMap<&'static str, u64>>,
    admitted: Mutex<HashMap<TicketId, Instant>>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn QueueStore>) -> Self {
        Self {
            inner,
            calls: Mutex::new(BTreeMap::new()),
            work: Mutex::new(BTreeMap::new()),
            admitted: Mutex::new(HashMap::new()),
        }
    }

    /// Identities named in presence reports so far: the store's work that follows sockets.
    pub fn reported_identities(&self) -> u64 {
        self.work("presence") - self.calls("presence")
    }

    /// When a drain through this store admitted `ticket`.
    pub fn admitted_at(&self, ticket: TicketId) -> Option<Instant> {
        self.admitted.lock().unwrap().get(&ticket).copied()
    }

    /// Calls of `operation` so far.
    pub fn calls(&self, operation: &str) -> u64 {
        self.calls
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Every count of calls so far.
    pub fn all_calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().unwrap().clone()
    }

    /// Work asked of `operation` so far (see the module's note).
    pub fn work(&self, operation: &str) -> u64 {
        self.work
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Every count of work so far.
    pub fn all_work(&self) -> BTreeMap<&'static str, u64> {
        self.work.lock().unwrap().clone()
    }

    fn count(&self, operation: &'static str) {
        self.count_work(operation, 1);
    }

    fn count_work(&self, operation: &'static str, work: u64) {
        *self.calls.lock().unwrap().entry(operation).or_insert(0) += 1;
        *self.work.lock().unwrap().entry(operation).or_insert(0) += work;
    }
}

#[async_trait]
impl QueueStore for CountingStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.count("ping");
        self.inner.ping().await
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        self.count("now");
        self.inner.now().await
    }

    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        self.count("create_event");
        self.inner.create_event(config).await
    }

    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        self.count("change_event");
        self.inner.change_event(event, change).await
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        self.count("event");
        self.inner.event(event).await
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        self.count("event_ids");
        self.inner.event_ids().await
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        self.count("activity");
        self.inner.activity().await
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        self.count("stats");
        self.inner.stats(event).await
    }

    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        self.count("join");
        self.inner.join(event, identity, ticket_id).await
    }

    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        self.count("ticket");
        self.inner.ticket(event, identity, touch).await
    }

    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        self.count("leave");
        self.inner.leave(event, identity, ticket_id).await
    }

    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        self.count_work("touch", identities.len() as u64);
        self.inner.touch(event, identities).await
    }

    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        let named = (report.opened.len() + report.closed.len()) as u64;
        self.count_work("presence", 1 + named);
        self.inner.presence(event, report).await
    }

    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError> {
        self.count("draw");
        self.inner.draw(event).await
    }

    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        self.count("draw_page");
        self.inner.draw_page(event, request).await
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        self.count("drain");
        let outcome = self.inner.drain(event).await?;
        let now = Instant::now();
        if let Some(outcome) = &outcome {
            let mut admitted = self.admitted.lock().unwrap();
            for admission in &outcome.admitted {
                admitted.insert(admission.ticket_id, now);
            }
        }
        Ok(outcome)
    }

    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        self.count("reserve");
        self.inner.reserve(event, request).await
    }

    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        self.count("pay");
        self.inner.pay(event, identity, order).await
    }

    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError> {
        self.count("order");
        self.inner.order(event, order).await
    }

    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        self.count("claim");
        self.inner.claim(event, claim).await
    }

    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        self.count("followed_outflow");
        self.inner.followed_outflow(event).await
    }

    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        self.count("follow_outflow");
        self.inner.follow_outflow(event, seen, next).await
    }

    async fn window_entrants(
        &self,
        event: &EventId,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        self.count("window_entrants");
        self.inner.window_entrants(event).await
    }

    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: waitroom::domain::DrawPageRequest,
    ) -> Result<Option<waitroom::domain::WindowPage>, StoreError> {
        self.count("window_page");
        self.inner.window_page(event, window, request).await
    }
}
