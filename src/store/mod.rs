//! Where all queue, outflow, admission and inventory state lives.
//!
//! [`QueueStore`] is the one interface; [`memory::MemoryStore`] (embedded, single instance) and
//! [`redis::RedisStore`] (any number of instances) implement it. Every operation is atomic: in
//! Redis each is one Lua script from `lua/`, in memory each runs under the event's lock. The store
//! owns its clock: the memory store asks its [`Clock`](crate::clock::Clock), the Redis store asks
//! the Redis server (`TIME`) unless a clock is injected for tests, so several instances never
//! disagree about the outflow.
//!
//! # Semantics both stores keep (the conformance suite in `tests/store_suite` checks them)
//!
//! * **Scores.** A waiting identity is a member of the event's queue with a score. Before the draw
//!   pre-queue members have no meaningful score (position `None`). The draw gives them scores
//!   `1..=P`; every later join gets `last_score + 1`. The queue is ordered by score.
//! * **The draw** happens once, at or after `starts_at`, lazily before any join, drain or ticket
//!   read that finds it due (and through [`QueueStore::draw`]). It commits to the entrant set and
//!   orders it as [`crate::queue::draw_order`] says; the seed, the commitment and the order are
//!   kept and published ([`QueueStore::draw_page`]), so anyone can recompute it.
//! * **Serving number**: the highest score admitted so far (0 before anyone). A waiting ticket's
//!   broadcast position is `score - serving`; its exact position is its rank + 1.
//! * **Arrival windows** (`arrival_windows`, queue mode only; see [`crate::queue::window`]): a
//!   join inside a window does not take `last_score + 1`. The window's first join sets aside
//!   the scores `last_score + 1 ..= last_score + WINDOW_SLOTS` for the window (`last_score`
//!   moves to the top of that range), and every entrant of the window takes `base + 1 + slot`
//!   (the next free score up, wrapping within the range, when that one is waiting already), so
//!   windows queue behind one another and later joins behind them all. The serving number stays
//!   the highest score admitted: a window entrant may wait below it, and then is next. Every
//!   window also keeps each join it took, leaving or admitted later or not, in window order:
//!   ascending slot, then ascending ticket id ([`QueueStore::window_page`]), so its order can
//!   be published once it closes.
//! * **Drain** (the leaky bucket). State: `tokens` in millionths of a shopper and `last` (ms).
//!   Before `starts_at`, or while not open, nothing is admitted and `last` follows `now` (no credit
//!   accrues). At the first drain at or after the start, tokens start at `burst * 1e6` with
//!   `last = starts_at`. Then `tokens = min(burst * 1e6, tokens + rate_milli * (now - last))`,
//!   `last = now`. Expired admissions and reservations are settled first (freeing the cap). The
//!   number admitted is `min(tokens / 1e6, queue_length, max_active - active [if set],
//!   units_left - unused_admissions [if cap_follows_stock])`; shoppers are taken from the head; a head shopper
//!   not seen for `abandon_after_seconds` is dropped instead (counted as abandoned, not charged to
//!   the bucket). Each admitted shopper spends 1e6 tokens.
//! * **Active** = unused admissions (admitted, not expired, not used, not left) + unpaid
//!   reservations that have not run out. Paying, leaving or running out frees the place.
//! * **Seen**: a waiting shopper is seen at join, at every ticket read with `touch` (polling
//!   pages), at every [`QueueStore::touch`], and when a [`QueueStore::presence`] report holds
//!   or releases them. The drain's "last seen" of a head shopper is the later of their own seen
//!   time and, while an instance holds them, that instance's latest heartbeat.
//! * **Presence clock**: seen times and heartbeats are kept, and abandonment judged, on the
//!   event's [`PresenceClock`](crate::queue::PresenceClock): wall time less every silence longer
//!   than [`PRESENCE_GAP_MS`](crate::queue::PRESENCE_GAP_MS) (no drain, join, touch, marking
//!   ticket read or presence report for the event), beyond that length. Nobody could record
//!   presence then (the store was unreachable or every instance was down), so it is not the
//!   shoppers' absence. Each of those operations moves the clock first.
//! * **Presence** (pages on sockets): an instance reports per event, in one call, the shoppers
//!   whose socket opened on it (held by it from then on, and seen now), those whose last socket
//!   on it closed (released, and seen now; a release by an instance that does not hold the
//!   shopper changes nothing), and its heartbeat (the report's `now`). Only waiting shoppers are
//!   held; a shopper held twice is held by the later instance; leaving, being admitted or
//!   abandoned ends the hold. An instance that stops reporting (it crashed, or shut down with
//!   sockets open) lets the shoppers it holds lapse: they are dropped `abandon_after_seconds`
//!   after its last heartbeat unless they are seen otherwise. Keeping N open pages in place thus
//!   costs the store one report per event per instance per interval, plus one entry per socket
//!   opened or closed, never work per socket per interval.
//! * **Stock** of an offered SKU is derived: its total less the units sold and held by unpaid
//!   reservations, never below zero ([`left_in_stock`](crate::domain::left_in_stock)). A total
//!   lowered below what is held keeps the deficit, and a SKU removed and offered again keeps
//!   what it sold, so no change of the inventory can oversell.
//! * **Reserve** is all or nothing: the admission (identity + ticket, admitted, not expired, not
//!   used) is consumed and every item's stock taken in one step, or nothing changes. A closed
//!   event reserves nothing; reservations made before may still be paid until they run out.
//!   The purchase limits (`max_units_per_order`, `max_units_per_shopper`, counting the
//!   shopper's paid and unpaid orders) are checked in the same step. A retry carrying the
//!   idempotency key of the order already made with that admission gets
//!   [`ReserveOutcome::Replayed`]; a retry by the same identity with no key gets
//!   [`ReserveOutcome::Existing`], the order as it stands.
//! * **Claims** count who used a single-use proof of work or a limited-use invitation: a claim
//!   names a thing, a holder, a most number of holders and a time after which it is forgotten;
//!   a new holder is counted while there is room, the same holder again is told it already
//!   holds it, and nothing changes otherwise.
//! * **Followed outflow**: while the checkout's health holds the outflow below its set rate, the
//!   store keeps that rate and when it last changed ([`FollowedOutflow`]); the drain admits at
//!   the lower of it and the set rate. A change is written only if the change time the caller
//!   read is still the one stored, so instances judging the same health at once take one step.
//! * **Reservations** that are not paid by `reserved_until` return their stock the next time any
//!   operation of the event settles expiries (drain, reserve, pay, stats).

