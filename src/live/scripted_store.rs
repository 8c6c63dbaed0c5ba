//! A store whose drains follow a script, for the ticker's own tests: it counts calls, fails on
//! demand and records presence reports. The store's real behaviour is tested in the store suite; these
//! tests are about what the ticker does with its answers.

use crate::queue::backoff::FollowedOutflow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::clock::UnixMillis;
use crate::domain::{
    Admitted, Claim, ClaimOutcome, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest,
    EventChange, EventConfig, EventId, EventStats, EventStatus, Identity, JoinOutcome,
    OperatorStatus, Order, OrderId, PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest,
    Ticket, TicketId,
};
use crate::store::{QueueStore, Removal, StoreError};

/// What the scripted store holds and has seen.
#[derive(Debug, Default)]
pub struct Script {
    pub events: BTreeMap<EventId, EventConfig>,
    /// Each drain advances the serving number by this much.
    pub admit_per_drain: u64,
    pub serving: u64,
    pub queue_length: u64,
    pub status: Option<EventStatus>,
    /// The next drains that fail.
    pub failing_drains: u32,
    pub drains: u64,
    pub touches: Vec<Vec<Identity>>,
    pub reports: Vec<PresenceReport>,
    /// The next presence reports that fail.
    pub failing_reports: u32,
    pub admitted_next: Vec<Admitted>,
    /// What ticket reads answer, per identity.
    pub tickets: HashMap<Identity, Ticket>,
    pub ticket_reads: u64,
    /// How long a drain takes to answer after it has read the event (a busy store).
    pub drain_time: std::time::Duration,
    /// The events' activity numbers (none by default).
    pub activity: HashMap<EventId, u64>,
    /// Reads of an event's settings.
    pub event_reads: u64,
}

/// A [`QueueStore`] that plays a [`Script`].
#[derive(Debug, Default)]
pub struct ScriptedStore {
    pub script: Mutex<Script>,
}

impl ScriptedStore {
    /// A store with one open event `id`.
    pub fn with_event(id: &str) -> Self {
        let store = Self::default();
        store.add_event(id, OperatorStatus::Auto);
        store.edit(|s| s.status = Some(EventStatus::Open));
        store
    }

    pub fn add_event(&self, id: &str, operator_status: OperatorStatus) {
        let config = event_config(id, operator_status);
        self.edit(|s| {
            s.events.insert(config.id.clone(), config);
        });
    }

    pub fn edit<T>(&self, change: impl FnOnce(&mut Script) -> T) -> T {
        change(&mut self.script.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// One drain of the script: what the store answers, read at once.
    fn drain_now(s: &mut Script, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        s.drains += 1;
        if s.failing_drains > 0 {
            s.failing_drains -= 1;
            return Err(StoreError::Unavailable("scripted failure".into()));
        }
        let Some(config) = s.events.get(event) else {
            return Ok(None);
        };
        let status = if config.operator_status == OperatorStatus::Closed {
            Some(EventStatus::Closed)
        } else {
            s.status
        };
        s.serving += s.admit_per_drain;
        Ok(Some(DrainOutcome {
            admitted: std::mem::take(&mut s.admitted_next),
            abandoned: 0,
            serving: s.serving,
            queue_length: s.queue_length,
            status,
            active: 0,
            admitted_total: s.serving,
            last_score: s.serving + s.queue_length,
        }))
    }
}

/// An event open since the epoch, 10 shoppers a second, a minute's grace.
pub fn event_config(id: &str, operator_status: OperatorStatus) -> EventConfig {
    let demo = crate::config::demo_event(0).unwrap_or_else(|| unreachable!("the demo event"));
    EventConfig {
        id: EventId::parse(id).unwrap_or_else(|_| panic!("bad test event id {id}")),
        name: id.to_owned(),
        starts_at: 0,
        outflow_milli_per_second: 10_000,
        outflow_burst: 5,
        max_active: None,
        cap_follows_stock: false,
        allow_anonymous: false,
        inventory: BTreeMap::new(),
        abandon_after_seconds: 20,
        operator_status,
        created_at: 0,
        ..demo
    }
}

fn not_scripted() -> StoreError {
    StoreError::Unavailable("not part of the script".into())
}

#[async_trait]
impl QueueStore for ScriptedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        Ok(0)
    }

    async fn create_event(&self, _config: &EventConfig) -> Result<bool, StoreError> {
        Err(not_scripted())
    }

    async fn remove_event(&self, _event: &EventId) -> Result<Removal, StoreError> {
        Err(not_scripted())
    }

    async fn change_event(
        &self,
        _event: &EventId,
        _change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        Err(not_scripted())
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        Ok(self.edit(|s| {
            s.event_reads += 1;
            s.events.get(event).cloned()
        }))
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        Ok(self.edit(|s| s.activity.clone()))
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        Ok(self.edit(|s| s.events.keys().cloned().collect()))
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        Ok(self.edit(|s| {
            s.events.contains_key(event).then(|| EventStats {
                serving: s.serving,
                queue_length: s.queue_length,
                last_score: s.serving + s.queue_length,
                drawn: true,
                ..EventStats::default()
            })
        }))
    }

    async fn join(
        &self,
        _event: &EventId,
        _identity: &Identity,
        _ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn ticket(
        &self,
        _event: &EventId,
        identity: &Identity,
        _touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        Ok(self.edit(|s| {
            s.ticket_reads += 1;
            s.tickets.get(identity).cloned()
        }))
    }

    async fn leave(
        &self,
        _event: &EventId,
        _identity: &Identity,
        _ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        Err(not_scripted())
    }

    async fn touch(&self, _event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        self.edit(|s| s.touches.push(identities.to_vec()));
        Ok(())
    }

    async fn presence(&self, _event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        self.edit(|s| {
            if s.failing_reports > 0 {
                s.failing_reports -= 1;
                return Err(StoreError::Unavailable("scripted failure".into()));
            }
            s.reports.push(report.clone());
            Ok(())
        })
    }

    async fn draw(&self, _event: &EventId) -> Result<DrawOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn draw_page(
        &self,
        _event: &EventId,
        _request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        let (drained, drain_time) = self.edit(|s| (Self::drain_now(s, event), s.drain_time));
        if !drain_time.is_zero() {
            tokio::time::sleep(drain_time).await;
        }
        drained
    }

    async fn reserve(
        &self,
        _event: &EventId,
        _request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn pay(
        &self,
        _event: &EventId,
        _identity: &Identity,
        _order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn order(&self, _event: &EventId, _order: OrderId) -> Result<Option<Order>, StoreError> {
        Err(not_scripted())
    }

    async fn claim(&self, _event: &EventId, _claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        Err(not_scripted())
    }

    async fn followed_outflow(
        &self,
        _event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        Err(not_scripted())
    }

    async fn follow_outflow(
        &self,
        _event: &EventId,
        _seen: Option<UnixMillis>,
        _next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        Err(not_scripted())
    }

    async fn window_entrants(
        &self,
        _event: &EventId,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        Err(not_scripted())
    }

    async fn window_page(
        &self,
        _event: &EventId,
        _window: u64,
        _request: crate::domain::DrawPageRequest,
    ) -> Result<Option<crate::domain::WindowPage>, StoreError> {
        Err(not_scripted())
    }
}
