//! What every scenario gets: a store, the clock it runs on, and the words to set up a sale (those
//! shared with other store tests are in `support::sale_words`).

use std::any::Any;
use std::sync::Arc;

use waitroom::clock::{ManualClock, UnixMillis};
use waitroom::domain::{
    DrainOutcome, EventConfig, EventId, EventStats, Identity, InstanceId, JoinOutcome,
    OperatorStatus, OrderId, OrderItem, PresenceReport, ReserveOutcome, ReserveRequest, Ticket,
    TicketId, TicketStatus,
};
use waitroom::store::QueueStore;

pub use crate::support::sale_words::{START, T0, item, sale, shopper, sku};

/// A store under test with its manual clock.
pub struct Harness {
    pub store: Arc<dyn QueueStore>,
    pub clock: ManualClock,
    /// Handles on the same store that may work at the same time as `store` (on Redis, each its
    /// own connection, as several instances would be).
    pub drainers: Vec<Arc<dyn QueueStore>>,
    /// Whatever must outlive the store (a private Redis server); dropped with the harness.
    pub _guard: Box<dyn Any + Send>,
}

/// A [`sale`] that has already started (at [`T0`]).
pub fn open_sale(id: &str) -> EventConfig {
    EventConfig {
        starts_at: T0,
        ..sale(id)
    }
}

impl Harness {
    /// Moves the store's clock forward.
    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance_ms(ms);
    }

    /// Moves the store's clock forward by whole seconds.
    pub fn advance_secs(&self, seconds: i64) {
        self.clock.advance_ms(seconds * 1_000);
    }

    /// Moves the clock forward by whole seconds while the store runs: an instance reports (holding
    /// nobody) every second, so the time counts towards abandonment. A bare `advance_*` is a
    /// silence of the whole store (an outage), which presence leaves out beyond
    /// `PRESENCE_GAP_MS`.
    pub async fn run_secs(&self, event: &EventId, seconds: i64) {
        let ticker = PresenceReport {
            instance: InstanceId::parse("ticker").unwrap(),
            opened: Vec::new(),
            closed: Vec::new(),
        };
        for _ in 0..seconds {
            self.advance_secs(1);
            self.store.presence(event, &ticker).await.unwrap();
        }
    }

    /// Moves the store's clock to `at`.
    pub fn set_time(&self, at: UnixMillis) {
        self.clock.set(at);
    }

    /// Creates an event that must not exist yet; returns its id.
    pub async fn create(&self, config: EventConfig) -> EventId {
        assert!(self.store.create_event(&config).await.unwrap(), "created");
        config.id
    }

    /// Replaces an event's settings through a change of the stored ones.
    pub async fn change(&self, event: &EventId, change: impl FnOnce(&mut EventConfig)) {
        let mut config = self.store.event(event).await.unwrap().unwrap();
        change(&mut config);
        assert!(self.store.update_event(&config).await.unwrap(), "updated");
    }

    /// Pauses, resumes (`Auto`) or closes an event.
    pub async fn set_operator_status(&self, event: &EventId, status: OperatorStatus) {
        self.change(event, |config| config.operator_status = status)
            .await;
    }

    /// Joins with a new ticket id and returns the outcome.
    pub async fn try_join(&self, event: &EventId, who: &Identity) -> JoinOutcome {
        self.store
            .join(event, who, TicketId::random())
            .await
            .unwrap()
    }

    /// Joins, which must give a place; returns the ticket.
    pub async fn join(&self, event: &EventId, who: &Identity) -> Ticket {
        match self.try_join(event, who).await {
            JoinOutcome::Joined { ticket, .. } => ticket,
            other => panic!("{who} could not join: {other:?}"),
        }
    }

    /// Joins shoppers `range` in order; returns their tickets.
    pub async fn join_all(
        &self,
        event: &EventId,
        shoppers: impl IntoIterator<Item = usize>,
    ) -> Vec<Ticket> {
        let mut tickets = Vec::new();
        for n in shoppers {
            tickets.push(self.join(event, &shopper(n)).await);
        }
        tickets
    }

    /// The identity's ticket without marking it seen; it must exist.
    pub async fn ticket(&self, event: &EventId, who: &Identity) -> Ticket {
        self.store
            .ticket(event, who, false)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{who} has a ticket"))
    }

    /// Runs the outflow once on an existing event.
    pub async fn drain(&self, event: &EventId) -> DrainOutcome {
        self.store.drain(event).await.unwrap().unwrap()
    }

    /// Identities admitted by one drain, in order.
    pub async fn drain_identities(&self, event: &EventId) -> Vec<Identity> {
        let outcome = self.drain(event).await;
        outcome.admitted.into_iter().map(|a| a.identity).collect()
    }

    /// An existing event's counters.
    pub async fn stats(&self, event: &EventId) -> EventStats {
        self.store.stats(event).await.unwrap().unwrap()
    }

    /// Joins `who` to an open event and drains until admitted (the event's bucket must allow
    /// it now); returns the admitted ticket.
    pub async fn admit(&self, event: &EventId, who: &Identity) -> Ticket {
        self.join(event, who).await;
        self.drain(event).await;
        let ticket = self.ticket(event, who).await;
        assert_eq!(ticket.status, TicketStatus::Admitted, "{who} admitted");
        ticket
    }

    /// Reserves `items` with the admission of `ticket`.
    pub async fn reserve(
        &self,
        event: &EventId,
        ticket: &Ticket,
        items: Vec<OrderItem>,
        idempotency_key: Option<&str>,
    ) -> ReserveOutcome {
        let request = ReserveRequest {
            identity: ticket.identity.clone(),
            ticket_id: ticket.ticket_id,
            order_id: OrderId::random(),
            idempotency_key: idempotency_key.map(str::to_owned),
            items,
        };
        self.store.reserve(event, &request).await.unwrap()
    }

    /// Reserves `items` with the admission of `ticket`, which must succeed; returns the order id.
    pub async fn reserve_ok(
        &self,
        event: &EventId,
        ticket: &Ticket,
        items: Vec<OrderItem>,
    ) -> OrderId {
        match self.reserve(event, ticket, items, None).await {
            ReserveOutcome::Reserved(order) => order.order_id,
            other => panic!("reservation refused: {other:?}"),
        }
    }
}