pub mod audit;
pub mod known_settings;
pub mod memory;
pub mod redis;
pub(crate) mod scripts;
pub mod wrapped;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use crate::clock::UnixMillis;
use crate::queue::backoff::FollowedOutflow;

use crate::domain::{
    Claim, ClaimOutcome, DrainNotice, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest,
    EventChange, EventConfig, EventId, EventStats, Identity, JoinOutcome, Order, OrderId,
    PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest, Ticket, TicketId, WindowPage,
};

/// When the store acknowledges a reservation or a payment, on Redis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CheckoutDurability {
    /// When Redis has applied it in memory (its own persistence settings decide the rest).
    #[default]
    Applied,
    /// Only once at least one replica has it (`WAIT 1`, up to a second); otherwise the answer is
    /// a `503` and the shopper's retry finds the order. A failover to that replica keeps it.
    Replica,
    /// Only on a Redis that writes every change to its append-only file before answering
    /// (`appendonly yes`, `appendfsync always`): start-up checks it.
    Fsync,
}

pub use crate::ratelimit::store_error::StoreError;

/// What [`QueueStore::remove_event`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The event and everything kept for it are gone.
    Removed,
    /// A removal begun earlier and cut short (an instance stopped midway) is finished.
    Finished,
    /// The event is not closed: nothing changed.
    NotClosed,
    /// There is no such event (nor one being removed).
    NoEvent,
}

