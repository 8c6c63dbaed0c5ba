//! A [`QueueStore`] that times every call and counts every failure, whatever store it wraps.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics::Histogram;

use super::metrics::{STORE_DURATION, STORE_ERRORS};
use crate::clock::UnixMillis;
use crate::domain::{
    Claim, ClaimOutcome, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest, EventChange,
    EventConfig, EventId, EventStats, Identity, JoinOutcome, Order, OrderId, PayOutcome,
    PresenceReport, ReserveOutcome, ReserveRequest, Ticket, TicketId, WindowPage,
};
use crate::queue::backoff::FollowedOutflow;
use crate::store::{QueueStore, StoreError};

/// Wraps a store: `waitroom_store_operation_duration_seconds{operation}` and
/// `waitroom_store_errors_total{operation,kind}` for every call.
pub struct TimedStore {
    inner: Arc<dyn QueueStore>,
}

impl TimedStore {
    /// Times the calls made to `inner`.
    pub fn wrap(inner: Arc<dyn QueueStore>) -> Arc<dyn QueueStore> {
        Arc::new(TimedStore { inner })
    }
}

/// Runs one store call, recording its latency and, when it fails, its failure.
async fn timed<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    record_duration(operation, started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        let kind = match error {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Corrupt(_) => "corrupt",
        };
        metrics::counter!(STORE_ERRORS, "operation" => operation, "kind" => kind).increment(1);
    }
    result
}

thread_local! {
    /// Each worker thread's duration histograms by operation: a recorder lookup per call (a key
    /// hashed, a shared map read) would cost as much as a memory store's answer.
    static DURATIONS: RefCell<Vec<(&'static str, Histogram)>> = const { RefCell::new(Vec::new()) };
}

fn record_duration(operation: &'static str, seconds: f64) {
    // Handles are kept only once the process's recorder is in place: before, they are no-ops.
    if !super::metrics::installed() {
        metrics::histogram!(STORE_DURATION, "operation" => operation).record(seconds);
        return;
    }
    DURATIONS.with_borrow_mut(|durations| {
        if let Some((_, histogram)) = durations.iter().find(|(known, _)| *known == operation) {
            return histogram.record(seconds);
        }
        let histogram = metrics::histogram!(STORE_DURATION, "operation" => operation);
        histogram.record(seconds);
        durations.push((operation, histogram));
    });
}

#[async_trait]
impl QueueStore for TimedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", self.inner.ping()).await
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        timed("now", self.inner.now()).await
    }

    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        timed("create_event", self.inner.create_event(config)).await
    }

    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        timed("change_event", self.inner.change_event(event, change)).await
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        timed("event", self.inner.event(event)).await
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        timed("event_ids", self.inner.event_ids()).await
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        timed("activity", self.inner.activity()).await
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        timed("stats", self.inner.stats(event)).await
    }

    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        timed("join", self.inner.join(event, identity, ticket_id)).await
    }

    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        timed("ticket", self.inner.ticket(event, identity, touch)).await
    }

    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        timed("leave", self.inner.leave(event, identity, ticket_id)).await
    }

    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        timed("touch", self.inner.touch(event, identities)).await
    }

    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        timed("presence", self.inner.presence(event, report)).await
    }

    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError> {
        timed("draw", self.inner.draw(event)).await
    }

    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        timed("draw_page", self.inner.draw_page(event, request)).await
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        timed("drain", self.inner.drain(event)).await
    }

    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        timed("reserve", self.inner.reserve(event, request)).await
    }

    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        timed("pay", self.inner.pay(event, identity, order)).await
    }

    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError> {
        timed("order", self.inner.order(event, order)).await
    }

    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        timed("claim", self.inner.claim(event, claim)).await
    }

    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        timed("followed_outflow", self.inner.followed_outflow(event)).await
    }

    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        timed(
            "follow_outflow",
            self.inner.follow_outflow(event, seen, next),
        )
        .await
    }

    async fn window_entrants(
        &self,
        event: &EventId,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        timed("window_entrants", self.inner.window_entrants(event)).await
    }

    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError> {
        timed(
            "window_page",
            self.inner.window_page(event, window, request),
        )
        .await
    }
}
