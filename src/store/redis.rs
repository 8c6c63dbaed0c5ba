//! The Redis store: one Redis or a Redis Cluster, shared by any number of instances.
//!
//! Every operation that changes more than one key is one Lua script from `lua/` (see
//! [`scripts`](super::scripts)), so it is atomic with no locks and no read-modify-write races
//! between instances. Every key of an event starts with `wr:{<event>}:` (see
//! [`event_key_prefix`]), so one event lives in one cluster slot and different events spread
//! over the cluster. Each script is given every key it touches in `KEYS` (see the `keys`
//! module), so that the client, not the script, deals with a slot moving between nodes. The list
//! of events is the set [`EVENTS_KEY`], in a slot of its own, touched by a separate command just
//! before an event is created (a crash between them leaves an id without settings, which readers
//! skip; never an event nobody can find). The events' activity numbers are the hash
//! [`ACTIVITY_KEY`], in a slot of its own too (see the `activity` module).
//!
//! Time comes from the Redis server (`TIME` inside each script), so instances never disagree
//! about the outflow; a [`Clock`] may be injected instead (tests drive a manual one), and is
//! then passed to every script as its first argument.

mod activity;
mod audit;
mod drain_notices;
mod draw;
mod entrants;
mod group_commit;
mod keys;
mod replies;
mod windows;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use redis::{AsyncCommands, ScriptInvocation, Value};

pub use self::activity::ACTIVITY_KEY;
use self::group_commit::{GroupCommit, Grouped};
use super::scripts::{EventScript, Scripts};
use super::{CheckoutDurability, QueueStore, Removal, StoreError};
use crate::clock::{Clock, UnixMillis};
use crate::domain::{
    Claim, ClaimOutcome, DrainNotice, DrainOutcome, DrawOutcome, DrawPageOutcome, DrawPageRequest,
    EventChange, EventConfig, EventId, EventStats, EventStatus, Identity, JoinOutcome, Order,
    OrderId, PayOutcome, PresenceReport, PurchaseLimit, ReserveOutcome, ReserveRequest, Ticket,
    TicketId, WindowPage,
};
use crate::queue::backoff::FollowedOutflow;
pub use crate::ratelimit::redis_connection::Connection;
use crate::ratelimit::redis_connection::store_error;

/// The set of every event id.
pub const EVENTS_KEY: &str = "wr:events";

/// How many keys one `UNLINK` of an event's removal deletes: 16 commands for the 65,536 ticket
/// buckets, each short (a bucket is a small listpack; a big line or order hash is freed in the
/// background by `UNLINK` itself).
const REMOVAL_BATCH: usize = 4_096;

/// The event's fixed keys a removal deletes after its buckets and windows (`lua/lib/keys.lua`),
/// the removal's mark `rm` among them; its settings went first (`lua/remove_event.lua`).
const REMOVED_LAST: [&str; 14] = [
    "inv", "st", "win", "q", "dord", "adm", "resv", "ord", "ordt", "stock", "sold", "held", "shp",
    "rm",
];

/// How many identities one `touch` or `presence` script handles at most (bigger batches are
/// split), so that no script holds the server for long.
const TOUCH_BATCH: usize = 1_000;

/// The prefix of every key of `event`: `wr:{<event>}:`, the braces making the event id the
/// Redis Cluster hash tag.
pub fn event_key_prefix(event: &EventId) -> String {
    format!("wr:{{{event}}}:")
}

/// Each script's SHA-1 (hex) and name, as `EVALSHA` names them in Redis' slow log.
pub fn script_names() -> Vec<(String, &'static str)> {
    Scripts::new().names()
}

/// The most script calls one drain makes while each stops for keys it was not given (see
/// `lua/drain.lua`): a drain that still owes shoppers after them leaves them to the next drain.
const DRAIN_STEPS: usize = 8;

/// How long a reservation or a payment waits for a replica to have it, under
/// [`CheckoutDurability::Replica`].
const REPLICA_WAIT_MS: u64 = 1_000;