/// The queue engine's storage: events, the queue, the outflow, admissions and inventory.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// A round trip to the store (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// The store's current time in ms (Redis `TIME`, or the injected clock).
    async fn now(&self) -> Result<crate::clock::UnixMillis, StoreError>;

    /// Creates an event with its inventory; `false` if the id exists (nothing changes).
    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError>;

    /// Changes the settings `change` names, and only those, in one atomic step on the settings
    /// in force; answers the settings as changed, or `None` if there is no such event. Stock
    /// left follows the inventory's totals (see "Stock" above).
    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError>;

    /// Replaces every setting of an existing event (a change of all of them); `false` if there
    /// is no such event.
    async fn update_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        let change = EventChange::all_of(config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(self.change_event(&config.id, &change).await?.is_some())
    }

    /// Removes a closed event and everything kept for it (its line, tickets, admissions,
    /// orders and stock), so a shop pays nothing for the sales it has ended. Refuses, changing
    /// nothing, an event that is not closed by its operator. Once removal has begun the event
    /// is gone for every reader, and its id cannot be created again until removal ends; a
    /// removal cut short is finished by calling again.
    async fn remove_event(&self, event: &EventId) -> Result<Removal, StoreError>;

    /// An event's settings.
    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError>;

    /// Every event id, sorted.
    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError>;

    /// A number per event that moves when a shopper joins or leaves it or an operator changes
    /// it, on any instance (within a quarter of a second), in one read whatever the number of
    /// events: instances poll it to wake what they let rest while nothing happens. Events never
    /// touched may be missing.
    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError>;

    /// Counters and stock (settles expiries first).
    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError>;

    /// Joins `identity` to the queue with the new ticket id `ticket_id`, or returns the identity's
    /// existing ticket when it is waiting or admitted (a left or expired ticket is replaced by a new
    /// one at the tail). In `safety_net` mode an identity is admitted at once while nobody waits
    /// and the cap allows.
    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError>;

    /// The identity's ticket with its exact position; `touch` marks the shopper as seen.
    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError>;

    /// Leaves the queue (or gives up an admission). The ticket must be the identity's current one;
    /// returns it as it now stands (`Left`), or `None` when there is no such ticket.
    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError>;

    /// Marks waiting shoppers as seen now.
    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError>;

    /// One instance's report on an event's open pages: holds the shoppers whose socket opened
    /// there, releases those whose socket closed, and is the instance's heartbeat (see
    /// "Presence" above). Nothing happens for an unknown event.
    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError>;

    /// Draws the pre-queue if the start has come and it has not been drawn.
    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError>;

    /// The draw's state and one page of its entrants in draw order (drawing first if it is
    /// due, like a ticket read).
    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError>;

    /// Runs the leaky bucket once; any instance may call it at any time.
    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError>;

    /// Tells the other instances that `notice.instance` admitted shoppers of `notice.event` (see
    /// [`DrainNotice`]). A store that only one instance uses has nobody to tell.
    async fn announce_drain(&self, _notice: &DrainNotice) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every instance's drain notices (this one's included) as they arrive; `None` when only one
    /// instance uses the store. A notice lost (a dropped connection, a slow reader) costs only
    /// speed: every instance still drains on its own tick.
    fn drain_notices(&self) -> Option<tokio::sync::broadcast::Receiver<DrainNotice>> {
        None
    }

    /// Consumes an admission and reserves stock in one atomic step.
    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError>;

    /// Pays a reserved order of `identity`.
    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError>;

    /// An order, whoever owns it.
    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError>;

    /// Counts a holder of a proof of work or an invitation (see "Claims" above).
    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError>;

    /// The outflow in force as the checkout's health set it; `None` when it never changed or
    /// there is no such event (see "Followed outflow" above).
    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError>;

    /// Stores `next` if the change time stored is still `seen` (`None`: no change stored yet);
    /// answers whether it did (`false` also for an unknown event).
    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError>;

    /// How many shoppers joined in each arrival window entered so far, by window number (see
    /// "Arrival windows" above); empty for an unknown event.
    async fn window_entrants(&self, event: &EventId) -> Result<BTreeMap<u64, u64>, StoreError>;

    /// One page of arrival window `window`'s entrants in window order (see "Arrival windows"
    /// above); `None` when `request.after` is not one of them. A window nobody entered, or an
    /// unknown event, has none. Whether the window has closed, so that its order may be
    /// published, is the caller's business.
    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError>;
}
