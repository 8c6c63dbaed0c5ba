//! The embedded store: every event's state in this process's memory.
//!
//! It makes `cargo run` a complete waiting room with no Redis, and it is the reference the Redis
//! store is checked against. Each event's state sits behind its own [`Mutex`], held only for
//! the synchronous body of one operation (never across an `.await`), so every operation is
//! atomic, as one Lua script is in Redis. Every operation that reads or changes the queue, an
//! admission or an order settles the event's expired admissions and reservations first, so what
//! it answers is true as of its `now`. It serves one instance only, and everything is lost when
//! the process exits: it says so in the log when it is built.

mod checkout;
mod claims;
mod names;
mod presence;
mod queueing;
mod ranks;
mod state;
mod table;
mod windows;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;

use self::state::EventState;
use super::{QueueStore, Removal, StoreError};
use crate::clock::{Clock, UnixMillis};
use crate::domain::{
    Claim, ClaimOutcome, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest, EventChange,
    EventConfig, EventId, EventStats, Identity, JoinOutcome, OperatorStatus, Order, OrderId,
    PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest, Ticket, TicketId, WindowPage,
};
use crate::queue::backoff::FollowedOutflow;

type SharedEvent = Arc<Mutex<EventState>>;

/// The in-memory [`QueueStore`]: single instance, not durable.
pub struct MemoryStore {
    /// Where every operation takes its `now`.
    clock: Arc<dyn Clock>,
    /// Events by id. The map's lock is held only to find or add an event; the work happens
    /// under the event's own lock, so events never wait for each other.
    events: RwLock<BTreeMap<EventId, SharedEvent>>,
    /// Claims on proofs of work and invitations, apart from the events' own state.
    claims: claims::Claims,
}

impl MemoryStore {
    /// An empty store taking its time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        tracing::warn!(
            "using the in-memory store: a single instance only, and every queue, admission and \
             order is lost when the process exits; set WAITROOM_REDIS_URL for durability and \
             several instances"
        );
        Self {
            clock,
            events: RwLock::new(BTreeMap::new()),
            claims: claims::Claims::default(),
        }
    }

    fn shared_event(&self, event: &EventId) -> Result<Option<SharedEvent>, StoreError> {
        let events = self.events.read().map_err(|_| poisoned())?;
        Ok(events.get(event).cloned())
    }

    /// Runs one atomic step on an event with the store's `now`; `None` if there is no event.
    fn with_event<T>(
        &self,
        event: &EventId,
        step: impl FnOnce(&mut EventState, UnixMillis) -> T,
    ) -> Result<Option<T>, StoreError> {
        let Some(shared) = self.shared_event(event)? else {
            return Ok(None);
        };
        let mut state = shared.lock().map_err(|_| poisoned())?;
        // Read the time under the lock, so the steps of one event see time only move forward.
        let now = self.clock.now_ms();
        Ok(Some(step(&mut state, now)))
    }
}

/// A panic while a lock was held may have left the state half-changed: refuse to go on with it.
fn poisoned() -> StoreError {
    StoreError::Corrupt("an earlier failure left the in-memory state inconsistent".into())
}

#[async_trait]
impl QueueStore for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        Ok(self.clock.now_ms())
    }

    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        let mut events = self.events.write().map_err(|_| poisoned())?;
        if events.contains_key(&config.id) {
            return Ok(false);
        }
        let state = EventState::new(config.clone());
        events.insert(config.id.clone(), Arc::new(Mutex::new(state)));
        Ok(true)
    }

    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        let changed = self.with_event(event, |state, _| state.change(change))?;
        changed
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn remove_event(&self, event: &EventId) -> Result<Removal, StoreError> {
        let mut events = self.events.write().map_err(|_| poisoned())?;
        let Some(shared) = events.get(event) else {
            return Ok(Removal::NoEvent);
        };
        let closed = shared
            .lock()
            .map_err(|_| poisoned())?
            .config
            .operator_status
            == OperatorStatus::Closed;
        if !closed {
            return Ok(Removal::NotClosed);
        }
        events.remove(event);
        Ok(Removal::Removed)
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        self.with_event(event, |state, _| state.config.clone())
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        let events = self.events.read().map_err(|_| poisoned())?;
        Ok(events.keys().cloned().collect())
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        let events: Vec<(EventId, SharedEvent)> = {
            let events = self.events.read().map_err(|_| poisoned())?;
            events
                .iter()
                .map(|(id, shared)| (id.clone(), Arc::clone(shared)))
                .collect()
        };
        events
            .into_iter()
            .map(|(id, shared)| {
                let state = shared.lock().map_err(|_| poisoned())?;
                Ok((id, state.activity()))
            })
            .collect()
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        self.with_event(event, |state, now| {
            state.settle(now);
            state.stats()
        })
    }

    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        let joined = self.with_event(event, |state, now| state.join(identity, ticket_id, now))?;
        Ok(joined.unwrap_or(JoinOutcome::NoEvent))
    }

    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        let ticket = self.with_event(event, |state, now| state.ticket(identity, touch, now))?;
        Ok(ticket.flatten())
    }

    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        let left = self.with_event(event, |state, now| state.leave(identity, ticket_id, now))?;
        Ok(left.flatten())
    }

    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        self.with_event(event, |state, now| state.touch(identities, now))?;
        Ok(())
    }

    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        self.with_event(event, |state, now| state.presence(report, now))?;
        Ok(())
    }

    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError> {
        let drawn = self.with_event(event, |state, now| state.draw(now))?;
        Ok(drawn.unwrap_or(DrawOutcome::NoEvent))
    }

    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        let page = self.with_event(event, |state, now| state.draw_page(request, now))?;
        Ok(page.unwrap_or(DrawPageOutcome::NoEvent))
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        self.with_event(event, |state, now| state.drain(now))
    }

    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        let reserved = self.with_event(event, |state, now| state.reserve(request, now))?;
        Ok(reserved.unwrap_or(ReserveOutcome::NoEvent))
    }

    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        let paid = self.with_event(event, |state, now| state.pay(identity, order, now))?;
        Ok(paid.unwrap_or(PayOutcome::NotFound))
    }

    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError> {
        let order = self.with_event(event, |state, now| state.order(order, now))?;
        Ok(order.flatten())
    }

    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        if self.shared_event(event)?.is_none() {
            return Ok(ClaimOutcome::NoEvent);
        }
        Ok(self.claims.claim(event, claim, self.clock.now_ms()))
    }

    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        Ok(self.with_event(event, |state, _| state.followed)?.flatten())
    }

    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        let stored = self.with_event(event, |state, _| {
            let unchanged = state.followed.map(|f| f.changed_at) == seen;
            if unchanged {
                state.followed = Some(*next);
            }
            unchanged
        })?;
        Ok(stored.unwrap_or(false))
    }

    async fn window_entrants(
        &self,
        event: &EventId,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        let entrants = self.with_event(event, |state, _| state.windows.counts())?;
        Ok(entrants.unwrap_or_default())
    }

    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError> {
        let page = self.with_event(event, |state, _| state.window_page(window, request))?;
        // An unknown event has entrants in no window, like a window nobody entered.
        Ok(page.unwrap_or_else(|| request.after.is_none().then(WindowPage::default)))
    }
}