/// The queue engine's state in Redis.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    /// Under [`CheckoutDurability::Replica`], the connection reservations and payments go
    /// through, each followed by `WAIT` on it: `WAIT` counts the writes of its own connection, so
    /// the rest of the traffic never waits behind a checkout's replica.
    replicated: Option<Connection>,
    scripts: Arc<Scripts>,
    clock: Option<Arc<dyn Clock>>,
    /// Held while this instance finishes a draw (see [`draw`]) or prepares one.
    draw_lock: Arc<tokio::sync::Mutex<()>>,
    /// Entrants' ticket ids read before the close (see [`entrants`]).
    prepared: Arc<entrants::PreparedEntrants>,
    /// Joins sent together while a call is on the wire (see [`group_commit`]).
    joins: GroupCommit,
    /// Ticket reads sent together the same way.
    ticket_reads: GroupCommit,
    /// This instance's bumps of the events' activity numbers.
    activity: activity::Activity,
    /// Other instances' drains, heard over pub/sub.
    notices: Arc<drain_notices::DrainNotices>,
    /// The keys this instance expects its next drains to touch.
    drain_keys: Arc<keys::DrainKeys>,
}

impl RedisStore {
    /// Connects to `urls`: `redis://…` for one Redis, or a comma-separated list of the nodes of
    /// a Redis Cluster. With `clock: None` the scripts take the time from the Redis server; with
    /// `Some(clock)` from that clock. A Redis that cannot be reached within a couple of seconds
    /// is [`StoreError::Unavailable`].
    pub async fn connect(
        urls: &str,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<RedisStore, StoreError> {
        let connection = Connection::open(urls).await?;
        let scripts = Arc::new(Scripts::new());
        // Any node hears every notice (a cluster forwards `PUBLISH` to all of its nodes).
        let first_node = urls.split(',').map(str::trim).next().unwrap_or_default();
        let store = RedisStore {
            joins: GroupCommit::start(Grouped::Joins, connection.clone(), Arc::clone(&scripts)),
            ticket_reads: GroupCommit::start(
                Grouped::TicketReads,
                connection.clone(),
                Arc::clone(&scripts),
            ),
            connection,
            replicated: None,
            scripts,
            clock,
            draw_lock: Arc::default(),
            prepared: Arc::default(),
            activity: activity::Activity::default(),
            notices: Arc::new(drain_notices::DrainNotices::new(first_node)),
            drain_keys: Arc::default(),
        };
        store.ping().await?;
        Ok(store)
    }

    /// Acknowledges reservations and payments only as `durability` says. `Replica` needs one
    /// Redis (not a cluster, whose nodes each have their own replicas); `Fsync` needs a Redis
    /// that answers `CONFIG GET` with `appendonly yes` and `appendfsync always`. Otherwise
    /// [`StoreError::Unavailable`] says what is missing.
    pub async fn with_checkout_durability(
        mut self,
        urls: &str,
        durability: CheckoutDurability,
    ) -> Result<RedisStore, StoreError> {
        match durability {
            CheckoutDurability::Applied => {}
            CheckoutDurability::Replica => {
                let connection = Connection::open(urls).await?;
                if !matches!(connection, Connection::Single(_)) {
                    return Err(StoreError::Unavailable(
                        "checkout_durability replica needs one Redis, not a cluster".into(),
                    ));
                }
                self.replicated = Some(connection);
            }
            CheckoutDurability::Fsync => {
                for (name, wanted) in [("appendonly", "yes"), ("appendfsync", "always")] {
                    let reply: Vec<String> = redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query_async(&mut self.connection())
                        .await
                        .map_err(store_error)?;
                    if reply.get(1).map(String::as_str) != Some(wanted) {
                        return Err(StoreError::Unavailable(format!(
                            "checkout_durability fsync needs Redis with {name} {wanted} \
                             (it has {:?})",
                            reply.get(1)
                        )));
                    }
                }
            }
        }
        Ok(self)
    }

    /// Runs a reservation's or a payment's script: on the replicated connection and followed by
    /// `WAIT` when checkouts must reach a replica before they are acknowledged.
    async fn run_checkout(&self, invocation: &ScriptInvocation<'_>) -> Result<Value, StoreError> {
        let Some(replicated) = &self.replicated else {
            return self.run(invocation).await;
        };
        let mut connection = replicated.clone();
        let reply = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store_error)?;
        // A broken connection fails the WAIT itself, never counts as copied.
        let copies: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(REPLICA_WAIT_MS)
            .query_async(&mut connection)
            .await
            .map_err(store_error)?;
        if copies < 1 {
            return Err(StoreError::Unavailable(
                "no replica acknowledged the checkout in time".into(),
            ));
        }
        Ok(reply)
    }

