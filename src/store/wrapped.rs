//! A store wrapped in something that watches its calls: the one place that lists every store
//! operation for the wrappers (the metrics' timings in production, the call counts of the tests).
//!
//! A wrapper says what it does around one call in [`AroundCall`]; [`Wrapped`] forwards each
//! operation of [`QueueStore`] to the inner store through it, named and with the work it asks
//! for, so a new operation is forwarded by every wrapper once it is added here.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;

use super::{QueueStore, Removal, StoreError};
use crate::clock::UnixMillis;
use crate::domain::{
    Claim, ClaimOutcome, DrainNotice, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest,
    EventChange, EventConfig, EventId, EventStats, Identity, JoinOutcome, Order, OrderId,
    PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest, Ticket, TicketId, WindowPage,
};
use crate::queue::backoff::FollowedOutflow;

/// What a wrapper does around each call of the store it wraps.
pub trait AroundCall: Send + Sync + 'static {
    /// Runs `call`, the operation `operation` (`"join"`, `"drain"`, …) asking for `work` units
    /// of the store's work: a `touch` of N identities is N, a `presence` report one (the
    /// instance's heartbeat) plus one per identity it names, every other call one.
    fn around<T: Send>(
        &self,
        operation: &'static str,
        work: u64,
        call: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> impl Future<Output = Result<T, StoreError>> + Send;

    /// Sees what a drain that succeeded gave (its admissions), after [`around`](Self::around).
    fn drained(&self, _outcome: &Option<DrainOutcome>) {}
}

/// `inner`, every call of which goes through `around`. Dereferences to the wrapper, so what it
/// measured is read off the store itself.
pub struct Wrapped<A> {
    inner: Arc<dyn QueueStore>,
    around: A,
}

impl<A: AroundCall> Wrapped<A> {
    /// `inner` with `around` around every call.
    pub fn new(inner: Arc<dyn QueueStore>, around: A) -> Self {
        Self { inner, around }
    }
}

impl<A> Deref for Wrapped<A> {
    type Target = A;

    fn deref(&self) -> &A {
        &self.around
    }
}

#[async_trait]
impl<A: AroundCall> QueueStore for Wrapped<A> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.around.around("ping", 1, self.inner.ping()).await
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        self.around.around("now", 1, self.inner.now()).await
    }

    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        let call = self.inner.create_event(config);
        self.around.around("create_event", 1, call).await
    }

    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        let call = self.inner.change_event(event, change);
        self.around.around("change_event", 1, call).await
    }

    async fn remove_event(&self, event: &EventId) -> Result<Removal, StoreError> {
        self.around
            .around("remove_event", 1, self.inner.remove_event(event))
            .await
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        self.around
            .around("event", 1, self.inner.event(event))
            .await
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        self.around
            .around("event_ids", 1, self.inner.event_ids())
            .await
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        self.around
            .around("activity", 1, self.inner.activity())
            .await
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        self.around
            .around("stats", 1, self.inner.stats(event))
            .await
    }

    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        let call = self.inner.join(event, identity, ticket_id);
        self.around.around("join", 1, call).await
    }

    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        let call = self.inner.ticket(event, identity, touch);
        self.around.around("ticket", 1, call).await
    }

    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        let call = self.inner.leave(event, identity, ticket_id);
        self.around.around("leave", 1, call).await
    }

    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        let call = self.inner.touch(event, identities);
        self.around
            .around("touch", identities.len() as u64, call)
            .await
    }

    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        let named = (report.opened.len() + report.closed.len()) as u64;
        let call = self.inner.presence(event, report);
        self.around.around("presence", 1 + named, call).await
    }

    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError> {
        self.around.around("draw", 1, self.inner.draw(event)).await
    }

    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        let call = self.inner.draw_page(event, request);
        self.around.around("draw_page", 1, call).await
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        let outcome = self
            .around
            .around("drain", 1, self.inner.drain(event))
            .await?;
        self.around.drained(&outcome);
        Ok(outcome)
    }

    async fn announce_drain(&self, notice: &DrainNotice) -> Result<(), StoreError> {
        self.around
            .around("announce_drain", 1, self.inner.announce_drain(notice))
            .await
    }

    fn drain_notices(&self) -> Option<tokio::sync::broadcast::Receiver<DrainNotice>> {
        self.inner.drain_notices()
    }

    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        let call = self.inner.reserve(event, request);
        self.around.around("reserve", 1, call).await
    }

    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        let call = self.inner.pay(event, identity, order);
        self.around.around("pay", 1, call).await
    }

    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError> {
        let call = self.inner.order(event, order);
        self.around.around("order", 1, call).await
    }

    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let call = self.inner.claim(event, claim);
        self.around.around("claim", 1, call).await
    }

    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        let call = self.inner.followed_outflow(event);
        self.around.around("followed_outflow", 1, call).await
    }

    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        let call = self.inner.follow_outflow(event, seen, next);
        self.around.around("follow_outflow", 1, call).await
    }

    async fn window_entrants(&self, event: &EventId) -> Result<BTreeMap<u64, u64>, StoreError> {
        let call = self.inner.window_entrants(event);
        self.around.around("window_entrants", 1, call).await
    }

    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError> {
        let call = self.inner.window_page(event, window, request);
        self.around.around("window_page", 1, call).await
    }
}