    /// A script call on `event`'s fixed keys the script touches, with the time argument every
    /// script takes first. The caller declares the keys that depend on the call.
    fn prepare<'a>(&self, script: &'a EventScript, event: &EventId) -> ScriptInvocation<'a> {
        let mut invocation = script.script.prepare_invoke();
        keys::declare(&mut invocation, &event_key_prefix(event), script.keys);
        invocation.arg(self.now_argument());
        invocation
    }

    /// The time argument every script takes first: the injected clock's ms, or '' for the
    /// Redis server's time.
    fn now_argument(&self) -> String {
        self.clock
            .as_ref()
            .map(|clock| clock.now_ms().to_string())
            .unwrap_or_default()
    }

    /// Runs a script (EVALSHA, loading it first if the server answers NOSCRIPT).
    async fn run(&self, invocation: &ScriptInvocation<'_>) -> Result<Value, StoreError> {
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store_error)
    }

    fn connection(&self) -> Connection {
        self.connection.clone()
    }
}

/// A change of settings, or why it could not be written.
fn settings_change(
    change: Result<EventChange, crate::domain::ChangeError>,
) -> Result<EventChange, StoreError> {
    change.map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Passes each changed setting as its field name and its JSON, as the scripts read them.
fn push_fields(
    invocation: &mut ScriptInvocation<'_>,
    change: &EventChange,
) -> Result<(), StoreError> {
    for (name, value) in change.fields() {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        invocation.arg(name).arg(json);
    }
    Ok(())
}

fn unexpected(kind: &str, script: &str) -> StoreError {
    StoreError::Corrupt(format!("{script} answered {kind:?}"))
}

#[async_trait]
impl QueueStore for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let reply: String = redis::cmd("PING")
            .query_async(&mut self.connection())
            .await
            .map_err(store_error)?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(unexpected(&reply, "PING"))
        }
    }

    async fn now(&self) -> Result<UnixMillis, StoreError> {
        if let Some(clock) = &self.clock {
            return Ok(clock.now_ms());
        }
        let (seconds, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.connection())
            .await
            .map_err(store_error)?;
        Ok(seconds * 1_000 + micros / 1_000)
    }

    async fn create_event(&self, config: &EventConfig) -> Result<bool, StoreError> {
        let mut invocation = self.prepare(&self.scripts.create_event, &config.id);
        let id =
            serde_json::to_string(&config.id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        invocation.arg("id").arg(id);
        push_fields(
            &mut invocation,
            &settings_change(EventChange::all_of(config))?,
        )?;
        // Listed before it is created: the list lives in a slot of its own, so the two cannot be
        // one script. A crash between them leaves at worst a listed id without settings, which
        // every reader of the list skips; never an event that discovery cannot find. Listing on
        // every try also repairs an event whose listing an earlier crash lost: retry the create.
        let _: i64 = self
            .connection()
            .sadd(EVENTS_KEY, config.id.as_str())
            .await
            .map_err(store_error)?;
        let created = replies::int(self.run(&invocation).await?)? == 1;
        if created {
            self.activity.bump(&self.connection, &config.id);
        }
        Ok(created)
    }

    async fn change_event(
        &self,
        event: &EventId,
        change: &EventChange,
    ) -> Result<Option<EventConfig>, StoreError> {
        let mut invocation = self.prepare(&self.scripts.update_event, event);
        push_fields(&mut invocation, change)?;
        let changed = match self.run(&invocation).await? {
            Value::Nil => return Ok(None),
            reply => serde_json::from_slice(&replies::bytes(reply)?)
                .map_err(|e| StoreError::Corrupt(format!("event settings: {e}")))?,
        };
        self.activity.bump(&self.connection, event);
        Ok(Some(changed))
    }

    async fn remove_event(&self, event: &EventId) -> Result<Removal, StoreError> {
        let invocation = self.prepare(&self.scripts.remove_event, event);
        let (removal, windows) = match self.run(&invocation).await? {
            reply @ Value::Array(_) => {
                let (kind, windows) = replies::tagged(reply)?;
                let removal = match kind.as_str() {
                    "removing" => Removal::Removed,
                    "resuming" => Removal::Finished,
                    other => return Err(unexpected(other, "remove_event")),
                };
                let windows = windows
                    .into_iter()
                    .map(replies::text)
                    .collect::<Result<Vec<_>, _>>()?;
                (removal, windows)
            }
            reply => {
                return match replies::text(reply)?.as_str() {
                    "no_event" => Ok(Removal::NoEvent),
                    "open" => Ok(Removal::NotClosed),
                    other => Err(unexpected(other, "remove_event")),
                };
            }
        };
        // The event is gone for every reader now: take it off the lists, then delete what is
        // left of it. Every step deletes only keys (deleting twice is harmless), so a removal
        // cut short is finished by the next call, which finds the mark `rm`.
        let mut connection = self.connection();
        let _: i64 = connection
            .srem(EVENTS_KEY, event.as_str())
            .await
            .map_err(store_error)?;
        let _: i64 = connection
            .hdel(ACTIVITY_KEY, event.as_str())
            .await
            .map_err(store_error)?;
        let prefix = event_key_prefix(event);
        let buckets = (0..=u16::MAX).map(|bucket| format!("{prefix}tk:{bucket:04x}"));
        let windows = windows.iter().map(|window| format!("{prefix}wz:{window}"));
        let keys: Vec<String> = buckets.chain(windows).collect();
        for batch in keys.chunks(REMOVAL_BATCH) {
            let _: i64 = redis::cmd("UNLINK")
                .arg(batch)
                .query_async(&mut connection)
                .await
                .map_err(store_error)?;
        }
        // The mark goes last: a removal cut short before this is taken up by the next call.
        let last = REMOVED_LAST.iter().map(|name| format!("{prefix}{name}"));
        let _: i64 = redis::cmd("UNLINK")
            .arg(last.collect::<Vec<_>>())
            .query_async(&mut connection)
            .await
            .map_err(store_error)?;
        Ok(removal)
    }

    async fn event(&self, event: &EventId) -> Result<Option<EventConfig>, StoreError> {
        let key = format!("{}cfg", event_key_prefix(event));
        let raw: Option<Vec<u8>> = self.connection().get(key).await.map_err(store_error)?;
        raw.map(|raw| serde_json::from_slice(&raw))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("event settings: {e}")))
    }

    async fn event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        let ids: Vec<String> = self
            .connection()
            .smembers(EVENTS_KEY)
            .await
            .map_err(store_error)?;
        let mut ids = ids
            .iter()
            .map(|id| EventId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    async fn activity(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        self.activity.numbers(&self.connection).await
    }

    async fn stats(&self, event: &EventId) -> Result<Option<EventStats>, StoreError> {
        let invocation = self.prepare(&self.scripts.stats, event);
        match self.run(&invocation).await? {
            Value::Nil => Ok(None),
            reply => replies::stats(reply).map(Some),
        }
    }

    async fn join(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<JoinOutcome, StoreError> {
        let reply = self
            .after_draw(event, || {
                self.joins.call(
                    event_key_prefix(event),
                    self.now_argument(),
                    identity.as_str(),
                    ticket_id.0.as_bytes(),
                )
            })
            .await?;
        let (kind, mut rest) = replies::tagged(reply)?;
        match kind.as_str() {
            "no_event" => Ok(JoinOutcome::NoEvent),
            "not_accepting" => Ok(JoinOutcome::NotAccepting(replies::status(replies::nth(
                &mut rest, 0,
            )?)?)),
            "existing" | "created" => {
                let ticket = replies::ticket(replies::nth(&mut rest, 0)?, identity)?;
                let created = kind == "created";
                if created {
                    self.activity.bump(&self.connection, event);
                }
                Ok(JoinOutcome::Joined { ticket, created })
            }
            other => Err(unexpected(other, "join")),
        }
    }

    async fn ticket(
        &self,
        event: &EventId,
        identity: &Identity,
        touch: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        let touch: &[u8] = if touch { b"1" } else { b"0" };
        let reply = self
            .after_draw(event, || {
                self.ticket_reads.call(
                    event_key_prefix(event),
                    self.now_argument(),
                    identity.as_str(),
                    touch,
                )
            })
            .await?;
        match reply {
            Value::Nil => Ok(None),
            reply => replies::ticket(reply, identity).map(Some),
        }
    }

    async fn leave(
        &self,
        event: &EventId,
        identity: &Identity,
        ticket_id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        let mut invocation = self.prepare(&self.scripts.leave, event);
        keys::declare_buckets(
            &mut invocation,
            &event_key_prefix(event),
            [identity.as_str()],
        );
        invocation
            .arg(identity.as_str())
            .arg(ticket_id.0.as_bytes().as_slice());
        match self.run_after_draw(event, &invocation).await? {
            Value::Nil => Ok(None),
            reply => {
                self.activity.bump(&self.connection, event);
                replies::ticket(reply, identity).map(Some)
            }
        }
    }

    async fn touch(&self, event: &EventId, identities: &[Identity]) -> Result<(), StoreError> {
        for batch in identities.chunks(TOUCH_BATCH) {
            let mut invocation = self.prepare(&self.scripts.touch, event);
            keys::declare_buckets(
                &mut invocation,
                &event_key_prefix(event),
                batch.iter().map(Identity::as_str),
            );
            for identity in batch {
                invocation.arg(identity.as_str());
            }
            self.run(&invocation).await?;
        }
        Ok(())
    }

    async fn presence(&self, event: &EventId, report: &PresenceReport) -> Result<(), StoreError> {
        // Every part is a heartbeat too; the first part is one even with nothing to tell.
        let opened = report.opened.chunks(TOUCH_BATCH);
        let closed = report.closed.chunks(TOUCH_BATCH);
        let parts = opened.len().max(closed.len()).max(1);
        let (mut opened, mut closed) = (opened, closed);
        for _ in 0..parts {
            let (these_opened, these_closed) = (
                opened.next().unwrap_or_default(),
                closed.next().unwrap_or_default(),
            );
            let mut invocation = self.prepare(&self.scripts.presence, event);
            let prefix = event_key_prefix(event);
            keys::declare(
                &mut invocation,
                &prefix,
                [format!("hb:{}", report.instance.as_str())],
            );
            keys::declare_buckets(
                &mut invocation,
                &prefix,
                these_opened
                    .iter()
                    .chain(these_closed)
                    .map(Identity::as_str),
            );
            invocation
                .arg(report.instance.as_str())
                .arg(these_opened.len());
            for identity in these_opened.iter().chain(these_closed) {
                invocation.arg(identity.as_str());
            }
            self.run(&invocation).await?;
        }
        Ok(())
    }

    async fn draw(&self, event: &EventId) -> Result<DrawOutcome, StoreError> {
        let invocation = self.prepare(&self.scripts.draw, event);
        let reply = self.run(&invocation).await?;
        if replies::is_draw_pending(&reply) {
            return Ok(match self.finish_draw(event).await? {
                Some(entrants) => DrawOutcome::Drawn { entrants },
                None => DrawOutcome::AlreadyDrawn,
            });
        }
        let (kind, _) = replies::tagged(reply)?;
        match kind.as_str() {
            "already_drawn" => Ok(DrawOutcome::AlreadyDrawn),
            "too_early" => Ok(DrawOutcome::TooEarly),
            "no_event" => Ok(DrawOutcome::NoEvent),
            other => Err(unexpected(other, "draw")),
        }
    }

    async fn draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        self.read_draw_page(event, request).await
    }

    async fn drain(&self, event: &EventId) -> Result<Option<DrainOutcome>, StoreError> {
        let prefix = event_key_prefix(event);
        let mut names = self.drain_keys.names(event);
        let mut outcome: Option<DrainOutcome> = None;
        for _ in 0..DRAIN_STEPS {
            let mut invocation = self.prepare(&self.scripts.drain, event);
            keys::declare(&mut invocation, &prefix, &names);
            invocation.arg(outcome.as_ref().map_or(0, |so_far| so_far.abandoned));
            let step = match self.run_after_draw(event, &invocation).await? {
                Value::Nil => return Ok(outcome),
                reply => replies::drain(reply)?,
            };
            self.drain_keys.learn(event, &step.heads, &step.holders);
            // A drain that stopped for keys is a drain that admitted fewer: the next step goes
            // on from where it stopped, as another drain at the same moment would.
            outcome = Some(match outcome {
                None => step.outcome,
                Some(mut so_far) => {
                    so_far.admitted.extend(step.outcome.admitted);
                    DrainOutcome {
                        admitted: so_far.admitted,
                        abandoned: so_far.abandoned + step.outcome.abandoned,
                        ..step.outcome
                    }
                }
            });
            if !step.stopped {
                break;
            }
            names = self.drain_keys.names(event);
        }
        if let Some(outcome) = &outcome {
            self.prepare_after_drain(event, outcome.status == Some(EventStatus::Prequeue));
        }
        Ok(outcome)
    }

    async fn announce_drain(&self, notice: &DrainNotice) -> Result<(), StoreError> {
        let _listeners: i64 = redis::cmd("PUBLISH")
            .arg(drain_notices::CHANNEL)
            .arg(notice.encode())
            .query_async(&mut self.connection())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    fn drain_notices(&self) -> Option<tokio::sync::broadcast::Receiver<DrainNotice>> {
        Some(self.notices.subscribe())
    }

    async fn reserve(
        &self,
        event: &EventId,
        request: &ReserveRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        let mut invocation = self.prepare(&self.scripts.reserve, event);
        keys::declare_buckets(
            &mut invocation,
            &event_key_prefix(event),
            [request.identity.as_str()],
        );
        invocation
            .arg(request.identity.as_str())
            .arg(request.ticket_id.0.as_bytes().as_slice())
            .arg(request.order_id.to_string())
            .arg(if request.idempotency_key.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(request.idempotency_key.as_deref().unwrap_or_default());
        for item in &request.items {
            invocation.arg(item.sku.as_str()).arg(item.quantity);
        }
        let (kind, mut rest) = replies::tagged(self.run_checkout(&invocation).await?)?;
        let mut order = || -> Result<Order, StoreError> {
            replies::order(&replies::bytes(replies::nth(&mut rest, 0)?)?, event)
        };
        match kind.as_str() {
            "reserved" => Ok(ReserveOutcome::Reserved(order()?)),
            "replayed" => Ok(ReserveOutcome::Replayed(order()?)),
            "existing" => Ok(ReserveOutcome::Existing(order()?)),
            "not_admitted" => Ok(ReserveOutcome::NotAdmitted),
            "admission_used" => Ok(ReserveOutcome::AdmissionUsed),
            "closed" => Ok(ReserveOutcome::Closed),
            "purchase_limit" => {
                let setting = replies::text(replies::nth(&mut rest, 0)?)?;
                match setting.as_str() {
                    "max_units_per_order" => {
                        Ok(ReserveOutcome::PurchaseLimit(PurchaseLimit::PerOrder))
                    }
                    "max_units_per_shopper" => {
                        Ok(ReserveOutcome::PurchaseLimit(PurchaseLimit::PerShopper))
                    }
                    other => Err(unexpected(other, "reserve")),
                }
            }
            "no_event" => Ok(ReserveOutcome::NoEvent),
            "sold_out" | "unknown_sku" => {
                let word = replies::text(replies::nth(&mut rest, 0)?)?;
                let sku = crate::domain::Sku::parse(&word)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(if kind == "sold_out" {
                    ReserveOutcome::SoldOut(sku)
                } else {
                    ReserveOutcome::UnknownSku(sku)
                })
            }
            other => Err(unexpected(other, "reserve")),
        }
    }

    async fn pay(
        &self,
        event: &EventId,
        identity: &Identity,
        order: OrderId,
    ) -> Result<PayOutcome, StoreError> {
        let mut invocation = self.prepare(&self.scripts.pay, event);
        invocation.arg(identity.as_str()).arg(order.to_string());
        let (kind, mut rest) = replies::tagged(self.run(&invocation).await?)?;
        let mut order = || -> Result<Order, StoreError> {
            replies::order(&replies::bytes(replies::nth(&mut rest, 0)?)?, event)
        };
        match kind.as_str() {
            "paid" => Ok(PayOutcome::Paid(order()?)),
            "already_paid" => Ok(PayOutcome::AlreadyPaid(order()?)),
            "expired" => Ok(PayOutcome::Expired(order()?)),
            "not_found" => Ok(PayOutcome::NotFound),
            other => Err(unexpected(other, "pay")),
        }
    }

    async fn order(&self, event: &EventId, order: OrderId) -> Result<Option<Order>, StoreError> {
        let mut invocation = self.prepare(&self.scripts.order, event);
        invocation.arg(order.to_string());
        match self.run(&invocation).await? {
            Value::Nil => Ok(None),
            reply => replies::order(&replies::bytes(reply)?, event).map(Some),
        }
    }

    async fn claim(&self, event: &EventId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let mut invocation = self.prepare(&self.scripts.claim, event);
        keys::declare(
            &mut invocation,
            &event_key_prefix(event),
            [format!("cl:{}", claim.name)],
        );
        invocation
            .arg(&claim.name)
            .arg(&claim.holder)
            .arg(claim.limit)
            .arg(claim.until);
        match replies::int(self.run(&invocation).await?)? {
            0 => Ok(ClaimOutcome::NoEvent),
            1 => Ok(ClaimOutcome::Granted),
            2 => Ok(ClaimOutcome::AlreadyHeld),
            3 => Ok(ClaimOutcome::Refused),
            other => Err(unexpected(&other.to_string(), "claim")),
        }
    }

    async fn followed_outflow(
        &self,
        event: &EventId,
    ) -> Result<Option<FollowedOutflow>, StoreError> {
        let invocation = self.prepare(&self.scripts.followed, event);
        match self.run(&invocation).await? {
            Value::Nil => Ok(None),
            reply => replies::followed(reply),
        }
    }

    async fn follow_outflow(
        &self,
        event: &EventId,
        seen: Option<UnixMillis>,
        next: &FollowedOutflow,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.prepare(&self.scripts.follow, event);
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        invocation
            .arg(number(seen))
            .arg(number(next.milli_per_second.map(|rate| rate as i64)))
            .arg(next.changed_at);
        match replies::int(self.run(&invocation).await?)? {
            0 | 2 => Ok(false),
            1 => Ok(true),
            other => Err(unexpected(&other.to_string(), "follow")),
        }
    }

    async fn window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError> {
        self.read_window_page(event, window, request).await
    }

    async fn window_entrants(
        &self,
        event: &EventId,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        // One key, read whole: no script needed (see lua/window.lua for who writes it).
        let key = format!("{}win", event_key_prefix(event));
        let counts: std::collections::HashMap<String, u64> =
            self.connection().hgetall(key).await.map_err(store_error)?;
        counts
            .into_iter()
            .map(|(index, count)| {
                let index = index
                    .parse::<u64>()
                    .map_err(|_| unexpected(&index, "window_entrants"))?;
                Ok((index, count))
            })
            .collect()
    }
}
